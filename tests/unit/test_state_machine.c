/* test_state_machine.c: the replicated state machine, its sessions and its snapshots. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raft_peer/sm/kv_store.h"
#include "raft_peer/sm/sm_snapshot.h"
#include "raft_peer/sm/state_machine.h"

/* ---- helpers ----------------------------------------------------------------- */

/* Applies "<client> <seq>[r] <cmd>" at index; retry sets the retry mark. */
static struct sm_result apply_marked(struct state_machine *sm, uint64_t index, const char *client,
                                     uint64_t seq, bool retry, const char *cmd)
{
    char payload[SM_PAYLOAD_MAX + 1];
    int n = sm_encode_command(payload, sizeof(payload), client, seq, retry, cmd);
    cr_assert_gt(n, 0, "encode '%s'", cmd);
    struct sm_result r;
    memset(&r, 0x5A, sizeof(r));
    cr_assert_eq(sm_apply(sm, index, (const uint8_t *)payload, (size_t)n, &r), 0, "apply '%s'",
                 cmd);
    cr_assert_eq(sm_last_applied(sm), index);
    return r;
}

static struct sm_result apply(struct state_machine *sm, uint64_t index, const char *client,
                              uint64_t seq, const char *cmd)
{
    return apply_marked(sm, index, client, seq, false, cmd);
}

/* A request the client resent after an attempt that may have reached a log. */
static struct sm_result apply_retry(struct state_machine *sm, uint64_t index, const char *client,
                                    uint64_t seq, const char *cmd)
{
    return apply_marked(sm, index, client, seq, true, cmd);
}

static void expect_ok(struct sm_result r, int64_t result)
{
    cr_assert(r.ok, "expected success, got %s: %s", r.error, r.message);
    cr_assert_eq(r.result, result, "result %lld, expected %lld", (long long)r.result,
                 (long long)result);
    cr_assert_str_eq(r.error, "");
}

static void expect_err(struct sm_result r, const char *error)
{
    cr_assert_not(r.ok, "expected %s, got success %lld", error, (long long)r.result);
    cr_assert_str_eq(r.error, error, "message: %s", r.message);
    cr_assert_neq(r.message[0], '\0', "an error says why");
}

struct dump {
    char text[8192];
    size_t len;
};

static void dump_var(void *ctx, const char *name, int64_t value)
{
    struct dump *d = ctx;
    d->len += (size_t)snprintf(d->text + d->len, sizeof(d->text) - d->len, "%s=%lld,", name,
                               (long long)value);
}

/* The variables as one sorted string, to compare states. */
static const char *vars(const struct state_machine *sm)
{
    static struct dump d;
    d.len = 0;
    d.text[0] = '\0';
    sm_foreach(sm, dump_var, &d);
    return d.text;
}

static void snapshot(const struct state_machine *sm, uint8_t **buf, size_t *len)
{
    cr_assert_eq(sm_snapshot_encode(sm, buf, len), 0);
    cr_assert_not_null(*buf);
}

/* ---- commands ---------------------------------------------------------------- */

Test(state_machine, every_operation)
{
    struct state_machine *sm = sm_new();
    cr_assert_not_null(sm);
    uint64_t i = 0;
    expect_ok(apply(sm, ++i, "c", 1, "x get"), 0); /* unset reads as 0 */
    expect_ok(apply(sm, ++i, "c", 2, "x add 100"), 100);
    expect_ok(apply(sm, ++i, "c", 3, "x sub 3"), 97);
    expect_ok(apply(sm, ++i, "c", 4, "x mul 2"), 194);
    expect_ok(apply(sm, ++i, "c", 5, "x div 4"), 48);
    expect_ok(apply(sm, ++i, "c", 6, "x set 5"), 5);
    expect_ok(apply(sm, ++i, "c", 7, "x cas 5 7"), 7);
    expect_ok(apply(sm, ++i, "c", 8, "get x"), 7);
    cr_assert_eq(sm_get(sm, "x", NULL), 7);
    expect_ok(apply(sm, ++i, "c", 9, "y sub 1"), -1);
    cr_assert_str_eq(vars(sm), "x=7,y=-1,");
    cr_assert_eq(sm_count(sm), 2);

    expect_ok(apply(sm, ++i, "c", 10, "x del"), 7);
    bool present = true;
    cr_assert_eq(sm_get(sm, "x", &present), 0);
    cr_assert_not(present);
    cr_assert_eq(sm_count(sm), 1);
    expect_ok(apply(sm, ++i, "c", 11, "x del"), 0); /* del of unset: old value 0 */
    cr_assert_eq(sm_count(sm), 1);

    /* A result of 0 still leaves the variable set. */
    expect_ok(apply(sm, ++i, "c", 12, "z add 0"), 0);
    cr_assert_eq(sm_get(sm, "z", &present), 0);
    cr_assert(present);
    sm_free(sm);
}

Test(state_machine, division_truncates_toward_zero)
{
    struct state_machine *sm = sm_new();
    expect_ok(apply(sm, 1, "c", 1, "x set -7"), -7);
    expect_ok(apply(sm, 2, "c", 2, "x div 2"), -3);
    expect_ok(apply(sm, 3, "c", 3, "y set 7"), 7);
    expect_ok(apply(sm, 4, "c", 4, "y div -2"), -3);
    expect_ok(apply(sm, 5, "c", 5, "m set -9223372036854775808"), INT64_MIN);
    expect_ok(apply(sm, 6, "c", 6, "m div 1"), INT64_MIN);
    sm_free(sm);
}

Test(state_machine, overflow_changes_nothing)
{
    struct state_machine *sm = sm_new();
    uint64_t i = 0;
    i++;
    expect_ok(apply(sm, i, "c", i, "max set 9223372036854775807"), INT64_MAX);
    i++;
    expect_ok(apply(sm, i, "c", i, "min set -9223372036854775808"), INT64_MIN);
    const char *before = "max=9223372036854775807,min=-9223372036854775808,";
    cr_assert_str_eq(vars(sm), before);

    const char *overflowing[] = {
        "max add 1",  "max sub -1", "max mul 2",  "max mul -2", "min sub 1",
        "min add -1", "min mul -1", "min div -1", "min mul 2",  "zero sub -9223372036854775808",
    };
    for (size_t k = 0; k < sizeof(overflowing) / sizeof(overflowing[0]); k++) {
        i++;
        struct sm_result r = apply(sm, i, "c", i, overflowing[k]);
        expect_err(r, "overflow");
        cr_assert_eq(r.result, 0);
        cr_assert_str_eq(vars(sm), before, "after '%s'", overflowing[k]);
    }
    /* At the edge, still fine. */
    const struct {
        const char *cmd;
        int64_t result;
    } edges[] = {
        {"max add 0", INT64_MAX},
        {"min mul 1", INT64_MIN},
        {"zero sub -9223372036854775807", INT64_MAX},
        {"neg sub 9223372036854775807", -INT64_MAX},
        {"neg sub 1", INT64_MIN},
        {"one set 1", 1},
        {"one add 9223372036854775806", INT64_MAX},
        {"two set 2", 2},
        {"two mul -4611686018427387904", INT64_MIN},
        {"three set -3", -3},
        {"three mul -3074457345618258602", INT64_MAX - 1},
    };
    for (size_t k = 0; k < sizeof(edges) / sizeof(edges[0]); k++) {
        i++;
        expect_ok(apply(sm, i, "c", i, edges[k].cmd), edges[k].result);
    }
    sm_free(sm);
}

