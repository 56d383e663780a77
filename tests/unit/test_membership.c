/* test_membership.c: the core's membership changes (docs/MEMBERSHIP.md, dissertation §4):
 * the configuration's bytes, the rules a change must pass, a configuration in use from
 * its append and gone with its truncation, learners that catch up and never vote, a leader
 * that removes itself, and removed servers that cannot disrupt the cluster (§4.2.3).
 *
 * A small in-memory cluster: every ready is durable at once and its messages delivered in
 * order, unless a link is cut or a peer is down. */
#include <criterion/criterion.h>
#include <stdlib.h>
#include <string.h>

#include "raft_peer/core/raft.h"

#define N_MAX 6

struct node {
    struct raft *r;
    bool up;
};

struct net {
    struct node nodes[N_MAX + 1];
    bool cut[N_MAX + 1][N_MAX + 1];
    raft_time now;
    struct raft_message *queue; /* deep copies waiting for delivery */
    size_t n_queue, cap_queue;
};

static uint32_t mask(const int *ids, int n)
{
    uint32_t m = 0;
    for (int i = 0; i < n; i++)
        m |= (uint32_t)1 << ids[i];
    return m;
}

/* Every core a test creates gets these (both on by default, as in the daemon). */
static bool pre_vote = true, check_quorum = true;

static struct raft_config config_of(raft_id id)
{
    struct raft_config cfg;
    raft_config_defaults(&cfg);
    cfg.id = id;
    cfg.pre_vote = pre_vote;
    cfg.check_quorum = check_quorum;
    cfg.election_timeout_min = 100;
    cfg.election_timeout_max = 200;
    cfg.heartbeat_interval = 20;
    cfg.seed = (uint64_t)id * 7919;
    return cfg;
}

static struct raft *core_new(raft_id id, struct raft_configuration conf, raft_time now)
{
    struct raft_config cfg = config_of(id);
    struct raft_boot_state boot = {.configuration = conf};
    struct raft *r = raft_new(&cfg, &boot, now);
    cr_assert_not_null(r);
    return r;
}

static void net_boot(struct net *net, raft_id id, struct raft_configuration conf)
{
    net->nodes[id].r = core_new(id, conf, net->now);
    net->nodes[id].up = true;
}

/* n voters 1..n, and joiners n+1..n+joiners booted with no configuration at all. */
static struct net *net_new(int n, int joiners)
{
    struct net *net = calloc(1, sizeof(*net));
    for (raft_id id = 1; id <= n; id++)
        net_boot(net, id, raft_configuration_bootstrap(n));
    for (raft_id id = n + 1; id <= n + joiners; id++)
        net_boot(net, id, (struct raft_configuration){0, 0});
    return net;
}

static void net_free(struct net *net)
{
    for (size_t i = 0; i < net->n_queue; i++)
        if (net->queue[i].type == RAFT_MSG_APPEND_ENTRIES) {
            for (uint32_t k = 0; k < net->queue[i].u.append_entries.n_entries; k++)
                free(net->queue[i].u.append_entries.entries[k].data);
            free(net->queue[i].u.append_entries.entries);
        }
    free(net->queue);
    for (int id = 1; id <= N_MAX; id++)
        raft_free(net->nodes[id].r);
    free(net);
}

static void enqueue(struct net *net, const struct raft_message *m)
{
    if (m->to < 1 || m->to > N_MAX || net->cut[m->from][m->to] || net->cut[m->to][m->from])
        return;
    if (net->n_queue == net->cap_queue) {
        net->cap_queue = net->cap_queue ? net->cap_queue * 2 : 64;
        net->queue = realloc(net->queue, net->cap_queue * sizeof(*net->queue));
    }
    struct raft_message copy = *m;
    if (m->type == RAFT_MSG_APPEND_ENTRIES && m->u.append_entries.n_entries > 0) {
        uint32_t k = m->u.append_entries.n_entries;
        copy.u.append_entries.entries = calloc(k, sizeof(struct raft_entry));
        for (uint32_t i = 0; i < k; i++) {
            struct raft_entry *e = &copy.u.append_entries.entries[i];
            *e = m->u.append_entries.entries[i];
            e->data = NULL;
            if (e->len > 0) {
                e->data = malloc(e->len);
                memcpy(e->data, m->u.append_entries.entries[i].data, e->len);
            }
        }
    }
    net->queue[net->n_queue++] = copy;
}

