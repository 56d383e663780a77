/* layout.c: window geometry for the village. */
#include "visualization/layout.h"

#include <math.h>

#define TOP_H_REF          36.0f
#define BUTTON_W_REF       172.0f
#define BUTTON_H_REF       30.0f
#define HIT_RADIUS_REF     46.0f
#define ROAD_HIT_REF       9.0f   /* how near a road a click must fall */
#define REF_SIZE           760.0f /* village height at which scale is 1 */
#define TIMELINE_H_REF     46.0f
#define TIMELINE_LEFT_REF  250.0f /* "PAUSED  1:02.4 / 3:10.0" */
#define TIMELINE_RIGHT_REF 150.0f /* "speed 2x" */

static float clampf(float v, float lo, float hi)
{
    return v < lo ? lo : v > hi ? hi : v;
}

void layout_ring_unit(int n, int i, float *ux, float *uy)
{
    float a;

    if (n <= 0) {
        *ux = *uy = 0;
        return;
    }
    a = (float)(-M_PI / 2 + 2 * M_PI * i / n);
    *ux = cosf(a);
    *uy = sinf(a);
}

void layout_compute(struct layout *l, int w, int h, int n)
{
    layout_compute_timeline(l, w, h, n, false);
}

void layout_compute_timeline(struct layout *l, int w, int h, int n, bool timeline)
{
    float s, panel_w, top_h;
    int tl_h;

    if (w < 320)
        w = 320;
    if (h < 240)
        h = 240;
    l->win_w = w;
    l->win_h = h;
    l->n = n < 0 ? 0 : n > VILLAGE_MAX_PEERS ? VILLAGE_MAX_PEERS : n;

    s = clampf((float)h / REF_SIZE, 0.55f, 2.0f);
    if ((float)w / 1280.0f < s)
        s = clampf((float)w / 1280.0f, 0.55f, 2.0f);
    l->scale = s;
    top_h = TOP_H_REF * s;
    panel_w = clampf((float)w * 0.27f, 230.0f * s, 420.0f * s);

    l->top = (struct layout_rect){0, 0, w, (int)top_h};
    l->panel = (struct layout_rect){w - (int)panel_w, (int)top_h, (int)panel_w, h - (int)top_h};
    tl_h = timeline ? (int)(TIMELINE_H_REF * s) : 0;
    l->village = (struct layout_rect){0, (int)top_h, w - (int)panel_w, h - (int)top_h - tl_h};
    l->timeline = (struct layout_rect){0, l->village.y + l->village.h, l->village.w, tl_h};
    /* The bar takes the middle of the strip: words to its left and right. */
    l->timeline_bar =
        (struct layout_rect){(int)(TIMELINE_LEFT_REF * s), l->timeline.y + tl_h / 2 - (int)(5 * s),
                             l->village.w - (int)((TIMELINE_LEFT_REF + TIMELINE_RIGHT_REF) * s),
                             timeline ? (int)(10 * s) : 0};

    /* Buttons along the bottom of the village, from the left. */
    for (int b = 0; b < LAYOUT_N_BUTTONS; b++) {
        int bw = (int)(BUTTON_W_REF * s), bh = (int)(BUTTON_H_REF * s);
        l->buttons[b] =
            (struct layout_rect){(int)(12 * s) + b * (bw + (int)(10 * s)),
                                 l->village.y + l->village.h - bh - (int)(10 * s), bw, bh};
    }

    l->cx = (float)l->village.x + (float)l->village.w / 2.0f;
    /* A little above the middle: the buttons and the log tiles below need the room. */
    l->cy = (float)l->village.y + (float)l->village.h * 0.47f;
    l->radius = fminf((float)l->village.w * 0.36f, (float)l->village.h * 0.33f);
    if (l->n == 1)
        l->radius = 0; /* one villager stands in the square */
    for (int i = 0; i < VILLAGE_MAX_PEERS; i++) {
        float ux, uy;
        l->shown[i] = i < l->n;
        l->apprentice[i] = l->leaving[i] = false;
        l->alpha[i] = 1;
        if (i >= l->n)
            continue;
        layout_ring_unit(l->n, i, &ux, &uy);
        layout_to_px(l, ux, uy, &l->vx[i], &l->vy[i]);
    }
}

