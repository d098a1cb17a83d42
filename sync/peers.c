/* What a store remembers about its sync peers (sync/peers.h), and the public
 * delivery status read from it: who is subscribed, how acknowledged vectors
 * and STATUS records merge, the STATUS a device gets. The records themselves
 * (keys, layouts, the scan of a conversation's devices) are
 * log/peers_table.h's. */
#include "sync/peers.h"

#include <stdlib.h>
#include <string.h>

#include "codec/session_codec.h"
#include "codec/vv_codec.h"
#include "crdt/bytes.h"
#include "crdt/grow.h"
#include "crdt/status.h"
#include "crdt/utf8.h"
#include "log/convs.h"
#include "log/peers_table.h"

/* ---- byte strings (members and read markers in bytes_cmp order) -------- */

static int text_ok(const uint8_t *s, size_t len, size_t max)
{
    return s && len >= 1 && len <= max && utf8_valid(s, len);
}

/* A malloc'd NUL-terminated copy. */
static char *dup_nul(const void *s, size_t len)
{
    char *p = malloc(len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

/* vv_entries_max with this file's codes. */
static int max_of(const op_id *a, size_t na, const op_id *b, size_t nb, op_id **out, size_t *n)
{
    return vv_entries_max(a, na, b, nb, out, n) ? MSGLOG_ENOMEM : MSGLOG_OK;
}

/* ---- peers_status ------------------------------------------------------- */

void peers_status_clear(peers_status *st)
{
    if (!st)
        return;
    free(st->relay_vv);
    free(st->delivered_vv);
    for (size_t i = 0; i < st->n_members; i++)
        free((char *)st->members[i].data);
    free(st->members);
    memset(st, 0, sizeof *st);
}

int peers_status_equal(const peers_status *a, const peers_status *b)
{
    if (!vv_entries_equal(a->relay_vv, a->n_relay_vv, b->relay_vv, b->n_relay_vv) ||
        !vv_entries_equal(a->delivered_vv, a->n_delivered_vv, b->delivered_vv, b->n_delivered_vv) ||
        a->n_members != b->n_members)
        return 0;
    for (size_t i = 0; i < a->n_members; i++)
        if (bytes_cmp(a->members[i].data, a->members[i].len, b->members[i].data,
                      b->members[i].len) != 0)
            return 0;
    return 1;
}

/* What peers_status_store accepts: what a STATUS may carry. */
static int status_valid(const peers_status *st)
{
    if (!codec_vv_valid(st->relay_vv, st->n_relay_vv) ||
        !codec_vv_valid(st->delivered_vv, st->n_delivered_vv) || (st->n_members && !st->members))
        return 0;
    for (size_t i = 0; i < st->n_members; i++) {
        const msglog_str *u = &st->members[i];
        if (!text_ok((const uint8_t *)u->data, u->len, MSGLOG_MAX_USER) ||
            (i > 0 && bytes_cmp(u[-1].data, u[-1].len, u->data, u->len) >= 0))
            return 0;
    }
    return 1;
}

/* ---- write transactions ------------------------------------------------- */

/* One write: fn's changes in t. It may name its failure with ml_fail. */
typedef int (*peers_write_fn)(msglog *log, store_txn *t, const void *arg);

typedef struct peers_job {
    peers_write_fn fn;
    const void *arg;
} peers_job;

static int write_once(msglog *log, void *ctx)
{
    const peers_job *job = ctx;
    store_txn *t;
    int rc = store_txn_begin(log->st, 1, &t);
    if (rc)
        return rc;
    rc = job->fn(log, t, job->arg);
    if (rc) {
        store_txn_abort(t);
        return rc;
    }
    return store_txn_commit(t);
}

/* Runs fn in its own committed write transaction; a full map (at a put or
 * at the commit) is grown and the write retried, as every write path does. */
static int peers_write(msglog *log, peers_write_fn fn, const void *arg, const char *what)
{
    peers_job job = { fn, arg };
    int rc = ml_retry_grown(log, write_once, &job);
    if (rc && !log->err[0])
        ml_fail(log, rc, "%s failed: %s", what, msglog_strerror(rc));
    return rc ? rc : ml_ok(log);
}

/* ---- relay side --------------------------------------------------------- */

static uint64_t cap_of(const peers_limits *lim, int subs)
{
    return !lim ? 0 : subs ? lim->max_subs : lim->max_devices;
}

typedef struct device_arg {
    const peers_limits *lim;
    uint64_t replica;
    const uint8_t *user;
    size_t user_len;
} device_arg;

/* Records a device never seen, counted: refused past the cap. */
static int device_new(msglog *log, store_txn *t, const device_arg *a)
{
    uint64_t n, max = cap_of(a->lim, 0);
    int rc = peer_device_count_get(t, &n);
    if (rc)
        return ml_fail(log, rc, "reading the count of devices failed: %s", msglog_strerror(rc));
    if (max && n >= max)
        return ml_fail(log, MSGLOG_ELIMIT, "the relay keeps %llu devices (at most %llu): device "
                       "%llu is refused", (unsigned long long)n, (unsigned long long)max,
                       (unsigned long long)a->replica);
    rc = peer_user_put(t, a->replica, a->user, a->user_len);
    return rc ? rc : peer_device_count_put(t, n + 1);
}

static int device_put(msglog *log, store_txn *t, const void *arg)
{
    const device_arg *a = arg;
    store_val have;
    int rc = peer_user_get(t, a->replica, &have);
    if (rc == MSGLOG_ENOTFOUND)
        return device_new(log, t, a);
    if (rc == MSGLOG_ECORRUPT)
        return ml_fail(log, rc, "the stored user of device %llu is corrupt",
                       (unsigned long long)a->replica);
    if (!rc && bytes_cmp(have.data, have.len, a->user, a->user_len) != 0)
        return ml_fail(log, MSGLOG_EMISMATCH, "device %llu belongs to user '%.*s', not '%.*s'",
                       (unsigned long long)a->replica, (int)have.len, (const char *)have.data,
                       (int)a->user_len, (const char *)a->user);
    return rc;
}

int peers_device_seen(msglog *log, const peers_limits *lim, uint64_t replica,
                      const uint8_t *user, size_t user_len)
{
    if (replica == 0 || !text_ok(user, user_len, MSGLOG_MAX_USER))
        return ml_fail(log, MSGLOG_EINVAL, "peers_device_seen: bad replica or user");
    device_arg a = { lim, replica, user, user_len };
    return peers_write(log, device_put, &a, "recording a device");
}

/* The device's subscriptions in *n; MSGLOG_ELIMIT when one more would
 * pass the cap. */
static int sub_room(msglog *log, store_txn *t, const peers_limits *lim, uint64_t replica,
                    uint64_t *n)
{
    uint64_t max = cap_of(lim, 1);
    int rc = peer_sub_count_get(t, replica, n);
    if (rc)
        return ml_fail(log, rc, "reading the subscription count of device %llu failed: %s",
                       (unsigned long long)replica, msglog_strerror(rc));
    if (max && *n >= max)
        return ml_fail(log, MSGLOG_ELIMIT, "device %llu has %llu subscriptions (at most %llu)",
                       (unsigned long long)replica, (unsigned long long)*n,
                       (unsigned long long)max);
    return MSGLOG_OK;
}

typedef struct ack_arg {
    const peers_limits *lim;
    uint64_t replica;
    const uint8_t *conv;
    size_t conv_len;
    const op_id *vv;
    size_t n_vv;
} ack_arg;

/* A subscription the device did not have, counted: refused past the cap. */
static int sub_new(msglog *log, store_txn *t, const ack_arg *a)
{
    uint64_t n;
    int rc = sub_room(log, t, a->lim, a->replica, &n);
    return rc ? rc : peer_sub_count_put(t, a->replica, n + 1);
}

/* Merges vv into the device's acknowledged vector of conv, subscribing it
 * when it was not; writes only when the record changes. */
static int ack_merge(msglog *log, store_txn *t, const void *arg)
{
    const ack_arg *a = arg;
    store_val user;
    int rc = peer_user_get(t, a->replica, &user);
    if (rc == MSGLOG_ENOTFOUND)
        return ml_fail(log, rc, "device %llu was never seen (no HELLO recorded)",
                       (unsigned long long)a->replica);
    if (rc)
        return rc;
    op_id *have, *merged = NULL;
    size_t n_have, n_merged = 0;
    rc = peer_acked_get(t, a->conv, a->conv_len, a->replica, &have, &n_have);
    if (rc == MSGLOG_ECORRUPT)
        return ml_fail(log, rc, "the acknowledged vector of device %llu is corrupt",
                       (unsigned long long)a->replica);
    int exists = rc == MSGLOG_OK;
    if (rc == MSGLOG_ENOTFOUND)   /* not subscribed yet: from nothing */
        rc = sub_new(log, t, a);
    if (!rc)
        rc = max_of(have, n_have, a->vv, a->n_vv, &merged, &n_merged);
    if (!rc && !(exists && vv_entries_equal(have, n_have, merged, n_merged)))
        rc = peer_acked_put(t, a->conv, a->conv_len, a->replica, merged, n_merged);
    free(have);
    free(merged);
    return rc;
}

int peers_subscribe(msglog *log, const peers_limits *lim, uint64_t replica, const uint8_t *conv,
                    size_t conv_len)
{
    return peers_device_acked(log, lim, replica, conv, conv_len, NULL, 0);
}

int peers_may_subscribe(msglog *log, const peers_limits *lim, uint64_t replica,
                        const uint8_t *conv, size_t conv_len)
{
    if (replica == 0 || !text_ok(conv, conv_len, MSGLOG_MAX_CONV))
        return ml_fail(log, MSGLOG_EINVAL, "peers_may_subscribe: bad replica or conversation");
    if (!cap_of(lim, 1))
        return ml_ok(log);
    store_txn *t;
    int rc = store_txn_begin(log->st, 0, &t);
    if (rc)
        return ml_fail(log, rc, "cannot begin a read transaction");
    op_id *have;
    size_t n;
    rc = peer_acked_get(t, conv, conv_len, replica, &have, &n);
    free(have);
    if (rc == MSGLOG_ENOTFOUND)
        rc = sub_room(log, t, lim, replica, &n);    /* names its failure */
    else if (rc)
        ml_fail(log, rc, "reading a subscription of device %llu failed: %s",
                (unsigned long long)replica, msglog_strerror(rc));
    store_txn_abort(t);
    return rc ? rc : ml_ok(log);
}

int peers_device_acked(msglog *log, const peers_limits *lim, uint64_t replica,
                       const uint8_t *conv, size_t conv_len, const op_id *vv, size_t n_vv)
{
    if (replica == 0 || !text_ok(conv, conv_len, MSGLOG_MAX_CONV) || !codec_vv_valid(vv, n_vv))
        return ml_fail(log, MSGLOG_EINVAL, "peers_device_acked: bad replica, conversation or vector");
    ack_arg a = { lim, replica, conv, conv_len, vv, n_vv };
    return peers_write(log, ack_merge, &a, "recording what a device acknowledged");
}

typedef struct hello_arg {
    device_arg device;
    const peers_conv_vv *convs;
    size_t n_convs;
} hello_arg;

/* The device and every conversation of its HELLO that this store holds, in
 * one transaction: a device listing a thousand conversations costs one
 * commit, not a thousand, and one listing conversations nobody wrote into
 * costs nothing for them. */
static int hello_put(msglog *log, store_txn *t, const void *arg)
{
    const hello_arg *h = arg;
    int rc = device_put(log, t, &h->device);
    for (size_t i = 0; i < h->n_convs && !rc; i++) {
        const peers_conv_vv *c = &h->convs[i];
        ack_arg a = { h->device.lim, h->device.replica, c->conv, c->conv_len, c->vv, c->n_vv };
        rc = conv_exists(t, c->conv, c->conv_len);
        if (rc == MSGLOG_OK)
            rc = ack_merge(log, t, &a);
        else if (rc == MSGLOG_ENOTFOUND)
            rc = MSGLOG_OK;
    }
    return rc;
}

int peers_device_hello(msglog *log, const peers_limits *lim, uint64_t replica,
                       const uint8_t *user, size_t user_len, const peers_conv_vv *convs,
                       size_t n_convs)
{
    if (replica == 0 || !text_ok(user, user_len, MSGLOG_MAX_USER) || (n_convs && !convs))
        return ml_fail(log, MSGLOG_EINVAL, "peers_device_hello: bad replica or user");
    for (size_t i = 0; i < n_convs; i++)
        if (!text_ok(convs[i].conv, convs[i].conv_len, MSGLOG_MAX_CONV) ||
            !codec_vv_valid(convs[i].vv, convs[i].n_vv))
            return ml_fail(log, MSGLOG_EINVAL, "peers_device_hello: bad conversation or vector");
    hello_arg h = { { lim, replica, user, user_len }, convs, n_convs };
    return peers_write(log, hello_put, &h, "recording a device's HELLO");
}

/* What the walk over a conversation's devices gathers into out. */
typedef struct status_walk {
    const uint8_t *user;     /* the asking user, whose devices are left out */
    size_t user_len;
    peers_status *out;
    int have_vec;            /* out->delivered_vv holds a member device's vector */
} status_walk;

/* Adds user to the members (strictly ascending) unless it is there. */
static int member_add(peers_status *st, const uint8_t *user, size_t len)
{
    size_t lo = 0, hi = st->n_members;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = bytes_cmp(st->members[mid].data, st->members[mid].len, user, len);
        if (c == 0)
            return MSGLOG_OK;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    msglog_str *arr = grow_array(st->members, &st->members_cap, st->n_members + 1, sizeof *arr);
    if (!arr)
        return MSGLOG_ENOMEM;
    st->members = arr;
    char *copy = dup_nul(user, len);
    if (!copy)
        return MSGLOG_ENOMEM;
    memmove(&arr[lo + 1], &arr[lo], (st->n_members - lo) * sizeof *arr);
    arr[lo] = (msglog_str){ copy, len };
    st->n_members++;
    return MSGLOG_OK;
}

/* One subscribed device (a peer_subscriber_fn): unless it is one of the
 * asking user's, its user joins the members and its vector the minimum. */
static int status_device(void *ctx, store_val user, store_val acked)
{
    status_walk *w = ctx;
    if (bytes_cmp(user.data, user.len, w->user, w->user_len) == 0)
        return MSGLOG_OK;
    op_id *v;
    size_t n;
    int rc = peer_acked_decode(acked, &v, &n);
    if (!rc)
        rc = member_add(w->out, user.data, user.len);
    if (rc) {
        free(v);
        return rc;
    }
    if (!w->have_vec) {     /* the first member device: the minimum so far */
        w->out->delivered_vv = v;
        w->out->n_delivered_vv = n;
        w->have_vec = 1;
        return MSGLOG_OK;
    }
    w->out->n_delivered_vv = vv_entries_min_into(w->out->delivered_vv, w->out->n_delivered_vv, v, n);
    free(v);
    return MSGLOG_OK;
}

/* The store's own vector of conv (empty when it does not hold it). */
static int own_vector(store_txn *t, const uint8_t *conv, size_t conv_len, peers_status *out)
{
    conv_state c;
    int rc = conv_lookup(t, conv, conv_len, &c);
    if (rc)
        return rc == MSGLOG_ENOTFOUND ? MSGLOG_OK : rc;
    rc = max_of(c.delivered.e, c.delivered.n, NULL, 0, &out->relay_vv, &out->n_relay_vv);
    conv_free(&c);
    return rc;
}

int peers_status_for(msglog *log, const uint8_t *conv, size_t conv_len, const uint8_t *user,
                     size_t user_len, peers_status *out)
{
    memset(out, 0, sizeof *out);
    if (!text_ok(conv, conv_len, MSGLOG_MAX_CONV) || !user || user_len == 0 ||
        user_len > MSGLOG_MAX_USER)
        return ml_fail(log, MSGLOG_EINVAL, "peers_status_for: bad conversation or user");
    store_txn *t;
    int rc = store_txn_begin(log->st, 0, &t);
    if (rc)
        return ml_fail(log, rc, "cannot begin a read transaction");
    status_walk w = { user, user_len, out, 0 };
    rc = own_vector(t, conv, conv_len, out);
    if (!rc)
        rc = peer_subscribers_foreach(t, conv, conv_len, status_device, &w);
    store_txn_abort(t);
    if (rc) {
        peers_status_clear(out);
        return ml_fail(log, rc, "computing the STATUS of a conversation failed: %s",
                       msglog_strerror(rc));
    }
    return ml_ok(log);
}

/* ---- client side -------------------------------------------------------- */

/* Takes m's vectors (m keeps nothing of them) and copies its members. */
static int status_from_codec(peers_status *st, codec_status *m)
{
    st->relay_vv = m->relay_vv;
    st->n_relay_vv = m->n_relay_vv;
    st->delivered_vv = m->delivered_vv;
    st->n_delivered_vv = m->n_delivered_vv;
    m->relay_vv = m->delivered_vv = NULL;
    m->n_relay_vv = m->n_delivered_vv = 0;
    if (m->n_members && !(st->members = calloc(m->n_members, sizeof *st->members)))
        return MSGLOG_ENOMEM;
    for (size_t i = 0; i < m->n_members; i++) {
        char *copy = dup_nul(m->members[i].data, m->members[i].len);
        if (!copy)
            return MSGLOG_ENOMEM;
        st->members[i] = (msglog_str){ copy, m->members[i].len };
        st->n_members = i + 1;
    }
    return MSGLOG_OK;
}

/* The client record of conv (all owned; empty and *found 0 when absent). */
static int client_load(store_txn *t, const uint8_t *conv, size_t conv_len, peers_status *st,
                       int *found)
{
    memset(st, 0, sizeof *st);
    *found = 0;
    codec_status m;
    int rc = peer_relay_status_get(t, conv, conv_len, &m);
    if (rc)
        return rc == MSGLOG_ENOTFOUND ? MSGLOG_OK : rc;
    rc = status_from_codec(st, &m);
    codec_status_clear(&m);
    if (rc)
        peers_status_clear(st);
    *found = !rc;
    return rc;
}

static int client_save(store_txn *t, const uint8_t *conv, size_t conv_len, const peers_status *st)
{
    codec_bytes *members = NULL;
    if (st->n_members && !(members = malloc(st->n_members * sizeof *members)))
        return MSGLOG_ENOMEM;
    for (size_t i = 0; i < st->n_members; i++)
        members[i] = (codec_bytes){ (const uint8_t *)st->members[i].data, st->members[i].len };
    codec_status m = { conv, conv_len, st->relay_vv, st->n_relay_vv, st->delivered_vv,
                       st->n_delivered_vv, members, st->n_members };
    int rc = peer_relay_status_put(t, &m);
    free(members);
    return rc;
}

typedef struct client_arg {
    const uint8_t *conv;
    size_t conv_len;
    const peers_status *in;  /* vectors to merge in */
    int replace_members;     /* 0: the stored members stay */
} client_arg;

/* Merges the vectors by entry-wise maximum (a status never goes back),
 * replaces the members when told, except by none: a STATUS naming nobody
 * (a new or reset relay) must not turn "delivered" back into "sent".
 * Writes only when the record changes. */
static int client_merge(msglog *log, store_txn *t, const void *arg)
{
    const client_arg *a = arg;
    peers_status have, next = { 0 };
    int found;
    int rc = client_load(t, a->conv, a->conv_len, &have, &found);
    if (rc == MSGLOG_ECORRUPT)
        return ml_fail(log, rc, "the stored STATUS of conversation '%.*s' is corrupt",
                       (int)a->conv_len, (const char *)a->conv);
    if (!rc)
        rc = max_of(have.relay_vv, have.n_relay_vv, a->in->relay_vv, a->in->n_relay_vv,
                     &next.relay_vv, &next.n_relay_vv);
    if (!rc)
        rc = max_of(have.delivered_vv, have.n_delivered_vv, a->in->delivered_vv,
                     a->in->n_delivered_vv, &next.delivered_vv, &next.n_delivered_vv);
    int replace = a->replace_members && (a->in->n_members > 0 || have.n_members == 0);
    const peers_status *members = replace ? a->in : &have;
    next.members = members->members;     /* borrowed, not freed below */
    next.n_members = members->n_members;
    if (!rc && !(found && peers_status_equal(&have, &next)))
        rc = client_save(t, a->conv, a->conv_len, &next);
    free(next.relay_vv);
    free(next.delivered_vv);
    peers_status_clear(&have);
    return rc;
}

int peers_relay_acked(msglog *log, const uint8_t *conv, size_t conv_len, const op_id *vv,
                      size_t n_vv)
{
    if (!text_ok(conv, conv_len, MSGLOG_MAX_CONV) || !codec_vv_valid(vv, n_vv))
        return ml_fail(log, MSGLOG_EINVAL, "peers_relay_acked: bad conversation or vector");
    peers_status in = { 0 };
    in.relay_vv = (op_id *)vv;
    in.n_relay_vv = n_vv;
    client_arg a = { conv, conv_len, &in, 0 };
    return peers_write(log, client_merge, &a, "recording the relay's ACK");
}

int peers_status_store(msglog *log, const uint8_t *conv, size_t conv_len, const peers_status *st)
{
    if (!text_ok(conv, conv_len, MSGLOG_MAX_CONV) || !st || !status_valid(st))
        return ml_fail(log, MSGLOG_EINVAL, "peers_status_store: bad conversation or STATUS");
    client_arg a = { conv, conv_len, st, 1 };
    return peers_write(log, client_merge, &a, "storing a STATUS");
}

/* ---- the public delivery status (docs/protocol.md, section 7) ----------- */

static int delivery_status(store_txn *t, const uint8_t *conv, size_t conv_len, op_id id, int *out)
{
    conv_state c;
    int rc = conv_lookup(t, conv, conv_len, &c);
    if (rc)
        return rc;
    uint64_t hlc;
    msg_state m;
    rc = msgrec_load(t, c.cid, id, &hlc, &m);   /* delivered here, and where */
    if (!rc)
        msg_free(&m);
    peers_status st;
    int found;
    if (!rc)
        rc = client_load(t, conv, conv_len, &st, &found);
    if (!rc) {
        status_facts f = { st.relay_vv, st.n_relay_vv, st.delivered_vv, st.n_delivered_vv,
                           st.members, st.n_members };
        *out = status_of_message(&f, &c, hlc, id);
        peers_status_clear(&st);
    }
    conv_free(&c);
    return rc;
}

int msglog_delivery_status(msglog *log, int *out, const char *conv, size_t conv_len, msglog_id id)
{
    if (!log)
        return MSGLOG_EINVAL;
    if (!out || !conv || conv_len == 0 || conv_len > MSGLOG_MAX_CONV)
        return ml_fail(log, MSGLOG_EINVAL, "msglog_delivery_status: bad argument");
    store_txn *t;
    int rc = store_txn_begin(log->st, 0, &t);
    if (rc)
        return ml_fail(log, rc, "cannot begin a read transaction");
    rc = delivery_status(t, (const uint8_t *)conv, conv_len, (op_id){ id.replica, id.seq }, out);
    store_txn_abort(t);
    if (rc == MSGLOG_ENOTFOUND)
        return ml_fail(log, rc, "message %llu.%llu is not delivered here",
                       (unsigned long long)id.replica, (unsigned long long)id.seq);
    if (rc)
        return ml_fail(log, rc, "reading the delivery status failed: %s", msglog_strerror(rc));
    return ml_ok(log);
}
