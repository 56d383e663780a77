/* snapshot_install.c: a follower loads the snapshot its leader sent (Figure 13, steps 6
 * to 8) without stopping its event loop, and makes it its own only once it knows the
 * bytes are a snapshot it can start from.
 *
 * The order, and why:
 *   1. the last chunk arrives: snapshot.partial is sealed (size and transfer CRC
 *      checked, fdatasync), still under its own name: data/<peer>/snapshot is the old
 *      one, which a restart would load (snapshot_service.c);
 *   2. its bytes are read back and parsed, the configuration at once, the state
 *      machine a slice at a time on a zero-delay timer, so heartbeats, votes and
 *      clients are served between slices (a million variables take a few hundred ms);
 *      the state machine must end at the snapshot's index, as snapshot_boot requires;
 *   3. the core is asked whether it would take it now (raft_snapshot_check);
 *   4. only then the commit: rename over data/<peer>/snapshot and fsync the directory;
 *   5. then, in the same callback and before any ready is taken, the core and the state
 *      machine switch over together (the core never hands out an entry the state
 *      machine does not follow), and the core's ready compacts the log after that.
 * The CRC only proves the transfer: bytes a buggy or hostile leader sent that do not
 * parse fail at 2 and are deleted, and a snapshot the core refuses stops at 3; either
 * way the old snapshot stays, and the peer can still start from it. A crash before 4
 * leaves the old snapshot and a sealed partial, resumed whole if the leader sends the
 * same snapshot again. Chunks that arrive meanwhile are ignored; the leader sends its
 * last one again after 2 s, and by then the answer has gone. */
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
    struct snapshot_receiver *receiver; /* its sealed partial file, ours to commit */
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
    snapshot_receiver_close(in->receiver);
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

enum snapshot_install_outcome snapshot_install_refusal(int rc, const char *why, raft_term term,
                                                       raft_term current_term, char *out,
                                                       size_t outlen)
{
    if (rc == RAFT_EINVAL && term < current_term) {
        /* A newer term began while we read (its leader will catch us up); our newer
         * term in the answer tells the old leader to step down. */
        set_err(out, outlen, "term %llu is over (we are in term %llu)", (unsigned long long)term,
                (unsigned long long)current_term);
        return SNAPSHOT_TERM_OVER;
    }
    /* Anything else ends the transfer; the leader asks again at its own pace. */
    set_err(out, outlen, "the core refuses it (%s): %s", raft_strerror(rc),
            why ? why : "no reason given");
    return SNAPSHOT_LOAD_FAILED;
}

/* The core would not take the snapshot: the log says why. */
static enum snapshot_install_outcome refused(struct snapshot_install *in, int rc, const char *why)
{
    struct peer *p = in->p;
    enum snapshot_install_outcome o = snapshot_install_refusal(
        rc, why, in->term, raft_current_term(p->raft), in->err, sizeof(in->err));
    event_log_write(p->log, o == SNAPSHOT_TERM_OVER ? EVENT_LOG_INFO : EVENT_LOG_WARN,
                    "snapshot from %s at index %llu read (%u slices over %llu ms) but not "
                    "installed: %s",
                    p->names[in->leader - 1], (unsigned long long)in->meta.index, in->slices,
                    (unsigned long long)(el_now_ms() - in->started_ms), in->err);
    return o;
}

/* The reading is done: commit the file, then switch the core and the state machine
 * over; or none of it. */
