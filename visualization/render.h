/* render.h: drawing one frame of the village from the game's view of things. The
 * render_*.c files each draw one part; none of them changes the game. */
#ifndef GAME_RENDER_H
#define GAME_RENDER_H

#include <SDL.h>
#include <stdbool.h>
#include <stdint.h>

#include "visualization/layout.h"
#include "visualization/monster.h"
#include "visualization/render_text.h"
#include "visualization/village_model.h"
#include "visualization/wires.h"

/* Everything a frame shows, gathered by the game. */
struct game_view {
    const struct village_model *model;
    const struct monster *monster;
    const float *health; /* per slot, 0..100 */
    uint64_t now_ms;
    int hover;        /* villager under the mouse, -1 */
    int hover_button; /* button under the mouse, -1 */
    int mouse_x, mouse_y;
    bool show_help;
    bool demo;
    bool submit_busy;
    const char *stream_addr;  /* "127.0.0.1:7000" */
    const char *stream_error; /* "" unless the socket could not be opened */
    const char *banner;       /* a short message across the village, or "" */
    float fps;

    /* Time: a replay's timeline, or a paused live picture. */
    bool replay;            /* playing a recording: the timeline is drawn */
    bool paused;            /* a replay paused, or the live picture frozen */
    bool at_end;            /* a replay that has played everything */
    uint64_t replay_len_ms; /* the recording's length */
    double speed;           /* of the replay */
    uint64_t bad_lines;     /* malformed lines skipped in the recording */
    uint64_t buffered;      /* live pause: datagrams arrived since, not yet shown */
    bool recording;         /* --record is saving the stream */

    int hover_road_a, hover_road_b; /* the road under the mouse (slots), -1 */
    bool typing;                    /* the command box is open */
    const char *typed;              /* what is in it */

    const struct lesson *lesson; /* the guided lesson and its menu ('l'), may be NULL */
    struct wires_view wires;     /* the slow-wires panel */
};

struct lesson;

struct render_ctx {
    SDL_Renderer *r;
    struct text_cache *tc;
    struct layout layout;
    SDL_Texture *ground;       /* the still parts of the village, redrawn only on resize */
    SDL_Texture *ground_night; /* the same at night */
    int ground_w, ground_h, ground_n;
};

/* Lays out a w x h window and draws a whole frame (without presenting it). */
void render_frame(struct render_ctx *rc, const struct game_view *v, int w, int h);
void render_free(struct render_ctx *rc);

/* render_scene.c */
void render_ground(struct render_ctx *rc, const struct game_view *v);
/* The lanterns' light on the ground, by night. */
void render_night(struct render_ctx *rc, const struct game_view *v);

/* render_roads.c: the roads between villagers, cut or open, and delays on them */
void render_roads(struct render_ctx *rc, const struct game_view *v);
/* The command box ('c'), over the buttons. */
void render_command_box(struct render_ctx *rc, const struct game_view *v);

/* render_wires.c: the slow-wires panel (delay slider, pace, fast failover) */
void render_wires(struct render_ctx *rc, const struct game_view *v);

/* render_villager.c */
void render_villager(struct render_ctx *rc, const struct game_view *v, int slot);
void render_villager_labels(struct render_ctx *rc, const struct game_view *v, int slot);
void render_ledger(struct render_ctx *rc, const struct game_view *v);

/* render_flights.c */
void render_flights(struct render_ctx *rc, const struct game_view *v);
/* One message's look, centred on x,y, at size s (1 = normal), with alpha a. */
void render_message_shape(SDL_Renderer *r, enum village_rpc rpc, bool ok, bool pre_vote,
                          uint32_t n_entries, uint64_t term, float x, float y, float s, float a);

/* render_monster.c */
void render_monster(struct render_ctx *rc, const struct game_view *v);

/* render_hud.c */
void render_topbar(struct render_ctx *rc, const struct game_view *v);
void render_feed(struct render_ctx *rc, const struct game_view *v);
void render_buttons(struct render_ctx *rc, const struct game_view *v);
void render_tooltip(struct render_ctx *rc, const struct game_view *v);
void render_help(struct render_ctx *rc, const struct game_view *v);
void render_banner(struct render_ctx *rc, const struct game_view *v);
void render_timeline(struct render_ctx *rc, const struct game_view *v);

/* render_lesson.c: the running lesson's card over the feed, and the lessons' menu */
void render_lesson(struct render_ctx *rc, const struct game_view *v);

#endif /* GAME_RENDER_H */
