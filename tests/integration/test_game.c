/* Integration tests of bin/raft_game, headless (SDL_VIDEODRIVER=offscreen): it shows a
 * real 3-peer cluster started with -v, kills the leader through the click code path
 * (--kill), and shows the new leader; it records a real cluster (--record) and replays
 * the file with no peer running (--replay) to the same picture; usage, screenshots and
 * the demo mode. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <signal.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/lib/cluster.h"
#include "tests/lib/subprocess.h"

static struct cluster h;
static char game_bin[1100];
static struct subprocess_result res; /* large: off the test's stack */

static void headless(void)
{
    snprintf(game_bin, sizeof game_bin, "%s/raft_game", harness_bin_dir());
    setenv("SDL_VIDEODRIVER", "offscreen", 1);
    setenv("SDL_AUDIODRIVER", "dummy", 1);
}

static void cluster_up(void)
{
    struct cluster_options opt = {.visual = true};

    headless();
    cr_assert_eq(cluster_start(&h, 3, &opt), 0, "cannot start the cluster in %s", h.dir);
    cr_assert(cluster_wait_leader(&h, 15000) > 0, "no leader within 15 s (logs in %s)", h.dir);
}

static void cluster_down(void)
{
    cluster_stop(&h);
}

static const char *str_field(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static int int_field(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, key, &v))
        return -1;
    return json_object_get_int(v);
}

/* The villager called name in a dump line, or NULL. */
static struct json_object *villager(struct json_object *dump, const char *name)
{
    struct json_object *arr;
    if (!json_object_object_get_ex(dump, "villagers", &arr))
        return NULL;
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        struct json_object *v = json_object_array_get_idx(arr, i);
        const char *peer = str_field(v, "peer");
        if (peer && strcmp(peer, name) == 0)
            return v;
    }
    return NULL;
}

Test(game, shows_the_cluster_and_a_click_kill_brings_a_new_leader, .init = cluster_up,
     .fini = cluster_down, .timeout = 60)
{
    char *argv[] = {game_bin, "-c",      h.ini,  "--dump-state",    "--no-monster", "--kill",
                    "leader", "--at-ms", "3000", "--quit-after-ms", "9000",         NULL};
    char killed[64] = "";
    bool saw_three = false, saw_new_leader = false;
    char *line, *save = NULL;
    int lines = 0;

    cr_assert_eq(subprocess_run(argv, NULL, 30000, &res), 0);
    cr_assert(!res.timed_out, "raft_game hung; err: %s", res.err);
    cr_assert_eq(res.exit_code, 0, "exit %d, err: %s", res.exit_code, res.err);

    for (line = strtok_r(res.out, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        struct json_object *d = json_tokener_parse(line);
        const char *leader, *k;
        int t;
        cr_assert_not_null(d, "not JSON: %s", line);
        lines++;
        t = int_field(d, "time_ms");
        leader = str_field(d, "leader");
        k = str_field(d, "killed");
        cr_assert_eq(int_field(d, "n"), 3, "%s", line);
        cr_assert_eq(int_field(d, "rejected"), 0, "the game refused real datagrams: %s", line);
        if (t < 3000 && int_field(d, "alive") == 3 && leader != NULL) {
            struct json_object *lv = villager(d, leader);
            cr_assert_not_null(lv);
            cr_assert_str_eq(str_field(lv, "role"), "leader");
            saw_three = true;
        }
        if (k && k[0] && killed[0] == '\0')
            snprintf(killed, sizeof killed, "%s", k);
        if (killed[0] && leader && strcmp(leader, killed) != 0) {
            struct json_object *kv = villager(d, killed);
            cr_assert_not_null(kv);
            if (strcmp(str_field(kv, "life"), "grave") == 0 && int_field(d, "alive") == 2)
                saw_new_leader = true;
        }
        json_object_put(d);
    }
    cr_assert_geq(lines, 8, "expected a dump every second; got %d lines", lines);
    cr_assert(saw_three, "never saw three villagers and one leader:\n%s", res.out);
    cr_assert(killed[0] != '\0', "the --kill hook killed nobody; err: %s", res.err);
    cr_assert(saw_new_leader, "no new leader after killing %s:\n%s", killed, res.out);

    /* The control message crashed the real process. */
    cr_assert_eq(strncmp(killed, "peer", 4), 0);
    cr_assert_not(cluster_peer_alive(&h, atoi(killed + 4)), "%s still runs", killed);
}

Test(game, usage)
{
    char *help[] = {game_bin, "-h", NULL};
    char *bad[] = {game_bin, "--frobnicate", NULL};
    char *bad_n[] = {game_bin, "-n", "12", NULL};
    char *shot_without_time[] = {game_bin, "--screenshot", "x.bmp", NULL};

    headless();
    cr_assert_eq(subprocess_run(help, NULL, 10000, &res), 0);
    cr_assert_eq(res.exit_code, 0);
    cr_assert_not_null(strstr(res.out, "usage: raft_game"), "%s", res.out);
    cr_assert_eq(subprocess_run(bad, NULL, 10000, &res), 0);
    cr_assert_eq(res.exit_code, 2);
    cr_assert_not_null(strstr(res.err, "usage: raft_game"), "%s", res.err);
    cr_assert_eq(subprocess_run(bad_n, NULL, 10000, &res), 0);
    cr_assert_eq(res.exit_code, 2);
    cr_assert_eq(subprocess_run(shot_without_time, NULL, 10000, &res), 0);
    cr_assert_eq(res.exit_code, 2);
}

Test(game, bad_config_is_refused_with_exit_2)
{
    char path[] = "/tmp/raftgame-bad-XXXXXX";
    int fd = mkstemp(path);
    char *argv[] = {game_bin, "-c", path, "--quit-after-ms", "100", NULL};

    headless();
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, "[raft]\nnonsense = 1\n", 20), 20);
    close(fd);
    cr_assert_eq(subprocess_run(argv, NULL, 10000, &res), 0);
    unlink(path);
    cr_assert_eq(res.exit_code, 2, "exit %d, err: %s", res.exit_code, res.err);
    cr_assert_not_null(strstr(res.err, path), "the message should name the file: %s", res.err);
}

