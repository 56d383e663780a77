/* render_villager.c: one villager: body and role, election timer ring, granary, health;
 * then, over the night, its words: name, term and vote, log tiles, commit index, the
 * candidate's speech bubble. Also the leader's ledger on the village square. */
#include "visualization/render.h"
#include "visualization/render_prim.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define RISE_MS       900
#define POOF_MS       700
#define TILES_PER_ROW 16
#define GOLD          0xf2c14e
#define SKIN          0xf1c8a0
#define HAIR          0x4a3426
#define LABEL_NAME_DY 37.0f
#define GRANARY_DX    60.0f

#define APPRENTICE_SCALE 0.8f /* an apprentice is drawn smaller */

static SDL_Color with_a(SDL_Color c, float a)
{
    return prim_alpha(c, a);
}

static const struct village_peer *leader_of(const struct village_model *m)
{
    int l = village_model_leader(m);
    return l >= 0 ? &m->peers[l] : NULL;
}

/* The election timer: a ring that drains as the timeout nears and refills with each
 * heartbeat. The leader's ring is gold and full: it is the one sending heartbeats. */
static void draw_timer(struct render_ctx *rc, const struct game_view *v,
                       const struct village_peer *p, float x, float y, float s, float a)
{
    SDL_Renderer *r = rc->r;
    float rin = 29 * s, rout = 34 * s;
    SDL_Color term = prim_term_color(p->term);

    prim_arc(r, x, y, rin - 1 * s, rout + 1 * s, 0, 1, with_a((SDL_Color){0, 0, 0, 70}, a));
    if (p->role == VILLAGE_LEADER) {
        float pulse = 0.5f + 0.5f * sinf((float)v->now_ms / 160.0f);
        prim_arc(r, x, y, rin, rout, 0, 1, with_a(prim_rgb(GOLD), a));
        prim_arc(r, x, y, rout + 1 * s, rout + (2 + 3 * pulse) * s, 0, 1,
                 with_a(prim_rgb(GOLD), a * 0.35f));
        return;
    }
    {
        float left = 1.0f - (float)p->election_progress / 1000.0f;
        SDL_Color c = term;
        /* Near the end the ring turns red: an election is about to start. */
        if (left < 0.25f)
            c = prim_mix(term, prim_rgb(0xe03b3b), (0.25f - left) * 4);
        prim_arc(r, x, y, rin, rout, 0, left, with_a(c, a));
    }
}

static void draw_granary(SDL_Renderer *r, const struct village_peer *p, float x, float y, float s,
                         float a)
{
    float w = 24 * s, h = 17 * s;
    float fill = p->n_vars_total > 0 ? fminf(1.0f, (float)p->n_vars_total / 8.0f) : 0;

    prim_fill_ellipse(r, x + 2 * s, y + h / 2 + 2 * s, w * 0.65f, 3.5f * s,
                      with_a((SDL_Color){0, 0, 0, 60}, a));
    prim_fill_rect(r, x - w / 2, y - h / 2, w, h, with_a(prim_rgb(0xb5523b), a));
    prim_triangle(r, x - w / 2 - 3 * s, y - h / 2, x, y - h / 2 - 11 * s, x + w / 2 + 3 * s,
                  y - h / 2, with_a(prim_rgb(0x7a2e21), a));
    /* The doorway shows grain piling up as the state machine fills. */
    prim_fill_rect(r, x - 5 * s, y - 2 * s, 10 * s, h / 2 + 2 * s, with_a(prim_rgb(0x4a2a1e), a));
    if (fill > 0)
        prim_fill_rect(r, x - 5 * s, y + h / 2 - (h / 2 + 2 * s) * fill, 10 * s,
                       (h / 2 + 2 * s) * fill, with_a(prim_rgb(0xe8c35a), a));
    prim_line(r, x - w / 2, y - h / 2, x + w / 2, y - h / 2, 1.5f * s,
              with_a(prim_rgb(0xf2e6d0), a * 0.8f));
}

