/* network.c: the wire, one FIFO queue of messages that wait until a command delivers
 * or drops them; cut links drop what would cross them. */
#include "tests/scenario/network.h"

#include <stdlib.h>
#include <string.h>

#include "tests/scenario/copies.h"
#include "tests/scenario/output.h"
#include "tests/scenario/peer.h"

/* Prints m and queues a copy, or prints it as dropped (peer down, link cut). */
int net_send(struct cluster *c, const struct raft_message *m, raft_id sender)
{
    if (m->from != sender)
        return fail(c, "peer %d sent a message claiming to be from %d", sender, m->from);
    if (m->to < 1 || m->to > c->n || m->to == sender)
        return fail(c, "peer %d sent a message to invalid peer %d", sender, m->to);
    print_message(c->out, m);
    if (!peer_up(c, m->to) || c->cut[m->from][m->to]) {
        text_printf(c->out, " (dropped)\n");
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
    if (message_copy(&q->m, m) != 0)
        return fail(c, "peer %d sent a malformed message", sender);
    q->id = c->next_msg_id++;
    c->qlen++;
    return 0;
}

static void queue_remove(struct cluster *c, size_t i, struct raft_message *out)
{
    *out = c->queue[i].m;
    memmove(&c->queue[i], &c->queue[i + 1], (c->qlen - i - 1) * sizeof(c->queue[0]));
    c->qlen--;
}

static bool filter_match(const struct filter *f, const struct raft_message *m)
{
    return (f->from == 0 || f->from == m->from) && (f->to == 0 || f->to == m->to);
}

/* Removes queued messages matching f (all of them), printing each as dropped. */
void net_drop(struct cluster *c, const struct filter *f)
{
    for (size_t i = 0; i < c->qlen;) {
        if (!filter_match(f, &c->queue[i].m)) {
            i++;
            continue;
        }
        struct raft_message m;
        queue_remove(c, i, &m);
        print_message(c->out, &m);
        text_printf(c->out, " (dropped)\n");
        message_free(&m);
    }
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
        if (filter_match(f, &c->queue[i].m))
            ids[n++] = c->queue[i].id;
    int rc = 0;
    for (size_t k = 0; k < n && rc == 0; k++) {
        size_t i = 0;
        while (i < c->qlen && c->queue[i].id != ids[k])
            i++;
        if (i == c->qlen)
            continue; /* purged meanwhile, e.g. by a crash */
        struct raft_message m;
        queue_remove(c, i, &m);
        struct peer *to = &c->peers[m.to];
        if (!to->r || c->cut[m.from][m.to]) {
            print_message(c->out, &m);
            text_printf(c->out, " (dropped)\n");
        } else {
            int st = raft_step(to->r, &m, to->now);
            if (st != RAFT_OK)
                text_printf(c->out, "%d rejects a message: %s\n", to->id, raft_strerror(st));
            rc = peer_settle(to);
        }
        message_free(&m);
    }
    free(ids);
    return rc;
}