Test(game, screenshot_of_the_demo_is_a_bmp, .timeout = 30)
{
    char path[] = "/tmp/raftgame-shot-XXXXXX";
    int fd = mkstemp(path);
    char *argv[] = {game_bin,     "--demo", "-n",           "9", "--screenshot", path,
                    "--after-ms", "1500",   "--dump-state", NULL};
    char magic[2] = {0};
    struct stat st;
    struct json_object *d;

    headless();
    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(subprocess_run(argv, NULL, 20000, &res), 0);
    cr_assert_eq(res.exit_code, 0, "exit %d, err: %s", res.exit_code, res.err);
    fd = open(path, O_RDONLY);
    cr_assert_geq(fd, 0);
    cr_assert_eq(read(fd, magic, 2), 2);
    close(fd);
    cr_assert_eq(stat(path, &st), 0);
    unlink(path);
    cr_assert(magic[0] == 'B' && magic[1] == 'M', "not a BMP");
    cr_assert_gt(st.st_size, 1280 * 800 * 3, "too small for the window: %ld", (long)st.st_size);

    /* With --after-ms, the state is dumped once, at the end. */
    d = json_tokener_parse(res.out);
    cr_assert_not_null(d, "not one JSON line: %s", res.out);
    cr_assert_eq(int_field(d, "n"), 9);
    cr_assert_eq(int_field(d, "rejected"), 0);
    json_object_put(d);
}

/* The lines of a --dump-state run, parsed (at most max). */
static int dump_lines(char *out, struct json_object **d, int max)
{
    char *line, *save = NULL;
    int n = 0;

    for (line = strtok_r(out, "\n", &save); line && n < max; line = strtok_r(NULL, "\n", &save)) {
        d[n] = json_tokener_parse(line);
        cr_assert_not_null(d[n], "not JSON: %s", line);
        n++;
    }
    return n;
}

static struct json_object *obj_field(struct json_object *o, const char *key)
{
    struct json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_object))
        return NULL;
    return v;
}

/* What a live viewer saw and what the replay shows must agree on everything the peers
 * said: leader, term, and each villager's life, role, term, vote and indices. */
