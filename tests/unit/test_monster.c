/* test_monster.c: the game's pure logic besides the model: the monster and its day and
 * night, the window layout and its hit tests, and raft_game's command line. */
#include <criterion/criterion.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "visualization/layout.h"
#include "visualization/monster.h"
#include "visualization/options.h"

#define FIRST_NIGHT_MS (MONSTER_DAY_MS - MONSTER_START_MS)

static void ring_view(struct monster_view *v, int n, bool alive)
{
    memset(v, 0, sizeof *v);
    v->n = n;
    v->leader = -1;
    for (int i = 0; i < n; i++) {
        layout_ring_unit(n, i, &v->ux[i], &v->uy[i]);
        v->alive[i] = alive;
    }
}

/* Steps the monster at 60 Hz from t0 to t1; counts bites per slot. */
static int run(struct monster *mo, const struct monster_view *v, uint64_t t0, uint64_t t1,
               int *bites)
{
    int total = 0;
    uint64_t last_bite = 0;

    for (uint64_t t = t0; t < t1; t += 16) {
        int b = monster_step(mo, v, t, 0.016f);
        if (b >= 0) {
            cr_assert_lt(b, v->n);
            cr_assert(v->alive[b], "bit a dead villager");
            if (total > 0)
                cr_assert_geq(t - last_bite, (uint64_t)MONSTER_BITE_EVERY_MS - 16);
            last_bite = t;
            if (bites)
                bites[b]++;
            total++;
        }
    }
    return total;
}

Test(monster, day_and_night)
{
    cr_assert_not(monster_is_night(0), "the game opens in daylight");
    cr_assert_float_eq(monster_daylight(10000), 1.0f, 1e-6);
    cr_assert(monster_is_night(FIRST_NIGHT_MS));
    cr_assert_float_eq(monster_daylight(FIRST_NIGHT_MS + 5000), 0.0f, 1e-6);
    cr_assert_not(monster_is_night(FIRST_NIGHT_MS + MONSTER_NIGHT_MS));
    cr_assert_eq(monster_ms_to_change(FIRST_NIGHT_MS - 1000), 1000);
    /* Dusk fades: half light two seconds before night. */
    cr_assert_float_eq(monster_daylight(FIRST_NIGHT_MS - 2000), 0.5f, 1e-6);
}

Test(monster, sleeps_all_day)
{
    struct monster mo;
    struct monster_view v;

    ring_view(&v, 3, true);
    monster_init(&mo, 42, 0);
    cr_assert_eq(run(&mo, &v, 0, FIRST_NIGHT_MS - 1, NULL), 0);
    cr_assert_eq(mo.mood, MONSTER_ASLEEP);
    cr_assert_float_eq(mo.x, MONSTER_LAIR_X, 1e-6);
}

Test(monster, hunts_and_bites_at_night)
{
    struct monster mo;
    struct monster_view v;
    int bites[VILLAGE_MAX_PEERS] = {0};

    ring_view(&v, 3, true);
    monster_init(&mo, 7, 0);
    int n = run(&mo, &v, 0, FIRST_NIGHT_MS + 20000, bites);
    cr_assert_gt(n, 4, "only %d bites in a 20 s night", n);
    /* It stands by its prey when it bites. */
    cr_assert(mo.mood == MONSTER_ATTACKING || mo.mood == MONSTER_HUNTING ||
              mo.mood == MONSTER_ROAMING);
}

Test(monster, leaves_the_dead_alone_and_goes_home_at_dawn)
{
    struct monster mo;
    struct monster_view v;

    ring_view(&v, 5, false);
    monster_init(&mo, 9, 0);
    cr_assert_eq(run(&mo, &v, 0, FIRST_NIGHT_MS + 10000, NULL), 0);
    cr_assert_eq(mo.mood, MONSTER_ROAMING);
    run(&mo, &v, FIRST_NIGHT_MS + 10000, FIRST_NIGHT_MS + MONSTER_NIGHT_MS + 15000, NULL);
    cr_assert_eq(mo.mood, MONSTER_ASLEEP, "home by mid-morning");
    cr_assert_float_eq(mo.x, MONSTER_LAIR_X, 1e-6);
}

Test(monster, stopped_monster_bites_nobody)
{
    struct monster mo;
    struct monster_view v;

    ring_view(&v, 3, true);
    monster_init(&mo, 11, 0);
    monster_toggle(&mo, 0);
    cr_assert(mo.paused);
    cr_assert_eq(run(&mo, &v, 0, FIRST_NIGHT_MS + 20000, NULL), 0);
    cr_assert_eq(mo.mood, MONSTER_ASLEEP);
    monster_toggle(&mo, FIRST_NIGHT_MS + 20000);
    cr_assert_gt(run(&mo, &v, FIRST_NIGHT_MS + 20000, FIRST_NIGHT_MS + 29000, NULL), 0);
}