static void draw_crown(SDL_Renderer *r, float x, float y, float s, float a)
{
    s *= 1.35f; /* the one thing that must be seen from across the village */
    SDL_Color gold = with_a(prim_rgb(GOLD), a), dark = with_a(prim_rgb(0xb8860b), a);

    prim_fill_rect(r, x - 8 * s, y - 4 * s, 16 * s, 5 * s, gold);
    prim_triangle(r, x - 8 * s, y - 4 * s, x - 8 * s, y - 11 * s, x - 3 * s, y - 4 * s, gold);
    prim_triangle(r, x - 4 * s, y - 4 * s, x, y - 13 * s, x + 4 * s, y - 4 * s, gold);
    prim_triangle(r, x + 3 * s, y - 4 * s, x + 8 * s, y - 11 * s, x + 8 * s, y - 4 * s, gold);
    prim_fill_rect(r, x - 8 * s, y, 16 * s, 1.2f * s, dark);
    prim_fill_circle(r, x, y - 1.5f * s, 1.6f * s, with_a(prim_rgb(0xd7263d), a));
}

static void draw_body(struct render_ctx *rc, const struct game_view *v,
                      const struct village_peer *p, int slot, float x, float y, float s, float a)
{
    SDL_Renderer *r = rc->r;
    float t = (float)v->now_ms / 1000.0f + (float)slot * 0.77f;
    float bob = 0, hand_x = x + 13 * s, hand_y = y + 2 * s;
    SDL_Color tunic = p->stopped ? prim_rgb(0x8a8a8a) : prim_term_color(p->term);
    SDL_Color dark = prim_mix(tunic, (SDL_Color){0, 0, 0, 255}, 0.35f);
    SDL_Color legs = with_a(prim_rgb(0x3d3027), a), skin = with_a(prim_rgb(SKIN), a);

    switch (p->role) {
    case VILLAGE_FOLLOWER:
        /* Hoeing the fields: a small swing and bob, out of step with the neighbours. */
        bob = sinf(t * 4.2f) * 1.2f * s;
        hand_y = y + 3 * s + sinf(t * 4.2f) * 2.5f * s;
        break;
    case VILLAGE_CANDIDATE:
    case VILLAGE_PRE_CANDIDATE:
        /* Calling for votes: little jumps, an arm waving high. */
        bob = -fabsf(sinf(t * 7.0f)) * 3.0f * s;
        hand_x = x + 14 * s + sinf(t * 9.0f) * 2.5f * s;
        hand_y = y - 17 * s;
        break;
    case VILLAGE_LEADER:
        hand_y = y - 2 * s;
        break;
    default:
        break;
    }

    prim_fill_ellipse(r, x, y + 21 * s, 13 * s, 4 * s, with_a((SDL_Color){0, 0, 0, 70}, a));
    prim_fill_rect(r, x - 6 * s, y + 9 * s + bob, 4 * s, 11 * s - bob, legs);
    prim_fill_rect(r, x + 2 * s, y + 9 * s + bob, 4 * s, 11 * s - bob, legs);
    if (p->role == VILLAGE_LEADER) /* a cape */
        prim_triangle(r, x - 9 * s, y - 4 * s, x + 9 * s, y - 4 * s, x, y + 17 * s,
                      with_a(prim_rgb(0x8e2430), a));
    prim_fill_ellipse(r, x, y + 3 * s + bob, 11 * s, 12 * s, with_a(tunic, a));
    prim_fill_rect(r, x - 10 * s, y + 6 * s + bob, 20 * s, 2.5f * s, with_a(dark, a));
    /* Arms. */
    prim_line(r, x - 9 * s, y - 3 * s + bob, x - 13 * s, y + 6 * s + bob, 3.5f * s,
              with_a(tunic, a));
    prim_line(r, x + 9 * s, y - 3 * s + bob, hand_x, hand_y + bob, 3.5f * s, with_a(tunic, a));
    prim_fill_circle(r, hand_x, hand_y + bob, 2.2f * s, skin);
    if (p->role == VILLAGE_FOLLOWER && !p->stopped) {
        /* The hoe. */
        prim_line(r, hand_x, hand_y + bob + 5 * s, hand_x + 5 * s, hand_y + bob - 15 * s, 1.8f * s,
                  with_a(prim_rgb(0x8b5a2b), a));
        prim_line(r, hand_x + 1 * s, hand_y + bob + 5 * s, hand_x + 7 * s, hand_y + bob + 6 * s,
                  2.5f * s, with_a(prim_rgb(0x9aa3ad), a));
    } else if (p->role == VILLAGE_LEADER) {
        /* The sceptre. */
        prim_line(r, hand_x, hand_y + 8 * s, hand_x, hand_y - 14 * s, 2.0f * s,
                  with_a(prim_rgb(0xb8860b), a));
        prim_fill_circle(r, hand_x, hand_y - 15 * s, 3 * s, with_a(prim_rgb(GOLD), a));
    }
    /* Head. */
    prim_fill_circle(r, x, y - 12 * s + bob, 8.5f * s, skin);
    prim_arc(r, x, y - 12 * s + bob, 0, 8.8f * s, 0.78f, 1.22f, with_a(prim_rgb(HAIR), a));
    prim_fill_circle(r, x - 3 * s, y - 11 * s + bob, 1.2f * s, with_a(prim_rgb(0x222222), a));
    prim_fill_circle(r, x + 3 * s, y - 11 * s + bob, 1.2f * s, with_a(prim_rgb(0x222222), a));
    if (p->role == VILLAGE_CANDIDATE || p->role == VILLAGE_PRE_CANDIDATE)
        prim_fill_ellipse(r, x, y - 7.5f * s + bob, 2.2f * s, 1.8f * s,
                          with_a(prim_rgb(0x6b2020), a)); /* shouting */
    else
        prim_line(r, x - 2 * s, y - 7.5f * s + bob, x + 2 * s, y - 7.5f * s + bob, 1 * s,
                  with_a(prim_rgb(0x6b2020), a));
    if (p->role == VILLAGE_LEADER)
        draw_crown(r, x, y - 20 * s + bob, s, a);
}