static void assert_same_picture(struct json_object *live, struct json_object *rep)
{
    const char *ll = str_field(live, "leader"), *rl = str_field(rep, "leader");
    static const char *const fields[] = {"life", "role", "voted_for", "leader"};
    static const char *const numbers[] = {"term", "last_index", "commit_index", "last_applied",
                                          "election_progress"};
    struct json_object *arr;

    cr_assert_eq(int_field(rep, "time_ms"), int_field(live, "time_ms"));
    cr_assert_eq(int_field(rep, "n"), int_field(live, "n"));
    cr_assert_eq(int_field(rep, "alive"), int_field(live, "alive"));
    cr_assert_eq(int_field(rep, "term"), int_field(live, "term"));
    cr_assert_eq(int_field(rep, "datagrams"), int_field(live, "datagrams"));
    cr_assert_eq(int_field(rep, "rejected"), int_field(live, "rejected"));
    cr_assert((ll == NULL && rl == NULL) || (ll && rl && strcmp(ll, rl) == 0),
              "leader %s live, %s replayed", ll ? ll : "none", rl ? rl : "none");
    cr_assert(json_object_object_get_ex(live, "villagers", &arr));
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        struct json_object *lv = json_object_array_get_idx(arr, i);
        const char *name = str_field(lv, "peer");
        struct json_object *rv = villager(rep, name);
        cr_assert_not_null(rv, "%s is not in the replay", name);
        for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++) {
            const char *a = str_field(lv, fields[f]), *b = str_field(rv, fields[f]);
            cr_assert((a == NULL && b == NULL) || (a && b && strcmp(a, b) == 0),
                      "%s's %s: %s live, %s replayed", name, fields[f], a ? a : "null",
                      b ? b : "null");
        }
        for (size_t f = 0; f < sizeof numbers / sizeof numbers[0]; f++)
            cr_assert_eq(int_field(rv, numbers[f]), int_field(lv, numbers[f]), "%s's %s differs",
                         name, numbers[f]);
    }
}

Test(game, a_recording_replays_to_what_was_live, .init = cluster_up, .fini = cluster_down,
     .timeout = 90)
{
    char path[] = "/tmp/raftgame-rec-XXXXXX";
    int fd = mkstemp(path);
    char *rec[] = {
        game_bin,          "-c",   h.ini, "--record", path, "--dump-state", "--no-monster",
        "--quit-after-ms", "5000", NULL};
    struct json_object *live[16] = {0}, *rep[2] = {0};
    char seek[32], *live_out;
    int n_live, checked = 0;

    cr_assert_geq(fd, 0);
    close(fd);
    cr_assert_eq(subprocess_run(rec, NULL, 30000, &res), 0);
    cr_assert_eq(res.exit_code, 0, "exit %d, err: %s", res.exit_code, res.err);
    cr_assert_not_null(strstr(res.err, "recorded "), "%s", res.err);
    live_out = strdup(res.out);
    n_live = dump_lines(live_out, live, 16);
    cr_assert_geq(n_live, 4, "expected a dump every second:\n%s", res.out);
    cr_assert_str_eq(str_field(live[n_live - 1], "mode"), "live");
    cr_assert_not_null(obj_field(live[n_live - 1], "recording"));
    cr_assert_eq(int_field(live[n_live - 1], "alive"), 3);
    cr_assert_not_null(str_field(live[n_live - 1], "leader"), "no leader live");

    /* No peer runs from here on: the replay has only the file. */
    for (int i = 1; i <= 3; i++) {
        cluster_kill_peer(&h, i, SIGKILL);
        cr_assert_not(cluster_peer_alive(&h, i));
    }

    /* Each live dump, from a second in, against the replay seeked to the same ms. */
    for (int i = 1; i < n_live; i++) {
        char *argv[] = {game_bin,   "--replay",   path, "--seek",       seek,
                        "--paused", "--after-ms", "0",  "--dump-state", NULL};
        struct json_object *r;
        snprintf(seek, sizeof seek, "%d", int_field(live[i], "time_ms"));
        cr_assert_eq(subprocess_run(argv, NULL, 20000, &res), 0);
        cr_assert_eq(res.exit_code, 0, "exit %d, err: %s", res.exit_code, res.err);
        cr_assert_eq(dump_lines(res.out, rep, 1), 1);
        cr_assert_str_eq(str_field(rep[0], "mode"), "replay");
        r = obj_field(rep[0], "replay");
        cr_assert_not_null(r);
        cr_assert_eq(int_field(r, "malformed_lines"), 0);
        cr_assert_eq(int_field(r, "reordered_lines"), 0);
        assert_same_picture(live[i], rep[0]);
        json_object_put(rep[0]);
        checked++;
    }
    cr_assert_geq(checked, 3);

    /* Played on its own at 8x, the 5 s recording ends within a second, and stops there
     * on the live game's last picture. */
    {
        char *argv[] = {game_bin,     "--replay", path,           "--speed", "8",
                        "--after-ms", "1500",     "--dump-state", NULL};
        struct json_object *r;
        cr_assert_eq(subprocess_run(argv, NULL, 20000, &res), 0);
        cr_assert_eq(res.exit_code, 0, "exit %d, err: %s", res.exit_code, res.err);
        cr_assert_eq(dump_lines(res.out, rep, 1), 1);
        r = obj_field(rep[0], "replay");
        cr_assert_not_null(r);
        cr_assert(json_object_get_boolean(json_object_object_get(r, "at_end")), "%s",
                  json_object_to_json_string(rep[0]));
        assert_same_picture(live[n_live - 1], rep[0]);
        json_object_put(rep[0]);
    }
    for (int i = 0; i < n_live; i++)
        json_object_put(live[i]);
    free(live_out);
    unlink(path);
}

