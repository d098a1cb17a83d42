/* The session engine's lifecycle, framing, dispatch and HELLO
 * (docs/protocol.md, sections 1, 2 and 3.1). */
#include "sync/session_int.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crdt/bytes.h"
#include "crdt/grow.h"

#define DEFAULT_BUDGET (256u * 1024)
#define DEFAULT_WINDOW 8u

/* ---- buffers and conversations ----------------------------------------- */

int sbuf_append(sbuf *b, const void *p, size_t n)
{
    if (n > SIZE_MAX - b->n)
        return MSGLOG_ENOMEM;
    size_t need = b->n + n < 4096 ? 4096 : b->n + n;
    uint8_t *q = grow_array(b->p, &b->cap, need, 1);
    if (!q)
        return MSGLOG_ENOMEM;
    b->p = q;
    if (n)
        memcpy(b->p + b->n, p, n);
    b->n += n;
    return MSGLOG_OK;
}

int session_check_backlog(session *s, const char *what)
{
    if (s->out.n <= MAX_INFLIGHT_BYTES)
        return MSGLOG_OK;
    return session_fail(s, SESSION_ERR_LIMIT, MSGLOG_ELIMIT,
                        "a %s with %zu bytes of output not yet taken", what, s->out.n);
}

/* The index where `name` is or would be inserted. */
static size_t conv_index(const session *s, const uint8_t *name, size_t len, int *found)
{
    size_t lo = 0, hi = s->n_convs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = bytes_cmp(s->convs[mid]->name, s->convs[mid]->len, name, len);
        if (c == 0) {
            *found = 1;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = 0;
    return lo;
}

static int conv_insert(session *s, size_t at, sconv *c)
{
    sconv **p = grow_array(s->convs, &s->cap_convs, s->n_convs + 1, sizeof *p);
    if (!p)
        return MSGLOG_ENOMEM;
    s->convs = p;
    memmove(&s->convs[at + 1], &s->convs[at], (s->n_convs - at) * sizeof *s->convs);
    s->convs[at] = c;
    s->n_convs++;
    return MSGLOG_OK;
}

sconv *session_conv(session *s, const uint8_t *name, size_t len, int create)
{
    int found;
    size_t at = conv_index(s, name, len, &found);
    if (found)
        return s->convs[at];
    if (!create || len == 0 || len > MSGLOG_MAX_CONV)
        return NULL;
    /* Every frame naming a new conversation makes one: a peer must not
     * grow the list (and its linear inserts) without end. */
    if (s->n_convs >= SESSION_MAX_CONVS) {
        session_fail(s, SESSION_ERR_LIMIT, MSGLOG_ELIMIT,
                     "more than %u conversations in one session", SESSION_MAX_CONVS);
        return NULL;
    }
    sconv *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    memcpy(c->name, name, len);
    c->len = len;
    if (conv_insert(s, at, c) != MSGLOG_OK) {
        free(c);
        return NULL;
    }
    return c;
}

int session_conv_failed(const session *s)
{
    return s->phase == SESSION_PHASE_CLOSED && s->err ? s->err : MSGLOG_ENOMEM;
}

static void sconv_free(sconv *c)
{
    stream_close(c->out);
    vv_free(&c->peer_has);
    vv_free(&c->peer_dig_vv);
    peers_status_clear(&c->sent_status);
    free(c);
}

int session_own_state(session *s, const uint8_t *name, size_t len, vv *out,
                      uint8_t dig[OP_HASH_LEN])
{
    memset(out, 0, sizeof *out);
    memset(dig, 0, OP_HASH_LEN);
    store_txn *t;
    int rc = store_txn_begin(s->log->st, 0, &t);
    if (rc)
        return rc;
    conv_state c;
    rc = conv_lookup(t, name, len, &c);
    store_txn_abort(t);
    if (rc == MSGLOG_ENOTFOUND)
        return MSGLOG_OK;
    if (rc)
        return rc;
    *out = c.delivered;
    c.delivered = (vv){ 0 };
    digest_to_bytes(dig, c.dig);
    conv_free(&c);
    return MSGLOG_OK;
}

/* ---- output and errors -------------------------------------------------- */

int session_queue(session *s, uint8_t *msg, size_t len, int enc_rc)
{
    uint8_t head[SESSION_FRAME_HEADER];
    int rc = enc_rc;
    if (!rc)
        rc = codec_session_frame_header(head, len);
    if (!rc)
        rc = sbuf_append(&s->out, head, sizeof head);
    if (!rc)
        rc = sbuf_append(&s->out, msg, len);
    free(msg);
    return rc;
}

static void queue_error(session *s, uint64_t code, const char *reason)
{
    size_t n = strlen(reason);
    codec_error m = { code, (const uint8_t *)reason, n > SESSION_MAX_REASON ? SESSION_MAX_REASON : n };
    uint8_t *buf = NULL;
    size_t len = 0;
    int rc = codec_error_encode(&buf, &len, &m);
    session_queue(s, buf, len, rc);   /* best effort: the session closes anyway */
}

int session_fail(session *s, uint64_t code, int rc, const char *fmt, ...)
{
    if (s->phase == SESSION_PHASE_CLOSED)
        return rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->errmsg, sizeof s->errmsg, fmt, ap);
    va_end(ap);
    s->err = rc;
    if (code)
        queue_error(s, code, s->errmsg);
    s->phase = SESSION_PHASE_CLOSED;
    in_drop_staging(s);
    return rc;
}