/* Where apprentice j stands: down the right edge of the village, clear of the ring. */
static void apprentice_spot(const struct layout *l, int j, float *x, float *y)
{
    *x = (float)(l->village.x + l->village.w) - 112.0f * l->scale;
    *y = (float)l->village.y + 200.0f * l->scale + (float)j * 170.0f * l->scale;
}

static float walk(uint64_t now_ms, uint64_t since_ms, uint64_t span_ms)
{
    float t = now_ms > since_ms ? (float)(now_ms - since_ms) / (float)span_ms : 0;
    t = clampf(t, 0, 1);
    return t * t * (3 - 2 * t); /* eased: starts and stops gently */
}

void layout_place(struct layout *l, const struct village_model *m, uint64_t now_ms)
{
    int ring[VILLAGE_MAX_PEERS], k = 0, j = 0;

    if (!m->membership_seen)
        return; /* as ever: every slot below n on the ring */
    for (int i = 0; i < l->n; i++)
        if (village_model_in_ring(m, i, now_ms))
            ring[k++] = i;
    for (int i = 0; i < VILLAGE_MAX_PEERS; i++) {
        l->shown[i] = village_model_shown(m, i, now_ms, &l->leaving[i]);
        l->apprentice[i] = l->shown[i] && !village_model_in_ring(m, i, now_ms);
        l->alpha[i] = 1;
    }
    for (int r = 0; r < k; r++) {
        int i = ring[r];
        const struct village_peer *p = &m->peers[i];
        float ux, uy, x, y;
        layout_ring_unit(k, r, &ux, &uy);
        if (k == 1)
            ux = uy = 0;
        layout_to_px(l, ux, uy, &x, &y);
        if (l->leaving[i]) {
            /* Off the bottom of the village, fading. */
            float t = walk(now_ms, p->left_ms, VILLAGE_LEAVE_MS);
            float ex = x, ey = (float)(l->village.y + l->village.h) + 40 * l->scale;
            x += (ex - x) * t;
            y += (ey - y) * t;
            l->alpha[i] = 1 - t;
        } else if (p->member_since_ms > 0 && now_ms < p->member_since_ms + VILLAGE_WALK_MS &&
                   p->member == VILLAGE_MEMBER_VOTER && p->life == VILLAGE_ALIVE) {
            /* Just promoted: from the apprentices' corner to its place. */
            float t = walk(now_ms, p->member_since_ms, VILLAGE_WALK_MS), ax, ay;
            apprentice_spot(l, 0, &ax, &ay);
            x = ax + (x - ax) * t;
            y = ay + (y - ay) * t;
        }
        l->vx[i] = x;
        l->vy[i] = y;
    }
    for (int i = 0; i < VILLAGE_MAX_PEERS; i++) {
        const struct village_peer *p = &m->peers[i];
        float x, y, t;
        if (!l->apprentice[i])
            continue;
        apprentice_spot(l, j++, &x, &y);
        /* Walking in from beyond the village's right edge. */
        t = walk(now_ms, p->member_since_ms, VILLAGE_WALK_MS);
        l->vx[i] = x + (1 - t) * 150 * l->scale;
        l->vy[i] = y;
        l->alpha[i] = 0.35f + 0.65f * t;
    }
}

void layout_to_px(const struct layout *l, float ux, float uy, float *px, float *py)
{
    /* With one villager the ring has no radius; keep the village's size for the rest. */
    float r = l->radius > 0 ? l->radius : fminf(l->village.w * 0.36f, l->village.h * 0.33f);
    *px = l->cx + ux * r;
    *py = l->cy + uy * r;
}

int layout_hit_villager(const struct layout *l, int x, int y)
{
    float best = HIT_RADIUS_REF * l->scale;
    int hit = -1;

    best *= best;
    for (int i = 0; i < l->n; i++) {
        if (!l->shown[i] || l->leaving[i])
            continue;
        float dx = (float)x - l->vx[i], dy = (float)y - l->vy[i];
        float d = dx * dx + dy * dy;
        if (d <= best) {
            best = d;
            hit = i;
        }
    }
    return hit;
}

