/*
 * view_json.h - a replica's view, walked through the public API and printed
 * as the JSON lines of a replay `check` (docs/cli.md).
 *
 * Every function that can fail returns 0, or -1 with a one-line reason in
 * `why` (VIEW_WHY_MAX bytes), which the caller prefixes and prints.
 */
#ifndef MSGLOG_TOOLS_VIEW_JSON_H
#define MSGLOG_TOOLS_VIEW_JSON_H

#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "msglog.h"

#define VIEW_WHY_MAX 320

/* Called once per message, oldest first. The message is borrowed for the
 * call. A nonzero return stops the walk and is returned by view_walk(). */
typedef int (*view_visit_fn)(void *ctx, const msglog_message *m);

/*
 * Walks every message of `conv` forward, a page at a time, checking that the
 * library hands them out in strictly ascending (hlc, replica, seq) order.
 * @return 0; -1 with a reason; or what `visit` returned.
 */
int view_walk(msglog *log, const char *conv, size_t conv_len,
              view_visit_fn visit, void *ctx, char *why);

/* One message as the replay prints it (docs/cli.md): id, author, hlc, body,
 * edited, deleted, conflict, reactions (and equivocated when set).
 * @return a new reference, or NULL with why set. */
json_t *view_json_message(const msglog_message *m, char *why);

/* A conversation's summary: {"vv", "pending", "digest", "read"}.
 * @return a new reference, or NULL with why set. */
json_t *view_json_info(const msglog_conv_info *info, char *why);

/* The view of conversation `conv` at replica `replica` as one JSON object.
 * @param[out] out  a new reference; json_decref() it */
int view_json_conv(json_t **out, msglog *log, uint64_t replica,
                   const msglog_str *conv, char *why);

/* Prints one compact line per conversation of the replica, in the order
 * msglog_conversations() gives (ascending bytewise), and flushes `fp`. */
int view_json_print(FILE *fp, msglog *log, uint64_t replica, char *why);

#endif /* MSGLOG_TOOLS_VIEW_JSON_H */
