/* sim_cluster.c: the nodes: boot, crash, readies carried out as raft.h orders, checks after every
 * step. */
#include "sim.h"
#include "sim_store.h"

#include <stdlib.h>
#include <string.h>

#include "sim_alloc.h"

/* Beyond this many readies from one event the core is looping. */
#define SIM_MAX_READIES_PER_STEP 10000
/* A deadline further than this is "no deadline". */
#define SIM_FAR_FUTURE (3600u * 1000u)

raft_time sim_node_now(const struct sim *s, const struct sim_node *n)
{
    return s->now + n->offset;
}

static void on_core_trace(void *ctx, const struct raft_trace *t)
{
    struct sim_node *n = ctx;
    struct sim *s = n->sim;
    struct sim_rec r = {0};
    r.kind = SIM_REC_CORE;
    r.sub = (uint8_t)t->type;
    r.node = (uint8_t)n->id;
    r.peer = (uint8_t)t->peer;
    r.a = t->term;
    r.b = t->a;
    r.c = t->b;
    r.d = t->c;
    sim_record(s, &r);
    /* Dissertation §3.10: a leader hands over only to the target of a transfer it still
     * runs. A TimeoutNow that arrives after the leader gave the transfer up (a detour, a
     * duplicate) must not make it step down for that election (transfer.c). */
    if (t->type == RAFT_TRACE_TRANSFER)
        n->transfer_to = t->a ? t->peer : 0;
    else if (t->type == RAFT_TRACE_ROLE)
        n->transfer_to = 0;
    else if (t->type == RAFT_TRACE_STEP_DOWN && t->a == RAFT_STEP_DOWN_TRANSFERRED &&
             t->peer != n->transfer_to)
        sim_fail(s, "Leadership transfer",
                 "node %d steps down in term %llu for a transfer to node %d, but %s", n->id,
                 (unsigned long long)t->term, t->peer,
                 n->transfer_to ? "it was handing over to another node"
                                : "it runs no transfer (given up, or never started)");
    if (t->type == RAFT_TRACE_ROLE && t->a == RAFT_LEADER) {
        char err[200];
        s->st.elections++;
        sim_members_new_leader(s, n->id);
        /* Checked here, at the instant of the change, and again after the step. */
        if (sim_inv_leader(&s->inv, t->term, n->id, err, sizeof(err)) != 0)
            sim_fail(s, "Election Safety", "%s", err);
    }
}

/* ---- sending ------------------------------------------------------------ */

static void record_msg(struct sim *s, int kind, int why, const struct raft_message *m)
{
    struct sim_rec r = {0};
    r.kind = (uint8_t)kind;
    r.flags2 = (uint8_t)why;
    sim_trace_fill_msg(&r, m);
    sim_record(s, &r);
}

/* Figure 2: "Updated on stable storage before responding to RPCs". A reply that
 * promises something must be backed by the disk at the instant it leaves. */
static void check_reply_durable(struct sim *s, struct sim_node *n, const struct raft_message *m,
                                uint64_t expect_chain)
{
    char err[200];
    if (m->type == RAFT_MSG_REQUEST_VOTE_RESULT && m->u.request_vote_result.vote_granted &&
        !m->u.request_vote_result.pre_vote) {
        if (sim_inv_vote(&s->inv, n->id, m->term, m->to, err, sizeof(err)) != 0) {
            sim_fail(s, "Election Safety", "%s", err);
            return;
        }
        if (!s->opt.weak && (n->disk.term != m->term || n->disk.vote != m->to))
            sim_fail(s, "Persist before reply",
                     "node %d grants its term-%llu vote to node %d while its disk holds term "
                     "%llu, vote %d",
                     n->id, (unsigned long long)m->term, m->to, (unsigned long long)n->disk.term,
                     n->disk.vote);
        if (s->phase == SIM_FAULTS)
            sim_maybe_crash_after(s, n, s->p.crash_after_vote_ppm);
        return;
    }
    if (m->type == RAFT_MSG_APPEND_ENTRIES_RESULT && m->u.append_entries_result.success) {
        raft_index mi = m->u.append_entries_result.match_index;
        if (!s->opt.weak && mi > 0 &&
            (n->disk.meta.len < mi || sim_log_chain(&n->disk.meta, mi) != expect_chain))
            sim_fail(s, "Persist before reply",
                     "node %d acknowledges its log up to index %llu, but its disk %s", n->id,
                     (unsigned long long)mi,
                     n->disk.meta.len < mi ? "is shorter" : "holds other entries there");
        if (s->phase == SIM_FAULTS)
            sim_maybe_crash_after(s, n, s->p.crash_after_ack_ppm);
    }
}

/* Hands a copy to the network: it may be cut, lost, duplicated, delayed, or followed by
 * a malformed twin. Takes ownership of c. */
