/* The meta table's entries (docs/format.md). */
#include "log/meta.h"

#include <string.h>

#include "log/keys.h"
#include "msglog.h"

#define FORMAT_KEY ((store_val){ "format", 6 })
#define USER_KEY ((store_val){ "user", 4 })
#define TOTALS_KEY ((store_val){ "pending_totals", 14 })

int meta_get_u64(store_txn *t, const char *name, uint64_t *out)
{
    store_val v;
    int rc = store_get(t, TBL_META, (store_val){ name, strlen(name) }, &v);
    if (rc)
        return rc;
    if (v.len != 8)
        return MSGLOG_ECORRUPT;
    *out = key_get_u64(v.data);
    return MSGLOG_OK;
}

int meta_get_format(store_txn *t, uint64_t *format)
{
    store_val v;
    int rc = store_get_raw(t, TBL_META, FORMAT_KEY, &v);
    if (rc == MSGLOG_OK && v.len == 8) {   /* unframed: a store of format 1 or 2 */
        *format = key_get_u64(v.data);
        return MSGLOG_OK;
    }
    return rc ? rc : meta_get_u64(t, "format", format);
}

int meta_put_u64(store_txn *t, const char *name, uint64_t x)
{
    uint8_t b[8];
    key_put_u64(b, x);
    return store_put(t, TBL_META, (store_val){ name, strlen(name) }, (store_val){ b, 8 });
}

int meta_get_user(store_txn *t, store_val *user)
{
    return store_get(t, TBL_META, USER_KEY, user);
}

int meta_put_user(store_txn *t, const uint8_t *user, size_t len)
{
    return store_put(t, TBL_META, USER_KEY, (store_val){ user, len });
}

int meta_get_pending_totals(store_txn *t, uint64_t *ops, uint64_t *bytes)
{
    store_val v;
    int rc = store_get(t, TBL_META, TOTALS_KEY, &v);
    if (rc == MSGLOG_ENOTFOUND) {
        *ops = *bytes = 0;
        return MSGLOG_OK;
    }
    if (rc)
        return rc;
    if (v.len != 16)
        return MSGLOG_ECORRUPT;
    *ops = key_get_u64(v.data);
    *bytes = key_get_u64((const uint8_t *)v.data + 8);
    return MSGLOG_OK;
}

int meta_put_pending_totals(store_txn *t, uint64_t ops, uint64_t bytes)
{
    uint8_t b[16];
    key_put_u64(b, ops);
    key_put_u64(b + 8, bytes);
    return store_put(t, TBL_META, TOTALS_KEY, (store_val){ b, sizeof b });
}
