/* render_lesson.c: the running lesson as a card over the top of the feed (its title, the
 * step, what is about to happen and why, what it waits for or saw), and the lessons'
 * menu ('l') over the village. */
#include "visualization/lesson.h"
#include "visualization/render.h"
#include "visualization/render_prim.h"

#include <stdio.h>

static const SDL_Color ink = {232, 236, 241, 255};
static const SDL_Color dim = {150, 160, 175, 255};

static SDL_Color status_color(enum lesson_phase p)
{
    switch (p) {
    case LESSON_PASSED:
    case LESSON_DONE:
        return prim_rgb(0x8fe388);
    case LESSON_FAILED:
        return prim_rgb(0xff8a80);
    default:
        return prim_rgb(0xffd166);
    }
}

static void render_card(struct render_ctx *rc, const struct lesson *le)
{
    const struct layout *l = &rc->layout;
    const struct lesson_def *d = &lesson_table[le->def];
    float s = l->scale, x = (float)l->panel.x + 8 * s, y = (float)l->panel.y + 8 * s;
    float w = (float)l->panel.w - 16 * s, pad = 10 * s, cy;
    int wrap = (int)(w - 2 * pad), th, tw, sh = 0, hh, bh = text_line_height(rc->tc, FONT_BOLD);
    SDL_Color sc = status_color(le->phase);
    char title[160], hint[160];
    const char *status = le->status;

    snprintf(title, sizeof title, "Lesson %d: %s", le->def + 1, d->title);
    if (le->phase == LESSON_DONE)
        snprintf(hint, sizeof hint, "l: the lessons");
    else
        snprintf(hint, sizeof hint, "step %d of %d  \xc2\xb7  %s  \xc2\xb7  l: menu", le->step + 1,
                 d->n_steps, le->phase == LESSON_FAILED ? "t: try again, n: skip" : "n: skip");
    text_measure(rc->tc, FONT_NORMAL, le->text, wrap, ink, &tw, &th);
    if (status[0])
        text_measure(rc->tc, FONT_NORMAL, status, wrap, sc, &tw, &sh);
    hh = text_line_height(rc->tc, FONT_SMALL);
    {
        float h = pad + (float)bh + 4 * s + (float)hh + 8 * s + (float)th + 8 * s +
                  (status[0] ? (float)sh + 8 * s : 0) + 6 * s + pad;
        prim_round_rect(rc->r, x, y, w, h, 8 * s, prim_rgb(0x2b2f3d));
        prim_rect_outline(rc->r, x, y, w, h, 2 * s, prim_rgb(0xf2c14e));
    }
    cy = y + pad;
    text_draw(rc->tc, FONT_BOLD, title, x + pad, cy, prim_rgb(0xf2c14e), TEXT_LEFT);
    cy += (float)bh + 4 * s;
    text_draw(rc->tc, FONT_SMALL, hint, x + pad, cy, dim, TEXT_LEFT);
    /* The steps as dots: green seen, grey skipped, white to come, gold the current. */
    for (int i = 0; i < d->n_steps && i < 32; i++) {
        float dx = x + w - pad - (float)(d->n_steps - i) * 11 * s + 4 * s;
        SDL_Color c = le->results[i] == LESSON_STEP_PASSED    ? prim_rgb(0x8fe388)
                      : le->results[i] == LESSON_STEP_SKIPPED ? prim_rgb(0x6b7280)
                      : i == le->step                         ? prim_rgb(0xf2c14e)
                                                              : prim_rgb(0x4b5366);
        prim_fill_circle(rc->r, dx, cy + (float)hh / 2, 4 * s, c);
    }
    cy += (float)hh + 8 * s;
    text_draw_wrapped(rc->tc, FONT_NORMAL, le->text, x + pad, cy, ink, wrap);
    cy += (float)th + 8 * s;
    if (status[0])
        text_draw_wrapped(rc->tc, FONT_NORMAL, status, x + pad, cy, sc, wrap);
}

static void render_menu(struct render_ctx *rc, const struct lesson *le)
{
    const struct layout *l = &rc->layout;
    float s = l->scale, w = 620 * s, pad = 18 * s;
    int lh = text_line_height(rc->tc, FONT_NORMAL), bh = text_line_height(rc->tc, FONT_BOLD);
    float h = pad * 2 + (float)text_line_height(rc->tc, FONT_TITLE) + 12 * s +
              (float)lesson_count * ((float)bh + (float)lh + 10 * s) + 2 * (float)lh + 10 * s;
    float x = (float)l->village.x + (float)l->village.w / 2 - w / 2;
    float y = (float)l->village.y + (float)l->village.h / 2 - h / 2;
    char line[200];

    prim_round_rect(rc->r, x, y, w, h, 10 * s, prim_alpha(prim_rgb(0x1d222c), 0.96f));
    prim_rect_outline(rc->r, x, y, w, h, 2 * s, prim_rgb(0xf2c14e));
    y += pad;
    text_draw(rc->tc, FONT_TITLE, "Lessons on this cluster", x + pad, y, prim_rgb(0xf2c14e),
              TEXT_LEFT);
    y += (float)text_line_height(rc->tc, FONT_TITLE) + 12 * s;
    for (int i = 0; i < lesson_count; i++) {
        bool current = le->def == i && lesson_running(le);
        snprintf(line, sizeof line, "%d   %s%s", i + 1, lesson_table[i].title,
                 current ? "  (running)" : "");
        text_draw(rc->tc, FONT_BOLD, line, x + pad, y, current ? prim_rgb(0xf2c14e) : ink,
                  TEXT_LEFT);
        y += (float)bh;
        text_draw(rc->tc, FONT_NORMAL, lesson_table[i].teaches, x + pad + 28 * s, y, dim,
                  TEXT_LEFT);
        y += (float)lh + 10 * s;
    }
    text_draw(rc->tc, FONT_NORMAL, "a number starts that lesson on the live cluster;", x + pad, y,
              ink, TEXT_LEFT);
    y += (float)lh;
    text_draw(rc->tc, FONT_NORMAL,
              lesson_running(le) ? "0 stops the lesson running, Esc or l closes this"
                                 : "Esc or l closes this",
              x + pad, y, ink, TEXT_LEFT);
}

void render_lesson(struct render_ctx *rc, const struct game_view *v)
{
    const struct lesson *le = v->lesson;

    if (le == NULL)
        return;
    if (le->def >= 0 && le->def < lesson_count)
        render_card(rc, le);
    if (le->menu_open)
        render_menu(rc, le);
}
