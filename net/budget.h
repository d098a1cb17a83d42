/* The relay's memory budget (docs/protocol.md 8, "Memory budget"): what
 * every connection makes the relay hold, together, and each one's share.
 * Internal to the library.
 *
 * A connection holds input (its read buffer, the batch it stages, the ids
 * of a WANT being answered, its batches in flight: what reading its peer
 * gives back) and output (what the session queued and what libuv has not
 * written yet: what writing gives back). Its share is the budget divided
 * by the connections open. Under its share it reads and works; over it, it
 * is slowed (no reading, no new output) until its writes drain; when its
 * input alone fills the share while it needs more input to go on (a batch
 * larger than the share), it cannot make progress and is closed with ERROR
 * limit.
 *
 * Shares shrink as connections arrive, and what a connection took under a
 * larger share comes back only as its peer reads. So when the budget is
 * exceeded after a connection arrived, the members holding more than twice
 * their new share are closed (reclaimed), and the others keep their share:
 * the total stays within about the budget instead of adding up what every
 * connection took when it was among fewer.
 *
 * Arithmetic and bookkeeping: net/conn.c asks and acts. A NULL budget (a
 * client's connection) has no limit. Threading: the loop's thread. */
#ifndef MSGLOG_NET_BUDGET_H
#define MSGLOG_NET_BUDGET_H

#include <stddef.h>

/* One connection's part (inside its net_conn). */
typedef struct net_budget_member {
    struct net_budget_member *prev, *next;
    size_t held;       /* what it is counted for */
} net_budget_member;

typedef struct net_budget {
    size_t limit;      /* bytes, every connection together */
    size_t held;       /* what they hold now, together */
    size_t members;
    net_budget_member *list;
    int reclaim;       /* a member joined: shares shrank since the last
                          reclaim pass */
} net_budget;

/* What a connection may do now (net_budget_judge). */
typedef enum net_pace {
    NET_PACE_GO,       /* under its share: read and work */
    NET_PACE_WORK,     /* over it, with nothing to drain but work waiting
                          (whole frames, a WANT answer): work, do not read */
    NET_PACE_SLOW,     /* over it: wait until its writes drain */
    NET_PACE_CLOSE     /* its input alone fills its share and it needs more
                          input to go on: ERROR limit */
} net_pace;

void net_budget_init(net_budget *b, size_t limit);

/* m starts sharing b, holding nothing / stops, giving back what it held.
 * NULL b: nothing is done. */
void net_budget_join(net_budget *b, net_budget_member *m);
void net_budget_leave(net_budget *b, net_budget_member *m);

/* m now holds `now` bytes. */
void net_budget_hold(net_budget *b, net_budget_member *m, size_t now);

/* Each member's share; SIZE_MAX without a budget. */
size_t net_budget_share(const net_budget *b);

/* How many more bytes a member holding `held` may add: its share less what
 * it holds, 0 when over. */
size_t net_budget_room(const net_budget *b, size_t held);

/* What a member holding `input` + `output` bytes may do (its output is
 * being written: a completion will come); `waiting`: it has whole frames
 * or a WANT answer to work on. */
net_pace net_budget_judge(const net_budget *b, size_t input, size_t output, int waiting);

/* When the budget is exceeded and members joined since the last pass:
 * calls evict(m, ctx) for each member holding more than twice its share
 * (evict must make it leave). One pass over the members per join at most. */
void net_budget_reclaim(net_budget *b, void (*evict)(net_budget_member *m, void *ctx), void *ctx);

#endif
