/* hello.c - the smallest program using an installed msglog: opens (creating
 * it) the store of replica 1 of user "alice" in directory DIR, sends a
 * message, reads it back by its id, and prints the library's version.
 * tests/install/run.sh builds it with pkg-config and with CMake; README.md
 * shows the commands. */
#include <msglog.h>
#include <stdio.h>
#include <string.h>

/* A failed msglog_open() leaves no handle to ask msglog_errmsg(). */
static int fail(const char *what, msglog *log, int rc)
{
    fprintf(stderr, "hello: %s: %s (%s)\n", what,
            log ? msglog_errmsg(log) : "no store", msglog_strerror(rc));
    msglog_close(log);
    return 1;
}

int main(int argc, char **argv)
{
    static const char conv[] = "hello", text[] = "hello from C";
    msglog *log = NULL;
    msglog_id id;
    msglog_page *page;
    int rc;

    if (argc != 2) {
        fputs("usage: hello DIR\n", stderr);
        return 2;
    }
    printf("msglog %s (header %s)\n", msglog_version(), MSGLOG_VERSION_STRING);
    if ((rc = msglog_open(&log, argv[1], 1, "alice", 5, NULL)) != MSGLOG_OK)
        return fail("open", log, rc);
    rc = msglog_send(log, &id, conv, strlen(conv), text, strlen(text));
    if (rc != MSGLOG_OK)
        return fail("send", log, rc);
    rc = msglog_message_get(log, &page, conv, strlen(conv), id);
    if (rc != MSGLOG_OK)
        return fail("read", log, rc);
    printf("%llu:%llu %s: %s\n", (unsigned long long)id.replica,
           (unsigned long long)id.seq, page->messages[0].author.data,
           page->messages[0].body.data);
    msglog_free(page);
    msglog_close(log);
    return 0;
}
