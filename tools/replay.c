/*
 * replay.c - `msglog replay TRACE [--dir DIR]` (docs/cli.md: the trace format and its choices).
 *
 * Every replica of the trace is a real store in DIR/replica-<id>, opened
 * through the public API with an injected clock that reads the `t` of the
 * event under way. Ops really travel as bytes: a `deliver` hands over the
 * bytes msglog_op_bytes() gave right after the op was created, and a `sync`
 * moves the encoded request and response between the two handles.
 *
 * Exit codes: 0 the trace ran; 2 the command line or the trace is invalid
 * (the message names the line); 1 anything else failed (library, disk).
 */
#include "replay.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "msglog.h"
#include "trace_json.h"
#include "cli_util.h"
#include "view_json.h"

#define REPLICA_ID_END (UINT64_C(1) << 53)   /* ids are in [1, 2^53) */
#define CLOCK_END (UINT64_C(1) << 47)        /* t is in [0, 2^47) */
#define SHOWN_MAX 80                         /* bytes of a label in messages */

typedef struct replica {
    uint64_t id;
    char *user;
    size_t user_len;
    char *path;
    msglog *log;
    uint64_t now;   /* what the injected clock reads: the t of the op under way */
} replica;

enum op_kind { K_SEND, K_EDIT, K_DELETE, K_REACT, K_UNREACT, K_READ };

/* What a label names: an op, and the bytes its origin encoded at creation. */
typedef struct label {
    char *name;
    size_t name_len;
    enum op_kind kind;
    uint64_t origin;
    char *conv;
    size_t conv_len;
    msglog_id id;
    void *bytes;        /* from msglog_op_bytes(); msglog_free() */
    size_t bytes_len;
} label;

/* Labels by name: an array, indexed by an open-addressing hash table of
 * (index + 1), 0 for an empty slot. Kept at most half full. */
typedef struct label_table {
    label *items;
    size_t n, cap;
    size_t *slots;
    size_t n_slots;     /* a power of two, or 0 */
} label_table;

typedef struct replay {
    const char *trace_name;   /* as given, for messages */
    size_t line_no;           /* 0 before the first line */
    char *dir;
    int dir_is_temp;
    replica **replicas;       /* ascending id */
    size_t n_replicas, cap_replicas;
    label_table labels;
    trace_line line;          /* the line under way */
} replay;

/* ------------------------------------------------------------------------ */
/* Messages                                                                  */

static void report(const replay *rp, const char *fmt, va_list ap)
{
    if (rp->line_no)
        fprintf(stderr, "msglog: %s:line %zu: ", rp->trace_name, rp->line_no);
    else
        fprintf(stderr, "msglog: %s: ", rp->trace_name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
}

/* The trace breaks the contract. @return CLI_INVALID */
static int invalid(const replay *rp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(rp, fmt, ap);
    va_end(ap);
    return CLI_INVALID;
}

/* The library, the system or the output failed. @return CLI_FAIL */
static int failed(const replay *rp, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report(rp, fmt, ap);
    va_end(ap);
    return CLI_FAIL;
}

/* A byte string as printf "%.*s" arguments, cut short for messages. */
static int shown(size_t len)
{
    return len > SHOWN_MAX ? SHOWN_MAX : (int)len;
}

static int lib_failed(const replay *rp, const replica *r, const char *call,
                      int rc)
{
    return failed(rp, "%s at replica %" PRIu64 " failed: %s (%s)", call, r->id,
                  r->log ? msglog_errmsg(r->log) : "", msglog_strerror(rc));
}

/* ------------------------------------------------------------------------ */
/* Labels                                                                    */

static uint64_t hash_bytes(const char *s, size_t len)
{
    uint64_t h = UINT64_C(14695981039346656037);   /* FNV-1a */

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}

/* The slot that holds `name`, or the empty slot where it would go. */
static size_t *label_slot(const label_table *t, const char *name, size_t len)
{
    size_t mask = t->n_slots - 1;

    for (size_t i = hash_bytes(name, len) & mask;; i = (i + 1) & mask) {
        size_t *slot = &t->slots[i];
        const label *l = *slot ? &t->items[*slot - 1] : NULL;

        if (!l || (l->name_len == len && memcmp(l->name, name, len) == 0))
            return slot;
    }
}

static const label *label_find(const label_table *t, const trace_str *name)
{
    size_t *slot;

    if (t->n_slots == 0)
        return NULL;
    slot = label_slot(t, name->data, name->len);
    return *slot ? &t->items[*slot - 1] : NULL;
}

static int label_rehash(label_table *t)
{
    size_t n_slots = t->n_slots ? t->n_slots * 2 : 64;
    size_t *slots = calloc(n_slots, sizeof *slots);

    if (!slots)
        return -1;
    free(t->slots);
    t->slots = slots;
    t->n_slots = n_slots;
    for (size_t i = 0; i < t->n; i++)
        *label_slot(t, t->items[i].name, t->items[i].name_len) = i + 1;
    return 0;
}

/* Takes ownership of l's memory on success. @return 0, or -1 (no memory). */
static int label_add(label_table *t, const label *l)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        label *items = realloc(t->items, cap * sizeof *items);
        if (!items)
            return -1;
        t->items = items;
        t->cap = cap;
    }
    if ((t->n + 1) * 2 > t->n_slots && label_rehash(t) < 0)
        return -1;
    t->items[t->n] = *l;
    *label_slot(t, l->name, l->name_len) = ++t->n;
    return 0;
}

