/* sim_members.c: the operator of the simulated cluster changes its membership at random
 * during the faults (docs/MEMBERSHIP.md): it adds a node that is not a member as a learner,
 * promotes learners (trying again until they have caught up), and removes voters and
 * learners, the leader included, retrying as a user would while the answer is "not now".
 * Nodes 1..voters0 bootstrap as the first voters; the
 * others boot like `raft_peer NAME --join`, with an empty configuration. Once a removal
 * commits, the operator shuts the removed node down (it is retired); adding it back boots
 * it again from its own disk. */
#include "sim.h"

#include <string.h>

#include "sim_alloc.h"

void sim_members_init(struct sim *s)
{
    struct raft_configuration boot = raft_configuration_bootstrap(s->p.voters0);
    struct raft_configuration join = {0, 0};
    for (int i = 1; i <= s->p.n; i++)
        s->nodes[i].boot_conf = i <= s->p.voters0 ? boot : join;
}

static void record(struct sim *s, int leader, int id, enum raft_change op, int rc, raft_index index)
{
    struct sim_rec r = {0};
    r.kind = SIM_REC_MEMBER;
    r.sub = (uint8_t)op;
    r.node = (uint8_t)leader;
    r.peer = (uint8_t)id;
    r.a = (uint64_t)(int64_t)rc;
    r.b = index;
    sim_record(s, &r);
}

static void retire(struct sim *s, struct sim_node *n)
{
    struct sim_rec r = {0};
    r.kind = SIM_REC_RETIRE;
    r.node = (uint8_t)n->id;
    sim_record(s, &r);
    sim_node_crash(s, n);
    n->retired = true;
    s->st.retired++;
}

void sim_members_poll(struct sim *s)
{
    raft_index committed = sim_inv_committed_index(&s->inv);
    for (int id = 1; id <= s->p.n && !s->failed; id++) {
        struct sim_member_op *op = &s->member_op[id];
        if (!op->live || op->index > committed)
            continue;
        const struct sim_meta *m = sim_log_at(&s->inv.committed, op->index);
        op->live = false; /* committed, or another entry took its place */
        if (m->term == op->term && m->dhash == op->dhash && op->op == RAFT_CHANGE_REMOVE &&
            !s->nodes[id].retired)
            retire(s, &s->nodes[id]);
    }
}

/* The network splits as the leader appends the change, before its AppendEntries leave:
 * the change reaches only the leader's side. */
static void split_around(struct sim *s, int id)
{
    struct sim_part what;
    sim_net_split_with(&s->net, &s->rng, id, &what);
    struct sim_rec r = {0};
    r.kind = SIM_REC_PARTITION;
    r.sub = (uint8_t)what.kind;
    r.c = what.mask;
    sim_record(s, &r);
    s->st.partitions++;
}

/* Asks leader for op on id; remembers a change that went in. */
static int change(struct sim *s, struct sim_node *leader, enum raft_change op, int id)
{
    raft_index index = 0;
    int rc = raft_change_membership(leader->r, op, id, &index);
    record(s, leader->id, id, op, rc, index);
    switch (rc) {
    case RAFT_OK: {
        const struct raft_entry *e = raft_entry_at(leader->r, index);
        if (!e || e->type != RAFT_ENTRY_CONFIG || e->term != raft_current_term(leader->r)) {
            sim_fail(s, "Contract",
                     "node %d: raft_change_membership gives index %llu, but "
                     "its log holds no configuration of its term there",
                     leader->id, (unsigned long long)index);
            return rc;
        }
        struct sim_member_op *m = &s->member_op[id];
        m->live = true;
        m->op = op;
        m->index = index;
        m->term = e->term;
        m->dhash = sim_entry_hash(e);
        s->st.member_changes++;
        sim_maybe_crash_after(s, leader, s->p.crash_after_change_ppm);
        if (sim_rng_chance(&s->rng, s->p.split_after_change_ppm))
            split_around(s, leader->id);
        break;
    }
    case RAFT_ENOT_READY:
    case RAFT_ECHANGE_PENDING:
    case RAFT_EUNKNOWN_PEER:
    case RAFT_EEXISTS:
    case RAFT_ELAST_VOTER:
    case RAFT_ENOT_CAUGHT_UP:
    case RAFT_EBUSY:
        break;
    case RAFT_ESTOPPED:
        if (leader->stopped)
            break;
        /* fall through */
    default:
        sim_fail(s, "Contract", "node %d: raft_change_membership(%s, %d) answers %s", leader->id,
                 raft_change_name(op), id, raft_strerror(rc));
        return rc;
    }
    sim_node_settle(s, leader);
    return rc;
}

/* Asks for the wished-for change again after a pause drawn from [lo, hi] ms. */
static void retry_later(struct sim *s, raft_time lo, raft_time hi)
{
    sim_schedule(s, s->now + sim_rng_range(&s->rng, lo, hi), SIM_EV_MEMBER, 0, 0, NULL,
                 s->member_wish.gen, 0);
}

static void wish(struct sim *s, enum raft_change op, int id)
{
    s->member_wish.active = true;
    s->member_wish.op = op;
    s->member_wish.id = id;
    s->member_wish.gen++;
}