Test(state_machine, div_by_zero_changes_nothing)
{
    struct state_machine *sm = sm_new();
    expect_ok(apply(sm, 1, "c", 1, "x set 10"), 10);
    expect_err(apply(sm, 2, "c", 2, "x div 0"), "div_by_zero");
    cr_assert_str_eq(vars(sm), "x=10,");
    /* On an unset variable it must not create it either. */
    expect_err(apply(sm, 3, "c", 3, "u div 0"), "div_by_zero");
    cr_assert_str_eq(vars(sm), "x=10,");
    sm_free(sm);
}

Test(state_machine, cas)
{
    struct state_machine *sm = sm_new();
    /* Unset reads as 0, so cas from 0 creates it. */
    expect_ok(apply(sm, 1, "c", 1, "x cas 0 5"), 5);
    struct sm_result r = apply(sm, 2, "c", 2, "x cas 4 9");
    expect_err(r, "cas_failed");
    cr_assert_eq(r.result, 5, "cas_failed carries the current value");
    cr_assert_str_eq(vars(sm), "x=5,");
    r = apply(sm, 3, "c", 3, "y cas 1 2");
    expect_err(r, "cas_failed");
    cr_assert_eq(r.result, 0);
    cr_assert_str_eq(vars(sm), "x=5,", "a failed cas creates nothing");
    expect_ok(apply(sm, 4, "c", 4, "x cas 5 -9223372036854775808"), INT64_MIN);
    sm_free(sm);
}

Test(state_machine, bad_command_in_a_valid_payload)
{
    struct state_machine *sm = sm_new();
    expect_ok(apply(sm, 1, "c", 1, "x set 1"), 1);
    struct sm_result r = apply(sm, 2, "c", 2, "x mod 3");
    expect_err(r, "bad_command");
    cr_assert_str_eq(r.message,
                     "unknown operation 'mod': expected set, add, sub, mul, div, cas, get, del");
    expect_err(apply(sm, 3, "c", 3, ""), "bad_command");
    expect_err(apply(sm, 4, "c", 4, "x\tadd\t9223372036854775808"), "bad_command");
    cr_assert_str_eq(vars(sm), "x=1,");
    /* The answer is remembered like any other: a retry gets it again. */
    r = apply(sm, 5, "c", 2, "x add 1");
    expect_err(r, "stale_seq");
    r = apply(sm, 6, "c", 4, "x add 1");
    expect_err(r, "bad_command");
    cr_assert(strstr(r.message, "9223372036854775808") != NULL);
    cr_assert_str_eq(vars(sm), "x=1,");
    /* Tabs in the command text are blanks. */
    expect_ok(apply(sm, 7, "c", 5, "\tx\tadd\t2\t"), 3);
    sm_free(sm);
}

static void apply_raw(struct state_machine *sm, uint64_t index, const void *data, size_t len,
                      struct sm_result *r)
{
    cr_assert_eq(sm_apply(sm, index, data, len, r), 0);
    cr_assert_eq(sm_last_applied(sm), index, "a malformed entry is still applied");
}

Test(state_machine, malformed_payloads_are_bad_command)
{
    struct state_machine *sm = sm_new();
    expect_ok(apply(sm, 1, "c", 1, "x set 1"), 1);
    const char *bad[] = {
        "",
        "c",
        "c ",
        "c 2",
        "c 2x x add 1",
        "c -2 x add 1",
        "c +2 x add 1",
        " 2 x add 1",
        "c  2 x add 1",
        "c 18446744073709551616 x add 1",
        "c 2 x add 1\n",
        "c\x01 2 x add 1",
        "c 2 x add\x7f 1",
        "c\t2 x add 1",
        "\xc3\xa9 2 x add 1",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 2 x add 1",
    };
    uint64_t index = 1;
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        struct sm_result r;
        apply_raw(sm, ++index, bad[k], strlen(bad[k]), &r);
        expect_err(r, "bad_command");
        cr_assert_str_eq(vars(sm), "x=1,", "after '%s'", bad[k]);
    }
    /* NUL bytes inside, and a NULL buffer. */
    struct sm_result r;
    apply_raw(sm, ++index, "c 2 x\0add 1", 11, &r);
    expect_err(r, "bad_command");
    apply_raw(sm, ++index, NULL, 0, &r);
    expect_err(r, "bad_command");
    /* An over-long command. */
    char big[SM_PAYLOAD_MAX * 2];
    int n = snprintf(big, sizeof(big), "c 2 x add %0*d", SM_COMMAND_MAX, 1);
    apply_raw(sm, ++index, big, (size_t)n, &r);
    expect_err(r, "bad_command");
    cr_assert_eq(sm_session_count(sm), 1, "no session for a payload that does not decode");
    /* The client's next seq still works. */
    expect_ok(apply(sm, ++index, "c", 2, "x add 1"), 2);
    sm_free(sm);
}

Test(state_machine, index_must_increase)
{
    struct state_machine *sm = sm_new();
    struct sm_result r;
    const char *p = "c 1 x set 1";
    cr_assert_eq(sm_apply(sm, 0, (const uint8_t *)p, strlen(p), &r), -1, "indexes start at 1");
    expect_ok(apply(sm, 5, "c", 1, "x set 1"), 1);
    p = "c 2 x set 2";
    cr_assert_eq(sm_apply(sm, 5, (const uint8_t *)p, strlen(p), &r), -1);
    cr_assert_eq(sm_apply(sm, 4, (const uint8_t *)p, strlen(p), &r), -1);
    cr_assert_str_eq(vars(sm), "x=1,");
    cr_assert_eq(sm_last_applied(sm), 5);
    cr_assert_eq(sm_apply_noop(sm, 5), -1);
    cr_assert_eq(sm_apply_noop(sm, 6), 0);
    cr_assert_eq(sm_last_applied(sm), 6);
    cr_assert_eq(sm_apply(sm, 6, (const uint8_t *)p, strlen(p), &r), -1);
    cr_assert_eq(sm_apply(NULL, 7, (const uint8_t *)p, strlen(p), &r), -1);
    cr_assert_eq(sm_apply(sm, 7, (const uint8_t *)p, strlen(p), NULL), -1);
    cr_assert_eq(sm_last_applied(sm), 6);
    sm_free(sm);
}

/* ---- sessions ---------------------------------------------------------------- */

Test(sessions, duplicate_returns_first_answer_and_changes_nothing)
{
    struct state_machine *sm = sm_new();
    expect_ok(apply(sm, 1, "alice", 1, "x add 5"), 5);
    expect_ok(apply(sm, 2, "bob", 1, "x add 100"), 105);
    /* alice retries seq 1: same answer, not run again. */
    expect_ok(apply(sm, 3, "alice", 1, "x add 5"), 5);
    cr_assert_str_eq(vars(sm), "x=105,");
    /* The seq decides, whatever text comes with it. */
    expect_ok(apply(sm, 4, "alice", 1, "x set 0"), 5);
    cr_assert_str_eq(vars(sm), "x=105,");
    /* An error answer is remembered too. */
    struct sm_result r = apply(sm, 5, "bob", 2, "x cas 1 2");
    expect_err(r, "cas_failed");
    expect_ok(apply(sm, 6, "alice", 2, "x set 1"), 1);
    struct sm_result again = apply(sm, 7, "bob", 2, "x cas 1 2");
    cr_assert_eq(memcmp(&r, &again, sizeof(r)), 0, "byte for byte the first answer");
    cr_assert_eq(again.result, 105, "the value when it first ran");
    cr_assert_str_eq(vars(sm), "x=1,");
    /* A read as a log entry is cached as well. */
    expect_ok(apply(sm, 8, "carol", 1, "x get"), 1);
    expect_ok(apply(sm, 9, "alice", 3, "x set 2"), 2);
    expect_ok(apply(sm, 10, "carol", 1, "x get"), 1);
    sm_free(sm);
}