static void wire_send(struct sim *s, struct sim_node *n, struct raft_message *c,
                      uint64_t expect_chain)
{
    check_reply_durable(s, n, c, expect_chain);
    /* The daemon's queue to a follower: given up when the core says the follower is
     * silent, or when full; the core hears of it between readies (peer_links.c). */
    if (c->type == RAFT_MSG_APPEND_ENTRIES &&
        (sim_rng_chance(&s->rng, s->p.overflow_ppm) ||
         (raft_follower_silent(n->r, c->to) && sim_rng_chance(&s->rng, s->p.silent_drop_ppm)))) {
        uint64_t to = (uint64_t)c->to;
        s->st.dropped++;
        record_msg(s, SIM_REC_DROP, SIM_DROP_QUEUE, c);
        free(c);
        sim_schedule(s, s->now + sim_rng_range(&s->rng, 0, 3), SIM_EV_UNREACHABLE, n->id, n->inc,
                     NULL, to, 0);
        return;
    }
    raft_time delay[2];
    int copies = sim_net_route(&s->net, &s->rng, c->from, c->to, delay);
    if (copies == 0) {
        s->st.dropped++;
        record_msg(s, SIM_REC_DROP,
                   sim_net_connected(&s->net, c->from, c->to) ? SIM_DROP_LOST : SIM_DROP_CUT, c);
        free(c);
        return;
    }
    if (s->phase == SIM_FAULTS && sim_rng_chance(&s->rng, s->p.corrupt_ppm)) {
        char err[64];
        struct raft_message *bad = sim_msg_clone(c, s->p.n, err, sizeof(err));
        sim_msg_corrupt(bad, &s->rng, s->p.n);
        sim_schedule(s, s->now + delay[0], SIM_EV_DELIVER, c->to, 0, bad, 0, SIM_EV_BAD);
    }
    if (copies == 2) {
        char err[64];
        struct raft_message *dup = sim_msg_clone(c, s->p.n, err, sizeof(err));
        sim_schedule(s, s->now + delay[1], SIM_EV_DELIVER, c->to, 0, dup, 0, 0);
    }
    sim_schedule(s, s->now + delay[0], SIM_EV_DELIVER, c->to, 0, c, 0, 0);
}

/* What a successful append result promises: the sender's log chain at match_index. */
static int expected_chain(struct sim *s, struct sim_node *n, const struct raft_message *m,
                          uint64_t *chain)
{
    *chain = 0;
    if (m->type != RAFT_MSG_APPEND_ENTRIES_RESULT || !m->u.append_entries_result.success)
        return 0;
    raft_index mi = m->u.append_entries_result.match_index;
    if (mi > n->log.len) {
        sim_fail(s, "Contract", "node %d acknowledges index %llu but its log ends at %llu", n->id,
                 (unsigned long long)mi, (unsigned long long)n->log.len);
        return -1;
    }
    *chain = sim_log_chain(&n->log, mi);
    return 0;
}

/* ---- the in-memory log -------------------------------------------------- */

static uint64_t *scratch(struct sim *s, size_t n)
{
    sim_grow((void **)&s->scratch, &s->scratch_cap, n, sizeof(*s->scratch));
    return s->scratch;
}

/* The node's log now reads: its entries before `from`, then ents[0..count). Checks Leader
 * Append-Only, that no committed entry goes, term order and Log Matching. */
static void change_log(struct sim *s, struct sim_node *n, raft_index from,
                       const struct raft_entry *ents, size_t count)
{
    char err[240];
    raft_index old_len = n->log.len;
    raft_term term = raft_current_term(n->r);
    if (from == 0 || from > old_len + 1) {
        sim_fail(s, "Contract",
                 "node %d: ready writes from index %llu but its log ends at %llu (a hole)", n->id,
                 (unsigned long long)from, (unsigned long long)old_len);
        return;
    }
    uint64_t *h = scratch(s, count);
    raft_index p = 0; /* first index whose content changes, or first new index */
    for (size_t j = 0; j < count; j++) {
        h[j] = sim_entry_hash(&ents[j]);
        if (p == 0) {
            const struct sim_meta *old = sim_log_at(&n->log, from + j);
            if (!old || old->term != ents[j].term || old->dhash != h[j])
                p = from + j;
        }
    }
    raft_index end = from + count;
    if (p == 0 && end <= old_len)
        p = end; /* only a tail goes */
    if (p == 0)
        return; /* identical entries written again */
    if (p <= old_len) {
        /* Figure 3, Leader Append-Only: it led before this event and still leads. */
        if (n->role == RAFT_LEADER && raft_role(n->r) == RAFT_LEADER && n->term == term) {
            sim_fail(s, "Leader Append-Only",
                     "leader %d of term %llu rewrites its own log from index %llu (it had %llu "
                     "entries)",
                     n->id, (unsigned long long)term, (unsigned long long)p,
                     (unsigned long long)old_len);
            return;
        }
        if (sim_inv_keeps_committed_in(&s->inv, &n->log, p, term, err, sizeof(err)) != 0) {
            sim_fail(s, "Committed entry lost", "node %d's log: %s", n->id, err);
            return;
        }
    }
    sim_log_truncate(&n->log, p - 1);
    sim_members_log_truncated(n, p - 1);
    for (size_t j = (size_t)(p - from); j < count; j++) {
        const struct raft_entry *e = &ents[j];
        raft_index idx = from + j;
        raft_term prev = n->log.len ? n->log.m[n->log.len - 1].term : 0;
        if (e->term < prev || e->term > term || e->term == 0) {
            sim_fail(s, "Log Matching",
                     "node %d's entry %llu has term %llu after a term-%llu entry (current term "
                     "%llu): log terms must rise",
                     n->id, (unsigned long long)idx, (unsigned long long)e->term,
                     (unsigned long long)prev, (unsigned long long)term);
            return;
        }
        if (e->type != RAFT_ENTRY_COMMAND && e->type != RAFT_ENTRY_NOOP &&
            e->type != RAFT_ENTRY_CONFIG) {
            sim_fail(s, "Contract", "node %d's entry %llu has type %u", n->id,
                     (unsigned long long)idx, (unsigned)e->type);
            return;
        }
        sim_log_push(&n->log, e->term, h[j]);
        if (sim_inv_log_entry(&s->inv, idx, sim_log_at(&n->log, idx), err, sizeof(err)) != 0) {
            sim_fail(s, "Log Matching", "node %d: %s", n->id, err);
            return;
        }
        sim_members_log_appended(s, n, idx, e);
        if (s->failed)
            return;
    }
}

