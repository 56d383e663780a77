/* render_wires.c: the slow-wires panel in the top left corner of the village: the
 * delay slider (an amber knob on a line, the delay the peers report beside it, the
 * dragged one while it is held), and the pace row: "-" and "+" around the factor, and
 * the fast failover switch. A line under the panel says what the part under the mouse
 * does, so nobody needs the help card to find out. Geometry comes from wires.c. */
#include "visualization/render.h"
#include "visualization/render_prim.h"

#include <stdio.h>

#define AMBER 0xffb000

static const SDL_Color ink = {232, 236, 241, 255};
static const SDL_Color dim = {150, 160, 175, 255};

static void box_button(struct render_ctx *rc, const struct layout_rect *r, const char *label,
                       bool hover, bool enabled, SDL_Color fill)
{
    float s = rc->layout.scale;
    int nh = text_line_height(rc->tc, FONT_NORMAL);
    SDL_Color bg = hover && enabled ? prim_mix(fill, prim_rgb(0xffffff), 0.18f) : fill;

    prim_round_rect(rc->r, (float)r->x, (float)r->y, (float)r->w, (float)r->h, 5 * s, bg);
    text_draw(rc->tc, FONT_NORMAL, label, (float)r->x + (float)r->w / 2,
              (float)r->y + ((float)r->h - (float)nh) / 2, enabled ? ink : dim, TEXT_CENTER);
}

static const char *hint(const struct game_view *v, const struct wires_report *rep)
{
    if (!v->wires.enabled)
        return v->replay ? "a replay: the wires are as they were recorded"
                         : "slow wires need real peers started with -v";
    switch (v->wires.hover) {
    case WIRES_TRACK:
        return "drag: every peer holds each of its messages this long";
    case WIRES_PACE_DOWN:
        return rep->pace > 1 ? "-: a faster pace, back toward the ini's timing"
                             : "-: already the ini's own pace";
    case WIRES_PACE_UP:
        return "+: slower: timeouts and heartbeats stretched together";
    case WIRES_FAILOVER:
        return rep->fast_failover ? "off: a dead leader waits for a real election timeout"
                                  : "on: a dead leader's followers campaign at once";
    default:
        return NULL;
    }
}

void render_wires(struct render_ctx *rc, const struct game_view *v)
{
    struct wires_geom g;
    struct wires_report rep;
    float s = rc->layout.scale, pad = 12 * s;
    const struct layout_rect *p;
    uint32_t ms;
    char line[96];
    bool on = v->wires.enabled;
    SDL_Color amber = prim_rgb(AMBER);
    const char *h;

    wires_geom(&rc->layout, &g);
    wires_report(v->model, &rep);
    p = &g.panel;
    prim_round_rect(rc->r, (float)p->x, (float)p->y, (float)p->w, (float)p->h, 8 * s,
                    (SDL_Color){18, 22, 30, 200});

    /* Row 1: what the slider means. */
    ms = v->wires.dragging ? v->wires.drag_ms : rep.delay_ms;
    text_draw(rc->tc, FONT_BOLD, "slow wires", (float)p->x + pad, (float)p->y + 7 * s, ink,
              TEXT_LEFT);
    if (v->wires.dragging)
        snprintf(line, sizeof line, "%u ms: release to send", ms);
    else if (rep.reporting == 0)
        snprintf(line, sizeof line, "no peer heard yet");
    else if (ms == 0)
        snprintf(line, sizeof line, "no delay%s: drag", rep.mixed ? " (mixed)" : "");
    else
        snprintf(line, sizeof line, "delay %u ms%s", ms, rep.mixed ? " (mixed)" : "");
    text_draw(rc->tc, FONT_NORMAL, line, (float)(p->x + p->w) - pad, (float)p->y + 8 * s,
              ms > 0 || v->wires.dragging ? amber : dim, TEXT_RIGHT);

    /* Row 2: the slider, with a tick every half second. */
    prim_fill_rect(rc->r, g.track_x0, g.track_y - 1.5f * s, g.track_x1 - g.track_x0, 3 * s,
                   prim_rgb(0x4a5568));
    {
        float kx = wires_delay_x(&g, ms);
        bool hot = v->wires.dragging || v->wires.hover == WIRES_TRACK;
        prim_fill_rect(rc->r, g.track_x0, g.track_y - 1.5f * s, kx - g.track_x0, 3 * s,
                       prim_alpha(amber, on ? 0.9f : 0.4f));
        for (uint32_t t = 0; t <= WIRES_DELAY_MAX_MS; t += 500) {
            float tx = wires_delay_x(&g, t);
            prim_fill_rect(rc->r, tx - 0.5f * s, g.track_y + 3 * s, 1 * s, 4 * s, dim);
        }
        text_draw(rc->tc, FONT_SMALL, "0", g.track_x0, g.track_y + 7 * s, dim, TEXT_CENTER);
        text_draw(rc->tc, FONT_SMALL, "1 s", wires_delay_x(&g, 1000), g.track_y + 7 * s, dim,
                  TEXT_CENTER);
        text_draw(rc->tc, FONT_SMALL, "2 s", g.track_x1, g.track_y + 7 * s, dim, TEXT_CENTER);
        prim_fill_circle(rc->r, kx, g.track_y, (hot ? 8.5f : 7.5f) * s, (SDL_Color){0, 0, 0, 140});
        prim_fill_circle(rc->r, kx, g.track_y, (hot ? 7.5f : 6.5f) * s,
                         on ? amber : prim_mix(amber, prim_rgb(0x555555), 0.6f));
    }

    /* Row 3: the pace and the fast failover. */
    {
        const struct layout_rect *dn = &g.parts[WIRES_PACE_DOWN], *up = &g.parts[WIRES_PACE_UP];
        const struct layout_rect *ff = &g.parts[WIRES_FAILOVER];
        int nh = text_line_height(rc->tc, FONT_NORMAL);
        float ty = (float)dn->y + ((float)dn->h - (float)nh) / 2;
        SDL_Color btn = prim_rgb(0x2f3848);

        text_draw(rc->tc, FONT_NORMAL, "pace", (float)p->x + pad, ty, ink, TEXT_LEFT);
        box_button(rc, dn, "-", v->wires.hover == WIRES_PACE_DOWN, on && rep.pace > 1, btn);
        box_button(rc, up, "+", v->wires.hover == WIRES_PACE_UP, on, btn);
        snprintf(line, sizeof line, "%ux", rep.pace);
        text_draw(rc->tc, FONT_BOLD, line, (float)(dn->x + dn->w + up->x) / 2, ty,
                  rep.pace > 1 ? amber : ink, TEXT_CENTER);
        box_button(rc, ff, rep.fast_failover ? "fast failover: on" : "fast failover: off",
                   v->wires.hover == WIRES_FAILOVER, on,
                   rep.fast_failover ? prim_rgb(0x2f5d3a) : prim_rgb(0x5d3a2f));
    }

    /* What the part under the mouse does, under the panel. */
    h = hint(v, &rep);
    if (h != NULL && (v->wires.hover >= 0 || wires_on_panel(&g, v->mouse_x, v->mouse_y)))
        text_draw_shadow(rc->tc, FONT_SMALL, h, (float)p->x + 4 * s, (float)(p->y + p->h) + 4 * s,
                         ink, TEXT_LEFT);
}