/* Takes every ready (durable at once) and delivers every message, until quiet. */
static void pump(struct net *net)
{
    for (int guard = 0; guard < 10000; guard++) {
        bool busy = false;
        for (raft_id id = 1; id <= N_MAX; id++) {
            struct node *nd = &net->nodes[id];
            if (!nd->r || !nd->up || !raft_has_ready(nd->r))
                continue;
            busy = true;
            struct raft_ready rd;
            raft_take_ready(nd->r, &rd);
            for (size_t i = 0; i < rd.n_messages; i++)
                enqueue(net, &rd.messages[i]);
            raft_persisted(nd->r, rd.seq);
        }
        if (net->n_queue > 0) {
            busy = true;
            struct raft_message *q = net->queue;
            size_t n = net->n_queue;
            net->queue = NULL;
            net->n_queue = net->cap_queue = 0;
            for (size_t i = 0; i < n; i++) {
                struct node *to = &net->nodes[q[i].to];
                if (to->r && to->up)
                    raft_step(to->r, &q[i], net->now);
                if (q[i].type == RAFT_MSG_APPEND_ENTRIES) {
                    for (uint32_t k = 0; k < q[i].u.append_entries.n_entries; k++)
                        free(q[i].u.append_entries.entries[k].data);
                    free(q[i].u.append_entries.entries);
                }
            }
            free(q);
        }
        if (!busy)
            return;
    }
    cr_assert_fail("the cluster never went quiet");
}

static void advance(struct net *net, raft_time ms)
{
    for (raft_time t = 0; t < ms; t++) {
        net->now++;
        for (raft_id id = 1; id <= N_MAX; id++)
            if (net->nodes[id].r && net->nodes[id].up)
                raft_tick(net->nodes[id].r, net->now);
        pump(net);
    }
}

static raft_id leader_of(struct net *net)
{
    raft_id found = RAFT_NOBODY;
    raft_term best = 0;
    for (raft_id id = 1; id <= N_MAX; id++) {
        struct node *nd = &net->nodes[id];
        if (nd->r && nd->up && raft_role(nd->r) == RAFT_LEADER &&
            raft_current_term(nd->r) >= best) {
            found = id;
            best = raft_current_term(nd->r);
        }
    }
    return found;
}

/* Time until a leader has committed an entry of its term, so it may change membership. */
static raft_id settle(struct net *net)
{
    for (int i = 0; i < 100; i++) {
        advance(net, 50);
        raft_id l = leader_of(net);
        if (l != RAFT_NOBODY) {
            struct raft *r = net->nodes[l].r;
            if (raft_term_at(r, raft_commit_index(r)) == raft_current_term(r))
                return l;
        }
    }
    cr_assert_fail("no leader settled");
    return RAFT_NOBODY;
}

static void isolate(struct net *net, raft_id id, bool cut)
{
    for (raft_id o = 1; o <= N_MAX; o++)
        if (o != id)
            net->cut[id][o] = net->cut[o][id] = cut;
}

/* Takes a ready and reports its writes durable at once. */
static void persist(struct raft *r)
{
    struct raft_ready rd;
    raft_take_ready(r, &rd);
    raft_persisted(r, rd.seq);
}

/* A cluster of one elects itself once its vote is durable. */
static struct raft *sole_leader(void)
{
    struct raft *r = core_new(1, raft_configuration_bootstrap(1), 0);
    raft_tick(r, 1000);
    cr_assert_eq(raft_role(r), RAFT_CANDIDATE, "its own vote counts once durable");
    persist(r);
    cr_assert_eq(raft_role(r), RAFT_LEADER);
    return r;
}

/* ---------------------------------------------------------------------- */

static int decode_text(const char *text, struct raft_configuration *c)
{
    return raft_configuration_decode((const uint8_t *)text, strlen(text), c);
}

