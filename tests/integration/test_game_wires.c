/* test_game_wires.c: the game's slow-wires panel on a real 3-peer cluster started with
 * -v, driven through the mouse's and the keyboard's code paths (--click delay:MS, the
 * panel's "+" and "-", --keys): the slider's delay and the pace reach every real peer,
 * which say so in their own state (the game's dump) and in their status answers. */
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

static void cluster_up(void)
{
    struct cluster_options opt = {.visual = true};

    snprintf(game_bin, sizeof game_bin, "%s/raft_game", harness_bin_dir());
    setenv("SDL_VIDEODRIVER", "offscreen", 1);
    setenv("SDL_AUDIODRIVER", "dummy", 1);
    cr_assert_eq(cluster_start(&h, 3, &opt), 0, "cannot start the cluster in %s", h.dir);
    cr_assert(cluster_wait_leader(&h, 15000) > 0, "no leader within 15 s (logs in %s)", h.dir);
}

static pid_t revived[4]; /* by peer number: processes the game started again */

static void cluster_down(void)
{
    for (int i = 1; i <= 3; i++)
        if (revived[i] > 1)
            kill(revived[i], SIGKILL);
    memset(revived, 0, sizeof revived);
    cluster_stop(&h);
}

static long field(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (o == NULL || !json_object_object_get_ex(o, key, &v))
        return -1;
    if (json_object_is_type(v, json_type_boolean))
        return json_object_get_boolean(v);
    return (long)json_object_get_int64(v);
}

/* Every villager of one dump line reports the same value for key: it, else -2. */
static long all_say(struct json_object *dump, const char *key)
{
    struct json_object *arr;
    long first = -2;
    if (!json_object_object_get_ex(dump, "villagers", &arr) || json_object_array_length(arr) != 3)
        return -2;
    for (size_t i = 0; i < 3; i++) {
        long v = field(json_object_array_get_idx(arr, i), key);
        if (i > 0 && v != first)
            return -2;
        first = v;
    }
    return first;
}

