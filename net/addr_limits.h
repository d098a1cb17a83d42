/* Connections per remote address, for the relay's caps
 * (msglog_relay_options.max_conns_per_addr and max_conns, net/relay.c): how
 * many connections each address holds, and which address holds the most
 * (where a full relay makes room). Internal to the library.
 *
 * An "address" is an IPv4 address, or the /64 prefix of an IPv6 address:
 * one host is routinely given a whole /64 (SLAAC, privacy addresses), so
 * counting whole IPv6 addresses would give one host 2^64 caps. An
 * IPv4-mapped IPv6 address (a dual-stack listener) is its IPv4 address.
 *
 * The table is a hash table with chains, keyed by a random seed drawn when
 * it is made, so that a peer choosing its addresses cannot aim them all at
 * one bucket. Threading: the loop's. */
#ifndef MSGLOG_NET_ADDR_LIMITS_H
#define MSGLOG_NET_ADDR_LIMITS_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

/* An address as counted: 4 bytes (IPv4), 8 (an IPv6 /64), 0 (another
 * family: all such share one count). */
typedef struct addr_key {
    uint8_t len;
    uint8_t b[8];
} addr_key;

/* The key of a peer's address. */
addr_key addr_key_of(const struct sockaddr *sa);

/* 1 when a and b are the same address as counted. */
int addr_key_equal(const addr_key *a, const addr_key *b);

/* "192.0.2.1", "2001:db8:1:2::/64": for texts. */
void addr_key_text(const addr_key *k, char *out, size_t n);

typedef struct addr_entry addr_entry;

typedef struct addr_table {
    addr_entry **buckets;
    size_t mask;              /* buckets - 1, a power of two minus one */
    uint64_t seed;
} addr_table;

/* An empty table sized for about `expected` addresses.
 * @return MSGLOG_OK or MSGLOG_ENOMEM. */
int addr_table_init(addr_table *t, size_t expected);
void addr_table_free(addr_table *t);

/* The connections k holds (0 when none). */
size_t addr_count(const addr_table *t, const addr_key *k);
/* One more connection of k. @return MSGLOG_OK or MSGLOG_ENOMEM. */
int addr_add(addr_table *t, const addr_key *k);
/* One less (k's entry goes at 0); k must hold one. */
void addr_remove(addr_table *t, const addr_key *k);
/* The address holding the most connections and its count (0 when the table
 * is empty). A walk of the whole table: only for a full relay. */
addr_key addr_busiest(const addr_table *t, size_t *count);

#endif
