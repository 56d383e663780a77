/* render_scene.c: the grass, paths, trees and the monster's lair (drawn once into a
 * texture per window size), and the night that falls over them. */
#include "visualization/render.h"
#include "visualization/render_prim.h"

#include <math.h>

/* A fixed sequence, so the trees and tufts stand in the same places every run. */
static float scatter(uint32_t *state)
{
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return (float)(x >> 8) / (float)(1u << 24);
}

static void draw_tree(SDL_Renderer *r, float x, float y, float s, float shade)
{
    SDL_Color trunk = prim_rgb(0x6b4a2b);
    SDL_Color dark = prim_mix(prim_rgb(0x2f6b34), prim_rgb(0x244f2a), shade);
    SDL_Color light = prim_mix(prim_rgb(0x4f9a4a), prim_rgb(0x3f8a44), shade);

    prim_fill_ellipse(r, x + 3 * s, y + 16 * s, 16 * s, 5 * s, (SDL_Color){0, 0, 0, 50});
    prim_fill_rect(r, x - 3 * s, y, 6 * s, 16 * s, trunk);
    prim_fill_circle(r, x, y - 6 * s, 15 * s, dark);
    prim_fill_circle(r, x - 8 * s, y + 1 * s, 10 * s, dark);
    prim_fill_circle(r, x + 8 * s, y + 1 * s, 10 * s, dark);
    prim_fill_circle(r, x - 3 * s, y - 10 * s, 9 * s, light);
}

static void draw_lair(struct render_ctx *rc, float s)
{
    SDL_Renderer *r = rc->r;
    float x, y;

    layout_to_px(&rc->layout, MONSTER_LAIR_X, MONSTER_LAIR_Y, &x, &y);
    prim_fill_ellipse(r, x, y + 6 * s, 62 * s, 20 * s, (SDL_Color){0, 0, 0, 60});
    prim_fill_ellipse(r, x, y - 6 * s, 56 * s, 34 * s, prim_rgb(0x7a7570));
    prim_fill_circle(r, x - 34 * s, y - 2 * s, 20 * s, prim_rgb(0x8b867f));
    prim_fill_circle(r, x + 36 * s, y - 4 * s, 18 * s, prim_rgb(0x6d6862));
    prim_fill_circle(r, x + 8 * s, y - 28 * s, 16 * s, prim_rgb(0x8f8a83));
    prim_fill_ellipse(r, x, y + 2 * s, 28 * s, 20 * s, prim_rgb(0x1d1716));
    prim_fill_rect(r, x - 28 * s, y + 2 * s, 56 * s, 8 * s, prim_rgb(0x1d1716));
}

static void draw_still_parts(struct render_ctx *rc)
{
    SDL_Renderer *r = rc->r;
    const struct layout *l = &rc->layout;
    float s = l->scale, R = l->radius > 0 ? l->radius : 200 * s;
    uint32_t seed = 0x5eed1234u;
    const struct layout_rect *vr = &l->village;

    prim_vgradient(r, (float)vr->x, (float)vr->y, (float)vr->w, (float)vr->h, prim_rgb(0x86b868),
                   prim_rgb(0x5f9150));
    /* Tufts of grass. */
    for (int i = 0; i < 260; i++) {
        float x = vr->x + scatter(&seed) * vr->w, y = vr->y + scatter(&seed) * vr->h;
        SDL_Color c = scatter(&seed) < 0.5f ? prim_rgb(0x6fa356) : prim_rgb(0x9bc77a);
        prim_triangle(r, x - 3 * s, y, x, y - 7 * s, x + 1 * s, y, c);
        prim_triangle(r, x, y, x + 3 * s, y - 6 * s, x + 4 * s, y, c);
    }
    /* Flowers. */
    for (int i = 0; i < 40; i++) {
        float x = vr->x + scatter(&seed) * vr->w, y = vr->y + scatter(&seed) * vr->h;
        SDL_Color c = scatter(&seed) < 0.5f ? prim_rgb(0xf4e285) : prim_rgb(0xf7f7f2);
        prim_fill_circle(r, x, y, 2.2f * s, c);
    }
    /* The village path along the ring, and the square in the middle. */
    if (l->n > 1) {
        prim_arc(r, l->cx, l->cy, R - 11 * s, R + 11 * s, 0, 1, prim_rgb(0xc9ab7c));
        prim_arc(r, l->cx, l->cy, R - 8 * s, R + 8 * s, 0, 1, prim_rgb(0xd6bb8f));
        for (int i = 0; i < l->n; i++) {
            float ux, uy;
            layout_ring_unit(l->n, i, &ux, &uy);
            prim_line(r, l->cx + ux * R * 0.3f, l->cy + uy * R * 0.3f, l->vx[i], l->vy[i], 10 * s,
                      prim_rgb(0xd6bb8f));
        }
    }
    prim_fill_circle(r, l->cx, l->cy, R * 0.36f + 4 * s, prim_rgb(0xb89b70));
    prim_fill_circle(r, l->cx, l->cy, R * 0.36f, prim_rgb(0xdcc9a5));
    for (int ring = 1; ring <= 2; ring++)
        prim_arc(r, l->cx, l->cy, R * 0.12f * ring - 1, R * 0.12f * ring + 1, 0, 1,
                 prim_rgb(0xcdb892));

    draw_lair(rc, s);

    /* Trees around the village, kept off the ring, the lair and the buttons. */
    for (int i = 0; i < 90; i++) {
        float a = scatter(&seed) * 2 * (float)M_PI, d = 1.42f + scatter(&seed) * 1.2f;
        float ux = cosf(a) * d * 1.25f, uy = sinf(a) * d, x, y;
        float shade = scatter(&seed);
        if (hypotf(ux - MONSTER_LAIR_X, uy - MONSTER_LAIR_Y) < 0.5f)
            continue;
        layout_to_px(l, ux, uy, &x, &y);
        if (x < vr->x + 18 * s || x > vr->x + vr->w - 18 * s || y < vr->y + 24 * s ||
            y > vr->y + vr->h - 56 * s)
            continue;
        draw_tree(r, x, y, s * (0.8f + 0.4f * shade), shade);
    }
}

