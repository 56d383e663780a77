/* crash_oracle.c: the promises of crash_oracle.h and their checks. */
#include "crash_oracle.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "raft_peer/storage/crc32c.h"

uint32_t oracle_entry_crc(const struct raft_entry *e)
{
    uint32_t crc = crc32c(0, &e->type, 1);
    return crc32c(crc, e->data, e->len);
}

void oracle_written(struct oracle *o, raft_index first, const struct raft_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        raft_index at = first + i;
        struct entry_id id = {e[i].term, oracle_entry_crc(&e[i])};
        for (int v = 0; v < ORACLE_MAX_VERSIONS; v++) {
            struct entry_id *w = &o->written[at][v];
            if (w->term == 0 || (w->term == id.term && w->crc == id.crc)) {
                *w = id;
                break;
            }
        }
    }
}

static int version_of(const struct oracle *o, raft_index i, struct entry_id id)
{
    for (int v = 0; v < ORACLE_MAX_VERSIONS; v++)
        if (o->written[i][v].term == id.term && o->written[i][v].crc == id.crc)
            return v;
    return -1;
}

static int versions_at(const struct oracle *o, raft_index i)
{
    int v = 0;
    while (v < ORACLE_MAX_VERSIONS && o->written[i][v].term != 0)
        v++;
    return v;
}

/* After a successful storage_append(first, e, n): what it dropped is gone for good. */
void oracle_appended(struct oracle *o, raft_index first, const struct raft_entry *e, size_t n)
{
    if (first <= o->pending_last) {
        /* A completed truncation: older versions from first on must never return. */
        for (raft_index i = first; i <= ORACLE_MAX_INDEX; i++) {
            struct entry_id id = {0, 0};
            if (i < first + n)
                id = (struct entry_id){e[i - first].term, oracle_entry_crc(&e[i - first])};
            int v = i < first + n ? version_of(o, i, id) : -1;
            o->valid_from[i] = v >= 0 ? v : versions_at(o, i);
        }
    }
    if (first <= o->acked_last)
        o->acked_last = first - 1;
    for (size_t i = 0; i < n; i++)
        o->pending[first + i] = (struct entry_id){e[i].term, oracle_entry_crc(&e[i])};
    o->pending_last = first + n - 1;
}

void oracle_synced(struct oracle *o)
{
    for (raft_index i = o->acked_last + 1; i <= o->pending_last; i++)
        o->acked[i] = o->pending[i];
    if (o->pending_last > o->acked_last)
        o->acked_last = o->pending_last;
}

void oracle_compacted(struct oracle *o, raft_index index)
{
    if (index > o->acked_last)
        o->acked_last = index; /* covered by the snapshot: the check starts after it */
    if (index > o->pending_last)
        o->pending_last = index;
}

void oracle_snapshot_written(struct oracle *o, struct snap_id s)
{
    if (o->n_snaps < ORACLE_MAX_SNAPS)
        o->snaps[o->n_snaps++] = s;
}

static bool was_written(const struct oracle *o, raft_index i, struct entry_id id)
{
    for (int v = o->valid_from[i]; v < ORACLE_MAX_VERSIONS; v++)
        if (o->written[i][v].term == id.term && o->written[i][v].crc == id.crc)
            return true;
    return false;
}

static bool same_entry(struct entry_id a, struct entry_id b)
{
    return a.term == b.term && a.crc == b.crc;
}

static bool holds(const struct recovered *r, raft_index i, struct entry_id id)
{
    return i >= r->first && i <= r->last && same_entry(r->e[i], id);
}

void oracle_check(const struct oracle *o, const struct recovered *r, char *why, size_t len)
{
    why[0] = '\0';
    if (r->rc != 0) {
        snprintf(why, len, "recovery refused: %s", r->err);
        return;
    }
    if (r->term < o->term || (r->term == o->term && o->vote != 0 && r->vote != o->vote)) {
        snprintf(why, len,
                 "hard state term %" PRIu64 " vote %d, acknowledged term %" PRIu64 " vote %d",
                 r->term, r->vote, o->term, o->vote);
        return;
    }
    if (r->snap.index < o->snap_index) {
        snprintf(why, len, "snapshot at %" PRIu64 ", acknowledged one at %" PRIu64, r->snap.index,
                 o->snap_index);
        return;
    }
    bool known = r->snap.index == 0;
    for (size_t i = 0; i < o->n_snaps; i++)
        known |= o->snaps[i].index == r->snap.index && o->snaps[i].term == r->snap.term &&
                 o->snaps[i].crc == r->snap.crc;
    if (!known) {
        snprintf(why, len, "a snapshot at %" PRIu64 " that was never written", r->snap.index);
        return;
    }
    for (raft_index i = r->snap.index + 1; i <= o->acked_last; i++) {
        if (o->excused_from != 0 && i >= o->excused_from)
            break;
        if (!holds(r, i, o->acked[i])) {
            snprintf(why, len,
                     "acknowledged entry %" PRIu64 " (term %" PRIu64
                     ") lost: the log holds %" PRIu64 "..%" PRIu64,
                     i, o->acked[i].term, r->first, r->last);
            return;
        }
    }
    for (raft_index i = r->first; i <= r->last; i++) {
        if (!was_written(o, i, r->e[i])) {
            snprintf(why, len,
                     "entry %" PRIu64 " (term %" PRIu64
                     ") was never written, or a completed truncation had cut it",
                     i, r->e[i].term);
            return;
        }
    }
}

void oracle_check_again(const struct recovered *first, const struct recovered *second, char *why,
                        size_t len)
{
    why[0] = '\0';
    if (second->rc != 0) {
        snprintf(why, len, "second recovery refused: %s", second->err);
        return;
    }
    if (second->term < first->term ||
        (second->term == first->term && first->vote != 0 && second->vote != first->vote)) {
        snprintf(why, len,
                 "hard state loaded at open (term %" PRIu64 " vote %d) lost: now term %" PRIu64
                 " vote %d",
                 first->term, first->vote, second->term, second->vote);
        return;
    }
    if (second->snap.index < first->snap.index) {
        snprintf(why, len, "snapshot loaded at open (%" PRIu64 ") lost: now %" PRIu64,
                 first->snap.index, second->snap.index);
        return;
    }
    for (raft_index i = second->snap.index + 1; i <= first->last; i++) {
        if (i < first->first)
            continue;
        if (!holds(second, i, first->e[i])) {
            snprintf(why, len,
                     "entry %" PRIu64 " loaded at open (so counted as persisted) lost "
                     "by the next power cut: the log holds %" PRIu64 "..%" PRIu64,
                     i, second->first, second->last);
            return;
        }
    }
}