static void draw_grave(SDL_Renderer *r, float x, float y, float s, bool hover)
{
    SDL_Color stone = hover ? prim_rgb(0xb9c0c7) : prim_rgb(0x9aa1a8);

    prim_fill_ellipse(r, x, y + 16 * s, 20 * s, 6 * s, prim_rgb(0x6e5338));
    prim_fill_ellipse(r, x, y + 14 * s, 16 * s, 4.5f * s, prim_rgb(0x84653f));
    prim_round_rect(r, x - 13 * s, y - 17 * s, 26 * s, 33 * s, 11 * s, prim_rgb(0x6f767d));
    prim_round_rect(r, x - 11 * s, y - 15 * s, 22 * s, 30 * s, 10 * s, stone);
    prim_fill_rect(r, x - 1.2f * s, y - 10 * s, 2.4f * s, 11 * s, prim_rgb(0x70777e));
    prim_fill_rect(r, x - 5 * s, y - 7 * s, 10 * s, 2.4f * s, prim_rgb(0x70777e));
}

static void draw_plot(SDL_Renderer *r, float x, float y, float s, bool hover)
{
    prim_fill_ellipse(r, x, y + 14 * s, 22 * s, 8 * s, prim_rgb(0x8a6a45));
    prim_fill_rect(r, x - 1.5f * s, y - 12 * s, 3 * s, 26 * s, prim_rgb(0x6b4a2b));
    prim_fill_rect(r, x - 14 * s, y - 16 * s, 28 * s, 12 * s,
                   hover ? prim_rgb(0xc08a55) : prim_rgb(0xa8743f));
}