#define NIGHT_TINT ((SDL_Color){14, 22, 58, 150})

static void night_overlay(struct render_ctx *rc, Uint8 alpha)
{
    const struct layout *l = &rc->layout;
    SDL_Color c = NIGHT_TINT;

    c.a = alpha;
    prim_fill_rect(rc->r, (float)l->village.x, (float)l->village.y, (float)l->village.w,
                   (float)l->village.h, c);
}

static SDL_Texture *bake(struct render_ctx *rc, bool night)
{
    const struct layout *l = &rc->layout;
    SDL_Texture *t = SDL_CreateTexture(rc->r, SDL_PIXELFORMAT_ARGB8888, SDL_TEXTUREACCESS_TARGET,
                                       l->win_w, l->win_h);

    if (t == NULL || SDL_SetRenderTarget(rc->r, t) != 0) {
        if (t)
            SDL_DestroyTexture(t);
        return NULL;
    }
    SDL_SetRenderDrawBlendMode(rc->r, SDL_BLENDMODE_BLEND);
    SDL_SetRenderDrawColor(rc->r, 20, 24, 32, 255);
    SDL_RenderClear(rc->r);
    draw_still_parts(rc);
    if (night)
        night_overlay(rc, NIGHT_TINT.a);
    SDL_SetRenderTarget(rc->r, NULL);
    return t;
}

/* The ground is drawn once by day and once by night per window size; a frame copies
 * one (or, at dusk and dawn, fades one into the other). Copying an opaque texture is
 * far cheaper for the software renderer than darkening the village each frame. */
void render_ground(struct render_ctx *rc, const struct game_view *v)
{
    const struct layout *l = &rc->layout;
    SDL_Rect dst = {0, 0, l->win_w, l->win_h};
    float dark = 1.0f - monster_daylight(v->now_ms);

    if (!(rc->ground && rc->ground_night && rc->ground_w == l->win_w && rc->ground_h == l->win_h &&
          rc->ground_n == l->n)) {
        render_free(rc);
        if (SDL_RenderTargetSupported(rc->r)) {
            rc->ground = bake(rc, false);
            rc->ground_night = bake(rc, true);
        }
        if (rc->ground == NULL || rc->ground_night == NULL) {
            /* No render targets: draw the still parts every frame instead. */
            render_free(rc);
            draw_still_parts(rc);
            if (dark > 0.01f)
                night_overlay(rc, (Uint8)(NIGHT_TINT.a * dark));
            return;
        }
        rc->ground_w = l->win_w;
        rc->ground_h = l->win_h;
        rc->ground_n = l->n;
    }
    if (dark >= 0.99f) {
        SDL_RenderCopy(rc->r, rc->ground_night, NULL, &dst);
        return;
    }
    SDL_RenderCopy(rc->r, rc->ground, NULL, &dst);
    if (dark > 0.01f) {
        SDL_SetTextureBlendMode(rc->ground_night, SDL_BLENDMODE_BLEND);
        SDL_SetTextureAlphaMod(rc->ground_night, (Uint8)(255 * dark));
        SDL_RenderCopy(rc->r, rc->ground_night, NULL, &dst);
        SDL_SetTextureAlphaMod(rc->ground_night, 255);
        SDL_SetTextureBlendMode(rc->ground_night, SDL_BLENDMODE_NONE);
    }
}

/* At night each living villager carries a lantern: a warm pool of light on the ground
 * (villagers themselves are drawn over it, lit). */
void render_night(struct render_ctx *rc, const struct game_view *v)
{
    const struct layout *l = &rc->layout;
    float dark = 1.0f - monster_daylight(v->now_ms);
    float s = l->scale;

    if (dark <= 0.01f)
        return;
    for (int i = 0; i < v->model->n; i++) {
        if (v->model->peers[i].life != VILLAGE_ALIVE)
            continue;
        prim_fill_ellipse(rc->r, l->vx[i], l->vy[i] + 8 * s, 50 * s, 34 * s,
                          (SDL_Color){255, 214, 130, (Uint8)(34 * dark)});
    }
}
