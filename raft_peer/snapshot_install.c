/* snapshot_install.c: a follower loads the snapshot its leader sent (Figure 13, steps 6
 * to 8) without stopping its event loop. The whole snapshot is durable already; its
 * bytes are read into a fresh state machine a slice at a time on a zero-delay timer, so
 * heartbeats, votes and clients are served between slices (a million variables take a
 * few hundred ms of reading). Only when the reading is done are the core and the state
 * machine switched over together, in one callback, before any ready is taken: the core
 * never hands out an entry the state machine does not follow. Chunks that arrive
 * meanwhile are ignored; the leader sends its last one again after 2 s, and by then the
 * answer has gone. */
#include <stdlib.h>

#include "common/error_message.h"
#include "common/event_log.h"
#include "raft_peer/net/event_loop.h"
#include "raft_peer/peer.h"
#include "raft_peer/sm/sm_snapshot.h"
#include "raft_peer/sm/state_machine.h"
#include "raft_peer/snapshot_install.h"
#include "raft_peer/storage/boot_config.h"
#include "raft_peer/storage/snapshot_store.h"

/* Variables read per slice: about 2 ms on the 2-CPU bench VM (docs/PERFORMANCE.md). */
#define SLICE_VARIABLES 16384

struct snapshot_install {
    struct peer *p;
    snapshot_install_done_fn *done;
    void *done_ctx;
    raft_id leader;
    raft_term term; /* of the chunk that completed the snapshot */
    struct snapshot_meta meta;
    uint8_t *data;
    struct raft_configuration configuration; /* what the snapshot carries */
    struct sm_snapshot_reader *reader;
    int64_t timer;
    uint64_t started_ms;
    unsigned slices;
    char err[256];
};

static void install_free(struct snapshot_install *in)
{
    if (!in)
        return;
    if (in->timer >= 0)
        el_del_timer(in->p->el, in->timer);
    sm_snapshot_reader_free(in->reader);
    free(in->data);
    free(in);
}

/* Tells the service how it ended; it answers the leader. */
static void report(struct snapshot_install *in, enum snapshot_install_outcome outcome)
{
    struct snapshot_install_result r = {.outcome = outcome,
                                        .leader = in->leader,
                                        .meta = &in->meta,
                                        .configuration = &in->configuration};
    in->done(in->done_ctx, &r);
}

/* The reading is done: switch the core and the state machine over, or neither. */
static enum snapshot_install_outcome install_finish(struct snapshot_install *in)
{
    struct peer *p = in->p;
    raft_index index = in->meta.index;
    const char *leader = p->names[in->leader - 1];
    const struct raft_configuration *conf = &in->configuration;
    if (index <= raft_commit_index(p->raft)) {
        /* Our log caught up meanwhile: what we applied already goes as far. */
        raft_install_snapshot(p->raft, in->leader, in->term, index, in->meta.term, conf,
                              el_now_ms());
        event_log_write(p->log, EVENT_LOG_INFO,
                        "snapshot from %s at index %llu not loaded: already applied up to %llu",
                        leader, (unsigned long long)index,
                        (unsigned long long)raft_commit_index(p->raft));
        return SNAPSHOT_ALREADY_APPLIED;
    }
    int rc = raft_install_snapshot(p->raft, in->leader, in->term, index, in->meta.term, conf,
                                   el_now_ms());
    if (rc == RAFT_ENOMEM) {
        /* Only its answer to the leader was lost (the core's ENOMEM): the core did switch
         * over, and so must the state machine; the leader asks again and hears it then. */
        event_log_write(p->log, EVENT_LOG_ERROR,
                        "out of memory answering the snapshot from %s at index %llu", leader,
                        (unsigned long long)index);
    } else if (rc != RAFT_OK) {
        /* A newer term began while we read (its leader will catch us up). The file
         * stays: it is committed state either way, and a restart reads it as such. */
        event_log_write(p->log, EVENT_LOG_INFO,
                        "snapshot from %s at index %llu read but not installed: term %llu is over",
                        leader, (unsigned long long)index, (unsigned long long)in->term);
        return SNAPSHOT_TERM_OVER;
    }
    sm_snapshot_adopt(p->sm, in->reader);
    event_log_write(p->log, EVENT_LOG_INFO,
                    "installed snapshot from %s at index %llu (term %llu, %llu bytes, read in "
                    "%u slices over %llu ms)",
                    leader, (unsigned long long)index, (unsigned long long)in->meta.term,
                    (unsigned long long)in->meta.size, in->slices,
                    (unsigned long long)(el_now_ms() - in->started_ms));
    return SNAPSHOT_INSTALLED;
}

