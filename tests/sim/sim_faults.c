/* sim_faults.c: what a seed varies, and the faults it throws at the cluster until the heal. */
#include "sim.h"

#include <string.h>

#define SIM_LIVE_MS 10000

/* Picks one of a few values; the odds of each are equal. */
#define PICK(rng, arr) ((arr)[sim_rng_below((rng), sizeof(arr) / sizeof((arr)[0]))])

void sim_params_choose(struct sim *s)
{
    static const int sizes[] = {3, 5, 7};
    static const raft_time timeouts[] = {100, 150, 250};
    static const uint32_t inflight[] = {1, 2, 8, 64};
    static const uint32_t entries[] = {1, 1, 4, 64};
    static const uint32_t bytes[] = {128, 1024, 1u << 20};
    static const uint32_t uncommitted[] = {0, 64, 1024};
    static const uint32_t payloads[] = {8, 24, 64};
    static const raft_index snapshots[] = {0, 25, 100, 400};
    static const uint32_t disconnects[] = {0, 500000, 1000000};
    struct sim_params *p = &s->p;
    struct sim_rng *g = &s->rng;
    memset(p, 0, sizeof(*p));

    p->n = s->opt.peers ? s->opt.peers : sizes[s->seed % 3];
    p->pre_vote = sim_rng_below(g, 2);
    p->check_quorum = sim_rng_below(g, 2);
    p->et_min = PICK(g, timeouts);
    p->et_max = 2 * p->et_min;
    p->hb = p->et_min / 3;
    p->max_inflight = PICK(g, inflight);
    p->max_entries = PICK(g, entries);
    p->max_bytes = PICK(g, bytes);
    p->max_uncommitted = PICK(g, uncommitted);
    p->payload_max = PICK(g, payloads);
    /* Small limits everywhere at once would make catching up after the heal slower than
     * the liveness bound allows for reasons that are not bugs: keep a few entries moving
     * per round trip. */
    if (p->max_inflight * p->max_entries < 8)
        p->max_inflight = 8;
    if (p->max_bytes < 1024) {
        p->payload_max = 24;
        if (p->max_inflight < 8)
            p->max_inflight = 8;
    }
    /* Drawn apart from the rng's stream, so every other choice of a seed stays as it
     * was; 1024 bytes still lets 8 of the largest entries through per round trip. */
    static const uint32_t inflight_bytes[] = {0, 1024, 16384, 1u << 20};
    uint64_t ib = s->seed ^ 0x1f1f1f1f1f1f1f1full;
    p->max_inflight_bytes = inflight_bytes[sim_splitmix64(&ib) % 4];

    p->fault_ms = sim_rng_range(g, 20000, 60000);
    p->live_ms = SIM_LIVE_MS;
    p->chaos_mean = sim_rng_range(g, 150, 1500);
    p->w_crash = (uint32_t)sim_rng_range(g, 1, 10);
    p->w_crash_leader = (uint32_t)sim_rng_range(g, 0, 6);
    p->w_partition = (uint32_t)sim_rng_range(g, 1, 10);
    p->w_net_heal = (uint32_t)sim_rng_range(g, 1, 10);
    p->w_disk_fail = (uint32_t)sim_rng_range(g, 0, 2);
    p->w_transfer = (uint32_t)sim_rng_range(g, 0, 3);
    /* Two seeds in three change the membership, often (hundreds of changes in a run): the
     * hunt for the membership mutants needs the rare interleavings. Some of the nodes may
     * start outside the cluster, as peers waiting to join. */
    p->member_mean = sim_rng_below(g, 3) ? sim_rng_range(g, 20, 400) : 0;
    p->voters0 = p->member_mean ? p->n - (int)sim_rng_below(g, 3) : p->n;
    /* The §4.1 bugs need a change left half replicated by a leader that dies or is cut
     * off as it appends it. */
    p->crash_after_change_ppm = (uint32_t)sim_rng_range(g, 0, 600000);
    p->split_after_change_ppm = (uint32_t)sim_rng_range(g, 0, 600000);
    if (p->member_mean && sim_rng_below(g, 2)) {
        /* A membership storm: the 2015 bug needs two changes from one configuration
         * whose majorities need not overlap, which takes an even number of voters. */
        p->voters0 = 2 * (1 + (int)sim_rng_below(g, (uint64_t)((p->n - 1) / 2)));
        p->member_mean = sim_rng_range(g, 20, 100);
        p->crash_after_change_ppm = 500000;
        p->split_after_change_ppm = 500000;
    }
    p->down_max = sim_rng_range(g, 100, 5000);

    p->disk_min = sim_rng_range(g, 0, 1);
    p->disk_max = sim_rng_range(g, 1, 15);
    p->disk_slow_max = sim_rng_range(g, 20, 300);
    p->disk_slow_ppm = (uint32_t)sim_rng_range(g, 0, 30000);
    p->torn_ppm = (uint32_t)sim_rng_range(g, 0, 500000);
    p->crash_after_vote_ppm = (uint32_t)sim_rng_range(g, 0, 100000);
    p->crash_after_ack_ppm = (uint32_t)sim_rng_range(g, 0, 3000);
    p->crash_after_commit_ppm = (uint32_t)sim_rng_range(g, 0, 20000);
    p->corrupt_ppm = (uint32_t)sim_rng_range(g, 0, 2000);
    p->tick_late_ppm = (uint32_t)sim_rng_range(g, 0, 50000);
    p->disconnect_ppm = PICK(g, disconnects);
    p->snap_every = PICK(g, snapshots);
    p->power_cut_ppm = (uint32_t)sim_rng_range(g, 200000, 1000000);

    p->propose_mean = sim_rng_range(g, 20, 150);
    p->read_mean = sim_rng_range(g, 50, 800);
    p->live_cmds = (int)sim_rng_range(g, 3, SIM_LIVE_CMDS_MAX);

    struct sim_net *net = &p->net;
    memset(net, 0, sizeof(*net));
    net->n = p->n;
    net->delay_min = sim_rng_range(g, 1, 5);
    net->delay_max = net->delay_min + sim_rng_range(g, 1, 30);
    net->slow_ppm = (uint32_t)sim_rng_range(g, 0, 50000);
    net->slow_max = net->delay_max + sim_rng_range(g, 50, 500);
    net->loss_ppm = (uint32_t)sim_rng_range(g, 0, 200000);
    net->dup_ppm = (uint32_t)sim_rng_range(g, 0, 50000);
    /* Drawn last, so the draws above are those of the seeds before they existed. */
    /* Never all of them: the daemon still queues a probe once the last one has left. */
    static const uint32_t silent_drops[] = {0, 300000, 700000};
    static const uint32_t overflows[] = {0, 0, 2000, 20000};
    p->silent_drop_ppm = PICK(g, silent_drops);
    p->overflow_ppm = PICK(g, overflows);
    s->net = *net;
}

