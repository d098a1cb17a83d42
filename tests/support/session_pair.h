/* One sync session between two stores in this process, the two session
 * ends (sync/session.h) wired back to back with no sockets: for tests that
 * need a sync but not its transport. Links against sync/. */
#ifndef TEST_SESSION_PAIR_H
#define TEST_SESSION_PAIR_H

#include "msglog.h"

#define SESSION_PAIR_ERR_MAX 512

/* Syncs device (a client) with relay: conversation `only`, or every one
 * either side holds when NULL; bytes move both ways until nothing moves or
 * both ends closed. Each side's error text (session_errmsg, "" when none)
 * goes to client_err and relay_err (SESSION_PAIR_ERR_MAX bytes each).
 * Returns MSGLOG_OK, or a code of session_new. */
int session_pair_sync(msglog *device, msglog *relay, const char *only, char *client_err,
                      char *relay_err);

#endif