static int64_t on_slice(struct event_loop *el, int64_t id, void *data)
{
    (void)el;
    (void)id;
    struct snapshot_install *in = data;
    in->slices++;
    int rc = sm_snapshot_reader_step(in->reader, SLICE_VARIABLES, in->err, sizeof(in->err));
    if (rc == 0)
        return 0;   /* more: after whatever else is waiting */
    in->timer = -1; /* this return deletes it */
    uint64_t applied = sm_snapshot_reader_last_applied(in->reader);
    if (rc > 0 && applied != in->meta.index) {
        /* As snapshot_boot refuses it: adopted, the state machine would not follow the
         * core, and the peer would not start again from the file. */
        set_err(in->err, sizeof(in->err), "it covers index %llu but its state machine is at %llu",
                (unsigned long long)in->meta.index, (unsigned long long)applied);
        rc = -1;
    }
    if (rc < 0) {
        event_log_write(in->p->log, EVENT_LOG_ERROR, "cannot load the received snapshot: %s",
                        in->err);
        report(in, SNAPSHOT_LOAD_FAILED);
    } else {
        report(in, install_finish(in));
    }
    install_free(in);
    return -1;
}

/* The configuration the snapshot carries, and its state machine's bytes. */
static int split(struct snapshot_install *in, const uint8_t **sm_bytes, size_t *sm_len)
{
    if (snapshot_config_split(in->data, in->meta.size, &in->p->boot_configuration,
                              &in->configuration, sm_bytes, sm_len) == 0)
        return 0;
    set_err(in->err, sizeof(in->err), "its configuration is damaged");
    return -1;
}

struct snapshot_install *snapshot_install_start(struct peer *p, raft_id leader, raft_term term,
                                                raft_index index, snapshot_install_done_fn *done,
                                                void *ctx)
{
    const uint8_t *sm_bytes = NULL;
    size_t sm_len = 0;
    struct snapshot_install *in = calloc(1, sizeof(*in));
    if (!in) {
        event_log_write(p->log, EVENT_LOG_ERROR, "out of memory loading a received snapshot");
        return NULL;
    }
    *in = (struct snapshot_install){.p = p,
                                    .done = done,
                                    .done_ctx = ctx,
                                    .leader = leader,
                                    .term = term,
                                    .timer = -1,
                                    .started_ms = el_now_ms()};
    if (snapshot_load(p->data_dir, &in->meta, &in->data, in->err, sizeof(in->err)) != 0 ||
        in->meta.index != index || split(in, &sm_bytes, &sm_len) != 0 ||
        sm_snapshot_reader_open(sm_bytes, sm_len, &in->reader, in->err, sizeof(in->err)) != 0 ||
        (in->timer = el_add_timer(p->el, 0, on_slice, in)) < 0) {
        event_log_write(p->log, EVENT_LOG_ERROR, "cannot load the received snapshot: %s",
                        in->meta.index != index ? "the file is not the one received" : in->err);
        in->timer = -1;
        install_free(in);
        return NULL;
    }
    return in;
}

void snapshot_install_cancel(struct snapshot_install *in)
{
    install_free(in);
}