void render_villager(struct render_ctx *rc, const struct game_view *v, int slot)
{
    const struct village_peer *p = &v->model->peers[slot];
    const struct layout *l = &rc->layout;
    float x = l->vx[slot], y = l->vy[slot], s = l->scale;
    uint64_t since = v->now_ms - (p->life_since_ms < v->now_ms ? p->life_since_ms : v->now_ms);
    bool hover = v->hover == slot;

    if (l->leaving[slot]) {
        /* Removed from the configuration: it walks away, whether its process has exited
         * yet or not; not a grave, nothing crashed. */
        draw_body(rc, v, p, slot, x, y, s, l->alpha[slot]);
        return;
    }
    if (l->apprentice[slot]) {
        s *= APPRENTICE_SCALE;
        if (p->life == VILLAGE_ALIVE) {
            /* The apprentice's mark: a small open book by its feet. */
            float a = l->alpha[slot], bx = x - 17 * s, by = y + 14 * s;
            prim_fill_rect(rc->r, bx - 6 * s, by, 6 * s, 8 * s, prim_alpha(prim_rgb(0xf3ead2), a));
            prim_fill_rect(rc->r, bx, by, 6 * s, 8 * s, prim_alpha(prim_rgb(0xe4d7b5), a));
            prim_line(rc->r, bx, by, bx, by + 8 * s, 1.2f * s, prim_alpha(prim_rgb(0x6b4a2b), a));
            draw_timer(rc, v, p, x, y, s, a);
            draw_body(rc, v, p, slot, x, y, s, a);
            return;
        }
    }

    if (p->life == VILLAGE_ABSENT) {
        draw_plot(rc->r, x, y, s, hover);
        return;
    }
    if (p->life == VILLAGE_GRAVE) {
        draw_grave(rc->r, x, y, s, hover);
        if (since < POOF_MS) {
            float t = (float)since / POOF_MS;
            prim_arc(rc->r, x, y, (10 + 40 * t) * s, (14 + 44 * t) * s, 0, 1,
                     (SDL_Color){230, 230, 230, (Uint8)(180 * (1 - t))});
        }
        if (p->reviving) {
            float t = (float)(v->now_ms % 1200) / 1200.0f;
            prim_fill_circle(rc->r, x, y - 18 * s - 16 * s * t, 7 * s,
                             (SDL_Color){240, 250, 255, (Uint8)(150 * (1 - t))});
        }
        return;
    }

    {
        float a = 1, yoff = 0;
        if (since < RISE_MS) {
            float t = (float)since / RISE_MS;
            a = t;
            yoff = (1 - t) * (1 - t) * 18 * s;
            prim_fill_ellipse(rc->r, x, y + 16 * s, 22 * s * (1 - t * 0.5f), 6 * s,
                              (SDL_Color){110, 80, 50, (Uint8)(200 * (1 - t))});
        }
        if (hover)
            prim_fill_circle(rc->r, x, y, 38 * s, (SDL_Color){255, 255, 255, 40});
        draw_timer(rc, v, p, x, y, s, a);
        draw_granary(rc->r, p, x + GRANARY_DX * s, y + 2 * s, s, a);
        draw_body(rc, v, p, slot, x, y + yoff, s, a);
    }

    /* Health, when hurt, and the flash of a bite. */
    if (v->health[slot] < 99.5f) {
        float hw = 28 * s, frac = v->health[slot] / 100.0f;
        SDL_Color c = prim_mix(prim_rgb(0xe03b3b), prim_rgb(0x59c35a), frac);
        prim_fill_rect(rc->r, x - hw / 2 - 1, y - 44 * s - 1, hw + 2, 5 * s + 2,
                       (SDL_Color){0, 0, 0, 160});
        prim_fill_rect(rc->r, x - hw / 2, y - 44 * s, hw * frac, 5 * s, c);
    }
    if (v->monster->last_bite_slot == slot && v->now_ms - v->monster->last_bite_ms < 250) {
        float t = (float)(v->now_ms - v->monster->last_bite_ms) / 250.0f;
        prim_fill_circle(rc->r, x, y, (20 + 14 * t) * s,
                         (SDL_Color){230, 30, 30, (Uint8)(140 * (1 - t))});
    }
}

