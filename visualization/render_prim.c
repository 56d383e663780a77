/* render_prim.c: shapes as triangle lists, so the software renderer and the GPU draw
 * them alike. */
#include "visualization/render_prim.h"

#include <math.h>

#define CIRCLE_SEGMENTS 48 /* for the largest circles; small ones use fewer */
#define MAX_POLY        32

/* Tableau's ten colours: distinct from each other, and none of them is the grass. */
static const uint32_t term_palette[] = {
    0x4e79a7, 0xf28e2b, 0x59a14f, 0xe15759, 0xb07aa1,
    0x76b7b2, 0xedc948, 0xff9da7, 0x9c755f, 0x8cd17d,
};

SDL_Color prim_rgb(uint32_t rgb)
{
    return (SDL_Color){(Uint8)(rgb >> 16), (Uint8)(rgb >> 8), (Uint8)rgb, 255};
}

SDL_Color prim_term_color(uint64_t term)
{
    if (term == 0)
        return prim_rgb(0x9a9a9a);
    return prim_rgb(term_palette[(term - 1) % (sizeof term_palette / sizeof term_palette[0])]);
}

SDL_Color prim_alpha(SDL_Color c, float a)
{
    if (a < 0)
        a = 0;
    if (a > 1)
        a = 1;
    c.a = (Uint8)(c.a * a);
    return c;
}

SDL_Color prim_mix(SDL_Color a, SDL_Color b, float t)
{
    if (t < 0)
        t = 0;
    if (t > 1)
        t = 1;
    return (SDL_Color){(Uint8)(a.r + (b.r - a.r) * t), (Uint8)(a.g + (b.g - a.g) * t),
                       (Uint8)(a.b + (b.b - a.b) * t), (Uint8)(a.a + (b.a - a.a) * t)};
}

/* Enough segments that edges stay round at radius rad, and no more: triangles are most
 * of the software renderer's work. */
static int segments_for(float rad)
{
    int n = (int)(rad * 0.9f) + 8;
    return n > CIRCLE_SEGMENTS ? CIRCLE_SEGMENTS : n;
}

static SDL_Vertex vtx(float x, float y, SDL_Color c)
{
    return (SDL_Vertex){.position = {x, y}, .color = c, .tex_coord = {0, 0}};
}

void prim_fill_ellipse(SDL_Renderer *r, float cx, float cy, float rx, float ry, SDL_Color c)
{
    SDL_Vertex v[CIRCLE_SEGMENTS + 2];
    int idx[CIRCLE_SEGMENTS * 3];
    int segs = segments_for(rx > ry ? rx : ry);

    if (rx <= 0 || ry <= 0 || c.a == 0)
        return;
    v[0] = vtx(cx, cy, c);
    for (int i = 0; i <= segs; i++) {
        float a = (float)(2 * M_PI * i / segs);
        v[i + 1] = vtx(cx + cosf(a) * rx, cy + sinf(a) * ry, c);
    }
    for (int i = 0; i < segs; i++) {
        idx[i * 3] = 0;
        idx[i * 3 + 1] = i + 1;
        idx[i * 3 + 2] = i + 2;
    }
    SDL_RenderGeometry(r, NULL, v, segs + 2, idx, segs * 3);
}

void prim_fill_circle(SDL_Renderer *r, float cx, float cy, float rad, SDL_Color c)
{
    prim_fill_ellipse(r, cx, cy, rad, rad, c);
}

void prim_arc(SDL_Renderer *r, float cx, float cy, float r_in, float r_out, float a0, float a1,
              SDL_Color c)
{
    SDL_Vertex v[(CIRCLE_SEGMENTS + 1) * 2];
    int idx[CIRCLE_SEGMENTS * 6];
    int segs;

    if (a1 < a0) {
        float t = a0;
        a0 = a1;
        a1 = t;
    }
    if (a1 - a0 > 1)
        a1 = a0 + 1;
    segs = (int)ceilf((a1 - a0) * (float)segments_for(r_out));
    if (segs < 1 || c.a == 0)
        return;
    for (int i = 0; i <= segs; i++) {
        float t = a0 + (a1 - a0) * (float)i / (float)segs;
        float a = (float)(2 * M_PI * t - M_PI / 2);
        float ca = cosf(a), sa = sinf(a);
        v[i * 2] = vtx(cx + ca * r_in, cy + sa * r_in, c);
        v[i * 2 + 1] = vtx(cx + ca * r_out, cy + sa * r_out, c);
    }
    for (int i = 0; i < segs; i++) {
        int b = i * 2;
        idx[i * 6 + 0] = b;
        idx[i * 6 + 1] = b + 1;
        idx[i * 6 + 2] = b + 2;
        idx[i * 6 + 3] = b + 1;
        idx[i * 6 + 4] = b + 3;
        idx[i * 6 + 5] = b + 2;
    }
    SDL_RenderGeometry(r, NULL, v, (segs + 1) * 2, idx, segs * 6);
}

