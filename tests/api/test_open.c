/* msglog_open / msglog_close / errors: what a store remembers about its
 * owner and how bad arguments are refused. */
#include <criterion/criterion.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "msglog.h"
#include "support/damage.h"
#include "support/tstore.h"
#include "support/tmpdir.h"

static char *root;

static void setup(void)
{
    root = tmpdir_make("msglog-open-");
    cr_assert_not_null(root);
}

static void teardown(void)
{
    if (root != NULL) {
        tmpdir_remove(root);
        free(root);
        root = NULL;
    }
}

TestSuite(open, .init = setup, .fini = teardown);

static int open_path(msglog **out, const char *name, uint64_t replica,
                     const char *user, size_t user_len)
{
    char *path = tmpdir_join(root, name);
    msglog_options opts = MSGLOG_OPTIONS_INIT;
    opts.map_size = TSTORE_MAP_SIZE;
    int rc = msglog_open(out, path, replica, user, user_len, &opts);
    free(path);
    return rc;
}

static void send_one(msglog *log, const char *conv, const char *body,
                     msglog_id *id)
{
    int rc = msglog_send(log, id, conv, strlen(conv), body, strlen(body));
    cr_assert_eq(rc, MSGLOG_OK, "send: %d (%s)", rc, msglog_errmsg(log));
}

Test(open, creates_missing_directory_and_store)
{
    msglog *log = NULL;
    char *path = tmpdir_join(root, "fresh");
    struct stat st;
    cr_assert_neq(stat(path, &st), 0, "the directory should not exist yet");
    cr_assert_eq(open_path(&log, "fresh", 1, "alice", 5), MSGLOG_OK);
    cr_assert_not_null(log);
    cr_assert_eq(stat(path, &st), 0);
    cr_assert(S_ISDIR(st.st_mode));
    cr_assert_str_eq(msglog_errmsg(log), "", "no error yet");

    msglog_str *convs = NULL;
    size_t n = 99;
    cr_assert_eq(msglog_conversations(log, &convs, &n), MSGLOG_OK);
    cr_assert_eq(n, 0, "a new store holds no conversation");
    msglog_free(convs);

    msglog_conv_info *info = NULL;
    cr_assert_eq(msglog_conv_info_get(log, &info, "c1", 2), MSGLOG_ENOTFOUND);
    msglog_close(log);
    free(path);
}

Test(open, defaults_with_null_options)
{
    msglog *log = NULL;
    char *path = tmpdir_join(root, "defaults");
    cr_assert_eq(msglog_open(&log, path, 1, "alice", 5, NULL), MSGLOG_OK);
    cr_assert_not_null(log);
    msglog_id id;
    send_one(log, "c1", "hello", &id);
    cr_assert_eq(id.replica, 1);
    cr_assert_eq(id.seq, 1);
    msglog_close(log);
    free(path);
}

Test(open, replica_and_user_are_kept)
{
    msglog *log = NULL;
    const uint64_t rid = 123456789012345ULL;
    cr_assert_eq(open_path(&log, "s", rid, "alice", 5), MSGLOG_OK);
    msglog_id id;
    send_one(log, "c1", "first", &id);
    cr_assert_eq(id.replica, rid);
    cr_assert_eq(id.seq, 1);
    msglog_close(log);

    cr_assert_eq(open_path(&log, "s", rid, "alice", 5), MSGLOG_OK);
    send_one(log, "c1", "second", &id);
    cr_assert_eq(id.replica, rid);
    cr_assert_eq(id.seq, 2, "numbering continues after reopen");

    msglog_page *page = NULL;
    msglog_cursor from = {1, 0, {0, 0}};
    cr_assert_eq(msglog_messages(log, &page, "c1", 2, MSGLOG_FORWARD, from, 10),
                 MSGLOG_OK);
    cr_assert_eq(page->n, 2);
    for (size_t i = 0; i < 2; i++) {
        cr_assert_eq(page->messages[i].author.len, 5);
        cr_assert_eq(memcmp(page->messages[i].author.data, "alice", 5), 0);
        cr_assert_eq(page->messages[i].id.replica, rid);
        cr_assert_eq(page->messages[i].id.seq, i + 1);
    }
    cr_assert_eq(page->messages[0].body.len, 5);
    cr_assert_eq(memcmp(page->messages[0].body.data, "first", 5), 0);
    msglog_free(page);
    msglog_close(log);
}

