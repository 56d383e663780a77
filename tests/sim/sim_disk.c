/* sim_disk.c: durable hard state, snapshot and log, and the queue of writes in flight. */
#include "sim_disk.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_alloc.h"

void sim_disk_init(struct sim_disk *d)
{
    memset(d, 0, sizeof(*d));
}

static void free_entries(struct sim_disk_entry *e, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(e[i].data);
}

void sim_disk_free(struct sim_disk *d)
{
    sim_disk_drop_pending(d);
    free_entries(d->e, d->n_e);
    free(d->e);
    sim_log_free(&d->meta);
    memset(d, 0, sizeof(*d));
}

/* ---- the stored log ------------------------------------------------------- */

static raft_index raw_last(const struct sim_disk *d)
{
    return d->base + d->n_e;
}

static const struct sim_disk_entry *raw_at(const struct sim_disk *d, raft_index i)
{
    if (i <= d->base || i > raw_last(d))
        return NULL;
    return &d->e[i - d->base - 1];
}

/* Keeps stored entries up to last. */
static void raw_truncate(struct sim_disk *d, raft_index last)
{
    if (last >= raw_last(d))
        return;
    size_t keep = last > d->base ? (size_t)(last - d->base) : 0;
    free_entries(d->e + keep, d->n_e - keep);
    d->n_e = keep;
}

static void raw_append_moved(struct sim_disk *d, struct sim_disk_entry *src)
{
    sim_grow((void **)&d->e, &d->cap, d->n_e + 1, sizeof(*d->e));
    d->e[d->n_e++] = *src;
    src->data = NULL;
    src->len = 0;
}

/* Whether the stored entries after the snapshot belong to it (Figure 13). */
static bool follows_snapshot(const struct sim_disk *d)
{
    if (d->snap_index == 0 || d->base >= d->snap_index)
        return true;
    const struct sim_disk_entry *e = raw_at(d, d->snap_index);
    return e && e->term == d->snap_term;
}

/* Brings meta, the recoverable log, up to date from index `from` on. Its prefix up to
 * the snapshot is set by sim_disk_snapshot and never touched here. */
static void rebuild_meta(struct sim_disk *d, raft_index from)
{
    if (from <= d->snap_index)
        from = d->snap_index + 1;
    if (from > d->meta.len + 1)
        from = d->meta.len + 1;
    sim_log_truncate(&d->meta, from - 1);
    if (!follows_snapshot(d))
        return;
    for (raft_index i = from; i <= raw_last(d); i++) {
        const struct sim_disk_entry *e = raw_at(d, i);
        if (!e)
            break; /* nothing stored there: the recoverable log ends */
        sim_log_push(&d->meta, e->term, e->dhash);
    }
}

/* ---- jobs ----------------------------------------------------------------- */

struct sim_job *sim_disk_job_new(const struct raft_ready *rd)
{
    struct sim_job *job = sim_xcalloc(1, sizeof(*job));
    job->seq = rd->seq;
    if (rd->hard_state_changed) {
        job->hard = true;
        job->term = rd->term;
        job->vote = rd->voted_for;
    }
    if (rd->snapshot_installed) {
        job->snap = true;
        job->snap_index = rd->snapshot_index;
        job->snap_term = rd->snapshot_term;
    }
    if (rd->log_changed) {
        job->log = true;
        job->from = rd->persist_from;
        job->n_ents = rd->n_entries;
        job->ents = sim_xcalloc(rd->n_entries, sizeof(*job->ents));
        for (size_t i = 0; i < rd->n_entries; i++) {
            const struct raft_entry *src = &rd->entries[i];
            struct sim_disk_entry *dst = &job->ents[i];
            dst->term = src->term;
            dst->type = src->type;
            dst->len = src->len;
            dst->dhash = sim_entry_hash(src);
            if (src->len) {
                dst->data = sim_xmalloc(src->len);
                memcpy(dst->data, src->data, src->len);
            }
        }
    }
    return job;
}

void sim_disk_job_hold(struct sim_job *job, struct raft_message *msg, uint64_t expect_chain)
{
    job->held = sim_xrealloc(job->held, (job->n_held + 1) * sizeof(*job->held));
    job->held[job->n_held].msg = msg;
    job->held[job->n_held].expect_chain = expect_chain;
    job->n_held++;
}