/* An installed snapshot stands for the committed log up to index: the node's log now
 * starts with that prefix (Figure 13: entries after it survive only if they agree). */
static void install_prefix(struct sim *s, struct sim_node *n, raft_index index, raft_term term)
{
    char err[240];
    const struct sim_log *c = &s->inv.committed;
    if (index > c->len || sim_log_at(c, index)->term != term) {
        sim_fail(s, "State Machine Safety",
                 "node %d installs a snapshot at %llu (term %llu) that is not of the committed "
                 "log (committed up to %llu)",
                 n->id, (unsigned long long)index, (unsigned long long)term,
                 (unsigned long long)c->len);
        return;
    }
    if (n->log.len >= index && sim_log_chain(&n->log, index) == sim_log_chain(c, index))
        return;
    raft_index p = 1;
    while (p <= index && p <= n->log.len && n->log.m[p - 1].term == c->m[p - 1].term &&
           n->log.m[p - 1].dhash == c->m[p - 1].dhash)
        p++;
    if (p <= n->log.len && sim_inv_keeps_committed(&s->inv, &n->log, p, err, sizeof(err)) != 0) {
        sim_fail(s, "Committed entry lost", "node %d's log: %s", n->id, err);
        return;
    }
    sim_log_truncate(&n->log, p - 1);
    sim_members_log_truncated(n, p - 1);
    for (raft_index i = p; i <= index; i++)
        sim_log_push(&n->log, c->m[i - 1].term, c->m[i - 1].dhash);
}

/* A node's commit index moved: record it, and check what follows from it. */
static void track_commit(struct sim *s, struct sim_node *n)
{
    char err[240];
    raft_index c = raft_commit_index(n->r);
    if (c < n->commit) {
        sim_fail(s, "Contract", "node %d's commit index goes back from %llu to %llu", n->id,
                 (unsigned long long)n->commit, (unsigned long long)c);
        return;
    }
    if (c == n->commit)
        return;
    raft_term term = raft_current_term(n->r);
    /* Figure 2 (and Figure 8): a leader advances its commit index only to an entry of
     * its own term; older entries commit with it. A direct check, like the others. */
    if (!s->opt.weak && raft_role(n->r) == RAFT_LEADER && c <= n->log.len &&
        n->log.m[c - 1].term != term) {
        sim_fail(s, "Leader commit rule",
                 "leader %d of term %llu commits index %llu, a term-%llu entry, by counting "
                 "replicas (Figure 8)",
                 n->id, (unsigned long long)term, (unsigned long long)c,
                 (unsigned long long)n->log.m[c - 1].term);
        return;
    }
    bool grew;
    if (sim_inv_commit(&s->inv, &n->log, c, term, &grew, err, sizeof(err)) != 0) {
        sim_fail(s, "State Machine Safety", "node %d: %s", n->id, err);
        return;
    }
    n->commit = c;
    if (s->phase == SIM_FAULTS && raft_role(n->r) == RAFT_LEADER)
        sim_maybe_crash_after(s, n, s->p.crash_after_commit_ppm);
    if (!grew)
        return;
    /* Newly committed entries are on the disks of a majority of the voters of the
     * leader's configuration (acknowledged only once durable), so no set of crashes can
     * lose them. A direct check: --weak leaves it to the end-to-end properties to notice
     * a loss. A leader is always the first to know an index committed. */
    if (!s->opt.weak && raft_role(n->r) == RAFT_LEADER) {
        const struct raft_configuration *conf = raft_configuration(n->r);
        int holders = 0, voters = 0;
        for (int i = 1; i <= s->p.n; i++) {
            if (!raft_configuration_is_voter(conf, i))
                continue;
            voters++;
            if (sim_inv_holds(&s->inv, &s->nodes[i].disk.meta, c))
                holders++;
        }
        if (holders <= voters / 2) {
            sim_fail(s, "Committed entry lost",
                     "index %llu is committed (node %d, term %llu) but only %d of the disks of "
                     "its %d voters hold it",
                     (unsigned long long)c, n->id, (unsigned long long)term, holders, voters);
            return;
        }
    }
    /* Leader Completeness, continuously: leaders of later terms already hold it. */
    for (int i = 1; i <= s->p.n; i++) {
        struct sim_node *m = &s->nodes[i];
        if (!m->up || m == n || raft_role(m->r) != RAFT_LEADER || raft_current_term(m->r) <= term)
            continue;
        if (!sim_inv_holds(&s->inv, &m->log, c)) {
            sim_fail(s, "Leader Completeness",
                     "index %llu is committed in term %llu, but leader %d of term %llu lacks it",
                     (unsigned long long)c, (unsigned long long)term, m->id,
                     (unsigned long long)raft_current_term(m->r));
            return;
        }
    }
}

