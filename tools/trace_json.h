/*
 * trace_json.h - reading the fields of one replay-trace line (docs/cli.md).
 *
 * A line is parsed into a trace_line; the getters check presence, type and
 * range of one field, and on failure leave a one-line reason in `why`
 * (without the "TRACE:line N:" prefix, which the caller adds).
 */
#ifndef MSGLOG_TOOLS_TRACE_JSON_H
#define MSGLOG_TOOLS_TRACE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define TRACE_WHY_MAX 320

/* A borrowed byte string: points into the trace_line's JSON value. */
typedef struct trace_str {
    const char *data;
    size_t len;
} trace_str;

typedef struct trace_line {
    json_t *ev;                 /* the line's object; owned */
    char why[TRACE_WHY_MAX];    /* the reason of the last failure */
} trace_line;

/*
 * Parses `len` bytes of text as one JSON object.
 * @return 1 when the text is blank (nothing parsed), 0 when parsed (release
 *         with trace_line_clear()), -1 with a reason in l->why.
 */
int trace_line_parse(trace_line *l, const char *text, size_t len);
void trace_line_clear(trace_line *l);

/* An integer field in [lo, hi). @return 0, or -1 with a reason. */
int trace_uint(trace_line *l, const char *field, uint64_t lo, uint64_t hi,
               uint64_t *out);

/* A string field of lo..hi bytes. @return 0, or -1 with a reason. */
int trace_str_get(trace_line *l, const char *field, size_t lo, size_t hi,
                  trace_str *out);

/* Like trace_str_get(), but an absent field is fine.
 * @return 1 when present and valid, 0 when absent, -1 with a reason. */
int trace_str_opt(trace_line *l, const char *field, size_t lo, size_t hi,
                  trace_str *out);

/* An array field; the caller reads its items with trace_array_str().
 * @return 0, or -1 with a reason. */
int trace_array(trace_line *l, const char *field, const json_t **out);

/* Item i of an array of strings (non-empty). @return 0, or -1 with a reason. */
int trace_array_str(trace_line *l, const char *field, const json_t *array,
                    size_t i, trace_str *out);

#endif /* MSGLOG_TOOLS_TRACE_JSON_H */