Test(open, reopen_with_other_replica_or_user_is_refused)
{
    msglog *log = NULL;
    cr_assert_eq(open_path(&log, "s", 7, "alice", 5), MSGLOG_OK);
    msglog_id id;
    send_one(log, "c1", "kept", &id);
    msglog_close(log);

    log = (msglog *)1;
    cr_assert_eq(open_path(&log, "s", 8, "alice", 5), MSGLOG_EMISMATCH);
    cr_assert_null(log, "*out is NULL on error");
    log = (msglog *)1;
    cr_assert_eq(open_path(&log, "s", 7, "bob", 3), MSGLOG_EMISMATCH);
    cr_assert_null(log);
    log = (msglog *)1;
    cr_assert_eq(open_path(&log, "s", 7, "alic", 4), MSGLOG_EMISMATCH,
                 "a prefix of the user is another user");
    cr_assert_null(log);
    log = (msglog *)1;
    cr_assert_eq(open_path(&log, "s", 7, "alice\0", 6), MSGLOG_EMISMATCH,
                 "users are compared with their length");
    cr_assert_null(log);
    log = (msglog *)1;
    cr_assert_eq(open_path(&log, "s", 7, "Alice", 5), MSGLOG_EMISMATCH);
    cr_assert_null(log);

    /* The refused opens changed nothing: the right owner still gets in. */
    cr_assert_eq(open_path(&log, "s", 7, "alice", 5), MSGLOG_OK);
    send_one(log, "c1", "again", &id);
    cr_assert_eq(id.replica, 7);
    cr_assert_eq(id.seq, 2);
    msglog_close(log);
}

Test(open, user_with_nul_byte_is_kept_exactly)
{
    msglog *log = NULL;
    const char user[] = "a\0b";
    cr_assert_eq(open_path(&log, "s", 3, user, 3), MSGLOG_OK);
    msglog_id id;
    send_one(log, "c1", "x", &id);
    msglog_page *page = NULL;
    cr_assert_eq(msglog_message_get(log, &page, "c1", 2, id), MSGLOG_OK);
    cr_assert_eq(page->n, 1);
    cr_assert_eq(page->messages[0].author.len, 3);
    cr_assert_eq(memcmp(page->messages[0].author.data, user, 3), 0);
    msglog_free(page);
    msglog_close(log);
    cr_assert_eq(open_path(&log, "s", 3, "a", 1), MSGLOG_EMISMATCH);
    cr_assert_eq(open_path(&log, "s", 3, user, 3), MSGLOG_OK);
    msglog_close(log);
}

Test(open, bad_arguments)
{
    msglog *log = (msglog *)1;
    char *path = tmpdir_join(root, "bad");
    msglog_options opts = MSGLOG_OPTIONS_INIT;
    opts.map_size = TSTORE_MAP_SIZE;

    cr_assert_eq(msglog_open(NULL, path, 1, "alice", 5, &opts), MSGLOG_EINVAL);

    log = (msglog *)1;
    cr_assert_eq(msglog_open(&log, NULL, 1, "alice", 5, &opts), MSGLOG_EINVAL);
    cr_assert_null(log);

    log = (msglog *)1;
    cr_assert_eq(msglog_open(&log, path, 0, "alice", 5, &opts), MSGLOG_EINVAL,
                 "replica 0");
    cr_assert_null(log);

    log = (msglog *)1;
    cr_assert_eq(msglog_open(&log, path, (uint64_t)1 << 53, "alice", 5, &opts),
                 MSGLOG_EINVAL, "replica 2^53 is out of range");
    cr_assert_null(log);

    log = (msglog *)1;
    cr_assert_eq(msglog_open(&log, path, UINT64_MAX, "alice", 5, &opts),
                 MSGLOG_EINVAL, "replica 2^64-1 is out of range");
    cr_assert_null(log);

    log = (msglog *)1;
    cr_assert_eq(msglog_open(&log, path, 1, "", 0, &opts), MSGLOG_EINVAL,
                 "empty user");
    cr_assert_null(log);

    log = (msglog *)1;
    cr_assert_eq(msglog_open(&log, path, 1, NULL, 5, &opts), MSGLOG_EINVAL,
                 "NULL user");
    cr_assert_null(log);

    char big[300];
    memset(big, 'u', sizeof big);
    log = (msglog *)1;
    cr_assert_eq(msglog_open(&log, path, 1, big, 256, &opts), MSGLOG_EINVAL,
                 "user of 256 bytes");
    cr_assert_null(log);

    /* None of the refused opens took the path: any owner may still claim it. */
    cr_assert_eq(msglog_open(&log, path, 9, "zed", 3, &opts), MSGLOG_OK);
    msglog_close(log);
    free(path);
}

