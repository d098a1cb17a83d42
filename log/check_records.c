/* The check's rules for each table's records (log/check.h): the shape of
 * the key, the value decoding, and the records it points at. Tables are
 * walked in their order in store.h, so the conversations (convs) are known
 * before anything keyed by their number, and their states before the ops.
 * A rule reports what it finds and returns MSGLOG_OK, or MSGLOG_ENOMEM,
 * which stops the check. */
#include "log/check.h"

#include <stdlib.h>
#include <string.h>

#include "codec/errors.h"
#include "codec/op_codec.h"
#include "codec/state_codec.h"
#include "crdt/bytes.h"
#include "crdt/grow.h"
#include "crdt/utf8.h"
#include "log/keys.h"
#include "log/peers_table.h"
#include "log/pending.h"
#include "log/records.h"
#include "msglog.h"

#define WAIT_LEN 16   /* a pending op's wait as the indexes store it (log/pending.c) */

static op_id id_at(store_val k, size_t at)
{
    const uint8_t *p = k.data;
    return (op_id){ key_get_u64(p + at), key_get_u64(p + at + 8) };
}

static int same_id(op_id a, op_id b)
{
    return op_id_cmp(a, b) == 0;
}

/* Decodes op bytes of record k; 1 when *o holds the op (clear it), 0 when
 * they do not decode (reported), MSGLOG_ENOMEM. */
static int decode_op(check_ctx *c, int tbl, store_val k, const uint8_t *enc, size_t len, op *o)
{
    int rc = stored_op_decode(o, enc, len);
    if (rc == MSGLOG_ENOMEM)
        return rc;
    if (rc)
        check_record(c, tbl, k, "its op does not decode");
    return rc == MSGLOG_OK;
}

/* An op record's value (ops, equivocal): its head into *kind and *hlc and
 * its op decoded into *o. 1 when *o holds the op (clear it), 0 when the
 * record is not one (reported), MSGLOG_ENOMEM. */
static int decode_record(check_ctx *c, int tbl, store_val k, store_val v, uint8_t *kind,
                         uint64_t *hlc, op *o)
{
    const uint8_t *enc;
    size_t len;
    if (oprec_parse(v, kind, hlc, &enc, &len) != MSGLOG_OK) {
        check_record(c, tbl, k, "shorter than its head");
        return 0;
    }
    return decode_op(c, tbl, k, enc, len, o);
}

/* The key's conversation, reported when the key is not of its table's
 * length or no conversation has its number. */
static check_conv *keyed_conv(check_ctx *c, int tbl, store_val k, size_t len)
{
    if (k.len != len) {
        check_record(c, tbl, k, "its key is not of its table's length");
        return NULL;
    }
    check_conv *cv = check_conv_of(c, key_get_u32(k.data));
    if (!cv)
        check_record(c, tbl, k, "no conversation has its number");
    return cv;
}

/* Whether op o is the one key k of conversation cv names. */
static int op_matches(check_ctx *c, int tbl, store_val k, const check_conv *cv, const op *o,
                      op_id id)
{
    const char *why = !same_id(o->id, id) ? "its op is another id than its key's"
                      : bytes_cmp(o->conv, o->conv_len, cv->name.data, cv->name.len)
                          ? "its op is of another conversation"
                          : NULL;
    if (why)
        check_record(c, tbl, k, why);
    return why == NULL;
}

/* ---- meta, convs, conv_state -------------------------------------------- */

static int named(store_val k, const char *name)
{
    return k.len == strlen(name) && memcmp(k.data, name, k.len) == 0;
}

/* The meta records (log/meta.c): each name's value has its own shape; the
 * counter and the pending totals are kept for the checks that follow. */