void prim_fill_rect(SDL_Renderer *r, float x, float y, float w, float h, SDL_Color c)
{
    SDL_FRect rect = {x, y, w, h};

    if (w <= 0 || h <= 0 || c.a == 0)
        return;
    SDL_SetRenderDrawColor(r, c.r, c.g, c.b, c.a);
    SDL_RenderFillRectF(r, &rect);
}

void prim_rect_outline(SDL_Renderer *r, float x, float y, float w, float h, float t, SDL_Color c)
{
    if (t * 2 >= w || t * 2 >= h) {
        prim_fill_rect(r, x, y, w, h, c);
        return;
    }
    prim_fill_rect(r, x, y, w, t, c);
    prim_fill_rect(r, x, y + h - t, w, t, c);
    prim_fill_rect(r, x, y + t, t, h - 2 * t, c);
    prim_fill_rect(r, x + w - t, y + t, t, h - 2 * t, c);
}

void prim_round_rect(SDL_Renderer *r, float x, float y, float w, float h, float rad, SDL_Color c)
{
    enum { CORNER_SEGS = 6, N = 4 * (CORNER_SEGS + 1) };
    /* Corner centres, clockwise from the top left, and where each corner's arc starts. */
    float cx[4], cy[4];
    const float start[4] = {(float)M_PI, (float)(1.5 * M_PI), 0, (float)(0.5 * M_PI)};
    SDL_Vertex v[N + 1];
    int idx[N * 3];

    if (w <= 0 || h <= 0 || c.a == 0)
        return;
    if (rad * 2 > w)
        rad = w / 2;
    if (rad * 2 > h)
        rad = h / 2;
    if (rad < 1) {
        prim_fill_rect(r, x, y, w, h, c);
        return;
    }
    cx[0] = cx[3] = x + rad;
    cx[1] = cx[2] = x + w - rad;
    cy[0] = cy[1] = y + rad;
    cy[2] = cy[3] = y + h - rad;
    /* One convex outline fanned from the centre: no seams and no overlaps, so
     * translucent boxes stay even. */
    v[0] = vtx(x + w / 2, y + h / 2, c);
    for (int k = 0; k < 4; k++) {
        for (int i = 0; i <= CORNER_SEGS; i++) {
            float a = start[k] + (float)(M_PI / 2) * (float)i / CORNER_SEGS;
            v[1 + k * (CORNER_SEGS + 1) + i] = vtx(cx[k] + cosf(a) * rad, cy[k] + sinf(a) * rad, c);
        }
    }
    for (int i = 0; i < N; i++) {
        idx[i * 3] = 0;
        idx[i * 3 + 1] = 1 + i;
        idx[i * 3 + 2] = 1 + (i + 1) % N;
    }
    SDL_RenderGeometry(r, NULL, v, N + 1, idx, N * 3);
}

void prim_triangle(SDL_Renderer *r, float x1, float y1, float x2, float y2, float x3, float y3,
                   SDL_Color c)
{
    SDL_Vertex v[3] = {vtx(x1, y1, c), vtx(x2, y2, c), vtx(x3, y3, c)};

    if (c.a == 0)
        return;
    SDL_RenderGeometry(r, NULL, v, 3, NULL, 0);
}

void prim_line(SDL_Renderer *r, float x1, float y1, float x2, float y2, float t, SDL_Color c)
{
    float dx = x2 - x1, dy = y2 - y1, len = sqrtf(dx * dx + dy * dy), nx, ny;
    SDL_Vertex v[4];
    int idx[6] = {0, 1, 2, 1, 3, 2};

    if (len < 1e-3f || c.a == 0)
        return;
    nx = -dy / len * t / 2;
    ny = dx / len * t / 2;
    v[0] = vtx(x1 + nx, y1 + ny, c);
    v[1] = vtx(x1 - nx, y1 - ny, c);
    v[2] = vtx(x2 + nx, y2 + ny, c);
    v[3] = vtx(x2 - nx, y2 - ny, c);
    SDL_RenderGeometry(r, NULL, v, 4, idx, 6);
}

void prim_polygon(SDL_Renderer *r, const float *xy, int n, SDL_Color c)
{
    SDL_Vertex v[MAX_POLY];
    int idx[(MAX_POLY - 2) * 3];

    if (n < 3 || n > MAX_POLY || c.a == 0)
        return;
    for (int i = 0; i < n; i++)
        v[i] = vtx(xy[2 * i], xy[2 * i + 1], c);
    for (int i = 0; i < n - 2; i++) {
        idx[i * 3] = 0;
        idx[i * 3 + 1] = i + 1;
        idx[i * 3 + 2] = i + 2;
    }
    SDL_RenderGeometry(r, NULL, v, n, idx, (n - 2) * 3);
}

void prim_vgradient(SDL_Renderer *r, float x, float y, float w, float h, SDL_Color top,
                    SDL_Color bottom)
{
    SDL_Vertex v[4] = {vtx(x, y, top), vtx(x + w, y, top), vtx(x, y + h, bottom),
                       vtx(x + w, y + h, bottom)};
    int idx[6] = {0, 1, 2, 1, 3, 2};

    SDL_RenderGeometry(r, NULL, v, 4, idx, 6);
}
