/* sim_snapshot.c: log compaction (§7) and snapshot transfers (Figure 13) as the daemon does them.
 */
#include "sim.h"
#include "sim_store.h"

#include <stdlib.h>
#include <string.h>

#include "sim_alloc.h"

/* How long a leader waits for a transfer that went silent before it gives up. */
#define SIM_XFER_TIMEOUT_MIN 50
#define SIM_XFER_TIMEOUT_MAX 500

static void record(struct sim *s, int what, int node, int peer, uint64_t a, uint64_t b, uint64_t c,
                   uint64_t d)
{
    struct sim_rec r = {0};
    r.kind = SIM_REC_SNAPSHOT;
    r.sub = (uint8_t)what;
    r.node = (uint8_t)node;
    r.peer = (uint8_t)peer;
    r.a = a;
    r.b = b;
    r.c = c;
    r.d = d;
    sim_record(s, &r);
}

void sim_snapshot_maybe_take(struct sim *s, struct sim_node *n)
{
    char err[240];
    if (!s->p.snap_every || !n->up || n->stopped ||
        n->applied < n->disk.snap_index + s->p.snap_every)
        return;
    /* As the daemon: only a prefix the log has made durable may be snapshotted and
     * compacted, or writes still queued could land behind a log the snapshot cut. */
    if (n->applied > raft_persisted_index(n->r))
        return;
    raft_index at = n->applied;
    const struct sim_meta *m = sim_log_at(&n->log, at);
    /* The state machine's own state, not the log's: what a snapshot really holds. */
    if (sim_inv_snapshot(&s->inv, at, m->term, n->sm_chain, err, sizeof(err)) != 0) {
        sim_fail(s, "State Machine Safety", "node %d: %s", n->id, err);
        return;
    }
    struct raft_configuration conf;
    if (raft_configuration_at(n->r, at, &conf) != RAFT_OK) {
        sim_fail(s, "Contract", "node %d: no configuration at its applied index %llu", n->id,
                 (unsigned long long)at);
        return;
    }
    sim_disk_snapshot(&n->disk, at, m->term, n->sm_chain, &conf, &s->inv.committed);
    sim_store_snapshot(s, n, at, m->term, n->sm_chain, &conf);
    s->st.snapshots++;
    /* Like the daemon: keep a few entries behind the snapshot for slow followers. */
    raft_index trailing = sim_rng_range(&s->rng, 0, s->p.snap_every / 2);
    raft_index upto = at > trailing ? at - trailing : 0;
    if (upto > raft_snapshot_index(n->r)) {
        raft_term upto_term = raft_term_at(n->r, upto);
        int rc = raft_compact(n->r, upto);
        if (rc != RAFT_OK) {
            sim_fail(s, "Contract", "node %d: raft_compact(%llu) answers %s (applied %llu)", n->id,
                     (unsigned long long)upto, raft_strerror(rc), (unsigned long long)n->applied);
            return;
        }
        sim_disk_compact(&n->disk, upto, upto_term);
        sim_store_compact(s, n, upto, upto_term);
    }
    record(s, SIM_SNAP_TAKEN, n->id, 0, at, upto, 0, 0);
}

/* The leader gives up on x after a while (an answer lost, a follower gone). */
static void give_up_later(struct sim *s, struct sim_xfer *x)
{
    x->ok = false;
    x->reply_term = 0;
    sim_schedule(s, s->now + sim_rng_range(&s->rng, SIM_XFER_TIMEOUT_MIN, SIM_XFER_TIMEOUT_MAX),
                 SIM_EV_SNAP_REPLY, x->leader, x->leader_inc, x, 0, 0);
}

static void send_chunk(struct sim *s, struct sim_xfer *x)
{
    raft_time delay[2];
    if (sim_net_route(&s->net, &s->rng, x->leader, x->to, delay) == 0) {
        give_up_later(s, x);
        return;
    }
    sim_schedule(s, s->now + delay[0], SIM_EV_SNAP_CHUNK, x->to, 0, x, 0, 0);
}

static void send_answer(struct sim *s, struct sim_xfer *x)
{
    raft_time delay[2];
    if (sim_net_route(&s->net, &s->rng, x->to, x->leader, delay) == 0) {
        give_up_later(s, x);
        return;
    }
    sim_schedule(s, s->now + delay[0], SIM_EV_SNAP_REPLY, x->leader, x->leader_inc, x, 0, 0);
}