Test(open, limits_of_replica_and_user_are_inclusive)
{
    msglog *log = NULL;
    char user[255];
    memset(user, 'u', sizeof user);
    const uint64_t rid = ((uint64_t)1 << 53) - 1;
    cr_assert_eq(open_path(&log, "max", rid, user, 255), MSGLOG_OK);
    msglog_id id;
    send_one(log, "c1", "x", &id);
    cr_assert_eq(id.replica, rid);
    msglog_page *page = NULL;
    cr_assert_eq(msglog_message_get(log, &page, "c1", 2, id), MSGLOG_OK);
    cr_assert_eq(page->messages[0].author.len, 255);
    cr_assert_eq(memcmp(page->messages[0].author.data, user, 255), 0);
    msglog_free(page);
    msglog_close(log);
    cr_assert_eq(open_path(&log, "max", rid, user, 255), MSGLOG_OK);
    msglog_close(log);
}

Test(open, path_that_is_a_file_is_refused)
{
    char *path = tmpdir_join(root, "plainfile");
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("not a directory\n", f);
    fclose(f);
    msglog *log = (msglog *)1;
    msglog_options opts = MSGLOG_OPTIONS_INIT;
    opts.map_size = TSTORE_MAP_SIZE;
    int rc = msglog_open(&log, path, 1, "alice", 5, &opts);
    cr_assert_lt(rc, 0, "opening a regular file as a store must fail");
    cr_assert_null(log);
    free(path);
}

Test(open, two_stores_in_one_process)
{
    msglog *a = NULL, *b = NULL;
    cr_assert_eq(open_path(&a, "a", 1, "alice", 5), MSGLOG_OK);
    cr_assert_eq(open_path(&b, "b", 2, "bob", 3), MSGLOG_OK);
    msglog_id ia, ib;
    send_one(a, "c1", "from a", &ia);
    send_one(b, "c1", "from b", &ib);
    cr_assert_eq(ia.replica, 1);
    cr_assert_eq(ib.replica, 2);
    msglog_conv_info *info = NULL;
    cr_assert_eq(msglog_conv_info_get(a, &info, "c1", 2), MSGLOG_OK);
    cr_assert_eq(info->n_messages, 1, "stores are separate");
    msglog_free(info);
    msglog_close(a);
    msglog_close(b);
}

Test(open, close_and_free_accept_null)
{
    msglog_close(NULL);
    msglog_free(NULL);
}

Test(open, strerror_of_every_code)
{
    const int codes[] = {
        MSGLOG_OK, MSGLOG_EINVAL, MSGLOG_ENOTFOUND, MSGLOG_EDENIED,
        MSGLOG_ELIMIT, MSGLOG_ECORRUPT, MSGLOG_EVERSION, MSGLOG_EMISMATCH,
        MSGLOG_EFULL, MSGLOG_ENOMEM, MSGLOG_EIO, MSGLOG_EKIND,
        MSGLOG_EPENDINGFULL, MSGLOG_EEQUIVOCAL, MSGLOG_EBUSY,
    };
    const size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        const char *s = msglog_strerror(codes[i]);
        cr_assert_not_null(s, "strerror(%d)", codes[i]);
        cr_assert_gt(strlen(s), 0, "strerror(%d) is empty", codes[i]);
        for (size_t j = 0; j < i; j++)
            cr_assert_str_neq(s, msglog_strerror(codes[j]),
                              "codes %d and %d share one text", codes[i],
                              codes[j]);
    }
    const int unknown[] = {-12, -1000, 1, 42, -2147483647 - 1};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++) {
        const char *s = msglog_strerror(unknown[i]);
        cr_assert_not_null(s, "strerror(%d)", unknown[i]);
        cr_assert_gt(strlen(s), 0, "strerror(%d) is empty", unknown[i]);
    }
}

