/* The LMDB store: one environment per replica, a few named tables, and thin
 * wrappers that map LMDB's codes to MSGLOG_E* codes. lmdb.h is included in
 * log/ only. The layout is described in docs/format.md.
 *
 * Damage. Every value is framed with a checksum of its key and payload
 * (log/frame.h): the puts below add it, and every get and cursor step checks
 * it and hands out the payload only, so the tables never see the frame. A
 * record whose checksum fails is MSGLOG_ECORRUPT, and store_damage() names
 * it (log/damage.h). A cursor stays on such a record, so a walk may step
 * past it (msglog_check does). LMDB's own pages are checked once, at open
 * (log/pages.h). */
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

/* Writes what a new store starts with (its identity), in the transaction
 * that creates its tables. Returns MSGLOG_OK or an MSGLOG_E* code. */
typedef int (*store_init_fn)(store_txn *t, void *ctx);

/* How to open a store. */
typedef struct store_config {
    size_t map_size;          /* the LMDB map's first size */
    int create;               /* build a new store when there is no data file */
    store_init_fn init;       /* what a new store starts with; may be NULL */
    void *init_ctx;           /* passed to init */
    int no_page_check;        /* skip the check of every page (log/pages.h):
                                 a damaged file may then crash LMDB */
} store_config;

#define STORE_WHY_MAX 384
/*
 * Opens the store in directory `path`. When its data file is missing and
 * cfg->create is set, the directory is made if needed and a new store is
 * built in a file of its own, with every table and what init(t, ctx)
 * writes, then linked into place as data.mdb: a data file is always a
 * whole store. An existing data file is checked first (log/datafile.h:
 * truncated, damaged meta pages), then every page of its snapshot
 * (log/pages.h) before LMDB reads one unless cfg->no_page_check, then it is
 * opened without writing anything; a table it lacks is noted
 * (store_missing_table), not created.
 * @return MSGLOG_OK; MSGLOG_ENOTFOUND when there is no data file and not
 *         cfg->create; MSGLOG_ECORRUPT, MSGLOG_EVERSION for a data file that
 *         fails a check or that LMDB refuses; init's code; MSGLOG_EIO,
 *         MSGLOG_ENOMEM, MSGLOG_EFULL. On failure `why` (STORE_WHY_MAX
 *         bytes, may be NULL) says what is wrong with the data file when
 *         that is known ("" otherwise).
 */
int store_open(store **out, const char *path, const store_config *cfg, char *why);
void store_close(store *s);
/* The name of the first table the store lacks, or NULL. */
const char *store_missing_table(const store *s);
/* The name of table tbl as LMDB knows it ("ops"). */
const char *store_table_name(int tbl);
/* What the last damaged record found since the last store_txn_begin was
 * ("" when none): "ops record 3.17 of conversation team is damaged
 * (checksum)". Static in the store, valid until the next transaction
 * begins or store_damage_clear(). */
const char *store_damage(const store *s);
void store_damage_clear(store *s);
/* Doubles the map size, capped at max. MSGLOG_EFULL when already at max.
 * No transaction of this process may be open. */
int store_grow(store *s, size_t max);

int store_txn_begin(store *s, int write, store_txn **out);
/* The store a transaction is of. */
store *store_txn_store(const store_txn *t);
/* Checks every page of read transaction t's snapshot as store_open does
 * (log/pages.h): MSGLOG_OK; MSGLOG_ECORRUPT with what is damaged in why
 * (STORE_WHY_MAX bytes); MSGLOG_ENOMEM, MSGLOG_EIO. */
int store_verify_pages(store_txn *t, char *why);
/* Commits and frees the transaction (also on failure). */
int store_txn_commit(store_txn *t);
/* Aborts and frees. NULL-safe. */
void store_txn_abort(store_txn *t);

/* Values borrowed from the store stay valid until the next write in the
 * same transaction or its end. MSGLOG_ECORRUPT for a damaged record. */
int store_get(store_txn *t, int tbl, store_val key, store_val *val);
/* The stored bytes of key's value as they are: frame neither checked nor
 * removed. Only to read the format of a store written before records were
 * framed (log/meta.c). */
int store_get_raw(store_txn *t, int tbl, store_val key, store_val *val);
int store_put(store_txn *t, int tbl, store_val key, store_val val);
/* Puts the concatenation of parts[0..n) as key's value, copied once into
 * the store (a record's head and body need not be joined elsewhere). */
int store_put_parts(store_txn *t, int tbl, store_val key, const store_val *parts, size_t n);
/* The number of entries of table tbl, as LMDB counts them. */
int store_entries(store_txn *t, int tbl, uint64_t *n);
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
/* The key under the cursor, its frame not checked: where a step that
 * returned MSGLOG_ECORRUPT stopped (msglog_check names the conversation). */
int store_cursor_key(store_cursor *c, store_val *k);

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
