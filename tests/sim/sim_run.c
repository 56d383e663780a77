/* sim_run.c: one seed from start to verdict: set-up, the event loop, the report. */
#include "sim.h"
#include "sim_store.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "sim_alloc.h"

/* Far more events than any healthy run needs (a long run takes about a million). */
#define SIM_MAX_STEPS 30000000ULL

struct sim *sim_new(uint64_t seed, const struct sim_options *opt)
{
    struct sim *s = sim_xcalloc(1, sizeof(*s));
    s->seed = seed;
    s->opt = *opt;
    sim_rng_seed(&s->rng, seed);
    sim_rng_seed(&s->check_rng, seed ^ 0x6a09e667f3bcc909ULL);
    sim_queue_init(&s->q);
    sim_trace_init(&s->trace, opt->live_trace ? stdout : NULL);
    sim_inv_init(&s->inv);
    sim_params_choose(s);
    sim_store_start(s);
    for (int i = 1; i <= s->p.n; i++) {
        struct sim_node *n = &s->nodes[i];
        n->sim = s;
        n->id = i;
        sim_disk_init(&n->disk);
    }
    sim_members_init(s);
    return s;
}

void sim_fail(struct sim *s, const char *what, const char *fmt, ...)
{
    if (s->failed)
        return;
    s->failed = true;
    snprintf(s->what, sizeof(s->what), "%s", what);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->detail, sizeof(s->detail), fmt, ap);
    va_end(ap);
}

void sim_record(struct sim *s, struct sim_rec *r)
{
    r->time = s->now;
    r->step = s->st.steps;
    sim_trace_add(&s->trace, r);
}

void sim_schedule(struct sim *s, raft_time at, int type, int node, uint32_t inc, void *ptr,
                  uint64_t aux, uint8_t flags)
{
    struct sim_event ev = {0};
    ev.time = at;
    ev.type = (uint8_t)type;
    ev.node = (uint8_t)node;
    ev.inc = inc;
    ev.ptr = ptr;
    ev.aux = aux;
    ev.flags = flags;
    sim_queue_push(&s->q, &ev);
}

static void dispatch(struct sim *s, struct sim_event *ev)
{
    switch (ev->type) {
    case SIM_EV_TICK:
        sim_on_tick(s, ev);
        break;
    case SIM_EV_DELIVER:
        sim_on_deliver(s, ev);
        break;
    case SIM_EV_DISK:
        sim_on_disk(s, ev);
        break;
    case SIM_EV_CRASH:
        sim_on_crash(s, ev);
        break;
    case SIM_EV_RESTART:
        sim_on_restart(s, ev);
        break;
    case SIM_EV_CHAOS:
        sim_on_chaos(s);
        break;
    case SIM_EV_PROPOSE:
        sim_on_propose(s);
        break;
    case SIM_EV_READ:
        sim_on_read(s);
        break;
    case SIM_EV_HEAL:
        sim_on_heal(s);
        break;
    case SIM_EV_LIVE:
        sim_on_live(s);
        break;
    case SIM_EV_DEADLINE:
        sim_on_deadline(s);
        break;
    case SIM_EV_SNAP_CHUNK:
        sim_on_snap_chunk(s, ev);
        break;
    case SIM_EV_SNAP_REPLY:
        sim_on_snap_reply(s, ev);
        break;
    case SIM_EV_SNAP_INSTALL:
        sim_on_snap_install(s, ev);
        break;
    case SIM_EV_DISCONNECT:
        sim_on_disconnect(s, ev);
        break;
    case SIM_EV_UNREACHABLE:
        sim_on_unreachable(s, ev);
        break;
    case SIM_EV_MEMBER:
        sim_on_member(s, ev);
        break;
    default:
        break;
    }
}

int sim_run(struct sim *s)
{
    for (int i = 1; i <= s->p.n && !s->failed; i++)
        sim_node_boot(s, &s->nodes[i]);
    sim_client_start(s);
    sim_faults_start(s);
    struct sim_event ev;
    while (!s->failed && !s->done && sim_queue_pop(&s->q, &ev)) {
        s->now = ev.time;
        if (++s->st.steps > SIM_MAX_STEPS) {
            sim_fail(s, "Runaway", "more than %llu events", (unsigned long long)SIM_MAX_STEPS);
        } else {
            dispatch(s, &ev);
        }
        free(ev.ptr); /* a message nobody took (only when the loop stops early) */
    }
    if (!s->failed && !s->done)
        sim_fail(s, "Liveness", "nothing left to happen, and the goal was not reached");
    return s->failed ? -1 : 0;
}

static void drop_event(struct sim_event *ev)
{
    free(ev->ptr);
    ev->ptr = NULL;
}

void sim_free(struct sim *s)
{
    if (!s)
        return;
    sim_queue_free(&s->q, drop_event);
    sim_store_stop(s);
    for (int i = 1; i <= SIM_MAX_NODES; i++)
        sim_node_free(&s->nodes[i]);
    sim_inv_free(&s->inv);
    sim_client_free(s);
    free(s->scratch);
    free(s);
}