raft_time sim_disk_latency(struct sim *s)
{
    if (s->phase == SIM_FAULTS && sim_rng_chance(&s->rng, s->p.disk_slow_ppm))
        return sim_rng_range(&s->rng, s->p.disk_max, s->p.disk_slow_max);
    return sim_rng_range(&s->rng, s->p.disk_min, s->p.disk_max);
}

void sim_faults_start(struct sim *s)
{
    sim_schedule(s, s->now + sim_rng_range(&s->rng, 1, 2 * s->p.chaos_mean), SIM_EV_CHAOS, 0, 0,
                 NULL, 0, 0);
    sim_schedule(s, s->now + s->p.fault_ms, SIM_EV_HEAL, 0, 0, NULL, 0, 0);
    sim_members_start(s);
}

static void crash_for_a_while(struct sim *s, struct sim_node *n)
{
    sim_node_crash(s, n);
    sim_schedule(s, s->now + sim_rng_range(&s->rng, 1, s->p.down_max), SIM_EV_RESTART, n->id,
                 n->inc, NULL, 0, 0);
}

void sim_maybe_crash_after(struct sim *s, struct sim_node *n, uint32_t ppm)
{
    /* Within the disk's latency: the window in which a reply that came too early would
     * outlive the state it promised. */
    if (sim_rng_chance(&s->rng, ppm))
        sim_schedule(s, s->now + sim_rng_range(&s->rng, 0, s->p.disk_max), SIM_EV_CRASH, n->id,
                     n->inc, NULL, 0, 0);
}

