#include "support/check.h"

#include <stdio.h>

char *check_snapshot(msglog *log)
{
    char *s = NULL;
    int rc = dump_store(&s, log);
    cr_assert_eq(rc, MSGLOG_OK, "dump_store -> %d (%s)", rc,
                 msglog_strerror(rc));
    return s;
}

void check_unchanged(msglog *log, const char *before, const char *what)
{
    char *after = check_snapshot(log);
    char diff[4096];
    if (dump_diff(diff, sizeof diff, before, after)) {
        free(after);
        cr_assert_fail("the view changed after %s: %s", what, diff);
    }
    free(after);
}

void check_forward(msglog *from, msglog *to, const char *conv, size_t conv_len,
                   msglog_id id)
{
    void *bytes = NULL;
    size_t len = 0;
    CHECK_OK(msglog_op_bytes(from, &bytes, &len, conv, conv_len, id));
    cr_assert_not_null(bytes);
    cr_assert_gt(len, 0);
    CHECK_OK(msglog_receive(to, bytes, len));
    msglog_free(bytes);
}

void check_sync(msglog *from, msglog *to, const char *conv, size_t conv_len)
{
    void *req = NULL, *resp = NULL;
    size_t req_len = 0, resp_len = 0;
    CHECK_OK(msglog_sync_request(to, &req, &req_len, conv, conv_len));
    CHECK_OK(msglog_sync_response(from, &resp, &resp_len, req, req_len));
    CHECK_OK(msglog_sync_apply(to, resp, resp_len));
    msglog_free(req);
    msglog_free(resp);
}

msglog_page *check_get(msglog *log, const char *conv, size_t conv_len,
                       msglog_id id)
{
    msglog_page *p = NULL;
    int rc = msglog_message_get(log, &p, conv, conv_len, id);
    cr_assert_eq(rc, MSGLOG_OK, "message_get %llu.%llu -> %d (%s)",
                 (unsigned long long)id.replica, (unsigned long long)id.seq,
                 rc, msglog_strerror(rc));
    cr_assert_not_null(p);
    cr_assert_eq(p->n, 1, "message_get returns a page of one");
    cr_assert_eq(p->messages[0].id.replica, id.replica);
    cr_assert_eq(p->messages[0].id.seq, id.seq);
    return p;
}

msglog_conv_info *check_info(msglog *log, const char *conv, size_t conv_len)
{
    msglog_conv_info *info = NULL;
    int rc = msglog_conv_info_get(log, &info, conv, conv_len);
    cr_assert_eq(rc, MSGLOG_OK, "conv_info_get -> %d (%s)", rc,
                 msglog_strerror(rc));
    cr_assert_not_null(info);
    return info;
}

void check_str(msglog_str s, const void *want, size_t want_len,
               const char *what)
{
    cr_assert_not_null(s.data, "%s: data is NULL", what);
    char got[256] = "", exp[256] = "";
    dump_quote(got, sizeof got, s.data, s.len > 100 ? 100 : s.len);
    dump_quote(exp, sizeof exp, want, want_len > 100 ? 100 : want_len);
    cr_assert_eq(s.len, want_len, "%s: length %zu, expected %zu (%s vs %s)",
                 what, s.len, want_len, got, exp);
    cr_assert(memcmp(s.data, want, want_len) == 0, "%s: %s, expected %s",
              what, got, exp);
    cr_assert_eq(s.data[s.len], '\0', "%s: not NUL-terminated", what);
}

int check_contains(const void *hay, size_t hay_len, const void *needle,
                   size_t needle_len)
{
    const unsigned char *h = hay;
    if (needle_len == 0)
        return 1;
    if (hay == NULL || hay_len < needle_len)
        return 0;
    for (size_t i = 0; i + needle_len <= hay_len; i++)
        if (h[i] == *(const unsigned char *)needle &&
            memcmp(h + i, needle, needle_len) == 0)
            return 1;
    return 0;
}

static void keep_first(void *ctx, const char *problem)
{
    char *first = ctx;
    if (!*first)
        snprintf(first, 400, "%s", problem);
}

void check_whole(msglog *log, const char *what)
{
    char first[400] = "";
    uint64_t n = 0;
    int rc = msglog_check(log, keep_first, first, &n);
    cr_assert_eq(rc, MSGLOG_OK, "%s: msglog_check -> %d with %llu problems, the first: %s", what,
                 rc, (unsigned long long)n, first);
}
