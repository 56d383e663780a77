/* test_core_leader.c: a new leader's no-op (§8) is in its log by the time it takes the
 * role (raft__convert_to_leader, raft_peer/core/convert.c). The order matters only when
 * the append fails for want of memory, which a test cannot arrange without hooking the
 * allocator; so the test watches the role change itself, through the trace the core
 * emits at that moment, and looks at the log from there. Taking the role first and
 * appending after would show a log without an entry of the new term at that point:
 * out of memory there, a leader without its no-op (leader_first_index from an earlier
 * term, reads and configuration changes before a commit of its own). */
#include <criterion/criterion.h>

#include "raft_peer/core/raft.h"

#define T0 10000 /* any start: the core's clock is the caller's */

/* What the log held when the core said it became leader. */
struct at_role_change {
    const struct raft **r; /* the core, once raft_new has returned it */
    int seen;
    raft_term term;
    raft_index last_index;
    raft_term last_term;
    int last_type;
};

static void on_trace(void *ctx, const struct raft_trace *t)
{
    struct at_role_change *seen = ctx;
    if (t->type != RAFT_TRACE_ROLE || t->a != RAFT_LEADER || !*seen->r)
        return;
    const struct raft *r = *seen->r;
    const struct raft_entry *last = raft_entry_at(r, raft_last_index(r));
    seen->seen++;
    seen->term = t->term;
    seen->last_index = raft_last_index(r);
    seen->last_term = raft_last_term(r);
    seen->last_type = last ? last->type : -1;
}

static struct raft *new_core(int n, raft_id id, struct at_role_change *seen,
                             const struct raft **slot)
{
    struct raft_config cfg;
    raft_config_defaults(&cfg);
    cfg.id = id;
    cfg.pre_vote = false; /* the candidate's RequestVote goes out at the first timeout */
    cfg.election_timeout_min = 150;
    cfg.election_timeout_max = 300;
    cfg.heartbeat_interval = 50;
    cfg.seed = 7;
    cfg.trace = on_trace;
    cfg.trace_ctx = seen;
    seen->r = slot;
    struct raft_boot_state boot = {.configuration = raft_configuration_bootstrap(n)};
    struct raft *r = raft_new(&cfg, &boot, T0);
    cr_assert_not_null(r);
    *slot = r;
    return r;
}

/* Takes the ready and reports it durable at once; its messages are dropped. */
static void persist(struct raft *r)
{
    struct raft_ready rd;
    raft_take_ready(r, &rd);
    cr_assert_eq(raft_persisted(r, rd.seq), RAFT_OK);
}

/* Times out into a candidate of term 1, its vote for itself durable; returns when. */
static raft_time campaign(struct raft *r)
{
    raft_time now = raft_next_deadline(r);
    cr_assert_eq(raft_tick(r, now), RAFT_OK);
    persist(r);
    return now;
}

static void assert_noop_there_first(const struct at_role_change *seen, const struct raft *r)
{
    cr_assert_eq(seen->seen, 1, "the core became leader %d times", seen->seen);
    cr_assert_eq(raft_role(r), RAFT_LEADER);
    cr_assert_eq(seen->last_type, RAFT_ENTRY_NOOP,
                 "when the role changed the last entry was of type %d, not the no-op",
                 seen->last_type);
    cr_assert_eq(seen->last_term, seen->term,
                 "when the role changed the log ended in term %llu, not the new term %llu",
                 (unsigned long long)seen->last_term, (unsigned long long)seen->term);
    cr_assert_eq(seen->last_index, 1, "the no-op is the first entry of this fresh log");
    /* Nothing more went in after the role change: the no-op is still the last entry. */
    cr_assert_eq(raft_last_index(r), seen->last_index);
}

Test(core_leader, sole_voter_has_its_noop_when_it_takes_the_role)
{
    struct at_role_change seen = {0};
    const struct raft *slot = NULL;
    struct raft *r = new_core(1, 1, &seen, &slot);
    campaign(r); /* a sole voter wins once its own vote is durable */
    assert_noop_there_first(&seen, r);
    raft_free(r);
}

Test(core_leader, elected_candidate_has_its_noop_when_it_takes_the_role)
{
    struct at_role_change seen = {0};
    const struct raft *slot = NULL;
    struct raft *r = new_core(3, 1, &seen, &slot);
    raft_time now = campaign(r);
    cr_assert_eq(raft_role(r), RAFT_CANDIDATE);
    cr_assert_eq(seen.seen, 0);
    struct raft_message vote = {.type = RAFT_MSG_REQUEST_VOTE_RESULT,
                                .from = 2,
                                .to = 1,
                                .term = raft_current_term(r),
                                .u.request_vote_result = {.vote_granted = true}};
    cr_assert_eq(raft_step(r, &vote, now + 1), RAFT_OK);
    assert_noop_there_first(&seen, r);
    raft_free(r);
}
