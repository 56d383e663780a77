/* sim_disk.c: durable hard state and log, and the queue of writes in flight. */
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
    free_entries(d->e, (size_t)d->meta.len);
    free(d->e);
    sim_log_free(&d->meta);
    memset(d, 0, sizeof(*d));
}

struct sim_job *sim_disk_job_new(const struct raft_ready *rd)
{
    struct sim_job *job = sim_xcalloc(1, sizeof(*job));
    job->seq = rd->seq;
    if (rd->hard_state_changed) {
        job->hard = true;
        job->term = rd->term;
        job->vote = rd->voted_for;
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
    if (!job->log || job->from == 0 || job->from > d->meta.len + 1)
        return 0;
    for (size_t i = 0; i < job->n_ents; i++) {
        raft_index idx = job->from + i;
        const struct sim_meta *old = sim_log_at(&d->meta, idx);
        if (!old || old->term != job->ents[i].term || old->dhash != job->ents[i].dhash)
            return old ? idx : 0;
    }
    raft_index end = job->from + job->n_ents; /* first index after the new entries */
    return end <= d->meta.len ? end : 0;
}

/* Keeps entries 1..last. */
static void truncate_to(struct sim_disk *d, raft_index last)
{
    if (last >= d->meta.len)
        return;
    free_entries(d->e + last, (size_t)(d->meta.len - last));
    sim_log_truncate(&d->meta, last);
}

static void append_moved(struct sim_disk *d, struct sim_disk_entry *src)
{
    sim_grow((void **)&d->e, &d->cap, (size_t)d->meta.len + 1, sizeof(*d->e));
    d->e[d->meta.len] = *src;
    sim_log_push(&d->meta, src->term, src->dhash);
    src->data = NULL;
    src->len = 0;
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

int sim_disk_write(struct sim_disk *d, struct sim_job *job, char *err, size_t errlen)
{
    if (job->hard && write_hard_state(d, job, err, errlen) != 0)
        return -1;
    if (!job->log)
        return 0;
    if (job->from == 0 || job->from > d->meta.len + 1) {
        snprintf(err, errlen,
                 "ready asks to write from index %llu but the durable log ends at %llu "
                 "(a hole)",
                 (unsigned long long)job->from, (unsigned long long)d->meta.len);
        return -1;
    }
    truncate_to(d, job->from - 1);
    for (size_t i = 0; i < job->n_ents; i++)
        append_moved(d, &job->ents[i]);
    return 0;
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
     * by the checksum). Rewrites of existing entries are taken to be atomic. */
    if (job && sim_rng_chance(rng, torn_ppm)) {
        char err[128];
        bool pure_append = job->log && job->from == d->meta.len + 1 && job->n_ents > 0;
        if (job->hard && (!pure_append || sim_rng_below(rng, 2) == 0)) {
            if (write_hard_state(d, job, err, sizeof(err)) == 0)
                torn = SIM_TORN_HARD_STATE;
        } else if (pure_append) {
            if (!job->hard || write_hard_state(d, job, err, sizeof(err)) == 0) {
                size_t k = (size_t)sim_rng_below(rng, job->n_ents);
                for (size_t i = 0; i < k; i++)
                    append_moved(d, &job->ents[i]);
                torn = SIM_TORN_PREFIX;
            }
        }
    }
    sim_disk_drop_pending(d);
    return torn;
}

struct raft_entry *sim_disk_boot(const struct sim_disk *d, struct raft_boot_state *boot)
{
    size_t n = (size_t)d->meta.len;
    struct raft_entry *ents = sim_xcalloc(n, sizeof(*ents));
    for (size_t i = 0; i < n; i++) {
        ents[i].term = d->e[i].term;
        ents[i].type = d->e[i].type;
        ents[i].len = d->e[i].len;
        ents[i].data = d->e[i].data;
    }
    memset(boot, 0, sizeof(*boot)); /* no snapshot: the simulated disk keeps the whole log */
    boot->term = d->term;
    boot->voted_for = d->vote;
    boot->entries = ents;
    boot->n_entries = n;
    return ents;
}
