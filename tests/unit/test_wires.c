/* test_wires.c: the slow-wires panel without SDL (visualization/wires.c): the slider's
 * pixels and values agree both ways, the panel's parts are hit where they are drawn and
 * keep clicks off the roads, the pace steps, what the living villagers report, and the
 * words the feed gets. */
#include <criterion/criterion.h>
#include <string.h>

#include "visualization/layout.h"
#include "visualization/wires.h"

static void geom_for(int w, int h, int n, struct wires_geom *g, struct layout *l)
{
    layout_compute(l, w, h, n);
    wires_geom(l, g);
}

Test(wires, every_slider_value_has_a_pixel_that_means_it)
{
    static const int sizes[][2] = {{1280, 800}, {640, 420}, {1920, 1080}};
    for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
        struct layout l;
        struct wires_geom g;
        geom_for(sizes[k][0], sizes[k][1], 9, &g, &l);
        /* The ends and the common classroom values, at every window size. */
        static const uint32_t ms[] = {0, 100, 200, 500, 1000, 1500, WIRES_DELAY_MAX_MS};
        for (size_t i = 0; i < sizeof ms / sizeof ms[0]; i++) {
            int x, y;
            wires_point(&g, WIRES_TRACK, ms[i], &x, &y);
            cr_assert_eq(wires_hit(&g, x, y), WIRES_TRACK, "%u ms at %d,%d", ms[i], x, y);
            /* At 640 pixels a pixel is about 16 ms: the nearest step is close enough. */
            uint32_t got = wires_delay_at(&g, x);
            cr_assert(got + 20 >= ms[i] && got <= ms[i] + 20, "%u ms reads back as %u (%dx%d)",
                      ms[i], got, sizes[k][0], sizes[k][1]);
        }
    }
    /* At the reference size each value is exact. */
    struct layout l;
    struct wires_geom g;
    geom_for(1280, 800, 9, &g, &l);
    int x, y;
    wires_point(&g, WIRES_TRACK, 500, &x, &y);
    cr_assert_eq(wires_delay_at(&g, x), 500);
}

Test(wires, the_slider_clamps_and_steps)
{
    struct layout l;
    struct wires_geom g;
    geom_for(1280, 800, 3, &g, &l);
    cr_assert_eq(wires_delay_at(&g, -100), 0);
    cr_assert_eq(wires_delay_at(&g, (int)g.track_x0 - 5), 0);
    cr_assert_eq(wires_delay_at(&g, (int)g.track_x1 + 50), WIRES_DELAY_MAX_MS);
    for (int x = (int)g.track_x0; x <= (int)g.track_x1; x++) {
        uint32_t ms = wires_delay_at(&g, x);
        cr_assert_eq(ms % WIRES_DELAY_STEP_MS, 0);
        cr_assert_leq(wires_delay_at(&g, x - 1), ms, "the slider goes backwards at %d", x);
    }
    /* A delay past the slider's range (user_cli delay 5000) puts the knob at the end. */
    cr_assert_float_eq(wires_delay_x(&g, 5000), g.track_x1, 1e-3);
}

Test(wires, the_parts_are_on_the_panel_and_the_panel_is_off_the_roads)
{
    for (int n = 1; n <= VILLAGE_MAX_PEERS; n++) {
        struct layout l;
        struct wires_geom g;
        int a, b, x, y;
        geom_for(1280, 800, n, &g, &l);
        for (int p = 0; p < WIRES_N_PARTS; p++) {
            wires_point(&g, p, 300, &x, &y);
            cr_assert_eq(wires_hit(&g, x, y), p, "part %d with %d villagers", p, n);
            cr_assert(wires_on_panel(&g, x, y));
            cr_assert_lt(layout_hit_villager(&l, x, y), 0, "part %d on a villager (n %d)", p, n);
            cr_assert_lt(layout_hit_button(&l, x, y), 0);
        }
        /* The panel lies clear of every villager's click circle. */
        for (int i = 0; i < n; i++)
            cr_assert(!wires_on_panel(&g, (int)l.vx[i], (int)l.vy[i]), "villager %d", i);
        /* A road point found for the --click hook is never under the panel. */
        for (a = 0; a < n; a++)
            for (b = a + 1; b < n; b++)
                if (layout_road_point(&l, a, b, &x, &y))
                    cr_assert(!wires_on_panel(&g, x, y), "road %d-%d under the panel", a, b);
    }
    struct layout l;
    struct wires_geom g;
    geom_for(1280, 800, 5, &g, &l);
    cr_assert_eq(wires_hit(&g, g.panel.x + g.panel.w + 5, g.panel.y + 5), -1);
    cr_assert(!wires_on_panel(&g, g.panel.x + g.panel.w + 5, g.panel.y + 5));
}