static void label_free(label *l)
{
    free(l->name);
    free(l->conv);
    msglog_free(l->bytes);
}

static void label_table_clear(label_table *t)
{
    for (size_t i = 0; i < t->n; i++)
        label_free(&t->items[i]);
    free(t->items);
    free(t->slots);
    memset(t, 0, sizeof *t);
}

/* ------------------------------------------------------------------------ */
/* Replicas                                                                  */

static uint64_t replica_clock(void *ctx)
{
    const replica *r = ctx;
    return r->now;
}

/* The position of replica `id` in rp->replicas, or where it would go. */
static size_t replica_pos(const replay *rp, uint64_t id)
{
    size_t lo = 0, hi = rp->n_replicas;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (rp->replicas[mid]->id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static replica *replica_find(const replay *rp, uint64_t id)
{
    size_t i = replica_pos(rp, id);
    return i < rp->n_replicas && rp->replicas[i]->id == id ? rp->replicas[i]
                                                           : NULL;
}

static int replica_insert(replay *rp, replica *r)
{
    size_t i = replica_pos(rp, r->id);

    if (rp->n_replicas == rp->cap_replicas) {
        size_t cap = rp->cap_replicas ? rp->cap_replicas * 2 : 8;
        replica **v = realloc(rp->replicas, cap * sizeof *v);
        if (!v)
            return -1;
        rp->replicas = v;
        rp->cap_replicas = cap;
    }
    memmove(&rp->replicas[i + 1], &rp->replicas[i],
            (rp->n_replicas - i) * sizeof *rp->replicas);
    rp->replicas[i] = r;
    rp->n_replicas++;
    return 0;
}

static void replica_free(replica *r)
{
    if (!r)
        return;
    msglog_close(r->log);
    free(r->user);
    free(r->path);
    free(r);
}

static int replica_open(const replay *rp, replica *r)
{
    msglog_options opts = MSGLOG_OPTIONS_INIT;
    int rc;

    opts.clock = replica_clock;
    opts.clock_ctx = r;
    rc = msglog_open(&r->log, r->path, r->id, r->user, r->user_len, &opts);
    if (rc != MSGLOG_OK)
        return failed(rp, "msglog_open(%s) for replica %" PRIu64 " failed: %s",
                      r->path, r->id, msglog_strerror(rc));
    return CLI_OK;
}

/* Reads replica-id field `field` and finds that replica. */
static int field_replica(replay *rp, const char *field, replica **out)
{
    uint64_t id;

    if (trace_uint(&rp->line, field, 1, REPLICA_ID_END, &id) < 0)
        return invalid(rp, "%s", rp->line.why);
    if (!(*out = replica_find(rp, id)))
        return invalid(rp, "unknown replica %" PRIu64 " in \"%s\"", id, field);
    return CLI_OK;
}

/* ------------------------------------------------------------------------ */
/* Events: replica, restart, deliver, sync, check                            */

static char *dup_bytes(const char *s, size_t len)
{
    char *p = malloc(len + 1);

    if (p) {
        memcpy(p, s, len);
        p[len] = '\0';
    }
    return p;
}

static char *replica_path(const char *dir, uint64_t id)
{
    size_t n = strlen(dir) + 32;
    char *p = malloc(n);

    if (p)
        snprintf(p, n, "%s/replica-%" PRIu64, dir, id);
    return p;
}

static int ev_replica(replay *rp)
{
    uint64_t id;
    trace_str user;
    replica *r;
    struct stat st;
    int rc;

    if (trace_uint(&rp->line, "id", 1, REPLICA_ID_END, &id) < 0 ||
        trace_str_get(&rp->line, "user", 1, MSGLOG_MAX_USER, &user) < 0)
        return invalid(rp, "%s", rp->line.why);
    if (replica_find(rp, id))
        return invalid(rp, "replica %" PRIu64 " already exists", id);
    if (!(r = calloc(1, sizeof *r)) ||
        !(r->user = dup_bytes(user.data, user.len)) ||
        !(r->path = replica_path(rp->dir, id))) {
        replica_free(r);
        return failed(rp, "out of memory");
    }
    r->id = id;
    r->user_len = user.len;
    /* A replica starts empty: never adopt a store left by an earlier run. */
    if (lstat(r->path, &st) == 0)
        rc = failed(rp, "%s already exists; give --dir a directory without "
                    "stores of an earlier replay", r->path);
    else if ((rc = replica_open(rp, r)) == CLI_OK && replica_insert(rp, r) < 0)
        rc = failed(rp, "out of memory");
    if (rc != CLI_OK)
        replica_free(r);
    return rc;
}

static int ev_restart(replay *rp)
{
    replica *r;
    int rc = field_replica(rp, "at", &r);

    if (rc != CLI_OK)
        return rc;
    msglog_close(r->log);
    r->log = NULL;
    return replica_open(rp, r);
}

/* Every name is checked before any op moves, so that a refused line has
 * changed nothing. */
static int deliver_names(replay *rp, const json_t *ops, const label **out)
{
    for (size_t i = 0; i < json_array_size(ops); i++) {
        trace_str name;

        if (trace_array_str(&rp->line, "ops", ops, i, &name) < 0)
            return invalid(rp, "%s", rp->line.why);
        if (!(out[i] = label_find(&rp->labels, &name)))
            return invalid(rp, "item %zu of \"ops\": unknown label \"%.*s\"", i,
                           shown(name.len), name.data);
    }
    return CLI_OK;
}

static int ev_deliver(replay *rp)
{
    replica *to;
    const json_t *ops;
    const label **named;
    size_t n;
    int rc;

    if ((rc = field_replica(rp, "to", &to)) != CLI_OK)
        return rc;
    if (trace_array(&rp->line, "ops", &ops) < 0)
        return invalid(rp, "%s", rp->line.why);
    n = json_array_size(ops);
    if (!(named = malloc((n ? n : 1) * sizeof *named)))
        return failed(rp, "out of memory");
    rc = deliver_names(rp, ops, named);
    for (size_t i = 0; rc == CLI_OK && i < n; i++) {
        int err = msglog_receive(to->log, named[i]->bytes, named[i]->bytes_len);
        if (err != MSGLOG_OK)
            rc = failed(rp, "msglog_receive of \"%.*s\" at replica %" PRIu64
                        " failed: %s (%s)", shown(named[i]->name_len),
                        named[i]->name, to->id, msglog_errmsg(to->log),
                        msglog_strerror(err));
    }
    free(named);
    return rc;
}

/* `to` pulls from `from`: request at to, response at from, apply at to. */
static int sync_pull(replay *rp, replica *from, replica *to,
                     const trace_str *conv)
{
    void *req = NULL, *resp = NULL;
    size_t req_len = 0, resp_len = 0;
    int rc;

    rc = msglog_sync_request(to->log, &req, &req_len, conv ? conv->data : NULL,
                             conv ? conv->len : 0);
    if (rc != MSGLOG_OK)
        return lib_failed(rp, to, "msglog_sync_request", rc);
    rc = msglog_sync_response(from->log, &resp, &resp_len, req, req_len);
    msglog_free(req);
    if (rc != MSGLOG_OK)
        return lib_failed(rp, from, "msglog_sync_response", rc);
    rc = msglog_sync_apply(to->log, resp, resp_len);
    msglog_free(resp);
    if (rc != MSGLOG_OK)
        return lib_failed(rp, to, "msglog_sync_apply", rc);
    return CLI_OK;
}

static int ev_sync(replay *rp)
{
    replica *from, *to;
    trace_str conv;
    int rc, has_conv;

    if ((rc = field_replica(rp, "from", &from)) != CLI_OK ||
        (rc = field_replica(rp, "to", &to)) != CLI_OK)
        return rc;
    has_conv = trace_str_opt(&rp->line, "conv", 1, MSGLOG_MAX_CONV, &conv);
    if (has_conv < 0)
        return invalid(rp, "%s", rp->line.why);
    return sync_pull(rp, from, to, has_conv ? &conv : NULL);
}

static int ev_check(replay *rp)
{
    char why[VIEW_WHY_MAX];

    for (size_t i = 0; i < rp->n_replicas; i++) {
        const replica *r = rp->replicas[i];
        if (view_json_print(stdout, r->log, r->id, why) != 0)
            return failed(rp, "check of replica %" PRIu64 ": %s", r->id, why);
    }
    return CLI_OK;
}

/* ------------------------------------------------------------------------ */
/* Events: the operations                                                    */

typedef struct op_spec {
    const char *name;   /* the event */
    const char *call;   /* the API function, for messages */
    enum op_kind kind;
    int has_body, has_key;
} op_spec;

static const op_spec op_specs[] = {
    { "send", "msglog_send", K_SEND, 1, 0 },
    { "edit", "msglog_edit", K_EDIT, 1, 0 },
    { "delete", "msglog_delete", K_DELETE, 0, 0 },
    { "react", "msglog_react", K_REACT, 0, 1 },
    { "unreact", "msglog_unreact", K_UNREACT, 0, 1 },
    { "read", "msglog_mark_read", K_READ, 0, 0 },
};

/* The checked fields of an operation event; strings borrow from the line. */
typedef struct op_args {
    replica *at;
    uint64_t t;
    trace_str name;         /* the new label */
    const label *target;    /* NULL for a send */
    trace_str conv, body, key;
} op_args;

/* `target` names a send; the op belongs to that message's conversation. */
static int read_target(replay *rp, op_args *a)
{
    trace_str name;

    if (trace_str_get(&rp->line, "target", 1, SIZE_MAX, &name) < 0)
        return invalid(rp, "%s", rp->line.why);
    if (!(a->target = label_find(&rp->labels, &name)))
        return invalid(rp, "unknown target label \"%.*s\"", shown(name.len),
                       name.data);
    if (a->target->kind != K_SEND)
        return invalid(rp, "target \"%.*s\" is not a send", shown(name.len),
                       name.data);
    a->conv.data = a->target->conv;
    a->conv.len = a->target->conv_len;
    return CLI_OK;
}

static int read_op_args(replay *rp, const op_spec *spec, op_args *a)
{
    trace_line *l = &rp->line;
    int rc = field_replica(rp, "at", &a->at);

    if (rc != CLI_OK)
        return rc;
    if (trace_uint(l, "t", 0, CLOCK_END, &a->t) < 0 ||
        trace_str_get(l, "label", 1, SIZE_MAX, &a->name) < 0)
        return invalid(rp, "%s", l->why);
    if (label_find(&rp->labels, &a->name))
        return invalid(rp, "label \"%.*s\" is already used",
                       shown(a->name.len), a->name.data);
    if (spec->kind == K_SEND) {
        if (trace_str_get(l, "conv", 1, MSGLOG_MAX_CONV, &a->conv) < 0)
            return invalid(rp, "%s", l->why);
    } else if ((rc = read_target(rp, a)) != CLI_OK) {
        return rc;
    }
    if ((spec->has_body &&
         trace_str_get(l, "body", 0, MSGLOG_MAX_BODY, &a->body) < 0) ||
        (spec->has_key &&
         trace_str_get(l, "key", 1, MSGLOG_MAX_KEY, &a->key) < 0))
        return invalid(rp, "%s", l->why);
    return CLI_OK;
}

static int create_op(const op_spec *spec, const op_args *a, msglog_id *id)
{
    msglog *log = a->at->log;
    const char *c = a->conv.data;
    size_t n = a->conv.len;
    msglog_id tg = a->target ? a->target->id : (msglog_id){ 0, 0 };

    switch (spec->kind) {
    case K_SEND:
        return msglog_send(log, id, c, n, a->body.data, a->body.len);
    case K_EDIT:
        return msglog_edit(log, id, c, n, tg, a->body.data, a->body.len);
    case K_DELETE:
        return msglog_delete(log, id, c, n, tg);
    case K_REACT:
        return msglog_react(log, id, c, n, tg, a->key.data, a->key.len);
    case K_UNREACT:
        return msglog_unreact(log, id, c, n, tg, a->key.data, a->key.len);
    case K_READ:
        return msglog_mark_read(log, id, c, n, tg);
    }
    return MSGLOG_EINVAL;
}

/* The API refuses exactly what the replay contract calls an invalid operation, so those
 * refusals are trace errors (exit 2); anything else is a failure (exit 1). */
static int op_refused(const replay *rp, const op_spec *spec, const op_args *a,
                      int rc)
{
    const replica *r = a->at;
    const label *t = a->target;
    char tid[CLI_ID_MAX] = "";

    if (t)
        cli_id_text(tid, t->id);
    if (rc == MSGLOG_ENOTFOUND && t)
        return invalid(rp, "%s: target \"%.*s\" (message %s) is not delivered "
                       "at replica %" PRIu64, spec->name, shown(t->name_len),
                       t->name, tid, r->id);
    if (rc == MSGLOG_EDENIED && t)
        return invalid(rp, "%s of \"%.*s\" (message %s) by replica %" PRIu64
                       " (user \"%.*s\") is not allowed: %s", spec->name,
                       shown(t->name_len), t->name, tid, r->id,
                       shown(r->user_len), r->user, msglog_errmsg(r->log));
    if (rc == MSGLOG_ELIMIT)
        return invalid(rp, "%s exceeds a limit: %s", spec->name,
                       msglog_errmsg(r->log));
    return lib_failed(rp, r, spec->call, rc);
}

/* Keeps the label with the op's bytes as encoded now: a later delete at the
 * origin erases texts, but `deliver` must hand over what was created. */
static int keep_label(replay *rp, const op_spec *spec, const op_args *a,
                      msglog_id id)
{
    label l = { 0 };
    int rc = msglog_op_bytes(a->at->log, &l.bytes, &l.bytes_len, a->conv.data,
                             a->conv.len, id);

    if (rc != MSGLOG_OK)
        return lib_failed(rp, a->at, "msglog_op_bytes", rc);
    l.kind = spec->kind;
    l.origin = a->at->id;
    l.id = id;
    l.name_len = a->name.len;
    l.conv_len = a->conv.len;
    if (!(l.name = dup_bytes(a->name.data, a->name.len)) ||
        !(l.conv = dup_bytes(a->conv.data, a->conv.len)) ||
        label_add(&rp->labels, &l) < 0) {
        label_free(&l);
        return failed(rp, "out of memory");
    }
    return CLI_OK;
}

static int ev_op(replay *rp, const op_spec *spec)
{
    op_args a = { 0 };
    msglog_id id = { 0, 0 };
    int rc = read_op_args(rp, spec, &a);

    if (rc != CLI_OK)
        return rc;
    a.at->now = a.t;
    if ((rc = create_op(spec, &a, &id)) != MSGLOG_OK)
        return op_refused(rp, spec, &a, rc);
    if (id.replica != a.at->id || id.seq == 0) {
        char s[CLI_ID_MAX];
        cli_id_text(s, id);
        return failed(rp, "%s at replica %" PRIu64 " returned op id %s",
                      spec->call, a.at->id, s);
    }
    return keep_label(rp, spec, &a, id);
}

/* ------------------------------------------------------------------------ */
/* Lines                                                                     */

static const struct {
    const char *name;
    int (*run)(replay *rp);
} plain_events[] = {
    { "replica", ev_replica }, { "deliver", ev_deliver }, { "sync", ev_sync },
    { "restart", ev_restart }, { "check", ev_check },
};

static int name_is(const trace_str *s, const char *name)
{
    return strlen(name) == s->len && memcmp(s->data, name, s->len) == 0;
}

static int run_event(replay *rp)
{
    trace_str ev;

    if (trace_str_get(&rp->line, "ev", 0, SIZE_MAX, &ev) < 0)
        return invalid(rp, "%s", rp->line.why);
    for (size_t i = 0; i < sizeof op_specs / sizeof op_specs[0]; i++)
        if (name_is(&ev, op_specs[i].name))
            return ev_op(rp, &op_specs[i]);
    for (size_t i = 0; i < sizeof plain_events / sizeof plain_events[0]; i++)
        if (name_is(&ev, plain_events[i].name))
            return plain_events[i].run(rp);
    return invalid(rp, "unknown event \"%.*s\"", shown(ev.len), ev.data);
}

static int run_line(replay *rp, const char *text, size_t len)
{
    int rc = trace_line_parse(&rp->line, text, len);

    if (rc > 0)
        return CLI_OK;   /* a blank line */
    if (rc < 0)
        return invalid(rp, "%s", rp->line.why);
    rc = run_event(rp);
    trace_line_clear(&rp->line);
    return rc;
}

static int run_lines(replay *rp, FILE *in)
{
    char *buf = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = CLI_OK;

    while (rc == CLI_OK && (len = getline(&buf, &cap, in)) >= 0) {
        rp->line_no++;
        rc = run_line(rp, buf, (size_t)len);
    }
    if (rc == CLI_OK && ferror(in))
        rc = failed(rp, "cannot read the trace: %s", strerror(errno));
    free(buf);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* Directories                                                               */

char *replay_tmpdir_create(const char *what)
{
    const char *tmp = getenv("TMPDIR");
    size_t n;
    char *p;

    if (!tmp || !*tmp)
        tmp = "/tmp";
    n = strlen(tmp) + strlen(what) + sizeof "/msglog--XXXXXX";
    if (!(p = malloc(n))) {
        fprintf(stderr, "msglog: out of memory\n");
        return NULL;
    }
    snprintf(p, n, "%s/msglog-%s-XXXXXX", tmp, what);
    if (!mkdtemp(p)) {
        fprintf(stderr, "msglog: cannot create a directory in %s: %s\n", tmp,
                strerror(errno));
        free(p);
        return NULL;
    }
    return p;
}

static int remove_failed(const char *what, const char *path)
{
    fprintf(stderr, "msglog: cannot %s %s: %s\n", what, path, strerror(errno));
    return -1;
}

static int remove_children(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    int rc = 0;

    if (!d)
        return remove_failed("open", path);
    while (rc == 0 && (e = readdir(d))) {
        size_t n = strlen(path) + strlen(e->d_name) + 2;
        char *child;

        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (!(child = malloc(n))) {
            errno = ENOMEM;
            rc = remove_failed("remove", path);
            break;
        }
        snprintf(child, n, "%s/%s", path, e->d_name);
        rc = replay_tmpdir_remove(child);
        free(child);
    }
    closedir(d);
    return rc;
}

int replay_tmpdir_remove(const char *path)
{
    struct stat st;

    if (lstat(path, &st) != 0)
        return errno == ENOENT ? 0 : remove_failed("inspect", path);
    if (!S_ISDIR(st.st_mode))
        return unlink(path) == 0 ? 0 : remove_failed("remove", path);
    if (remove_children(path) != 0)
        return -1;
    return rmdir(path) == 0 ? 0 : remove_failed("remove", path);
}

/* mkdir -p: `--dir` may name a directory that does not exist yet. */
static int make_dirs(const char *path)
{
    char *p = dup_bytes(path, strlen(path));
    struct stat st;
    int rc = 0;

    if (!p)
        return -1;
    for (char *s = p + 1; rc == 0 && *s; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST)
            rc = -1;
        *s = '/';
    }
    if (rc == 0 && mkdir(p, 0777) != 0 && errno != EEXIST)
        rc = -1;
    free(p);
    if (rc == 0 && stat(path, &st) == 0 && !S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        rc = -1;
    }
    return rc;
}

/* ------------------------------------------------------------------------ */
/* The command                                                               */

static void replay_usage(FILE *fp)
{
    fputs("usage: msglog replay TRACE [--dir DIR]\n"
          "Runs a replay trace (TRACE '-' reads stdin); 'msglog --help' "
          "tells more.\n", fp);
}

/* @return CLI_OK, CLI_INVALID after printing usage, or -1 for --help. */
static int parse_args(int argc, char **argv, const char **trace,
                      const char **dir)
{
    int only_args = 0;

    *trace = *dir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];

        if (!only_args && (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0))
            return -1;
        if (!only_args && strcmp(a, "--") == 0) {
            only_args = 1;
        } else if (!only_args && strcmp(a, "--dir") == 0) {
            if (i + 1 == argc) {
                fprintf(stderr, "msglog: replay: --dir needs a DIR\n");
                replay_usage(stderr);
                return CLI_INVALID;
            }
            *dir = argv[++i];
        } else if (!only_args && strncmp(a, "--dir=", 6) == 0 && a[6]) {
            *dir = a + 6;
        } else if ((only_args || a[0] != '-' || strcmp(a, "-") == 0) &&
                   !*trace) {
            *trace = a;
        } else {
            fprintf(stderr, "msglog: replay: unexpected argument '%s'\n", a);
            replay_usage(stderr);
            return CLI_INVALID;
        }
    }
    if (!*trace) {
        fprintf(stderr, "msglog: replay: no TRACE given\n");
        replay_usage(stderr);
        return CLI_INVALID;
    }
    return CLI_OK;
}

