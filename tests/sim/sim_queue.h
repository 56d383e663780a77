/* sim_queue.h: the event queue, ordered by (virtual time, insertion sequence) so runs replay
 * exactly. */
#ifndef SIM_QUEUE_H
#define SIM_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft_peer/core/raft.h"

struct sim_event {
    raft_time time;
    uint64_t seq; /* insertion order breaks ties between events at the same time */
    void *ptr;    /* owned payload (a message in flight), or NULL */
    uint64_t aux; /* event-specific: disk job serial, ... */
    uint32_t inc; /* the node incarnation the event belongs to */
    uint8_t type; /* the caller's event kind */
    uint8_t node;
    uint8_t flags;
};

struct sim_queue {
    struct sim_event *heap;
    size_t len;
    size_t cap;
    uint64_t next_seq;
};

void sim_queue_init(struct sim_queue *q);
void sim_queue_push(struct sim_queue *q, const struct sim_event *ev);
/* Removes the earliest event into *out; false when empty. */
bool sim_queue_pop(struct sim_queue *q, struct sim_event *out);
/* Frees the heap; drop, when given, is called on every event still queued (to free ptr). */
void sim_queue_free(struct sim_queue *q, void (*drop)(struct sim_event *ev));

#endif