const char *session_store_why(const session *s, int rc)
{
    const char *damage = store_damage(s->log->st);
    return rc == MSGLOG_ECORRUPT && *damage ? damage : msglog_strerror(rc);
}

void session_close_with(session *s, uint64_t code, const char *reason)
{
    session_fail(s, code, MSGLOG_EIO, "%s", reason);
}

void session_close_replaced(session *s, const char *reason)
{
    session_close_with(s, SESSION_ERR_REPLACED, reason);
}

void session_close_internal(session *s, const char *reason)
{
    session_close_with(s, SESSION_ERR_INTERNAL, reason);
}

/* The ERROR code for a failure of the local store or a decoder. */
static uint64_t code_of(int rc)
{
    switch (rc) {
    case MSGLOG_EVERSION:
        return SESSION_ERR_VERSION;
    case MSGLOG_EKIND:
        return SESSION_ERR_TYPE;
    case MSGLOG_ELIMIT:
        return SESSION_ERR_LIMIT;
    case MSGLOG_ECORRUPT:
        return SESSION_ERR_CORRUPT;
    case MSGLOG_EMISMATCH:          /* a replica id seen before with another user */
        return SESSION_ERR_PROTOCOL;
    default:
        return SESSION_ERR_INTERNAL;
    }
}

/* ---- HELLO -------------------------------------------------------------- */

static void hello_clear(codec_hello *h)
{
    for (size_t i = 0; i < h->n_convs; i++)
        free(h->convs[i].vv);
    free(h->convs);
    h->convs = NULL;
    h->n_convs = 0;
}

/* Appends conversation c with this store's vector and digest; with
 * `held_only`, nothing when the store does not hold it. */
static int hello_add(codec_hello *h, session *s, const sconv *c, int held_only)
{
    vv v;
    uint8_t dig[OP_HASH_LEN];
    int rc = session_own_state(s, c->name, c->len, &v, dig);
    if (rc || (held_only && v.n == 0)) {
        vv_free(&v);
        return rc;
    }
    codec_hello_conv *p = h->convs;   /* room for every conversation */
    p[h->n_convs++] = (codec_hello_conv){ c->name, c->len, v.e, v.n, { 0 } };
    memcpy(p[h->n_convs - 1].digest, dig, OP_HASH_LEN);
    return MSGLOG_OK;
}

/* The client lists its conversations of interest; the relay lists those it
 * holds of the client's, and with all_convs every one it holds. Both come
 * from s->convs, sorted as HELLO requires. */
