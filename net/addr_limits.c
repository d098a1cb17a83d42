/* Connections per remote address (net/addr_limits.h). */
#include "net/addr_limits.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "msglog.h"

#define MIN_BUCKETS 16
#define MAX_BUCKETS 65536   /* past this, chains grow: a few steps each */

struct addr_entry {
    addr_entry *next;
    addr_key key;
    size_t count;
};

static const uint8_t V4_MAPPED[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

addr_key addr_key_of(const struct sockaddr *sa)
{
    addr_key k = { 0, { 0 } };

    if (sa->sa_family == AF_INET) {
        k.len = 4;
        memcpy(k.b, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        const uint8_t *a = ((const struct sockaddr_in6 *)sa)->sin6_addr.s6_addr;
        int mapped = memcmp(a, V4_MAPPED, sizeof V4_MAPPED) == 0;
        k.len = mapped ? 4 : 8;
        memcpy(k.b, mapped ? a + 12 : a, k.len);
    }
    return k;
}

void addr_key_text(const addr_key *k, char *out, size_t n)
{
    uint8_t a6[16] = { 0 };
    char ip[64];

    if (k->len == 4 && uv_inet_ntop(AF_INET, k->b, ip, sizeof ip) == 0) {
        snprintf(out, n, "%s", ip);
        return;
    }
    memcpy(a6, k->b, 8);
    if (k->len == 8 && uv_inet_ntop(AF_INET6, a6, ip, sizeof ip) == 0)
        snprintf(out, n, "%s/64", ip);
    else
        snprintf(out, n, "an address of another family");
}

/* splitmix64's finaliser over the key and the seed. */
static size_t bucket_of(const addr_table *t, const addr_key *k)
{
    uint64_t x = t->seed ^ k->len;

    for (int i = 0; i < 8; i++)
        x = (x << 8 | x >> 56) ^ k->b[i];
    x ^= t->seed;
    x = (x ^ (x >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    x = (x ^ (x >> 27)) * UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return (size_t)x & t->mask;
}

int addr_key_equal(const addr_key *a, const addr_key *b)
{
    return a->len == b->len && memcmp(a->b, b->b, sizeof a->b) == 0;
}

static addr_entry **find(const addr_table *t, const addr_key *k)
{
    addr_entry **e = &t->buckets[bucket_of(t, k)];

    while (*e && !addr_key_equal(&(*e)->key, k))
        e = &(*e)->next;
    return e;
}

int addr_table_init(addr_table *t, size_t expected)
{
    size_t n = MIN_BUCKETS;

    while (n < expected && n < MAX_BUCKETS)
        n *= 2;
    memset(t, 0, sizeof *t);
    if (uv_random(NULL, NULL, &t->seed, sizeof t->seed, 0, NULL) != 0)
        t->seed = uv_hrtime() ^ (uint64_t)(uintptr_t)t;   /* still unknown to a peer */
    if (!(t->buckets = calloc(n, sizeof *t->buckets)))
        return MSGLOG_ENOMEM;
    t->mask = n - 1;
    return MSGLOG_OK;
}

void addr_table_free(addr_table *t)
{
    for (size_t i = 0; t->buckets && i <= t->mask; i++) {
        addr_entry *e = t->buckets[i], *next;
        for (; e; e = next) {
            next = e->next;
            free(e);
        }
    }
    free(t->buckets);
    t->buckets = NULL;
}

size_t addr_count(const addr_table *t, const addr_key *k)
{
    addr_entry *e = *find(t, k);

    return e ? e->count : 0;
}

int addr_add(addr_table *t, const addr_key *k)
{
    addr_entry **at = find(t, k);

    if (!*at) {
        if (!(*at = calloc(1, sizeof **at)))
            return MSGLOG_ENOMEM;
        (*at)->key = *k;
    }
    (*at)->count++;
    return MSGLOG_OK;
}

void addr_remove(addr_table *t, const addr_key *k)
{
    addr_entry **at = find(t, k), *e = *at;

    if (e && --e->count == 0) {
        *at = e->next;
        free(e);
    }
}

addr_key addr_busiest(const addr_table *t, size_t *count)
{
    addr_key best = { 0, { 0 } };

    *count = 0;
    for (size_t i = 0; i <= t->mask; i++)
        for (const addr_entry *e = t->buckets[i]; e; e = e->next)
            if (e->count > *count) {
                *count = e->count;
                best = e->key;
            }
    return best;
}
