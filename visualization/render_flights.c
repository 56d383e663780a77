/* render_flights.c: messages in the air, one look per RPC: envelopes carry entries
 * (heartbeats are small and empty), ballots ask for votes, round tokens and diamonds
 * answer (green yes, red no), a lightning bolt says "time out now". */
#include "visualization/render.h"
#include "visualization/render_prim.h"

#include <math.h>
#include <stdio.h>

#define YES_COLOR 0x3fbf5f
#define NO_COLOR  0xe04848

static void envelope(SDL_Renderer *r, float x, float y, float w, float h, SDL_Color edge, float a)
{
    SDL_Color paper = prim_alpha(prim_rgb(0xfdfaf0), a);

    prim_fill_rect(r, x - w / 2 - 1.5f, y - h / 2 - 1.5f, w + 3, h + 3, prim_alpha(edge, a));
    prim_fill_rect(r, x - w / 2, y - h / 2, w, h, paper);
    prim_line(r, x - w / 2, y - h / 2, x, y + h * 0.1f, 1.3f, prim_alpha(edge, a));
    prim_line(r, x + w / 2, y - h / 2, x, y + h * 0.1f, 1.3f, prim_alpha(edge, a));
}

static void check_mark(SDL_Renderer *r, float x, float y, float s, float a)
{
    SDL_Color w = prim_alpha(prim_rgb(0xffffff), a);
    prim_line(r, x - 3 * s, y, x - 1 * s, y + 2.5f * s, 1.6f * s, w);
    prim_line(r, x - 1 * s, y + 2.5f * s, x + 3.5f * s, y - 2.5f * s, 1.6f * s, w);
}

static void cross_mark(SDL_Renderer *r, float x, float y, float s, float a)
{
    SDL_Color w = prim_alpha(prim_rgb(0xffffff), a);
    prim_line(r, x - 2.5f * s, y - 2.5f * s, x + 2.5f * s, y + 2.5f * s, 1.6f * s, w);
    prim_line(r, x + 2.5f * s, y - 2.5f * s, x - 2.5f * s, y + 2.5f * s, 1.6f * s, w);
}

void render_message_shape(SDL_Renderer *r, enum village_rpc rpc, bool ok, bool pre_vote,
                          uint32_t n_entries, uint64_t term, float x, float y, float s, float a)
{
    SDL_Color tc = prim_term_color(term);
    SDL_Color answer = ok ? prim_rgb(YES_COLOR) : prim_rgb(NO_COLOR);

    /* Pre-votes change nothing on receipt: drawn see-through, like a question. */
    if (pre_vote)
        a *= 0.6f;
    switch (rpc) {
    case VILLAGE_RPC_APPEND_ENTRIES:
        if (n_entries == 0) {
            envelope(r, x, y, 10 * s, 7 * s, tc, a);
        } else {
            envelope(r, x, y, 16 * s, 11 * s, tc, a);
            /* One stripe per entry carried, up to five. */
            for (uint32_t i = 0; i < n_entries && i < 5; i++)
                prim_fill_rect(r, x - 6 * s + (float)i * 2.6f * s, y + 2 * s, 1.8f * s, 2.5f * s,
                               prim_alpha(tc, a));
        }
        break;
    case VILLAGE_RPC_APPEND_ENTRIES_RESULT:
        prim_fill_circle(r, x, y, 6.5f * s, prim_alpha((SDL_Color){255, 255, 255, 230}, a));
        prim_fill_circle(r, x, y, 5.2f * s, prim_alpha(answer, a));
        if (ok)
            check_mark(r, x, y, s * 0.9f, a);
        else
            cross_mark(r, x, y, s * 0.9f, a);
        break;
    case VILLAGE_RPC_REQUEST_VOTE:
        /* A ballot paper with a box to tick, edged in the candidate's term. */
        prim_fill_rect(r, x - 7 * s, y - 9 * s, 14 * s, 18 * s, prim_alpha(tc, a));
        prim_fill_rect(r, x - 5.5f * s, y - 7.5f * s, 11 * s, 15 * s,
                       prim_alpha(prim_rgb(0xfff6d5), a));
        prim_rect_outline(r, x - 3.5f * s, y - 4 * s, 7 * s, 7 * s, 1.2f * s,
                          prim_alpha(prim_rgb(0x444444), a));
        prim_fill_rect(r, x - 3.5f * s, y + 5 * s, 7 * s, 1 * s, prim_alpha(prim_rgb(0x888888), a));
        break;
    case VILLAGE_RPC_REQUEST_VOTE_RESULT: {
        float d = 8 * s;
        float outer[8] = {x, y - d - 1.5f * s, x + d + 1.5f * s, y,
                          x, y + d + 1.5f * s, x - d - 1.5f * s, y};
        float inner[8] = {x, y - d, x + d, y, x, y + d, x - d, y};
        prim_polygon(r, outer, 4, prim_alpha((SDL_Color){255, 255, 255, 230}, a));
        prim_polygon(r, inner, 4, prim_alpha(answer, a));
        if (ok)
            check_mark(r, x, y, s, a);
        else
            cross_mark(r, x, y, s, a);
        break;
    }
    case VILLAGE_RPC_TIMEOUT_NOW: {
        float bolt[12] = {x + 2 * s, y - 10 * s, x - 5 * s, y + 1 * s, x - 0.5f * s, y + 1 * s,
                          x - 3 * s, y + 10 * s, x + 5 * s, y - 2 * s, x + 0.5f * s, y - 2 * s};
        SDL_Color c = prim_alpha(prim_rgb(0xffb000), a);
        prim_triangle(r, bolt[0], bolt[1], bolt[2], bolt[3], bolt[4], bolt[5], c);
        prim_triangle(r, bolt[0], bolt[1], bolt[4], bolt[5], bolt[10], bolt[11], c);
        prim_triangle(r, bolt[6], bolt[7], bolt[8], bolt[9], bolt[10], bolt[11], c);
        prim_triangle(r, bolt[6], bolt[7], bolt[4], bolt[5], bolt[10], bolt[11], c);
        break;
    }
    }
}