/* The operator asks the leader for its wish, and keeps asking while the answer says
 * "later": a new leader that has not committed its no-op yet (asked again within a few
 * ms, which is the window the 2015 bug needs), another change in progress, a learner not
 * caught up. Once an addition went in, the wish becomes the learner's promotion. */
static void attempt(struct sim *s)
{
    sim_members_poll(s);
    if (!s->member_wish.active || s->failed || s->phase != SIM_FAULTS)
        return;
    struct sim_node *leader = sim_leader(s);
    if (!leader) {
        retry_later(s, 1, 50);
        return;
    }
    enum raft_change op = s->member_wish.op;
    int id = s->member_wish.id;
    struct sim_node *n = &s->nodes[id];
    if (op == RAFT_CHANGE_ADD_LEARNER && n->retired && !n->up) {
        n->retired = false; /* the operator starts it again, from its own disk */
        sim_node_boot(s, n);
        if (s->failed)
            return;
    }
    int rc = change(s, leader, op, id);
    switch (rc) {
    case RAFT_OK:
        if (op == RAFT_CHANGE_ADD_LEARNER && sim_rng_below(&s->rng, 4) != 0) {
            wish(s, RAFT_CHANGE_PROMOTE, id);
            retry_later(s, 1, 100);
        } else {
            s->member_wish.active = false;
        }
        break;
    case RAFT_ENOT_READY:
        retry_later(s, 1, 5);
        break;
    case RAFT_ECHANGE_PENDING:
    case RAFT_EBUSY:
        retry_later(s, 1, 50);
        break;
    case RAFT_ENOT_CAUGHT_UP:
        retry_later(s, 20, 400);
        break;
    default:
        s->member_wish.active = false; /* refused for good: the operator gives it up */
        break;
    }
}

/* One of the ids of mask (bit i: node i), at random; 0 when there is none. */
static int pick(struct sim *s, uint32_t mask)
{
    int ids[SIM_MAX_NODES], k = 0;
    for (int i = 1; i <= s->p.n; i++)
        if (mask & (1u << i))
            ids[k++] = i;
    return k ? ids[sim_rng_below(&s->rng, (uint64_t)k)] : 0;
}

/* The operator wants a new change, chosen among those the leader's configuration allows
 * (and now and then one it must refuse). */
static void new_wish(struct sim *s)
{
    sim_members_poll(s);
    struct sim_node *leader = sim_leader(s);
    if (!leader || s->failed)
        return;
    const struct raft_configuration *conf = raft_configuration(leader->r);
    uint32_t all = ((1u << s->p.n) - 1) << 1;
    uint32_t members = conf->voters | conf->learners;
    uint32_t others = all & ~members;
    uint64_t roll = sim_rng_below(&s->rng, 100);
    if (roll < 5) /* anything at all: the refusals must be clean too */
        wish(s,
             (enum raft_change)sim_rng_range(&s->rng, RAFT_CHANGE_ADD_LEARNER, RAFT_CHANGE_REMOVE),
             (int)sim_rng_range(&s->rng, 1, (uint64_t)s->p.n));
    else if (roll < 50 && others)
        wish(s, RAFT_CHANGE_ADD_LEARNER, pick(s, others));
    else if (roll < 65 && conf->learners)
        wish(s, RAFT_CHANGE_PROMOTE, pick(s, conf->learners));
    else if (members)
        wish(s, RAFT_CHANGE_REMOVE, pick(s, members));
    else
        return;
    attempt(s);
}

static void next_wish_later(struct sim *s)
{
    sim_schedule(s, s->now + sim_rng_range(&s->rng, 1, 2 * s->p.member_mean), SIM_EV_MEMBER, 0, 0,
                 NULL, 0, 0);
}

void sim_members_start(struct sim *s)
{
    if (s->p.member_mean)
        next_wish_later(s);
}

void sim_on_member(struct sim *s, const struct sim_event *ev)
{
    if (s->phase != SIM_FAULTS)
        return;
    if (ev->aux == 0) {
        new_wish(s);
        next_wish_later(s);
    } else if (ev->aux == s->member_wish.gen) {
        attempt(s);
    }
}

/* A new leader: the operator asks it for its wish at once (the window in which the 2015
 * bug strikes, before the leader has committed an entry of its term), and often for a
 * new wish that changes the voters: remove the leader it saw before (which may be dead:
 * replace it), promote a learner, remove a voter; it likely differs from a change the
 * old leader may have left half done. */
void sim_members_new_leader(struct sim *s, int id)
{
    int old = s->member_wish.last_leader;
    s->member_wish.last_leader = id;
    if (!s->p.member_mean || s->phase != SIM_FAULTS)
        return;
    const struct raft_configuration *conf = raft_configuration(s->nodes[id].r);
    uint64_t roll = sim_rng_below(&s->rng, 10);
    if (roll < 4 && old != 0 && old != id)
        wish(s, RAFT_CHANGE_REMOVE, old);
    else if (roll < 6 && conf->learners)
        wish(s, RAFT_CHANGE_PROMOTE, pick(s, conf->learners));
    else if (roll < 8 && (conf->voters & ~(1u << id)))
        wish(s, RAFT_CHANGE_REMOVE, pick(s, conf->voters & ~(1u << id)));
    if (s->member_wish.active)
        sim_schedule(s, s->now + sim_rng_range(&s->rng, 0, 2), SIM_EV_MEMBER, 0, 0, NULL,
                     s->member_wish.gen, 0);
}

