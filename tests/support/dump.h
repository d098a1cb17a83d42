/* A canonical, readable text of what a replica shows: one line per fact
 * (conversation, vv, pending, digest, read markers, every message with every
 * field, reactions). Two replicas show the same view exactly when their dumps
 * are equal, so tests compare dumps and print the first differing line. */
#ifndef TEST_DUMP_H
#define TEST_DUMP_H

#include <stddef.h>

#include "msglog.h"

/* The view of one conversation (info + every message, walked forward in
 * pages). *out is malloc'd (free it). Returns a msglog code; on error *out
 * is NULL. */
int dump_conv(char **out, msglog *log, const char *conv, size_t conv_len);

/* The view of every conversation of the store, in the library's order. */
int dump_store(char **out, msglog *log);

/* The same text as dump_conv() gives, from given parts (for comparing a
 * model's expectation with the library's view). malloc'd; NULL on OOM. */
char *dump_format(const char *conv, size_t conv_len,
                  const msglog_conv_info *info, const msglog_message *msgs,
                  size_t n);

/* One message on one line (no newline), malloc'd. */
char *dump_message(const msglog_message *m);

/* Appends `s` (len bytes) to buf as a quoted string with C-style escapes. */
void dump_quote(char *buf, size_t cap, const void *s, size_t len);

/* Writes into out a readable description of the first line where a and b
 * differ ("" when equal). Returns 1 when they differ. */
int dump_diff(char *out, size_t cap, const char *a, const char *b);

#endif