void sim_snapshot_requests(struct sim *s, struct sim_node *n, const struct raft_ready *rd)
{
    for (size_t i = 0; i < rd->n_snapshot_requests && !s->failed; i++) {
        const struct raft_snapshot_request *req = &rd->snapshot_requests[i];
        if (req->to < 1 || req->to > s->p.n || req->to == n->id) {
            sim_fail(s, "Contract", "node %d asks for a snapshot to be sent to %d", n->id, req->to);
            return;
        }
        if (n->sending[req->to])
            continue; /* one transfer at a time; the core asks again if it fails */
        if (n->disk.snap_index == 0 || n->disk.snap_index < req->index) {
            sim_fail(s, "Contract",
                     "node %d asks to send a snapshot covering %llu, but its snapshot covers %llu",
                     n->id, (unsigned long long)req->index, (unsigned long long)n->disk.snap_index);
            return;
        }
        if (n->disk.snap_index == req->index &&
            (n->disk.snap_conf.voters != req->configuration.voters ||
             n->disk.snap_conf.learners != req->configuration.learners)) {
            sim_fail(s, "Contract",
                     "node %d asks to send its snapshot at %llu with another configuration than "
                     "the one it had there",
                     n->id, (unsigned long long)req->index);
            return;
        }
        struct sim_xfer *x = sim_xcalloc(1, sizeof(*x));
        x->leader = n->id;
        x->leader_inc = n->inc;
        x->to = req->to;
        x->term = raft_current_term(n->r);
        x->index = n->disk.snap_index;
        x->snap_term = n->disk.snap_term;
        x->chain = n->disk.snap_chain;
        x->conf = n->disk.snap_conf;
        x->chunk = 1;
        x->chunks = (int)sim_rng_range(&s->rng, 1, 3);
        n->sending[req->to] = true;
        record(s, SIM_SNAP_SEND, n->id, req->to, x->index, (uint64_t)x->chunks, 0, 0);
        send_chunk(s, x);
    }
}

/* The follower has read the whole snapshot: as the daemon (raft_peer/snapshot_install.c),
 * it asks the core whether it would take it, makes it durable only then, then tells the
 * core; raft_snapshot_check must agree with raft_install_snapshot. */
static void install(struct sim *s, struct sim_node *f, struct sim_xfer *x)
{
    char err[240];
    const char *why = NULL;
    int check = raft_snapshot_check(f->r, x->leader, x->term, x->snap_term, &x->conf, &why);
    if (check != RAFT_OK) {
        s->st.install_refusals++;
        int rc = raft_install_snapshot(f->r, x->leader, x->term, x->index, x->snap_term, &x->conf,
                                       sim_node_now(s, f));
        record(s, SIM_SNAP_INSTALL, f->id, x->leader, x->index, 0, 0, (uint64_t)(int64_t)rc);
        if (rc != check || !why)
            sim_fail(s, "Contract",
                     "node %d: raft_snapshot_check answers %s (%s), raft_install_snapshot %s",
                     f->id, raft_strerror(check), why ? why : "no reason", raft_strerror(rc));
        x->ok = false;
        x->reply_term = raft_current_term(f->r);
        return;
    }
    if (x->index > f->disk.snap_index) {
        if (sim_inv_snapshot(&s->inv, x->index, x->snap_term, x->chain, err, sizeof(err)) != 0) {
            sim_fail(s, "State Machine Safety", "node %d receives %s", f->id, err);
            return;
        }
        sim_disk_snapshot(&f->disk, x->index, x->snap_term, x->chain, &x->conf, &s->inv.committed);
        sim_store_snapshot(s, f, x->index, x->snap_term, x->chain, &x->conf);
    }
    raft_index before = raft_last_applied(f->r);
    int rc = raft_install_snapshot(f->r, x->leader, x->term, x->index, x->snap_term, &x->conf,
                                   sim_node_now(s, f));
    bool installed = rc == RAFT_OK && raft_last_applied(f->r) != before;
    record(s, SIM_SNAP_INSTALL, f->id, x->leader, x->index, installed, 0, (uint64_t)(int64_t)rc);
    if (rc != RAFT_OK) { /* raft_snapshot_check allowed it, nothing ran since */
        sim_fail(s, "Contract", "node %d: raft_install_snapshot answers %s", f->id,
                 raft_strerror(rc));
        return;
    }
    if (installed) {
        if (raft_last_applied(f->r) != x->index) {
            sim_fail(s, "Contract", "node %d installs snapshot %llu but says it applied %llu",
                     f->id, (unsigned long long)x->index,
                     (unsigned long long)raft_last_applied(f->r));
            return;
        }
        /* The state machine is replaced by the snapshot's. */
        f->applied = x->index;
        f->sm_chain = x->chain;
        s->st.installs++;
    }
    x->ok = true;
}

/* How long the follower reads a snapshot it has whole before it asks the core: the
 * daemon parses the state machine ~2 ms a slice between other events, so a large one
 * takes longer than an election timeout. Mostly short, sometimes long enough for a new
 * term, a new leader or a crash to come first. */
static raft_time read_time(struct sim *s)
{
    uint64_t odds = sim_rng_below(&s->rng, 8);
    if (odds < 3)
        return sim_rng_range(&s->rng, 0, s->p.hb);
    if (odds < 7)
        return sim_rng_range(&s->rng, 0, s->p.et_min);
    return sim_rng_range(&s->rng, s->p.et_min, 3 * s->p.et_max);
}

/* After the follower handled a chunk or the install: its ready settled, its clients
 * served. False once the run failed. */
static bool settle_and_serve(struct sim *s, struct sim_node *f)
{
    sim_node_settle(s, f);
    if (!s->failed)
        sim_client_serve(s, f);
    return !s->failed;
}