/* The speech bubble over a candidate's head. */
static void draw_bubble(struct render_ctx *rc, const char *text, float x, float y, float s,
                        SDL_Color border, bool faint)
{
    int tw, th;
    float bw, bh, bx, by;
    SDL_Color fill = faint ? (SDL_Color){255, 255, 255, 190} : (SDL_Color){255, 255, 255, 245};

    text_measure(rc->tc, FONT_BOLD, text, 0, (SDL_Color){40, 40, 40, 255}, &tw, &th);
    bw = (float)tw + 14 * s;
    bh = (float)th + 8 * s;
    bx = x - bw / 2;
    by = y - bh;
    prim_round_rect(rc->r, bx - 2 * s, by - 2 * s, bw + 4 * s, bh + 4 * s, 9 * s, border);
    prim_triangle(rc->r, x - 6 * s, by + bh, x + 6 * s, by + bh, x - 2 * s, by + bh + 9 * s,
                  border);
    prim_round_rect(rc->r, bx, by, bw, bh, 7 * s, fill);
    prim_triangle(rc->r, x - 4 * s, by + bh - 1, x + 4 * s, by + bh - 1, x - 2 * s, by + bh + 5 * s,
                  fill);
    text_draw(rc->tc, FONT_BOLD, text, x, by + 4 * s, (SDL_Color){40, 40, 40, 255}, TEXT_CENTER);
}

/* Log tiles are as big as the ring leaves room for. */
static float tile_size(int n)
{
    return n <= 5 ? 8.0f : n <= 7 ? 7.0f : 6.0f;
}

/* The last entries of the log, oldest first: solid when committed, outlined when not.
 * Returns the height used. */
static float draw_log_tiles(struct render_ctx *rc, const struct game_view *v,
                            const struct village_peer *p, float x, float y, float s)
{
    SDL_Renderer *r = rc->r;
    float tile = tile_size(v->model->n) * s, step = tile + 1.0f * s;
    float x0 = x - step * TILES_PER_ROW / 2;
    const struct village_peer *lead = leader_of(v->model);
    uint64_t match = 0;

    bool stale = village_model_leader_stale(v->model, (int)(p - v->model->peers));

    prim_round_rect(r, x0 - 3 * s, y - 3 * s, step * TILES_PER_ROW + 5 * s, step * 2 + 5 * s, 3 * s,
                    (SDL_Color){20, 26, 20, 120});
    for (int i = 0; i < p->n_log_tail; i++) {
        uint64_t index = p->log_tail_start + (uint64_t)i;
        float tx = x0 + (float)(i % TILES_PER_ROW) * step,
              ty = y + (float)(i / TILES_PER_ROW) * step;
        SDL_Color c = prim_term_color(p->log_tail_terms[i]);
        if (index <= p->commit_index) {
            prim_fill_rect(r, tx, ty, tile, tile, c);
        } else if (stale) {
            /* A stale leader's entries past its commit index: hatched and faded, and
             * ringed in red: no majority will ever take them from it. */
            prim_fill_rect(r, tx, ty, tile, tile, prim_alpha(c, 0.3f));
            prim_line(r, tx, ty + tile, tx + tile, ty, fmaxf(1.0f, 1.2f * s), c);
            prim_line(r, tx, ty + tile / 2, tx + tile / 2, ty, fmaxf(1.0f, 0.9f * s), c);
            prim_line(r, tx + tile / 2, ty + tile, tx + tile, ty + tile / 2, fmaxf(1.0f, 0.9f * s),
                      c);
            prim_rect_outline(r, tx - 1, ty - 1, tile + 2, tile + 2, 1, prim_rgb(0xe5383b));
        } else {
            prim_fill_rect(r, tx, ty, tile, tile, (SDL_Color){0, 0, 0, 120});
            prim_rect_outline(r, tx, ty, tile, tile, fmaxf(1.0f, 1.3f * s), c);
        }
    }
    /* Entries this log lost (replaced after a heal): struck out, falling away. */
    if (p->n_ghosts > 0 && v->now_ms >= p->ghosts_since_ms &&
        v->now_ms < p->ghosts_since_ms + VILLAGE_GHOST_MS) {
        float t = (float)(v->now_ms - p->ghosts_since_ms) / VILLAGE_GHOST_MS;
        float fall = t * t * 60 * s, a = 1 - t * t;
        for (int g = 0; g < p->n_ghosts; g++) {
            int i;
            float tx, ty;
            if (p->ghost_index[g] < p->log_tail_start)
                continue;
            i = (int)(p->ghost_index[g] - p->log_tail_start);
            if (i >= VILLAGE_LOG_TAIL)
                continue;
            /* Drawn larger than a tile, so the eye catches it leaving. */
            tx = x0 + (float)(i % TILES_PER_ROW) * step + (float)g * 0.8f * s * t - tile * 0.4f;
            ty = y + (float)(i / TILES_PER_ROW) * step + 3 * s + fall;
            prim_fill_rect(r, tx - 1, ty - 1, tile * 1.8f + 2, tile * 1.8f + 2,
                           (SDL_Color){255, 255, 255, (Uint8)(200 * a)});
            prim_fill_rect(r, tx, ty, tile * 1.8f, tile * 1.8f,
                           prim_alpha(prim_term_color(p->ghost_term[g]), a));
            prim_line(r, tx - 2 * s, ty + tile * 1.8f + 1 * s, tx + tile * 1.8f + 2 * s, ty - 1 * s,
                      2.2f * s, prim_alpha(prim_rgb(0xe5383b), a));
        }
    }
    /* Where the leader believes this follower's log matches its own. */
    if (lead != NULL && lead != p) {
        for (int i = 0; i < lead->n_followers; i++)
            if (strcmp(lead->followers[i].peer, p->name) == 0)
                match = lead->followers[i].match_index;
    }
    if (match >= p->log_tail_start && p->n_log_tail > 0 &&
        match < p->log_tail_start + (uint64_t)p->n_log_tail) {
        int i = (int)(match - p->log_tail_start);
        float tx = x0 + (float)(i % TILES_PER_ROW) * step + tile / 2;
        float ty = y + (float)(i / TILES_PER_ROW) * step + tile + 1 * s;
        prim_triangle(r, tx, ty, tx - 3 * s, ty + 4 * s, tx + 3 * s, ty + 4 * s, prim_rgb(GOLD));
    }
    return step * 2 + 5 * s;
}

