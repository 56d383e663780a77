/* wires.h: the "slow wires" panel in the top left corner of the village: a slider for
 * the delay every peer holds its peer messages for (the `delay` network fault), and the
 * lesson pace (docs/CONTRACT.md, "Lesson pace") with its fast failover switch. Pure:
 * geometry derived from the layout, hit tests, values and the words for the feed; no
 * SDL and no sockets, so it can be tested alone. What the peers now do is read back
 * from their own reports in the stream, never from what the game asked. */
#ifndef GAME_WIRES_H
#define GAME_WIRES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "visualization/layout.h"
#include "visualization/village_model.h"

/* The slider's range: a vote that crawls for two seconds each way is as slow as a
 * lesson wants; user_cli's `delay` goes up to 10000 ms, and the panel then shows the
 * knob at the end with the real figure beside it. */
#define WIRES_DELAY_MAX_MS  2000
#define WIRES_DELAY_STEP_MS 10

enum wires_part {
    WIRES_TRACK = 0, /* the delay slider: press, drag, release sends the delay */
    WIRES_PACE_DOWN, /* "-": a smaller pace factor (1 is the ini's timing) */
    WIRES_PACE_UP,   /* "+": a larger one, a slower cluster */
    WIRES_FAILOVER,  /* fast failover on or off, at the current pace */
    WIRES_N_PARTS,
};

struct wires_geom {
    struct layout_rect panel;
    struct layout_rect parts[WIRES_N_PARTS]; /* the track's is its whole hit area */
    float track_x0, track_x1, track_y;       /* the line the knob runs along */
    float scale;
};

void wires_geom(const struct layout *l, struct wires_geom *g);
/* The part under pixel x,y, or -1. */
int wires_hit(const struct wires_geom *g, int x, int y);
/* Pixel x,y on the panel (a click there must not reach what lies under it). */
bool wires_on_panel(const struct wires_geom *g, int x, int y);
/* The delay the slider means at pixel column x: clamped, in WIRES_DELAY_STEP_MS steps. */
uint32_t wires_delay_at(const struct wires_geom *g, int x);
/* The knob's column for ms (at the end for ms past the range). */
float wires_delay_x(const struct wires_geom *g, uint32_t ms);
/* A pixel that clicks part (for the track: where it means ms), for the --click hook. */
void wires_point(const struct wires_geom *g, int part, uint32_t ms, int *x, int *y);

/* What the game tells the panel each frame. */
struct wires_view {
    bool enabled;     /* a live game with real peers: the controls act */
    bool dragging;    /* the knob is held */
    uint32_t drag_ms; /* where it is held */
    int hover;        /* the part under the mouse, -1 */
};

/* The pace steps the panel offers: 1, 2, 5, 10, 20, 50. The next one up (dir > 0) or
 * down from pace, which need not be one of them; at the ends it stays. */
unsigned wires_pace_step(unsigned pace, int dir);

/* What the living villagers report: the largest delay and pace among them, whether the
 * fast failover is on (on when any has it on), and whether they disagree. */
struct wires_report {
    int reporting; /* living villagers heard; 0: nothing to show */
    uint32_t delay_ms;
    unsigned pace;
    bool fast_failover;
    bool mixed; /* not every living villager says the same */
};
void wires_report(const struct village_model *m, struct wires_report *r);

/* Words for the feed, after "you ". tmin, tmax, hb: the ini's election timeout range and heartbeat
 * interval, in ms (0 when unknown). */
void wires_delay_words(uint32_t ms, int tmin, unsigned pace, char *out, size_t cap);
void wires_pace_words(unsigned pace, bool fast_failover, int tmin, int tmax, int hb, char *out,
                      size_t cap);

#endif /* GAME_WIRES_H */
