/* sim_store.c: the real storage under each simulated node (sim_store.h). */
#include "sim_store.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raft_peer/storage/snapshot_store.h"
#include "raft_peer/storage/storage.h"
#include "sim_fs.h"

/* Small segments, so runs roll over and compact whole segments. */
#define SIM_SEGMENT_BYTES  4096
#define SIM_SNAPSHOT_BYTES 300

static void node_dir(const struct sim_node *n, char dir[16])
{
    snprintf(dir, 16, "/n%d", n->id);
}

static void as_node(struct sim *s, const struct sim_node *n)
{
    sim_fs_set_owner(s->fs, n->id);
}

void sim_store_start(struct sim *s)
{
    s->fs = sim_fs_new();
    sim_fs_use(s->fs);
}

void sim_store_stop(struct sim *s)
{
    for (int i = 1; i <= s->p.n; i++)
        sim_store_free(&s->nodes[i]);
    sim_fs_free(s->fs);
    s->fs = NULL;
}

/* The daemon's order (raft_peer/peer.c): compaction, hard state, append. */
static void write_ready(struct sim *s, struct sim_node *n, bool compact, raft_index snap_index,
                        raft_term snap_term, bool hard, raft_term term, raft_id vote, bool log,
                        raft_index from, const struct raft_entry *e, size_t n_e)
{
    char err[300];
    as_node(s, n);
    if (compact && storage_compact(n->store, snap_index, snap_term, err, sizeof err) != 0) {
        sim_fail(s, "Storage", "node %d: storage_compact: %s", n->id, err);
        return;
    }
    if (hard && storage_save_hard_state(n->store, term, vote, err, sizeof err) != 0) {
        sim_fail(s, "Storage", "node %d: storage_save_hard_state: %s", n->id, err);
        return;
    }
    if (log && storage_append(n->store, from, e, n_e, err, sizeof err) != 0)
        sim_fail(s, "Storage", "node %d: storage_append: %s", n->id, err);
}

void sim_store_write(struct sim *s, struct sim_node *n, const struct raft_ready *rd,
                     struct sim_job *job)
{
    if (n->store == NULL || s->failed || job == NULL)
        return;
    if (rd->hard_state_changed || rd->snapshot_installed || n->store_deferred > 0) {
        job->store_deferred = true;
        n->store_deferred++;
        return;
    }
    write_ready(s, n, false, 0, 0, false, 0, 0, rd->log_changed, rd->persist_from, rd->entries,
                rd->n_entries);
}

void sim_store_complete(struct sim *s, struct sim_node *n, const struct sim_job *job)
{
    char err[300];
    if (n->store == NULL || s->failed)
        return;
    if (job->store_deferred) {
        n->store_deferred--;
        struct raft_entry *e = calloc(job->n_ents ? job->n_ents : 1, sizeof *e);
        if (e == NULL)
            abort();
        for (size_t i = 0; i < job->n_ents; i++)
            e[i] = (struct raft_entry){.term = job->ents[i].term,
                                       .type = job->ents[i].type,
                                       .data = job->ents[i].data,
                                       .len = job->ents[i].len};
        write_ready(s, n, job->snap, job->snap_index, job->snap_term, job->hard, job->term,
                    job->vote, job->log, job->from, e, job->n_ents);
        free(e);
        if (s->failed)
            return;
    }
    as_node(s, n);
    if (storage_sync(n->store, err, sizeof err) != 0)
        sim_fail(s, "Storage", "node %d: storage_sync: %s", n->id, err);
}

void sim_store_snapshot(struct sim *s, struct sim_node *n, raft_index index, raft_term term,
                        uint64_t chain, const struct raft_configuration *conf)
{
    char err[300], dir[16];
    uint8_t data[SIM_SNAPSHOT_BYTES];
    if (n->store == NULL || s->failed)
        return;
    /* The state the snapshot holds is the log chain at its index; the rest is filler
     * so that a power cut has sectors to tear. */
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(index * 31 + i);
    memcpy(data, &chain, sizeof chain);
    /* Then the configuration at index, which a snapshot carries (docs/MEMBERSHIP.md): its
     * length, then its bytes. */
    data[sizeof chain] = (uint8_t)raft_configuration_encode(conf, data + sizeof chain + 1);
    node_dir(n, dir);
    as_node(s, n);
    if (snapshot_save(dir, index, term, data, sizeof data, err, sizeof err) != 0)
        sim_fail(s, "Storage", "node %d: snapshot_save: %s", n->id, err);
}

void sim_store_compact(struct sim *s, struct sim_node *n, raft_index index, raft_term term)
{
    char err[300];
    if (n->store == NULL || s->failed)
        return;
    as_node(s, n);
    if (storage_compact(n->store, index, term, err, sizeof err) != 0)
        sim_fail(s, "Storage", "node %d: storage_compact: %s", n->id, err);
}

void sim_store_save_hard_state(struct sim *s, struct sim_node *n, raft_term term, raft_id vote)
{
    if (n->store != NULL && !s->failed)
        write_ready(s, n, false, 0, 0, true, term, vote, false, 0, NULL, 0);
}

