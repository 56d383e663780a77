/* disk.c: each peer's in-memory disk (term, vote, log, snapshot), written from readies at once
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

raft_index disk_last(const struct disk *d)
{
    return d->base + d->n;
}

void disk_compact(struct disk *d, raft_index index, raft_term term)
{
    if (index <= d->base)
        return;
    if (index > disk_last(d) || d->entries[index - d->base - 1].term != term) {
        disk_truncate(d, 0);
    } else {
        size_t drop = (size_t)(index - d->base);
        for (size_t i = 0; i < drop; i++)
            entry_free(&d->entries[i]);
        memmove(d->entries, d->entries + drop, (d->n - drop) * sizeof(*d->entries));
        d->n -= drop;
    }
    d->base = index;
    d->base_term = term;
}

void disk_save_snapshot(struct disk *d, raft_index index, raft_term term,
                        const struct raft_configuration *conf, const char *state)
{
    char *copy = strdup(state ? state : "");
    if (!copy)
        abort();
    free(d->snap.state);
    d->snap = (struct disk_snapshot){.index = index, .term = term, .conf = *conf, .state = copy};
}

void disk_recover(struct disk *d)
{
    if (d->snap.index > d->base)
        disk_compact(d, d->snap.index, d->snap.term);
}

void disk_boot_state(const struct disk *d, struct raft_boot_state *boot)
{
    memset(boot, 0, sizeof(*boot));
    boot->term = d->term;
    boot->voted_for = d->vote;
    boot->snapshot_index = d->snap.index;
    boot->snapshot_term = d->snap.term;
    boot->configuration = d->snap.conf;
    boot->entries = d->entries;
    boot->n_entries = d->n;
}

void disk_free(struct disk *d)
{
    disk_truncate(d, 0);
    free(d->entries);
    free(d->snap.state);
    memset(d, 0, sizeof(*d));
}

void write_op_of_ready(const struct raft_ready *rd, struct write_op *op)
{
    *op = (struct write_op){
        .seq = rd->seq,
        .hard_state_changed = rd->hard_state_changed,
        .term = rd->term,
        .vote = rd->voted_for,
        .snapshot_installed = rd->snapshot_installed,
        .snapshot_index = rd->snapshot_index,
        .snapshot_term = rd->snapshot_term,
        .log_changed = rd->log_changed,
        .persist_from = rd->persist_from,
        .entries = (struct raft_entry *)rd->entries, /* borrowed, never freed through op */
        .n_entries = rd->n_entries,
    };
}

int disk_write(struct peer *p, const struct write_op *op)
{
    struct disk *d = &p->disk;
    if (op->hard_state_changed) {
        d->term = op->term;
        d->vote = op->vote;
    }
    if (op->snapshot_installed) {
        /* raft_install_snapshot's contract: the snapshot was durable before the call. */
        if (d->snap.index < op->snapshot_index)
            return fail(p->c,
                        "peer %d: ready installs snapshot %" PRIu64 " but the disk holds %" PRIu64,
                        p->id, op->snapshot_index, d->snap.index);
        disk_compact(d, op->snapshot_index, op->snapshot_term);
    }
    if (!op->log_changed)
        return 0;
    raft_index from = op->persist_from;
    if (from < 1 || from > disk_last(d) + 1)
        return fail(p->c,
                    "peer %d: persist_from %" PRIu64 " with the log on disk ending at %" PRIu64,
                    p->id, from, disk_last(d));
    /* Entries up to base were compacted away: only what follows is stored. */
    raft_index cut = from > d->base ? from : d->base + 1;
    disk_truncate(d, (size_t)(cut - 1 - d->base));
    for (size_t i = 0; i < op->n_entries; i++)
        if (from + i >= cut && disk_append(d, &op->entries[i]) != 0)
            return fail(p->c, "peer %d: bad entry to persist", p->id);
    return 0;
}

void held_free(struct write_op *h)
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
    struct write_op *hs = realloc(p->held, (p->n_held + 1) * sizeof(*hs));
    if (!hs)
        abort();
    p->held = hs;
    struct write_op *h = &hs[p->n_held];
    write_op_of_ready(rd, h);
    h->entries = NULL; /* its own copies below */
    h->n_entries = 0;
    p->n_held++; /* counted at once, so a failure below still frees it */
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
