#include "support/session_pair.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sync/session.h"

/* Moves what from has written to to; 1 when there was something. */
static int move_all(session *from, session *to)
{
    const uint8_t *p;
    size_t n;
    session_output(from, &p, &n);
    if (n == 0)
        return 0;
    uint8_t *copy = malloc(n);   /* the output is borrowed until the next call */
    if (!copy)
        return 0;
    memcpy(copy, p, n);
    session_consume(from, n);
    session_feed(to, copy, n);
    free(copy);
    return 1;
}

static void exchange(session *c, session *r)
{
    for (int idle = 0; idle < 2;) {
        int moved = move_all(c, r);
        moved |= move_all(r, c);
        idle = moved ? 0 : idle + 1;
        if (session_phase(c) == SESSION_PHASE_CLOSED && session_phase(r) == SESSION_PHASE_CLOSED)
            break;
    }
}

int session_pair_sync(msglog *device, msglog *relay, const char *only, char *client_err,
                      char *relay_err)
{
    session_config cc = { 0 }, rc = { 0 };
    msglog_str conv = { only, only ? strlen(only) : 0 };
    cc.role = SESSION_ROLE_CLIENT;
    cc.all_convs = !only;
    cc.convs = only ? &conv : NULL;
    cc.n_convs = only ? 1 : 0;
    rc.role = SESSION_ROLE_RELAY;
    session *c = NULL, *r = NULL;
    int err = session_new(&c, device, &cc);
    if (!err)
        err = session_new(&r, relay, &rc);
    if (!err)
        exchange(c, r);
    snprintf(client_err, SESSION_PAIR_ERR_MAX, "%s", c ? session_errmsg(c) : "");
    snprintf(relay_err, SESSION_PAIR_ERR_MAX, "%s", r ? session_errmsg(r) : "");
    session_free(c);
    session_free(r);
    return err;
}
