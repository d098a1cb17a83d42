/* The check's frame (log/check.h): reporting, the walk of one table, the
 * conversations by number. */
#include "log/check.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log/damage.h"
#include "msglog.h"

#define KEY_MAX 512   /* LMDB's default maximum key size is 511 */

void check_line(check_report *r, const char *line)
{
    r->n++;
    if (r->fn)
        r->fn(r->ctx, line);
}

int check_conv_cmp(const void *a, const void *b)
{
    const check_conv *x = a, *y = b;
    return (x->cid > y->cid) - (x->cid < y->cid);
}

check_conv *check_conv_of(check_ctx *c, uint32_t cid)
{
    check_conv probe = { .cid = cid };
    return c->n_convs ? bsearch(&probe, c->convs, c->n_convs, sizeof *c->convs, check_conv_cmp)
                      : NULL;
}

/* The conversation a key of tbl names, or NULL. */
static check_conv *conv_of_key(check_ctx *c, int tbl, store_val key)
{
    uint32_t cid;
    return damage_key_cid(tbl, key, &cid) ? check_conv_of(c, cid) : NULL;
}

void check_record(check_ctx *c, int tbl, store_val key, const char *why)
{
    char line[DAMAGE_MSG_MAX];
    check_conv *cv = conv_of_key(c, tbl, key);
    store_val name = cv ? cv->name : (store_val){ NULL, 0 };
    if (cv)
        cv->damaged = 1;
    damage_describe(line, tbl, key, name, why);
    check_line(c->r, line);
}

/* A record the store refused (store_damage says which): reported, and its
 * conversation marked. */
static void report_damaged(check_ctx *c, int tbl, store_cursor *cur)
{
    store_val k;
    if (store_cursor_key(cur, &k) == MSGLOG_OK) {
        check_conv *cv = conv_of_key(c, tbl, k);
        if (cv)
            cv->damaged = 1;
    }
    check_line(c->r, store_damage(store_txn_store(c->t)));
}

/* Whether key k comes strictly after the previous one (prev, *prev_len;
 * *prev_len is SIZE_MAX before the first), and k is then remembered. */
static int ascends(uint8_t *prev, size_t *prev_len, store_val k)
{
    int up = 1;
    if (*prev_len != SIZE_MAX) {
        size_t n = *prev_len < k.len ? *prev_len : k.len;
        int d = memcmp(prev, k.data, n);
        up = d < 0 || (d == 0 && *prev_len < k.len);
    }
    *prev_len = k.len <= KEY_MAX ? k.len : KEY_MAX;
    memcpy(prev, k.data, *prev_len);
    return up;
}

/* The end of a walk: LMDB's own count must be the records walked. */
static void check_count(check_ctx *c, int tbl, uint64_t walked)
{
    uint64_t counted;
    char line[DAMAGE_MSG_MAX];
    if (store_entries(c->t, tbl, &counted) == MSGLOG_OK && counted == walked)
        return;
    snprintf(line, sizeof line, "%s table is damaged (%llu records walked, LMDB counts %llu)",
             store_table_name(tbl), (unsigned long long)walked, (unsigned long long)counted);
    check_line(c->r, line);
}

/* A walk LMDB cannot go on with: its pages are damaged. */
static void walk_broken(check_ctx *c, int tbl, uint64_t walked, int rc)
{
    char line[DAMAGE_MSG_MAX];
    snprintf(line, sizeof line, "%s table is damaged (LMDB cannot walk it past record %llu: %s)",
             store_table_name(tbl), (unsigned long long)walked,
             rc == MSGLOG_ECORRUPT ? "its pages are damaged" : "the store failed");
    check_line(c->r, line);
}

int check_walk(check_ctx *c, int tbl, int (*fn)(check_ctx *c, store_val k, store_val v))
{
    store_cursor *cur;
    int rc = store_cursor_open(c->t, tbl, &cur);
    if (rc)
        return rc;
    uint8_t prev[KEY_MAX];
    size_t prev_len = SIZE_MAX;
    uint64_t walked = 0;
    int fatal = MSGLOG_OK;
    store_val k, v;
    for (rc = store_cursor_first(cur, &k, &v); rc != MSGLOG_ENOTFOUND && !fatal;
         rc = store_cursor_next(cur, &k, &v), walked++) {
        if (rc == MSGLOG_ECORRUPT && *store_damage(store_txn_store(c->t))) {
            report_damaged(c, tbl, cur);
            continue;
        }
        if (rc)
            break;
        if (!ascends(prev, &prev_len, k))
            check_record(c, tbl, k, "its key is out of order");
        fatal = fn(c, k, v);
    }
    store_cursor_close(cur);
    if (fatal)
        return fatal;
    if (rc == MSGLOG_ENOTFOUND)
        check_count(c, tbl, walked);
    else
        walk_broken(c, tbl, walked, rc);
    return MSGLOG_OK;
}

static void convs_free(check_ctx *c)
{
    for (size_t i = 0; i < c->n_convs; i++) {
        conv_free(&c->convs[i].st);
        vv_free(&c->convs[i].seen);
    }
    free(c->convs);
}

int check_store(store_txn *t, check_report *r)
{
    /* LMDB's pages first (log/pages.h): over a damaged one LMDB itself may
     * crash, so the records are read only when every page is sound (a store
     * opened with no_page_check has not had its pages checked). */
    char why[STORE_WHY_MAX];
    int rc = store_verify_pages(t, why);
    if (rc == MSGLOG_ECORRUPT)
        check_line(r, why);
    if (rc)
        return rc == MSGLOG_ECORRUPT ? MSGLOG_OK : rc;
    check_ctx c = { .t = t, .r = r };
    rc = check_records(&c);
    if (!rc)
        check_totals(&c);
    convs_free(&c);
    return rc;
}