/* Under an apprentice: what it is, and how far its log has caught up with the leader's,
 * as a bar that fills while the leader sends it entries (or a snapshot). */
static void apprentice_labels(struct render_ctx *rc, const struct game_view *v,
                              const struct village_peer *p, float x, float y, float s)
{
    const struct village_peer *lead = leader_of(v->model);
    SDL_Color white = {250, 250, 245, 255}, soft = {225, 230, 215, 255};
    int lh = text_line_height(rc->tc, FONT_SMALL);
    uint64_t target = lead ? lead->last_index : 0;
    float ly = y + 24 * s, bw = 96 * s, frac;
    char line[160];

    text_draw_shadow(rc->tc, FONT_BOLD, p->name, x, ly, white, TEXT_CENTER);
    ly += (float)text_line_height(rc->tc, FONT_BOLD);
    text_draw_shadow(rc->tc, FONT_SMALL,
                     p->member == VILLAGE_MEMBER_LEARNER ? "apprentice (learner)"
                                                         : "waits to be added",
                     x, ly, prim_rgb(0xfbe7a1), TEXT_CENTER);
    ly += (float)lh + 3 * s;
    frac = target > 0 ? (float)p->last_index / (float)target : 0;
    if (frac > 1)
        frac = 1;
    prim_fill_rect(rc->r, x - bw / 2, ly, bw, 6 * s, (SDL_Color){20, 26, 20, 160});
    prim_fill_rect(rc->r, x - bw / 2, ly, bw * frac, 6 * s,
                   frac >= 1 ? prim_rgb(0x59a14f) : prim_rgb(0xd08b2b));
    ly += 9 * s;
    snprintf(line, sizeof line, "log %" PRIu64 " of %" PRIu64, p->last_index, target);
    text_draw_shadow(rc->tc, FONT_SMALL, line, x, ly, soft, TEXT_CENTER);
    ly += (float)lh + 3 * s;
    draw_log_tiles(rc, v, p, x, ly, s);
}

