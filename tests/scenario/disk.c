/* disk.c: each peer's in-memory disk (term, vote, log), written from readies at once
 * or, on a manual disk, held until `sync` and lost in a crash. */
#include "tests/scenario/disk.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "tests/scenario/bounds.h"
#include "tests/scenario/cluster.h"
#include "tests/scenario/copies.h"

void disk_truncate(struct disk *d, size_t n)
{
    while (d->n > n)
        entry_free(&d->entries[--d->n]);
}

int disk_append(struct disk *d, const struct raft_entry *e)
{
    if (d->n >= SC_MAX_LOG)
        return -1;
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 16;
        struct raft_entry *es = realloc(d->entries, cap * sizeof(*es));
        if (!es)
            abort();
        d->entries = es;
        d->cap = cap;
    }
    if (entry_copy(&d->entries[d->n], e) != 0)
        return -1;
    d->n++;
    return 0;
}

int disk_write(struct peer *p, bool hs, raft_term term, raft_id vote, bool log_changed,
               raft_index from, const struct raft_entry *es, size_t n)
{
    if (hs) {
        p->disk.term = term;
        p->disk.vote = vote;
    }
    if (!log_changed)
        return 0;
    if (from < 1 || from > p->disk.n + 1)
        return fail(p->c, "peer %d: persist_from %" PRIu64 " with %zu entries on disk", p->id, from,
                    p->disk.n);
    disk_truncate(&p->disk, (size_t)from - 1);
    for (size_t i = 0; i < n; i++)
        if (disk_append(&p->disk, &es[i]) != 0)
            return fail(p->c, "peer %d: bad entry to persist", p->id);
    return 0;
}

void held_free(struct held_write *h)
{
    for (size_t i = 0; i < h->n_entries; i++)
        entry_free(&h->entries[i]);
    free(h->entries);
    for (size_t i = 0; i < h->n_after; i++)
        message_free(&h->after[i]);
    free(h->after);
    memset(h, 0, sizeof(*h));
}

/* Manual disk: keeps a copy of the ready's writes and late messages for `sync`. */
int hold_write(struct peer *p, const struct raft_ready *rd)
{
    if (p->n_held >= SC_GUARD)
        return fail(p->c, "peer %d: too many writes waiting for sync", p->id);
    struct held_write *hs = realloc(p->held, (p->n_held + 1) * sizeof(*hs));
    if (!hs)
        abort();
    p->held = hs;
    struct held_write *h = &hs[p->n_held];
    memset(h, 0, sizeof(*h));
    p->n_held++; /* counted at once, so a failure below still frees it */
    h->seq = rd->seq;
    h->hard_state_changed = rd->hard_state_changed;
    h->term = rd->term;
    h->vote = rd->voted_for;
    h->log_changed = rd->log_changed;
    h->persist_from = rd->persist_from;
    if (rd->log_changed && rd->n_entries > 0) {
        if (rd->n_entries > SC_MAX_LOG || !rd->entries)
            return fail(p->c, "peer %d: bad entries to persist", p->id);
        h->entries = calloc(rd->n_entries, sizeof(*h->entries));
        if (!h->entries)
            abort();
        for (size_t i = 0; i < rd->n_entries; i++, h->n_entries++)
            if (entry_copy(&h->entries[i], &rd->entries[i]) != 0)
                return fail(p->c, "peer %d: bad entry to persist", p->id);
    }
    h->after = calloc(rd->n_messages + 1, sizeof(*h->after));
    if (!h->after)
        abort();
    for (size_t i = 0; i < rd->n_messages; i++) {
        if (!rd->messages[i].after_persist)
            continue;
        if (message_copy(&h->after[h->n_after], &rd->messages[i]) != 0)
            return fail(p->c, "peer %d sent a malformed message", p->id);
        h->n_after++;
    }
    return 0;
}

void drop_held(struct peer *p)
{
    if (p->n_held > 0)
        text_printf(p->c->out, "%d crashes with %zu write%s not on disk\n", p->id, p->n_held,
                    p->n_held == 1 ? "" : "s");
    for (size_t k = 0; k < p->n_held; k++)
        held_free(&p->held[k]);
    p->n_held = 0;
}
