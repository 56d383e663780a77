/* game.c: the main loop. Each frame: read the stream, advance time (graves, the
 * monster, health), act on the player's input, draw, and wait for the next 1/60 s. */
#include "visualization/game.h"

#include <SDL.h>
#include <SDL_ttf.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/config.h"
#include "visualization/control.h"
#include "visualization/demo.h"
#include "visualization/layout.h"
#include "visualization/monster.h"
#include "visualization/render.h"
#include "visualization/stream_socket.h"
#include "visualization/submit.h"
#include "visualization/village_model.h"

#define FRAME_MS         (1000.0 / 60.0)
#define DEFAULT_W        1280
#define DEFAULT_H        800
#define DEMO_DEFAULT_N   5
#define HEAL_DAY_PER_S   5.0f
#define HEAL_NIGHT_PER_S 1.0f
#define DUMP_EVERY_MS    1000
#define MAX_DATAGRAMS    4000 /* per frame, so a flood cannot freeze the window */

struct game {
    struct game_options opt;
    struct config *cfg; /* NULL in demo mode without a file */
    struct village_model model;
    struct monster monster;
    float health[VILLAGE_MAX_PEERS];
    enum village_life seen_life[VILLAGE_MAX_PEERS]; /* to notice rises */
    struct submitter sub;
    bool sub_ok;
    struct demo *demo;

    SDL_Window *win;
    struct render_ctx rc;
    char font[PATH_MAX];
    char bin_dir[PATH_MAX];
    int stream_fd;
    char stream_addr[300];
    char stream_error[200];
    char killed[VILLAGE_MAX_PEERS * VILLAGE_NAME_MAX + 16];

    uint64_t now;
    bool quit, show_help, kill_done;
    int hover, hover_button, mouse_x, mouse_y;
    uint64_t next_dump_ms;
    int frames_this_second;
    uint64_t fps_since_ms;
    float fps;
    double cpu_percent;
    double cpu_at_mark; /* process CPU seconds at fps_since_ms */
};

