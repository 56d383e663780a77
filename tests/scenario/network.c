/* network.c: the wire, one FIFO queue of messages that wait until a command delivers
 * or drops them; cut links drop what would cross them. */
#include "tests/scenario/network.h"

#include <stdlib.h>
#include <string.h>

#include "tests/scenario/copies.h"
#include "tests/scenario/output.h"
#include "tests/scenario/peer.h"
#include "tests/scenario/snapshots.h"

int net_send(struct cluster *c, const struct raft_message *m, raft_id sender)
{
    struct wire w = {.kind = WIRE_RAFT, .from = m->from, .to = m->to, .m = *m};
    return net_send_wire(c, &w, sender);
}

int net_send_wire(struct cluster *c, const struct wire *w, raft_id sender)
{
    if (w->from != sender)
        return fail(c, "peer %d sent a message claiming to be from %d", sender, w->from);
    if (w->to < 1 || w->to > c->n || w->to == sender)
        return fail(c, "peer %d sent a message to invalid peer %d", sender, w->to);
    print_wire(c->out, w);
    if (!peer_up(c, w->to) || c->cut[w->from][w->to]) {
        text_printf(c->out, " (dropped)\n");
        snapshot_lost(c, w);
        return 0;
    }
    text_printf(c->out, "\n");
    if (c->qlen == c->qcap) {
        size_t cap = c->qcap ? c->qcap * 2 : 64;
        struct queued *q = realloc(c->queue, cap * sizeof(*q));
        if (!q)
            abort();
        c->queue = q;
        c->qcap = cap;
    }
    struct queued *q = &c->queue[c->qlen];
    if (wire_copy(&q->w, w) != 0)
        return fail(c, "peer %d sent a malformed message", sender);
    q->id = c->next_msg_id++;
    c->qlen++;
    return 0;
}

static void queue_remove(struct cluster *c, size_t i, struct wire *out)
{
    *out = c->queue[i].w;
    memmove(&c->queue[i], &c->queue[i + 1], (c->qlen - i - 1) * sizeof(c->queue[0]));
    c->qlen--;
}

static bool filter_match(const struct filter *f, const struct wire *w)
{
    return (f->from == 0 || f->from == w->from) && (f->to == 0 || f->to == w->to);
}

static void print_dropped(struct cluster *c, const struct wire *w)
{
    print_wire(c->out, w);
    text_printf(c->out, " (dropped)\n");
    snapshot_lost(c, w);
}

int net_drop(struct cluster *c, const struct filter *f)
{
    for (size_t i = 0; i < c->qlen;) {
        if (!filter_match(f, &c->queue[i].w)) {
            i++;
            continue;
        }
        struct wire w;
        queue_remove(c, i, &w);
        print_dropped(c, &w);
        wire_free(&w);
    }
    return snapshot_settle_lost(c);
}

/* Hands w to its destination, as that peer's daemon would. */
static int deliver_one(struct cluster *c, struct peer *to, const struct wire *w)
{
    if (w->kind == WIRE_SNAPSHOT)
        return snapshot_receive(c, to, w);
    if (w->kind == WIRE_SNAPSHOT_RESULT)
        return snapshot_result(to, w);
    int st = raft_step(to->r, &w->m, to->now);
    if (st != RAFT_OK)
        text_printf(c->out, "%d rejects a message: %s\n", to->id, raft_strerror(st));
    return peer_settle(to);
}

/* Delivers the queued messages matching f, at most max of them, in the order sent.
 * Only messages already queued count: answers they provoke wait for the next command. */
int net_deliver(struct cluster *c, const struct filter *f, size_t max)
{
    size_t n = 0;
    uint64_t *ids = malloc((c->qlen + 1) * sizeof(*ids));
    if (!ids)
        abort();
    for (size_t i = 0; i < c->qlen && n < max; i++)
        if (filter_match(f, &c->queue[i].w))
            ids[n++] = c->queue[i].id;
    int rc = 0;
    for (size_t k = 0; k < n && rc == 0; k++) {
        size_t i = 0;
        while (i < c->qlen && c->queue[i].id != ids[k])
            i++;
        if (i == c->qlen)
            continue; /* purged meanwhile, e.g. by a crash */
        struct wire w;
        queue_remove(c, i, &w);
        struct peer *to = &c->peers[w.to];
        if (!to->r || c->cut[w.from][w.to])
            print_dropped(c, &w);
        else
            rc = deliver_one(c, to, &w);
        if (rc == 0)
            rc = snapshot_settle_lost(c);
        wire_free(&w);
    }
    free(ids);
    return rc;
}
