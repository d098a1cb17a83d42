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

/* Above this, an emptied buffer gives its memory back (sbuf_trim). */
#define SBUF_KEEP (64u * 1024)

void sbuf_trim(sbuf *b)
{
    if (b->n == 0 && b->cap > SBUF_KEEP) {
        free(b->p);
        b->p = NULL;
        b->cap = 0;
    }
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
    s->err_code = code;
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
    session_fail(s, code, MSGLOG_ENET, "%s", reason);
}

void session_close_replaced(session *s, const char *reason)
{
    session_close_with(s, SESSION_ERR_REPLACED, reason);
}

void session_close_internal(session *s, const char *reason)
{
    session_close_with(s, SESSION_ERR_INTERNAL, reason);
}

void session_close_limit(session *s, const char *reason)
{
    session_fail(s, SESSION_ERR_LIMIT, MSGLOG_ELIMIT, "%s", reason);
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

/* The batch budget this side asks for. A paced side asks for no more than
 * a quarter of its room (at least ASKED_BUDGET_MIN): a batch is staged
 * while its next frame arrives, and both must fit the connection's share. */
#define ASKED_BUDGET_MIN (16u * 1024)

static size_t asked_budget(const session *s)
{
    size_t quarter = session_room(s) / 4;
    if (quarter < ASKED_BUDGET_MIN)
        quarter = ASKED_BUDGET_MIN;
    return quarter < s->budget ? quarter : s->budget;
}

/* The client lists its conversations of interest; the relay lists those it
 * holds of the client's, and with all_convs every one it holds. Both come
 * from s->convs, sorted as HELLO requires. */
static int send_hello(session *s, int relay_side)
{
    codec_hello h = { s->log->replica, s->log->user, s->log->user_len, asked_budget(s),
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
    int rc = peers_device_hello(s->log, &s->limits, h->replica, h->user, h->user_len, convs,
                                h->n_convs);
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
    if (s->role == SESSION_ROLE_RELAY && s->limits.max_subs && h.n_convs > s->limits.max_subs) {
        size_t n = h.n_convs;
        codec_hello_clear(&h);
        return session_fail(s, SESSION_ERR_LIMIT, MSGLOG_ELIMIT, "a HELLO listing %zu "
                            "conversations (at most %llu per device)", n,
                            (unsigned long long)s->limits.max_subs);
    }
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
                            rc == MSGLOG_ELIMIT ? msglog_errmsg(s->log) : msglog_strerror(rc));
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
    char name[32];
    if (rc)
        return session_fail(s, 0, MSGLOG_ENET, "the peer sent an ERROR that does not decode");
    if (strcmp(session_error_name(e.code), "unknown") != 0)
        snprintf(name, sizeof name, "%s", session_error_name(e.code));
    else
        snprintf(name, sizeof name, "%llu", (unsigned long long)e.code);
    rc = session_fail(s, 0, MSGLOG_ENET, "the peer ended the session with ERROR %s: %.*s", name,
                      (int)e.reason_len, (const char *)e.reason);
    s->err_code = e.code;
    s->err_received = 1;
    return rc;
}

static int on_message(session *s, const uint8_t *buf, size_t len)
{
    uint64_t type;
    int rc = codec_session_type(buf, len, &type);
    if (rc)
        return session_fail(s, code_of(rc), rc, "a message of unknown type or version");
    /* Every message but a batch's frame writes to the store or answers;
     * the batch's last frame ends the turn when it commits (session_in.c). */
    if (type != SESSION_BATCH)
        s->turn_over = 1;
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

/* Whether a paced session must leave the frames it holds for a later turn:
 * it did its turn of work, or a WANT answer comes first. */
static int frames_wait(const session *s)
{
    return s->room && (s->turn_over || s->job.active);
}

/* Handles the whole frames in s->in (all, or a turn's worth when paced) and
 * keeps the rest. */
static int take_frames(session *s)
{
    size_t at = 0;
    int rc = MSGLOG_OK;
    while (!rc && s->phase != SESSION_PHASE_CLOSED && !frames_wait(s) && at < s->in.n) {
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
    if (at) {
        memmove(s->in.p, s->in.p + at, s->in.n - at);
        s->in.n -= at;
        sbuf_trim(&s->in);
    }
    return rc;
}

int session_feed(session *s, const uint8_t *data, size_t len)
{
    if (!s || (!data && len))
        return MSGLOG_EINVAL;
    if (s->phase == SESSION_PHASE_CLOSED)
        return MSGLOG_OK;
    s->turn_over = 0;
    int rc = take_frames(s);    /* what an earlier turn left comes first */
    /* Whole frames are taken as soon as they are in, so the buffer holds at
     * most one frame and the bytes of the next; once the turn is over, the
     * rest is kept whole for the next one (the transport reads no more
     * meanwhile, so that is at most one read). */
    while (!rc && len && s->phase != SESSION_PHASE_CLOSED) {
        size_t n = len;
        if (!frames_wait(s)) {
            size_t room = SESSION_FRAME_HEADER + SESSION_MAX_FRAME - s->in.n;
            n = len < room ? len : room;
        }
        if (sbuf_append(&s->in, data, n))
            return session_fail(s, SESSION_ERR_INTERNAL, MSGLOG_ENOMEM, "out of memory");
        data += n;
        len -= n;
        rc = take_frames(s);
    }
    return rc;
}

/* ---- pacing ------------------------------------------------------------- */

void session_set_pacing(session *s, session_room_fn room, void *ctx)
{
    s->room = room;
    s->room_ctx = ctx;
}

size_t session_room(const session *s)
{
    return s->room ? s->room(s->room_ctx) : SIZE_MAX;
}

/* Whether s->in starts with a whole frame (or one over the limit, which
 * the next turn refuses). */
static int frame_waiting(const session *s)
{
    size_t flen;
    return s->in.n && codec_session_frame(s->in.p, s->in.n, &flen) != CODEC_FRAME_MORE;
}

int session_input_waiting(const session *s)
{
    return s->phase != SESSION_PHASE_CLOSED && (s->job.active || frame_waiting(s));
}

int session_busy(const session *s)
{
    return session_input_waiting(s) || (s->phase == SESSION_PHASE_OPEN && s->owed);
}

int session_turn_over(const session *s)
{
    return s->room && s->turn_over;
}

int session_continue(session *s)
{
    if (!s)
        return MSGLOG_EINVAL;
    if (s->phase == SESSION_PHASE_CLOSED)
        return MSGLOG_OK;
    s->turn_over = 0;
    int rc = MSGLOG_OK;
    if (s->job.active) {
        rc = versions_continue(s);
        s->turn_over = 1;
        if (rc)
            return session_fail(s, SESSION_ERR_INTERNAL, rc, "cannot answer a WANT: %s",
                                msglog_strerror(rc));
        if (s->job.active)
            return MSGLOG_OK;
    }
    if (s->phase == SESSION_PHASE_OPEN) {
        s->owed = 0;
        rc = status_continue(s);
        if (!rc)
            rc = out_pump(s);
    }
    return rc ? rc : take_frames(s);
}

size_t session_held_input(const session *s)
{
    const staging *st = &s->in_batch;
    return s->in.n + st->bytes.n + st->n * sizeof *st->lens + s->job.n * sizeof *s->job.ids +
           s->n_fl * sizeof *s->fl;
}

size_t session_held_output(const session *s)
{
    return s->out.n;
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
    s->max_clock_ahead_ms = cfg->role == SESSION_ROLE_RELAY ? cfg->max_clock_ahead_ms : 0;
    s->limits = (peers_limits){ cfg->max_subs, cfg->max_devices };
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
    versions_clear(s);
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
        session_fail(s, 0, MSGLOG_ENET, "the connection closed");
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
    sbuf_trim(&s->out);
}

uint8_t *session_take_output(session *s, size_t *len)
{
    uint8_t *p = s->out.p;
    *len = s->out.n;
    if (s->out.n == 0)
        return NULL;
    /* Growth by doubling may have left up to as much again unused. */
    uint8_t *fit = realloc(p, s->out.n);
    s->out = (sbuf){ 0 };
    return fit ? fit : p;
}

int session_keepalive(session *s)
{
    static const uint8_t empty[SESSION_FRAME_HEADER];   /* N = 0 */
    return sbuf_append(&s->out, empty, sizeof empty);
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

const char *session_error_name(uint64_t code)
{
    switch (code) {
    case SESSION_ERR_VERSION: return "version";
    case SESSION_ERR_TYPE: return "type";
    case SESSION_ERR_CORRUPT: return "corrupt";
    case SESSION_ERR_LIMIT: return "limit";
    case SESSION_ERR_PROTOCOL: return "protocol";
    case SESSION_ERR_INTERNAL: return "internal";
    case SESSION_ERR_REPLACED: return "replaced";
    default: return "unknown";
    }
}

session_end session_end_of(const session *s)
{
    session_end e = { 0, NULL, 0, 0, 0 };

    if (!s)
        return e;
    e.peer_replica = s->peer_replica;
    if (!s->err_code)
        return e;
    e.error_name = session_error_name(s->err_code);
    e.error_received = s->err_received;
    e.refused = !s->err_received && s->err_code >= SESSION_ERR_VERSION &&
                s->err_code <= SESSION_ERR_PROTOCOL;
    e.local_failure = !s->err_received && s->err_code == SESSION_ERR_INTERNAL;
    return e;
}

uint64_t session_digest_mismatches(const session *s)
{
    return s->digest_mismatches;
}
