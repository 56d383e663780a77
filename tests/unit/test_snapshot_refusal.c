/* test_snapshot_refusal.c: when a follower has read a snapshot but the core will not
 * take it, the log names the core's reason (raft_snapshot_check, then
 * snapshot_install_refusal in raft_peer/snapshot_install.c), and only a newer term is
 * reported as "term T is over": a stopped peer, or a snapshot breaking one of the core's
 * rules, ends the transfer instead. The reasons come from a real core. */
#include <criterion/criterion.h>
#include <string.h>

#include "raft_peer/core/raft.h"
#include "raft_peer/snapshot_install.h"

#define T0 10000

static struct raft *follower(raft_id id)
{
    struct raft_config cfg;
    raft_config_defaults(&cfg);
    cfg.id = id;
    cfg.seed = 3;
    struct raft_boot_state boot = {.configuration = raft_configuration_bootstrap(3)};
    struct raft *r = raft_new(&cfg, &boot, T0);
    cr_assert_not_null(r);
    return r;
}

/* What peer 2 would log for a snapshot from peer 1, received in term, at last_term. */
static enum snapshot_install_outcome outcome(struct raft *r, raft_term term, raft_term last_term,
                                             char *text, size_t len)
{
    struct raft_configuration conf = raft_configuration_bootstrap(3);
    const char *why = NULL;
    int rc = raft_snapshot_check(r, 1, term, last_term, &conf, &why);
    cr_assert_neq(rc, RAFT_OK, "the core would take it");
    cr_assert_not_null(why, "the core gives no reason");
    return snapshot_install_refusal(rc, why, term, raft_current_term(r), text, len);
}

Test(snapshot_refusal, stopped_peer_says_so_and_not_that_the_term_is_over)
{
    struct raft *r = follower(2);
    struct raft_configuration conf = raft_configuration_bootstrap(3);
    cr_assert_eq(raft_snapshot_chunk(r, 1, 1, T0 + 1), RAFT_OK);
    cr_assert_eq(raft_snapshot_check(r, 1, 1, 1, &conf, NULL), RAFT_OK);
    raft_stop(r); /* the disk failed while the snapshot was read */
    char text[256];
    cr_assert_eq(outcome(r, 1, 1, text, sizeof(text)), SNAPSHOT_LOAD_FAILED);
    cr_assert_null(strstr(text, "is over"), "logged: %s", text);
    cr_assert_not_null(strstr(text, "stopped"), "logged: %s", text);
    raft_free(r);
}

Test(snapshot_refusal, broken_rule_is_named)
{
    struct raft *r = follower(2);
    char text[256];
    /* The wire refuses it before (rpc_codec.c), the core again: its own rule. */
    cr_assert_eq(outcome(r, 1, 2, text, sizeof(text)), SNAPSHOT_LOAD_FAILED);
    cr_assert_null(strstr(text, "is over"), "logged: %s", text);
    cr_assert_not_null(strstr(text, "after the leader's term"), "logged: %s", text);
    raft_free(r);
}

Test(snapshot_refusal, newer_term_is_reported_as_such)
{
    struct raft *r = follower(2);
    cr_assert_eq(raft_snapshot_chunk(r, 3, 5, T0 + 1), RAFT_OK); /* term 5 from peer 3 */
    char text[256];
    cr_assert_eq(outcome(r, 4, 4, text, sizeof(text)), SNAPSHOT_TERM_OVER);
    cr_assert_not_null(strstr(text, "term 4 is over"), "logged: %s", text);
    raft_free(r);
}
