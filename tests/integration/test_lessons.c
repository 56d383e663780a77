/* Integration tests of the game's guided lessons (docs/GAME.md, "Lessons"): each lesson
 * runs end to end on a real 3-peer cluster started with -v, with the game headless
 * (SDL_VIDEODRIVER=offscreen). The learner's part is played through the same inputs a
 * learner uses (--keys, --type, --click, fired when the lesson's step waits: @step:N),
 * and --dump-state must show the lesson over with every step's check passed. The
 * cluster itself is then asked whether it agrees with what the lesson saw. The
 * membership lesson's ini has a fourth peer, not started, for the learner to call in. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/cluster.h"
#include "tests/lib/subprocess.h"

#define GAME_RUN_MS   90000 /* --quit-after-ms: a lesson ends the run long before */
#define GAME_WAIT_MS  120000
#define AGREE_WAIT_MS 20000

static struct cluster h;
static char game_bin[1100];
static struct subprocess_result res; /* large: off the test's stack */
static int leader_at_start;
static pid_t revived[5]; /* by peer number: processes the game started (again) */

static void headless(void)
{
    snprintf(game_bin, sizeof game_bin, "%s/raft_game", harness_bin_dir());
    setenv("SDL_VIDEODRIVER", "offscreen", 1);
    setenv("SDL_AUDIODRIVER", "dummy", 1);
}

/* Steady timeouts: the leader the test finds is still the leader when the learner's
 * clicks come, unless the machine stalls it for a second. spare: peers in the ini after
 * the three started. */
static void cluster_up_with(int spare)
{
    struct cluster_options opt = {
        .election_timeout_min = CLUSTER_STEADY_TIMEOUT_MIN,
        .election_timeout_max = CLUSTER_STEADY_TIMEOUT_MAX,
        .visual = true,
        .spare = spare,
    };

    headless();
    cr_assert_eq(cluster_start(&h, 3, &opt), 0, "cannot start the cluster in %s", h.dir);
    leader_at_start = cluster_wait_leader(&h, 15000);
    cr_assert_gt(leader_at_start, 0, "no leader within 15 s (logs in %s)", h.dir);
}

static void cluster_up(void)
{
    cluster_up_with(0);
}

static void cluster_up_spare(void)
{
    cluster_up_with(1);
}

static void cluster_down(void)
{
    for (int i = 1; i <= 4; i++)
        if (revived[i] > 1)
            kill(revived[i], SIGKILL);
    memset(revived, 0, sizeof revived);
    cluster_stop(&h);
}

static const char *str_field(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static int64_t int_field(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, key, &v))
        return -1;
    return json_object_get_int64(v);
}

/* Peers the game revived are its own children's children, not the cluster's: the last
 * dump names their pids, kept to be stopped with the cluster. */
static void note_revived(struct json_object *last)
{
    struct json_object *arr;

    if (last == NULL || !json_object_object_get_ex(last, "villagers", &arr))
        return;
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        struct json_object *v = json_object_array_get_idx(arr, i);
        const char *name = str_field(v, "peer");
        pid_t pid = (pid_t)int_field(v, "pid");
        int k = name && strncmp(name, "peer", 4) == 0 ? atoi(name + 4) : 0;
        if (k >= 1 && k <= h.n_ini && k <= 4 && pid > 1 && pid != h.pids[k] &&
            !cluster_peer_alive(&h, k))
            revived[k] = pid;
    }
}

/* Runs the game on the cluster with extra arguments (NULL-terminated), then checks the
 * last dump: the lesson name is over and every step passed, none skipped or late. The
 * village's voters in the last dump go to voters_out (names, comma-separated) when given. */
