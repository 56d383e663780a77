/* test_game_members.c: membership changes from the game on a real cluster: three peers
 * of a five-peer ini started with -v; the game's 'a' starts peer4 with --join and asks the
 * leader to add it, and 'x' then a click on peer2 asks for its removal. The game's dump
 * must show four voters, then peer2 gone (not a member, not drawn), and the feed must say
 * both in words. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/cluster.h"
#include "tests/lib/subprocess.h"

static struct cluster h;
static char game_bin[1100];
static struct subprocess_result res; /* large: off the test's stack */
static long joined_pid;              /* peer4, started by the game: stopped by the test */

static void cluster_up(void)
{
    /* Steady timeouts (tests/lib/cluster.h): under a sanitizer, the game's software
     * renderer and the peers share two CPUs, and with 150-300 ms a starved leader is
     * deposed now and then, which turns the add or the removal into an `unavailable`
     * this test would take for a bug. The learner's catch-up rounds also get more room. */
    struct cluster_options opt = {.visual = true,
                                  .election_timeout_min = CLUSTER_STEADY_TIMEOUT_MIN,
                                  .election_timeout_max = CLUSTER_STEADY_TIMEOUT_MAX};

    snprintf(game_bin, sizeof game_bin, "%s/raft_game", harness_bin_dir());
    setenv("SDL_VIDEODRIVER", "offscreen", 1);
    setenv("SDL_AUDIODRIVER", "dummy", 1);
    /* Five peers in the ini, three started as a cluster of three. */
    cr_assert_eq(cluster_prepare(&h, 5, &opt), 0, "cannot prepare the cluster");
    h.n = 3;
    for (int i = 1; i <= 3; i++)
        cr_assert_eq(cluster_start_peer(&h, i), 0, "cannot start peer%d (logs in %s)", i, h.dir);
    cr_assert(cluster_wait_leader(&h, 15000) > 0, "no leader within 15 s (logs in %s)", h.dir);
}

static void cluster_down(void)
{
    char out[512];

    if (joined_pid > 0)
        kill((pid_t)joined_pid, SIGKILL);
    h.n = 5; /* every held port is released */
    /* peer4 was started by the game, not by the harness: should the test have failed
     * before the dump gave its pid, it is crashed through its control port. */
    peer_exchange(&h, 4, "{\"type\":\"control\",\"action\":\"crash\"}\n", out, sizeof out, 500);
    cluster_stop(&h);
}

static int names_count(struct json_object *arr, const char *want, bool *has)
{
    *has = false;
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++)
        if (strcmp(json_object_get_string(json_object_array_get_idx(arr, i)), want) == 0)
            *has = true;
    return arr ? (int)json_object_array_length(arr) : -1;
}

static struct json_object *villager(struct json_object *dump, const char *name)
{
    struct json_object *arr, *v, *p;
    if (!json_object_object_get_ex(dump, "villagers", &arr))
        return NULL;
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        v = json_object_array_get_idx(arr, i);
        if (json_object_object_get_ex(v, "peer", &p) &&
            strcmp(json_object_get_string(p), name) == 0)
            return v;
    }
    return NULL;
}

static const char *str(struct json_object *o, const char *key)
{
    struct json_object *v;
    return o && json_object_object_get_ex(o, key, &v) ? json_object_get_string(v) : "";
}

static bool flag(struct json_object *o, const char *key)
{
    struct json_object *v;
    return o && json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

Test(game_members, a_peer_joins_and_one_leaves, .init = cluster_up, .fini = cluster_down,
     .timeout = 120)
{
    char *argv[] = {game_bin,          "-c",           h.ini,
                    "--no-monster",    "--dump-state", "--keys",
                    "a@1500,x@14000",  "--click",      "villager:peer2@14300",
                    "--quit-after-ms", "32000",        NULL};
    bool four = false, hidden_before = false, told_join = false, told_leave = false;
    bool has;
    struct json_object *last = NULL;
    char *line, *save = NULL;

    /* Generous: on a loaded machine the add (a learner's catch-up rounds, then its
     * promotion) can take seconds, and a removal asked meanwhile would be refused. */
    cr_assert_eq(subprocess_run(argv, NULL, 90000, &res), 0);
    cr_assert(!res.timed_out, "raft_game hung; err: %s", res.err);
    cr_assert_eq(res.exit_code, 0, "exit %d, err: %s", res.exit_code, res.err);
    for (line = strtok_r(res.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        struct json_object *d = json_tokener_parse(line), *voters, *feed;
        struct json_object *p4;
        cr_assert_not_null(d, "not JSON: %s", line);
        p4 = villager(d, "peer4");
        /* Before the game starts it, peer4 is in no configuration and never heard from:
         * not drawn (peer5 never is). */
        if (flag(d, "membership_seen") && (p4 == NULL || !flag(p4, "shown")))
            hidden_before = hidden_before || !four;
        /* Before the first datagram the game shows a plot for every peer of the file,
         * as it always did; once the peers name their configuration, peer5 is gone. */
        if (flag(d, "membership_seen"))
            cr_assert(!flag(villager(d, "peer5"), "shown"), "peer5 was drawn: %s", line);
        if (json_object_object_get_ex(d, "voters", &voters) &&
            names_count(voters, "peer4", &has) == 4 && has) {
            four = true;
            cr_assert_str_eq(str(p4, "member"), "voter", "%s", line);
            cr_assert(flag(p4, "in_ring"), "%s", line);
            if (p4 != NULL) {
                struct json_object *pid;
                if (json_object_object_get_ex(p4, "pid", &pid))
                    joined_pid = (long)json_object_get_int64(pid);
            }
        }
        if (json_object_object_get_ex(d, "feed", &feed))
            for (size_t i = 0; i < json_object_array_length(feed); i++) {
                const char *t = json_object_get_string(json_object_array_get_idx(feed, i));
                told_join = told_join || strstr(t, "peer4 has caught up and becomes a voter") ||
                            strstr(t, "peer4 joins as a voter");
                told_leave = told_leave || strstr(t, "peer2 leaves the village: removed from "
                                                     "the configuration at index");
            }
        if (last)
            json_object_put(last);
        last = d;
    }
    cr_assert(hidden_before, "peer4 was drawn before it was started");
    cr_assert(four, "no dump showed four voters with peer4; err: %s", res.err);
    cr_assert(told_join, "the feed never said peer4 became a voter");
    cr_assert(told_leave, "the feed never said peer2 left; err: %s", res.err);
    {
        struct json_object *voters, *p2 = villager(last, "peer2");
        cr_assert(json_object_object_get_ex(last, "voters", &voters));
        cr_assert_eq(names_count(voters, "peer2", &has), 3, "%s", json_object_to_json_string(last));
        cr_assert(!has, "peer2 still votes: %s", json_object_to_json_string(last));
        cr_assert_str_eq(str(p2, "member"), "none");
        cr_assert(!flag(p2, "shown"), "peer2 is still drawn after it left");
    }
    json_object_put(last);
}