Test(game, a_damaged_recording_plays_what_it_can, .timeout = 30)
{
    char path[] = "/tmp/raftgame-bad-rec-XXXXXX";
    int fd = mkstemp(path);
    char *argv[] = {game_bin,   "--replay",   path, "--seek",       "900",
                    "--paused", "--after-ms", "0",  "--dump-state", NULL};
    const char *text =
        "# raft_game recording 1\n"
        "100 {\"type\":\"state\",\"peer\":\"peer1\",\"id\":1,\"n\":1,\"role\":\"leader\","
        "\"term\":4}\n"
        "this is not a line\n"
        "50 {\"type\":\"state\",\"peer\":\"peer1\",\"id\":1,\"n\":1,\"role\":\"leader\","
        "\"term\":5}\n"
        "200 {\"type\":\"state\",\"peer\":\"peer1\"\n"
        "800 {\"type\":\"state\",\"peer\":\"peer1\",\"id\":1,\"n\":1,\"role\":\"leader\","
        "\"term\":6}\n"
        "900 {\"type\":\"sta";
    struct json_object *d[1], *r;

    headless();
    cr_assert_geq(fd, 0);
    cr_assert_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);
    cr_assert_eq(subprocess_run(argv, NULL, 20000, &res), 0);
    unlink(path);
    cr_assert_eq(res.exit_code, 0, "exit %d, err: %s", res.exit_code, res.err);
    cr_assert_not_null(strstr(res.err, "2 malformed lines skipped"), "%s", res.err);
    cr_assert_eq(dump_lines(res.out, d, 1), 1);
    r = obj_field(d[0], "replay");
    cr_assert_eq(int_field(r, "malformed_lines"), 2, "%s", res.out);
    cr_assert_eq(int_field(r, "reordered_lines"), 1);
    cr_assert_eq(int_field(d[0], "rejected"), 1, "the cut JSON is the model's to refuse");
    cr_assert_eq(int_field(d[0], "term"), 6);
    cr_assert_str_eq(str_field(d[0], "leader"), "peer1");
    json_object_put(d[0]);
}

Test(game, record_and_replay_refuse_bad_files_with_exit_2)
{
    char *bad_record[] = {game_bin,          "--demo", "--record", "/nonexistent-dir/x.rec",
                          "--quit-after-ms", "100",    NULL};
    char *missing[] = {game_bin, "--replay", "/nonexistent-dir/x.rec", NULL};
    char *not_a_recording[] = {game_bin, "--replay", "/etc/hostname", NULL};

    headless();
    cr_assert_eq(subprocess_run(bad_record, NULL, 10000, &res), 0);
    cr_assert_eq(res.exit_code, 2, "exit %d, err: %s", res.exit_code, res.err);
    cr_assert_not_null(strstr(res.err, "/nonexistent-dir/x.rec"), "%s", res.err);
    cr_assert_not_null(strstr(res.err, "usage: raft_game"), "%s", res.err);
    cr_assert_eq(subprocess_run(missing, NULL, 10000, &res), 0);
    cr_assert_eq(res.exit_code, 2, "exit %d, err: %s", res.exit_code, res.err);
    cr_assert_eq(subprocess_run(not_a_recording, NULL, 10000, &res), 0);
    cr_assert_eq(res.exit_code, 2, "exit %d, err: %s", res.exit_code, res.err);
    cr_assert_not_null(strstr(res.err, "not a recording"), "%s", res.err);
}