static struct sim_node *random_node(struct sim *s)
{
    return &s->nodes[1 + sim_rng_below(&s->rng, (uint64_t)s->p.n)];
}

struct sim_node *sim_leader(struct sim *s)
{
    struct sim_node *leader = NULL;
    for (int i = 1; i <= s->p.n; i++) {
        struct sim_node *n = &s->nodes[i];
        if (n->up && raft_role(n->r) == RAFT_LEADER &&
            (!leader || raft_current_term(n->r) > raft_current_term(leader->r)))
            leader = n;
    }
    return leader;
}

static void transfer(struct sim *s)
{
    struct sim_node *leader = sim_leader(s);
    if (!leader)
        return;
    int target = 1 + (int)sim_rng_below(&s->rng, (uint64_t)(s->p.n - 1));
    if (target >= leader->id)
        target++;
    int rc = raft_transfer_leadership(leader->r, target);
    struct sim_rec r = {0};
    r.kind = SIM_REC_TRANSFER;
    r.node = (uint8_t)leader->id;
    r.peer = (uint8_t)target;
    r.a = (uint64_t)(int64_t)rc;
    sim_record(s, &r);
    if (rc == RAFT_ENOMEM)
        sim_fail(s, "Contract", "raft_transfer_leadership answers %s", raft_strerror(rc));
    sim_node_settle(s, leader);
}

/* A lesson pace (docs/CONTRACT.md) on one node or on all: the timing scaled by factor
 * at runtime, the fast failover on or off. Nodes at different paces, and a pace
 * changed mid-election, must not cost safety. */
static void set_pace(struct sim *s, struct sim_node *n, raft_time factor, bool fast_failover)
{
    if (!n->up || n->stopped)
        return;
    int rc = raft_set_timing(n->r, s->p.et_min * factor, s->p.et_max * factor, s->p.hb * factor,
                             fast_failover);
    if (rc != RAFT_OK)
        sim_fail(s, "Contract", "raft_set_timing answers %s", raft_strerror(rc));
    struct sim_rec r = {0};
    r.kind = SIM_REC_PACE;
    r.node = (uint8_t)n->id;
    r.a = factor;
    r.b = fast_failover;
    sim_record(s, &r);
    sim_node_settle(s, n);
}

static void change_pace(struct sim *s)
{
    static const raft_time factors[] = {1, 2, 3, 5};
    raft_time factor = PICK(&s->rng, factors);
    bool fast_failover = sim_rng_below(&s->rng, 2);
    if (sim_rng_below(&s->rng, 2)) {
        set_pace(s, random_node(s), factor, fast_failover);
        return;
    }
    for (int i = 1; i <= s->p.n && !s->failed; i++)
        set_pace(s, &s->nodes[i], factor, fast_failover);
}