void sim_store_crash(struct sim *s, struct sim_node *n, raft_index excused_from)
{
    char dir[16];
    storage_test_crash(n->store); /* queued bytes die with the process */
    n->store = NULL;
    n->store_deferred = 0;
    sim_fs_kill(s->fs, n->id);
    n->excused_from = excused_from;
    if (!sim_rng_chance(&s->rng, s->p.power_cut_ppm))
        return; /* kill -9: the page cache survives */
    node_dir(n, dir);
    bool subset = sim_rng_chance(&s->rng, 500000);
    uint64_t seed = sim_rng_next(&s->rng);
    sim_fs_power_cut(s->fs, dir, subset ? SIM_FS_CUT_RANDOM : SIM_FS_CUT_DROP_ALL, seed);
    s->st.power_cuts++;
}

/* Everything the model says was acknowledged must be in what the storage recovered. */
static void check_recovered(struct sim *s, struct sim_node *n, const struct storage_boot *b,
                            const struct snapshot_meta *m)
{
    const struct sim_disk *d = &n->disk;
    if (b->term < d->term ||
        (b->term == d->term && d->vote != RAFT_NOBODY && b->voted_for != d->vote)) {
        sim_fail(s, "Durability",
                 "node %d recovers term %" PRIu64 " vote %d, but term %" PRIu64
                 " vote %d was durable",
                 n->id, b->term, b->voted_for, d->term, d->vote);
        return;
    }
    if (m->index < d->snap_index) {
        sim_fail(s, "Durability", "node %d recovers the snapshot at %" PRIu64 ", not %" PRIu64,
                 n->id, m->index, d->snap_index);
        return;
    }
    raft_index from = (m->index > d->snap_index ? m->index : d->snap_index) + 1;
    for (raft_index i = from; i <= d->meta.len; i++) {
        if (n->excused_from != 0 && i >= n->excused_from)
            break;
        const struct sim_meta *want = sim_log_at(&d->meta, i);
        bool held = i >= b->first_index && i < b->first_index + b->n_entries;
        const struct raft_entry *e = held ? &b->entries[i - b->first_index] : NULL;
        if (!held || e->term != want->term || sim_entry_hash(e) != want->dhash) {
            sim_fail(
                s, "Durability",
                "node %d lost durable entry %" PRIu64 " (term %" PRIu64
                "): its storage recovered %" PRIu64 "..%" PRIu64 " after the snapshot at %" PRIu64,
                n->id, i, want->term, b->first_index, b->first_index + b->n_entries - 1, m->index);
            return;
        }
    }
}

/* The model becomes what the storage recovered: from now on all of it counts as durable,
 * as it does for the core, which raft_new() tells it is persisted. */
static void reset_model(struct sim *s, struct sim_node *n, const struct storage_boot *b,
                        const struct snapshot_meta *m, uint64_t chain,
                        const struct raft_configuration *conf)
{
    char err[240];
    struct sim_disk fresh;
    sim_disk_init(&fresh);
    fresh.term = b->term;
    fresh.vote = b->voted_for;
    if (m->index > 0) {
        sim_disk_snapshot(&fresh, m->index, m->term, chain, conf, &s->inv.committed);
        sim_disk_recover(&fresh);
    }
    if (b->n_entries > 0) {
        struct raft_ready rd;
        memset(&rd, 0, sizeof rd);
        rd.log_changed = true;
        rd.persist_from = b->first_index;
        rd.entries = b->entries;
        rd.n_entries = b->n_entries;
        struct sim_job *job = sim_disk_job_new(&rd);
        if (sim_disk_write(&fresh, job, err, sizeof err) != 0)
            sim_fail(s, "Storage", "node %d's recovered log: %s", n->id, err);
        sim_disk_job_free(job);
    }
    sim_disk_free(&n->disk);
    n->disk = fresh;
}

void sim_store_recover(struct sim *s, struct sim_node *n)
{
    char err[300], dir[16];
    struct snapshot_meta m;
    uint8_t *data = NULL;
    struct storage_boot boot;
    memset(&boot, 0, sizeof boot);

    node_dir(n, dir);
    as_node(s, n);
    sim_disk_recover(&n->disk);
    if (snapshot_load(dir, &m, &data, err, sizeof err) != 0) {
        sim_fail(s, "Durability", "node %d refuses to start: %s", n->id, err);
        return;
    }
    uint64_t chain = 0;
    struct raft_configuration conf = {0, 0};
    if (m.index > 0 && m.size >= sizeof chain)
        memcpy(&chain, data, sizeof chain);
    if (m.index > 0 &&
        (m.size < sizeof chain + 1 + RAFT_CONFIGURATION_MAX ||
         raft_configuration_decode(data + sizeof chain + 1, data[sizeof chain], &conf) != 0)) {
        free(data);
        sim_fail(s, "Durability", "node %d's snapshot at %llu holds no configuration", n->id,
                 (unsigned long long)m.index);
        return;
    }
    free(data);
    if (storage_open_after_snapshot(dir, m.index, m.term, &n->store, &boot, err, sizeof err) != 0) {
        sim_fail(s, "Durability", "node %d refuses to start: %s", n->id, err);
        return;
    }
    storage_test_set_segment_bytes(n->store, SIM_SEGMENT_BYTES);
    storage_test_set_flush_bytes(n->store, 0); /* appends reach the page cache at once */
    check_recovered(s, n, &boot, &m);
    if (!s->failed)
        reset_model(s, n, &boot, &m, chain, &conf);
    n->excused_from = 0;
    storage_boot_free(&boot);
}

void sim_store_free(struct sim_node *n)
{
    storage_test_crash(n->store);
    n->store = NULL;
}