Test(sessions, stale_seq)
{
    struct state_machine *sm = sm_new();
    expect_ok(apply(sm, 1, "c", 1, "x add 1"), 1);
    expect_ok(apply(sm, 2, "c", 5, "x add 1"), 2); /* seqs may skip */
    expect_err(apply(sm, 3, "c", 4, "x add 1"), "stale_seq");
    expect_err(apply(sm, 4, "c", 1, "x add 1"), "stale_seq");
    cr_assert_str_eq(vars(sm), "x=2,");
    expect_ok(apply(sm, 5, "c", 5, "x add 1"), 2);
    expect_ok(apply(sm, 6, "c", 6, "x add 1"), 3);
    /* seq 0 is an ordinary first seq. */
    expect_ok(apply(sm, 7, "d", 0, "y add 1"), 1);
    expect_ok(apply(sm, 8, "d", 0, "y add 1"), 1);
    sm_free(sm);
}

static void client_name(char *buf, size_t len, int k)
{
    snprintf(buf, len, "client-%d", k);
}

/* client-0 .. client-(SM_MAX_SESSIONS - 1), each at seq 1 adding 1 to n, at indexes
 * 1 .. SM_MAX_SESSIONS: the table is then full, client-0 the least recently used. */
static uint64_t fill_sessions(struct state_machine *sm)
{
    char id[32];
    uint64_t index = 0;
    for (int k = 0; k < SM_MAX_SESSIONS; k++) {
        client_name(id, sizeof(id), k);
        expect_ok(apply(sm, ++index, id, 1, "n add 1"), k + 1);
    }
    cr_assert_eq(sm_session_count(sm), SM_MAX_SESSIONS);
    return index;
}

Test(sessions, lru_eviction_by_log_index)
{
    struct state_machine *sm = sm_new();
    uint64_t index = fill_sessions(sm);
    /* client-0 is the oldest; its retry stamps it with a new index, so client-1
     * becomes the least recently used. */
    expect_ok(apply(sm, ++index, "client-0", 1, "n add 1"), 1);
    expect_ok(apply(sm, ++index, "newcomer", 1, "n add 1"), SM_MAX_SESSIONS + 1);
    cr_assert_eq(sm_session_count(sm), SM_MAX_SESSIONS);
    /* client-1 was dropped; client-2 is the next oldest, and anybody else still has a
     * session and gets the cached answer. */
    expect_ok(apply(sm, ++index, "client-0", 1, "n add 1"), 1);
    expect_ok(apply(sm, ++index, "newcomer", 1, "n add 1"), SM_MAX_SESSIONS + 1);
    expect_ok(apply(sm, ++index, "client-4095", 1, "n add 1"), SM_MAX_SESSIONS);
    /* A new client still needs no registration: its seq 1 runs and drops client-2. */
    expect_ok(apply(sm, ++index, "latecomer", 1, "n add 1"), SM_MAX_SESSIONS + 2);
    expect_ok(apply(sm, ++index, "client-3", 1, "n add 1"), 4);
    cr_assert_eq(sm_get(sm, "n", NULL), SM_MAX_SESSIONS + 2);
    cr_assert_eq(sm_session_count(sm), SM_MAX_SESSIONS);
    sm_free(sm);
}

/* Before this rule a dropped client was new again, and its retry ran a second time. */
Test(sessions, evicted_client_retry_is_expired_not_run_again)
{
    struct state_machine *sm = sm_new();
    uint64_t index = fill_sessions(sm);
    expect_ok(apply(sm, ++index, "newcomer", 1, "n add 1"), SM_MAX_SESSIONS + 1); /* drops 0 */
    char before[8192];
    snprintf(before, sizeof(before), "%s", vars(sm));

    /* client-0's answer was lost; it resends seq 1, marked as a retry, and later seqs. */
    struct sm_result r = apply_retry(sm, ++index, "client-0", 1, "n add 1");
    expect_err(r, "session_expired");
    cr_assert_eq(r.result, 0);
    cr_assert(strstr(r.message, "client-0"), "%s", r.message);
    expect_err(apply(sm, ++index, "client-0", 2, "n add 1"), "session_expired");
    expect_err(apply_retry(sm, ++index, "client-0", 2, "n add 1"), "session_expired");
    /* Nothing changed: no variable, no session made, no stamp moved (client-1 is
     * still the oldest, so the next newcomer drops it and not another). */
    cr_assert_str_eq(vars(sm), before);
    cr_assert_eq(sm_session_count(sm), SM_MAX_SESSIONS);
    expect_ok(apply(sm, ++index, "newcomer-2", 1, "n add 1"), SM_MAX_SESSIONS + 2);
    expect_err(apply_retry(sm, ++index, "client-1", 1, "n add 1"), "session_expired");
    expect_ok(apply(sm, ++index, "client-2", 1, "n add 1"), 3);
    cr_assert_eq(sm_get(sm, "n", NULL), SM_MAX_SESSIONS + 2);

    /* Every peer decides alike, including one restored from a snapshot. */
    uint8_t *buf;
    size_t len;
    snapshot(sm, &buf, &len);
    struct state_machine *b = sm_new();
    char err[128] = "";
    cr_assert_eq(sm_snapshot_decode(b, buf, len, err, sizeof(err)), 0, "%s", err);
    free(buf);
    struct sm_result ra = apply_retry(sm, ++index, "client-0", 1, "n add 1");
    struct sm_result rb = apply_retry(b, index, "client-0", 1, "n add 1");
    cr_assert_eq(memcmp(&ra, &rb, sizeof(ra)), 0);
    expect_err(rb, "session_expired");
    sm_free(b);
    sm_free(sm);
}

Test(sessions, unknown_client_past_its_first_seq_is_expired)
{
    /* Its first seq was answered, so it had a session, which is gone: the request may
     * have run already. True with a table far from full too. */
    struct state_machine *sm = sm_new();
    expect_err(apply(sm, 1, "ghost", 5, "x add 1"), "session_expired");
    expect_err(apply(sm, 2, "ghost", 2, "x add 1"), "session_expired");
    expect_err(apply_retry(sm, 3, "ghost", 5, "x add 1"), "session_expired");
    cr_assert_eq(sm_session_count(sm), 0);
    cr_assert_str_eq(vars(sm), "");
    sm_free(sm);
}

Test(sessions, new_client_starts_at_seq_1_or_0_without_registration)
{
    struct state_machine *sm = sm_new();
    expect_ok(apply(sm, 1, "fresh", 1, "x add 1"), 1);
    expect_ok(apply(sm, 2, "fresh", 2, "x add 1"), 2);
    expect_ok(apply(sm, 3, "zero", 0, "x add 1"), 3);
    expect_ok(apply(sm, 4, "zero", 1, "x add 1"), 4);
    cr_assert_eq(sm_session_count(sm), 2);
    sm_free(sm);
}

Test(sessions, first_seq_retry_runs_while_nothing_was_ever_dropped)
{
    /* The table is not full, so no session was ever dropped: an unknown client's
     * retried first seq cannot have run, and runs now (its first attempt was lost). */
    struct state_machine *sm = sm_new();
    expect_ok(apply_retry(sm, 1, "c", 1, "x add 5"), 5);
    /* Its first attempt, applied after all, and further retries get that answer. */
    expect_ok(apply(sm, 2, "c", 1, "x add 5"), 5);
    expect_ok(apply_retry(sm, 3, "c", 1, "x add 5"), 5);
    /* A known client's retry of a new seq simply runs. */
    expect_ok(apply_retry(sm, 4, "c", 2, "x add 5"), 10);
    cr_assert_str_eq(vars(sm), "x=10,");
    sm_free(sm);
}