static void play_voters(const char *name, const char *const *extra, char *voters_out, size_t cap)
{
    char *argv[48] = {game_bin,          "-c", h.ini, "--no-monster", "--dump-state",
                      "--quit-after-ms", NULL};
    char quit_ms[16];
    int argc = 6;
    struct json_object *last = NULL, *lesson, *results;
    char *line, *save = NULL;
    int lines = 0;

    snprintf(quit_ms, sizeof quit_ms, "%d", GAME_RUN_MS);
    argv[argc++] = quit_ms;
    if (name) {
        argv[argc++] = "--lesson";
        argv[argc++] = (char *)name;
    }
    for (int i = 0; extra[i] && argc < 47; i++)
        argv[argc++] = (char *)extra[i];
    argv[argc] = NULL;

    cr_assert_eq(subprocess_run(argv, NULL, GAME_WAIT_MS, &res), 0);
    cr_assert(!res.timed_out, "raft_game hung; err: %s", res.err);
    cr_assert_eq(res.exit_code, 0, "exit %d, err: %s", res.exit_code, res.err);
    for (line = strtok_r(res.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        struct json_object *d = json_tokener_parse(line);
        cr_assert_not_null(d, "not JSON: %s", line);
        cr_assert_eq(int_field(d, "rejected"), 0, "the game refused real datagrams: %s", line);
        if (last)
            json_object_put(last);
        last = d;
        lines++;
    }
    cr_assert_not_null(last, "no dump at all; err: %s", res.err);
    note_revived(last);
    cr_assert(json_object_object_get_ex(last, "lesson", &lesson), "no lesson in the dump: %s",
              json_object_to_json_string(last));
    if (name)
        cr_assert_str_eq(str_field(lesson, "name"), name);
    cr_assert_eq(json_object_get_boolean(json_object_object_get(lesson, "done")), 1,
                 "the lesson did not end (it ran %d s): %s\nerr: %s", lines,
                 json_object_to_json_string(lesson), res.err);
    cr_assert_eq(int_field(lesson, "passed"), int_field(lesson, "steps"), "%s",
                 json_object_to_json_string(lesson));
    cr_assert_eq(int_field(lesson, "skipped"), 0);
    cr_assert_eq(int_field(lesson, "failures"), 0, "a step ran out of time: %s",
                 json_object_to_json_string(lesson));
    cr_assert(json_object_object_get_ex(lesson, "results", &results));
    cr_assert_eq((int64_t)json_object_array_length(results), int_field(lesson, "steps"));
    for (size_t i = 0; i < json_object_array_length(results); i++)
        cr_assert_str_eq(json_object_get_string(json_object_array_get_idx(results, i)), "passed",
                         "step %zu", i + 1);
    if (voters_out) {
        struct json_object *voters;
        size_t used = 0;
        voters_out[0] = '\0';
        cr_assert(json_object_object_get_ex(last, "voters", &voters));
        for (size_t i = 0; i < json_object_array_length(voters) && used < cap; i++)
            used += (size_t)snprintf(voters_out + used, cap - used, "%s%s", i ? "," : "",
                                     json_object_get_string(json_object_array_get_idx(voters, i)));
    }
    json_object_put(last);
}

static void play(const char *name, const char *const *extra)
{
    play_voters(name, extra, NULL, 0);
}

/* Every peer, asked directly, agrees on term, leader and commit index. */
static void assert_cluster_agrees(void)
{
    uint64_t deadline = harness_now_ms() + (uint64_t)harness_scaled_ms(AGREE_WAIT_MS);
    struct peer_status st[4];
    bool same = false;

    while (!same && harness_now_ms() < deadline) {
        same = true;
        for (int i = 1; i <= 3 && same; i++)
            same = cluster_status(&h, i, &st[i]) == 0;
        for (int i = 2; i <= 3 && same; i++)
            same = st[i].term == st[1].term && st[i].leader == st[1].leader &&
                   st[i].commit_index == st[1].commit_index && st[1].leader > 0;
        if (!same)
            harness_sleep_ms(200);
    }
    cr_assert(same, "the peers do not agree on term, leader and commit (logs in %s)", h.dir);
}

static int64_t read_var(const char *command)
{
    struct client_response resp;

    cr_assert_eq(cluster_command(&h, command, 0, &resp, harness_scaled_ms(10000)), 0,
                 "no answer to %s", command);
    cr_assert(resp.ok, "%s: %s %s", command, resp.error, resp.message);
    return resp.result;
}

/* Lesson 1, picked from the menu as a learner would: l, then 1. */
Test(lessons, an_election_picked_from_the_menu, .init = cluster_up, .fini = cluster_down,
     .timeout = 150)
{
    const char *extra[] = {"--keys", "L@800,1@1300", "--click",
                           "right:villager:follower@step:2+300", NULL};

    play(NULL, extra);
    cr_assert_not_null(strstr(res.err, "--keys: pressed 1"), "%s", res.err);
    assert_cluster_agrees();
    {
        struct peer_status st;
        cr_assert_eq(cluster_status(&h, 1, &st), 0);
        cr_assert_neq(st.leader, leader_at_start, "leadership was handed over, yet %d leads",
                      st.leader);
    }
}

Test(lessons, replication_and_commit, .init = cluster_up, .fini = cluster_down, .timeout = 150)
{
    const char *extra[] = {"--keys",  "C@step:2,Return@step:2+400,C@step:6,Return@step:6+400",
                           "--type",  "gold add 5@step:2+200",
                           "--type",  "gold add 2@step:6+200",
                           "--click", "villager:follower@step:5+300",
                           "--click", "villager:grave@step:8+300",
                           NULL};

    play("replication", extra);
    assert_cluster_agrees();
    cr_assert_eq(read_var("gold get"), 7, "the two typed commands did not both apply once");
}

Test(lessons, a_leader_crash, .init = cluster_up, .fini = cluster_down, .timeout = 150)
{
    const char *extra[] = {"--click", "villager:leader@step:4+300", "--click",
                           "villager:grave@step:7+300", NULL};

    play("crash", extra);
    cr_assert_not(cluster_peer_alive(&h, leader_at_start),
                  "peer%d led and was clicked, yet its first process still runs", leader_at_start);
    assert_cluster_agrees();
    cr_assert_eq(read_var("apples get"), 3);
}

/* The learner cuts the leader's two roads by clicking them. */
Test(lessons, a_partition_and_a_stale_leader, .init = cluster_up, .fini = cluster_down,
     .timeout = 150)
{
    char road1[64], road2[64];
    int others[2], k = 0;
    const char *extra[] = {"--click", road1, "--click", road2, "--keys", "H@step:6+300", NULL};

    for (int i = 1; i <= 3; i++)
        if (i != leader_at_start)
            others[k++] = i;
    snprintf(road1, sizeof road1, "road:peer%d-peer%d@step:2+300", leader_at_start, others[0]);
    snprintf(road2, sizeof road2, "road:peer%d-peer%d@step:2+800", leader_at_start, others[1]);
    play("partition", extra);
    assert_cluster_agrees();
}

Test(lessons, a_log_repaired_after_the_heal, .init = cluster_up, .fini = cluster_down,
     .timeout = 150)
{
    const char *extra[] = {"--keys", "H@step:4+300", NULL};

    play("repair", extra);
    assert_cluster_agrees();
}

/* The learner presses a (peer4 starts with --join and is added: a learner, then a
 * voter), then x and a click on a follower. The cluster must then agree: the three
 * voters the village shows answer with one term, leader and commit index, and the
 * leader counts three voters, peer4 among them. */
Test(lessons, a_villager_joins_and_one_leaves, .init = cluster_up_spare, .fini = cluster_down,
     .timeout = 150)
{
    const char *extra[] = {"--keys", "a@step:2+300,x@step:5+300", "--click",
                           "villager:follower@step:5+600", NULL};
    char voters[128], *name, *save = NULL;
    int members[4], n = 0;
    struct peer_status st[4];
    bool same = false;
    uint64_t deadline;

    play_voters("membership", extra, voters, sizeof voters);
    cr_assert(strstr(voters, "peer4") != NULL, "peer4 is no voter: %s", voters);
    for (name = strtok_r(voters, ",", &save); name && n < 4; name = strtok_r(NULL, ",", &save))
        members[n++] = atoi(name + 4);
    cr_assert_eq(n, 3, "not three voters after one joined and one left");
    deadline = harness_now_ms() + (uint64_t)harness_scaled_ms(AGREE_WAIT_MS);
    while (!same && harness_now_ms() < deadline) {
        same = true;
        for (int i = 0; i < n && same; i++)
            same = cluster_status(&h, members[i], &st[i]) == 0;
        for (int i = 1; i < n && same; i++)
            same = st[i].term == st[0].term && st[i].leader == st[0].leader &&
                   st[i].commit_index == st[0].commit_index && st[0].leader > 0;
        if (!same)
            harness_sleep_ms(200);
    }
    cr_assert(same, "the three voters do not agree on term, leader and commit (logs in %s)", h.dir);
    cr_assert_eq(cluster_user_cli(&h, &res, "members", NULL), 0);
    cr_assert(strstr(res.out, "3 voters, 0 learners") != NULL, "%s", res.out);
}

Test(lessons, usage)
{
    char *list[] = {game_bin, "--lesson", "list", NULL};
    char *unknown[] = {game_bin, "--lesson", "juggling", NULL};
    char *demo[] = {game_bin, "--demo", "--lesson", "election", NULL};
    const char *names[] = {"election", "replication", "crash", "partition", "repair", "membership"};

    headless();
    cr_assert_eq(subprocess_run(list, NULL, 10000, &res), 0);
    cr_assert_eq(res.exit_code, 0, "%s", res.err);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        cr_assert_not_null(strstr(res.out, names[i]), "%s is not listed: %s", names[i], res.out);
    cr_assert_eq(subprocess_run(unknown, NULL, 10000, &res), 0);
    cr_assert_eq(res.exit_code, 2);
    cr_assert_not_null(strstr(res.err, "juggling"), "%s", res.err);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        cr_assert_not_null(strstr(res.err, names[i]), "the list is not on stderr: %s", res.err);
    cr_assert_eq(subprocess_run(demo, NULL, 10000, &res), 0);
    cr_assert_eq(res.exit_code, 2);
}
