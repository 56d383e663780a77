/* crash_workload.c: the workload of crash_workload.h, written as the daemon uses the
 * storage: hard state first, appends then one sync (group commit), the snapshot made
 * durable before the log is compacted behind it. */
#include "crash_workload.h"

#include <stdio.h>
#include <string.h>

#include "raft_peer/storage/crc32c.h"
#include "raft_peer/storage/snapshot_store.h"
#include "raft_peer/storage/storage.h"

#define MAX_BATCH 8

struct run {
    const struct crash_variant *v;
    struct oracle *o;
    struct storage *s;
    char *err;
    size_t errlen;
    uint8_t data[MAX_BATCH][160];
    struct raft_entry e[MAX_BATCH];
};

/* Entries [first, first + n) of term, with contents that differ by variant. */
static void make_entries(struct run *r, raft_index first, size_t n, raft_term term, int variant)
{
    for (size_t i = 0; i < n; i++) {
        raft_index at = first + i;
        uint32_t len = 20 + (uint32_t)((at * 37 + (uint64_t)variant * 11) % 120);
        for (uint32_t b = 0; b < len; b++)
            r->data[i][b] = (uint8_t)(at * 7 + term * 13 + (uint64_t)variant * 29 + b);
        r->e[i] = (struct raft_entry){
            .term = term, .type = RAFT_ENTRY_COMMAND, .data = r->data[i], .len = len};
    }
}

static int append(struct run *r, raft_index first, size_t n, raft_term term, int variant)
{
    make_entries(r, first, n, term, variant);
    oracle_written(r->o, first, r->e, n);
    /* A conflict truncation drops entries for good while it runs. */
    r->o->excused_from = first <= r->o->acked_last ? first : 0;
    int rc = storage_append(r->s, first, r->e, n, r->err, r->errlen);
    r->o->excused_from = 0;
    if (rc != STORAGE_OK)
        return -1;
    oracle_appended(r->o, first, r->e, n);
    return 0;
}

static int sync_log(struct run *r)
{
    if (storage_sync(r->s, r->err, r->errlen) != STORAGE_OK)
        return -1;
    oracle_synced(r->o);
    /* As the daemon does once it has answered: the next segment file, preallocated and
     * synced ahead of use, which the next roll renames into place. */
    storage_prepare(r->s);
    return 0;
}

static int save_hard_state(struct run *r, raft_term term, raft_id vote)
{
    if (storage_save_hard_state(r->s, term, vote, r->err, r->errlen) != STORAGE_OK)
        return -1;
    r->o->term = term;
    r->o->vote = vote;
    return 0;
}

static void snapshot_bytes(uint8_t *buf, size_t len, raft_index index)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(index * 3 + i * 5);
}

/* The daemon's own snapshot: saved durably, then the log compacted behind it. */
static int take_snapshot(struct run *r, raft_index index, raft_term term)
{
    uint8_t buf[900];
    snapshot_bytes(buf, sizeof buf, index);
    oracle_snapshot_written(r->o, (struct snap_id){index, term, crc32c(0, buf, sizeof buf)});
    if (snapshot_save(CRASH_DIR, index, term, buf, sizeof buf, r->err, r->errlen) != 0)
        return -1;
    r->o->snap_index = index;
    if (storage_compact(r->s, index, term, r->err, r->errlen) != STORAGE_OK)
        return -1;
    oracle_compacted(r->o, index);
    return 0;
}