static bool is_reply(enum village_rpc rpc)
{
    return rpc == VILLAGE_RPC_APPEND_ENTRIES_RESULT || rpc == VILLAGE_RPC_REQUEST_VOTE_RESULT;
}

void render_flights(struct render_ctx *rc, const struct game_view *v)
{
    const struct village_model *m = v->model;
    const struct layout *l = &rc->layout;
    float s = l->scale;

    for (int i = 0; i < m->n_flights; i++) {
        const struct village_flight *f = village_model_flight(m, i);
        float t, x0, y0, x1, y1, dx, dy, len, bend, x, y, a = 1;
        uint64_t age;

        if (f == NULL || f->from >= l->n || f->to >= l->n || v->now_ms < f->start_ms ||
            !l->shown[f->from] || !l->shown[f->to])
            continue;
        age = v->now_ms - f->start_ms;
        t = (float)age / (float)f->flight_ms;
        x0 = l->vx[f->from];
        y0 = l->vy[f->from];
        x1 = l->vx[f->to];
        y1 = l->vy[f->to];
        /* Messages leave and land on the timer rings, not on the villagers' faces. */
        dx = x1 - x0;
        dy = y1 - y0;
        len = sqrtf(dx * dx + dy * dy);
        if (len > 80 * s) {
            float edge = 32 * s / len;
            x0 += dx * edge;
            y0 += dy * edge;
            x1 -= dx * edge;
            y1 -= dy * edge;
        }
        if (t >= 1) {
            /* Landed: an answer bursts where it arrived, then fades. */
            float k = (t - 1) * (float)f->flight_ms / 250.0f;
            if (k > 1 || !is_reply(f->rpc))
                continue;
            prim_arc(rc->r, x1, y1, (6 + 10 * k) * s, (8 + 11 * k) * s, 0, 1,
                     prim_alpha(f->ok ? prim_rgb(YES_COLOR) : prim_rgb(NO_COLOR), 1 - k));
            continue;
        }
        /* Ease in and out, and bend the path so a request and its reply pass side by
         * side instead of through each other. */
        t = t * t * (3 - 2 * t);
        dx = x1 - x0;
        dy = y1 - y0;
        len = sqrtf(dx * dx + dy * dy);
        if (len < 1)
            continue;
        bend = sinf(t * (float)M_PI) * len * 0.10f;
        x = x0 + dx * t - dy / len * bend;
        y = y0 + dy * t + dx / len * bend;
        if (t < 0.08f)
            a = t / 0.08f;
        render_message_shape(rc->r, f->rpc, f->ok, f->pre_vote, f->n_entries, f->term, x, y, s, a);
    }
}