static int meta_rule(check_ctx *c, store_val k, store_val v)
{
    const uint8_t *p = v.data;
    int ok;
    if (named(k, "format")) {
        ok = v.len == 8;
    } else if (named(k, "replica")) {
        ok = v.len == 8 && key_get_u64(p) >= 1 && key_get_u64(p) < (UINT64_C(1) << 53);
    } else if (named(k, "user")) {
        ok = v.len >= 1 && v.len <= MSGLOG_MAX_USER && utf8_valid(p, v.len);
    } else if (named(k, "next_cid")) {
        ok = c->has_next_cid = v.len == 4;
        c->next_cid = ok ? key_get_u32(p) : 0;
    } else if (named(k, "pending_totals")) {
        ok = c->has_totals = v.len == 16;
        c->totals_ops = ok ? key_get_u64(p) : 0;
        c->totals_bytes = ok ? key_get_u64(p + 8) : 0;
    } else {
        check_record(c, TBL_META, k, "a name this store does not use");
        return MSGLOG_OK;
    }
    if (!ok)
        check_record(c, TBL_META, k, "its value is not of its shape");
    return MSGLOG_OK;
}

static int convs_rule(check_ctx *c, store_val k, store_val v)
{
    if (k.len == 0 || k.len > MSGLOG_MAX_CONV || !utf8_valid(k.data, k.len) || v.len != 4 ||
        key_get_u32(v.data) == 0) {
        check_record(c, TBL_CONVS, k, "not a conversation name and number");
        return MSGLOG_OK;
    }
    check_conv *grown = grow_array(c->convs, &c->cap, c->n_convs + 1, sizeof *grown);
    if (!grown)
        return MSGLOG_ENOMEM;
    c->convs = grown;
    c->convs[c->n_convs++] = (check_conv){ .cid = key_get_u32(v.data), .name = k };
    return MSGLOG_OK;
}

/* The conversations by number: two names of one number, or a number the
 * counter has not reached, are damage. */
static void convs_sort(check_ctx *c)
{
    if (c->n_convs)
        qsort(c->convs, c->n_convs, sizeof *c->convs, check_conv_cmp);
    for (size_t i = 0; i < c->n_convs; i++) {
        const check_conv *cv = &c->convs[i];
        if (i > 0 && cv->cid == cv[-1].cid)
            check_record(c, TBL_CONVS, cv->name, "its number is another conversation's too");
        if (c->has_next_cid && cv->cid >= c->next_cid)
            check_record(c, TBL_CONVS, cv->name, "its number is past the store's counter");
    }
}

static int conv_state_rule(check_ctx *c, store_val k, store_val v)
{
    check_conv *cv = keyed_conv(c, TBL_CONV_STATE, k, 4);
    if (!cv)
        return MSGLOG_OK;
    int rc = codec_stored_rc(codec_conv_decode(&cv->st, v.data, v.len));
    if (rc == MSGLOG_ENOMEM)
        return rc;
    if (rc || cv->st.cid != cv->cid) {
        check_record(c, TBL_CONV_STATE, k, rc ? "it does not decode" : "it names another number");
        return MSGLOG_OK;
    }
    cv->has_state = 1;
    return MSGLOG_OK;
}

/* ---- ops, msgs ---------------------------------------------------------- */

/* An origin's ops come in seq order from 1 (delivery is causal): the
 * conversation's vector as the ops table holds it. After a damaged record
 * of the conversation a gap only repeats it. */
static int note_seen(check_ctx *c, check_conv *cv, store_val k, op_id id)
{
    uint64_t have = vv_get(&cv->seen, id.replica);
    if (id.seq != have + 1 && !cv->damaged) {
        check_record(c, TBL_OPS, k, "its origin's ops before it are missing");
        return MSGLOG_OK;
    }
    return vv_set(&cv->seen, id.replica, id.seq) ? MSGLOG_ENOMEM : MSGLOG_OK;
}

