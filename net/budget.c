/* The relay's memory budget: the sum of what connections hold, each one's
 * share, and reclaiming what outgrew a shrunk share (net/budget.h). */
#include "net/budget.h"

#include <stdint.h>

void net_budget_init(net_budget *b, size_t limit)
{
    *b = (net_budget){ limit, 0, 0, NULL, 0 };
}

void net_budget_join(net_budget *b, net_budget_member *m)
{
    if (!b)
        return;
    *m = (net_budget_member){ NULL, b->list, 0 };
    if (b->list)
        b->list->prev = m;
    b->list = m;
    b->members++;
    b->reclaim = 1;
}

void net_budget_leave(net_budget *b, net_budget_member *m)
{
    if (!b)
        return;
    if (m->prev)
        m->prev->next = m->next;
    else
        b->list = m->next;
    if (m->next)
        m->next->prev = m->prev;
    b->members--;
    b->held -= m->held;
    *m = (net_budget_member){ 0 };
}

void net_budget_hold(net_budget *b, net_budget_member *m, size_t now)
{
    if (b)
        b->held = b->held - m->held + now;
    m->held = now;
}

size_t net_budget_share(const net_budget *b)
{
    if (!b)
        return SIZE_MAX;
    return b->limit / (b->members ? b->members : 1);
}

size_t net_budget_room(const net_budget *b, size_t held)
{
    size_t share = net_budget_share(b);
    return held < share ? share - held : 0;
}

net_pace net_budget_judge(const net_budget *b, size_t input, size_t output, int waiting)
{
    size_t share = net_budget_share(b);
    if (input < share && output < share - input)
        return NET_PACE_GO;
    /* Output drains as the peer reads; then the judgement is made again. */
    if (output)
        return NET_PACE_SLOW;
    /* Nothing to drain: working on what is in is the only way on. */
    if (waiting)
        return NET_PACE_WORK;
    return NET_PACE_CLOSE;
}

void net_budget_reclaim(net_budget *b, void (*evict)(net_budget_member *m, void *ctx), void *ctx)
{
    if (!b || !b->reclaim || b->held <= b->limit)
        return;
    b->reclaim = 0;
    /* Twice the share: a member just over it (one read, one message past
     * its room) is growing within its share, not holding an old one. */
    size_t share = net_budget_share(b);
    size_t over = share > SIZE_MAX / 2 ? SIZE_MAX : 2 * share;
    net_budget_member *m = b->list, *next;
    for (; m; m = next) {
        next = m->next;
        if (m->held > over)
            evict(m, ctx);
    }
}
