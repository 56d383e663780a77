/* wires.c: the slow-wires panel's geometry, values and words (wires.h). */
#include "visualization/wires.h"

#include <stdio.h>

#define PANEL_W_REF 268.0f
#define PANEL_H_REF 98.0f
#define PAD_REF     12.0f
#define TRACK_Y_REF 44.0f /* the slider's line, from the panel's top */
#define TRACK_HIT   11.0f /* how near the line a press takes the knob */
#define ROW3_Y_REF  66.0f /* the pace row */
#define BOX_REF     22.0f /* the "-" and "+" boxes */

static const unsigned pace_steps[] = {1, 2, 5, 10, 20, 50};
#define N_STEPS (sizeof pace_steps / sizeof pace_steps[0])

static struct layout_rect rect(float x, float y, float w, float h)
{
    return (struct layout_rect){(int)x, (int)y, (int)w, (int)h};
}

void wires_geom(const struct layout *l, struct wires_geom *g)
{
    float s = l->scale;
    float x0 = (float)l->village.x + 12 * s, y0 = (float)l->village.y + 10 * s;
    float w = PANEL_W_REF * s, pad = PAD_REF * s, box = BOX_REF * s, row3 = y0 + ROW3_Y_REF * s;

    g->scale = s;
    g->panel = rect(x0, y0, w, PANEL_H_REF * s);
    g->track_x0 = x0 + pad + 6 * s;
    g->track_x1 = x0 + w - pad - 6 * s;
    g->track_y = y0 + TRACK_Y_REF * s;
    g->parts[WIRES_TRACK] = rect(g->track_x0 - 8 * s, g->track_y - TRACK_HIT * s,
                                 g->track_x1 - g->track_x0 + 16 * s, 2 * TRACK_HIT * s);
    /* "pace [-] 10x [+]   [fast failover: on]" */
    g->parts[WIRES_PACE_DOWN] = rect(x0 + 52 * s, row3, box, box);
    g->parts[WIRES_PACE_UP] = rect(x0 + 118 * s, row3, box, box);
    g->parts[WIRES_FAILOVER] = rect(x0 + 150 * s, row3, w - 150 * s - pad, box);
}

static bool inside(const struct layout_rect *r, int x, int y)
{
    return x >= r->x && x < r->x + r->w && y >= r->y && y < r->y + r->h;
}

int wires_hit(const struct wires_geom *g, int x, int y)
{
    for (int p = 0; p < WIRES_N_PARTS; p++)
        if (inside(&g->parts[p], x, y))
            return p;
    return -1;
}

bool wires_on_panel(const struct wires_geom *g, int x, int y)
{
    return inside(&g->panel, x, y);
}

uint32_t wires_delay_at(const struct wires_geom *g, int x)
{
    float span = g->track_x1 - g->track_x0;
    float f = span > 0 ? ((float)x - g->track_x0) / span : 0;
    uint32_t ms;

    if (f <= 0)
        return 0;
    if (f >= 1)
        return WIRES_DELAY_MAX_MS;
    ms = (uint32_t)(f * WIRES_DELAY_MAX_MS + WIRES_DELAY_STEP_MS / 2.0f);
    return ms / WIRES_DELAY_STEP_MS * WIRES_DELAY_STEP_MS;
}

float wires_delay_x(const struct wires_geom *g, uint32_t ms)
{
    if (ms > WIRES_DELAY_MAX_MS)
        ms = WIRES_DELAY_MAX_MS;
    return g->track_x0 + (g->track_x1 - g->track_x0) * (float)ms / WIRES_DELAY_MAX_MS;
}