/* Space freezes the live picture while the cluster goes on; the right arrow steps
 * through what arrived since; space again is live. Keys come through --keys, the same
 * path as the keyboard. */
Test(game, a_live_pause_freezes_the_picture_and_space_goes_back_to_live, .init = cluster_up,
     .fini = cluster_down, .timeout = 60)
{
    char *argv[] = {game_bin,
                    "-c",
                    h.ini,
                    "--no-monster",
                    "--dump-state",
                    "--keys",
                    "Space@1500,Right@3200,Space@4500",
                    "--quit-after-ms",
                    "5300",
                    NULL};
    struct json_object *d[16] = {0};
    int n, paused_lines = 0;
    int64_t frozen_at = -1, frozen_datagrams = -1;

    cr_assert_eq(subprocess_run(argv, NULL, 30000, &res), 0);
    cr_assert_eq(res.exit_code, 0, "exit %d, err: %s", res.exit_code, res.err);
    cr_assert_not_null(strstr(res.err, "--keys: pressed Space"), "%s", res.err);
    n = dump_lines(res.out, d, 16);
    cr_assert_geq(n, 5, "%s", res.out);
    for (int i = 0; i < n; i++) {
        int t = int_field(d[i], "time_ms");
        struct json_object *p = json_object_object_get(d[i], "paused");
        if (!json_object_get_boolean(p))
            continue;
        paused_lines++;
        cr_assert_gt(int_field(d[i], "live_time_ms"), t, "the live clock runs on");
        cr_assert_gt(int_field(d[i], "buffered"), 0, "nothing kept while paused: %s",
                     json_object_to_json_string(d[i]));
        if (frozen_at < 0) {
            frozen_at = t;
            frozen_datagrams = int_field(d[i], "datagrams");
        } else if (int_field(d[i], "live_time_ms") < 3200) {
            cr_assert_eq(t, frozen_at, "the picture moved while paused");
            cr_assert_eq(int_field(d[i], "datagrams"), frozen_datagrams);
        } else {
            cr_assert_geq(t, frozen_at, "a step goes forward");
            cr_assert_geq(int_field(d[i], "datagrams"), frozen_datagrams);
        }
    }
    cr_assert_geq(paused_lines, 2, "%s", res.out);
    /* Back to live: the last picture is now, with everything that arrived meanwhile. */
    cr_assert_not(json_object_get_boolean(json_object_object_get(d[n - 1], "paused")));
    cr_assert_geq(int_field(d[n - 1], "time_ms"), 5300);
    cr_assert_gt(int_field(d[n - 1], "datagrams"), frozen_datagrams);
    cr_assert_eq(int_field(d[n - 1], "alive"), 3);
    for (int i = 0; i < n; i++)
        json_object_put(d[i]);
}

/* The names in a villager's array field (e.g. "cut"), comma-joined into out. */
static const char *names_of(struct json_object *v, const char *key, char *out, size_t cap)
{
    struct json_object *a;

    out[0] = '\0';
    if (v == NULL || !json_object_object_get_ex(v, key, &a) ||
        !json_object_is_type(a, json_type_array))
        return "(missing)";
    for (size_t i = 0; i < json_object_array_length(a); i++) {
        size_t n = strlen(out);
        snprintf(out + n, cap - n, "%s%s", n ? "," : "",
                 json_object_get_string(json_object_array_get_idx(a, i)));
    }
    return out;
}

/* Whether every villager of a dump reports no cut in any of the three fields. */
static bool no_cut_reported(struct json_object *d)
{
    static const char *const keys[] = {"cut", "cut_to", "cut_from"};
    char buf[256];

    for (int p = 1; p <= 3; p++) {
        char name[16];
        snprintf(name, sizeof name, "peer%d", p);
        for (int k = 0; k < 3; k++)
            if (names_of(villager(d, name), keys[k], buf, sizeof buf)[0] != '\0')
                return false;
    }
    return int_field(d, "cut_roads") == 0;
}

