/* Unit tests for the core's assertions (raft_peer/core/invariants.c and the preconditions at
 * the entry of its functions): they are compiled in (no build defines NDEBUG), a caller that
 * breaks raft.h's contract stops the program there, and what a peer may send wrong is refused
 * with an error instead. */
#include <criterion/criterion.h>
#include <signal.h>

#include "raft_peer/core/raft.h"

#define T0 1000

static struct raft *new_core(int n, raft_id id)
{
    struct raft_config cfg;
    raft_config_defaults(&cfg);
    cfg.id = id;
    struct raft_boot_state boot = {.configuration = raft_configuration_bootstrap(n)};
    struct raft *r = raft_new(&cfg, &boot, T0);
    cr_assert_not_null(r);
    return r;
}

/* raft_persisted vouches for readies handed out; a seq never handed out is a caller bug. */
Test(core_asserts, persisted_for_a_ready_never_taken_aborts, .signal = SIGABRT)
{
    struct raft *r = new_core(3, 1);
    raft_persisted(r, 7);
}

/* A sole voter becomes leader once its vote is durable; proposing len bytes at NULL is a
 * caller bug, not a command. */
Test(core_asserts, propose_without_data_aborts, .signal = SIGABRT)
{
    struct raft *r = new_core(1, 1);
    struct raft_ready rd;
    cr_assert_eq(raft_tick(r, T0 + 1000), RAFT_OK);
    raft_take_ready(r, &rd);
    cr_assert_eq(raft_persisted(r, rd.seq), RAFT_OK);
    cr_assert_eq(raft_role(r), RAFT_LEADER);
    raft_propose(r, NULL, 5, NULL);
}

/* A peer's AppendEntries with an entry of a term after the message's own could only come
 * from a broken or hostile sender: refused (RAFT_EINVAL), and nothing changes. */
Test(core_asserts, entries_of_a_later_term_than_the_message_are_refused)
{
    struct raft *r = new_core(3, 1);
    struct raft_entry e = {.term = 5, .type = RAFT_ENTRY_NOOP};
    struct raft_message m = {.type = RAFT_MSG_APPEND_ENTRIES,
                             .from = 2,
                             .to = 1,
                             .term = 3,
                             .u.append_entries = {.n_entries = 1, .entries = &e}};
    cr_assert_eq(raft_step(r, &m, T0 + 1), RAFT_EINVAL);
    m.u.append_entries.prev_log_term = 4;
    m.u.append_entries.n_entries = 0;
    cr_assert_eq(raft_step(r, &m, T0 + 1), RAFT_EINVAL);
    cr_assert_eq(raft_current_term(r), 0);
    cr_assert_eq(raft_last_index(r), 0);
    /* The same entry in a message of its own term is taken. */
    m.term = 5;
    m.u.append_entries.prev_log_term = 0;
    m.u.append_entries.n_entries = 1;
    cr_assert_eq(raft_step(r, &m, T0 + 1), RAFT_OK);
    cr_assert_eq(raft_last_index(r), 1);
    raft_free(r);
}

/* The same rule for a snapshot: it covers entries of the leader's log, none of a later
 * term than the leader's. */
Test(core_asserts, snapshot_of_a_later_term_than_its_leader_is_refused)
{
    struct raft *r = new_core(3, 1);
    struct raft_configuration conf = raft_configuration_bootstrap(3);
    cr_assert_eq(raft_install_snapshot(r, 2, 3, 10, 4, &conf, T0 + 1), RAFT_EINVAL);
    cr_assert_eq(raft_snapshot_index(r), 0);
    cr_assert_eq(raft_install_snapshot(r, 2, 4, 10, 4, &conf, T0 + 1), RAFT_OK);
    cr_assert_eq(raft_snapshot_index(r), 10);
    raft_free(r);
}
