/* render_monster.c: a horned purple beast; asleep it snores, hunting it glares,
 * biting it opens its jaws. */
#include "visualization/render.h"
#include "visualization/render_prim.h"

#include <math.h>

void render_monster(struct render_ctx *rc, const struct game_view *v)
{
    const struct monster *mo = v->monster;
    SDL_Renderer *r = rc->r;
    float s = rc->layout.scale * 1.15f, x, y, f = mo->facing < 0 ? -1.0f : 1.0f;
    float t = (float)v->now_ms / 1000.0f;
    bool asleep = mo->mood == MONSTER_ASLEEP;
    bool biting = mo->mood == MONSTER_ATTACKING && v->now_ms - mo->last_bite_ms < 300;
    SDL_Color body = prim_rgb(0x6a3d9a), belly = prim_rgb(0x9b72c4), horn = prim_rgb(0xefe6d2);
    float breathe = asleep ? sinf(t * 2.0f) * 1.5f * s : 0;
    float stomp = asleep ? 0 : fabsf(sinf(t * 8.0f)) * 2.5f * s;

    layout_to_px(&rc->layout, mo->x, mo->y, &x, &y);
    y -= stomp;

    prim_fill_ellipse(r, x, y + 24 * s + stomp, 26 * s, 7 * s, (SDL_Color){0, 0, 0, 80});
    /* Feet and tail. */
    prim_fill_ellipse(r, x - 10 * s, y + 20 * s, 7 * s, 5 * s, prim_rgb(0x4b2a70));
    prim_fill_ellipse(r, x + 10 * s, y + 20 * s, 7 * s, 5 * s, prim_rgb(0x4b2a70));
    prim_triangle(r, x - f * 18 * s, y + 6 * s, x - f * 36 * s, y + 14 * s + sinf(t * 3) * 3 * s,
                  x - f * 16 * s, y + 14 * s, body);
    /* Body and belly. */
    prim_fill_ellipse(r, x, y + 2 * s - breathe, 23 * s, 21 * s + breathe, body);
    prim_fill_ellipse(r, x + f * 3 * s, y + 8 * s, 14 * s, 12 * s, belly);
    /* Horns. */
    prim_triangle(r, x - 14 * s, y - 12 * s, x - 8 * s, y - 16 * s, x - 17 * s, y - 30 * s, horn);
    prim_triangle(r, x + 14 * s, y - 12 * s, x + 8 * s, y - 16 * s, x + 17 * s, y - 30 * s, horn);
    /* Eyes. */
    if (asleep) {
        prim_line(r, x + f * 2 * s, y - 6 * s, x + f * 9 * s, y - 6 * s, 2 * s, prim_rgb(0x2a1640));
        prim_line(r, x + f * 12 * s, y - 6 * s, x + f * 18 * s, y - 6 * s, 2 * s,
                  prim_rgb(0x2a1640));
    } else {
        SDL_Color eye = mo->mood == MONSTER_HUNTING || mo->mood == MONSTER_ATTACKING
                            ? prim_rgb(0xffd23f)
                            : prim_rgb(0xffffff);
        prim_fill_circle(r, x + f * 5 * s, y - 7 * s, 5 * s, eye);
        prim_fill_circle(r, x + f * 15 * s, y - 7 * s, 4.5f * s, eye);
        prim_fill_circle(r, x + f * 6.5f * s, y - 7 * s, 2 * s, prim_rgb(0x111111));
        prim_fill_circle(r, x + f * 16 * s, y - 7 * s, 2 * s, prim_rgb(0x111111));
        /* Angry brows while hunting. */
        if (mo->mood != MONSTER_ROAMING && mo->mood != MONSTER_GOING_HOME) {
            prim_line(r, x + f * 1 * s, y - 14 * s, x + f * 9 * s, y - 11 * s, 2 * s,
                      prim_rgb(0x2a1640));
            prim_line(r, x + f * 19 * s, y - 14 * s, x + f * 11 * s, y - 11 * s, 2 * s,
                      prim_rgb(0x2a1640));
        }
    }
    /* Mouth: a grin of teeth, wide open when biting. */
    {
        float mw = 16 * s, mh = biting ? 10 * s : 4 * s, mx = x + f * 9 * s, my = y + 3 * s;
        prim_fill_ellipse(r, mx, my, mw / 2, mh / 2 + 1 * s, prim_rgb(0x2a0f1f));
        for (int i = 0; i < 4; i++) {
            float tx = mx - mw / 2 + 2 * s + (float)i * 4 * s;
            prim_triangle(r, tx, my - mh / 2, tx + 3 * s, my - mh / 2, tx + 1.5f * s,
                          my - mh / 2 + 3.5f * s, horn);
        }
    }
    if (asleep) {
        float k = fmodf(t, 2.0f) / 2.0f;
        SDL_Color zc = {255, 255, 255, (Uint8)(230 * (1 - k))};
        text_draw_shadow(rc->tc, FONT_BOLD, "z", x + 20 * s + k * 10 * s, y - 30 * s - k * 22 * s,
                         zc, TEXT_CENTER);
        text_draw_shadow(rc->tc, FONT_SMALL, "z", x + 30 * s + k * 8 * s, y - 44 * s - k * 18 * s,
                         zc, TEXT_CENTER);
    }
}