static int ops_rule(check_ctx *c, store_val k, store_val v)
{
    check_conv *cv = keyed_conv(c, TBL_OPS, k, KEY_OP_LEN);
    uint8_t kind;
    uint64_t hlc;
    op o;
    int decoded = cv ? decode_record(c, TBL_OPS, k, v, &kind, &hlc, &o) : 0, rc = MSGLOG_OK;
    if (decoded != 1)
        return decoded;
    if (op_matches(c, TBL_OPS, k, cv, &o, id_at(k, 4))) {
        if (o.kind != kind || o.hlc != hlc)
            check_record(c, TBL_OPS, k, "its head is not its op's kind and hlc");
        cv->sends += o.kind == OP_SEND;
        cv->maxhlc = o.hlc > cv->maxhlc ? o.hlc : cv->maxhlc;
        digest_add(&cv->dig, digest_op_content(&o));
        rc = note_seen(c, cv, k, o.id);
    }
    codec_op_clear(&o);
    return rc;
}

/* The send a message state is of: its op record, decoded into *o. 1, 0
 * when reported (or damaged: reported where it was walked), ENOMEM. */
static int send_of(check_ctx *c, store_val k, uint32_t cid, op_id id, op *o)
{
    uint8_t kind;
    uint64_t hlc;
    const uint8_t *enc;
    size_t len;
    int rc = oprec_get(c->t, cid, id, &kind, &hlc, &enc, &len);
    if (rc == MSGLOG_ENOTFOUND)
        check_record(c, TBL_MSGS, k, "no ops record of its send");
    if (rc)
        return rc == MSGLOG_ENOMEM ? rc : 0;
    rc = stored_op_decode(o, enc, len);
    if (rc == MSGLOG_OK && (o->kind != OP_SEND || o->hlc != key_get_u64((const uint8_t *)k.data + 4))) {
        check_record(c, TBL_MSGS, k, "its op record is no send at its position");
        codec_op_clear(o);
        return 0;
    }
    return rc == MSGLOG_ENOMEM ? rc : rc == MSGLOG_OK;
}

static int msgs_rule(check_ctx *c, store_val k, store_val v)
{
    check_conv *cv = keyed_conv(c, TBL_MSGS, k, KEY_MSG_LEN);
    msg_state m;
    op o;
    if (!cv)
        return MSGLOG_OK;
    cv->msgs++;
    int rc = codec_stored_rc(codec_msg_decode(&m, v.data, v.len));
    if (rc) {
        if (rc != MSGLOG_ENOMEM)
            check_record(c, TBL_MSGS, k, "it does not decode");
        return rc == MSGLOG_ENOMEM ? rc : MSGLOG_OK;
    }
    rc = send_of(c, k, cv->cid, id_at(k, 12), &o);
    if (rc == 1) {
        if (bytes_cmp(m.author, m.author_len, o.user, o.user_len) != 0)
            check_record(c, TBL_MSGS, k, "its author is not its send's");
        codec_op_clear(&o);
    }
    msg_free(&m);
    return rc == MSGLOG_ENOMEM ? rc : MSGLOG_OK;
}

/* ---- the pending buffer ------------------------------------------------- */

/* The wait an index record holds; 0 when it is not one (reported). */
static int wait_of(check_ctx *c, int tbl, store_val k, store_val v, op_id *wait)
{
    if (v.len != WAIT_LEN) {
        check_record(c, tbl, k, "its value is no wait");
        return 0;
    }
    *wait = id_at(v, 0);
    return 1;
}

/* The edit index entry of pending edit o must hold the wait it is under. */
static void check_edit_indexed(check_ctx *c, store_val k, uint32_t cid, const op *o, op_id wait)
{
    uint8_t ek[KEY_PENDING_LEN];
    store_val v;
    key_pending(ek, cid, o->target, o->id);
    int rc = store_get(c->t, TBL_PENDING_EDITS, (store_val){ ek, sizeof ek }, &v);
    if (rc == MSGLOG_ENOTFOUND || (rc == MSGLOG_OK && (v.len != WAIT_LEN ||
                                                       !same_id(id_at(v, 0), wait))))
        check_record(c, TBL_PENDING, k, "its edit index entry is missing or another");
}