static int send_hello(session *s, int relay_side)
{
    codec_hello h = { s->log->replica, s->log->user, s->log->user_len, s->budget,
                      s->window, s->all_convs, NULL, 0 };
    int rc = MSGLOG_OK;
    if (s->n_convs && !(h.convs = calloc(s->n_convs, sizeof *h.convs)))
        return MSGLOG_ENOMEM;
    for (size_t i = 0; i < s->n_convs && !rc; i++)
        rc = hello_add(&h, s, s->convs[i], relay_side);
    if (!rc) {
        uint8_t *buf = NULL;
        size_t len = 0;
        rc = codec_hello_encode(&buf, &len, &h);
        rc = session_queue(s, buf, len, rc);
    }
    hello_clear(&h);
    return rc;
}

/* Adds every conversation the store holds to s->convs. */
static int add_store_conv(void *ctx, const uint8_t *name, size_t len)
{
    return session_conv(ctx, name, len, 1) ? MSGLOG_OK : MSGLOG_ENOMEM;
}

static int add_all_store_convs(session *s)
{
    store_txn *t;
    int rc = store_txn_begin(s->log->st, 0, &t);
    if (rc)
        return rc;
    rc = conv_foreach(t, add_store_conv, s);
    store_txn_abort(t);
    return rc;
}

static void take_peer_identity(session *s, const codec_hello *h)
{
    s->peer_replica = h->replica;
    memcpy(s->peer_user, h->user, h->user_len);
    s->peer_user[h->user_len] = 0;
    s->peer_user_len = h->user_len;
    s->peer_budget = h->budget;
    s->peer_window = (unsigned)h->window;
    if ((uint64_t)s->peer_window * h->budget > MAX_INFLIGHT_BYTES)
        s->peer_window = h->budget >= MAX_INFLIGHT_BYTES ? 1 : MAX_INFLIGHT_BYTES / h->budget;
    s->peer_all = h->all_convs;
}

/* Relay: the device, its user and what it holds of each conversation it
 * lists (its acknowledged vectors; listing subscribes it), in one commit. */
static int record_device(session *s, const codec_hello *h)
{
    peers_conv_vv *convs = h->n_convs ? malloc(h->n_convs * sizeof *convs) : NULL;
    if (h->n_convs && !convs)
        return MSGLOG_ENOMEM;
    for (size_t i = 0; i < h->n_convs; i++)
        convs[i] = (peers_conv_vv){ h->convs[i].conv, h->convs[i].conv_len, h->convs[i].vv,
                                    h->convs[i].n_vv };
    int rc = peers_device_hello(s->log, h->replica, h->user, h->user_len, convs, h->n_convs);
    free(convs);
    return rc;
}

/* Notes what the peer's HELLO says it holds of each conversation it lists. */
static int take_peer_convs(session *s, const codec_hello *h)
{
    for (size_t i = 0; i < h->n_convs; i++) {
        const codec_hello_conv *e = &h->convs[i];
        sconv *c = session_conv(s, e->conv, e->conv_len, 1);
        if (!c)
            return session_conv_failed(s);
        c->peer_wants = 1;
        int rc = vv_merge(&c->peer_has, e->vv, e->n_vv) ? MSGLOG_ENOMEM : MSGLOG_OK;
        if (!rc) {
            vv_free(&c->peer_dig_vv);
            rc = vv_merge(&c->peer_dig_vv, e->vv, e->n_vv) ? MSGLOG_ENOMEM : MSGLOG_OK;
        }
        if (rc)
            return rc;
        memcpy(c->peer_dig, e->digest, OP_HASH_LEN);
        c->has_peer_dig = 1;
    }
    return MSGLOG_OK;
}

