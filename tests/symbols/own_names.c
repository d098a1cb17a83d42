/* A program with functions of its own named as msglog's internal ones
 * (log/store.h store_open, crdt/vv.h vv_merge, ...), linked against
 * libmsglog.a by tests/symbols/check_symbols.py: it links only when the
 * archive keeps those names local (cmake/localize_archive.cmake), and each
 * side then calls its own. */
#include <msglog.h>
#include <stdio.h>
#include <string.h>

int store_open(void);
int vv_merge(void);
int codec_op_decode(void);
int session_new(void);
int grow_array(void);
int utf8_valid(void);

int store_open(void) { return 1; }
int vv_merge(void) { return 2; }
int codec_op_decode(void) { return 3; }
int session_new(void) { return 4; }
int grow_array(void) { return 5; }
int utf8_valid(void) { return 6; }

int main(int argc, char **argv)
{
    msglog *log;
    msglog_id id;
    int ours = store_open() + vv_merge() + codec_op_decode() + session_new() +
               grow_array() + utf8_valid();

    if (argc != 2 || ours != 21)
        return 2;
    /* The library's store_open and the rest, reached through the API. */
    if (msglog_open(&log, argv[1], 1, "app", 3, NULL) != MSGLOG_OK)
        return 1;
    int rc = msglog_send(log, &id, "c", 1, "hi", 2);
    msglog_close(log);
    if (rc != MSGLOG_OK)
        return 1;
    puts("own names and the library's side by side");
    return 0;
}