Test(monster, same_seed_same_night)
{
    struct monster a, b;
    struct monster_view v;
    int ba[VILLAGE_MAX_PEERS] = {0}, bb[VILLAGE_MAX_PEERS] = {0};

    ring_view(&v, 7, true);
    monster_init(&a, 1234, 0);
    monster_init(&b, 1234, 0);
    run(&a, &v, 0, FIRST_NIGHT_MS + 25000, ba);
    run(&b, &v, 0, FIRST_NIGHT_MS + 25000, bb);
    cr_assert_eq(memcmp(ba, bb, sizeof ba), 0);
    cr_assert_float_eq(a.x, b.x, 1e-6);
}

Test(layout, ring_and_hit_tests)
{
    struct layout l;

    layout_compute(&l, 1280, 800, 5);
    cr_assert_eq(l.n, 5);
    cr_assert_float_eq(l.vx[0], l.cx, 0.5, "the first villager stands at the top");
    cr_assert_lt(l.vy[0], l.cy);
    cr_assert_gt(l.vx[1], l.cx, "then clockwise");
    for (int i = 0; i < 5; i++) {
        cr_assert_eq(layout_hit_villager(&l, (int)l.vx[i], (int)l.vy[i]), i);
        cr_assert_lt(l.vx[i] + 40 * l.scale, (float)l.panel.x, "villager under the panel");
    }
    cr_assert_eq(layout_hit_villager(&l, (int)l.cx, (int)l.cy), -1);
    cr_assert_eq(layout_hit_villager(&l, l.panel.x + 10, l.panel.y + 10), -1);
    cr_assert_eq(layout_hit_button(&l, l.buttons[1].x + 2, l.buttons[1].y + 2), 1);
    cr_assert_eq(layout_hit_button(&l, (int)l.cx, (int)l.cy), -1);

    /* Tiny and huge windows still lay out, with the scale bounded. */
    layout_compute(&l, 10, 10, 9);
    cr_assert_geq(l.win_w, 320);
    cr_assert_geq(l.scale, 0.55f);
    layout_compute(&l, 5000, 3000, 12);
    cr_assert_eq(l.n, VILLAGE_MAX_PEERS);
    cr_assert_leq(l.scale, 2.0f);
}

static int parse(struct game_options *o, const char *line)
{
    /* Static: game_options keeps pointers into argv, as into main's, so the words must
     * outlive this call (valgrind caught the test reading them from a dead frame). */
    static char buf[512], *argv[32];
    int argc = 0;
    char err[200];

    snprintf(buf, sizeof buf, "raft_game %s", line);
    for (char *tok = strtok(buf, " "); tok && argc < 31; tok = strtok(NULL, " "))
        argv[argc++] = tok;
    argv[argc] = NULL;
    return game_options_parse(argc, argv, o, err, sizeof err);
}

Test(options, command_line)
{
    struct game_options o;

    cr_assert_eq(parse(&o, ""), 0);
    cr_assert_str_eq(o.config_path, "raft_peer.ini");
    cr_assert_eq(o.n, 0);
    cr_assert_eq(o.after_ms, -1);
    cr_assert_eq(parse(&o, "-c x.ini -n 9 --dump-state --quit-after-ms 500"), 0);
    cr_assert_eq(o.n, 9);
    cr_assert(o.dump_state);
    cr_assert_eq(o.quit_after_ms, 500);
    cr_assert_eq(parse(&o, "--screenshot a.bmp --after-ms 10"), 0);
    cr_assert_eq(o.after_ms, 10);
    cr_assert_eq(parse(&o, "--kill leader --at-ms 3000 --demo --no-monster"), 0);
    cr_assert_str_eq(o.kill_peer, "leader");
    cr_assert(o.demo && o.no_monster);
    cr_assert_eq(parse(&o, "-h"), 1);
    cr_assert_eq(parse(&o, "-n 3 --help"), 1);

    cr_assert_eq(parse(&o, "-n 0"), -1);
    cr_assert_eq(parse(&o, "-n 10"), -1);
    cr_assert_eq(parse(&o, "-n 3x"), -1);
    cr_assert_eq(parse(&o, "-c"), -1);
    cr_assert_eq(parse(&o, "--screenshot a.bmp"), -1, "needs --after-ms");
    cr_assert_eq(parse(&o, "--kill peer1"), -1, "needs --at-ms");
    cr_assert_eq(parse(&o, "--at-ms 5"), -1);
    cr_assert_eq(parse(&o, "--after-ms -5"), -1);
    cr_assert_eq(parse(&o, "--after-ms 99999999999"), -1);
    cr_assert_eq(parse(&o, "--frobnicate"), -1);
    cr_assert_eq(parse(&o, "stray"), -1);
}