Test(game_wires, the_slider_and_the_pace_buttons_reach_every_peer, .init = cluster_up,
     .fini = cluster_down, .timeout = 90)
{
    /* The two clicks on "+" a second apart: the second steps from the pace the peers
     * report, so the first one's reports must have reached the game (300 ms was too
     * little for three control round trips and a state datagram on a loaded machine). */
    char *argv[] = {
        game_bin,         "-c",      h.ini,          "--no-monster",    "--dump-state", "--click",
        "delay:500@1500", "--click", "pace:+@2500",  "--click",         "pace:+@3500",  "--keys",
        "F@4300,-@7000",  "--click", "delay:0@6000", "--quit-after-ms", "8600",         NULL};
    int saw_delay = 0, saw_pace = 0, saw_no_failover = 0, saw_after = 0, n = 0;
    char *line, *save = NULL;

    cr_assert_eq(subprocess_run(argv, NULL, 60000, &res), 0);
    cr_assert(!res.timed_out, "raft_game hung; err: %s", res.err);
    cr_assert_eq(res.exit_code, 0, "exit %d, err: %s", res.exit_code, res.err);
    cr_assert_not_null(strstr(res.err, "--click: clicked"), "%s", res.err);
    for (line = strtok_r(res.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        struct json_object *d = json_tokener_parse(line);
        long t;
        cr_assert_not_null(d, "not JSON: %s", line);
        t = field(d, "time_ms");
        cr_assert_eq(field(d, "rejected"), 0, "the game refused real datagrams");
        /* The slider's 500 ms, in every peer's own report, until the knob goes to 0. */
        if (t > 2600 && t < 6000) {
            cr_assert_eq(all_say(d, "delay_ms"), 500, "at %ld: %s", t, line);
            saw_delay++;
        }
        /* Two clicks on "+": 1 -> 2 -> 5. */
        if (t > 4000 && t < 7000) {
            cr_assert_eq(all_say(d, "pace"), 5, "at %ld: %s", t, line);
            saw_pace++;
        }
        /* F switched the fast failover off, at the same pace. */
        if (t > 5000) {
            cr_assert_eq(all_say(d, "fast_failover"), 0, "at %ld: %s", t, line);
            saw_no_failover++;
        }
        /* The knob back at 0 ends the delay; "-" goes back one step, to pace 2. */
        if (t > 7800) {
            cr_assert_eq(all_say(d, "delay_ms"), 0, "at %ld: %s", t, line);
            cr_assert_eq(all_say(d, "pace"), 2, "at %ld: %s", t, line);
            saw_after++;
        }
        json_object_put(d);
        n++;
    }
    cr_assert_geq(n, 6, "%s", res.out);
    cr_assert_geq(saw_delay, 1, "never saw the delay reported");
    cr_assert_geq(saw_pace, 1, "never saw pace 5 reported");
    cr_assert_geq(saw_no_failover, 1, "never saw the fast failover off");
    cr_assert_geq(saw_after, 1, "never saw the last dump");

    /* The real peers, asked directly. */
    for (int i = 1; i <= 3; i++) {
        char answer[8192];
        cr_assert_eq(peer_exchange(&h, i, "{\"type\":\"status\"}\n", answer, sizeof answer, 2000),
                     0);
        cr_assert(strstr(answer, "\"delay_ms\":0") && strstr(answer, "\"pace\":2,") &&
                      strstr(answer, "\"fast_failover\":false"),
                  "peer%d: %s", i, answer);
    }
}

/* A peer the game starts again begins at the ini's timing with no delay (neither is
 * durable); the game gives it the village's slow wires once it is heard from, so a
 * revived villager does not race a slowed village. */
Test(game_wires, a_revived_peer_is_given_the_village_s_wires, .init = cluster_up,
     .fini = cluster_down, .timeout = 90)
{
    char *argv[] = {game_bin,
                    "-c",
                    h.ini,
                    "--no-monster",
                    "--dump-state",
                    "--click",
                    "delay:300@1500",
                    "--click",
                    "pace:+@2500",
                    "--click",
                    "villager:follower@4500",
                    "--click",
                    "villager:grave@6500",
                    "--quit-after-ms",
                    "11000",
                    NULL};
    struct json_object *last = NULL;
    char *line, *save = NULL;

    cr_assert_eq(subprocess_run(argv, NULL, 60000, &res), 0);
    cr_assert(!res.timed_out, "raft_game hung; err: %s", res.err);
    cr_assert_eq(res.exit_code, 0, "exit %d, err: %s", res.exit_code, res.err);
    for (line = strtok_r(res.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        struct json_object *d = json_tokener_parse(line);
        cr_assert_not_null(d, "not JSON: %s", line);
        if (last)
            json_object_put(last);
        last = d;
    }
    cr_assert_not_null(last, "no dump: %s", res.err);
    /* Its pid, to stop it with the cluster: the game's child's child, not ours. */
    struct json_object *arr;
    cr_assert(json_object_object_get_ex(last, "villagers", &arr));
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        struct json_object *v = json_object_array_get_idx(arr, i), *name;
        int k = json_object_object_get_ex(v, "peer", &name) ? atoi(json_object_get_string(name) + 4)
                                                            : 0;
        pid_t pid = (pid_t)field(v, "pid");
        if (k >= 1 && k <= 3 && pid > 1 && pid != h.pids[k] && !cluster_peer_alive(&h, k))
            revived[k] = pid;
    }
    int n_revived = 0;
    for (int k = 1; k <= 3; k++)
        n_revived += revived[k] > 1;
    cr_assert_eq(n_revived, 1, "no villager was revived: %s", json_object_to_json_string(last));
    cr_assert_eq(all_say(last, "delay_ms"), 300, "%s", json_object_to_json_string(last));
    cr_assert_eq(all_say(last, "pace"), 2, "%s", json_object_to_json_string(last));
    json_object_put(last);
}