void render_villager_labels(struct render_ctx *rc, const struct game_view *v, int slot)
{
    const struct village_peer *p = &v->model->peers[slot];
    const struct layout *l = &rc->layout;
    float x = l->vx[slot], y = l->vy[slot], s = l->scale;
    SDL_Color white = {250, 250, 245, 255}, soft = {225, 230, 215, 255};
    int lh = text_line_height(rc->tc, FONT_SMALL);
    char line[160];

    if (l->apprentice[slot] && p->life == VILLAGE_ALIVE) {
        apprentice_labels(rc, v, p, x, y, s * APPRENTICE_SCALE);
        return;
    }

    if (p->life == VILLAGE_ABSENT) {
        text_draw(rc->tc, FONT_SMALL, "?", x, y - 16 * s, prim_rgb(0x3b2a18), TEXT_CENTER);
        text_draw_shadow(rc->tc, FONT_BOLD, p->name[0] ? p->name : "?", x, y + 24 * s, soft,
                         TEXT_CENTER);
        text_draw_shadow(rc->tc, FONT_SMALL,
                         p->reviving ? "starting..." : "not running: click to start", x,
                         y + 24 * s + (float)lh * 1.3f, soft, TEXT_CENTER);
        return;
    }
    if (p->life == VILLAGE_GRAVE) {
        uint64_t silent = v->now_ms > p->last_heard_ms ? v->now_ms - p->last_heard_ms : 0;
        text_draw(rc->tc, FONT_SMALL, "RIP", x, y + 2 * s, prim_rgb(0x4b5259), TEXT_CENTER);
        text_draw_shadow(rc->tc, FONT_BOLD, p->name, x, y + 24 * s, (SDL_Color){200, 200, 200, 255},
                         TEXT_CENTER);
        if (p->reviving)
            snprintf(line, sizeof line, "rising...");
        else if (p->last_heard_ms > 0)
            snprintf(line, sizeof line, "silent %" PRIu64 " s: click to revive", silent / 1000);
        else
            snprintf(line, sizeof line, "click to revive");
        text_draw_shadow(rc->tc, FONT_SMALL, line, x, y + 24 * s + (float)lh * 1.3f,
                         (SDL_Color){210, 210, 210, 255}, TEXT_CENTER);
        return;
    }

    /* Name, then term and vote, then the log and the commit index. */
    {
        float ly = y + LABEL_NAME_DY * s;
        text_draw_shadow(rc->tc, FONT_BOLD, p->name, x, ly, white, TEXT_CENTER);
        ly += (float)text_line_height(rc->tc, FONT_BOLD);
        if (p->voted_for[0])
            snprintf(line, sizeof line, "term %" PRIu64 " \xc2\xb7 voted %s", p->term,
                     p->voted_for);
        else
            snprintf(line, sizeof line, "term %" PRIu64 " \xc2\xb7 no vote", p->term);
        text_draw_shadow(rc->tc, FONT_SMALL, line, x, ly, soft, TEXT_CENTER);
        ly += (float)lh + 5 * s;
        ly += draw_log_tiles(rc, v, p, x, ly, s);
        snprintf(line, sizeof line, "commit %" PRIu64 " \xc2\xb7 last %" PRIu64, p->commit_index,
                 p->last_index);
        text_draw_shadow(rc->tc, FONT_SMALL, line, x, ly, soft, TEXT_CENTER);
        if (p->delay_ms > 0) {
            ly += (float)lh;
            snprintf(line, sizeof line, "delay %u ms \xc2\xb7 holds %" PRIu64, p->delay_ms,
                     p->held);
            text_draw_shadow(rc->tc, FONT_SMALL, line, x, ly, prim_rgb(0xffb000), TEXT_CENTER);
        }
    }

    /* The granary's contents, a few lines of it. */
    {
        float gx = x + GRANARY_DX * s, gy = y + 14 * s;
        int shown = p->n_vars < 3 ? p->n_vars : (p->n_vars_total > 3 ? 2 : 3);
        if (p->n_vars == 0) {
            text_draw_shadow(rc->tc, FONT_SMALL, "empty", gx, gy, soft, TEXT_CENTER);
        }
        for (int i = 0; i < shown; i++) {
            snprintf(line, sizeof line, "%.12s %" PRId64, p->vars[i].name, p->vars[i].value);
            text_draw_shadow(rc->tc, FONT_SMALL, line, gx, gy + (float)(lh * i), prim_rgb(0xfbe7a1),
                             TEXT_CENTER);
        }
        if (p->n_vars_total > shown && shown > 0) {
            snprintf(line, sizeof line, "+%d more", p->n_vars_total - shown);
            text_draw_shadow(rc->tc, FONT_SMALL, line, gx, gy + (float)(lh * shown), soft,
                             TEXT_CENTER);
        }
    }

    if (p->stopped) {
        draw_bubble(rc, "my disk failed", x, y - 38 * s, s, prim_rgb(0x888888), false);
    } else if (village_model_leader_stale(v->model, slot)) {
        draw_bubble(rc, "stale leader: cannot commit", x, y - 58 * s, s, prim_rgb(0xe5383b), false);
    } else if (p->role == VILLAGE_CANDIDATE) {
        draw_bubble(rc, "vote for me!", x, y - 38 * s, s, prim_term_color(p->term), false);
    } else if (p->role == VILLAGE_PRE_CANDIDATE) {
        draw_bubble(rc, "could I win?", x, y - 38 * s, s, prim_term_color(p->term + 1), true);
    }
}