static int replay_dir_setup(replay *rp, const char *dir)
{
    if (!dir) {
        rp->dir = replay_tmpdir_create("replay");
        rp->dir_is_temp = rp->dir != NULL;
        return rp->dir ? CLI_OK : CLI_FAIL;
    }
    if (make_dirs(dir) != 0)
        return failed(rp, "cannot create directory %s: %s", dir,
                      strerror(errno));
    if (!(rp->dir = dup_bytes(dir, strlen(dir))))
        return failed(rp, "out of memory");
    return CLI_OK;
}

/* Closes every store before its directory goes. @return rc, or CLI_FAIL
 * when the scratch directory could not be removed. */
static int replay_clear(replay *rp, int rc)
{
    for (size_t i = 0; i < rp->n_replicas; i++)
        replica_free(rp->replicas[i]);
    free(rp->replicas);
    label_table_clear(&rp->labels);
    trace_line_clear(&rp->line);
    if (rp->dir_is_temp && replay_tmpdir_remove(rp->dir) != 0 && rc == CLI_OK)
        rc = CLI_FAIL;
    free(rp->dir);
    return rc;
}

int replay_main(int argc, char **argv)
{
    replay rp = { 0 };
    const char *trace, *dir;
    FILE *in;
    int rc = parse_args(argc, argv, &trace, &dir);

    if (rc < 0) {
        replay_usage(stdout);
        return CLI_OK;
    }
    if (rc != CLI_OK)
        return rc;
    rp.trace_name = trace;
    in = strcmp(trace, "-") == 0 ? stdin : fopen(trace, "r");
    if (!in)
        return failed(&rp, "cannot open the trace: %s", strerror(errno));
    rc = replay_dir_setup(&rp, dir);
    if (rc == CLI_OK)
        rc = run_lines(&rp, in);
    if (in != stdin)
        fclose(in);
    return replay_clear(&rp, rc);
}