static void apply_committed(struct sim *s, struct sim_node *n, const struct raft_ready *rd)
{
    char err[240];
    if (rd->n_committed == 0)
        return;
    if (rd->apply_from != n->applied + 1) {
        sim_fail(s, "Contract", "node %d: ready applies from %llu but %llu was applied last", n->id,
                 (unsigned long long)rd->apply_from, (unsigned long long)n->applied);
        return;
    }
    for (size_t i = 0; i < rd->n_committed && !s->failed; i++) {
        const struct raft_entry *e = &rd->committed[i];
        raft_index idx = rd->apply_from + i;
        uint64_t h = sim_entry_hash(e);
        if (idx > n->commit) {
            sim_fail(s, "Contract", "node %d applies index %llu past its commit index %llu", n->id,
                     (unsigned long long)idx, (unsigned long long)n->commit);
            return;
        }
        const struct sim_meta *mine = sim_log_at(&n->log, idx);
        if (!mine || mine->term != e->term || mine->dhash != h) {
            sim_fail(s, "State Machine Safety",
                     "node %d applies at index %llu an entry that is not the one in its log", n->id,
                     (unsigned long long)idx);
            return;
        }
        if (sim_inv_apply(&s->inv, idx, e->term, h, err, sizeof(err)) != 0) {
            sim_fail(s, "State Machine Safety", "node %d %s", n->id, err);
            return;
        }
        n->applied = idx;
        n->sm_chain = sim_hash_mix(n->sm_chain, sim_hash_mix(e->term, h));
        sim_client_applied(s, n, idx, e);
    }
}

/* Carries out one ready. Returns true when its writes are already durable (it has none
 * and nothing is queued before it), so raft_persisted() may be called at once. */
static bool handle_ready(struct sim *s, struct sim_node *n, const struct raft_ready *rd)
{
    char err[200];
    if (rd->seq <= n->ready_seq) {
        sim_fail(s, "Contract", "node %d: ready seq %llu after %llu", n->id,
                 (unsigned long long)rd->seq, (unsigned long long)n->ready_seq);
        return false;
    }
    n->ready_seq = rd->seq;
    if (rd->hard_state_changed) {
        if (rd->term < n->hs_term) {
            sim_fail(s, "Contract", "node %d's term goes back from %llu to %llu", n->id,
                     (unsigned long long)n->hs_term, (unsigned long long)rd->term);
            return false;
        }
        if (rd->term == n->hs_term && n->hs_vote != RAFT_NOBODY && rd->voted_for != n->hs_vote) {
            sim_fail(s, "Election Safety", "node %d changes its term-%llu vote from %d to %d",
                     n->id, (unsigned long long)rd->term, n->hs_vote, rd->voted_for);
            return false;
        }
        n->hs_term = rd->term;
        n->hs_vote = rd->voted_for;
    }
    if (rd->snapshot_installed)
        install_prefix(s, n, rd->snapshot_index, rd->snapshot_term);
    if (rd->log_changed && !s->failed)
        change_log(s, n, rd->persist_from, rd->entries, rd->n_entries);
    if (s->failed)
        return false;
    track_commit(s, n);
    if (s->failed)
        return false;

    /* raft_persisted(seq) vouches for every ready up to seq, so even a ready with no
     * writes must queue behind earlier writes still in flight. */
    bool writes = rd->hard_state_changed || rd->log_changed || rd->snapshot_installed;
    struct sim_job *job = NULL;
    if (!n->stopped && (writes || n->disk.head))
        job = sim_disk_job_new(rd);

    /* Step 1: messages that need nothing durable go now; the others wait for the write. */
    for (size_t i = 0; i < rd->n_messages && !s->failed; i++) {
        const struct raft_message *m = &rd->messages[i];
        if (m->from != n->id) {
            sim_fail(s, "Contract", "node %d sends a message from %d", n->id, m->from);
            break;
        }
        struct raft_message *c = sim_msg_clone(m, s->p.n, err, sizeof(err));
        if (!c) {
            sim_fail(s, "Contract", "node %d produced a malformed message: %s", n->id, err);
            break;
        }
        uint64_t chain;
        if (expected_chain(s, n, m, &chain) != 0) {
            free(c);
            break;
        }
        if (!m->after_persist || (!job && !n->stopped))
            wire_send(s, n, c, chain);
        else if (job)
            sim_disk_job_hold(job, c, chain);
        else
            free(c); /* the disk failed: this write never completes, nor does its reply */
    }
    bool durable_now = !n->stopped && !job;
    if (job) {
        if (s->failed) {
            sim_disk_job_free(job);
            return false;
        }
        if (writes)
            sim_store_write(s, n, rd, job); /* the daemon's calls (sim_store.h) */
        raft_time lat = writes ? sim_disk_latency(s) : 0;
        job->committed_when_made = s->inv.committed.len;
        job->made_in_term = raft_current_term(n->r);
        sim_disk_push(&n->disk, job, s->now + lat);
        sim_schedule(s, job->done_at, SIM_EV_DISK, n->id, n->inc, NULL, job->serial, 0);
    }
    if (s->failed)
        return false;

    if (rd->n_snapshot_requests > 0 && !s->failed)
        sim_snapshot_requests(s, n, rd);
    /* Step 4: apply, then serve the reads whose index is applied. */
    apply_committed(s, n, rd);
    for (size_t i = 0; i < rd->n_reads && !s->failed; i++)
        sim_client_read_index(s, n, rd->reads[i].ctx, rd->reads[i].index);
    for (size_t i = 0; i < rd->n_failed_reads && !s->failed; i++)
        sim_client_read_failed(s, n, rd->failed_reads[i]);
    if (!s->failed)
        sim_client_serve(s, n);
    return durable_now && !s->failed;
}

