/* trace_json.c - typed, range-checked access to one trace line's fields. */
#include "trace_json.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

/*
 * NUL is allowed inside strings because ids and bodies are byte strings with
 * a length. Duplicate keys are refused: with them a line would mean whatever
 * key the parser happens to keep.
 */
#define TRACE_JSON_FLAGS (JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES)

static int fail(trace_line *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->why, sizeof l->why, fmt, ap);
    va_end(ap);
    return -1;
}

static int is_blank(const char *text, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
            return 0;
    }
    return 1;
}

int trace_line_parse(trace_line *l, const char *text, size_t len)
{
    json_error_t err;

    l->ev = NULL;
    l->why[0] = '\0';
    if (is_blank(text, len))
        return 1;
    l->ev = json_loadb(text, len, TRACE_JSON_FLAGS, &err);
    if (!l->ev && err.column > 0)
        return fail(l, "not valid JSON: %s (column %d)", err.text, err.column);
    if (!l->ev)
        return fail(l, "not valid JSON: %s", err.text);
    if (!json_is_object(l->ev)) {
        trace_line_clear(l);
        return fail(l, "not a JSON object");
    }
    return 0;
}

void trace_line_clear(trace_line *l)
{
    json_decref(l->ev);
    l->ev = NULL;
}

int trace_uint(trace_line *l, const char *field, uint64_t lo, uint64_t hi,
               uint64_t *out)
{
    json_t *v = json_object_get(l->ev, field);
    json_int_t n;

    if (!v)
        return fail(l, "missing field \"%s\"", field);
    if (!json_is_integer(v))
        return fail(l, "field \"%s\" must be an integer", field);
    n = json_integer_value(v);
    if (n < 0 || (uint64_t)n < lo || (uint64_t)n >= hi)
        return fail(l, "field \"%s\" is %lld, outside [%llu, %llu)", field,
                    (long long)n, (unsigned long long)lo,
                    (unsigned long long)hi);
    *out = (uint64_t)n;
    return 0;
}

static int str_value(trace_line *l, const char *what, const json_t *v,
                     size_t lo, size_t hi, trace_str *out)
{
    size_t len;

    if (!json_is_string(v))
        return fail(l, "%s must be a string", what);
    len = json_string_length(v);
    if (len < lo && hi == SIZE_MAX)
        return fail(l, "%s must not be empty", what);
    if (len < lo || len > hi)
        return fail(l, "%s is %zu bytes long, allowed %zu..%zu", what, len,
                    lo, hi);
    out->data = json_string_value(v);
    out->len = len;
    return 0;
}

int trace_str_get(trace_line *l, const char *field, size_t lo, size_t hi,
                  trace_str *out)
{
    int rc = trace_str_opt(l, field, lo, hi, out);

    if (rc == 0)
        return fail(l, "missing field \"%s\"", field);
    return rc < 0 ? -1 : 0;
}

int trace_str_opt(trace_line *l, const char *field, size_t lo, size_t hi,
                  trace_str *out)
{
    json_t *v = json_object_get(l->ev, field);
    char what[64];

    if (!v)
        return 0;
    snprintf(what, sizeof what, "field \"%s\"", field);
    return str_value(l, what, v, lo, hi, out) < 0 ? -1 : 1;
}

int trace_array(trace_line *l, const char *field, const json_t **out)
{
    json_t *v = json_object_get(l->ev, field);

    if (!v)
        return fail(l, "missing field \"%s\"", field);
    if (!json_is_array(v))
        return fail(l, "field \"%s\" must be an array", field);
    *out = v;
    return 0;
}

int trace_array_str(trace_line *l, const char *field, const json_t *array,
                    size_t i, trace_str *out)
{
    char what[64];

    snprintf(what, sizeof what, "item %zu of \"%s\"", i, field);
    return str_value(l, what, json_array_get(array, i), 1, SIZE_MAX, out);
}
