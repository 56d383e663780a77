/* layout.h: where everything sits in the window, as pure arithmetic (no SDL), so hit
 * tests and drawing agree and can be tested. */
#ifndef GAME_LAYOUT_H
#define GAME_LAYOUT_H

#include "visualization/village_model.h"

struct layout_rect {
    int x, y, w, h;
};

enum layout_button {
    LAYOUT_BUTTON_SUBMIT = 0,
    LAYOUT_BUTTON_MONSTER,
    LAYOUT_BUTTON_HEAL,
    LAYOUT_BUTTON_HELP,
    LAYOUT_N_BUTTONS,
};

struct layout {
    int win_w, win_h;
    struct layout_rect top;     /* status bar */
    struct layout_rect village; /* the ground */
    struct layout_rect panel;   /* event feed, on the right */
    struct layout_rect buttons[LAYOUT_N_BUTTONS];
    struct layout_rect timeline;     /* a replay's bar under the village; h = 0 when none */
    struct layout_rect timeline_bar; /* the progress bar inside it, where a click seeks */
    float cx, cy;                    /* centre of the ring, pixels */
    float radius;                    /* of the ring: one "unit" of village coordinates, pixels */
    float scale; /* 1.0 at the reference size; every drawing size is multiplied by it */
    int n;       /* villagers on the ring */
    float vx[VILLAGE_MAX_PEERS], vy[VILLAGE_MAX_PEERS]; /* villager centres, pixels */
    /* Membership (layout_place): whether a slot is drawn at all, stands apart as an
     * apprentice, or walks away (drawn fading, alpha 1 to 0). Without layout_place every
     * slot below n is shown in the ring. */
    bool shown[VILLAGE_MAX_PEERS], apprentice[VILLAGE_MAX_PEERS], leaving[VILLAGE_MAX_PEERS];
    float alpha[VILLAGE_MAX_PEERS];
};

/* Lays out a window of w x h pixels holding n villagers. */
void layout_compute(struct layout *l, int w, int h, int n);
/* The same, with a replay's timeline along the bottom of the village when timeline is
 * true (the village above it is that much shorter). */
void layout_compute_timeline(struct layout *l, int w, int h, int n, bool timeline);

/* Places the villagers by membership (docs/MEMBERSHIP.md): voters on the ring in slot
 * order, apprentices (learners, newcomers in no configuration) apart along the right
 * edge of the village, walking in from it; a promoted one walks to the ring, a removed
 * one walks off the bottom, fading. Peers not shown have no place and no hit area. */
void layout_place(struct layout *l, const struct village_model *m, uint64_t now_ms);

/* Villager i of n on the unit ring: the first at the top, then clockwise. */
void layout_ring_unit(int n, int i, float *ux, float *uy);

/* Village coordinates (the ring has radius 1 around 0,0) to pixels. */
void layout_to_px(const struct layout *l, float ux, float uy, float *px, float *py);

/* The villager under pixel x,y, or -1. */
int layout_hit_villager(const struct layout *l, int x, int y);

/* Distance from point px,py to the segment from x0,y0 to x1,y1; *t is where the nearest
 * point lies along it, 0 (at x0,y0) to 1. */
float layout_segment_distance(float px, float py, float x0, float y0, float x1, float y1, float *t);

/* Whether a road is drawn between slots a and b: both shown in the ring. */
bool layout_has_road(const struct layout *l, int a, int b);

/* The road (the straight line between two villagers) under pixel x,y: 1 with its ends
 * in *a < *b, or 0. Within a villager's own click circle it is the villager's, not a
 * road's; of roads crossing under the pointer the nearest wins. */
int layout_hit_road(const struct layout *l, int x, int y, int *a, int *b);

/* A point on the road between a and b that hits that road and nothing else (for the
 * --click test hook): 1 with it in *x, *y, or 0 when there is none. */
int layout_road_point(const struct layout *l, int a, int b, int *x, int *y);

/* The button under pixel x,y, or -1. */
int layout_hit_button(const struct layout *l, int x, int y);

/* Where pixel x,y falls along the timeline's bar, 0..1, or -1 when it is not on it. */
float layout_hit_timeline(const struct layout *l, int x, int y);

#endif /* GAME_LAYOUT_H */