int layout_hit_button(const struct layout *l, int x, int y)
{
    for (int b = 0; b < LAYOUT_N_BUTTONS; b++) {
        const struct layout_rect *r = &l->buttons[b];
        if (x >= r->x && x < r->x + r->w && y >= r->y && y < r->y + r->h)
            return b;
    }
    return -1;
}

float layout_hit_timeline(const struct layout *l, int x, int y)
{
    const struct layout_rect *b = &l->timeline_bar;

    if (l->timeline.h <= 0 || b->w <= 0 || y < l->timeline.y ||
        y >= l->timeline.y + l->timeline.h || x < b->x - 6 || x > b->x + b->w + 6)
        return -1;
    if (x <= b->x)
        return 0;
    if (x >= b->x + b->w)
        return 1;
    return (float)(x - b->x) / (float)b->w;
}

float layout_segment_distance(float px, float py, float x0, float y0, float x1, float y1, float *t)
{
    float dx = x1 - x0, dy = y1 - y0, len2 = dx * dx + dy * dy, k = 0;

    if (len2 > 0)
        k = clampf(((px - x0) * dx + (py - y0) * dy) / len2, 0, 1);
    if (t)
        *t = k;
    return hypotf(px - (x0 + k * dx), py - (y0 + k * dy));
}

bool layout_has_road(const struct layout *l, int a, int b)
{
    return a >= 0 && b >= 0 && a < l->n && b < l->n && l->shown[a] && l->shown[b] &&
           !l->apprentice[a] && !l->apprentice[b] && !l->leaving[a] && !l->leaving[b];
}

int layout_hit_road(const struct layout *l, int x, int y, int *a, int *b)
{
    float best = ROAD_HIT_REF * l->scale;
    int found = 0;

    if (layout_hit_villager(l, x, y) >= 0)
        return 0;
    for (int i = 0; i < l->n; i++)
        for (int j = i + 1; j < l->n; j++) {
            if (!layout_has_road(l, i, j))
                continue;
            float d = layout_segment_distance((float)x, (float)y, l->vx[i], l->vy[i], l->vx[j],
                                              l->vy[j], NULL);
            if (d <= best) {
                best = d;
                *a = i;
                *b = j;
                found = 1;
            }
        }
    return found;
}

int layout_road_point(const struct layout *l, int a, int b, int *x, int *y)
{
    if (a < 0 || b < 0 || a >= l->n || b >= l->n || a == b || !layout_has_road(l, a, b))
        return 0;
    /* From the middle outwards: 0.5, 0.47, 0.53, 0.44, ... down to 0.2 and up to 0.8. */
    for (int k = 0; k <= 20; k++) {
        float along = 0.5f + (k % 2 ? -1.0f : 1.0f) * 0.03f * (float)((k + 1) / 2);
        int px = (int)lroundf(l->vx[a] + (l->vx[b] - l->vx[a]) * along);
        int py = (int)lroundf(l->vy[a] + (l->vy[b] - l->vy[a]) * along);
        int ha, hb, lo = a < b ? a : b, hi = a < b ? b : a;
        if (layout_hit_button(l, px, py) < 0 && layout_hit_road(l, px, py, &ha, &hb) && ha == lo &&
            hb == hi) {
            /* Unique: no other road within reach of that pixel. */
            bool alone = true;
            for (int i = 0; i < l->n && alone; i++)
                for (int j = i + 1; j < l->n; j++)
                    if ((i != lo || j != hi) && layout_has_road(l, i, j) &&
                        layout_segment_distance((float)px, (float)py, l->vx[i], l->vy[i], l->vx[j],
                                                l->vy[j], NULL) <= ROAD_HIT_REF * l->scale * 1.2f) {
                        alone = false;
                        break;
                    }
            if (alone) {
                *x = px;
                *y = py;
                return 1;
            }
        }
    }
    return 0;
}
