/* test_roads.c: the game's hands on the network and the keyboard, without SDL: hit tests
 * of the roads between villagers (a point near a segment), and the typed command's
 * line. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "visualization/layout.h"
#include "visualization/textbox.h"

Test(roads, distance_from_a_point_to_a_segment)
{
    float t;

    cr_assert_float_eq(layout_segment_distance(5, 3, 0, 0, 10, 0, &t), 3.0f, 1e-5);
    cr_assert_float_eq(t, 0.5f, 1e-5);
    /* Past an end, the distance is to that end. */
    cr_assert_float_eq(layout_segment_distance(-3, 4, 0, 0, 10, 0, &t), 5.0f, 1e-5);
    cr_assert_float_eq(t, 0.0f, 1e-5);
    cr_assert_float_eq(layout_segment_distance(13, -4, 0, 0, 10, 0, &t), 5.0f, 1e-5);
    cr_assert_float_eq(t, 1.0f, 1e-5);
    /* Slanted, and on it. */
    cr_assert_float_eq(layout_segment_distance(2, 2, 0, 0, 4, 4, &t), 0.0f, 1e-5);
    cr_assert_float_eq(layout_segment_distance(0, 4, 0, 0, 4, 4, NULL), sqrtf(8), 1e-4);
    /* A segment of no length is a point. */
    cr_assert_float_eq(layout_segment_distance(3, 4, 0, 0, 0, 0, &t), 5.0f, 1e-5);
}

Test(roads, a_click_on_a_road_finds_its_two_villagers)
{
    struct layout l;
    int a = -1, b = -1;
    float mx, my;

    layout_compute(&l, 1280, 800, 3);
    mx = (l.vx[0] + l.vx[1]) / 2;
    my = (l.vy[0] + l.vy[1]) / 2;
    cr_assert(layout_hit_road(&l, (int)mx, (int)my, &a, &b));
    cr_assert_eq(a, 0);
    cr_assert_eq(b, 1);
    /* A few pixels beside it still counts; far beside it does not. */
    cr_assert(layout_hit_road(&l, (int)mx + 4, (int)my + 4, &a, &b));
    cr_assert_not(layout_hit_road(&l, (int)mx + 40, (int)my + 40, &a, &b));
    /* The reverse pair comes back in order. */
    mx = (l.vx[2] + l.vx[1]) / 2;
    my = (l.vy[2] + l.vy[1]) / 2;
    cr_assert(layout_hit_road(&l, (int)mx, (int)my, &a, &b));
    cr_assert_eq(a, 1);
    cr_assert_eq(b, 2);
    /* On a villager, it is the villager's click, not a road's. */
    cr_assert_not(layout_hit_road(&l, (int)l.vx[0], (int)l.vy[0] + 30, &a, &b));
    cr_assert_eq(layout_hit_villager(&l, (int)l.vx[0], (int)l.vy[0] + 30), 0);
    /* Nowhere near: the feed panel. */
    cr_assert_not(layout_hit_road(&l, l.panel.x + 20, l.panel.y + 20, &a, &b));
}

Test(roads, the_nearest_of_crossing_roads_wins)
{
    struct layout l;
    int a, b;

    /* Four villagers: the two diagonals cross at the centre. Just off the crossing, on
     * the side of 0-2, the road 0-2 is nearer. */
    layout_compute(&l, 1280, 800, 4);
    cr_assert(layout_hit_road(&l, (int)l.cx, (int)l.cy, &a, &b));
    cr_assert((a == 0 && b == 2) || (a == 1 && b == 3));
    cr_assert(layout_hit_road(&l, (int)l.cx, (int)l.cy - 60, &a, &b));
    cr_assert_eq(a, 0);
    cr_assert_eq(b, 2);
}

Test(roads, every_road_has_a_point_that_clicks_it)
{
    for (int n = 2; n <= VILLAGE_MAX_PEERS; n++) {
        struct layout l;
        layout_compute(&l, 1280, 800, n);
        for (int i = 0; i < n; i++)
            for (int j = 0; j < n; j++) {
                int x, y, a, b;
                if (i == j) {
                    cr_assert_not(layout_road_point(&l, i, j, &x, &y));
                    continue;
                }
                cr_assert(layout_road_point(&l, i, j, &x, &y), "n %d: no point on %d-%d", n, i, j);
                cr_assert(layout_hit_road(&l, x, y, &a, &b));
                cr_assert_eq(a, i < j ? i : j, "n %d road %d-%d", n, i, j);
                cr_assert_eq(b, i < j ? j : i, "n %d road %d-%d", n, i, j);
                cr_assert_lt(layout_hit_button(&l, x, y), 0);
            }
    }
}

Test(roads, the_heal_button_is_hit)
{
    struct layout l;
    const struct layout_rect *r;

    layout_compute(&l, 1280, 800, 5);
    r = &l.buttons[LAYOUT_BUTTON_HEAL];
    cr_assert_eq(layout_hit_button(&l, r->x + 3, r->y + 3), LAYOUT_BUTTON_HEAL);
    cr_assert_lt(r->x + r->w, l.village.w, "the buttons fit under the village");
    layout_compute(&l, 640, 420, 9);
    r = &l.buttons[LAYOUT_N_BUTTONS - 1];
    cr_assert_leq(r->x + r->w, l.village.w, "even in the smallest window");
}

Test(textbox, typing_a_command)
{
    struct textbox t;
    char cmd[TEXTBOX_MAX + 1];

    textbox_open(&t);
    cr_assert(t.open);
    cr_assert_eq(textbox_insert(&t, "  gold add 7 "), 0);
    cr_assert_str_eq(t.text, "  gold add 7 ");
    textbox_command(&t, cmd, sizeof cmd);
    cr_assert_str_eq(cmd, "gold add 7", "blanks at the ends are trimmed");
    textbox_backspace(&t);
    textbox_backspace(&t);
    cr_assert_str_eq(t.text, "  gold add ");
    textbox_close(&t);
    cr_assert_not(t.open);
    cr_assert_eq(t.len, 0);
    textbox_backspace(&t); /* nothing to delete: nothing happens */
    cr_assert_eq(t.len, 0);
}

Test(textbox, only_printable_ascii_and_at_most_256_bytes)
{
    struct textbox t;
    char big[400];

    textbox_open(&t);
    /* "é" is two bytes, "€" three: one refusal each. A tab is a control character. */
    cr_assert_eq(textbox_insert(&t, "x\xc3\xa9y\xe2\x82\xacz\t"), 3);
    cr_assert_str_eq(t.text, "xyz");
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    cr_assert_eq(textbox_insert(&t, big), (int)(sizeof big - 1) - (TEXTBOX_MAX - 3));
    cr_assert_eq(t.len, TEXTBOX_MAX);
    cr_assert_eq(strlen(t.text), TEXTBOX_MAX);
    cr_assert_eq(textbox_insert(&t, "b"), 1, "full");
    textbox_backspace(&t);
    cr_assert_eq(textbox_insert(&t, "b"), 0);
    cr_assert_eq(t.text[TEXTBOX_MAX - 1], 'b');
}