/* The notice board on the village square: the leader's view of each follower. */
void render_ledger(struct render_ctx *rc, const struct game_view *v)
{
    const struct layout *l = &rc->layout;
    const struct village_peer *lead = leader_of(v->model);
    float s = l->scale, w = 214 * s, x = l->cx - w / 2, y, h;
    int lh = text_line_height(rc->tc, FONT_SMALL);
    SDL_Color ink = {60, 40, 20, 255};
    char line[160];

    if (v->model->n < 2)
        return;
    h = 8 * s + (float)text_line_height(rc->tc, FONT_BOLD) +
        (float)lh * (float)(lead ? (lead->n_followers > 0 ? lead->n_followers : 1) : 2) + 8 * s;
    y = l->cy - h / 2;
    prim_round_rect(rc->r, x - 3 * s, y - 3 * s, w + 6 * s, h + 6 * s, 6 * s, prim_rgb(0x6b4a2b));
    prim_round_rect(rc->r, x, y, w, h, 5 * s, prim_rgb(0xe9d8b4));
    y += 4 * s;
    if (lead == NULL) {
        /* A leader needs a majority of the voters (a learner casts no vote). */
        int awake, voters_awake, voters = village_model_members(v->model, true, &voters_awake);
        (void)village_model_members(v->model, false, &awake);
        text_draw(rc->tc, FONT_BOLD, "No leader", l->cx, y, ink, TEXT_CENTER);
        y += (float)text_line_height(rc->tc, FONT_BOLD);
        text_draw(rc->tc, FONT_SMALL,
                  awake == 0                   ? "nobody is awake"
                  : voters_awake * 2 <= voters ? "too few awake to elect one"
                                               : "the village is choosing",
                  l->cx, y, ink, TEXT_CENTER);
        return;
    }
    snprintf(line, sizeof line, "%s's ledger, term %" PRIu64, lead->name, lead->term);
    text_draw(rc->tc, FONT_BOLD, line, l->cx, y, ink, TEXT_CENTER);
    y += (float)text_line_height(rc->tc, FONT_BOLD);
    if (lead->n_followers == 0)
        text_draw(rc->tc, FONT_SMALL, "(no followers listed)", l->cx, y, ink, TEXT_CENTER);
    for (int i = 0; i < lead->n_followers; i++) {
        const struct village_follower *f = &lead->followers[i];
        float frac = lead->last_index > 0 ? (float)f->match_index / (float)lead->last_index : 1;
        float bx = x + 8 * s, bw = 36 * s;
        if (frac > 1)
            frac = 1;
        prim_fill_rect(rc->r, bx, y + (float)lh * 0.3f, bw, (float)lh * 0.45f,
                       (SDL_Color){120, 100, 70, 120});
        prim_fill_rect(rc->r, bx, y + (float)lh * 0.3f, bw * frac, (float)lh * 0.45f,
                       frac >= 1 ? prim_rgb(0x59a14f) : prim_rgb(0xd08b2b));
        snprintf(line, sizeof line, "%s  match %" PRIu64 "  next %" PRIu64, f->peer, f->match_index,
                 f->next_index);
        text_draw(rc->tc, FONT_SMALL, line, bx + bw + 6 * s, y, ink, TEXT_LEFT);
        y += (float)lh;
    }
}