Test(sessions, first_seq_retry_is_expired_once_sessions_may_have_been_dropped)
{
    struct state_machine *sm = sm_new();
    uint64_t index = fill_sessions(sm);
    /* Full: "stranger" may be a client whose seq 1 ran and was dropped since. */
    expect_err(apply_retry(sm, ++index, "stranger", 1, "n add 1"), "session_expired");
    expect_err(apply_retry(sm, ++index, "stranger", 0, "n add 1"), "session_expired");
    cr_assert_eq(sm_get(sm, "n", NULL), SM_MAX_SESSIONS);
    cr_assert_eq(sm_session_count(sm), SM_MAX_SESSIONS);
    /* A known client's retry is still answered from its session. */
    expect_ok(apply_retry(sm, ++index, "client-7", 1, "n add 1"), 8);
    /* Without the mark it is a new client (the client knows it never sent seq 1). */
    expect_ok(apply(sm, ++index, "stranger", 1, "n add 1"), SM_MAX_SESSIONS + 1);
    expect_ok(apply_retry(sm, ++index, "stranger", 1, "n add 1"), SM_MAX_SESSIONS + 1);
    sm_free(sm);
}

/* ---- payload ----------------------------------------------------------------- */

Test(payload, round_trip)
{
    char out[SM_PAYLOAD_MAX + 1];
    int n = sm_encode_command(out, sizeof(out), "cli-4f2a", 7, false, "x add 100");
    cr_assert_eq(n, (int)strlen("cli-4f2a 7 x add 100"));
    cr_assert_str_eq(out, "cli-4f2a 7 x add 100");

    char id[SM_CLIENT_ID_MAX + 1], cmd[SM_COMMAND_MAX + 1];
    uint64_t seq = 0;
    cr_assert_eq(
        sm_decode_command((const uint8_t *)out, (size_t)n, id, &seq, NULL, cmd, sizeof(cmd)), 0);
    cr_assert_str_eq(id, "cli-4f2a");
    cr_assert_eq(seq, 7);
    cr_assert_str_eq(cmd, "x add 100");

    n = sm_encode_command(out, sizeof(out), "!~", UINT64_MAX, false, "get  y");
    cr_assert_str_eq(out, "!~ 18446744073709551615 get  y");
    cr_assert_eq(
        sm_decode_command((const uint8_t *)out, (size_t)n, id, &seq, NULL, cmd, sizeof(cmd)), 0);
    cr_assert_eq(seq, UINT64_MAX);
    cr_assert_str_eq(cmd, "get  y");

    char id64[SM_CLIENT_ID_MAX + 1];
    memset(id64, 'k', SM_CLIENT_ID_MAX);
    id64[SM_CLIENT_ID_MAX] = '\0';
    n = sm_encode_command(out, sizeof(out), id64, 1, false, "x del");
    cr_assert_gt(n, 0);
    cr_assert_eq(
        sm_decode_command((const uint8_t *)out, (size_t)n, id, &seq, NULL, cmd, sizeof(cmd)), 0);
    cr_assert_str_eq(id, id64);
}