Test(open, errmsg_after_an_error)
{
    msglog *log = NULL;
    cr_assert_eq(open_path(&log, "s", 1, "alice", 5), MSGLOG_OK);
    cr_assert_not_null(msglog_errmsg(log));
    msglog_id bogus = {42, 42}, out;
    cr_assert_eq(msglog_edit(log, &out, "c1", 2, bogus, "x", 1),
                 MSGLOG_ENOTFOUND);
    const char *m = msglog_errmsg(log);
    cr_assert_not_null(m);
    cr_assert_gt(strlen(m), 0, "errmsg empty after ENOTFOUND");

    char body[MSGLOG_MAX_BODY + 1];
    memset(body, 'b', sizeof body);
    cr_assert_eq(msglog_send(log, &out, "c1", 2, body, sizeof body),
                 MSGLOG_ELIMIT);
    m = msglog_errmsg(log);
    cr_assert_not_null(m);
    cr_assert_gt(strlen(m), 0, "errmsg empty after ELIMIT");

    cr_assert_lt(msglog_receive(log, "\xc1\xc1\xc1", 3), 0);
    m = msglog_errmsg(log);
    cr_assert_gt(strlen(m), 0, "errmsg empty after ECORRUPT");
    msglog_close(log);
}

/* A store of format 2 (before records had checksums) is refused for its
 * format, in both ways of opening, and left as it was: no migration. */
Test(open, a_store_of_an_older_format_is_refused)
{
    char *path = tmpdir_join(root, "old");
    cr_assert_eq(damage_copy_store(MSGLOG_FIXTURES "/store-format-2", path), 0);
    int64_t size = damage_file_size(path);
    msglog *log = NULL;
    cr_assert_eq(open_path(&log, "old", 0, NULL, 0), MSGLOG_EVERSION);
    cr_assert_null(log);
    cr_assert(strstr(msglog_open_errmsg(), "store format 2 is unknown") != NULL, "message: '%s'",
              msglog_open_errmsg());
    cr_assert_eq(open_path(&log, "old", 1, "alice", 5), MSGLOG_EVERSION);
    cr_assert_eq(damage_file_size(path), size);
    free(path);
}

/* A successful open clears the message of a failed one. */
Test(open, open_errmsg_is_per_attempt)
{
    msglog *log = NULL;
    cr_assert_eq(open_path(&log, "none", 0, NULL, 0), MSGLOG_ENOTFOUND);
    cr_assert(strstr(msglog_open_errmsg(), "holds no store") != NULL);
    cr_assert_eq(open_path(&log, "s", 1, "alice", 5), MSGLOG_OK);
    cr_assert_str_eq(msglog_open_errmsg(), "");
    msglog_close(log);
}

/* ---- opening by the store's own identity (replica 0, user NULL) --------- */

