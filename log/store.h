/* The LMDB store: one environment per replica, a few named tables, and thin
 * wrappers that map LMDB's codes to MSGLOG_E* codes. lmdb.h is included in
 * log/ only. The layout is described in docs/format.md. */
#ifndef MSGLOG_LOG_STORE_H
#define MSGLOG_LOG_STORE_H

#include <stddef.h>
#include <stdint.h>

typedef struct store store;
typedef struct store_txn store_txn;
typedef struct store_cursor store_cursor;

enum store_table {
    TBL_META,        /* "replica", "user", "format", "next_cid"            */
    TBL_CONVS,       /* conversation id bytes -> cid (u32 BE)              */
    TBL_CONV_STATE,  /* cid -> conversation state (msgpack)                */
    TBL_OPS,         /* cid|replica|seq -> kind|hlc|op encoding            */
    TBL_MSGS,        /* cid|hlc|replica|seq -> message state (msgpack)     */
    TBL_PENDING,     /* cid|wait replica|wait seq|replica|seq -> encoding  */
    TBL_PENDING_IDS, /* cid|replica|seq -> wait replica|wait seq           */
    TBL_PENDING_EDITS, /* cid|target replica|target seq|replica|seq -> wait */
    TBL_EQUIVOCAL,   /* cid|replica|seq|hash -> kind|hlc|encoding (log/evidence.c) */
    TBL_PEERS,       /* sync peers (log/peers_table.c): "u"|replica -> user,
                        "s"|len|conv|replica -> acked vv, "r"|conv -> STATUS */
    TBL_COUNT
};

typedef struct store_val {
    const void *data;
    size_t len;
} store_val;

/* Opens (creating) the environment in directory `path`. */
int store_open(store **out, const char *path, size_t map_size);
void store_close(store *s);
/* Doubles the map size, capped at max. MSGLOG_EFULL when already at max.
 * No transaction of this process may be open. */
int store_grow(store *s, size_t max);

int store_txn_begin(store *s, int write, store_txn **out);
/* Commits and frees the transaction (also on failure). */
int store_txn_commit(store_txn *t);
/* Aborts and frees. NULL-safe. */
void store_txn_abort(store_txn *t);

/* Values borrowed from the store stay valid until the next write in the
 * same transaction or its end. */
int store_get(store_txn *t, int tbl, store_val key, store_val *val);
int store_put(store_txn *t, int tbl, store_val key, store_val val);
/* Reserves `len` bytes for key's value and points *out at them, to be
 * filled before the next write in t (saves building the value elsewhere). */
int store_reserve(store_txn *t, int tbl, store_val key, size_t len, void **out);
/* MSGLOG_ENOTFOUND when absent. */
int store_del(store_txn *t, int tbl, store_val key);

int store_cursor_open(store_txn *t, int tbl, store_cursor **out);
void store_cursor_close(store_cursor *c);
int store_cursor_first(store_cursor *c, store_val *k, store_val *v);
/* Positions at the first key >= key. */
int store_cursor_seek(store_cursor *c, store_val key, store_val *k, store_val *v);
int store_cursor_next(store_cursor *c, store_val *k, store_val *v);
int store_cursor_prev(store_cursor *c, store_val *k, store_val *v);
int store_cursor_last(store_cursor *c, store_val *k, store_val *v);
/* Deletes the entry under the cursor. */
int store_cursor_del(store_cursor *c);

/*
 * Erasing text for real. When LMDB replaces or deletes a value it leaves the
 * old bytes behind in the page (in the gap a shrinking node leaves, or on a
 * freed overflow page). Overwriting the value with zeros of the same length
 * first is done in place on pages this transaction already copied, so a
 * text written and erased in one transaction never reaches the file.
 * (Pages committed earlier keep their old bytes as free pages until reused:
 * see docs/design.md for compaction.)
 */
int store_scrub(store_txn *t, int tbl, store_val key);
/* Scrubs, then deletes, the entry under the cursor. */
int store_cursor_scrub_del(store_cursor *c);

/* Whether the last MSGLOG_EFULL of a write in s came from the file system
 * (ENOSPC, EDQUOT: the disk is full) rather than the map (MDB_MAP_FULL):
 * growing the map helps only the latter. */
int store_full_is_disk(const store *s);

/* The directory the store was opened in (borrowed, valid until
 * store_close()). */
const char *store_path(const store *s);

/* Message for the last LMDB failure (static text). */
const char *store_strerror(int lmdb_rc);

#endif