Test(wires, pace_steps)
{
    cr_assert_eq(wires_pace_step(1, 1), 2);
    cr_assert_eq(wires_pace_step(2, 1), 5);
    cr_assert_eq(wires_pace_step(20, 1), 50);
    cr_assert_eq(wires_pace_step(50, 1), 50);
    cr_assert_eq(wires_pace_step(50, -1), 20);
    cr_assert_eq(wires_pace_step(2, -1), 1);
    cr_assert_eq(wires_pace_step(1, -1), 1);
    /* A pace set by user_cli between the steps goes to the next step either way. */
    cr_assert_eq(wires_pace_step(7, 1), 10);
    cr_assert_eq(wires_pace_step(7, -1), 5);
}

Test(wires, the_panel_shows_what_the_living_report)
{
    struct village_model m;
    struct wires_report r;

    village_model_init(&m);
    village_model_add_peer(&m, 1, "peer1");
    village_model_add_peer(&m, 2, "peer2");
    village_model_add_peer(&m, 3, "peer3");
    wires_report(&m, &r);
    cr_assert_eq(r.reporting, 0);
    cr_assert_eq(r.pace, 1);
    for (int i = 0; i < 3; i++) {
        m.peers[i].life = VILLAGE_ALIVE;
        m.peers[i].pace = 10;
        m.peers[i].delay_ms = 500;
        m.peers[i].fast_failover = false;
    }
    wires_report(&m, &r);
    cr_assert_eq(r.reporting, 3);
    cr_assert_eq(r.delay_ms, 500);
    cr_assert_eq(r.pace, 10);
    cr_assert(!r.fast_failover);
    cr_assert(!r.mixed);
    /* A restarted peer at the ini's timing: mixed, and the largest is shown. */
    m.peers[1].pace = 1;
    m.peers[1].delay_ms = 0;
    m.peers[1].fast_failover = true;
    wires_report(&m, &r);
    cr_assert(r.mixed);
    cr_assert_eq(r.pace, 10);
    cr_assert_eq(r.delay_ms, 500);
    cr_assert(r.fast_failover);
    /* A grave's report does not count. */
    m.peers[1].life = VILLAGE_GRAVE;
    wires_report(&m, &r);
    cr_assert(!r.mixed);
    cr_assert_eq(r.reporting, 2);
}

Test(wires, words_for_the_feed)
{
    char s[200];

    wires_delay_words(500, 150, 1, s, sizeof s);
    cr_assert(strstr(s, "500 ms") && strstr(s, "no election can end") && strstr(s, "pace"), "%s",
              s);
    wires_delay_words(500, 150, 10, s, sizeof s);
    cr_assert_str_eq(s, "slow every wire: each peer message waits 500 ms");
    wires_delay_words(0, 150, 10, s, sizeof s);
    cr_assert(strstr(s, "fast again"), "%s", s);
    wires_pace_words(10, false, 150, 300, 50, s, sizeof s);
    cr_assert_str_eq(s, "set the pace to 10x: timeouts 1.5 s to 3 s, heartbeat 500 ms; fast "
                        "failover off (a dead leader waits for a timeout)");
    wires_pace_words(1, true, 150, 300, 50, s, sizeof s);
    cr_assert_str_eq(s, "set the pace to 1x (the ini's): timeouts 150 ms to 300 ms, heartbeat "
                        "50 ms; fast failover on");
    /* Every sentence fits a feed line. */
    wires_delay_words(1990, 60000, 50, s, sizeof s);
    cr_assert_lt(strlen(s) + 40, VILLAGE_FEED_TEXT_MAX);
    wires_delay_words(1990, 150, 1, s, sizeof s);
    cr_assert_lt(strlen(s) + 40, VILLAGE_FEED_TEXT_MAX, "%zu bytes: %s", strlen(s), s);
    wires_pace_words(50, false, 60000, 60000, 59999, s, sizeof s);
    cr_assert_lt(strlen(s) + 30, VILLAGE_FEED_TEXT_MAX, "%zu bytes: %s", strlen(s), s);
}