static int pending_rule(check_ctx *c, store_val k, store_val v)
{
    check_conv *cv = keyed_conv(c, TBL_PENDING, k, KEY_PENDING_LEN);
    op o;
    op_id wait = id_at(k, 4), indexed;
    if (!cv)
        return MSGLOG_OK;
    c->pending_ops++;
    c->pending_bytes += v.len;
    int rc = decode_op(c, TBL_PENDING, k, v.data, v.len, &o);
    if (rc != 1)
        return rc;
    if (op_matches(c, TBL_PENDING, k, cv, &o, id_at(k, 20))) {
        rc = pendrec_wait(c->t, cv->cid, o.id, &indexed);
        if (rc == MSGLOG_ENOTFOUND || (rc == MSGLOG_OK && !same_id(indexed, wait)))
            check_record(c, TBL_PENDING, k, "its id index entry is missing or another");
        if (o.kind == OP_EDIT)
            check_edit_indexed(c, k, cv->cid, &o, wait);
    }
    codec_op_clear(&o);
    return MSGLOG_OK;
}

/* An index record (pending_ids, pending_edits: a key of key_len with the
 * op's id at id_off, its wait as the value) and the pending op it names:
 * 1 with the op's bytes in *enc, *len; 0 when there is none (reported).
 * *cv is the key's conversation (NULL: reported). */
static int indexed_op(check_ctx *c, int tbl, store_val k, store_val v, size_t key_len,
                      size_t id_off, check_conv **cv, const uint8_t **enc, size_t *len)
{
    op_id wait;
    *cv = keyed_conv(c, tbl, k, key_len);
    if (!*cv || !wait_of(c, tbl, k, v, &wait))
        return 0;
    int rc = pendrec_get_at(c->t, (*cv)->cid, wait, id_at(k, id_off), enc, len);
    if (rc == MSGLOG_ENOTFOUND)
        check_record(c, tbl, k, "no pending op of its id under its wait");
    return rc == MSGLOG_OK;
}

static int pending_ids_rule(check_ctx *c, store_val k, store_val v)
{
    check_conv *cv;
    const uint8_t *enc;
    size_t len;
    indexed_op(c, TBL_PENDING_IDS, k, v, KEY_OP_LEN, 4, &cv, &enc, &len);
    if (cv)
        cv->pending_ids++;
    return MSGLOG_OK;
}

static int pending_edits_rule(check_ctx *c, store_val k, store_val v)
{
    check_conv *cv;
    const uint8_t *enc;
    size_t len;
    op o;
    int rc;
    if (!indexed_op(c, TBL_PENDING_EDITS, k, v, KEY_PENDING_LEN, 20, &cv, &enc, &len))
        return MSGLOG_OK;
    if ((rc = stored_op_decode(&o, enc, len)) != MSGLOG_OK)
        return rc == MSGLOG_ENOMEM ? rc : MSGLOG_OK;   /* reported with the pending op */
    if (o.kind != OP_EDIT || !same_id(o.target, id_at(k, 4)))
        check_record(c, TBL_PENDING_EDITS, k, "its pending op is no edit of its target");
    codec_op_clear(&o);
    return MSGLOG_OK;
}

/* ---- evidence, peers ---------------------------------------------------- */

/* A kept version is of an id the store holds, delivered or pending; a
 * delivered one counts in the digest (engine/equivocal.c, rebuild). */
static void evidence_of_held(check_ctx *c, store_val k, check_conv *cv, const op *o, digest h)
{
    uint8_t kind;
    uint64_t hlc;
    int rc = oprec_get(c->t, cv->cid, o->id, &kind, &hlc, NULL, NULL);
    if (rc == MSGLOG_OK)
        digest_add(&cv->dig, h);
    else if (rc == MSGLOG_ENOTFOUND && pendrec_has(c->t, cv->cid, o->id) == MSGLOG_ENOTFOUND)
        check_record(c, TBL_EQUIVOCAL, k, "the store holds no other version of its id");
    cv->has_evidence = 1;
}