static int on_hello(session *s, const uint8_t *buf, size_t len)
{
    if (s->phase != SESSION_PHASE_HELLO)
        return session_fail(s, SESSION_ERR_PROTOCOL, MSGLOG_ECORRUPT, "a second HELLO");
    codec_hello h;
    int rc = codec_hello_decode(&h, buf, len);
    if (rc)
        return session_fail(s, code_of(rc), rc, "a HELLO that does not decode: %s",
                            msglog_strerror(rc));
    take_peer_identity(s, &h);
    rc = s->role == SESSION_ROLE_RELAY ? record_device(s, &h) : MSGLOG_OK;
    if (!rc)
        rc = take_peer_convs(s, &h);
    if (!rc && s->role == SESSION_ROLE_RELAY && h.all_convs)
        rc = add_all_store_convs(s);
    codec_hello_clear(&h);
    if (!rc && s->role == SESSION_ROLE_RELAY)
        rc = send_hello(s, 1);
    if (rc)
        return session_fail(s, code_of(rc), rc, "cannot take the peer's HELLO: %s",
                            msglog_strerror(rc));
    s->phase = SESSION_PHASE_OPEN;
    if (s->hooks.hello)
        s->hooks.hello(s->hooks.ctx, s);
    for (size_t i = 0; i < s->n_convs && s->role == SESSION_ROLE_RELAY; i++)
        if ((rc = session_refresh_status(s, s->convs[i]->name, s->convs[i]->len)))
            return rc;
    for (size_t i = 0; i < s->n_convs && s->role == SESSION_ROLE_CLIENT; i++)
        if ((rc = status_check_digest(s, s->convs[i])))
            return rc;
    return out_pump(s);
}

/* ---- dispatch ----------------------------------------------------------- */

static int on_error(session *s, const uint8_t *buf, size_t len)
{
    codec_error e;
    int rc = codec_error_decode(&e, buf, len);
    if (rc)
        return session_fail(s, 0, MSGLOG_EIO, "the peer sent an ERROR that does not decode");
    return session_fail(s, 0, MSGLOG_EIO, "the peer closed the session: error %llu (%.*s)",
                        (unsigned long long)e.code, (int)e.reason_len, (const char *)e.reason);
}

static int on_message(session *s, const uint8_t *buf, size_t len)
{
    uint64_t type;
    int rc = codec_session_type(buf, len, &type);
    if (rc)
        return session_fail(s, code_of(rc), rc, "a message of unknown type or version");
    if (type == SESSION_ERROR)
        return on_error(s, buf, len);
    if (type == SESSION_HELLO)
        return on_hello(s, buf, len);
    if (s->phase != SESSION_PHASE_OPEN)
        return session_fail(s, SESSION_ERR_PROTOCOL, MSGLOG_ECORRUPT, "a message before HELLO");
    switch (type) {
    case SESSION_BATCH:
        return in_on_batch(s, buf, len);
    case SESSION_ACK:
        return out_on_ack(s, buf, len);
    case SESSION_STATUS:
        return status_on_status(s, buf, len);
    case SESSION_REPAIR:
        return repair_on_repair(s, buf, len);
    case SESSION_WANT:
        return repair_on_want(s, buf, len);
    default:
        return session_fail(s, SESSION_ERR_PROTOCOL, MSGLOG_ECORRUPT, "an unexpected message");
    }
}

/* Handles every whole frame in s->in and keeps the rest. */
static int take_frames(session *s)
{
    size_t at = 0;
    int rc = MSGLOG_OK;
    while (!rc && s->phase != SESSION_PHASE_CLOSED) {
        size_t flen;
        int fr = codec_session_frame(s->in.p + at, s->in.n - at, &flen);
        if (fr == CODEC_FRAME_MORE)
            break;
        if (fr)
            return session_fail(s, SESSION_ERR_LIMIT, MSGLOG_ELIMIT,
                                "a frame over %u bytes (is the peer a msglog relay or device?)",
                                SESSION_MAX_FRAME);
        if (flen > SESSION_FRAME_HEADER)
            rc = on_message(s, s->in.p + at + SESSION_FRAME_HEADER, flen - SESSION_FRAME_HEADER);
        at += flen;
    }
    memmove(s->in.p, s->in.p + at, s->in.n - at);
    s->in.n -= at;
    return rc;
}

int session_feed(session *s, const uint8_t *data, size_t len)
{
    if (!s || (!data && len))
        return MSGLOG_EINVAL;
    if (s->phase == SESSION_PHASE_CLOSED)
        return MSGLOG_OK;
    /* Whole frames are taken as soon as they are in, so the buffer never
     * holds more than one frame and the bytes of the next. */
    while (len && s->phase != SESSION_PHASE_CLOSED) {
        size_t room = SESSION_FRAME_HEADER + SESSION_MAX_FRAME - s->in.n;
        size_t n = len < room ? len : room;
        if (sbuf_append(&s->in, data, n))
            return session_fail(s, SESSION_ERR_INTERNAL, MSGLOG_ENOMEM, "out of memory");
        data += n;
        len -= n;
        int rc = take_frames(s);
        if (rc)
            return rc;
    }
    return MSGLOG_OK;
}

