/* render_roads.c: the roads between villagers (the links of the network). An open road
 * is a faint wire; a cut one is red and broken in the middle with an X, one-way cuts
 * with an arrow saying which way is dropped; a delay sends amber beads crawling along
 * the roads of the peer that holds its messages. All of it from the peers' own reports
 * (cut, cut_to, cut_from, delay_ms), not from what the game asked. Also the command box. */
#include "visualization/render.h"
#include "visualization/render_prim.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define CUT_RED 0xe5383b
#define AMBER   0xffb000

/* Where a road leaves a villager: at the edge of its timer ring. */
static void road_ends(const struct layout *l, int a, int b, float *x0, float *y0, float *x1,
                      float *y1)
{
    float dx = l->vx[b] - l->vx[a], dy = l->vy[b] - l->vy[a];
    float len = sqrtf(dx * dx + dy * dy), k = len > 1 ? 36 * l->scale / len : 0;

    *x0 = l->vx[a] + dx * k;
    *y0 = l->vy[a] + dy * k;
    *x1 = l->vx[b] - dx * k;
    *y1 = l->vy[b] - dy * k;
}

/* A long thin line as a few one-pixel lines side by side. The software renderer fills a
 * triangle by testing every pixel of its bounding box, so a long slanted road drawn as
 * two triangles (prim_line) costs its whole bounding box, about a thousand times its
 * own pixels; 36 of them halved the frame rate with 9 villagers. */
static void road_line(SDL_Renderer *r, float x0, float y0, float x1, float y1, float width,
                      SDL_Color c)
{
    float dx = x1 - x0, dy = y1 - y0, len = sqrtf(dx * dx + dy * dy), nx, ny;
    int n = (int)lroundf(width);

    if (len < 1)
        return;
    if (n < 1)
        n = 1;
    nx = -dy / len;
    ny = dx / len;
    SDL_SetRenderDrawColor(r, c.r, c.g, c.b, c.a);
    for (int k = 0; k < n; k++) {
        float o = (float)k - (float)(n - 1) / 2;
        SDL_RenderDrawLineF(r, x0 + nx * o, y0 + ny * o, x1 + nx * o, y1 + ny * o);
    }
}

static void cross(SDL_Renderer *r, float x, float y, float d, float t, SDL_Color c)
{
    prim_line(r, x - d, y - d, x + d, y + d, t, c);
    prim_line(r, x + d, y - d, x - d, y + d, t, c);
}

/* Where along a road its break goes: the middle, unless the middle is under the square
 * (where the ledger hides it); then the nearest point along it clear of the square. */
static float break_at(const struct layout *l, float x0, float y0, float x1, float y1)
{
    float clear = (l->radius > 0 ? l->radius : 200 * l->scale) * 0.36f + 22 * l->scale;

    for (int k = 0; k <= 36; k++) {
        float t = 0.5f + (k % 2 ? -1.0f : 1.0f) * 0.02f * (float)((k + 1) / 2);
        if (hypotf(x0 + (x1 - x0) * t - l->cx, y0 + (y1 - y0) * t - l->cy) >= clear)
            return t;
    }
    return 0.5f;
}

/* A cut road: red, with a gap and an X in it. dir is 3 for both ways, 1 when only a -> b
 * is dropped, 2 when only b -> a. */
static void cut_road(const struct layout *l, SDL_Renderer *r, float x0, float y0, float x1,
                     float y1, int dir, float s, bool hover)
{
    float dx = x1 - x0, dy = y1 - y0, len = sqrtf(dx * dx + dy * dy), ux, uy, gap = 16 * s;
    float at = break_at(l, x0, y0, x1, y1), mx = x0 + dx * at, my = y0 + dy * at;
    SDL_Color red = prim_rgb(CUT_RED), dark = {60, 10, 10, 200};

    if (len < 4 * gap)
        return;
    ux = dx / len;
    uy = dy / len;
    road_line(r, x0, y0, mx - ux * gap, my - uy * gap, (hover ? 6 : 5) * s, dark);
    road_line(r, mx + ux * gap, my + uy * gap, x1, y1, (hover ? 6 : 5) * s, dark);
    road_line(r, x0, y0, mx - ux * gap, my - uy * gap, (hover ? 4 : 3) * s, red);
    road_line(r, mx + ux * gap, my + uy * gap, x1, y1, (hover ? 4 : 3) * s, red);
    prim_fill_circle(r, mx, my, 9 * s, (SDL_Color){255, 255, 255, 200});
    cross(r, mx, my, 6 * s, 3 * s, red);
    if (dir != 3) {
        /* The arrow points the way messages no longer go. */
        float sx = dir == 1 ? 1 : -1, ax = mx - ux * sx * 26 * s, ay = my - uy * sx * 26 * s;
        float tx = ax + ux * sx * 9 * s, ty = ay + uy * sx * 9 * s;
        prim_triangle(r, tx, ty, ax - uy * 6 * s, ay + ux * 6 * s, ax + uy * 6 * s, ay - ux * 6 * s,
                      red);
    }
}

