/* render.c: the order a frame is drawn in: the ground (by day or night), villagers and
 * the monster from the back of the scene to the front, then words, messages and the
 * panels over everything. */
#include "visualization/render.h"

void render_frame(struct render_ctx *rc, const struct game_view *v, int w, int h)
{
    char err[160];
    const struct village_model *m = v->model;

    layout_compute_timeline(&rc->layout, w, h, m->n, v->replay);
    layout_place(&rc->layout, m, v->now_ms);
    /* On failure the old fonts stay: text of the old size beats no text. */
    text_cache_set_scale(rc->tc, rc->layout.scale, err, sizeof err);
    SDL_SetRenderDrawBlendMode(rc->r, SDL_BLENDMODE_BLEND);
    SDL_SetRenderDrawColor(rc->r, 20, 24, 32, 255);
    SDL_RenderClear(rc->r);

    render_ground(rc, v);
    render_night(rc, v);
    render_roads(rc, v);
    /* Villagers further down the screen stand in front. */
    {
        int order[VILLAGE_MAX_PEERS], n = m->n;
        for (int i = 0; i < n; i++)
            order[i] = i;
        for (int i = 1; i < n; i++)
            for (int j = i; j > 0 && rc->layout.vy[order[j - 1]] > rc->layout.vy[order[j]]; j--) {
                int t = order[j];
                order[j] = order[j - 1];
                order[j - 1] = t;
            }
        for (int i = 0; i < n; i++)
            if (rc->layout.shown[order[i]])
                render_villager(rc, v, order[i]);
    }
    render_monster(rc, v);
    render_ledger(rc, v);
    for (int i = 0; i < m->n; i++)
        if (rc->layout.shown[i] && !rc->layout.leaving[i])
            render_villager_labels(rc, v, i);
    render_flights(rc, v);
    render_buttons(rc, v);
    render_wires(rc, v);
    render_command_box(rc, v);
    render_topbar(rc, v);
    render_feed(rc, v);
    render_lesson(rc, v);
    render_timeline(rc, v);
    render_banner(rc, v);
    render_tooltip(rc, v);
    render_help(rc, v);
    text_cache_end_frame(rc->tc);
}

void render_free(struct render_ctx *rc)
{
    if (rc->ground)
        SDL_DestroyTexture(rc->ground);
    if (rc->ground_night)
        SDL_DestroyTexture(rc->ground_night);
    rc->ground = rc->ground_night = NULL;
}
