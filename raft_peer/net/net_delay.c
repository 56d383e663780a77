/* net_delay.c: a FIFO of held peer messages (net_delay.h). One timer is armed for the
 * oldest line; every line keeps the order it was sent in, even when the delay shrinks,
 * because Raft's peers read one TCP stream each and a reordered stream only costs
 * retransmissions for nothing. */
#include "raft_peer/net/net_delay.h"

#include <stdlib.h>
#include <string.h>

#include "raft_peer/net/event_loop.h"

struct net_held_line {
    struct net_held_line *next;
    uint64_t due_ms;
    raft_id to;
    size_t len;
    char data[];
};

void net_delay_init(struct net_delay *d, struct event_loop *el, net_delay_release_fn *release,
                    void *ctx)
{
    memset(d, 0, sizeof(*d));
    d->el = el;
    d->release = release;
    d->ctx = ctx;
}

/* Hands over every line whose time has come (all of them when all is set). */
static void release_due(struct net_delay *d, bool all)
{
    uint64_t now = el_now_ms();
    while (d->head && (all || d->head->due_ms <= now)) {
        struct net_held_line *h = d->head;
        d->head = h->next;
        if (!d->head)
            d->tail = NULL;
        d->bytes -= h->len;
        d->lines--;
        d->release(d->ctx, h->to, h->data, h->len);
        free(h);
    }
    if (!d->head)
        d->full_reported = false;
}

static int64_t on_due(struct event_loop *el, int64_t id, void *data)
{
    (void)el;
    (void)id;
    struct net_delay *d = data;
    release_due(d, false);
    if (!d->head) {
        d->timer = 0;
        return -1;
    }
    uint64_t now = el_now_ms();
    return d->head->due_ms > now ? (int64_t)(d->head->due_ms - now) : 0;
}

void net_delay_set(struct net_delay *d, uint32_t ms)
{
    d->ms = ms;
    if (ms == 0) {
        release_due(d, true);
        if (d->timer)
            el_del_timer(d->el, d->timer);
        d->timer = 0;
    }
}

int net_delay_hold(struct net_delay *d, raft_id to, const char *line, size_t len, bool *first_drop)
{
    *first_drop = false;
    struct net_held_line *h = NULL;
    if (d->bytes + len <= NET_DELAY_MAX_BYTES && d->lines < NET_DELAY_MAX_LINES)
        h = malloc(sizeof(*h) + len);
    if (!h) {
        d->dropped++;
        *first_drop = !d->full_reported;
        d->full_reported = true;
        return -1;
    }
    uint64_t now = el_now_ms();
    uint64_t due = now + d->ms;
    if (d->tail && d->tail->due_ms > due)
        due = d->tail->due_ms; /* a shorter delay never lets a line overtake an older one */
    h->next = NULL;
    h->due_ms = due;
    h->to = to;
    h->len = len;
    memcpy(h->data, line, len);
    if (d->tail)
        d->tail->next = h;
    else
        d->head = h;
    d->tail = h;
    d->bytes += len;
    d->lines++;
    if (!d->timer) {
        d->timer = el_add_timer(d->el, (int64_t)(due - now), on_due, d);
        if (d->timer < 0)
            d->timer = 0; /* no memory for a timer: the next hold tries again */
    }
    return 0;
}

void net_delay_free(struct net_delay *d)
{
    while (d->head) {
        struct net_held_line *h = d->head;
        d->head = h->next;
        free(h);
    }
    d->tail = NULL;
    d->bytes = d->lines = 0;
    if (d->timer && d->el)
        el_del_timer(d->el, d->timer);
    d->timer = 0;
}