/* After each event the core's own view must match what its readies said: last index and
 * term always, plus one random entry (a cheap probe for silent rewrites). On a mismatch
 * the view is rebuilt from the core so the Raft checks judge what the core really holds. */
static void verify_log(struct sim *s, struct sim_node *n)
{
    struct raft *r = n->r;
    raft_index last = raft_last_index(r);
    raft_index first = raft_first_index(r);
    if (first == 0)
        first = 1;
    bool ok = last == n->log.len;
    if (ok && last > 0 && raft_term_at(r, last) != n->log.m[last - 1].term)
        ok = false;
    if (ok && last >= first) {
        raft_index probe = sim_rng_range(&s->check_rng, first, last);
        const struct raft_entry *e = raft_entry_at(r, probe);
        const struct sim_meta *m = sim_log_at(&n->log, probe);
        if (!e || e->term != m->term || sim_entry_hash(e) != m->dhash)
            ok = false;
    }
    if (ok)
        return;
    /* Find where they part and replay the core's entries from there. */
    raft_index upto = last < n->log.len ? last : n->log.len;
    raft_index at = first;
    while (at <= upto) {
        const struct raft_entry *e = raft_entry_at(r, at);
        const struct sim_meta *m = sim_log_at(&n->log, at);
        if (!e || e->term != m->term || sim_entry_hash(e) != m->dhash)
            break;
        at++;
    }
    size_t count = last >= at ? (size_t)(last - at + 1) : 0;
    struct raft_entry *ents = sim_xcalloc(count, sizeof(*ents));
    for (size_t i = 0; i < count; i++) {
        const struct raft_entry *e = raft_entry_at(r, at + i);
        if (e)
            ents[i] = *e;
    }
    raft_index had = n->log.len;
    change_log(s, n, at, ents, count);
    free(ents);
    sim_fail(s, "Contract",
             "node %d's log differs from what its readies reported from index %llu on (core "
             "has %llu entries, readies %llu)",
             n->id, (unsigned long long)at, (unsigned long long)last, (unsigned long long)had);
}

/* The checks that follow every step of a node. */
static void post_step(struct sim *s, struct sim_node *n)
{
    char err[240];
    struct raft *r = n->r;
    raft_term term = raft_current_term(r);
    enum raft_role role = raft_role(r);
    if (term < n->term) {
        sim_fail(s, "Contract", "node %d's term goes back from %llu to %llu", n->id,
                 (unsigned long long)n->term, (unsigned long long)term);
        return;
    }
    if (term != n->hs_term || raft_voted_for(r) != n->hs_vote) {
        sim_fail(s, "Contract",
                 "node %d is at term %llu vote %d but its readies reported term %llu vote %d",
                 n->id, (unsigned long long)term, raft_voted_for(r), (unsigned long long)n->hs_term,
                 n->hs_vote);
        return;
    }
    verify_log(s, n);
    if (s->failed)
        return;
    sim_members_check(s, n);
    if (s->failed)
        return;
    track_commit(s, n);
    if (s->failed)
        return;
    if (role == RAFT_LEADER) {
        if (sim_inv_leader(&s->inv, term, n->id, err, sizeof(err)) != 0) {
            sim_fail(s, "Election Safety", "%s", err);
            return;
        }
        if (n->role != RAFT_LEADER || n->term != term) {
            if (sim_inv_leader_complete(&s->inv, &n->log, term, err, sizeof(err)) != 0) {
                sim_fail(s, "Leader Completeness", "node %d: %s", n->id, err);
                return;
            }
            if (!s->opt.weak && (n->disk.term != term || n->disk.vote != n->id)) {
                sim_fail(s, "Persist before reply",
                         "node %d leads term %llu before its own vote is durable (disk: term "
                         "%llu, vote %d)",
                         n->id, (unsigned long long)term, (unsigned long long)n->disk.term,
                         n->disk.vote);
                return;
            }
        }
    }
    n->role = role;
    n->term = term;
}