void render_roads(struct render_ctx *rc, const struct game_view *v)
{
    const struct village_model *m = v->model;
    const struct layout *l = &rc->layout;
    SDL_Renderer *r = rc->r;
    float s = l->scale;

    for (int a = 0; a < l->n && a < m->n; a++) {
        for (int b = a + 1; b < l->n && b < m->n; b++) {
            const struct village_peer *pa = &m->peers[a], *pb = &m->peers[b];
            int dir = village_model_road(m, a, b);
            bool hover = v->hover_road_a == a && v->hover_road_b == b;
            float x0, y0, x1, y1;
            uint32_t delay;

            if (!layout_has_road(l, a, b))
                continue;
            road_ends(l, a, b, &x0, &y0, &x1, &y1);
            if (dir != 0) {
                cut_road(l, r, x0, y0, x1, y1, dir, s, hover);
                continue;
            }
            if (pa->life != VILLAGE_ALIVE || pb->life != VILLAGE_ALIVE) {
                /* A road to a grave or a plot leads nowhere: barely there. */
                road_line(r, x0, y0, x1, y1, (hover ? 3 : 1) * s,
                          (SDL_Color){255, 255, 255, (Uint8)(hover ? 120 : 35)});
                continue;
            }
            road_line(r, x0, y0, x1, y1, (hover ? 5 : 3) * s,
                      (SDL_Color){250, 245, 225, (Uint8)(hover ? 220 : 140)});
            /* A delay: beads crawl along the road, slower the longer the delay. */
            delay = pa->delay_ms > pb->delay_ms ? pa->delay_ms : pb->delay_ms;
            if (delay > 0) {
                float period = 600.0f + (float)delay * 4.0f;
                float dx = x1 - x0, dy = y1 - y0;
                for (int k = 0; k < 4; k++) {
                    float t = fmodf((float)v->now_ms / period + (float)k / 4.0f, 1.0f);
                    prim_fill_circle(r, x0 + dx * t, y0 + dy * t, 3.5f * s, prim_rgb(AMBER));
                }
            }
        }
    }
    /* What a click on the road under the mouse would do. */
    if (v->hover_road_a >= 0 && v->hover_road_b >= 0 && v->hover_road_a < m->n &&
        v->hover_road_b < m->n && !v->show_help && !v->replay && !v->demo) {
        char line[128];
        const char *na = m->peers[v->hover_road_a].name, *nb = m->peers[v->hover_road_b].name;
        if (village_model_road(m, v->hover_road_a, v->hover_road_b))
            snprintf(line, sizeof line, "click: open the road %s-%s again", na, nb);
        else
            snprintf(line, sizeof line, "click: cut the road %s-%s", na, nb);
        text_draw_shadow(rc->tc, FONT_SMALL, line, (float)v->mouse_x + 14 * s,
                         (float)v->mouse_y + 10 * s, (SDL_Color){255, 240, 200, 255}, TEXT_LEFT);
    }
}

void render_command_box(struct render_ctx *rc, const struct game_view *v)
{
    const struct layout *l = &rc->layout;
    float s = l->scale, h, w, x, y;
    int nh = text_line_height(rc->tc, FONT_NORMAL), sh = text_line_height(rc->tc, FONT_SMALL);
    char line[96];
    const char *typed = v->typed ? v->typed : "";
    size_t len = strlen(typed);
    int tw;

    if (!v->typing)
        return;
    w = fminf((float)l->village.w - 24 * s, 640 * s);
    h = (float)nh + (float)sh + 22 * s;
    x = (float)l->village.x + 12 * s;
    y = (float)l->buttons[0].y - h - 10 * s;
    prim_round_rect(rc->r, x - 2, y - 2, w + 4, h + 4, 8 * s, prim_rgb(0xf2c14e));
    prim_round_rect(rc->r, x, y, w, h, 7 * s, (SDL_Color){18, 22, 30, 245});
    /* Only the end of a long command fits: show its last 60 bytes. */
    snprintf(line, sizeof line, "%s%s", len > 60 ? "\xe2\x80\xa6" : "",
             len > 60 ? typed + len - 60 : typed);
    tw = text_draw(rc->tc, FONT_BOLD, "command>", x + 10 * s, y + 8 * s, prim_rgb(0xf2c14e),
                   TEXT_LEFT);
    if (line[0])
        tw += text_draw(rc->tc, FONT_NORMAL, line, x + 18 * s + (float)tw, y + 8 * s,
                        (SDL_Color){240, 240, 240, 255}, TEXT_LEFT);
    if ((v->now_ms / 500) % 2 == 0)
        prim_fill_rect(rc->r, x + 20 * s + (float)tw, y + 9 * s, 2 * s, (float)nh - 2 * s,
                       (SDL_Color){240, 240, 240, 255});
    snprintf(line, sizeof line, "Enter: submit (empty: a random one)   Esc: cancel   %zu/256", len);
    text_draw(rc->tc, FONT_SMALL, line, x + 10 * s, y + 12 * s + (float)nh,
              (SDL_Color){150, 160, 175, 255}, TEXT_LEFT);
}