Test(payload, retry_mark)
{
    char out[SM_PAYLOAD_MAX + 1];
    char id[SM_CLIENT_ID_MAX + 1], cmd[SM_COMMAND_MAX + 1];
    uint64_t seq = 0;
    bool retry = false;
    int n = sm_encode_command(out, sizeof(out), "cli-4f2a", 1, true, "x add 100");
    cr_assert_str_eq(out, "cli-4f2a 1r x add 100");
    cr_assert_eq(
        sm_decode_command((const uint8_t *)out, (size_t)n, id, &seq, &retry, cmd, sizeof(cmd)), 0);
    cr_assert(retry);
    cr_assert_eq(seq, 1);
    cr_assert_str_eq(cmd, "x add 100");
    const char *plain = "cli-4f2a 1 x add 100";
    cr_assert_eq(sm_decode_command((const uint8_t *)plain, strlen(plain), id, &seq, &retry, cmd,
                                   sizeof(cmd)),
                 0);
    cr_assert_not(retry);
    /* One mark, right after the digits, then the space. */
    const char *bad[] = {"c 1rr x get", "c r x get",  "c 1x x get", "c 1r",
                         "c 1 r",       "c r1 x get", "c 1R x get"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(sm_decode_command((const uint8_t *)bad[i], strlen(bad[i]), id, &seq, &retry,
                                       cmd, sizeof(cmd)),
                     strcmp(bad[i], "c 1 r") == 0 ? 0 : -1, "%s", bad[i]);
}

Test(payload, encode_refuses)
{
    char out[SM_PAYLOAD_MAX + 1];
    char id65[SM_CLIENT_ID_MAX + 2];
    memset(id65, 'k', SM_CLIENT_ID_MAX + 1);
    id65[SM_CLIENT_ID_MAX + 1] = '\0';
    cr_assert_eq(sm_encode_command(out, sizeof(out), id65, 1, false, "x get"), -1);
    cr_assert_eq(sm_encode_command(out, sizeof(out), "", 1, false, "x get"), -1);
    cr_assert_eq(sm_encode_command(out, sizeof(out), "a b", 1, false, "x get"), -1);
    cr_assert_eq(sm_encode_command(out, sizeof(out), "a\x80", 1, false, "x get"), -1);
    cr_assert_eq(sm_encode_command(out, sizeof(out), "a", 1, false, "x get\n"), -1);
    cr_assert_eq(sm_encode_command(out, sizeof(out), "a", 1, false, NULL), -1);
    cr_assert_eq(sm_encode_command(out, 8, "a", 1, false, "x add 100"), -1, "too small");
    cr_assert_str_eq(out, "");
    char cmd[SM_COMMAND_MAX + 2];
    memset(cmd, ' ', sizeof(cmd) - 1);
    cmd[sizeof(cmd) - 1] = '\0';
    cr_assert_eq(sm_encode_command(out, sizeof(out), "a", 1, false, cmd), -1, "command too long");
    cmd[SM_COMMAND_MAX] = '\0';
    memset(id65, 'k', SM_CLIENT_ID_MAX);
    id65[SM_CLIENT_ID_MAX] = '\0';
    cr_assert_eq(sm_encode_command(out, sizeof(out), id65, UINT64_MAX, true, cmd),
                 (int)sizeof(out) - 1, "the longest payload, retry mark included, fits");
}

Test(payload, decode_refuses)
{
    char id[SM_CLIENT_ID_MAX + 1], cmd[12];
    uint64_t seq;
    const char *p = "c 1 x add 100000000";
    cr_assert_eq(sm_decode_command((const uint8_t *)p, strlen(p), id, &seq, NULL, cmd, sizeof(cmd)),
                 -1, "command longer than the caller's buffer");
    p = "c 1 x add 1";
    cr_assert_eq(sm_decode_command((const uint8_t *)p, strlen(p), id, &seq, NULL, cmd, sizeof(cmd)),
                 0);
    cr_assert_eq(
        sm_decode_command((const uint8_t *)p, strlen(p), NULL, &seq, NULL, cmd, sizeof(cmd)), -1);
    cr_assert_eq(sm_decode_command(NULL, 3, id, &seq, NULL, cmd, sizeof(cmd)), -1);
    /* Cut at every length: from "c 1 " on it decodes (the command may be empty). */
    for (size_t len = 0; len < strlen(p); len++) {
        int rc = sm_decode_command((const uint8_t *)p, len, id, &seq, NULL, cmd, sizeof(cmd));
        cr_assert_eq(rc, len >= 4 ? 0 : -1, "length %zu", len);
    }
}

/* ---- snapshots --------------------------------------------------------------- */

static struct state_machine *build_history(void)
{
    struct state_machine *sm = sm_new();
    cr_assert_not_null(sm);
    uint64_t index = 0;
    char id[32], cmd[64];
    for (int k = 0; k < 300; k++) {
        client_name(id, sizeof(id), k % 37);
        snprintf(cmd, sizeof(cmd), "v%d add %d", (k * 7) % 101, k);
        apply(sm, ++index, id, (uint64_t)k + 1, cmd);
        if (k % 5 == 0) {
            snprintf(cmd, sizeof(cmd), "v%d del", (k * 3) % 101);
            apply(sm, ++index, "deleter", (uint64_t)k + 1, cmd);
        }
        if (k % 11 == 0)
            sm_apply_noop(sm, ++index);
    }
    apply(sm, ++index, "erring", 1, "v1 div 0");
    apply(sm, ++index, "erring2", 1, "v1 cas 999 1");
    apply(sm, ++index, "erring3", 1, "v1 nope");
    return sm;
}

Test(snapshot, round_trip)
{
    struct state_machine *a = build_history();
    uint8_t *buf;
    size_t len;
    snapshot(a, &buf, &len);

    struct state_machine *b = sm_new();
    apply(b, 1, "junk", 1, "junk set 1"); /* replaced entirely */
    char err[128] = "";
    cr_assert_eq(sm_snapshot_decode(b, buf, len, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(sm_last_applied(b), sm_last_applied(a));
    cr_assert_eq(sm_count(b), sm_count(a));
    cr_assert_eq(sm_session_count(b), sm_session_count(a));
    char va[8192];
    snprintf(va, sizeof(va), "%s", vars(a));
    cr_assert_str_eq(vars(b), va);
    bool present;
    sm_get(b, "junk", &present);
    cr_assert_not(present);

    /* Re-encoding gives the same bytes, though b's tables were built differently. */
    uint8_t *buf2;
    size_t len2;
    snapshot(b, &buf2, &len2);
    cr_assert_eq(len2, len);
    cr_assert_eq(memcmp(buf, buf2, len), 0);

    /* The sessions came along: same answers to retries, stale and new requests. */
    uint64_t next = sm_last_applied(a) + 1;
    const struct {
        const char *client;
        uint64_t seq;
    } probes[] = {{"client-3", 300}, {"client-3", 41}, {"erring", 1},    {"erring2", 1},
                  {"erring3", 1},    {"deleter", 296}, {"deleter", 2},   {"client-36", 1},
                  {"client-36", 37}, {"stranger", 1},  {"client-0", 900}};
    for (size_t k = 0; k < sizeof(probes) / sizeof(probes[0]); k++) {
        struct sm_result ra = apply(a, next, probes[k].client, probes[k].seq, "v1 add 1000");
        struct sm_result rb = apply(b, next, probes[k].client, probes[k].seq, "v1 add 1000");
        next++;
        cr_assert_eq(memcmp(&ra, &rb, sizeof(ra)), 0, "same answer for %s %llu", probes[k].client,
                     (unsigned long long)probes[k].seq);
    }
    snprintf(va, sizeof(va), "%s", vars(a));
    cr_assert_str_eq(vars(b), va);
    free(buf);
    free(buf2);
    sm_free(a);
    sm_free(b);
}

Test(snapshot, same_history_same_bytes)
{
    struct state_machine *a = build_history();
    struct state_machine *b = build_history();
    uint8_t *ba, *bb;
    size_t la, lb;
    snapshot(a, &ba, &la);
    snapshot(b, &bb, &lb);
    cr_assert_eq(la, lb);
    cr_assert_eq(memcmp(ba, bb, la), 0);
    free(ba);
    free(bb);
    sm_free(a);
    sm_free(b);

    /* The same state reached by inserting in another order: canonical order, same bytes. */
    a = sm_new();
    b = sm_new();
    const char *names[] = {"delta", "alpha", "charlie", "bravo", "echo", "_x", "Zulu"};
    size_t n = sizeof(names) / sizeof(names[0]);
    for (size_t k = 0; k < n; k++) {
        char cmd[64];
        snprintf(cmd, sizeof(cmd), "%s set %zu", names[k], k);
        apply(a, k + 1, "same", k + 1, cmd);
        snprintf(cmd, sizeof(cmd), "%s set %zu", names[n - 1 - k], n - 1 - k);
        apply(b, k + 1, "same", k + 1, cmd);
    }
    cr_assert_str_neq(vars(a), "", "sanity");
    apply(a, n + 1, "same", n + 1, "last set 1");
    apply(b, n + 1, "same", n + 1, "last set 1");
    snapshot(a, &ba, &la);
    snapshot(b, &bb, &lb);
    cr_assert_eq(la, lb);
    cr_assert_eq(memcmp(ba, bb, la), 0);
    free(ba);
    free(bb);
    sm_free(a);
    sm_free(b);
}

/* The snapshot checksum is CRC-32 as in zlib: bit by bit from its definition. */
static uint32_t crc32_bitwise(const uint8_t *p, size_t len)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < len; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
    }
    return ~c;
}

/* zlib's crc32_z against the definition at every short length and alignment, and a long
 * buffer: the snapshot format names CRC-32, whatever library computes it. */
Test(snapshot, checksum_is_crc32_at_every_length_and_alignment)
{
    cr_assert_eq(sm_snapshot_crc32((const uint8_t *)"123456789", 9), 0xCBF43926u);
    enum { LONG = 1 << 20 };
    uint8_t *buf = malloc(LONG + 16);
    cr_assert_not_null(buf);
    uint64_t x = 88172645463325252ULL;
    for (size_t i = 0; i < LONG + 16; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        buf[i] = (uint8_t)x;
    }
    for (size_t off = 0; off < 16; off++)
        for (size_t len = 0; len <= 400; len++)
            cr_assert_eq(sm_snapshot_crc32(buf + off, len), crc32_bitwise(buf + off, len),
                         "offset %zu, length %zu", off, len);
    cr_assert_eq(sm_snapshot_crc32(buf + 3, LONG), crc32_bitwise(buf + 3, LONG));
    /* All ones and all zeros, where a wrong fold constant is least likely to cancel. */
    memset(buf, 0xFF, 4096);
    cr_assert_eq(sm_snapshot_crc32(buf, 4096), crc32_bitwise(buf, 4096));
    memset(buf, 0, 4096);
    cr_assert_eq(sm_snapshot_crc32(buf, 4096), crc32_bitwise(buf, 4096));
    free(buf);
}

Test(snapshot, empty_machine)
{
    struct state_machine *a = sm_new();
    uint8_t *buf;
    size_t len;
    snapshot(a, &buf, &len);
    struct state_machine *b = build_history();
    char err[128];
    cr_assert_eq(sm_snapshot_decode(b, buf, len, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(sm_count(b), 0);
    cr_assert_eq(sm_session_count(b), 0);
    cr_assert_eq(sm_last_applied(b), 0);
    free(buf);
    sm_free(a);
    sm_free(b);
}

/* Decoding bad bytes must fail and leave the machine exactly as it was. */
static void decode_fails(struct state_machine *sm, const uint8_t *data, size_t len, const char *why)
{
    uint8_t *before, *after;
    size_t lb, la;
    snapshot(sm, &before, &lb);
    char err[160] = "";
    cr_assert_eq(sm_snapshot_decode(sm, data, len, err, sizeof(err)), -1, "%s", why);
    cr_assert_neq(err[0], '\0', "%s: an error says why", why);
    snapshot(sm, &after, &la);
    cr_assert_eq(la, lb, "%s: unchanged", why);
    cr_assert_eq(memcmp(before, after, la), 0, "%s: unchanged", why);
    free(before);
    free(after);
}

Test(snapshot, truncated_and_damaged_bytes_fail_cleanly)
{
    struct state_machine *src = build_history();
    uint8_t *buf;
    size_t len;
    snapshot(src, &buf, &len);
    struct state_machine *sm = sm_new();
    apply(sm, 1, "keep", 1, "keep set 42");

    for (size_t cut = 0; cut < len; cut += (cut < 64 ? 1 : 97))
        decode_fails(sm, buf, cut, "truncated");
    decode_fails(sm, buf, len - 1, "truncated by one");
    decode_fails(sm, NULL, 0, "NULL");

    uint8_t *copy = malloc(len + 1);
    cr_assert_not_null(copy);
    for (size_t pos = 0; pos < len; pos += (pos < 64 ? 1 : 53)) {
        memcpy(copy, buf, len);
        copy[pos] ^= 0x10;
        decode_fails(sm, copy, len, "one bit flipped");
    }
    memcpy(copy, buf, len);
    copy[len] = 0;
    decode_fails(sm, copy, len + 1, "padded");

    unsigned seed = 12345;
    cr_log_info("garbage seed %u", seed);
    srand(seed);
    static uint8_t garbage[4096];
    for (int round = 0; round < 200; round++) {
        size_t n = (size_t)rand() % sizeof(garbage);
        for (size_t k = 0; k < n; k++)
            garbage[k] = (uint8_t)rand();
        if (round % 2 == 0 && n >= 4)
            memcpy(garbage, "RVSM", 4);
        decode_fails(sm, garbage, n, "garbage");
    }
    cr_assert_eq(sm_get(sm, "keep", NULL), 42);
    free(copy);
    free(buf);
    sm_free(src);
    sm_free(sm);
}

/* A hand-built snapshot with a right length and checksum, to reach the checks
 * behind them. */
struct forge {
    uint8_t b[4096];
    size_t n;
};

static void f_u8(struct forge *f, uint8_t v)
{
    cr_assert_lt(f->n, sizeof(f->b));
    f->b[f->n++] = v;
}

static void f_u32(struct forge *f, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        f_u8(f, (uint8_t)(v >> (8 * i)));
}

static void f_u64(struct forge *f, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        f_u8(f, (uint8_t)(v >> (8 * i)));
}

static void f_str(struct forge *f, const char *s)
{
    size_t len = strlen(s);
    f_u8(f, (uint8_t)len);
    for (size_t i = 0; i < len; i++)
        f_u8(f, (uint8_t)s[i]);
}

static void f_header(struct forge *f, uint32_t version, uint64_t last_applied)
{
    f->n = 0;
    f_u8(f, 'R');
    f_u8(f, 'V');
    f_u8(f, 'S');
    f_u8(f, 'M');
    f_u32(f, version);
    f_u64(f, 0); /* total length, set by f_finish */
    f_u64(f, last_applied);
}

static void f_var(struct forge *f, const char *name, int64_t v)
{
    f_str(f, name);
    f_u64(f, (uint64_t)v);
}

static void f_session(struct forge *f, const char *id, uint64_t seq, uint64_t index, uint8_t ok,
                      uint8_t code, const char *msg)
{
    f_str(f, id);
    f_u64(f, seq);
    f_u64(f, index);
    f_u8(f, ok);
    f_u64(f, 5);
    f_u8(f, code);
    f_str(f, msg);
}

static void f_finish(struct forge *f)
{
    uint64_t total = f->n + 4;
    for (int i = 0; i < 8; i++)
        f->b[8 + i] = (uint8_t)(total >> (8 * i));
    f_u32(f, sm_snapshot_crc32(f->b, f->n));
}

#define FORGED(why, body)                                                                          \
    do {                                                                                           \
        body;                                                                                      \
        f_finish(&f);                                                                              \
        decode_fails(sm, f.b, f.n, why);                                                           \
    } while (0)

Test(snapshot, forged_structure_is_refused)
{
    struct state_machine *sm = sm_new();
    apply(sm, 1, "keep", 1, "keep set 42");
    struct forge f;
    char err[160];

    /* First a valid forgery, to show the builder is right. */
    f_header(&f, 1, 100);
    f_u32(&f, 2);
    f_var(&f, "a", 1);
    f_var(&f, "b", -2);
    f_u32(&f, 2);
    f_session(&f, "c1", 3, 10, 1, 0, "");
    f_session(&f, "c2", 4, 20, 0, 2, "'x cas 1 2' failed: x is 5");
    f_finish(&f);
    struct state_machine *ok = sm_new();
    cr_assert_eq(sm_snapshot_decode(ok, f.b, f.n, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(vars(ok), "a=1,b=-2,");
    cr_assert_eq(sm_last_applied(ok), 100);
    struct sm_result r = apply(ok, 101, "c2", 4, "x get");
    expect_err(r, "cas_failed");
    cr_assert_eq(r.result, 5);
    cr_assert_str_eq(r.message, "'x cas 1 2' failed: x is 5");
    sm_free(ok);

    FORGED("version 3", {
        f_header(&f, 3, 1);
        f_u32(&f, 0);
        f_u32(&f, 0);
    });
    FORGED("huge variable count", {
        f_header(&f, 1, 1);
        f_u32(&f, 0xFFFFFFFFu);
        f_u32(&f, 0);
    });
    FORGED("names out of order", {
        f_header(&f, 1, 1);
        f_u32(&f, 2);
        f_var(&f, "b", 1);
        f_var(&f, "a", 1);
        f_u32(&f, 0);
    });
    FORGED("duplicate name", {
        f_header(&f, 1, 1);
        f_u32(&f, 2);
        f_var(&f, "a", 1);
        f_var(&f, "a", 2);
        f_u32(&f, 0);
    });
    FORGED("invalid name", {
        f_header(&f, 1, 1);
        f_u32(&f, 1);
        f_var(&f, "9a", 1);
        f_u32(&f, 0);
    });
    FORGED("NUL inside a name", {
        f_header(&f, 1, 1);
        f_u32(&f, 1);
        f_u8(&f, 3);
        f_u8(&f, 'a');
        f_u8(&f, 0);
        f_u8(&f, 'b');
        f_u64(&f, 1);
        f_u32(&f, 0);
    });
    FORGED("empty name", {
        f_header(&f, 1, 1);
        f_u32(&f, 1);
        f_var(&f, "", 1);
        f_u32(&f, 0);
    });
    FORGED("too many sessions", {
        f_header(&f, 1, 1);
        f_u32(&f, 0);
        f_u32(&f, SM_MAX_SESSIONS + 1);
    });
    FORGED("session count past the bytes", {
        f_header(&f, 1, 100);
        f_u32(&f, 0);
        f_u32(&f, 2);
        f_session(&f, "c1", 1, 1, 1, 0, "");
    });
    FORGED("session newer than the snapshot", {
        f_header(&f, 1, 5);
        f_u32(&f, 0);
        f_u32(&f, 1);
        f_session(&f, "c1", 1, 6, 1, 0, "");
    });
    FORGED("sessions out of order", {
        f_header(&f, 1, 50);
        f_u32(&f, 0);
        f_u32(&f, 2);
        f_session(&f, "c1", 1, 9, 1, 0, "");
        f_session(&f, "c2", 1, 9, 1, 0, "");
    });
    FORGED("duplicate session", {
        f_header(&f, 1, 50);
        f_u32(&f, 0);
        f_u32(&f, 2);
        f_session(&f, "c1", 1, 8, 1, 0, "");
        f_session(&f, "c1", 2, 9, 1, 0, "");
    });
    FORGED("client id with a space", {
        f_header(&f, 1, 50);
        f_u32(&f, 0);
        f_u32(&f, 1);
        f_session(&f, "c 1", 1, 8, 1, 0, "");
    });
    FORGED("ok with an error code", {
        f_header(&f, 1, 50);
        f_u32(&f, 0);
        f_u32(&f, 1);
        f_session(&f, "c1", 1, 8, 1, 1, "");
    });
    FORGED("failure without an error code", {
        f_header(&f, 1, 50);
        f_u32(&f, 0);
        f_u32(&f, 1);
        f_session(&f, "c1", 1, 8, 0, 0, "");
    });
    FORGED("unknown error code", {
        f_header(&f, 1, 50);
        f_u32(&f, 0);
        f_u32(&f, 1);
        f_session(&f, "c1", 1, 8, 0, 99, "");
    });
    FORGED("ok byte not 0 or 1", {
        f_header(&f, 1, 50);
        f_u32(&f, 0);
        f_u32(&f, 1);
        f_session(&f, "c1", 1, 8, 7, 0, "");
    });
    FORGED("control character in message", {
        f_header(&f, 1, 50);
        f_u32(&f, 0);
        f_u32(&f, 1);
        f_session(&f, "c1", 1, 8, 0, 1, "bad\x1b[2J");
    });
    FORGED("trailing bytes", {
        f_header(&f, 1, 1);
        f_u32(&f, 0);
        f_u32(&f, 0);
        f_u8(&f, 0);
    });
    char longmsg[200];
    memset(longmsg, 'm', sizeof(longmsg) - 1);
    longmsg[sizeof(longmsg) - 1] = '\0';
    FORGED("message too long", {
        f_header(&f, 1, 50);
        f_u32(&f, 0);
        f_u32(&f, 1);
        f_session(&f, "c1", 1, 8, 0, 1, longmsg);
    });

    /* Bad magic and a lying length, checksum right. */
    f_header(&f, 1, 1);
    f_u32(&f, 0);
    f_u32(&f, 0);
    f_finish(&f);
    f.b[0] = 'X';
    decode_fails(sm, f.b, f.n, "bad magic");
    f.b[0] = 'R';
    f.b[8] ^= 1;
    decode_fails(sm, f.b, f.n, "wrong total length");

    cr_assert_eq(sm_get(sm, "keep", NULL), 42);
    sm_free(sm);
}

/* Two names in canonical order (kv_hash, then bytes): *lo first. */
static void canonical_pair(const char *x, const char *y, const char **lo, const char **hi)
{
    bool x_first = kv_canonical_cmp(kv_hash(x, strlen(x)), x, kv_hash(y, strlen(y)), y) < 0;
    *lo = x_first ? x : y;
    *hi = x_first ? y : x;
}

Test(snapshot, version_2_order_is_checked)
{
    struct state_machine *sm = sm_new();
    apply(sm, 1, "keep", 1, "keep set 42");
    struct forge f;
    char err[160];
    const char *lo, *hi;
    canonical_pair("alpha", "beta", &lo, &hi);

    /* In canonical order: accepted, and canonical (re-encodes to the same bytes). */
    f_header(&f, SM_SNAPSHOT_VERSION, 7);
    f_u32(&f, 2);
    f_var(&f, lo, 1);
    f_var(&f, hi, 2);
    f_u32(&f, 0);
    f_finish(&f);
    struct state_machine *ok = sm_new();
    cr_assert_eq(sm_snapshot_decode(ok, f.b, f.n, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(sm_get(ok, lo, NULL), 1);
    cr_assert_eq(sm_get(ok, hi, NULL), 2);
    uint8_t *again;
    size_t len;
    snapshot(ok, &again, &len);
    cr_assert_eq(len, f.n);
    cr_assert_arr_eq(again, f.b, len);
    free(again);
    sm_free(ok);

    FORGED("version 2, names out of canonical order", {
        f_header(&f, SM_SNAPSHOT_VERSION, 1);
        f_u32(&f, 2);
        f_var(&f, hi, 1);
        f_var(&f, lo, 1);
        f_u32(&f, 0);
    });
    FORGED("version 2, duplicate name", {
        f_header(&f, SM_SNAPSHOT_VERSION, 1);
        f_u32(&f, 2);
        f_var(&f, lo, 1);
        f_var(&f, lo, 2);
        f_u32(&f, 0);
    });
    cr_assert_eq(sm_get(sm, "keep", NULL), 42);
    sm_free(sm);
}

/* A version 1 snapshot (names sorted by bytes) is still read, and its state re-encodes
 * as version 2 with the names in canonical order: the bytes forged here by hand. */
static const char *const V1_NAMES[] = {"a", "alpha", "b", "beta", "k1", "k10", "k2", "zeta"};
#define N_V1 (sizeof(V1_NAMES) / sizeof(V1_NAMES[0]))

static int cmp_canonical(const void *x, const void *y)
{
    const char *p = *(const char *const *)x, *q = *(const char *const *)y;
    return kv_canonical_cmp(kv_hash(p, strlen(p)), p, kv_hash(q, strlen(q)), q);
}

static int64_t v1_value(const char *name)
{
    return (int64_t)strlen(name) * 100 + name[strlen(name) - 1];
}

static void forge_both(struct forge *f, uint32_t version, const char *const *names)
{
    f_header(f, version, 40);
    f_u32(f, (uint32_t)N_V1);
    for (size_t k = 0; k < N_V1; k++)
        f_var(f, names[k], v1_value(names[k]));
    f_u32(f, 1);
    f_session(f, "c1", 3, 40, 0, 2, "'x cas 1 2' failed: x is 5");
    f_finish(f);
}

Test(snapshot, version_1_is_still_read)
{
    struct forge v1, v2;
    char err[160];
    const char *canonical[N_V1];
    memcpy(canonical, V1_NAMES, sizeof(canonical));
    qsort(canonical, N_V1, sizeof(canonical[0]), cmp_canonical);
    cr_assert(memcmp(canonical, V1_NAMES, sizeof(canonical)) != 0, "sanity: orders differ");
    forge_both(&v1, SM_SNAPSHOT_VERSION_SORTED, V1_NAMES);
    forge_both(&v2, SM_SNAPSHOT_VERSION, canonical);

    struct state_machine *sm = sm_new();
    cr_assert_eq(sm_snapshot_decode(sm, v1.b, v1.n, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(sm_count(sm), N_V1);
    for (size_t k = 0; k < N_V1; k++)
        cr_assert_eq(sm_get(sm, V1_NAMES[k], NULL), v1_value(V1_NAMES[k]));
    uint8_t *again;
    size_t len;
    snapshot(sm, &again, &len);
    cr_assert_eq(len, v2.n);
    cr_assert_arr_eq(again, v2.b, len);
    free(again);

    /* Version 1 keeps its own order rule: canonical order is not byte order. */
    struct forge bad;
    forge_both(&bad, SM_SNAPSHOT_VERSION_SORTED, canonical);
    decode_fails(sm, bad.b, bad.n, "version 1 in canonical order");
    sm_free(sm);
}

/* Applies cmd as client "w" at the next index, with the index as seq. */
static void step(struct state_machine *sm, uint64_t *index, const char *cmd)
{
    ++*index;
    apply(sm, *index, "w", *index, cmd);
}

/* Same state, different histories (insertion order, deletes, table sizes, a growth in
 * progress or not): the same bytes. */
Test(snapshot, same_state_same_bytes_at_scale)
{
    struct state_machine *a = sm_new(), *b = sm_new();
    uint64_t ia = 0, ib = 0;
    char cmd[64];
    /* a: 0..2999 forward, b: backwards, plus 5000 extra names it deletes again (so its
     * table grew further), in an order interleaved with the inserts. */
    for (int k = 0; k < 3000; k++) {
        snprintf(cmd, sizeof(cmd), "v%d set %d", k, k);
        step(a, &ia, cmd);
    }
    for (int k = 0; k < 5000; k++) {
        snprintf(cmd, sizeof(cmd), "tmp%d set 1", k);
        step(b, &ib, cmd);
    }
    for (int k = 2999; k >= 0; k--) {
        snprintf(cmd, sizeof(cmd), "v%d set %d", k, k);
        step(b, &ib, cmd);
        if (k % 2 == 0) {
            snprintf(cmd, sizeof(cmd), "tmp%d del", k);
            step(b, &ib, cmd);
        }
    }
    for (int k = 0; k < 5000; k++) {
        if (k % 2 == 0 && k < 3000)
            continue;
        snprintf(cmd, sizeof(cmd), "tmp%d del", k);
        step(b, &ib, cmd);
    }
    cr_assert_eq(sm_count(a), 3000);
    cr_assert_eq(sm_count(b), 3000);
    /* Same sessions and applied index for both. */
    while (ia < ib)
        cr_assert_eq(sm_apply_noop(a, ++ia), 0);
    step(a, &ia, "last set 1");
    step(b, &ib, "last set 1");
    uint8_t *ba, *bb;
    size_t la, lb;
    snapshot(a, &ba, &la);
    snapshot(b, &bb, &lb);
    cr_assert_eq(la, lb);
    cr_assert_arr_eq(ba, bb, la);

    /* decode(encode(x)) == x: same variables, same bytes again. */
    struct state_machine *c = sm_new();
    char err[160];
    cr_assert_eq(sm_snapshot_decode(c, ba, la, err, sizeof(err)), 0, "%s", err);
    for (int k = 0; k < 3000; k++) {
        snprintf(cmd, sizeof(cmd), "v%d", k);
        bool present;
        cr_assert_eq(sm_get(c, cmd, &present), k);
        cr_assert(present);
    }
    uint8_t *bc;
    size_t lc;
    snapshot(c, &bc, &lc);
    cr_assert_eq(lc, la);
    cr_assert_arr_eq(bc, ba, la);
    free(ba);
    free(bb);
    free(bc);
    sm_free(a);
    sm_free(b);
    sm_free(c);
}

Test(snapshot, applied_index_carries_over)
{
    struct state_machine *a = sm_new();
    apply(a, 3, "c", 1, "x set 1");
    cr_assert_eq(sm_apply_noop(a, 9), 0);
    uint8_t *buf;
    size_t len;
    snapshot(a, &buf, &len);
    struct state_machine *b = sm_new();
    char err[128];
    cr_assert_eq(sm_snapshot_decode(b, buf, len, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(sm_last_applied(b), 9);
    struct sm_result r;
    const char *p = "c 2 x set 2";
    cr_assert_eq(sm_apply(b, 9, (const uint8_t *)p, strlen(p), &r), -1);
    expect_ok(apply(b, 10, "c", 2, "x add 1"), 2);
    free(buf);
    sm_free(a);
    sm_free(b);
}

Test(state_machine, foreach_is_sorted_after_growth_and_deletes)
{
    struct state_machine *sm = sm_new();
    uint64_t index = 0;
    char cmd[64];
    /* Enough to grow the table several times, then delete most (backward shifts). */
    for (int k = 999; k >= 0; k--) {
        snprintf(cmd, sizeof(cmd), "k%04d set %d", k, k);
        index++;
        apply(sm, index, "c", index, cmd);
    }
    for (int k = 0; k < 1000; k++) {
        if (k % 100 == 7)
            continue;
        snprintf(cmd, sizeof(cmd), "k%04d del", k);
        index++;
        apply(sm, index, "c", index, cmd);
    }
    cr_assert_eq(sm_count(sm), 10);
    cr_assert_str_eq(vars(sm), "k0007=7,k0107=107,k0207=207,k0307=307,k0407=407,k0507=507,"
                               "k0607=607,k0707=707,k0807=807,k0907=907,");
    for (int k = 0; k < 1000; k++) {
        char name[16];
        snprintf(name, sizeof(name), "k%04d", k);
        bool present;
        int64_t v = sm_get(sm, name, &present);
        cr_assert_eq(present, k % 100 == 7, "%s", name);
        cr_assert_eq(v, present ? k : 0);
    }
    sm_free(sm);
}

/* ---- reading a snapshot a slice at a time ------------------------------------ */

/* Reads data with the given budget per step; the steps it took, or -1 on refusal. */
static int read_in_slices(struct state_machine *sm, const uint8_t *data, size_t len,
                          uint32_t budget, char *err, size_t errlen)
{
    struct sm_snapshot_reader *rd;
    if (sm_snapshot_reader_open(data, len, &rd, err, errlen) != 0)
        return -1;
    int steps = 0, rc;
    while ((rc = sm_snapshot_reader_step(rd, budget, err, errlen)) == 0)
        steps++;
    if (rc == 1) {
        uint64_t applied = sm_snapshot_reader_last_applied(rd);
        sm_snapshot_adopt(sm, rd);
        cr_assert_eq(sm_last_applied(sm), applied); /* what snapshot_install.c checks */
    }
    sm_snapshot_reader_free(rd);
    return rc == 1 ? steps + 1 : -1;
}

Test(state_machine, snapshot_read_in_slices_equals_read_at_once)
{
    struct state_machine *sm = sm_new();
    uint64_t index = 0;
    char cmd[64];
    for (int i = 0; i < 300; i++) {
        snprintf(cmd, sizeof(cmd), "v%d set %d", i, i * 7);
        apply(sm, ++index, i % 2 ? "odd" : "even", (uint64_t)i / 2 + 1, cmd);
    }
    uint8_t *buf;
    size_t len;
    snapshot(sm, &buf, &len);
    char expected[sizeof(((struct dump *)0)->text)];
    snprintf(expected, sizeof(expected), "%s", vars(sm));

    struct state_machine *whole = sm_new(), *sliced = sm_new();
    char err[160] = "";
    cr_assert_eq(sm_snapshot_decode(whole, buf, len, err, sizeof(err)), 0, "%s", err);
    int steps = read_in_slices(sliced, buf, len, 7, err, sizeof(err));
    /* The checksum in slices of 7 * 256 bytes, 300 / 7 slices of variables, the sessions. */
    cr_assert_gt(steps, 300 / 7 + 1, "%d steps: %s", steps, err);
    cr_assert_str_eq(vars(sliced), expected);
    cr_assert_str_eq(vars(whole), expected);
    cr_assert_eq(sm_last_applied(sliced), index);
    cr_assert_eq(sm_session_count(sliced), 2);
    /* Both answer a retried request from the restored session alike. */
    struct sm_result ra = apply_retry(whole, index + 1, "odd", 150, "v1 set 0");
    struct sm_result rb = apply_retry(sliced, index + 1, "odd", 150, "v1 set 0");
    cr_assert_eq(memcmp(&ra, &rb, sizeof(ra)), 0);

    /* A damaged byte is refused in slices too, and the machine keeps its state. */
    buf[len / 2] ^= 0x40;
    struct state_machine *kept = sm_new();
    apply(kept, 1, "k", 1, "mine set 1");
    cr_assert_eq(read_in_slices(kept, buf, len, 7, err, sizeof(err)), -1);
    cr_assert(strstr(err, "checksum"), "%s", err);
    cr_assert_str_eq(vars(kept), "mine=1,");
    free(buf);
    sm_free(sm);
    sm_free(whole);
    sm_free(sliced);
    sm_free(kept);
}