static int equivocal_rule(check_ctx *c, store_val k, store_val v)
{
    check_conv *cv = keyed_conv(c, TBL_EQUIVOCAL, k, KEY_EQUIV_LEN);
    uint8_t kind, hash[OP_HASH_LEN];
    uint64_t hlc;
    op o;
    int decoded = cv ? decode_record(c, TBL_EQUIVOCAL, k, v, &kind, &hlc, &o) : 0;
    if (decoded != 1)
        return decoded;
    if (op_matches(c, TBL_EQUIVOCAL, k, cv, &o, id_at(k, 4))) {
        digest h = digest_op_content(&o);
        digest_to_bytes(hash, h);
        if (o.kind != kind || o.hlc != hlc ||
            memcmp(hash, (const uint8_t *)k.data + KEY_OP_LEN, OP_HASH_LEN) != 0)
            check_record(c, TBL_EQUIVOCAL, k, "its key or head is not its op's");
        else
            evidence_of_held(c, k, cv, &o, h);
    }
    codec_op_clear(&o);
    return MSGLOG_OK;
}

/* The peers table's records (log/peers_table.h), each read back through
 * the function that reads it for sessions: a device ("u"), a subscription
 * ("s"), a relay's STATUS ("r"), and the counts the caps use: of devices
 * ("d") and of one device's subscriptions ("c"). */
static int peers_rule(check_ctx *c, store_val k, store_val v)
{
    const uint8_t *p = k.data;
    store_val user;
    op_id *vv = NULL;
    size_t n;
    int rc = MSGLOG_EINVAL;
    if (k.len == 9 && p[0] == 'u')
        rc = peer_user_get(c->t, key_get_u64(p + 1), &user);
    else if (k.len >= 11 && p[0] == 's' && (size_t)p[1] + 10 == k.len && (size_t)p[1] >= 1) {
        rc = peer_acked_decode(v, &vv, &n);
        free(vv);
        if (rc == MSGLOG_OK && peer_user_get(c->t, key_get_u64(p + 2 + p[1]), &user))
            rc = MSGLOG_ECORRUPT;   /* subscribed, never seen */
    } else if (k.len == 1 && p[0] == 'd') {
        uint64_t count;
        rc = peer_device_count_get(c->t, &count);
    } else if (k.len == 9 && p[0] == 'c') {
        uint64_t count;
        rc = peer_sub_count_get(c->t, key_get_u64(p + 1), &count);
    } else if (k.len >= 2 && p[0] == 'r') {
        codec_status st;
        rc = peer_relay_status_get(c->t, p + 1, k.len - 1, &st);
        codec_status_clear(&st);
    }
    if (rc == MSGLOG_ENOMEM)
        return rc;
    if (rc)
        check_record(c, TBL_PEERS, k, rc == MSGLOG_EINVAL ? "not a peers record" : "it does not "
                                                                                  "decode");
    return MSGLOG_OK;
}

int check_records(check_ctx *c)
{
    static int (*const rules[TBL_COUNT])(check_ctx *, store_val, store_val) = {
        [TBL_META] = meta_rule,
        [TBL_CONVS] = convs_rule,
        [TBL_CONV_STATE] = conv_state_rule,
        [TBL_OPS] = ops_rule,
        [TBL_MSGS] = msgs_rule,
        [TBL_PENDING] = pending_rule,
        [TBL_PENDING_IDS] = pending_ids_rule,
        [TBL_PENDING_EDITS] = pending_edits_rule,
        [TBL_EQUIVOCAL] = equivocal_rule,
        [TBL_PEERS] = peers_rule,
    };
    int rc = MSGLOG_OK;
    for (int tbl = 0; tbl < TBL_COUNT && !rc; tbl++) {
        rc = check_walk(c, tbl, rules[tbl]);
        if (tbl == TBL_CONVS)
            convs_sort(c);
    }
    return rc;
}
