/* network.h: the wire, one FIFO queue; `deliver` and `drop` empty it, cut links lose
 * what would cross them. */
#ifndef SCENARIO_NETWORK_H
#define SCENARIO_NETWORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft_peer/core/raft.h"
#include "tests/scenario/cluster.h"
#include "tests/scenario/wire.h"

struct queued {
    uint64_t id;
    struct wire w; /* deep copy: the sender's ready is only borrowed */
};

/* A from->to filter: 0 stands for "*". */
struct filter {
    raft_id from;
    raft_id to;
};

/* Prints m and queues a copy, or prints it as dropped (peer down, link cut). */
int net_send(struct cluster *c, const struct raft_message *m, raft_id sender);
/* The same for anything on the wire (snapshot transfers too). */
int net_send_wire(struct cluster *c, const struct wire *w, raft_id sender);
/* Removes queued messages matching f (all of them), printing each as dropped. A lost
 * snapshot transfer is a failed one: its leader hears so at once. */
int net_drop(struct cluster *c, const struct filter *f);
/* Delivers the queued messages matching f, at most max of them, in the order sent.
 * Only messages already queued count: answers they provoke wait for the next command. */
int net_deliver(struct cluster *c, const struct filter *f, size_t max);

#endif
