/* The whole store checked, for msglog_check(): a store that refuses damage
 * finds it when a record is read (log/frame.h), and this reads them all.
 *
 *   pages      every page of LMDB's (log/pages.h), as at open; when one is
 *              damaged it is the one problem reported: reading records
 *              through LMDB over it could crash;
 *   records    every record of every table: its checksum, the shape of its
 *              key, its value decoding, keys in ascending order, as many as
 *              LMDB counts (log/check_records.c);
 *   indexes    every record that points at another finds it and agrees with
 *              it: a message state and its send, pending ops and their two
 *              indexes, evidence and its id, a conversation's name and its
 *              state (log/check_records.c);
 *   totals     every conversation's vector, message count, pending count and
 *              digest recomputed from its ops, read markers on sends, and the
 *              pending buffer's totals (log/check_convs.c).
 *
 * Each problem is one line, named like store_damage() names a damaged
 * record ("ops record 3.17 of conversation team is damaged (checksum)").
 * The check goes on past every problem it can: a damaged record is
 * reported and stepped over; a table LMDB itself cannot walk further is
 * reported and left. */
#ifndef MSGLOG_LOG_CHECK_H
#define MSGLOG_LOG_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "crdt/conv.h"
#include "crdt/digest.h"
#include "log/store.h"

typedef struct check_report {
    void (*fn)(void *ctx, const char *line);   /* may be NULL */
    void *ctx;
    uint64_t n;                                /* problems reported */
} check_report;

/* What the walk gathers of one conversation, to compare with its state. */
typedef struct check_conv {
    uint32_t cid;
    store_val name;            /* borrowed from the transaction */
    int has_state;
    conv_state st;             /* decoded from conv_state (owned) */
    int damaged;               /* one of its records was reported: its
                                  totals would only repeat that */
    vv seen;                   /* per replica, the ops found in seq order from 1 */
    uint64_t sends, msgs, pending_ids;
    uint64_t maxhlc;
    int has_evidence;
    digest dig;                /* of ops and delivered evidence */
} check_conv;

typedef struct check_ctx {
    store_txn *t;
    check_report *r;
    check_conv *convs;         /* ascending cid */
    size_t n_convs, cap;
    uint64_t pending_ops, pending_bytes;   /* TBL_PENDING as found */
    int has_totals;                        /* meta "pending_totals" */
    uint64_t totals_ops, totals_bytes;
    int has_next_cid;                      /* meta "next_cid" */
    uint32_t next_cid;
} check_ctx;

/* Checks the store in read transaction t, reporting each problem to r.
 * MSGLOG_OK when the check ran to its end (r->n says what it found);
 * MSGLOG_ENOMEM or a store error when it could not. */
int check_store(store_txn *t, check_report *r);

/* ---- shared by log/check*.c ---------------------------------------------- */

/* Reports one problem line. */
void check_line(check_report *r, const char *line);
/* Reports record key of table tbl as damaged for `why`, named with its
 * conversation when the key names one (damage_describe). */
void check_record(check_ctx *c, int tbl, store_val key, const char *why);
/* Orders check_convs by cid (qsort, bsearch). */
int check_conv_cmp(const void *a, const void *b);
/* The conversation numbered cid, or NULL (c->convs sorted by cid). */
check_conv *check_conv_of(check_ctx *c, uint32_t cid);

/* Walks every record of table tbl in key order, calling fn with each sound
 * one (payload only); damaged records, keys out of order, a count that is
 * not LMDB's and a walk LMDB cannot finish are reported. fn reports what
 * it finds itself and returns MSGLOG_OK, or an error that stops the whole
 * check (MSGLOG_ENOMEM), which the walk returns. */
int check_walk(check_ctx *c, int tbl, int (*fn)(check_ctx *c, store_val k, store_val v));

/* The per-table rules (log/check_records.c) and the totals
 * (log/check_convs.c). */
int check_records(check_ctx *c);
void check_totals(check_ctx *c);

#endif