static size_t dir_entries(const char *path)
{
    DIR *d = opendir(path);
    cr_assert_not_null(d, "opendir %s", path);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

Test(open, by_identity_takes_the_stores_own)
{
    msglog *log = NULL;
    const uint64_t rid = 4242;
    cr_assert_eq(open_path(&log, "s", rid, "alice", 5), MSGLOG_OK);
    msglog_id id;
    send_one(log, "c1", "first", &id);
    msglog_close(log);

    cr_assert_eq(open_path(&log, "s", 0, NULL, 0), MSGLOG_OK);
    uint64_t replica = 0;
    const char *user = NULL;
    size_t user_len = 0;
    cr_assert_eq(msglog_identity(log, &replica, &user, &user_len), MSGLOG_OK);
    cr_assert_eq(replica, rid);
    cr_assert_eq(user_len, 5);
    cr_assert_str_eq(user, "alice", "NUL-terminated");
    send_one(log, "c1", "second", &id);
    cr_assert_eq(id.replica, rid, "ops are made as the store's replica");
    cr_assert_eq(id.seq, 2);
    msglog_page *page = NULL;
    cr_assert_eq(msglog_message_get(log, &page, "c1", 2, id), MSGLOG_OK);
    cr_assert_eq(page->messages[0].author.len, 5);
    cr_assert_eq(memcmp(page->messages[0].author.data, "alice", 5), 0);
    msglog_free(page);
    msglog_close(log);

    /* The identity is still checked for a full one. */
    cr_assert_eq(open_path(&log, "s", rid + 1, "alice", 5), MSGLOG_EMISMATCH);
    cr_assert_eq(open_path(&log, "s", rid, "alice", 5), MSGLOG_OK);
    msglog_close(log);
}

Test(open, identity_of_a_new_store_and_null_outputs)
{
    msglog *log = NULL;
    const char user[] = "b\0b";
    cr_assert_eq(open_path(&log, "s", 77, user, 3), MSGLOG_OK);
    uint64_t replica = 0;
    const char *u = NULL;
    size_t n = 0;
    cr_assert_eq(msglog_identity(log, &replica, &u, &n), MSGLOG_OK);
    cr_assert_eq(replica, 77);
    cr_assert_eq(n, 3);
    cr_assert_eq(memcmp(u, user, 4), 0, "bytes as given, then a NUL");
    cr_assert_eq(msglog_identity(log, NULL, NULL, NULL), MSGLOG_OK);
    cr_assert_eq(msglog_identity(NULL, &replica, &u, &n), MSGLOG_EINVAL);
    msglog_close(log);

    cr_assert_eq(open_path(&log, "s", 0, NULL, 0), MSGLOG_OK);
    cr_assert_eq(msglog_identity(log, NULL, &u, &n), MSGLOG_OK);
    cr_assert_eq(n, 3);
    cr_assert_eq(memcmp(u, user, 4), 0);
    msglog_close(log);
}

Test(open, limits_of_the_identity_are_kept_when_adopted)
{
    msglog *log = NULL;
    char user[255];
    memset(user, 'u', sizeof user);
    const uint64_t rid = ((uint64_t)1 << 53) - 1;
    cr_assert_eq(open_path(&log, "max", rid, user, 255), MSGLOG_OK);
    msglog_close(log);
    cr_assert_eq(open_path(&log, "max", 0, NULL, 0), MSGLOG_OK);
    uint64_t replica;
    const char *u;
    size_t n;
    cr_assert_eq(msglog_identity(log, &replica, &u, &n), MSGLOG_OK);
    cr_assert_eq(replica, rid);
    cr_assert_eq(n, 255);
    cr_assert_eq(memcmp(u, user, 255), 0);
    msglog_close(log);
}

Test(open, by_identity_without_a_store_creates_nothing)
{
    msglog *log = (msglog *)1;
    char *path = tmpdir_join(root, "missing");
    struct stat st;
    cr_assert_eq(open_path(&log, "missing", 0, NULL, 0), MSGLOG_ENOTFOUND);
    cr_assert_null(log);
    cr_assert_neq(stat(path, &st), 0, "the directory is not created");
    free(path);

    path = tmpdir_join(root, "empty");
    cr_assert_eq(mkdir(path, 0700), 0);
    log = (msglog *)1;
    cr_assert_eq(open_path(&log, "empty", 0, NULL, 0), MSGLOG_ENOTFOUND);
    cr_assert_null(log);
    cr_assert_eq(dir_entries(path), 0, "no file is left behind");

    /* A full identity still creates the store there. */
    cr_assert_eq(open_path(&log, "empty", 5, "eve", 3), MSGLOG_OK);
    msglog_close(log);
    cr_assert_eq(open_path(&log, "empty", 0, NULL, 0), MSGLOG_OK);
    msglog_close(log);
    free(path);

    /* A path that is a regular file holds no store either. */
    path = tmpdir_join(root, "plainfile");
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fclose(f);
    log = (msglog *)1;
    cr_assert_eq(open_path(&log, "plainfile", 0, NULL, 0), MSGLOG_ENOTFOUND);
    cr_assert_null(log);
    free(path);
}

Test(open, half_an_identity_is_refused)
{
    msglog *log = (msglog *)1;
    cr_assert_eq(open_path(&log, "s", 0, "alice", 5), MSGLOG_EINVAL, "replica 0 with a user");
    cr_assert_null(log);
    log = (msglog *)1;
    cr_assert_eq(open_path(&log, "s", 3, NULL, 0), MSGLOG_EINVAL, "a replica without a user");
    cr_assert_null(log);
    log = (msglog *)1;
    cr_assert_eq(open_path(&log, "s", 0, NULL, 5), MSGLOG_EINVAL, "NULL user with a length");
    cr_assert_null(log);
    char *path = tmpdir_join(root, "s");
    struct stat st;
    cr_assert_neq(stat(path, &st), 0, "refused opens create nothing");
    free(path);
}

/* Random replica ids: in [1, 2^53), and 1,000 draws all different. */
Test(open, new_replica_ids_are_random)
{
    enum { N = 1000 };
    static uint64_t ids[N];
    for (int i = 0; i < N; i++) {
        ids[i] = msglog_new_replica_id();
        cr_assert(ids[i] >= 1 && ids[i] < ((uint64_t)1 << 53), "%llu", (unsigned long long)ids[i]);
        for (int j = 0; j < i; j++)
            cr_assert_neq(ids[i], ids[j], "draws %d and %d", i, j);
    }
}