static double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void news(struct game *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void news(struct game *g, const char *fmt, ...)
{
    char text[VILLAGE_FEED_TEXT_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    village_model_feed_add(&g->model, -1, 0, g->now, text);
}

/* --- the player's hands -------------------------------------------------------------- */

static void kill_villager(struct game *g, int slot, const char *by)
{
    struct village_peer *p = &g->model.peers[slot];
    char err[256];
    size_t n;

    if (g->demo) {
        demo_crash(g->demo, slot, g->now);
    } else {
        if (g->cfg == NULL || slot >= g->cfg->n_peers) {
            news(g, "cannot reach %s: it is not in the configuration", p->name);
            return;
        }
        if (control_crash(g->cfg->peers[slot].host, g->cfg->peers[slot].port, g->cfg->token, err,
                          sizeof err) < 0) {
            news(g, "%s could not kill %s: %s", by, p->name, err);
            return;
        }
    }
    village_model_mark_killed(&g->model, slot, g->now);
    g->health[slot] = 0;
    g->seen_life[slot] = VILLAGE_GRAVE;
    news(g, "%s killed %s: its process crashed", by, p->name);
    n = strlen(g->killed);
    snprintf(g->killed + n, sizeof g->killed - n, "%s%s", n ? "," : "", p->name);
}

static void revive_villager(struct game *g, int slot)
{
    struct village_peer *p = &g->model.peers[slot];
    char err[256];

    if (p->reviving)
        return;
    if (g->demo) {
        demo_revive(g->demo, slot, g->now);
    } else {
        if (g->cfg == NULL || p->name[0] == '\0') {
            news(g, "cannot start an unnamed peer");
            return;
        }
        if (control_spawn_peer(g->bin_dir, p->name, g->model.n, g->opt.config_path, err,
                               sizeof err) < 0) {
            news(g, "could not revive %s: %s", p->name, err);
            return;
        }
    }
    village_model_mark_reviving(&g->model, slot, g->now);
    news(g, "you revive %s: raft_peer %s %d -v starts again", p->name, p->name, g->model.n);
}

/* What a left click on a villager does; the --kill test hook comes through here too. */
static void click_villager(struct game *g, int slot)
{
    if (slot < 0 || slot >= g->model.n)
        return;
    if (g->model.peers[slot].life == VILLAGE_ALIVE)
        kill_villager(g, slot, "you");
    else
        revive_villager(g, slot);
}

static void transfer_to(struct game *g, int slot)
{
    int lead = village_model_leader(&g->model);
    char err[256];

    if (slot < 0 || slot >= g->model.n || g->model.peers[slot].life != VILLAGE_ALIVE)
        return;
    if (lead < 0) {
        news(g, "no leader to hand over from");
        return;
    }
    if (lead == slot) {
        news(g, "%s already leads", g->model.peers[slot].name);
        return;
    }
    if (g->demo) {
        demo_transfer(g->demo, slot, g->now);
    } else if (g->cfg == NULL || lead >= g->cfg->n_peers ||
               control_transfer(g->cfg->peers[lead].host, g->cfg->peers[lead].port,
                                g->model.peers[slot].name, g->cfg->token, err, sizeof err) < 0) {
        news(g, "%s would not hand over: %s", g->model.peers[lead].name,
             g->cfg == NULL ? "no configuration" : err);
        return;
    }
    news(g, "you ask %s to hand leadership to %s", g->model.peers[lead].name,
         g->model.peers[slot].name);
}

static void submit_command(struct game *g)
{
    static const char *const crops[] = {"wheat", "apples", "fish", "wool"};
    char cmd[64], result[160];

    if (g->demo) {
        demo_submit(g->demo, g->now, result, sizeof result);
        news(g, "%s", result);
        return;
    }
    if (!g->sub_ok) {
        news(g, "no peers to send a command to");
        return;
    }
    snprintf(cmd, sizeof cmd, "%s add %d", crops[rand() % 4], 1 + rand() % 9);
    if (submitter_send(&g->sub, cmd, village_model_leader(&g->model)) < 0) {
        news(g, "a command is already on its way");
        return;
    }
    news(g, "you submit \"%s\"", cmd);
}

/* --- time ---------------------------------------------------------------------------- */

static void step_monster(struct game *g, float dt)
{
    struct monster_view mv = {.n = g->model.n, .leader = village_model_leader(&g->model)};
    const struct layout *l = &g->rc.layout;
    float heal = (monster_is_night(g->now) ? HEAL_NIGHT_PER_S : HEAL_DAY_PER_S) * dt;
    int bitten;

    for (int i = 0; i < g->model.n; i++) {
        layout_ring_unit(l->n > 0 ? l->n : g->model.n, i, &mv.ux[i], &mv.uy[i]);
        mv.alive[i] = g->model.peers[i].life == VILLAGE_ALIVE;
    }
    bitten = monster_step(&g->monster, &mv, g->now, dt);
    for (int i = 0; i < g->model.n; i++) {
        enum village_life life = g->model.peers[i].life;
        /* A villager that rises again rises whole. */
        if (life == VILLAGE_ALIVE && g->seen_life[i] != VILLAGE_ALIVE)
            g->health[i] = 100;
        g->seen_life[i] = life;
        if (life == VILLAGE_ALIVE && g->health[i] < 100)
            g->health[i] = fminf(100, g->health[i] + heal);
    }
    if (bitten >= 0 && g->model.peers[bitten].life == VILLAGE_ALIVE) {
        g->health[bitten] -= MONSTER_BITE_DAMAGE;
        if (g->health[bitten] <= 0) {
            g->health[bitten] = 0;
            kill_villager(g, bitten, "the monster");
        }
    }
}

static void run_kill_hook(struct game *g)
{
    int slot;

    if (g->opt.kill_peer == NULL || g->kill_done || (int64_t)g->now < g->opt.kill_at_ms)
        return;
    if (strcmp(g->opt.kill_peer, "leader") == 0)
        slot = village_model_leader(&g->model);
    else
        slot = village_model_find(&g->model, g->opt.kill_peer);
    /* Wait until the target is there to be killed (the leader may not be elected yet). */
    if (slot < 0 || slot >= g->model.n || g->model.peers[slot].life != VILLAGE_ALIVE)
        return;
    click_villager(g, slot);
    g->kill_done = true;
    fprintf(stderr, "raft_game: --kill: clicked %s at %llu ms\n", g->model.peers[slot].name,
            (unsigned long long)g->now);
}

static void dump_state(struct game *g)
{
    struct json_object *o = village_model_to_json(&g->model, g->now);
    struct json_object *mo, *h;
    static const char *const moods[] = {"asleep", "roaming", "hunting", "attacking", "going_home"};

    if (o == NULL)
        return;
    mo = json_object_new_object();
    json_object_object_add(mo, "mood", json_object_new_string(moods[g->monster.mood]));
    json_object_object_add(mo, "paused", json_object_new_boolean(g->monster.paused));
    json_object_object_add(mo, "prey",
                           g->monster.prey >= 0 && g->monster.prey < g->model.n
                               ? json_object_new_string(g->model.peers[g->monster.prey].name)
                               : NULL);
    json_object_object_add(o, "monster", mo);
    json_object_object_add(o, "night", json_object_new_boolean(monster_is_night(g->now)));
    h = json_object_new_array();
    for (int i = 0; i < g->model.n; i++)
        json_object_array_add(h, json_object_new_int((int)lroundf(g->health[i])));
    json_object_object_add(o, "health", h);
    json_object_object_add(o, "killed", json_object_new_string(g->killed));
    json_object_object_add(o, "fps", json_object_new_double(round(g->fps * 10) / 10));
    json_object_object_add(o, "cpu_percent", json_object_new_double(round(g->cpu_percent)));
    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    fflush(stdout);
    json_object_put(o);
}

/* --- input --------------------------------------------------------------------------- */

static void handle_event(struct game *g, const SDL_Event *e)
{
    const struct layout *l = &g->rc.layout;

    switch (e->type) {
    case SDL_QUIT:
        g->quit = true;
        break;
    case SDL_KEYDOWN:
        switch (e->key.keysym.sym) {
        case SDLK_q:
        case SDLK_ESCAPE:
            if (g->show_help && e->key.keysym.sym == SDLK_ESCAPE)
                g->show_help = false;
            else
                g->quit = true;
            break;
        case SDLK_h:
        case SDLK_F1:
            g->show_help = !g->show_help;
            break;
        case SDLK_s:
            monster_toggle(&g->monster, g->now);
            news(g, g->monster.paused ? "you stop the monster" : "you let the monster loose");
            break;
        case SDLK_c:
            submit_command(g);
            break;
        default:
            break;
        }
        break;
    case SDL_MOUSEMOTION:
        g->mouse_x = e->motion.x;
        g->mouse_y = e->motion.y;
        break;
    case SDL_MOUSEBUTTONDOWN: {
        int b = layout_hit_button(l, e->button.x, e->button.y);
        int v = layout_hit_villager(l, e->button.x, e->button.y);
        if (g->show_help) {
            g->show_help = false;
            break;
        }
        if (e->button.button == SDL_BUTTON_LEFT && b >= 0) {
            if (b == LAYOUT_BUTTON_SUBMIT)
                submit_command(g);
            else if (b == LAYOUT_BUTTON_MONSTER)
                monster_toggle(&g->monster, g->now);
            else
                g->show_help = true;
        } else if (e->button.button == SDL_BUTTON_LEFT && v >= 0) {
            click_villager(g, v);
        } else if (e->button.button == SDL_BUTTON_RIGHT && v >= 0) {
            transfer_to(g, v);
        }
        break;
    }
    default:
        break;
    }
}

/* --- setup --------------------------------------------------------------------------- */

static void demo_emit(void *ctx, const char *json, size_t len)
{
    struct game *g = ctx;
    char err[128];

    if (village_model_feed(&g->model, json, len, g->now, err, sizeof err) < 0)
        fprintf(stderr, "raft_game: demo datagram refused: %s\n", err);
}

static int load_config(struct game *g)
{
    char err[512];
    bool given = strcmp(g->opt.config_path, "raft_peer.ini") != 0;

    if (g->opt.demo && !given && access(g->opt.config_path, R_OK) != 0)
        return 0; /* the demo needs no file */
    g->cfg = calloc(1, sizeof *g->cfg);
    if (g->cfg == NULL) {
        fprintf(stderr, "raft_game: out of memory\n");
        return 1;
    }
    if (config_load(g->opt.config_path, g->cfg, err, sizeof err) < 0) {
        fprintf(stderr, "raft_game: %s\n", err);
        free(g->cfg);
        g->cfg = NULL;
        return 2;
    }
    return 0;
}

static int setup_cluster(struct game *g)
{
    char err[256];

    village_model_init(&g->model);
    if (g->opt.demo) {
        int n = g->opt.n ? g->opt.n : DEMO_DEFAULT_N;
        char name[16];
        for (int i = 0; i < n; i++) {
            snprintf(name, sizeof name, "peer%d", i + 1);
            village_model_add_peer(&g->model, i + 1, name);
        }
        g->demo = calloc(1, sizeof *g->demo);
        if (g->demo == NULL)
            return 1;
        demo_init(g->demo, n, 0xdecafu, 0, demo_emit, g);
        snprintf(g->stream_addr, sizeof g->stream_addr, "(demo)");
        return 0;
    }
    for (int i = 0; g->cfg && i < g->cfg->n_peers && i < VILLAGE_MAX_PEERS; i++)
        village_model_add_peer(&g->model, i + 1, g->cfg->peers[i].name);
    if (g->opt.n)
        village_model_set_n(&g->model, g->opt.n);

    if (submitter_init(&g->sub, err, sizeof err) == 0) {
        for (int i = 0; i < g->cfg->n_peers && i < VILLAGE_MAX_PEERS; i++)
            submitter_add_peer(&g->sub, g->cfg->peers[i].name, g->cfg->peers[i].host,
                               g->cfg->peers[i].port);
        g->sub_ok = true;
    }
    if (control_bin_dir(g->bin_dir, sizeof g->bin_dir, err, sizeof err) < 0)
        fprintf(stderr, "raft_game: %s (reviving will not work)\n", err);

    snprintf(g->stream_addr, sizeof g->stream_addr, "%s:%d", g->cfg->game_host, g->cfg->game_port);
    g->stream_fd = stream_socket_open(g->cfg->game_host, g->cfg->game_port, err, sizeof err);
    if (g->stream_fd < 0) {
        fprintf(stderr, "raft_game: %s\n", err);
        return 1;
    }
    return 0;
}

static bool headless(void)
{
    const char *d = SDL_GetCurrentVideoDriver();
    return d && (strcmp(d, "offscreen") == 0 || strcmp(d, "dummy") == 0);
}

static int setup_window(struct game *g)
{
    char err[256];
    SDL_Renderer *r = NULL;

    if (SDL_Init(SDL_INIT_VIDEO) < 0) {
        fprintf(stderr, "raft_game: SDL_Init: %s (try SDL_VIDEODRIVER=offscreen)\n",
                SDL_GetError());
        return 1;
    }
    if (text_find_font(g->cfg ? g->cfg->game_font : "", g->font, sizeof g->font, err, sizeof err) <
        0) {
        fprintf(stderr, "raft_game: %s\n", err);
        return 1;
    }
    /* Headless, SDL would otherwise present the software framebuffer through an
     * emulated OpenGL texture: pure cost, for a window nobody sees. */
    if (headless())
        SDL_SetHint(SDL_HINT_FRAMEBUFFER_ACCELERATION, "0");
    g->win = SDL_CreateWindow("Raft Village", SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED,
                              DEFAULT_W, DEFAULT_H, SDL_WINDOW_RESIZABLE);
    if (g->win == NULL) {
        fprintf(stderr, "raft_game: window: %s\n", SDL_GetError());
        return 1;
    }
    SDL_SetWindowMinimumSize(g->win, 640, 420);
    /* Without a display there is no GPU to gain from; the software renderer is also the
     * one whose pixels a screenshot reads back exactly. */
    if (!headless())
        r = SDL_CreateRenderer(g->win, -1, SDL_RENDERER_ACCELERATED | SDL_RENDERER_PRESENTVSYNC);
    if (r == NULL)
        r = SDL_CreateRenderer(g->win, -1, SDL_RENDERER_SOFTWARE);
    if (r == NULL) {
        fprintf(stderr, "raft_game: renderer: %s\n", SDL_GetError());
        return 1;
    }
    g->rc.r = r;
    {
        SDL_RendererInfo info;
        if (SDL_GetRendererInfo(r, &info) == 0)
            fprintf(stderr, "raft_game: video %s, renderer %s, font %s\n",
                    SDL_GetCurrentVideoDriver(), info.name, g->font);
    }
    g->rc.tc = text_cache_new(r, g->font, 1.0f, err, sizeof err);
    if (g->rc.tc == NULL) {
        fprintf(stderr, "raft_game: %s\n", err);
        return 1;
    }
    return 0;
}

static void teardown(struct game *g)
{
    render_free(&g->rc);
    text_cache_free(g->rc.tc);
    if (g->rc.r)
        SDL_DestroyRenderer(g->rc.r);
    if (g->win)
        SDL_DestroyWindow(g->win);
    if (TTF_WasInit())
        TTF_Quit();
    SDL_Quit();
    if (g->stream_fd >= 0)
        close(g->stream_fd);
    if (g->sub_ok)
        submitter_close(&g->sub);
    free(g->demo);
    free(g->cfg);
}

static int save_screenshot(struct game *g, const char *path)
{
    int w, h, rc = -1;
    SDL_Surface *surf;

    SDL_GetRendererOutputSize(g->rc.r, &w, &h);
    surf = SDL_CreateRGBSurfaceWithFormat(0, w, h, 32, SDL_PIXELFORMAT_ARGB8888);
    if (surf == NULL)
        return -1;
    if (SDL_RenderReadPixels(g->rc.r, NULL, SDL_PIXELFORMAT_ARGB8888, surf->pixels, surf->pitch) ==
            0 &&
        SDL_SaveBMP(surf, path) == 0)
        rc = 0;
    if (rc < 0)
        fprintf(stderr, "raft_game: screenshot %s: %s\n", path, SDL_GetError());
    SDL_FreeSurface(surf);
    return rc;
}

/* --- the loop ------------------------------------------------------------------------ */

static void fill_view(struct game *g, struct game_view *v)
{
    *v = (struct game_view){
        .model = &g->model,
        .monster = &g->monster,
        .health = g->health,
        .now_ms = g->now,
        .hover = g->hover,
        .hover_button = g->hover_button,
        .mouse_x = g->mouse_x,
        .mouse_y = g->mouse_y,
        .show_help = g->show_help,
        .demo = g->demo != NULL,
        .submit_busy = g->sub_ok && atomic_load(&g->sub.busy),
        .stream_addr = g->stream_addr,
        .stream_error = g->stream_error,
        .banner = "",
        .fps = g->fps,
    };
}

static void count_frame(struct game *g)
{
    g->frames_this_second++;
    if (g->now - g->fps_since_ms >= 500) {
        double cpu = cpu_seconds();
        double secs = (double)(g->now - g->fps_since_ms) / 1000.0;
        g->fps = (float)(g->frames_this_second / secs);
        g->cpu_percent = (cpu - g->cpu_at_mark) / secs * 100.0;
        g->cpu_at_mark = cpu;
        g->frames_this_second = 0;
        g->fps_since_ms = g->now;
    }
}

static int loop(struct game *g)
{
    uint64_t start = SDL_GetTicks64(), last = 0;
    Uint64 freq = SDL_GetPerformanceFrequency();
    Uint64 next_frame = SDL_GetPerformanceCounter();
    int exit_code = 0;

    g->cpu_at_mark = cpu_seconds();
    while (!g->quit) {
        struct game_view view;
        SDL_Event e;
        char line[VILLAGE_FEED_TEXT_MAX];
        int w, h;
        bool final = false;

        g->now = SDL_GetTicks64() - start;
        while (SDL_PollEvent(&e))
            handle_event(g, &e);
        if (g->demo)
            demo_step(g->demo, g->now);
        else
            stream_socket_drain(g->stream_fd, &g->model, g->now, MAX_DATAGRAMS);
        while (g->sub_ok && submitter_poll(&g->sub, line, sizeof line))
            news(g, "%s", line);
        village_model_tick(&g->model, g->now);
        step_monster(g, (float)(g->now - last) / 1000.0f);
        last = g->now;
        run_kill_hook(g);

        SDL_GetRendererOutputSize(g->rc.r, &w, &h);
        g->hover = layout_hit_villager(&g->rc.layout, g->mouse_x, g->mouse_y);
        g->hover_button = layout_hit_button(&g->rc.layout, g->mouse_x, g->mouse_y);
        fill_view(g, &view);
        render_frame(&g->rc, &view, w, h);
        count_frame(g);

        if (g->opt.after_ms >= 0 && (int64_t)g->now >= g->opt.after_ms) {
            if (g->opt.screenshot && save_screenshot(g, g->opt.screenshot) < 0)
                exit_code = 1;
            final = true;
        }
        if (g->opt.quit_after_ms >= 0 && (int64_t)g->now >= g->opt.quit_after_ms)
            final = true;
        if (g->opt.dump_state && ((final && (g->opt.after_ms >= 0 || g->opt.quit_after_ms >= 0)) ||
                                  (g->opt.after_ms < 0 && g->now >= g->next_dump_ms))) {
            dump_state(g);
            g->next_dump_ms = g->now + DUMP_EVERY_MS;
        }
        SDL_RenderPresent(g->rc.r);
        if (final)
            break;

        /* Frames are due on a fixed grid, so oversleeping one frame is made up in the
         * next; vsync, when there is one, may already have waited. */
        {
            Uint64 now_pc = SDL_GetPerformanceCounter();
            next_frame += (Uint64)((double)freq / 60.0);
            if (now_pc >= next_frame) {
                if (now_pc - next_frame > freq / 10)
                    next_frame = now_pc; /* far behind (a stall): do not race to catch up */
            } else {
                SDL_Delay((Uint32)((next_frame - now_pc) * 1000 / freq));
            }
        }
    }
    return exit_code;
}

int game_run(const struct game_options *o)
{
    struct game *g = calloc(1, sizeof *g);
    int rc;

    if (g == NULL) {
        fprintf(stderr, "raft_game: out of memory\n");
        return 1;
    }
    g->opt = *o;
    g->stream_fd = -1;
    g->hover = g->hover_button = -1;
    g->mouse_x = g->mouse_y = -1000;
    for (int i = 0; i < VILLAGE_MAX_PEERS; i++)
        g->health[i] = 100;
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    /* A peer that vanishes mid-write must not take the game with it. */
    signal(SIGPIPE, SIG_IGN);

    rc = load_config(g);
    if (rc == 0)
        rc = setup_cluster(g);
    if (rc == 0)
        rc = setup_window(g);
    if (rc == 0) {
        monster_init(&g->monster, (uint32_t)rand() | 1u, 0);
        if (g->opt.no_monster)
            monster_toggle(&g->monster, 0);
        news(g, "Welcome to Raft Village. Press h for help.");
        rc = loop(g);
    }
    teardown(g);
    free(g);
    return rc;
}