Test(membership, configuration_bytes_round_trip_and_hostile_bytes_are_refused)
{
    struct raft_configuration c = {mask((int[]){1, 2, 16}, 3), mask((int[]){5}, 1)}, d;
    uint8_t b[RAFT_CONFIGURATION_MAX];
    size_t n = raft_configuration_encode(&c, b);
    cr_assert_eq(n, strlen("voters=1,2,16;learners=5"));
    cr_assert_eq(memcmp(b, "voters=1,2,16;learners=5", n), 0, "printable, like a command");
    cr_assert_eq(raft_configuration_decode(b, n, &d), RAFT_OK);
    cr_assert_eq(d.voters, c.voters);
    cr_assert_eq(d.learners, c.learners);
    cr_assert_eq(raft_configuration_n_voters(&d), 3);
    cr_assert(raft_configuration_is_voter(&d, 16) && raft_configuration_is_learner(&d, 5));
    cr_assert(!raft_configuration_is_member(&d, 0) && !raft_configuration_is_member(&d, 17));

    struct raft_configuration all = {((1u << RAFT_MAX_PEERS) - 1) << 1, 0};
    n = raft_configuration_encode(&all, b);
    cr_assert_leq(n, RAFT_CONFIGURATION_MAX);
    cr_assert_eq(raft_configuration_decode(b, n, &d), RAFT_OK);
    cr_assert_eq(d.voters, all.voters);
    struct raft_configuration none = {0, 0};
    n = raft_configuration_encode(&none, b);
    cr_assert_eq(memcmp(b, "voters=;learners=", n), 0);
    cr_assert_eq(raft_configuration_decode(b, n, &d), RAFT_OK);
    cr_assert_eq(d.voters | d.learners, 0);

    /* Only the exact form the encoder writes. */
    static const char *const bad[] = {
        "",
        "voters=1,2,3",             /* no learners part */
        "voters=1,2,3;learners=4;", /* trailing byte */
        "voters=1,2,3;learners=3",  /* voter and learner */
        "voters=0,1;learners=",     /* nobody */
        "voters=1,17;learners=",    /* beyond RAFT_MAX_PEERS */
        "voters=2,1;learners=",     /* not ascending */
        "voters=1,1;learners=",     /* twice */
        "voters=01;learners=",      /* leading zero */
        "voters=1,,2;learners=",    /* empty item */
        "voters=,1;learners=",      /* leading comma */
        "voters=1, 2;learners=",    /* a space */
        "Voters=1;learners=",       /* another label */
        "voters=100;learners=",     /* three digits */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(decode_text(bad[i], &d), RAFT_EINVAL, "'%s' must be refused", bad[i]);
    cr_assert_eq(raft_configuration_decode(NULL, 5, &d), RAFT_EINVAL);

    struct raft_configuration boot = raft_configuration_bootstrap(3);
    cr_assert_eq(boot.voters, mask((int[]){1, 2, 3}, 3));
    cr_assert_eq(boot.learners, 0);
}

Test(membership, a_change_waits_for_a_commit_of_the_leaders_own_term)
{
    struct raft *r = sole_leader();
    raft_index idx = 0;
    cr_assert_eq(raft_change_membership(r, RAFT_CHANGE_ADD_LEARNER, 2, &idx), RAFT_ENOT_READY,
                 "its no-op is not durable, so not committed");
    struct raft_ready rd;
    raft_take_ready(r, &rd);
    raft_persisted(r, rd.seq);
    cr_assert_eq(raft_commit_index(r), 1);
    cr_assert_eq(raft_change_membership(r, RAFT_CHANGE_ADD_LEARNER, 2, &idx), RAFT_OK);
    cr_assert_eq(idx, 2);
    raft_free(r);
}

Test(membership, one_change_at_a_time_and_clear_refusals)
{
    struct net *net = net_new(3, 1);
    raft_id l = settle(net);
    struct raft *r = net->nodes[l].r;
    raft_id follower = l % 3 + 1;
    cr_assert_eq(raft_change_membership(net->nodes[follower].r, RAFT_CHANGE_ADD_LEARNER, 4, NULL),
                 RAFT_ENOTLEADER);
    cr_assert_eq(raft_change_membership(r, RAFT_CHANGE_ADD_LEARNER, 0, NULL), RAFT_EUNKNOWN_PEER);
    cr_assert_eq(raft_change_membership(r, RAFT_CHANGE_ADD_LEARNER, RAFT_MAX_PEERS + 1, NULL),
                 RAFT_EUNKNOWN_PEER);
    cr_assert_eq(raft_change_membership(r, RAFT_CHANGE_ADD_LEARNER, follower, NULL), RAFT_EEXISTS);
    cr_assert_eq(raft_change_membership(r, RAFT_CHANGE_PROMOTE, follower, NULL), RAFT_EEXISTS);
    cr_assert_eq(raft_change_membership(r, RAFT_CHANGE_PROMOTE, 4, NULL), RAFT_EUNKNOWN_PEER);
    cr_assert_eq(raft_change_membership(r, RAFT_CHANGE_REMOVE, 5, NULL), RAFT_EUNKNOWN_PEER);

    raft_index idx;
    cr_assert_eq(raft_change_membership(r, RAFT_CHANGE_ADD_LEARNER, 4, &idx), RAFT_OK);
    cr_assert(raft_configuration_pending(r));
    cr_assert(raft_configuration_is_learner(raft_configuration(r), 4), "in use on append");
    cr_assert_eq(raft_configuration_index(r), idx);
    cr_assert_eq(raft_change_membership(r, RAFT_CHANGE_REMOVE, follower, NULL),
                 RAFT_ECHANGE_PENDING);
    pump(net);
    cr_assert_geq(raft_commit_index(r), idx);
    cr_assert(!raft_configuration_pending(r));
    cr_assert_eq(raft_change_membership(r, RAFT_CHANGE_REMOVE, follower, &idx), RAFT_OK);
    pump(net);
    cr_assert_eq(raft_configuration(r)->voters, mask((int[]){1, 2, 3}, 3) & ~(1u << follower));
    net_free(net);
}

Test(membership, the_last_voter_cannot_be_removed)
{
    struct raft *r = sole_leader();
    persist(r);
    cr_assert_eq(raft_change_membership(r, RAFT_CHANGE_REMOVE, 1, NULL), RAFT_ELAST_VOTER);
    cr_assert_eq(raft_strerror(RAFT_ELAST_VOTER)[0] != 'u', 1, "a message of its own");
    raft_free(r);
}

/* Entries from leader 1 of term 1 reach follower 2: [no-op, add learner 4]. */
static struct raft *follower_with_uncommitted_change(struct raft_configuration *added)
{
    struct raft *r = core_new(2, raft_configuration_bootstrap(3), 0);
    *added = raft_configuration_bootstrap(3);
    added->learners = mask((int[]){4}, 1);
    uint8_t bytes[RAFT_CONFIGURATION_MAX];
    uint32_t n = (uint32_t)raft_configuration_encode(added, bytes);
    struct raft_entry entries[2] = {
        {.term = 1, .type = RAFT_ENTRY_NOOP},
        {.term = 1, .type = RAFT_ENTRY_CONFIG, .len = n, .data = bytes}};
    struct raft_message m = {
        .type = RAFT_MSG_APPEND_ENTRIES,
        .from = 1,
        .to = 2,
        .term = 1,
        .u.append_entries = {.leader_commit = 1, .n_entries = 2, .entries = entries}};
    cr_assert_eq(raft_step(r, &m, 1), RAFT_OK);
    return r;
}

Test(membership, a_follower_uses_a_configuration_from_its_append_and_drops_it_with_it)
{
    struct raft_configuration added;
    struct raft *r = follower_with_uncommitted_change(&added);
    cr_assert_eq(raft_commit_index(r), 1);
    cr_assert_eq(raft_configuration(r)->learners, added.learners, "§4.1: on append, not commit");
    cr_assert_eq(raft_configuration_index(r), 2);
    cr_assert(raft_configuration_pending(r));

    /* Leader 3 of term 2 never had the change: its entry 2 conflicts. */
    struct raft_entry noop = {.term = 2, .type = RAFT_ENTRY_NOOP};
    struct raft_message m = {.type = RAFT_MSG_APPEND_ENTRIES,
                             .from = 3,
                             .to = 2,
                             .term = 2,
                             .u.append_entries = {.prev_log_index = 1,
                                                  .prev_log_term = 1,
                                                  .leader_commit = 1,
                                                  .n_entries = 1,
                                                  .entries = &noop}};
    cr_assert_eq(raft_step(r, &m, 2), RAFT_OK);
    cr_assert_eq(raft_last_index(r), 2);
    cr_assert_eq(raft_configuration(r)->learners, 0, "the truncation took the change away");
    cr_assert_eq(raft_configuration(r)->voters, raft_configuration_bootstrap(3).voters);
    cr_assert_eq(raft_configuration_index(r), 0);
    cr_assert(!raft_configuration_pending(r));
    raft_free(r);
}

Test(membership, a_configuration_entry_with_bad_bytes_is_refused)
{
    struct raft *r = core_new(2, raft_configuration_bootstrap(3), 0);
    uint8_t junk[3] = {1, 2, 3};
    struct raft_entry e = {.term = 1, .type = RAFT_ENTRY_CONFIG, .len = 3, .data = junk};
    struct raft_message m = {.type = RAFT_MSG_APPEND_ENTRIES,
                             .from = 1,
                             .to = 2,
                             .term = 1,
                             .u.append_entries = {.n_entries = 1, .entries = &e}};
    cr_assert_eq(raft_step(r, &m, 1), RAFT_EINVAL);
    cr_assert_eq(raft_last_index(r), 0);
    raft_free(r);
}

Test(membership, a_voter_being_removed_campaigns_until_the_change_commits)
{
    /* cowsql/raft #150: follower 2 holds [no-op, remove 2], uncommitted. */
    struct raft *r = core_new(2, raft_configuration_bootstrap(3), 0);
    struct raft_configuration removed = {mask((int[]){1, 3}, 2), 0};
    uint8_t bytes[RAFT_CONFIGURATION_MAX];
    uint32_t n = (uint32_t)raft_configuration_encode(&removed, bytes);
    struct raft_entry entries[2] = {
        {.term = 1, .type = RAFT_ENTRY_NOOP},
        {.term = 1, .type = RAFT_ENTRY_CONFIG, .len = n, .data = bytes}};
    struct raft_message m = {
        .type = RAFT_MSG_APPEND_ENTRIES,
        .from = 1,
        .to = 2,
        .term = 1,
        .u.append_entries = {.leader_commit = 1, .n_entries = 2, .entries = entries}};
    raft_step(r, &m, 1);
    cr_assert(!raft_configuration_is_member(raft_configuration(r), 2));
    raft_tick(r, 1000);
    cr_assert_eq(raft_role(r), RAFT_PRE_CANDIDATE, "still a voter of the previous configuration");

    /* Once the leader says the change committed, it never stands again. */
    struct raft *s = core_new(2, raft_configuration_bootstrap(3), 0);
    m.u.append_entries.leader_commit = 2;
    raft_step(s, &m, 1);
    cr_assert_eq(raft_commit_index(s), 2);
    for (raft_time t = 100; t <= 5000; t += 100)
        raft_tick(s, t);
    cr_assert_eq(raft_role(s), RAFT_FOLLOWER);
    cr_assert_eq(raft_current_term(s), 1);
    raft_free(r);
    raft_free(s);
}

Test(membership, votes_count_only_from_voters_of_the_configuration)
{
    struct raft_config cfg = config_of(1);
    cfg.pre_vote = false;
    struct raft_boot_state boot = {.configuration = raft_configuration_bootstrap(3)};
    struct raft *r = raft_new(&cfg, &boot, 0);
    raft_tick(r, 1000);
    cr_assert_eq(raft_role(r), RAFT_CANDIDATE);
    persist(r);
    raft_term term = raft_current_term(r);
    for (raft_id from = 4; from <= 6; from++) {
        struct raft_message v = {.type = RAFT_MSG_REQUEST_VOTE_RESULT,
                                 .from = from,
                                 .to = 1,
                                 .term = term,
                                 .u.request_vote_result = {.vote_granted = true}};
        cr_assert_eq(raft_step(r, &v, 1001), RAFT_OK, "any peer may write to us");
    }
    cr_assert_eq(raft_role(r), RAFT_CANDIDATE, "three votes from non-members decide nothing");
    struct raft_message v = {.type = RAFT_MSG_REQUEST_VOTE_RESULT,
                             .from = 3,
                             .to = 1,
                             .term = term,
                             .u.request_vote_result = {.vote_granted = true}};
    raft_step(r, &v, 1002);
    cr_assert_eq(raft_role(r), RAFT_LEADER);
    raft_free(r);
}

Test(membership, a_peer_waiting_to_join_never_campaigns)
{
    struct raft *r = core_new(4, (struct raft_configuration){0, 0}, 0);
    for (raft_time t = 10; t <= 20000; t += 10)
        raft_tick(r, t);
    cr_assert_eq(raft_role(r), RAFT_FOLLOWER);
    cr_assert_eq(raft_current_term(r), 0);
    cr_assert(!raft_has_ready(r), "it asked nobody for anything");
    raft_free(r);
}

Test(membership, a_learner_catches_up_then_is_promoted)
{
    struct net *net = net_new(3, 1);
    raft_id l = settle(net);
    struct raft *r = net->nodes[l].r;
    for (int i = 0; i < 50; i++)
        cr_assert_eq(raft_propose(r, "x", 1, NULL), RAFT_OK);
    pump(net);

    net->nodes[4].up = false; /* unreachable: it cannot catch up */
    raft_index idx;
    cr_assert_eq(raft_change_membership(r, RAFT_CHANGE_ADD_LEARNER, 4, &idx), RAFT_OK);
    advance(net, 300);
    struct raft_catch_up cu;
    cr_assert(raft_catch_up(r, 4, &cu));
    cr_assert(!cu.caught_up);
    cr_assert_eq(cu.round, 1);
    cr_assert_eq(raft_change_membership(r, RAFT_CHANGE_PROMOTE, 4, NULL), RAFT_ENOT_CAUGHT_UP);

    /* The first round took longer than an election timeout: another one starts, and it
     * is quick, so the learner counts as caught up. */
    net->nodes[4].up = true;
    advance(net, 100);
    cr_assert(raft_catch_up(r, 4, &cu));
    cr_assert(cu.caught_up);
    cr_assert_eq(cu.round, 2);
    cr_assert_eq(raft_last_index(net->nodes[4].r), raft_last_index(r));
    cr_assert(raft_configuration_is_learner(raft_configuration(net->nodes[4].r), 4));
    cr_assert_eq(raft_change_membership(r, RAFT_CHANGE_PROMOTE, 4, &idx), RAFT_OK);
    cr_assert(!raft_catch_up(r, 4, &cu), "a voter has no catch-up state");
    advance(net, 100);
    cr_assert(raft_configuration_is_voter(raft_configuration(net->nodes[4].r), 4));
    cr_assert_eq(raft_configuration(r)->voters, mask((int[]){1, 2, 3, 4}, 4));
    cr_assert_geq(raft_commit_index(net->nodes[4].r), idx);
    net_free(net);
}

Test(membership, learners_are_no_part_of_a_majority)
{
    struct net *net = net_new(3, 1);
    raft_id l = settle(net);
    struct raft *r = net->nodes[l].r;
    raft_index idx;
    cr_assert_eq(raft_change_membership(r, RAFT_CHANGE_ADD_LEARNER, 4, &idx), RAFT_OK);
    advance(net, 50);
    cr_assert_geq(raft_commit_index(r), idx);
    /* The other two voters go silent: the leader and the learner alone commit nothing,
     * and CheckQuorum (counting voters) deposes the leader. */
    for (raft_id id = 1; id <= 3; id++)
        if (id != l)
            net->nodes[id].up = false;
    raft_index before = raft_commit_index(r);
    cr_assert_eq(raft_propose(r, "y", 1, &idx), RAFT_OK);
    advance(net, 50);
    cr_assert_eq(raft_commit_index(r), before);
    cr_assert_eq(raft_last_index(net->nodes[4].r), idx, "the learner has it");
    advance(net, 400);
    cr_assert_neq(raft_role(r), RAFT_LEADER);
    /* And the learner never stands, however long the silence. */
    advance(net, 2000);
    cr_assert_eq(raft_role(net->nodes[4].r), RAFT_FOLLOWER);
    net_free(net);
}

Test(membership, a_removed_leader_leads_until_the_change_commits_then_steps_down)
{
    struct net *net = net_new(3, 0);
    raft_id l = settle(net);
    struct raft *r = net->nodes[l].r;
    raft_id a = l % 3 + 1, b = a % 3 + 1;
    /* Only a hears us: under the old configuration {l, a} would be a majority, but the
     * new one {a, b} needs both, and the leader no longer counts itself. */
    net->cut[l][b] = true;
    raft_index idx;
    cr_assert_eq(raft_change_membership(r, RAFT_CHANGE_REMOVE, l, &idx), RAFT_OK);
    advance(net, 60);
    cr_assert_eq(raft_role(r), RAFT_LEADER);
    cr_assert_lt(raft_commit_index(r), idx);
    cr_assert_eq(raft_commit_index(net->nodes[a].r) < idx, true);
    net->cut[l][b] = false;
    advance(net, 60);
    cr_assert_neq(raft_role(r), RAFT_LEADER, "§4.2.2: steps down once the change commits");
    cr_assert(!raft_configuration_is_member(raft_configuration(r), l));
    /* A voter of the new configuration leads soon after (the old leader handed over). */
    advance(net, 300);
    raft_id next = leader_of(net);
    cr_assert(next == a || next == b, "leader %d", next);
    cr_assert_geq(raft_commit_index(net->nodes[next].r), idx);
    /* The removed server stays quiet for ever. */
    raft_term t = raft_current_term(net->nodes[next].r);
    advance(net, 3000);
    cr_assert_eq(leader_of(net), next);
    cr_assert_eq(raft_current_term(net->nodes[next].r), t);
    cr_assert_eq(raft_role(r), RAFT_FOLLOWER);
    net_free(net);
}

/* §4.2.3: a server removed while it was cut off never learns it; once the links heal it
 * times out and campaigns. Returns the leader's term before that, and fills what the
 * cluster looks like 5 s later. */
struct disruption {
    raft_term term_before, leader_term_after, removed_term_after;
    raft_term members_term_after; /* the highest term among the two remaining voters */
    raft_id leader_before, leader_after;
};

static void removed_server_campaigns(struct disruption *d)
{
    struct net *net = net_new(3, 0);
    raft_id l = settle(net);
    struct raft *r = net->nodes[l].r;
    raft_id gone = l % 3 + 1;
    isolate(net, gone, true);
    raft_index idx;
    cr_assert_eq(raft_change_membership(r, RAFT_CHANGE_REMOVE, gone, &idx), RAFT_OK);
    advance(net, 100);
    cr_assert_geq(raft_commit_index(r), idx);
    cr_assert(raft_configuration_is_voter(raft_configuration(net->nodes[gone].r), gone),
              "it never heard of its removal");
    isolate(net, gone, false);
    d->leader_before = l;
    d->term_before = raft_current_term(r);
    advance(net, 5000);
    d->leader_after = leader_of(net);
    d->leader_term_after = d->leader_after ? raft_current_term(net->nodes[d->leader_after].r) : 0;
    d->removed_term_after = raft_current_term(net->nodes[gone].r);
    d->members_term_after = 0;
    for (raft_id id = 1; id <= 3; id++)
        if (id != gone && raft_current_term(net->nodes[id].r) > d->members_term_after)
            d->members_term_after = raft_current_term(net->nodes[id].r);
    cr_assert_neq(d->leader_after, gone, "a removed server never leads");
    net_free(net);
}

/* PreVote and the CheckQuorum lease (both on): nothing moves at all. */
Test(membership, a_removed_server_does_not_disrupt_the_cluster)
{
    struct disruption d;
    removed_server_campaigns(&d);
    cr_assert_eq(d.leader_after, d.leader_before);
    cr_assert_eq(d.leader_term_after, d.term_before);
    cr_assert_eq(d.removed_term_after, d.term_before, "PreVote: its term never rose");
}

/* PreVote alone is enough here: its log lacks the entry that removed it, so the others
 * refuse its pre-votes (§5.4.1), and it never raises a term. */
Test(membership, a_removed_server_does_not_disrupt_the_cluster_with_pre_vote_alone)
{
    check_quorum = false;
    struct disruption d;
    removed_server_campaigns(&d);
    cr_assert_eq(d.leader_after, d.leader_before);
    cr_assert_eq(d.leader_term_after, d.term_before);
    cr_assert_eq(d.removed_term_after, d.term_before);
}

/* The CheckQuorum lease alone: it campaigns at ever higher terms, but servers that hear
 * from their leader ignore its RequestVotes (§4.2.3), so the leader stays. */
Test(membership, a_removed_server_does_not_disrupt_the_cluster_with_check_quorum_alone)
{
    pre_vote = false;
    struct disruption d;
    removed_server_campaigns(&d);
    cr_assert_eq(d.leader_after, d.leader_before);
    cr_assert_eq(d.leader_term_after, d.term_before);
    cr_assert_gt(d.removed_term_after, d.term_before, "it did campaign");
}

/* Neither: the disruption §4.2.3 describes. Its RequestVote's higher term deposes the
 * leader, again and again; it cannot win (its log is behind), but terms rise. */
Test(membership, without_pre_vote_or_check_quorum_a_removed_server_disrupts)
{
    pre_vote = false;
    check_quorum = false;
    struct disruption d;
    removed_server_campaigns(&d);
    cr_assert_gt(d.members_term_after, d.term_before, "the leader was deposed");
    cr_assert_geq(d.removed_term_after, d.members_term_after - 1, "by the removed server");
}

Test(membership, snapshots_carry_the_configuration_at_their_index)
{
    struct raft *r = sole_leader();
    struct raft_ready rd;
    raft_take_ready(r, &rd);
    raft_persisted(r, rd.seq);
    raft_index idx;
    cr_assert_eq(raft_change_membership(r, RAFT_CHANGE_ADD_LEARNER, 2, &idx), RAFT_OK);
    raft_propose(r, "z", 1, NULL);
    raft_take_ready(r, &rd);
    raft_persisted(r, rd.seq);
    cr_assert_eq(raft_commit_index(r), 3);
    raft_take_ready(r, &rd); /* applies up to 3 */
    raft_persisted(r, rd.seq);
    struct raft_configuration c;
    cr_assert_eq(raft_configuration_at(r, 1, &c), RAFT_OK);
    cr_assert_eq(c.learners, 0);
    cr_assert_eq(raft_configuration_at(r, 3, &c), RAFT_OK);
    cr_assert_eq(c.learners, mask((int[]){2}, 1));
    cr_assert_eq(raft_configuration_at(r, 4, &c), RAFT_EINVAL);
    cr_assert_eq(raft_compact(r, 3), RAFT_OK);
    cr_assert_eq(raft_configuration_at(r, 3, &c), RAFT_OK);
    cr_assert_eq(c.learners, mask((int[]){2}, 1), "the snapshot's configuration");
    cr_assert_eq(raft_configuration(r)->learners, mask((int[]){2}, 1));
    cr_assert_eq(raft_configuration_index(r), 0);

    /* The leader asks for that snapshot, with its configuration, for the learner. */
    for (raft_time t = 1001; t < 1200; t++)
        raft_tick(r, t);
    raft_take_ready(r, &rd);
    bool asked = false;
    for (size_t i = 0; i < rd.n_snapshot_requests; i++)
        if (rd.snapshot_requests[i].to == 2) {
            asked = true;
            cr_assert_eq(rd.snapshot_requests[i].index, 3);
            cr_assert_eq(rd.snapshot_requests[i].configuration.learners, mask((int[]){2}, 1));
        }
    cr_assert(asked);

    /* The learner installs it and knows itself a learner; booting from it does too. */
    struct raft *f = core_new(2, (struct raft_configuration){0, 0}, 0);
    struct raft_configuration snap = {mask((int[]){1}, 1), mask((int[]){2}, 1)};
    cr_assert_eq(raft_install_snapshot(f, 1, 1, 3, 1, &snap, 5), RAFT_OK);
    cr_assert(raft_configuration_is_learner(raft_configuration(f), 2));
    struct raft_config cfg = config_of(2);
    struct raft_boot_state boot = {
        .term = 1, .snapshot_index = 3, .snapshot_term = 1, .configuration = snap};
    struct raft *g = raft_new(&cfg, &boot, 0);
    cr_assert(raft_configuration_is_learner(raft_configuration(g), 2));
    boot.configuration.learners = boot.configuration.voters; /* both: refused */
    cr_assert_null(raft_new(&cfg, &boot, 0));
    raft_free(r);
    raft_free(f);
    raft_free(g);
}