void sim_on_chaos(struct sim *s)
{
    if (s->phase != SIM_FAULTS)
        return;
    const struct sim_params *p = &s->p;
    /* Drawn only with --pace, so that without it every seed runs as it always did. */
    if (s->opt.pace && sim_rng_below(&s->rng, 6) == 0) {
        change_pace(s);
        sim_schedule(s, s->now + sim_rng_range(&s->rng, 1, 2 * p->chaos_mean), SIM_EV_CHAOS, 0, 0,
                     NULL, 0, 0);
        return;
    }
    uint64_t total = (uint64_t)p->w_crash + p->w_crash_leader + p->w_partition + p->w_net_heal +
                     p->w_disk_fail + p->w_transfer;
    uint64_t pick = sim_rng_below(&s->rng, total);
    if (pick < p->w_crash) {
        struct sim_node *n = random_node(s);
        if (n->up)
            crash_for_a_while(s, n);
    } else if ((pick -= p->w_crash) < p->w_crash_leader) {
        /* Jepsen's favourite: the leader dies, often with entries half replicated. */
        struct sim_node *n = sim_leader(s);
        if (n)
            crash_for_a_while(s, n);
    } else if ((pick -= p->w_crash_leader) < p->w_partition) {
        struct sim_part what;
        sim_net_partition(&s->net, &s->rng, &what);
        struct sim_rec r = {0};
        r.kind = SIM_REC_PARTITION;
        r.sub = (uint8_t)what.kind;
        r.a = (uint64_t)what.a;
        r.b = (uint64_t)what.b;
        r.c = what.mask;
        sim_record(s, &r);
        s->st.partitions++;
    } else if ((pick -= p->w_partition) < p->w_net_heal) {
        sim_net_heal(&s->net);
        struct sim_rec r = {0};
        r.kind = SIM_REC_NET_HEAL;
        sim_record(s, &r);
    } else if ((pick -= p->w_net_heal) < p->w_disk_fail) {
        struct sim_node *n = random_node(s);
        if (n->up && !n->stopped) {
            sim_node_disk_fail(s, n);
            /* An operator notices and restarts the node a little later. */
            sim_schedule(s, s->now + sim_rng_range(&s->rng, 50, 2000), SIM_EV_CRASH, n->id, n->inc,
                         NULL, 0, 0);
        }
    } else {
        transfer(s);
    }
    sim_schedule(s, s->now + sim_rng_range(&s->rng, 1, 2 * p->chaos_mean), SIM_EV_CHAOS, 0, 0, NULL,
                 0, 0);
}

void sim_on_heal(struct sim *s)
{
    s->phase = SIM_HEALED;
    s->heal_at = s->now;
    struct sim_rec r = {0};
    r.kind = SIM_REC_HEAL;
    sim_record(s, &r);
    sim_net_heal(&s->net);
    s->net.loss_ppm = 0;
    s->net.dup_ppm = 0;
    s->net.slow_ppm = 0;
    s->net.delay_min = 1;
    s->net.delay_max = 5;
    for (int i = 1; i <= s->p.n && !s->failed; i++) {
        struct sim_node *n = &s->nodes[i];
        if (n->up && n->stopped)
            sim_node_crash(s, n);
        if (!n->up && !n->retired)
            sim_node_boot(s, n);
    }
    /* The ini's timing again, so the liveness bound means what it always meant. */
    for (int i = 1; s->opt.pace && i <= s->p.n && !s->failed; i++)
        set_pace(s, &s->nodes[i], 1, true);
    sim_schedule(s, s->now + 1, SIM_EV_LIVE, 0, 0, NULL, 0, 0);
    sim_schedule(s, s->now + s->p.live_ms, SIM_EV_DEADLINE, 0, 0, NULL, 0, 0);
}

void sim_on_crash(struct sim *s, const struct sim_event *ev)
{
    struct sim_node *n = &s->nodes[ev->node];
    if (s->phase != SIM_FAULTS || !n->up || ev->inc != n->inc)
        return;
    crash_for_a_while(s, n);
}

void sim_on_restart(struct sim *s, const struct sim_event *ev)
{
    struct sim_node *n = &s->nodes[ev->node];
    if (n->up || n->retired || ev->inc != n->inc)
        return;
    sim_node_boot(s, n);
}
