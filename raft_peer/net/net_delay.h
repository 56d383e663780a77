/* net_delay.h: the `delay MS` fault: peer messages held in a queue for MS milliseconds
 * before they are written, released in order by one event-loop timer. Memory is bounded:
 * past the limits a message is dropped, as a lossy network would (Raft resends). */
#ifndef RAFT_PEER_NET_DELAY_H
#define RAFT_PEER_NET_DELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft_peer/core/raft.h"

struct event_loop;

#define NET_DELAY_MAX_BYTES (16u << 20) /* bytes held at once */
#define NET_DELAY_MAX_LINES 65536       /* messages held at once */

/* Called for each held line once its time has come: to, and the line with its newline. */
typedef void net_delay_release_fn(void *ctx, raft_id to, const char *line, size_t len);

struct net_held_line;

struct net_delay {
    struct event_loop *el;
    net_delay_release_fn *release;
    void *ctx;
    uint32_t ms;
    struct net_held_line *head, *tail; /* due times never decrease from head to tail */
    size_t bytes, lines;
    int64_t timer; /* 0 when none is armed */
    uint64_t dropped;
    bool full_reported; /* "held messages exceed..." logged; said again after a drain */
};

void net_delay_init(struct net_delay *d, struct event_loop *el, net_delay_release_fn *release,
                    void *ctx);
/* 0 releases everything held at once, in order, so nothing overtakes what was held. */
void net_delay_set(struct net_delay *d, uint32_t ms);
static inline bool net_delay_active(const struct net_delay *d)
{
    return d->ms > 0;
}
/* Holds a copy of line for d->ms. 0, or -1 when it was dropped (limits or no memory);
 * *first_drop is then true the first time since the queue last drained, for one log line. */
int net_delay_hold(struct net_delay *d, raft_id to, const char *line, size_t len, bool *first_drop);
/* Frees what is held without releasing it, and the timer. */
void net_delay_free(struct net_delay *d);

#endif