void wires_point(const struct wires_geom *g, int part, uint32_t ms, int *x, int *y)
{
    const struct layout_rect *r;

    if (part == WIRES_TRACK) {
        /* The middle of the pixel column that means ms, which rounds back to it. */
        float fx = wires_delay_x(g, ms);
        *x = (int)(fx + 0.5f);
        while (wires_delay_at(g, *x) < ms && *x < (int)g->track_x1 + 1)
            (*x)++;
        while (wires_delay_at(g, *x) > ms && *x > (int)g->track_x0 - 1)
            (*x)--;
        *y = (int)g->track_y;
        return;
    }
    if (part < 0 || part >= WIRES_N_PARTS)
        part = WIRES_FAILOVER;
    r = &g->parts[part];
    *x = r->x + r->w / 2;
    *y = r->y + r->h / 2;
}

unsigned wires_pace_step(unsigned pace, int dir)
{
    if (dir > 0) {
        for (size_t i = 0; i < N_STEPS; i++)
            if (pace_steps[i] > pace)
                return pace_steps[i];
        return pace_steps[N_STEPS - 1];
    }
    for (size_t i = N_STEPS; i-- > 0;)
        if (pace_steps[i] < pace)
            return pace_steps[i];
    return pace_steps[0];
}

void wires_report(const struct village_model *m, struct wires_report *r)
{
    *r = (struct wires_report){.pace = 1};
    for (int i = 0; i < m->n; i++) {
        const struct village_peer *p = &m->peers[i];
        unsigned pace = p->pace ? p->pace : 1;
        if (p->life != VILLAGE_ALIVE)
            continue;
        if (r->reporting > 0 &&
            (p->delay_ms != r->delay_ms || pace != r->pace || p->fast_failover != r->fast_failover))
            r->mixed = true;
        if (r->reporting == 0 || p->delay_ms > r->delay_ms)
            r->delay_ms = p->delay_ms;
        if (r->reporting == 0 || pace > r->pace)
            r->pace = pace;
        r->fast_failover =
            r->reporting == 0 ? p->fast_failover : r->fast_failover || p->fast_failover;
        r->reporting++;
    }
}

/* "1.5 s" or "300 ms". */
static void duration(uint64_t ms, char *out, size_t cap)
{
    if (ms >= 1000 && ms % 100 == 0)
        snprintf(out, cap, "%g s", (double)ms / 1000.0);
    else
        snprintf(out, cap, "%llu ms", (unsigned long long)ms);
}

void wires_delay_words(uint32_t ms, int tmin, unsigned pace, char *out, size_t cap)
{
    char d[32], t[32];
    uint64_t timeout = (uint64_t)(tmin > 0 ? tmin : 0) * (pace ? pace : 1);

    if (ms == 0) {
        snprintf(out, cap, "make the wires fast again: no peer holds its messages");
        return;
    }
    duration(ms, d, sizeof d);
    duration(timeout, t, sizeof t);
    /* A vote and its answer each wait the delay: an election needs the round trip to
     * fit in the election timeout, or no candidate ever wins. */
    if (timeout > 0 && 2 * (uint64_t)ms >= timeout)
        snprintf(out, cap,
                 "slow every wire to %s: a vote's round trip outlasts the %s timeout, no "
                 "election can end; raise the pace (+)",
                 d, t);
    else
        snprintf(out, cap, "slow every wire: each peer message waits %s", d);
}

void wires_pace_words(unsigned pace, bool fast_failover, int tmin, int tmax, int hb, char *out,
                      size_t cap)
{
    char a[32], b[32], h[32];
    const char *ff = fast_failover ? "fast failover on"
                                   : "fast failover off (a dead leader waits for a timeout)";

    if (pace == 0)
        pace = 1;
    if (tmin <= 0 || tmax <= 0 || hb <= 0) {
        snprintf(out, cap, "set the pace to %ux; %s", pace, ff);
        return;
    }
    duration((uint64_t)tmin * pace, a, sizeof a);
    duration((uint64_t)tmax * pace, b, sizeof b);
    duration((uint64_t)hb * pace, h, sizeof h);
    snprintf(out, cap, "set the pace to %ux%s: timeouts %s to %s, heartbeat %s; %s", pace,
             pace == 1 ? " (the ini's)" : "", a, b, h, ff);
}