/* ---- lifecycle ---------------------------------------------------------- */

static int add_listed_convs(session *s, const session_config *cfg)
{
    if (cfg->n_convs == 0 && cfg->all_convs)
        return add_all_store_convs(s);
    for (size_t i = 0; i < cfg->n_convs; i++) {
        const msglog_str *n = &cfg->convs[i];
        if (!n->data || n->len == 0 || n->len > MSGLOG_MAX_CONV)
            return MSGLOG_EINVAL;
        if (!session_conv(s, (const uint8_t *)n->data, n->len, 1))
            return MSGLOG_ENOMEM;
    }
    return MSGLOG_OK;
}

int session_new(session **out, msglog *log, const session_config *cfg)
{
    if (!out || !log || !cfg ||
        (cfg->role != SESSION_ROLE_CLIENT && cfg->role != SESSION_ROLE_RELAY) ||
        cfg->budget > SESSION_MAX_FRAME || cfg->window > SESSION_MAX_WINDOW ||
        (cfg->n_convs && !cfg->convs))
        return MSGLOG_EINVAL;
    *out = NULL;
    session *s = calloc(1, sizeof *s);
    if (!s)
        return MSGLOG_ENOMEM;
    s->log = log;
    s->role = cfg->role;
    s->budget = cfg->budget ? cfg->budget : DEFAULT_BUDGET;
    s->window = cfg->window ? cfg->window : DEFAULT_WINDOW;
    s->hooks = cfg->hooks;
    s->all_convs = cfg->role == SESSION_ROLE_CLIENT && cfg->all_convs;
    s->next_batch_no = 1;
    int rc = MSGLOG_OK;
    if (s->role == SESSION_ROLE_CLIENT) {
        rc = add_listed_convs(s, cfg);
        if (!rc)
            rc = send_hello(s, 0);
    }
    if (rc) {
        session_free(s);
        return rc;
    }
    *out = s;
    return MSGLOG_OK;
}

void session_free(session *s)
{
    if (!s)
        return;
    in_drop_staging(s);
    for (size_t i = 0; i < s->n_convs; i++)
        sconv_free(s->convs[i]);
    free(s->convs);
    free(s->fl);
    free(s->in.p);
    free(s->out.p);
    free(s->in_batch.bytes.p);
    free(s->in_batch.lens);
    free(s);
}

void session_disconnected(session *s)
{
    if (s && s->phase != SESSION_PHASE_CLOSED)
        session_fail(s, 0, MSGLOG_EIO, "the connection closed");
}

/* ---- queries ------------------------------------------------------------ */

void session_output(const session *s, const uint8_t **data, size_t *len)
{
    *data = s->out.p;
    *len = s->out.n;
}

void session_consume(session *s, size_t n)
{
    if (n > s->out.n)
        n = s->out.n;
    if (n == 0)
        return;
    memmove(s->out.p, s->out.p + n, s->out.n - n);
    s->out.n -= n;
}

int session_phase(const session *s)
{
    return s->phase;
}

uint64_t session_peer_replica(const session *s)
{
    return s->peer_replica;
}

const uint8_t *session_peer_user(const session *s, size_t *len)
{
    *len = s->peer_user_len;
    return s->peer_user_len ? s->peer_user : NULL;
}

int session_wants(const session *s, const uint8_t *conv, size_t conv_len)
{
    if (s->phase != SESSION_PHASE_OPEN)
        return 0;
    if (s->peer_all)
        return 1;
    int found;
    size_t at = conv_index(s, conv, conv_len, &found);
    return found && s->convs[at]->peer_wants;
}

int session_error(const session *s)
{
    return s->err;
}

const char *session_errmsg(const session *s)
{
    return s->errmsg;
}

uint64_t session_digest_mismatches(const session *s)
{
    return s->digest_mismatches;
}
