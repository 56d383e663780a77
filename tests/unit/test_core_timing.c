/* Unit tests for raft_set_timing (raft_peer/core/tick.c): a classroom's lesson pace
 * scales the election timeout range and the heartbeat interval of a running core, and
 * switches the fast failover of raft_peer_disconnected off and on. */
#include <criterion/criterion.h>

#include "raft_peer/core/raft.h"

#define T0 10000 /* any start: the core's clock is the caller's */

static struct raft *new_core(int n, raft_id id)
{
    struct raft_config cfg;
    raft_config_defaults(&cfg);
    cfg.id = id;
    cfg.election_timeout_min = 150;
    cfg.election_timeout_max = 300;
    cfg.heartbeat_interval = 50;
    cfg.seed = 42;
    struct raft_boot_state boot = {.configuration = raft_configuration_bootstrap(n)};
    struct raft *r = raft_new(&cfg, &boot, T0);
    cr_assert_not_null(r);
    return r;
}

/* A heartbeat from leader in term: the follower knows its leader afterwards. */
static void heartbeat_from(struct raft *r, raft_id leader, raft_term term, raft_time now)
{
    struct raft_message m = {
        .type = RAFT_MSG_APPEND_ENTRIES, .from = leader, .to = raft_id_of(r), .term = term};
    cr_assert_eq(raft_step(r, &m, now), RAFT_OK);
    cr_assert_eq(raft_leader(r), leader);
}

/* Draws many timers: each election deadline lies in [now + min, now + max], and they
 * spread over the range rather than sit at one end. */
static void assert_deadlines_within(raft_time min, raft_time max)
{
    struct raft *r = new_core(3, 1);
    raft_time lowest = max, highest = min;
    for (int i = 0; i < 200; i++) {
        raft_time now = T0 + (raft_time)i;
        cr_assert_eq(raft_tick(r, now), RAFT_OK);
        cr_assert_eq(raft_set_timing(r, min, max, min / 3, true), RAFT_OK);
        raft_time d = raft_next_deadline(r) - now;
        cr_assert(d >= min && d <= max, "deadline %llu outside [%llu, %llu]", (unsigned long long)d,
                  (unsigned long long)min, (unsigned long long)max);
        lowest = d < lowest ? d : lowest;
        highest = d > highest ? d : highest;
    }
    cr_assert_lt(lowest, min + (max - min) / 4);
    cr_assert_gt(highest, max - (max - min) / 4);
    raft_free(r);
}

Test(core_timing, refuses_what_raft_new_refuses_and_changes_nothing)
{
    struct raft *r = new_core(3, 1);
    raft_time before = raft_next_deadline(r);
    cr_assert_eq(raft_set_timing(r, 0, 300, 50, true), RAFT_EINVAL);
    cr_assert_eq(raft_set_timing(r, 400, 300, 50, true), RAFT_EINVAL);
    cr_assert_eq(raft_set_timing(r, 150, 300, 0, true), RAFT_EINVAL);
    cr_assert_eq(raft_set_timing(r, 150, 300, 150, true), RAFT_EINVAL);
    cr_assert_eq(raft_next_deadline(r), before);
    raft_free(r);
}

Test(core_timing, follower_draws_its_timeout_from_the_new_range)
{
    assert_deadlines_within(150 * 20, 300 * 20);
    assert_deadlines_within(150, 300);
}

Test(core_timing, slowed_follower_does_not_campaign_before_the_scaled_minimum)
{
    struct raft *r = new_core(3, 2);
    heartbeat_from(r, 1, 1, T0 + 10);
    cr_assert_eq(raft_set_timing(r, 1500, 3000, 500, true), RAFT_OK);
    /* Past the old maximum, short of the new minimum: still a follower. */
    cr_assert_eq(raft_tick(r, T0 + 10 + 1499), RAFT_OK);
    cr_assert_eq(raft_role(r), RAFT_FOLLOWER);
    /* Past the new maximum: it campaigns (a pre-vote first). */
    cr_assert_eq(raft_tick(r, T0 + 10 + 3000), RAFT_OK);
    cr_assert_eq(raft_role(r), RAFT_PRE_CANDIDATE);
    raft_free(r);
}

Test(core_timing, sped_up_timer_restarts_from_now_not_from_the_last_heartbeat)
{
    struct raft *r = new_core(3, 2);
    cr_assert_eq(raft_set_timing(r, 1500, 3000, 500, true), RAFT_OK);
    heartbeat_from(r, 1, 1, T0);
    /* 1.4 s later, back to pace 1: the new timer counts from here. */
    raft_time now = T0 + 1400;
    cr_assert_eq(raft_tick(r, now), RAFT_OK);
    cr_assert_eq(raft_set_timing(r, 150, 300, 50, true), RAFT_OK);
    raft_time d = raft_next_deadline(r);
    cr_assert(d >= now + 150 && d <= now + 300, "deadline %llu ms after the change",
              (unsigned long long)(d - now));
    raft_free(r);
}

Test(core_timing, leader_heartbeats_sooner_never_later)
{
    struct raft *r = new_core(1, 1); /* alone, it elects itself at its first timeout, */
    cr_assert_eq(raft_tick(r, T0 + 300), RAFT_OK);
    struct raft_ready rd; /* once its own vote is durable */
    raft_take_ready(r, &rd);
    cr_assert_eq(raft_persisted(r, rd.seq), RAFT_OK);
    cr_assert_eq(raft_role(r), RAFT_LEADER);
    raft_time now = T0 + 300;
    raft_time before = raft_next_deadline(r);
    cr_assert_eq(raft_set_timing(r, 3000, 6000, 1000, true), RAFT_OK);
    cr_assert_leq(raft_next_deadline(r), before, "slowing down postponed the next heartbeat");
    /* A heartbeat later the slow interval is in force. */
    now = raft_next_deadline(r);
    cr_assert_eq(raft_tick(r, now), RAFT_OK);
    cr_assert_eq(raft_next_deadline(r), now + 1000);
    /* Sped up again: the next heartbeat within the new interval, not the old one. */
    now += 10;
    cr_assert_eq(raft_set_timing(r, 150, 300, 50, true), RAFT_OK);
    cr_assert_leq(raft_next_deadline(r), now + 50);
    raft_free(r);
}

/* The lost leader's connection: on, the follower campaigns within a few ms; off, it
 * waits for its election timeout, as in the paper. */
static raft_time deadline_after_disconnect(bool fast_failover)
{
    struct raft *r = new_core(3, 2);
    cr_assert_eq(raft_set_timing(r, 1500, 3000, 500, fast_failover), RAFT_OK);
    heartbeat_from(r, 1, 1, T0 + 100);
    raft_peer_disconnected(r, 1);
    raft_time d = raft_next_deadline(r) - (T0 + 100);
    raft_free(r);
    return d;
}

Test(core_timing, fast_failover_off_waits_for_the_election_timeout)
{
    cr_assert_lt(deadline_after_disconnect(true), 1500, "fast failover did not hurry");
    cr_assert_geq(deadline_after_disconnect(false), 1500, "no fast failover, yet hurried");
}

Test(core_timing, fast_failover_is_on_by_default)
{
    struct raft_config cfg;
    raft_config_defaults(&cfg);
    cr_assert(cfg.fast_failover);
}