/* A road click cuts the link both ways in the real peers (they say so in their own
 * state), a second click opens it again, another cut is healed by h; a command typed in
 * the box after c reaches the state machine. Everything through the game's input paths:
 * --click, --keys and --type. */
Test(game, a_road_click_cuts_the_link_and_h_heals_it, .init = cluster_up, .fini = cluster_down,
     .timeout = 90)
{
    char *argv[] = {game_bin,
                    "-c",
                    h.ini,
                    "--no-monster",
                    "--dump-state",
                    "--keys",
                    "c@1000,Return@1400,h@9300",
                    "--type",
                    "gold add 7@1200",
                    "--click",
                    "road:peer1-peer2@2500",
                    "--click",
                    "road:peer1-peer2@5500",
                    "--click",
                    "road:peer3-peer2@7300",
                    "--quit-after-ms",
                    "11000",
                    NULL};
    struct json_object *d[24] = {0};
    int n, saw_cut = 0, saw_open = 0, saw_cut23 = 0, saw_gold = 0;
    char a[256], b[256];

    cr_assert_eq(subprocess_run(argv, NULL, 60000, &res), 0);
    cr_assert(!res.timed_out, "raft_game hung; err: %s", res.err);
    cr_assert_eq(res.exit_code, 0, "exit %d, err: %s", res.exit_code, res.err);
    cr_assert_not_null(strstr(res.err, "--click: clicked"), "%s", res.err);
    cr_assert_not_null(strstr(res.err, "--type: typed \"gold add 7\""), "%s", res.err);
    n = dump_lines(res.out, d, 24);
    cr_assert_geq(n, 8, "%s", res.out);
    for (int i = 0; i < n; i++) {
        int t = int_field(d[i], "time_ms");
        struct json_object *p1 = villager(d[i], "peer1"), *p2 = villager(d[i], "peer2");
        struct json_object *p3 = villager(d[i], "peer3");
        cr_assert_eq(int_field(d[i], "rejected"), 0, "the game refused real datagrams");
        if (t > 3300 && t < 5500) {
            /* Both ends report the cut, both ways; peer3 has none. */
            cr_assert_str_eq(names_of(p1, "cut", a, sizeof a), "peer2", "at %d: %s", t,
                             json_object_to_json_string(d[i]));
            cr_assert_str_eq(names_of(p2, "cut", b, sizeof b), "peer1", "at %d", t);
            cr_assert_str_eq(names_of(p3, "cut", a, sizeof a), "", "at %d", t);
            cr_assert_eq(int_field(d[i], "cut_roads"), 1);
            saw_cut++;
        }
        if (t > 6300 && t < 7300) {
            cr_assert(no_cut_reported(d[i]), "the second click should open it: %s",
                      json_object_to_json_string(d[i]));
            saw_open++;
        }
        if (t > 8100 && t < 9300) {
            cr_assert_str_eq(names_of(p2, "cut", a, sizeof a), "peer3", "at %d", t);
            cr_assert_str_eq(names_of(p3, "cut", b, sizeof b), "peer2", "at %d", t);
            cr_assert_str_eq(names_of(p1, "cut", a, sizeof a), "", "at %d", t);
            saw_cut23++;
        }
        if (p1 && p2 && p3 && t > 2000) {
            struct json_object *vars;
            for (int k = 0; k < 3; k++) {
                struct json_object *p = k == 0 ? p1 : k == 1 ? p2 : p3, *g;
                if (json_object_object_get_ex(p, "vars", &vars) &&
                    json_object_object_get_ex(vars, "gold", &g) && json_object_get_int(g) == 7)
                    saw_gold++;
            }
        }
    }
    cr_assert_geq(saw_cut, 1, "never saw the cut reported:\n%s", res.out);
    cr_assert_geq(saw_open, 1, "never saw the road open again:\n%s", res.out);
    cr_assert_geq(saw_cut23, 1, "never saw peer2-peer3 cut:\n%s", res.out);
    cr_assert(no_cut_reported(d[n - 1]), "h did not heal: %s",
              json_object_to_json_string(d[n - 1]));
    cr_assert_geq(int_field(d[n - 1], "time_ms"), 10000);
    cr_assert_gt(saw_gold, 0, "the typed \"gold add 7\" never reached a state machine:\n%s",
                 res.out);
    for (int i = 0; i < n; i++)
        json_object_put(d[i]);
}