bool sim_members_final(struct sim *s, const struct sim_node *n)
{
    if (n->retired)
        return false;
    const struct sim_node *ref = sim_leader(s);
    if (!ref) {
        /* No leader: the node that knows most of the committed log speaks for it. */
        for (int i = 1; i <= s->p.n; i++) {
            const struct sim_node *m = &s->nodes[i];
            if (m->up && (!ref || raft_commit_index(m->r) > raft_commit_index(ref->r)))
                ref = m;
        }
    }
    if (!ref)
        return true;
    return raft_configuration_is_member(raft_configuration(ref->r), n->id);
}

/* ---- direct checks ------------------------------------------------------- */

void sim_members_log_truncated(struct sim_node *n, raft_index keep)
{
    while (n->n_conf_at > 0 && n->conf_at[n->n_conf_at - 1] > keep)
        n->n_conf_at--;
}

static void push_conf_at(struct sim_node *n, raft_index index)
{
    sim_grow((void **)&n->conf_at, &n->conf_at_cap, n->n_conf_at + 1, sizeof(*n->conf_at));
    n->conf_at[n->n_conf_at++] = index;
}

void sim_members_booted(struct sim_node *n)
{
    n->n_conf_at = 0;
    for (raft_index i = raft_first_index(n->r); i <= raft_last_index(n->r); i++) {
        const struct raft_entry *e = raft_entry_at(n->r, i);
        if (e && e->type == RAFT_ENTRY_CONFIG)
            push_conf_at(n, i);
    }
}

/* A leader appends a configuration of its term only once it has committed an entry of
 * its term (its no-op), and while no other configuration is uncommitted in its log
 * (raft-dev 2015, §4.1). Its commit index can only have grown since the append. */
void sim_members_log_appended(struct sim *s, struct sim_node *n, raft_index index,
                              const struct raft_entry *e)
{
    if (e->type != RAFT_ENTRY_CONFIG)
        return;
    push_conf_at(n, index);
    struct raft *r = n->r;
    if (s->opt.weak || raft_role(r) != RAFT_LEADER || e->term != raft_current_term(r))
        return;
    /* The first entry of its term it holds: a compacted prefix may end with some (the
     * term at the snapshot's index is known, and compacted entries are committed). */
    raft_index first = index;
    while (first > 1 && first - 1 >= raft_snapshot_index(r) &&
           raft_term_at(r, first - 1) == e->term)
        first--;
    raft_index commit = raft_commit_index(r);
    if (commit < first) {
        sim_fail(s, "Membership rule",
                 "leader %d of term %llu appends a configuration at index %llu before it has "
                 "committed an entry of its term (the first is %llu, its commit index %llu)",
                 n->id, (unsigned long long)e->term, (unsigned long long)index,
                 (unsigned long long)first, (unsigned long long)commit);
        return;
    }
    for (size_t i = 0; i + 1 < n->n_conf_at; i++)
        if (n->conf_at[i] > commit)
            sim_fail(s, "Membership rule",
                     "leader %d of term %llu appends a configuration at index %llu while the one "
                     "at %llu is not committed (its commit index %llu)",
                     n->id, (unsigned long long)e->term, (unsigned long long)index,
                     (unsigned long long)n->conf_at[i], (unsigned long long)commit);
}

void sim_members_check(struct sim *s, struct sim_node *n)
{
    if (s->opt.weak)
        return;
    struct raft *r = n->r;
    raft_index offset = raft_snapshot_index(r);
    raft_index at = n->n_conf_at > 0 ? n->conf_at[n->n_conf_at - 1] : 0;
    struct raft_configuration want;
    if (at > offset) {
        const struct raft_entry *e = raft_entry_at(r, at);
        if (!e || raft_configuration_decode(e->data, e->len, &want) != RAFT_OK) {
            sim_fail(s, "Contract", "node %d's configuration entry %llu does not decode", n->id,
                     (unsigned long long)at);
            return;
        }
    } else {
        at = 0; /* the snapshot's (or the bootstrap's), which only the core knows */
        raft_configuration_at(r, offset, &want);
    }
    const struct raft_configuration *got = raft_configuration(r);
    if (got->voters != want.voters || got->learners != want.learners ||
        raft_configuration_index(r) != at)
        sim_fail(s, "Configuration",
                 "node %d uses voters %#x learners %#x (entry %llu), but the latest configuration "
                 "in its log is voters %#x learners %#x (entry %llu): §4.1 uses it once appended",
                 n->id, got->voters, got->learners, (unsigned long long)raft_configuration_index(r),
                 want.voters, want.learners, (unsigned long long)at);
}
