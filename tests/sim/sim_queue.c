/* sim_queue.c: binary min-heap of events. */
#include "sim_queue.h"

#include <stdlib.h>

#include "sim_alloc.h"

static bool before(const struct sim_event *a, const struct sim_event *b)
{
    if (a->time != b->time)
        return a->time < b->time;
    return a->seq < b->seq;
}

void sim_queue_init(struct sim_queue *q)
{
    q->heap = NULL;
    q->len = 0;
    q->cap = 0;
    q->next_seq = 0;
}

void sim_queue_push(struct sim_queue *q, const struct sim_event *ev)
{
    sim_grow((void **)&q->heap, &q->cap, q->len + 1, sizeof(*q->heap));
    struct sim_event e = *ev;
    e.seq = q->next_seq++;
    size_t i = q->len++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (!before(&e, &q->heap[parent]))
            break;
        q->heap[i] = q->heap[parent];
        i = parent;
    }
    q->heap[i] = e;
}

bool sim_queue_pop(struct sim_queue *q, struct sim_event *out)
{
    if (q->len == 0)
        return false;
    *out = q->heap[0];
    struct sim_event last = q->heap[--q->len];
    size_t i = 0;
    for (;;) {
        size_t child = 2 * i + 1;
        if (child >= q->len)
            break;
        if (child + 1 < q->len && before(&q->heap[child + 1], &q->heap[child]))
            child++;
        if (!before(&q->heap[child], &last))
            break;
        q->heap[i] = q->heap[child];
        i = child;
    }
    if (q->len > 0)
        q->heap[i] = last;
    return true;
}

void sim_queue_free(struct sim_queue *q, void (*drop)(struct sim_event *ev))
{
    if (drop)
        for (size_t i = 0; i < q->len; i++)
            drop(&q->heap[i]);
    free(q->heap);
    sim_queue_init(q);
}
