/* Integration tests of bin/raft_game, headless (SDL_VIDEODRIVER=offscreen): it shows a
 * real 3-peer cluster started with -v, kills the leader through the click code path
 * (--kill), and shows the new leader; usage, screenshots and the demo mode. */
#include <criterion/criterion.h>
#include <fcntl.h>
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
static struct subprocess_result res; /* 128 KiB: too big for a test's stack */

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