static void describe(const struct sim *s, char *buf, size_t len)
{
    const struct sim_params *p = &s->p;
    snprintf(buf, len,
             "peers=%d pre_vote=%d check_quorum=%d timeout=%llu-%llu/%llu inflight=%u/%uB "
             "batch=%u/%uB uncommitted=%u snapshot_every=%llu faults=%llu.%01llus loss=%u%% "
             "dup=%u%% voters=%d member_every=%ums",
             p->n, p->pre_vote, p->check_quorum, (unsigned long long)p->et_min,
             (unsigned long long)p->et_max, (unsigned long long)p->hb, p->max_inflight,
             p->max_inflight_bytes, p->max_entries, p->max_bytes, p->max_uncommitted,
             (unsigned long long)p->snap_every, (unsigned long long)(p->fault_ms / 1000),
             (unsigned long long)(p->fault_ms % 1000 / 100), p->net.loss_ppm / 10000,
             p->net.dup_ppm / 10000, p->voters0, (unsigned)p->member_mean);
}

static void describe_stats(const struct sim *s, char *buf, size_t len)
{
    const struct sim_stats *t = &s->st;
    snprintf(buf, len,
             "%llu steps, %llu msgs, %llu elections, %llu committed, %llu crashes, %llu disk "
             "failures, %llu power cuts, %llu partitions, %llu snapshots, %llu installed, "
             "%llu refused, %llu lost in a crash, %llu/%llu reads served, %llu membership changes, "
             "%llu retired",
             (unsigned long long)t->steps, (unsigned long long)t->delivered,
             (unsigned long long)t->elections, (unsigned long long)sim_inv_committed_index(&s->inv),
             (unsigned long long)t->crashes, (unsigned long long)t->disk_fails,
             (unsigned long long)t->power_cuts, (unsigned long long)t->partitions,
             (unsigned long long)t->snapshots, (unsigned long long)t->installs,
             (unsigned long long)t->install_refusals, (unsigned long long)t->installs_lost,
             (unsigned long long)t->reads_served, (unsigned long long)s->client.n_reads,
             (unsigned long long)t->member_changes, (unsigned long long)t->retired);
}

static void print_nodes(const struct sim *s, FILE *out)
{
    for (int i = 1; i <= s->p.n; i++) {
        const struct sim_node *n = &s->nodes[i];
        if (n->up)
            fprintf(out,
                    "  node %d: %s%s term %llu vote %d leader %d, log %llu (last term %llu), "
                    "commit %llu, applied %llu, voters %#x learners %#x (entry %llu); disk: "
                    "term %llu vote %d log %llu\n",
                    i, raft_role_name(raft_role(n->r)), n->stopped ? " (disk failed)" : "",
                    (unsigned long long)raft_current_term(n->r), raft_voted_for(n->r),
                    raft_leader(n->r), (unsigned long long)raft_last_index(n->r),
                    (unsigned long long)raft_last_term(n->r),
                    (unsigned long long)raft_commit_index(n->r), (unsigned long long)n->applied,
                    raft_configuration(n->r)->voters, raft_configuration(n->r)->learners,
                    (unsigned long long)raft_configuration_index(n->r),
                    (unsigned long long)n->disk.term, n->disk.vote,
                    (unsigned long long)n->disk.meta.len);
        else
            fprintf(out, "  node %d: %s; disk: term %llu vote %d log %llu\n", i,
                    n->retired ? "retired" : "down", (unsigned long long)n->disk.term, n->disk.vote,
                    (unsigned long long)n->disk.meta.len);
    }
}

void sim_report(const struct sim *s, FILE *out, bool verbose)
{
    char cfg[400], stats[360];
    describe(s, cfg, sizeof(cfg));
    describe_stats(s, stats, sizeof(stats));
    if (!s->failed) {
        if (verbose)
            fprintf(out, "seed %llu: passed (%s; %s)\n", (unsigned long long)s->seed, cfg, stats);
        return;
    }
    fprintf(out, "seed %llu FAILED: %s: %s\n", (unsigned long long)s->seed, s->what, s->detail);
    fprintf(out, "  at %llu.%03llu s, step %llu, %s\n", (unsigned long long)(s->now / 1000),
            (unsigned long long)(s->now % 1000), (unsigned long long)s->st.steps,
            s->phase == SIM_FAULTS ? "during the faults" : "after the heal");
    fprintf(out, "  run: %s\n  so far: %s\n", cfg, stats);
    print_nodes(s, out);
    fprintf(out, "  last 200 steps:\n");
    sim_trace_dump(&s->trace, out, s->st.steps, 200);
    fprintf(out, "  replay: raft_sim --seed %llu", (unsigned long long)s->seed);
    if (s->opt.peers)
        fprintf(out, " --peers %d", s->opt.peers);
    if (s->opt.mutation_name)
        fprintf(out, " --mutation %s", s->opt.mutation_name);
    if (s->opt.weak)
        fprintf(out, " --weak");
    if (s->opt.pace)
        fprintf(out, " --pace");
    fprintf(out, " --verbose\n");
}