static enum snapshot_install_outcome install_finish(struct snapshot_install *in)
{
    struct peer *p = in->p;
    raft_index index = in->meta.index;
    const char *leader = p->names[in->leader - 1];
    const struct raft_configuration *conf = &in->configuration;
    if (index <= raft_commit_index(p->raft)) {
        /* Our log caught up meanwhile: what we applied already goes as far, and our own
         * snapshot stays; the partial is of no more use. */
        snapshot_receiver_discard(in->receiver);
        raft_install_snapshot(p->raft, in->leader, in->term, index, in->meta.term, conf,
                              el_now_ms());
        event_log_write(p->log, EVENT_LOG_INFO,
                        "snapshot from %s at index %llu not loaded: already applied up to %llu",
                        leader, (unsigned long long)index,
                        (unsigned long long)raft_commit_index(p->raft));
        return SNAPSHOT_ALREADY_APPLIED;
    }
    const char *why = NULL;
    int rc = raft_snapshot_check(p->raft, in->leader, in->term, in->meta.term, conf, &why);
    if (rc != RAFT_OK)
        return refused(in, rc, why); /* the partial stays: a resend resumes it whole */
    /* Durable as data/<peer>/snapshot before the core hears of it: the core then
     * compacts its log, and a restart must find the snapshot that covers the cut. */
    if (snapshot_receiver_commit(in->receiver, in->err, sizeof(in->err)) != 0) {
        event_log_write(p->log, EVENT_LOG_ERROR,
                        "cannot make the snapshot from %s at index %llu ours: %s", leader,
                        (unsigned long long)index, in->err);
        return SNAPSHOT_LOAD_FAILED;
    }
    rc = raft_install_snapshot(p->raft, in->leader, in->term, index, in->meta.term, conf,
                               el_now_ms());
    if (rc == RAFT_ENOMEM) {
        /* Only its answer to the leader was lost (the core's ENOMEM): the core did switch
         * over, and so must the state machine; the leader asks again and hears it then. */
        event_log_write(p->log, EVENT_LOG_ERROR,
                        "out of memory answering the snapshot from %s at index %llu", leader,
                        (unsigned long long)index);
    } else if (rc != RAFT_OK) {
        /* Cannot happen: nothing ran since raft_snapshot_check. The file is committed
         * state either way (a leader snapshots committed entries only), and a restart
         * reads it as such. */
        return refused(in, rc, "refused after raft_snapshot_check allowed it");
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
        event_log_write(in->p->log, EVENT_LOG_ERROR,
                        "cannot load the received snapshot: %s; ours is unchanged", in->err);
        snapshot_receiver_discard(in->receiver); /* a resend must not resume these bytes */
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
                                                const struct snapshot_meta *meta,
                                                struct snapshot_receiver *receiver,
                                                snapshot_install_done_fn *done, void *ctx)
{
    const uint8_t *sm_bytes = NULL;
    size_t sm_len = 0;
    struct snapshot_install *in = calloc(1, sizeof(*in));
    if (!in) {
        event_log_write(p->log, EVENT_LOG_ERROR, "out of memory loading a received snapshot");
        snapshot_receiver_close(receiver);
        return NULL;
    }
    *in = (struct snapshot_install){.p = p,
                                    .done = done,
                                    .done_ctx = ctx,
                                    .leader = leader,
                                    .term = term,
                                    .meta = *meta,
                                    .receiver = receiver,
                                    .timer = -1,
                                    .started_ms = el_now_ms()};
    if (snapshot_receiver_data(receiver, &in->data, in->err, sizeof(in->err)) != 0) {
        event_log_write(p->log, EVENT_LOG_ERROR, "cannot read the received snapshot: %s", in->err);
        install_free(in);
        return NULL;
    }
    if (split(in, &sm_bytes, &sm_len) != 0 ||
        sm_snapshot_reader_open(sm_bytes, sm_len, &in->reader, in->err, sizeof(in->err)) != 0) {
        event_log_write(p->log, EVENT_LOG_ERROR,
                        "cannot load the received snapshot: %s; ours is unchanged", in->err);
        snapshot_receiver_discard(receiver); /* a resend must not resume these bytes */
        install_free(in);
        return NULL;
    }
    if ((in->timer = el_add_timer(p->el, 0, on_slice, in)) < 0) {
        event_log_write(p->log, EVENT_LOG_ERROR, "cannot load the received snapshot: no timer");
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
