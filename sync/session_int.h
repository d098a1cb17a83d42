/* What the files of the session engine share (sync/session*.c). The engine
 * is in four parts: session.c (lifecycle, framing, dispatch, HELLO),
 * session_out.c (streams to the peer, ACKs received), session_in.c (batches
 * received, ACKs sent) and session_status.c (STATUS, digest checks). */
#ifndef MSGLOG_SYNC_SESSION_INT_H
#define MSGLOG_SYNC_SESSION_INT_H

#include "codec/session_codec.h"
#include "engine/engine.h"
#include "sync/peers.h"
#include "sync/session.h"
#include "sync/stream.h"

/* A growable byte buffer. */
typedef struct sbuf {
    uint8_t *p;
    size_t n, cap;
} sbuf;

/* One conversation the session carries, either way. */
typedef struct sconv {
    uint8_t name[MSGLOG_MAX_CONV];
    size_t len;
    int peer_wants;          /* listed in the peer's HELLO, or batches seen */
    stream *out;             /* the stream to the peer; NULL until opened */
    int drained;             /* the stream had nothing more at last look */
    vv peer_has;             /* the most the peer is known to hold */
    vv peer_dig_vv;          /* the peer's vector when it sent peer_dig */
    uint8_t peer_dig[OP_HASH_LEN];
    int has_peer_dig;
    int dig_checked;         /* a mismatch at peer_dig_vv was counted */
    int repair_started;      /* client: at most one repair per session */
    peers_status sent_status;   /* relay: the last STATUS sent */
    int status_sent;
    int status_owed;         /* relay: a STATUS waits for room */
} sconv;

/* A batch sent and not yet acknowledged. */
typedef struct inflight {
    uint64_t batch_no;
    sconv *conv;
} inflight;

/* The batch being received (its frames so far). */
typedef struct staging {
    int active;
    uint64_t batch_no;
    sconv *conv;
    sbuf bytes;              /* the ops' bytes, back to back */
    size_t *lens;
    size_t n, cap;
} staging;

/* Every version of some ids, being sent: a WANT's answer, or what a REPAIR
 * listing shows the peer lacks (session_versions.c). Paced, it goes on only
 * while the transport has room, so one WANT of a large conversation is
 * answered a batch at a time as the peer reads. */
typedef struct versions_job {
    int active;
    sconv *conv;
    op_id *ids;              /* owned; ascending, duplicates allowed */
    size_t n, next;
    int then_repair;         /* a WANT's answer ends with an empty REPAIR */
} versions_job;

struct session {
    msglog *log;
    int role;
    size_t budget;
    unsigned window;
    session_hooks hooks;
    peers_limits limits;     /* relay: the caps of sync/peers.c */
    int all_convs;           /* client: asked for every conversation */
    uint64_t max_clock_ahead_ms;   /* relay: 0, or refuse ops this far ahead */
    int phase;
    int err;
    char errmsg[256];
    uint64_t err_code;       /* the ERROR that ended it (0: none) */
    int err_received;        /* it came from the peer */

    uint64_t peer_replica;
    uint8_t peer_user[MSGLOG_MAX_USER + 1];
    size_t peer_user_len;
    size_t peer_budget;
    unsigned peer_window;
    int peer_all;

    sconv **convs;           /* sorted by name, bytewise */
    size_t n_convs, cap_convs;

    uint64_t next_batch_no;
    inflight *fl;            /* oldest first; streams keep at most the
                                peer's window, repair batches may add more */
    size_t n_fl, cap_fl;

    uint64_t last_batch_in;  /* the last batch number received whole */
    staging in_batch;

    sbuf in, out;
    uint64_t digest_mismatches;
    size_t repair_wait;      /* REPAIRs and WANTs sent, not yet answered */

    versions_job job;
    session_room_fn room;    /* paced when set (session_set_pacing) */
    void *room_ctx;
    int turn_over;           /* this call did its turn of work */
    int owed;                /* streams or STATUS stopped for room */
    size_t n_status_owed;    /* convs with status_owed */
};

/* ---- session.c ---------------------------------------------------------- */
int sbuf_append(sbuf *b, const void *p, size_t n);

