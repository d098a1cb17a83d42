#include "log/damage.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "crdt/utf8.h"
#include "log/keys.h"

/* Where each cid-keyed table's keys put the record's op id (replica, seq):
 * key length and offset of the replica (docs/format.md, "LMDB layout"). */
static const struct {
    int tbl;
    size_t key_len;
    size_t id_at;   /* 0: the key names no op (conv_state) */
} cid_keyed[] = {
    { TBL_CONV_STATE, 4, 0 },
    { TBL_OPS, KEY_OP_LEN, 4 },
    { TBL_MSGS, KEY_MSG_LEN, 12 },
    { TBL_PENDING, KEY_PENDING_LEN, 20 },
    { TBL_PENDING_IDS, KEY_OP_LEN, 4 },
    { TBL_PENDING_EDITS, KEY_PENDING_LEN, 20 },
    { TBL_EQUIVOCAL, KEY_EQUIV_LEN, 4 },
};

static int layout_of(int tbl)
{
    for (size_t i = 0; i < sizeof cid_keyed / sizeof cid_keyed[0]; i++)
        if (cid_keyed[i].tbl == tbl)
            return (int)i;
    return -1;
}

int damage_key_cid(int tbl, store_val key, uint32_t *cid)
{
    if (layout_of(tbl) < 0 || key.len < 4)
        return 0;
    *cid = key_get_u32(key.data);
    return 1;
}

/* The message being written: DAMAGE_MSG_MAX bytes, always NUL-terminated. */
typedef struct msg {
    char *buf;
    size_t at;
} msg;

static void add_text(msg *m, const char *text)
{
    int n = snprintf(m->buf + m->at, DAMAGE_MSG_MAX - m->at, "%s", text);
    m->at = n < 0 || m->at + (size_t)n >= DAMAGE_MSG_MAX ? DAMAGE_MSG_MAX - 1 : m->at + (size_t)n;
}

static void add_u64(msg *m, uint64_t x)
{
    char s[24];
    snprintf(s, sizeof s, "%" PRIu64, x);
    add_text(m, s);
}

/* Bytes as text: valid UTF-8 as it is, minus control characters; anything
 * else byte by byte as \xNN. */
static void add_name(msg *m, const uint8_t *p, size_t len)
{
    int text = utf8_valid(p, len);
    for (size_t i = 0; i < len; i++) {
        char c[8] = { (char)p[i], '\0' };
        if (p[i] < 0x20 || p[i] == 0x7f || (p[i] >= 0x80 && !text))
            snprintf(c, sizeof c, "\\x%02x", p[i]);
        add_text(m, c);
    }
}

/* A key whose length no key of its table has. */
static void add_odd_key(msg *m, store_val key)
{
    add_text(m, "record with a key of ");
    add_u64(m, key.len);
    add_text(m, " bytes");
}

/* "record R.S of conversation NAME" of a cid-keyed table. */
static void add_cid_keyed(msg *m, int layout, store_val key, store_val conv)
{
    const uint8_t *k = key.data;
    size_t id_at = cid_keyed[layout].id_at;
    if (key.len != cid_keyed[layout].key_len) {
        add_odd_key(m, key);
        return;
    }
    add_text(m, "record");
    if (id_at) {
        add_text(m, " ");
        add_u64(m, key_get_u64(k + id_at));
        add_text(m, ".");
        add_u64(m, key_get_u64(k + id_at + 8));
    }
    add_text(m, " of conversation ");
    if (conv.data) {
        add_name(m, conv.data, conv.len);
    } else {
        add_text(m, "#");
        add_u64(m, key_get_u32(k));
    }
}

/* The peers table: "u"|replica, "s"|len|conv|replica, "r"|conv. */
static void add_peers(msg *m, store_val key)
{
    const uint8_t *k = key.data;
    if (key.len == 9 && k[0] == 'u') {
        add_text(m, "record of device ");
        add_u64(m, key_get_u64(k + 1));
    } else if (key.len >= 10 && k[0] == 's' && (size_t)k[1] + 10 == key.len) {
        add_text(m, "record of device ");
        add_u64(m, key_get_u64(k + 2 + k[1]));
        add_text(m, " in conversation ");
        add_name(m, k + 2, k[1]);
    } else if (key.len >= 2 && k[0] == 'r') {
        add_text(m, "record of the relay's status of conversation ");
        add_name(m, k + 1, key.len - 1);
    } else {
        add_odd_key(m, key);
    }
}

void damage_describe(char *buf, int tbl, store_val key, store_val conv, const char *why)
{
    msg m = { buf, 0 };
    buf[0] = '\0';
    add_text(&m, store_table_name(tbl));
    add_text(&m, " ");
    int layout = layout_of(tbl);
    if (layout >= 0) {
        add_cid_keyed(&m, layout, key, conv);
    } else if (tbl == TBL_CONVS) {
        add_text(&m, "record of conversation ");
        add_name(&m, key.data, key.len);
    } else if (tbl == TBL_PEERS) {
        add_peers(&m, key);
    } else {
        add_text(&m, "record ");
        add_name(&m, key.data, key.len);
    }
    add_text(&m, " is damaged (");
    add_text(&m, why);
    add_text(&m, ")");
}