static void schedule_tick(struct sim *s, struct sim_node *n)
{
    raft_time deadline = raft_next_deadline(n->r);
    raft_time nn = sim_node_now(s, n);
    raft_time wait = deadline > nn ? deadline - nn : 1;
    if (wait > SIM_FAR_FUTURE)
        wait = SIM_FAR_FUTURE;
    raft_time at = s->now + wait;
    if (s->phase == SIM_FAULTS && sim_rng_chance(&s->rng, s->p.tick_late_ppm))
        at += sim_rng_range(&s->rng, 1, 30);
    if (n->tick_at != 0 && n->tick_at <= at)
        return;
    n->tick_at = at;
    sim_schedule(s, at, SIM_EV_TICK, n->id, n->inc, NULL, 0, 0);
}

void sim_node_settle(struct sim *s, struct sim_node *n)
{
    int rounds = 0;
    while (!s->failed && n->up && raft_has_ready(n->r)) {
        if (++rounds > SIM_MAX_READIES_PER_STEP) {
            sim_fail(s, "Contract", "node %d produces readies without end", n->id);
            return;
        }
        struct raft_ready rd;
        raft_take_ready(n->r, &rd);
        bool durable = handle_ready(s, n, &rd);
        if (s->failed)
            return;
        if (durable) {
            int rc = raft_persisted(n->r, rd.seq);
            if (rc != RAFT_OK)
                sim_fail(s, "Contract", "node %d: raft_persisted(%llu) answers %s", n->id,
                         (unsigned long long)rd.seq, raft_strerror(rc));
        }
        if (!s->failed)
            sim_snapshot_maybe_take(s, n);
    }
    if (s->failed || !n->up)
        return;
    post_step(s, n);
    if (!s->failed)
        schedule_tick(s, n);
}

/* ---- events ------------------------------------------------------------- */

void sim_on_tick(struct sim *s, const struct sim_event *ev)
{
    struct sim_node *n = &s->nodes[ev->node];
    if (!n->up || ev->inc != n->inc || ev->time != n->tick_at)
        return; /* superseded */
    n->tick_at = 0;
    if (raft_next_deadline(n->r) > sim_node_now(s, n)) {
        schedule_tick(s, n); /* the deadline moved on meanwhile */
        return;
    }
    int rc = raft_tick(n->r, sim_node_now(s, n));
    if (rc != RAFT_OK && !(n->stopped && rc == RAFT_ESTOPPED)) {
        sim_fail(s, "Contract", "node %d: raft_tick answers %s", n->id, raft_strerror(rc));
        return;
    }
    sim_node_settle(s, n);
}

void sim_on_deliver(struct sim *s, struct sim_event *ev)
{
    struct raft_message *m = ev->ptr;
    struct sim_node *n = &s->nodes[ev->node];
    ev->ptr = NULL;
    bool bad = ev->flags & SIM_EV_BAD;
    if (!n->up) {
        if (!bad) {
            s->st.dropped++;
            record_msg(s, SIM_REC_DROP, SIM_DROP_DOWN, m);
        }
        free(m);
        return;
    }
    if (!bad && !sim_net_connected(&s->net, m->from, m->to)) {
        s->st.dropped++;
        record_msg(s, SIM_REC_DROP, SIM_DROP_CUT_LATE, m);
        free(m);
        return;
    }
    int rc = raft_step(n->r, m, sim_node_now(s, n));
    if (bad) {
        struct sim_rec r = {0};
        r.kind = SIM_REC_BAD_MSG;
        r.node = (uint8_t)n->id;
        r.a = (uint64_t)(int64_t)rc;
        r.b = (uint64_t)(int64_t)m->from;
        r.c = (uint64_t)m->type;
        sim_record(s, &r);
        if (rc == RAFT_OK)
            sim_fail(s, "Input validation",
                     "node %d accepted a malformed message (from=%d, type=%d)", n->id, m->from,
                     (int)m->type);
    } else {
        s->st.delivered++;
        record_msg(s, SIM_REC_DELIVER, 0, m);
        if (rc != RAFT_OK && !(n->stopped && rc == RAFT_ESTOPPED))
            sim_fail(s, "Contract", "node %d refuses a well-formed %s: %s", n->id,
                     raft_message_type_name(m->type), raft_strerror(rc));
    }
    free(m);
    sim_node_settle(s, n);
}

void sim_on_disk(struct sim *s, const struct sim_event *ev)
{
    char err[240];
    struct sim_node *n = &s->nodes[ev->node];
    if (!n->up || ev->inc != n->inc)
        return;
    struct sim_job *job = sim_disk_pop(&n->disk, ev->aux);
    if (!job)
        return;
    raft_index p = sim_disk_change_point(&n->disk, job);
    /* A write decided before an entry was committed may still drop that entry from this
     * disk (a follower's truncation, queued while another leader had not yet committed
     * it): a majority elsewhere holds it. What the write may never drop is an entry that
     * was committed when the write was decided. */
    if (p && p <= job->committed_when_made &&
        sim_inv_keeps_committed_in(&s->inv, &n->disk.meta, p, job->made_in_term, err,
                                   sizeof(err)) != 0) {
        sim_fail(s, "Committed entry lost", "node %d's disk: %s", n->id, err);
        sim_disk_job_free(job);
        return;
    }
    struct sim_rec r = {0};
    r.kind = SIM_REC_PERSIST;
    r.node = (uint8_t)n->id;
    r.a = job->seq;
    r.b = job->hard ? job->term : 0;
    r.c = job->log ? job->from : 0;
    r.d = job->n_ents;
    sim_record(s, &r);
    sim_store_complete(s, n, job); /* before sim_disk_write takes the entries */
    if (s->failed) {
        sim_disk_job_free(job);
        return;
    }
    if (sim_disk_write(&n->disk, job, err, sizeof(err)) != 0) {
        sim_fail(s, "Contract", "node %d's write %llu: %s", n->id, (unsigned long long)job->seq,
                 err);
        sim_disk_job_free(job);
        return;
    }

    s->st.writes++;
    /* Step 3: the messages that waited for this write, then the acknowledgement. */
    for (size_t i = 0; i < job->n_held && !s->failed; i++) {
        wire_send(s, n, job->held[i].msg, job->held[i].expect_chain);
        job->held[i].msg = NULL;
    }
    uint64_t seq = job->seq;
    sim_disk_job_free(job);
    if (s->failed)
        return;
    int rc = raft_persisted(n->r, seq);
    if (rc != RAFT_OK && !(n->stopped && rc == RAFT_ESTOPPED)) {
        sim_fail(s, "Contract", "node %d: raft_persisted(%llu) answers %s", n->id,
                 (unsigned long long)seq, raft_strerror(rc));
        return;
    }
    sim_node_settle(s, n);
}