void sim_disk_job_free(struct sim_job *job)
{
    if (!job)
        return;
    if (job->ents) {
        free_entries(job->ents, job->n_ents);
        free(job->ents);
    }
    for (size_t i = 0; i < job->n_held; i++)
        free(job->held[i].msg);
    free(job->held);
    free(job);
}

void sim_disk_push(struct sim_disk *d, struct sim_job *job, raft_time done_at)
{
    /* FIFO: a write never overtakes an earlier one (the header's ordering rule). */
    if (done_at < d->busy_until)
        done_at = d->busy_until;
    job->done_at = done_at;
    d->busy_until = done_at;
    job->serial = ++d->next_serial;
    job->next = NULL;
    if (d->tail)
        d->tail->next = job;
    else
        d->head = job;
    d->tail = job;
}

struct sim_job *sim_disk_pop(struct sim_disk *d, uint64_t serial)
{
    struct sim_job *job = d->head;
    if (!job || job->serial != serial)
        return NULL;
    d->head = job->next;
    if (!d->head)
        d->tail = NULL;
    job->next = NULL;
    return job;
}

raft_index sim_disk_change_point(const struct sim_disk *d, const struct sim_job *job)
{
    if (!job->log || job->from == 0)
        return 0;
    raft_index covered = d->snap_index; /* entries up to here come from the snapshot */
    for (size_t i = 0; i < job->n_ents; i++) {
        raft_index idx = job->from + i;
        if (idx <= covered)
            continue;
        const struct sim_meta *old = sim_log_at(&d->meta, idx);
        if (!old)
            return 0;
        if (old->term != job->ents[i].term || old->dhash != job->ents[i].dhash)
            return idx;
    }
    raft_index end = job->from + job->n_ents; /* first index after the new entries */
    if (end <= covered)
        end = covered + 1;
    return end <= d->meta.len ? end : 0;
}

static int write_hard_state(struct sim_disk *d, const struct sim_job *job, char *err, size_t errlen)
{
    if (job->term < d->term) {
        snprintf(err, errlen, "hard state term goes back from %llu to %llu",
                 (unsigned long long)d->term, (unsigned long long)job->term);
        return -1;
    }
    if (job->term == d->term && d->vote != RAFT_NOBODY && job->vote != d->vote) {
        snprintf(err, errlen, "vote in term %llu changes from %d to %d on disk",
                 (unsigned long long)d->term, d->vote, job->vote);
        return -1;
    }
    d->term = job->term;
    d->vote = job->vote;
    return 0;
}

void sim_disk_compact(struct sim_disk *d, raft_index index, raft_term term)
{
    if (index <= d->base)
        return;
    const struct sim_disk_entry *at = raw_at(d, index);
    if (at && at->term != term)
        raw_truncate(d, index - 1); /* the entries after it do not follow the snapshot */
    if (index >= raw_last(d)) {
        raw_truncate(d, d->base);
        d->base = index; /* the next append must be at index + 1 */
    } else {
        size_t drop = (size_t)(index - d->base);
        free_entries(d->e, drop);
        memmove(d->e, d->e + drop, (d->n_e - drop) * sizeof(*d->e));
        d->n_e -= drop;
        d->base = index;
    }
    rebuild_meta(d, d->snap_index + 1);
}

int sim_disk_write(struct sim_disk *d, struct sim_job *job, char *err, size_t errlen)
{
    if (job->hard && write_hard_state(d, job, err, errlen) != 0)
        return -1;
    if (job->snap) {
        if (job->snap_index > d->snap_index) {
            snprintf(err, errlen,
                     "ready installs a snapshot at %llu, but the durable one is at %llu",
                     (unsigned long long)job->snap_index, (unsigned long long)d->snap_index);
            return -1;
        }
        sim_disk_compact(d, job->snap_index, job->snap_term);
    }
    if (!job->log)
        return 0;
    if (job->from == 0 || job->from > raw_last(d) + 1) {
        snprintf(err, errlen,
                 "ready asks to write from index %llu but the durable log ends at %llu "
                 "(a hole)",
                 (unsigned long long)job->from, (unsigned long long)raw_last(d));
        return -1;
    }
    /* Entries up to base were compacted away: only what follows is stored. */
    raft_index cut = job->from > d->base ? job->from : d->base + 1;
    raw_truncate(d, cut - 1);
    for (size_t i = 0; i < job->n_ents; i++)
        if (job->from + i >= cut)
            raw_append_moved(d, &job->ents[i]);
    rebuild_meta(d, job->from);
    return 0;
}