/* The most op bytes this side keeps in flight to one peer, whatever window
 * and budget the peer asks for: a relay serves many devices, and a device
 * asking for 64 batches of 4 MiB must not make it buffer 256 MiB. Answers
 * to REPAIR and WANT are refused while more output than this is queued. */
#define MAX_INFLIGHT_BYTES (16u * 1024 * 1024)

/* Refuses (ERROR limit) a request whose answer would be queued behind more
 * than MAX_INFLIGHT_BYTES of output the transport has not taken: a peer
 * that asks without reading must not grow our buffer. @return 0 or rc. */
int session_check_backlog(session *s, const char *what);
/* Frames an encoded message (takes `msg`, malloc'd, and frees it). */
int session_queue(session *s, uint8_t *msg, size_t len, int enc_rc);
/* Records the failure, queues ERROR `code` with the message, closes;
 * returns rc. */
int session_fail(session *s, uint64_t code, int rc, const char *fmt, ...) ML_PRINTF(4, 5);
/* The ERROR code for a failed write of what the peer said (a subscription,
 * an ACK): limit when a cap refused it, else internal. */
static inline uint64_t session_store_code(int rc)
{
    return rc == MSGLOG_ELIMIT ? SESSION_ERR_LIMIT : SESSION_ERR_INTERNAL;
}

/* The text of a failure rc of this side's store: the damaged record's name
 * when a read found one ("ops record 3.17 of conversation team is damaged
 * (checksum)", log/damage.h), else msglog_strerror(rc). It goes into the
 * ERROR, so the peer learns why too. Borrowed until the next transaction. */
const char *session_store_why(const session *s, int rc);
/* The conversation `name`, added when missing with `create` (else NULL).
 * NULL also when out of memory, or when the session holds SESSION_MAX_CONVS
 * already, which closes it with ERROR limit. */
sconv *session_conv(session *s, const uint8_t *name, size_t len, int create);
/* Why session_conv(..., 1) returned NULL: MSGLOG_ELIMIT when it closed the
 * session, else MSGLOG_ENOMEM. */
int session_conv_failed(const session *s);
/* This store's vector and digest of a conversation (empty and zero when it
 * does not hold it). */
int session_own_state(session *s, const uint8_t *name, size_t len, vv *out,
                      uint8_t dig[OP_HASH_LEN]);
/* Bytes the transport lets the session add now (SIZE_MAX unpaced). */
size_t session_room(const session *s);
/* Frees a buffer's memory when it is empty and large: a burst (a big
 * frame, a WANT's answer) must not stay held for the session's life. */
void sbuf_trim(sbuf *b);

/* ---- session_out.c ------------------------------------------------------ */
/* Frames ops as batch number s->next_batch_no of c and puts it in flight. */
int out_send_batch(session *s, sconv *c, const codec_bytes *ops, size_t n);
int out_on_ack(session *s, const uint8_t *buf, size_t len);
int out_pump(session *s);
void out_close_streams(session *s);

/* ---- session_in.c ------------------------------------------------------- */
int in_on_batch(session *s, const uint8_t *buf, size_t len);
void in_drop_staging(session *s);

/* ---- session_versions.c ------------------------------------------------- */
/* Starts sending every version of ids[0..n) (ascending; takes the malloc'd
 * array) of c, in batches of the peer's budget (the last possibly empty),
 * then with then_repair an empty REPAIR; goes as far as there is room. At
 * most one at a time: the caller checks that none is active. */
int versions_start(session *s, sconv *c, op_id *ids, size_t n, int then_repair);
/* Goes on with the active job while there is room (at least one batch). */
int versions_continue(session *s);
void versions_clear(session *s);

/* ---- session_repair.c --------------------------------------------------- */
/* Client: starts the repair exchange of c (docs/protocol.md 5). */
int repair_start(session *s, sconv *c);
int repair_on_repair(session *s, const uint8_t *buf, size_t len);
int repair_on_want(session *s, const uint8_t *buf, size_t len);

/* ---- session_status.c --------------------------------------------------- */
int status_on_status(session *s, const uint8_t *buf, size_t len);
/* Relay: sends the STATUS that waited for room, while there is room. */
int status_continue(session *s);
/* Client: compares digests of c at equal vectors (docs/protocol.md 4). */
int status_check_digest(session *s, sconv *c);

#endif