/* ---- life and death ----------------------------------------------------- */

void sim_node_boot(struct sim *s, struct sim_node *n)
{
    char err[240];
    struct raft_config cfg;
    raft_config_defaults(&cfg);
    cfg.id = n->id;
    cfg.election_timeout_min = s->p.et_min;
    cfg.election_timeout_max = s->p.et_max;
    cfg.heartbeat_interval = s->p.hb;
    uint64_t st = s->seed ^ ((uint64_t)n->id << 40) ^ ((uint64_t)n->inc << 20);
    cfg.seed = sim_splitmix64(&st);
    cfg.pre_vote = s->p.pre_vote;
    cfg.check_quorum = s->p.check_quorum;
    cfg.max_inflight = s->p.max_inflight;
    cfg.max_inflight_bytes = s->p.max_inflight_bytes;
    cfg.max_entries_per_message = s->p.max_entries;
    cfg.max_bytes_per_message = s->p.max_bytes;
    if (s->p.max_uncommitted)
        cfg.max_uncommitted = s->p.max_uncommitted;
    cfg.mutations = s->opt.mutations;
    cfg.trace = on_core_trace;
    cfg.trace_ctx = n;

    /* Each incarnation has its own monotonic clock origin, as after a reboot. */
    n->offset = sim_rng_range(&s->rng, 0, 1000000000000ULL);
    struct raft_boot_state boot;
    sim_store_recover(s, n);
    if (s->failed)
        return;
    sim_disk_recover(&n->disk);
    struct raft_entry *ents = sim_disk_boot(&n->disk, &boot);
    /* The snapshot's configuration, or with none what its command line says (§4.1). */
    boot.configuration = n->disk.snap_index > 0 ? n->disk.snap_conf : n->boot_conf;
    n->sim = s;
    n->transfer_to = 0;
    n->r = raft_new(&cfg, &boot, sim_node_now(s, n));
    free(ents);
    if (!n->r) {
        sim_fail(s, "Contract",
                 "raft_new refuses node %d's durable state (term %llu, %llu entries)", n->id,
                 (unsigned long long)n->disk.term, (unsigned long long)n->disk.meta.len);
        return;
    }
    n->up = true;
    n->stopped = false;
    n->tick_at = 0;
    n->ready_seq = 0;
    n->hs_term = n->disk.term;
    n->hs_vote = n->disk.vote;
    n->commit = 0;
    n->applied = n->disk.snap_index; /* the state machine is loaded from the snapshot */
    n->sm_chain = n->disk.snap_chain;
    memset(n->sending, 0, sizeof(n->sending));
    sim_log_copy(&n->log, &n->disk.meta);
    sim_members_booted(n);
    for (raft_index i = 1; i <= n->log.len; i++)
        if (sim_inv_log_entry(&s->inv, i, sim_log_at(&n->log, i), err, sizeof(err)) != 0) {
            sim_fail(s, "Log Matching", "node %d's disk: %s", n->id, err);
            return;
        }
    struct raft *r = n->r;
    if (raft_current_term(r) != n->disk.term || raft_voted_for(r) != n->disk.vote ||
        raft_last_index(r) != n->disk.meta.len || raft_role(r) != RAFT_FOLLOWER ||
        raft_last_applied(r) != n->disk.snap_index ||
        raft_snapshot_index(r) != n->disk.snap_index || raft_commit_index(r) > n->disk.meta.len) {
        sim_fail(s, "Contract",
                 "node %d boots as %s term %llu vote %d last %llu applied %llu from a disk with "
                 "term %llu vote %d and %llu entries",
                 n->id, raft_role_name(raft_role(r)), (unsigned long long)raft_current_term(r),
                 raft_voted_for(r), (unsigned long long)raft_last_index(r),
                 (unsigned long long)raft_last_applied(r), (unsigned long long)n->disk.term,
                 n->disk.vote, (unsigned long long)n->disk.meta.len);
        return;
    }
    n->role = RAFT_FOLLOWER;
    n->term = n->disk.term;
    struct sim_rec rec = {0};
    rec.kind = SIM_REC_RESTART;
    rec.node = (uint8_t)n->id;
    rec.a = n->disk.term;
    rec.b = (uint64_t)n->disk.vote;
    rec.c = n->disk.meta.len;
    sim_record(s, &rec);
    sim_node_settle(s, n);
}

