/* Peers of a relay on the test's loop (netloop.h): a device's store synced
 * once, and a plain blocking socket for a peer played by hand (the kernel
 * completes its connect before the relay accepts it). */
#ifndef TEST_NETPEERS_H
#define TEST_NETPEERS_H

#include <stdint.h>

#include "msglog.h"

#define NETPEERS_WAIT_MS 10000

/* Syncs `log` once with the relay on 127.0.0.1:port, running the loop
 * until it ended (at most NETPEERS_WAIT_MS). @return the client's result. */
int sync_once(msglog *log, uint16_t port);

/* A blocking socket connected to 127.0.0.1:port, and its own port. */
typedef struct peer {
    int fd;
    unsigned port;
} peer;

peer connect_peer(uint16_t port);

#endif