/* ... and then the leader gets the answer (x is freed either way). */
static void settle_and_answer(struct sim *s, struct sim_node *f, struct sim_xfer *x)
{
    if (s->failed) {
        free(x);
        return;
    }
    settle_and_serve(s, f);
    send_answer(s, x);
}

void sim_on_snap_chunk(struct sim *s, struct sim_event *ev)
{
    struct sim_xfer *x = ev->ptr;
    ev->ptr = NULL;
    struct sim_node *l = &s->nodes[x->leader], *f = &s->nodes[x->to];
    if (!l->up || l->inc != x->leader_inc) {
        free(x); /* the sender died: its connection, and the transfer, are gone */
        return;
    }
    if (!f->up || !sim_net_connected(&s->net, x->leader, x->to)) {
        give_up_later(s, x);
        return;
    }
    int rc = raft_snapshot_chunk(f->r, x->leader, x->term, sim_node_now(s, f));
    record(s, SIM_SNAP_CHUNK, f->id, x->leader, x->index, (uint64_t)x->chunk, (uint64_t)x->chunks,
           (uint64_t)(int64_t)rc);
    if (rc == RAFT_EINVAL || rc == RAFT_ESTOPPED) {
        x->ok = false;
        x->reply_term = raft_current_term(f->r);
    } else if (rc != RAFT_OK) {
        sim_fail(s, "Contract", "node %d: raft_snapshot_chunk answers %s", f->id,
                 raft_strerror(rc));
    } else if (f->installing) {
        /* As snapshot_service.c: the term rules apply, the chunk is ignored, and the
         * leader hears nothing (it gives up and asks again). */
        record(s, SIM_SNAP_IGNORED, f->id, x->leader, x->index, 0, 0, 0);
        if (settle_and_serve(s, f))
            give_up_later(s, x);
        else
            free(x);
        return;
    } else if (x->chunk < x->chunks) {
        sim_node_settle(s, f);
        x->chunk++;
        send_chunk(s, x);
        return;
    } else {
        /* Sealed; read it over the next events, then install (sim_on_snap_install). */
        sim_node_settle(s, f);
        if (s->failed) {
            free(x);
            return;
        }
        if (!f->up) { /* shut down by what its ready led to (a retirement) */
            give_up_later(s, x);
            return;
        }
        raft_time reading = read_time(s);
        record(s, SIM_SNAP_READING, f->id, x->leader, x->index, reading, 0, 0);
        f->installing = true;
        sim_schedule(s, s->now + reading, SIM_EV_SNAP_INSTALL, f->id, f->inc, x, 0, 0);
        return;
    }
    settle_and_answer(s, f, x);
}

/* The follower has read the snapshot: it installs it, or it crashed meanwhile and the
 * snapshot is gone with the process (its durable snapshot is still the old one). The
 * leader hears the answer only now, as from the daemon. */
void sim_on_snap_install(struct sim *s, struct sim_event *ev)
{
    struct sim_xfer *x = ev->ptr;
    ev->ptr = NULL;
    struct sim_node *f = &s->nodes[ev->node];
    if (!f->up || f->inc != ev->inc) {
        record(s, SIM_SNAP_LOST, f->id, x->leader, x->index, 0, 0, 0);
        s->st.installs_lost++;
        give_up_later(s, x);
        return;
    }
    f->installing = false;
    install(s, f, x);
    settle_and_answer(s, f, x);
}

void sim_on_snap_reply(struct sim *s, struct sim_event *ev)
{
    struct sim_xfer *x = ev->ptr;
    ev->ptr = NULL;
    struct sim_node *l = &s->nodes[x->leader];
    if (!l->up || l->inc != x->leader_inc) {
        free(x);
        return;
    }
    l->sending[x->to] = false;
    if (x->reply_term)
        raft_observe_term(l->r, x->to, x->reply_term);
    raft_snapshot_sent(l->r, x->to, x->index, x->ok);
    record(s, SIM_SNAP_DONE, l->id, x->to, x->ok, 0, 0, 0);
    free(x);
    sim_node_settle(s, l);
}

/* The leader's daemon gave up what it had queued for a follower (peer_links.c): it
 * says so between readies, as the daemon does, and the core resends from matchIndex. */
void sim_on_unreachable(struct sim *s, const struct sim_event *ev)
{
    struct sim_node *n = &s->nodes[ev->node];
    if (!n->up || n->inc != ev->inc)
        return;
    struct sim_rec r = {0};
    r.kind = SIM_REC_UNREACHABLE;
    r.node = (uint8_t)n->id;
    r.peer = (uint8_t)ev->aux;
    sim_record(s, &r);
    raft_peer_unreachable(n->r, (raft_id)ev->aux);
    sim_node_settle(s, n);
}

void sim_on_disconnect(struct sim *s, const struct sim_event *ev)
{
    struct sim_node *n = &s->nodes[ev->node];
    if (!n->up || n->inc != ev->inc)
        return;
    struct sim_rec r = {0};
    r.kind = SIM_REC_DISCONNECT;
    r.node = (uint8_t)n->id;
    r.peer = (uint8_t)ev->aux;
    sim_record(s, &r);
    raft_peer_disconnected(n->r, (raft_id)ev->aux);
    sim_node_settle(s, n);
}
