/* Writing replay traces and their expected output (the format of
 * `msglog replay`, docs/cli.md) from a test's own data: JSON strings, and
 * the line a `check` prints for one conversation of one replica. */
#ifndef TEST_TRACE_WRITER_H
#define TEST_TRACE_WRITER_H

#include <stdint.h>
#include <stdio.h>

#include "msglog.h"

/* `len` bytes of UTF-8 as a JSON string (NUL and controls escaped). */
void tw_json_str(FILE *f, const void *s, size_t len);

/* One view line: {"replica":..,"conv":..,"vv":..,"pending":..,"digest":..,
 * "messages":[..],"read":{..}} and a newline. `digest` is written as given:
 * expected outputs name digests by class ("D0", "D1", ...), since a
 * digest's bytes are the implementation's choice. */
void tw_view_line(FILE *f, uint64_t replica, const char *conv, size_t conv_len,
                  const msglog_conv_info *info, const msglog_message *msgs,
                  size_t n, const char *digest);

#endif
