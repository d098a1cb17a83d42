#include "crdt/status.h"

#include "crdt/bytes.h"
#include "crdt/order.h"

/* Whether every member's read marker is at or after (hlc, id) in message
 * order. Members and markers are both sorted bytewise by user. */
static int all_members_read(const status_facts *f, const conv_state *c, uint64_t hlc, op_id id)
{
    size_t j = 0;
    for (size_t i = 0; i < f->n_members; i++) {
        const msglog_str *u = &f->members[i];
        while (j < c->n_reads &&
               bytes_cmp(c->reads[j].user, c->reads[j].user_len, u->data, u->len) < 0)
            j++;
        if (j == c->n_reads ||
            bytes_cmp(c->reads[j].user, c->reads[j].user_len, u->data, u->len) != 0)
            return 0;
        const read_marker *r = &c->reads[j];
        if (order_cmp(r->hlc, r->msg, hlc, id) < 0)
            return 0;
    }
    return 1;
}

int status_of_message(const status_facts *f, const conv_state *c, uint64_t hlc, op_id id)
{
    if (!vv_entries_cover(f->relay_vv, f->n_relay_vv, id))
        return MSGLOG_STATUS_PENDING;
    if (f->n_members == 0 || !vv_entries_cover(f->delivered_vv, f->n_delivered_vv, id))
        return MSGLOG_STATUS_SENT;
    return all_members_read(f, c, hlc, id) ? MSGLOG_STATUS_READ : MSGLOG_STATUS_DELIVERED;
}