void sim_disk_snapshot(struct sim_disk *d, raft_index index, raft_term term, uint64_t chain,
                       const struct raft_configuration *conf, const struct sim_log *prefix)
{
    if (index <= d->snap_index)
        return;
    d->snap_index = index;
    d->snap_term = term;
    d->snap_chain = chain;
    d->snap_conf = *conf;
    /* The recoverable log now starts with the snapshot's prefix. */
    if (!(d->meta.len >= index && sim_log_chain(&d->meta, index) == chain)) {
        sim_log_truncate(&d->meta, 0);
        for (raft_index i = 1; i <= index; i++) {
            const struct sim_meta *m = sim_log_at(prefix, i);
            sim_log_push(&d->meta, m->term, m->dhash);
        }
    }
    rebuild_meta(d, index + 1);
}

void sim_disk_drop_pending(struct sim_disk *d)
{
    while (d->head) {
        struct sim_job *job = d->head;
        d->head = job->next;
        sim_disk_job_free(job);
    }
    d->tail = NULL;
    d->busy_until = 0;
}

enum sim_torn sim_disk_crash(struct sim_disk *d, struct sim_rng *rng, uint32_t torn_ppm)
{
    enum sim_torn torn = SIM_TORN_NONE;
    struct sim_job *job = d->head;
    /* The write in progress may be torn in a way real storage can tear: the hard state
     * (its own file) without the log, or a pure append cut short (a torn tail dropped
     * by the checksum). Rewrites and compactions are taken to be atomic. */
    if (job && sim_rng_chance(rng, torn_ppm)) {
        char err[128];
        bool pure_append = job->log && !job->snap && job->from == raw_last(d) + 1 &&
                           job->from > d->base && job->n_ents > 0;
        if (job->hard && (!pure_append || sim_rng_below(rng, 2) == 0)) {
            if (write_hard_state(d, job, err, sizeof(err)) == 0)
                torn = SIM_TORN_HARD_STATE;
        } else if (pure_append) {
            if (!job->hard || write_hard_state(d, job, err, sizeof(err)) == 0) {
                size_t k = (size_t)sim_rng_below(rng, job->n_ents);
                for (size_t i = 0; i < k; i++)
                    raw_append_moved(d, &job->ents[i]);
                rebuild_meta(d, job->from);
                torn = SIM_TORN_PREFIX;
            }
        }
    }
    sim_disk_drop_pending(d);
    return torn;
}

void sim_disk_recover(struct sim_disk *d)
{
    if (d->snap_index > d->base)
        sim_disk_compact(d, d->snap_index, d->snap_term);
}

struct raft_entry *sim_disk_boot(const struct sim_disk *d, struct raft_boot_state *boot)
{
    memset(boot, 0, sizeof(*boot));
    boot->term = d->term;
    boot->voted_for = d->vote;
    boot->snapshot_index = d->snap_index;
    boot->snapshot_term = d->snap_term;
    /* The recoverable entries: those of meta after the snapshot, stored in e[]. */
    size_t n = d->meta.len > d->snap_index ? (size_t)(d->meta.len - d->snap_index) : 0;
    struct raft_entry *ents = sim_xcalloc(n, sizeof(*ents));
    for (size_t i = 0; i < n; i++) {
        const struct sim_disk_entry *e = raw_at(d, d->snap_index + 1 + i);
        ents[i].term = e->term;
        ents[i].type = e->type;
        ents[i].len = e->len;
        ents[i].data = e->data;
    }
    boot->entries = ents;
    boot->n_entries = n;
    return ents;
}