/* A snapshot from the leader, received in chunks, then installed. */
static int install_snapshot(struct run *r, raft_index index, raft_term term)
{
    uint8_t buf[2500];
    snapshot_bytes(buf, sizeof buf, index);
    struct snapshot_meta m = {
        .index = index, .term = term, .size = sizeof buf, .crc = crc32c(0, buf, sizeof buf)};
    struct snapshot_receiver *rx = NULL;
    uint64_t have = 0;
    oracle_snapshot_written(r->o, (struct snap_id){index, term, m.crc});
    if (snapshot_receiver_open(CRASH_DIR, &m, &rx, &have, r->err, r->errlen) != 0)
        return -1;
    for (uint64_t off = have; off < m.size; off += 1000) {
        size_t n = m.size - off < 1000 ? (size_t)(m.size - off) : 1000;
        if (snapshot_receiver_write(rx, off, buf + off, n, r->err, r->errlen) != 0) {
            snapshot_receiver_close(rx);
            return -1;
        }
    }
    int rc = snapshot_receiver_finish(rx, r->err, r->errlen);
    snapshot_receiver_close(rx);
    if (rc != 0)
        return -1;
    r->o->snap_index = index;
    if (storage_compact(r->s, index, term, r->err, r->errlen) != STORAGE_OK)
        return -1;
    oracle_compacted(r->o, index);
    return 0;
}

static int steps(struct run *r)
{
    /* A follower of term 1 */
    if (save_hard_state(r, 1, 1) || append(r, 1, 5, 1, 0) || sync_log(r) || append(r, 6, 3, 1, 0) ||
        sync_log(r))
        return -1;
    /* a new term, appends in two calls under one sync */
    if (save_hard_state(r, 2, 2) || append(r, 9, 2, 2, 0) || append(r, 11, 2, 2, 0) || sync_log(r))
        return -1;
    /* a leader of term 3 overwrites the uncommitted end: a conflict truncation, into
     * the last synced batch only, or deep into earlier synced ones */
    raft_index conflict = r->v->deep_conflict ? 7 : 10;
    if (save_hard_state(r, 3, 0) || append(r, conflict, 14 - conflict, 3, 1) || sync_log(r))
        return -1;
    if (r->v->deep_conflict) {
        /* a leader of term 4 whose log holds term-2 entries at 7..8 replaces them again:
         * the stale 9..13 of term 3 would follow them without breaking term order, so
         * only the truncation keeps them from coming back */
        if (save_hard_state(r, 4, 0) || append(r, 7, 2, 2, 2) || sync_log(r) ||
            take_snapshot(r, 8, 2) || append(r, 9, 5, 4, 2) || sync_log(r))
            return -1;
    } else {
        /* the state machine's snapshot at 8, and compaction behind it */
        if (take_snapshot(r, 8, 1))
            return -1;
    }
    raft_term now = r->v->deep_conflict ? 4 : 3;
    if (append(r, 14, 4, now, 0) || sync_log(r) || append(r, 18, 3, now, 0) || sync_log(r))
        return -1;
    /* far behind a leader of term 5: its snapshot at 25 replaces the whole log */
    if (save_hard_state(r, 5, 0) || install_snapshot(r, 25, 5) || append(r, 26, 5, 5, 0) ||
        sync_log(r))
        return -1;
    /* a vote in term 6, and a last batch left unsynced */
    if (save_hard_state(r, 6, 3) || append(r, 31, 2, 5, 0))
        return -1;
    return 0;
}

const struct crash_variant crash_variants[CRASH_VARIANTS] = {
    /* small segments, so the workload rolls over several of them */
    {"small segments", 700, false},
    /* one segment over several sectors, and a conflict reaching back two batches */
    {"deep truncation", 4096, true},
};

int crash_workload_run(const struct crash_variant *v, struct oracle *o, char *err, size_t errlen)
{
    struct run r = {.v = v, .o = o, .err = err, .errlen = errlen};
    struct storage_boot boot;
    if (storage_open(CRASH_DIR, 0, &r.s, &boot, err, errlen) != STORAGE_OK)
        return -1;
    storage_boot_free(&boot);
    storage_test_set_segment_bytes(r.s, v->segment_bytes);
    storage_test_set_flush_bytes(r.s, 0); /* every append reaches the page cache at once */
    int rc = steps(&r);
    if (rc != 0) {
        storage_test_crash(r.s);
        return -1;
    }
    storage_close(r.s);
    return 0;
}