/* The first index that writes still pending (never acknowledged) could change, joined
 * with what earlier dropped writes could have changed: the real storage did those
 * writes when the ready was taken, as the daemon does, so it may hold them. */
static raft_index excuse_pending(const struct sim_node *n)
{
    raft_index excused = n->excused_from;
    for (const struct sim_job *j = n->disk.head; j; j = j->next) {
        raft_index from = 0;
        if (j->snap) {
            /* Figure 13, as the storage does it: the entries after the snapshot stay
             * when the log holds its last entry with the same term. */
            const struct sim_meta *at = sim_log_at(&n->disk.meta, j->snap_index);
            if (!at || at->term != j->snap_term)
                from = j->snap_index + 1;
        }
        if (j->log && (from == 0 || j->from < from))
            from = j->from;
        if (from != 0 && (excused == 0 || from < excused))
            excused = from;
    }
    return excused;
}

void sim_node_crash(struct sim *s, struct sim_node *n)
{
    if (!n->up)
        return;
    uint64_t pending = 0;
    for (struct sim_job *j = n->disk.head; j; j = j->next)
        pending++;
    raft_index excused = excuse_pending(n);
    const struct sim_job *head = n->disk.head;
    bool deferred_hard = head && head->store_deferred && head->hard;
    raft_term torn_term = head ? head->term : 0;
    raft_id torn_vote = head ? head->vote : RAFT_NOBODY;
    enum sim_torn torn = sim_disk_crash(&n->disk, &s->rng, s->p.torn_ppm);
    /* A torn write that reached the platter with its hard state did so in the real
     * storage too, which had not started it yet (sim_store.h). */
    if (torn != SIM_TORN_NONE && deferred_hard)
        sim_store_save_hard_state(s, n, torn_term, torn_vote);
    sim_store_crash(s, n, excused);
    struct sim_rec rec = {0};
    rec.kind = SIM_REC_CRASH;
    rec.node = (uint8_t)n->id;
    rec.a = (uint64_t)torn;
    rec.b = pending;
    sim_record(s, &rec);
    raft_free(n->r);
    n->r = NULL;
    n->up = false;
    n->stopped = false;
    n->inc++;
    n->tick_at = 0;
    sim_log_truncate(&n->log, 0);
    n->commit = 0;
    n->applied = 0;
    n->role = RAFT_FOLLOWER;
    n->sm_chain = 0;
    memset(n->sending, 0, sizeof(n->sending));
    n->installing = false; /* its reading died with it (sim_on_snap_install) */
    sim_client_node_down(s, n);
    s->st.crashes++;
    /* The dead process's sockets close: peers that were talking to it may notice. */
    for (int i = 1; i <= s->p.n; i++) {
        struct sim_node *m = &s->nodes[i];
        if (m != n && m->up && sim_net_connected(&s->net, n->id, m->id) &&
            sim_rng_chance(&s->rng, s->p.disconnect_ppm))
            sim_schedule(s, s->now + sim_rng_range(&s->rng, 0, 3), SIM_EV_DISCONNECT, m->id, m->inc,
                         NULL, (uint64_t)n->id, 0);
    }
}

void sim_node_disk_fail(struct sim *s, struct sim_node *n)
{
    if (!n->up || n->stopped)
        return;
    struct sim_rec rec = {0};
    rec.kind = SIM_REC_DISK_FAIL;
    rec.node = (uint8_t)n->id;
    sim_record(s, &rec);
    /* Writes in flight fail with the disk; their replies never leave. */
    n->excused_from = excuse_pending(n);
    n->store_deferred = 0;
    sim_disk_drop_pending(&n->disk);
    n->stopped = true;
    raft_stop(n->r);
    s->st.disk_fails++;
    sim_node_settle(s, n);
}

void sim_node_free(struct sim_node *n)
{
    if (n->r)
        raft_free(n->r);
    n->r = NULL;
    sim_disk_free(&n->disk);
    sim_log_free(&n->log);
    free(n->conf_at);
    n->conf_at = NULL;
    n->n_conf_at = n->conf_at_cap = 0;
    free(n->waiting);
    n->waiting = NULL;
}

void sim_check_final(struct sim *s)
{
    raft_index c = sim_inv_committed_index(&s->inv);
    for (int i = 1; i <= s->p.n && !s->failed; i++) {
        struct sim_node *n = &s->nodes[i];
        if (!sim_members_final(s, n))
            continue; /* not a member: nobody replicates to it */
        if (!n->up) {
            sim_fail(s, "Liveness", "node %d is down at the end", n->id);
            return;
        }
        /* Disks are not compared here: a follower may apply what its own disk has not
         * written yet; durability is checked when entries commit. */
        if (!sim_inv_holds(&s->inv, &n->log, c))
            sim_fail(s, "Committed entry lost",
                     "at the end node %d's log does not hold the committed log 1..%llu", n->id,
                     (unsigned long long)c);
    }
}
