/* Peers of a relay on the test's loop (netpeers.h). */
#include "netpeers.h"

#include <arpa/inet.h>
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "netloop.h"
#include "support/check.h"

static int pred_client_done(void *arg)
{
    return msglog_client_result(arg) != MSGLOG_EINVAL;
}

int sync_once(msglog *log, uint16_t port)
{
    msglog_client_options o = MSGLOG_CLIENT_OPTIONS_INIT;
    msglog_client *c = NULL;
    int rc;

    o.host = "127.0.0.1";
    o.port = port;
    CHECK_OK(msglog_client_new(&c, log, &loop, &o));
    CHECK_OK(msglog_client_start(c));
    run_until(pred_client_done, c, NETPEERS_WAIT_MS, "the once-mode sync to end");
    rc = msglog_client_result(c);
    msglog_client_close(c);
    return rc;
}

peer connect_peer(uint16_t port)
{
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    peer p;

    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    p.fd = socket(AF_INET, SOCK_STREAM, 0);
    cr_assert_geq(p.fd, 0);
    cr_assert_eq(connect(p.fd, (struct sockaddr *)&a, sizeof a), 0);
    cr_assert_eq(getsockname(p.fd, (struct sockaddr *)&a, &len), 0);
    p.port = ntohs(a.sin_port);
    return p;
}
