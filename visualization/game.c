/* game.c: the main loop. Each frame: read the stream, advance time (graves, the
 * monster, health), act on the player's input, draw, and wait for the next 1/60 s. */
#include "visualization/game.h"

#include <SDL.h>
#include <SDL_ttf.h>
#include <inttypes.h>
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
#include "visualization/lesson.h"
#include "visualization/member_request.h"
#include "visualization/monster.h"
#include "visualization/recording.h"
#include "visualization/render.h"
#include "visualization/stream_socket.h"
#include "visualization/submit.h"
#include "visualization/textbox.h"
#include "visualization/village_model.h"
#include "visualization/wires.h"

#define FRAME_MS         (1000.0 / 60.0)
#define DEFAULT_W        1280
#define DEFAULT_H        800
#define DEMO_DEFAULT_N   5
#define HEAL_DAY_PER_S   5.0f
#define HEAL_NIGHT_PER_S 1.0f
#define DUMP_EVERY_MS    1000
#define MAX_DATAGRAMS    4000 /* per frame, so a flood cannot freeze the window */
#define SEEK_BACK_MS     5000 /* the left arrow, in a replay */
#define BANNER_MS        2500
#define MAX_KEYS         32 /* --keys */

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
    int hover_road_a, hover_road_b; /* the road under the mouse, -1 */
    uint64_t next_dump_ms;
    int frames_this_second;
    uint64_t fps_since_ms;
    float fps;
    double cpu_percent;
    double cpu_at_mark; /* process CPU seconds at fps_since_ms */

    /* Time (recording.h). --record saves the stream as it arrives. --replay plays a
     * file into model instead of the socket. A live pause freezes a copy of the model
     * (frozen) and keeps what arrives on a tape, to step through. */
    struct recorder rec;
    bool recording;
    struct recording *tape;       /* --replay: the file; live pause: what arrived since */
    struct replay *player;        /* NULL unless replaying or paused live */
    struct village_model *frozen; /* live pause: the picture shown */
    bool replay, paused, at_end;
    double speed;
    double replay_t; /* the replay clock, ms into the recording */
    uint64_t pause_dropped;
    char banner[160];
    uint64_t banner_until;

    struct {
        SDL_Keycode key;
        int64_t at_ms;
        int at_step; /* "@step:N+MS": MS after the lesson's step N waits for the learner */
        bool done;
    } keys[MAX_KEYS]; /* --keys, the test hook */
    int n_keys;

    struct textbox box;      /* 'c': the command being typed */
    struct wires_view wires; /* the slow-wires panel: the knob while it is dragged */
    /* A peer the game starts (revived, or added) begins at the ini's own timing, with no
     * delay: once it is heard, it is given what the village had when it was started. */
    struct {
        bool pending;
        uint64_t since; /* when it was started: a state heard after this is its own */
        struct wires_report want;
    } wires_sync[VILLAGE_MAX_PEERS];

    /* --click and --type, the test hooks */
    struct {
        int64_t at_ms;
        int at_step;
        bool done, road, villager, right;
        int wire_part; /* -1, or the wires panel's part to click (delay:MS, pace:+, ...) */
        uint32_t wire_ms;
        int x, y;
        char a[VILLAGE_NAME_MAX], b[VILLAGE_NAME_MAX];
    } clicks[GAME_MAX_CLICKS];
    int n_clicks;
    struct {
        int64_t at_ms;
        int at_step;
        bool done;
        char text[TEXTBOX_MAX + 1];
    } types[GAME_MAX_CLICKS];
    int n_types;

    /* Membership: 'a' adds the next peer of the ini, 'x' then a click removes one. */
    struct requester members;
    bool members_ok, remove_armed;

    struct lesson lesson; /* 'l' or --lesson: lesson.h */
    struct lesson_hands hands;
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
    village_model_feed_add(&g->model, -1, 0, g->replay ? g->player->t : g->now, text);
}

static void banner(struct game *g, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A word across the village for a moment: for what the player cannot do now. */
static void banner(struct game *g, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(g->banner, sizeof g->banner, fmt, ap);
    va_end(ap);
    g->banner_until = g->now + BANNER_MS;
}

/* What the window shows: the live model, or its frozen copy while paused live. */
static const struct village_model *shown(const struct game *g)
{
    return g->frozen ? g->frozen : &g->model;
}

static uint64_t shown_now(const struct game *g)
{
    return g->player ? g->player->t : g->now;
}

/* --- time: pause, step, seek ----------------------------------------------------------- */

static void live_resume(struct game *g)
{
    if (g->tape)
        recording_free(g->tape);
    free(g->tape);
    free(g->player);
    free(g->frozen);
    g->tape = NULL;
    g->player = NULL;
    g->frozen = NULL;
    g->paused = false;
}

static void live_pause(struct game *g)
{
    g->frozen = malloc(sizeof *g->frozen);
    g->tape = calloc(1, sizeof *g->tape);
    g->player = malloc(sizeof *g->player);
    if (g->frozen == NULL || g->tape == NULL || g->player == NULL) {
        live_resume(g);
        banner(g, "cannot pause: out of memory");
        return;
    }
    *g->frozen = g->model;
    replay_start(g->player, g->tape, g->frozen, g->now);
    g->pause_dropped = 0;
    g->paused = true;
}

static void seek_to(struct game *g, uint64_t ms)
{
    uint64_t len = recording_length_ms(g->tape);

    if (!g->replay)
        return;
    if (ms > len)
        ms = len;
    replay_seek(g->player, &g->model, ms);
    g->replay_t = (double)ms;
    g->at_end = replay_at_end(g->player) && ms >= len;
}

static void toggle_pause(struct game *g)
{
    if (!g->replay) {
        if (g->paused)
            live_resume(g);
        else
            live_pause(g);
    } else if (g->at_end) {
        seek_to(g, 0);
        g->paused = false;
    } else {
        g->paused = !g->paused;
    }
}

static void step_event(struct game *g)
{
    if (g->replay) {
        g->paused = true;
        if (!replay_step(g->player, &g->model))
            g->at_end = true;
        g->replay_t = (double)g->player->t;
        return;
    }
    if (!g->paused)
        live_pause(g);
    if (g->paused && !replay_step(g->player, g->frozen))
        banner(g, "no event since the pause (all that arrived is shown): space goes back to live");
}

static void change_speed(struct game *g, int dir)
{
    if (!g->replay) {
        banner(g, "the speed is for replays (--record FILE, then --replay FILE)");
        return;
    }
    g->speed = game_speed_next(g->speed, dir);
}

/* Every datagram from the socket: saved, kept for a paused picture, and shown. */
static void on_datagram(void *ctx, const char *data, size_t len)
{
    struct game *g = ctx;
    char err[128];

    if (g->recording)
        recorder_write(&g->rec, g->now, data, len);
    if (g->paused && g->tape && recording_append(g->tape, g->now, data, len) < 0)
        g->pause_dropped++;
    village_model_feed(&g->model, data, len, g->now, err, sizeof err);
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
    if (g->recording)
        recorder_action(&g->rec, g->now, "kill", p->name);
    g->health[slot] = 0;
    g->seen_life[slot] = VILLAGE_GRAVE;
    news(g, "%s killed %s: its process crashed", by, p->name);
    n = strlen(g->killed);
    snprintf(g->killed + n, sizeof g->killed - n, "%s%s", n ? "," : "", p->name);
}

/* Remembers the delay and pace of the living villagers, for slot about to be started. */
static void wires_sync_later(struct game *g, int slot)
{
    struct wires_report rep;
    wires_report(&g->model, &rep);
    g->wires_sync[slot].pending =
        rep.reporting > 0 && (rep.delay_ms > 0 || rep.pace > 1 || !rep.fast_failover);
    g->wires_sync[slot].since = g->now;
    g->wires_sync[slot].want = rep;
}

/* Gives each peer started by wires_sync_later, once it is heard, the delay and pace the
 * village had: a newcomer at full speed in a slowed village would win every election. */
static void wires_sync_started(struct game *g)
{
    for (int i = 0; i < g->model.n && i < g->cfg->n_peers; i++) {
        struct village_peer *p = &g->model.peers[i];
        const struct wires_report *want = &g->wires_sync[i].want;
        char err[256];
        int rc = 0;
        if (!g->wires_sync[i].pending || p->life != VILLAGE_ALIVE ||
            p->last_heard_ms <= g->wires_sync[i].since)
            continue;
        g->wires_sync[i].pending = false;
        if (p->delay_ms != want->delay_ms)
            rc = control_delay(g->cfg->peers[i].host, g->cfg->peers[i].port, want->delay_ms,
                               g->cfg->token, err, sizeof err);
        if (rc == 0 &&
            ((p->pace ? p->pace : 1) != want->pace || p->fast_failover != want->fast_failover))
            rc = control_pace(g->cfg->peers[i].host, g->cfg->peers[i].port, want->pace,
                              want->fast_failover, g->cfg->token, err, sizeof err);
        if (rc == 0)
            news(g, "%s joins the village's slow wires: delay %u ms, pace %ux", p->name,
                 (unsigned)want->delay_ms, want->pace);
        else
            news(g, "could not slow %s's wires like the others': %s", p->name, err);
    }
}

/* The N a peer is started with: the villagers shown, or 0 (--join) for a peer that is no
 * voter of the village's configuration, so that a fresh data directory cannot make it
 * bootstrap a cluster of its own (a stored configuration wins anyway). */
static int spawn_n(const struct game *g, int slot)
{
    if (g->model.membership_seen && g->model.peers[slot].member != VILLAGE_MEMBER_VOTER)
        return 0;
    return g->model.n;
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
        wires_sync_later(g, slot);
        if (control_spawn_peer(g->bin_dir, p->name, spawn_n(g, slot), g->opt.config_path, err,
                               sizeof err) < 0) {
            news(g, "could not revive %s: %s", p->name, err);
            return;
        }
    }
    village_model_mark_reviving(&g->model, slot, g->now);
    if (g->recording)
        recorder_action(&g->rec, g->now, "revive", p->name);
    if (spawn_n(g, slot) == 0)
        news(g, "you revive %s: raft_peer %s --join -v starts again", p->name, p->name);
    else
        news(g, "you revive %s: raft_peer %s %d -v starts again", p->name, p->name, g->model.n);
}

/* --- membership: a newcomer, a departure (docs/MEMBERSHIP.md) ------------------------ */

/* Why membership cannot be changed now, or NULL. */
static const char *no_membership(const struct game *g)
{
    if (g->replay)
        return "a replay: who joined or left is already decided";
    if (g->demo)
        return "the demo cluster has no membership to change: start real peers with -v";
    if (g->cfg == NULL || !g->members_ok)
        return "no configuration: no peer to ask";
    if (g->paused)
        return "the picture is paused: space goes back to live first";
    if (!g->model.membership_seen)
        return "the peers have not named their configuration yet";
    return NULL;
}

/* 'a': starts the next peer of the ini that is no member with --join, and asks the
 * leader to add it (as a learner, promoted once it has caught up). */
static void add_next_villager(struct game *g)
{
    const char *no = no_membership(g);
    int slot, lead = village_model_leader(&g->model);
    char err[256];

    if (no != NULL) {
        banner(g, "%s", no);
        return;
    }
    slot = village_model_next_to_add(&g->model);
    if (slot < 0) {
        news(g, "every peer of %s is in the village already: no one left to add",
             g->opt.config_path);
        return;
    }
    if (atomic_load(&g->members.busy)) {
        news(g, "a membership change is already on its way: one at a time");
        return;
    }
    wires_sync_later(g, slot);
    if (control_spawn_peer(g->bin_dir, g->model.peers[slot].name, 0, g->opt.config_path, err,
                           sizeof err) < 0) {
        news(g, "could not start %s: %s", g->model.peers[slot].name, err);
        return;
    }
    village_model_mark_reviving(&g->model, slot, g->now);
    if (member_request_send(&g->members, "add", g->model.peers[slot].name, lead) < 0) {
        news(g, "could not ask the leader to add %s", g->model.peers[slot].name);
        return;
    }
    news(g, "you call %s: raft_peer %s --join -v starts, and the leader is asked to add it",
         g->model.peers[slot].name, g->model.peers[slot].name);
}

/* 'x' then a click on a villager: asks the leader to remove it from the configuration. */
static void remove_villager(struct game *g, int slot)
{
    const char *no = no_membership(g);
    int lead = village_model_leader(&g->model);

    g->remove_armed = false;
    if (no != NULL) {
        banner(g, "%s", no);
        return;
    }
    if (slot < 0 || slot >= g->model.n)
        return;
    if (member_request_send(&g->members, "remove", g->model.peers[slot].name, lead) < 0) {
        news(g, "a membership change is already on its way: one at a time");
        return;
    }
    news(g, "you ask the leader to remove %s from the village", g->model.peers[slot].name);
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

/* Submits typed (a command typed in the box), or a random add when typed is NULL, to
 * first_slot first (-1: the leader). */
static void submit_to(struct game *g, const char *typed, int first_slot)
{
    static const char *const crops[] = {"wheat", "apples", "fish", "wool"};
    char cmd[TEXTBOX_MAX + 1], result[160];

    if (g->demo) {
        if (typed != NULL)
            news(g, "the demo cluster only takes random commands (r); start real peers for \"%s\"",
                 typed);
        demo_submit(g->demo, g->now, result, sizeof result);
        news(g, "%s", result);
        return;
    }
    if (!g->sub_ok) {
        news(g, "no peers to send a command to");
        return;
    }
    if (typed != NULL)
        snprintf(cmd, sizeof cmd, "%s", typed);
    else
        snprintf(cmd, sizeof cmd, "%s add %d", crops[rand() % 4], 1 + rand() % 9);
    if (submitter_send(&g->sub, cmd,
                       first_slot >= 0 ? first_slot : village_model_leader(&g->model)) < 0) {
        news(g, "a command is already on its way");
        return;
    }
    news(g, "you submit \"%s\"", cmd);
}

static void submit_text(struct game *g, const char *typed)
{
    submit_to(g, typed, -1);
}

static void submit_command(struct game *g)
{
    submit_text(g, NULL);
}

/* --- the network: cutting roads and healing them --------------------------------------- */

/* Sends one fault request to every peer of the ini: each enforces its own side. Returns
 * how many agreed; the first refusal or unreachable peer goes to why. */
static int fault_all(struct game *g, const char *action, const char *from, const char *to,
                     char *why, size_t whylen)
{
    int ok = 0;

    why[0] = '\0';
    for (int i = 0; i < g->cfg->n_peers; i++) {
        char err[256];
        if (control_fault(g->cfg->peers[i].host, g->cfg->peers[i].port, action, from, to,
                          g->cfg->token, err, sizeof err) == 0)
            ok++;
        else if (why[0] == '\0')
            snprintf(why, whylen, "%s: %s", g->cfg->peers[i].name, err);
    }
    return ok;
}

/* Why the player's hands cannot reach the network now, or NULL. */
static const char *no_network(const struct game *g)
{
    if (g->replay)
        return "a replay: the roads were cut (or not) back then";
    if (g->demo)
        return "the demo cluster has no network to cut: start real peers with -v";
    if (g->cfg == NULL)
        return "no configuration: no peer to tell";
    if (g->paused)
        return "the picture is paused: space goes back to live first";
    return NULL;
}

static void heal_all(struct game *g)
{
    const char *no = no_network(g);
    char why[320];
    int ok;

    if (no != NULL) {
        banner(g, "%s", no);
        return;
    }
    ok = fault_all(g, "heal", NULL, NULL, why, sizeof why);
    news(g, "you heal every road (%d of %d peers heard it%s%s)", ok, g->cfg->n_peers,
         why[0] ? "; " : "", why);
}

/* A click on the road between slots a and b: cut both ways when it is open; when any
 * direction of it is cut, open it again. There is no request to open one link, so that
 * is a heal followed by every other cut the peers report, sent again. */
static void toggle_road(struct game *g, int a, int b)
{
    const char *no = no_network(g);
    const char *na = g->model.peers[a].name, *nb = g->model.peers[b].name;
    char why[320];
    int ok, again = 0;

    if (no != NULL) {
        banner(g, "%s", no);
        return;
    }
    if (village_model_road(&g->model, a, b) == 0) {
        ok = fault_all(g, "cut", na, nb, why, sizeof why);
        if (ok > 0)
            ok = fault_all(g, "cut", nb, na, why, sizeof why);
        news(g, "you cut the road %s-%s (%d of %d peers heard it%s%s)", na, nb, ok, g->cfg->n_peers,
             why[0] ? "; " : "", why);
        return;
    }
    {
        /* The cuts to keep, as the peers report them, before the heal clears them. */
        bool keep[VILLAGE_MAX_PEERS][VILLAGE_MAX_PEERS] = {{false}};
        for (int i = 0; i < g->model.n; i++)
            for (int j = 0; j < g->model.n; j++)
                keep[i][j] = village_model_cut(&g->model, i, j) && !(i == a && j == b) &&
                             !(i == b && j == a);
        ok = fault_all(g, "heal", NULL, NULL, why, sizeof why);
        for (int i = 0; i < g->model.n; i++)
            for (int j = 0; j < g->model.n; j++)
                if (keep[i][j]) {
                    char why2[320];
                    fault_all(g, "cut", g->model.peers[i].name, g->model.peers[j].name, why2,
                              sizeof why2);
                    again++;
                }
    }
    news(g, "you open the road %s-%s again (%d of %d peers heard it%s%s%s)", na, nb, ok,
         g->cfg->n_peers, again ? "; the other cuts are sent again" : "", why[0] ? "; " : "", why);
}

/* --- lessons: the game's hands lent to lesson.c ---------------------------------------- */

static void lesson_say(void *ctx, const char *text)
{
    news(ctx, "%s", text);
}

static void lesson_submit(void *ctx, const char *command, int first_slot)
{
    submit_to(ctx, command, first_slot);
}

/* Every road of slot cut both ways, as that many road clicks would. */
static void lesson_cut_off(void *ctx, int slot)
{
    struct game *g = ctx;
    const char *no = no_network(g);
    char why[320] = "", why2[320];
    int ok = INT_MAX; /* the fewest peers that heard one of the requests */

    if (no != NULL || slot < 0 || slot >= g->model.n) {
        news(g, "the lesson cannot cut: %s", no ? no : "nobody to cut off");
        return;
    }
    for (int j = 0; j < g->model.n; j++) {
        const char *a = g->model.peers[slot].name, *b = g->model.peers[j].name;
        int heard;
        if (j == slot)
            continue;
        heard = fault_all(g, "cut", a, b, why2, sizeof why2);
        if (heard < ok)
            ok = heard;
        if (why[0] == '\0')
            snprintf(why, sizeof why, "%s", why2);
        heard = fault_all(g, "cut", b, a, why2, sizeof why2);
        if (heard < ok)
            ok = heard;
        if (why[0] == '\0')
            snprintf(why, sizeof why, "%s", why2);
    }
    if (ok == INT_MAX)
        ok = 0;
    news(g, "the lesson cuts every road of %s (%d of %d peers heard it%s%s)",
         g->model.peers[slot].name, ok, g->cfg->n_peers, why[0] ? "; " : "", why);
}

static void lesson_heal(void *ctx)
{
    heal_all(ctx);
}

static void lesson_revive(void *ctx, int slot)
{
    revive_villager(ctx, slot);
}

static void start_lesson(struct game *g, int def)
{
    g->lesson.menu_open = false;
    if (g->replay || g->demo || g->cfg == NULL) {
        banner(g, "lessons need a live cluster: start real peers with -v, then raft_game");
        return;
    }
    if (g->paused)
        live_resume(g);
    /* A lesson kills only what the learner is asked to kill. */
    if (!g->monster.paused) {
        monster_toggle(&g->monster, g->now);
        news(g, "the monster goes home for the lesson (s lets it loose again)");
    }
    lesson_start(&g->lesson, def, &g->model, g->now, &g->hands);
}

/* Keys while the lessons' menu is open: a digit starts that lesson, 0 stops the one
 * running, Escape or l closes the menu. True when the key was the menu's. */
static bool lesson_menu_key(struct game *g, SDL_Keycode key)
{
    if (key >= SDLK_1 && key < SDLK_1 + lesson_count && key <= SDLK_9) {
        start_lesson(g, (int)(key - SDLK_1));
        return true;
    }
    if (key == SDLK_0) {
        lesson_stop(&g->lesson, &g->hands);
        return true;
    }
    if (key == SDLK_ESCAPE || key == SDLK_l) {
        g->lesson.menu_open = false;
        return true;
    }
    return false;
}

/* --- slow wires: the delay and the lesson pace ------------------------------------------ */

/* Sends the delay (pace == 0) or the pace to every peer of the cluster shown; says so in
 * the feed with how many heard it. The peers' own reports then move the panel. */
static void wires_send(struct game *g, uint32_t delay_ms, unsigned pace, bool fast_failover)
{
    const char *no = no_network(g);
    char why[320] = "", words[160];
    int ok = 0, n;

    if (no != NULL) {
        banner(g, "%s", no);
        return;
    }
    n = g->model.n < g->cfg->n_peers ? g->model.n : g->cfg->n_peers;
    for (int i = 0; i < n; i++) {
        char err[256];
        int rc = pace == 0 ? control_delay(g->cfg->peers[i].host, g->cfg->peers[i].port, delay_ms,
                                           g->cfg->token, err, sizeof err)
                           : control_pace(g->cfg->peers[i].host, g->cfg->peers[i].port, pace,
                                          fast_failover, g->cfg->token, err, sizeof err);
        if (rc == 0)
            ok++;
        else if (why[0] == '\0')
            snprintf(why, sizeof why, "; %s: %s", g->cfg->peers[i].name, err);
    }
    if (pace == 0) {
        struct wires_report rep;
        wires_report(&g->model, &rep);
        wires_delay_words(delay_ms, g->cfg->election_timeout_min, rep.pace, words, sizeof words);
    } else {
        wires_pace_words(pace, fast_failover, g->cfg->election_timeout_min,
                         g->cfg->election_timeout_max, g->cfg->heartbeat_interval, words,
                         sizeof words);
    }
    news(g, "you %s (%d of %d peers heard it%s)", words, ok, n, why);
}

/* "-" and "+" on the panel or the keyboard (dir -1, +1), and the fast failover switch
 * (dir 0), from what the living villagers report now. */
static void wires_pace(struct game *g, int dir)
{
    const char *no = no_network(g);
    struct wires_report rep;
    unsigned pace;

    if (no != NULL) {
        banner(g, "%s", no);
        return;
    }
    wires_report(&g->model, &rep);
    pace = dir == 0 ? rep.pace : wires_pace_step(rep.pace, dir);
    if (dir != 0 && pace == rep.pace && !rep.mixed) {
        banner(g, dir < 0 ? "already the ini's own pace" : "the slowest pace already (50x)");
        return;
    }
    wires_send(g, 0, pace, dir == 0 ? !rep.fast_failover : rep.fast_failover);
}

/* A press on the panel: the knob is taken (sent on release), or a button acts. */
static void wires_press(struct game *g, int part, int x)
{
    const char *no = no_network(g);
    struct wires_geom geom;

    if (part < 0)
        return;
    if (no != NULL) {
        banner(g, "%s", no);
        return;
    }
    wires_geom(&g->rc.layout, &geom);
    if (part == WIRES_TRACK) {
        g->wires.dragging = true;
        g->wires.drag_ms = wires_delay_at(&geom, x);
    } else {
        wires_pace(g, part == WIRES_PACE_UP ? 1 : part == WIRES_PACE_DOWN ? -1 : 0);
    }
}

static void wires_release(struct game *g)
{
    if (!g->wires.dragging)
        return;
    g->wires.dragging = false;
    wires_send(g, g->wires.drag_ms, 0, false);
}

/* --- time ---------------------------------------------------------------------------- */

static void step_monster(struct game *g, float dt)
{
    struct monster_view mv = {.n = g->model.n, .leader = village_model_leader(&g->model)};
    const struct layout *l = &g->rc.layout;
    float heal = (monster_is_night(g->now) ? HEAL_NIGHT_PER_S : HEAL_DAY_PER_S) * dt;
    int bitten;

    for (int i = 0; i < g->model.n; i++) {
        /* Where the villager stands on screen (an apprentice at the edge, a departing
         * one walking away), in village units; the ring before the first frame. */
        float r = l->radius > 0 ? l->radius : fminf(l->village.w * 0.36f, l->village.h * 0.33f);
        bool placed = g->model.membership_seen && i < l->n && r > 0;
        if (placed) {
            mv.ux[i] = (l->vx[i] - l->cx) / r;
            mv.uy[i] = (l->vy[i] - l->cy) / r;
        } else {
            layout_ring_unit(l->n > 0 ? l->n : g->model.n, i, &mv.ux[i], &mv.uy[i]);
        }
        /* Nobody hunts a villager that is not drawn, or that is leaving. */
        mv.alive[i] =
            g->model.peers[i].life == VILLAGE_ALIVE && (!placed || (l->shown[i] && !l->leaving[i]));
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

/* When a test hook fires: "MS" (the game's running time), or "step:N" / "step:N+MS"
 * (MS after the lesson's step N began to wait for the learner). 0, or -1. */
static int parse_when(const char *s, int64_t *at_ms, int *at_step)
{
    char *end;
    long long v;

    *at_step = 0;
    *at_ms = 0;
    if (strncmp(s, "step:", 5) == 0) {
        v = strtoll(s + 5, &end, 10);
        if (s[5] < '1' || s[5] > '9' || v < 1 || v > 32)
            return -1;
        *at_step = (int)v;
        if (*end == '\0')
            return 0;
        if (*end != '+')
            return -1;
        s = end + 1;
    }
    v = strtoll(s, &end, 10);
    if (*s < '0' || *s > '9' || *end != '\0' || v < 0)
        return -1;
    *at_ms = v;
    return 0;
}

static bool hook_due(const struct game *g, int64_t at_ms, int at_step)
{
    if (at_step > 0)
        return lesson_waits_at(&g->lesson, at_step, (uint64_t)at_ms, g->now);
    return (int64_t)g->now >= at_ms;
}

/* --keys "Space@2000,Right@2500": parsed once SDL knows its key names. 0, or 2 on a
 * bad list. */
static int parse_keys(struct game *g)
{
    char buf[1024], *item, *save = NULL;

    if (g->opt.keys == NULL)
        return 0;
    if (strlen(g->opt.keys) >= sizeof buf) {
        fprintf(stderr, "raft_game: --keys: too long\n%s", GAME_USAGE);
        return 2;
    }
    snprintf(buf, sizeof buf, "%s", g->opt.keys);
    for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *at = strrchr(item, '@');
        int64_t ms;
        int step;
        SDL_Keycode key;

        if (at == NULL || at == item || g->n_keys == MAX_KEYS) {
            fprintf(stderr, "raft_game: --keys: \"%s\" is not KEY@MS (at most %d)\n%s", item,
                    MAX_KEYS, GAME_USAGE);
            return 2;
        }
        *at = '\0';
        key = SDL_GetKeyFromName(item);
        if (key == SDLK_UNKNOWN || parse_when(at + 1, &ms, &step) < 0) {
            fprintf(stderr, "raft_game: --keys: bad key or time in \"%s@%s\"\n%s", item, at + 1,
                    GAME_USAGE);
            return 2;
        }
        g->keys[g->n_keys].key = key;
        g->keys[g->n_keys].at_ms = ms;
        g->keys[g->n_keys].at_step = step;
        g->keys[g->n_keys].done = false;
        g->n_keys++;
    }
    return 0;
}

/* The wires panel's targets for --click: "delay:MS" (the slider where it means MS),
 * "pace:+", "pace:-", "failover". 1 when spec is one of them. */
static bool parse_wire_click(const char *spec, int *part, uint32_t *ms)
{
    char *end;
    long v;

    *ms = 0;
    if (strcmp(spec, "pace:+") == 0)
        *part = WIRES_PACE_UP;
    else if (strcmp(spec, "pace:-") == 0)
        *part = WIRES_PACE_DOWN;
    else if (strcmp(spec, "failover") == 0)
        *part = WIRES_FAILOVER;
    else if (strncmp(spec, "delay:", 6) == 0 && spec[6] >= '0' && spec[6] <= '9' &&
             (v = strtol(spec + 6, &end, 10)) >= 0 && *end == '\0' && v <= WIRES_DELAY_MAX_MS) {
        *part = WIRES_TRACK;
        *ms = (uint32_t)v;
    } else
        return false;
    return true;
}

/* --click "X,Y@MS" / "road:A-B@MS" / a wires target, and --type "TEXT@MS": parsed once.
 * 0, or 2. */
static int parse_clicks(struct game *g)
{
    for (int i = 0; i < g->opt.n_clicks; i++) {
        const char *spec = g->opt.clicks[i], *at = strrchr(spec, '@');
        char what[80];
        bool ok = parse_when(at + 1, &g->clicks[i].at_ms, &g->clicks[i].at_step) == 0 &&
                  (size_t)(at - spec) < sizeof what;

        g->clicks[i].wire_part = -1;
        if (ok) {
            snprintf(what, sizeof what, "%.*s", (int)(at - spec), spec);
            if (strncmp(what, "right:", 6) == 0) {
                g->clicks[i].right = true;
                memmove(what, what + 6, strlen(what + 6) + 1);
            }
            if (parse_wire_click(what, &g->clicks[i].wire_part, &g->clicks[i].wire_ms)) {
                /* the point comes from the layout when the click is due */
            } else if (strncmp(what, "villager:", 9) == 0) {
                /* a name, or whoever is "leader", a "follower" or a "grave" then */
                g->clicks[i].villager = true;
                ok = what[9] != '\0' && strlen(what + 9) < VILLAGE_NAME_MAX;
                if (ok) /* the length was checked: a precision says so to the compiler */
                    snprintf(g->clicks[i].a, sizeof g->clicks[i].a, "%.*s",
                             (int)(sizeof g->clicks[i].a - 1), what + 9);
            } else if (strncmp(what, "road:", 5) == 0) {
                char *dash = strchr(what + 5, '-');
                g->clicks[i].road = true;
                ok = dash != NULL && dash > what + 5 && strchr(dash + 1, '-') == NULL &&
                     strlen(dash + 1) < VILLAGE_NAME_MAX &&
                     (size_t)(dash - (what + 5)) < VILLAGE_NAME_MAX;
                if (ok) {
                    snprintf(g->clicks[i].a, sizeof g->clicks[i].a, "%.*s",
                             (int)(dash - (what + 5)), what + 5);
                    snprintf(g->clicks[i].b, sizeof g->clicks[i].b, "%s", dash + 1);
                }
            } else {
                char extra;
                ok = sscanf(what, "%d,%d%c", &g->clicks[i].x, &g->clicks[i].y, &extra) == 2;
            }
        }
        if (!ok) {
            fprintf(stderr,
                    "raft_game: --click: \"%s\" is not [right:]X,Y, road:A-B, "
                    "[right:]villager:NAME, delay:MS, pace:+, pace:- or failover, then @MS or "
                    "@step:N[+MS]\n%s",
                    spec, GAME_USAGE);
            return 2;
        }
    }
    g->n_clicks = g->opt.n_clicks;
    for (int i = 0; i < g->opt.n_types; i++) {
        const char *spec = g->opt.types[i], *at = strrchr(spec, '@');
        if (parse_when(at + 1, &g->types[i].at_ms, &g->types[i].at_step) < 0 ||
            (size_t)(at - spec) > TEXTBOX_MAX) {
            fprintf(stderr, "raft_game: --type: \"%s\" is not TEXT@MS (TEXT at most %d bytes)\n%s",
                    spec, TEXTBOX_MAX, GAME_USAGE);
            return 2;
        }
        snprintf(g->types[i].text, sizeof g->types[i].text, "%.*s", (int)(at - spec), spec);
    }
    g->n_types = g->opt.n_types;
    return 0;
}

static void handle_event(struct game *g, const SDL_Event *e);

/* The villager a --click villager:NAME means now: NAME, or the "leader", a "follower"
 * (alive, not leading) or a "grave"; -1 while there is none. */
static int hook_villager(const struct game *g, const char *name)
{
    int lead = village_model_leader(&g->model);

    if (strcmp(name, "leader") == 0)
        return lead;
    for (int i = 0; i < g->model.n; i++) {
        enum village_life life = g->model.peers[i].life;
        if ((strcmp(name, "follower") == 0 && life == VILLAGE_ALIVE && i != lead) ||
            (strcmp(name, "grave") == 0 && life == VILLAGE_GRAVE && !g->model.peers[i].reviving))
            return i;
    }
    return village_model_find(&g->model, name);
}

/* Due --click and --type hooks, through the mouse's and the keyboard's code paths. A
 * road click waits until both villagers are on the window. */
static void run_clicks(struct game *g)
{
    for (int i = 0; i < g->n_clicks; i++) {
        SDL_Event e;
        int x = g->clicks[i].x, y = g->clicks[i].y;
        if (g->clicks[i].done || !hook_due(g, g->clicks[i].at_ms, g->clicks[i].at_step))
            continue;
        if (g->clicks[i].villager) {
            int v = hook_villager(g, g->clicks[i].a);
            if (v < 0 || v >= g->rc.layout.n)
                continue;
            x = (int)lroundf(g->rc.layout.vx[v]);
            y = (int)lroundf(g->rc.layout.vy[v]);
        }
        if (g->clicks[i].road &&
            !layout_road_point(&g->rc.layout, village_model_find(&g->model, g->clicks[i].a),
                               village_model_find(&g->model, g->clicks[i].b), &x, &y))
            continue;
        if (g->clicks[i].wire_part >= 0) {
            struct wires_geom geom;
            wires_geom(&g->rc.layout, &geom);
            wires_point(&geom, g->clicks[i].wire_part, g->clicks[i].wire_ms, &x, &y);
        }
        memset(&e, 0, sizeof e);
        e.type = SDL_MOUSEBUTTONDOWN;
        e.button.button = g->clicks[i].right ? SDL_BUTTON_RIGHT : SDL_BUTTON_LEFT;
        e.button.x = x;
        e.button.y = y;
        g->mouse_x = x;
        g->mouse_y = y;
        handle_event(g, &e);
        /* A click is a press and a release (the slider sends on release). */
        e.type = SDL_MOUSEBUTTONUP;
        handle_event(g, &e);
        g->clicks[i].done = true;
        fprintf(stderr, "raft_game: --click: clicked %d,%d at %llu ms\n", x, y,
                (unsigned long long)g->now);
    }
    for (int i = 0; i < g->n_types; i++) {
        const char *t = g->types[i].text;
        if (g->types[i].done || !hook_due(g, g->types[i].at_ms, g->types[i].at_step))
            continue;
        /* SDL hands typed text over in pieces of at most 31 bytes. */
        for (size_t off = 0, len = strlen(t); off < len; off += 31) {
            SDL_Event e;
            memset(&e, 0, sizeof e);
            e.type = SDL_TEXTINPUT;
            snprintf(e.text.text, sizeof e.text.text, "%.31s", t + off);
            handle_event(g, &e);
        }
        g->types[i].done = true;
        fprintf(stderr, "raft_game: --type: typed \"%s\" at %llu ms\n", t,
                (unsigned long long)g->now);
    }
}

static void run_keys(struct game *g)
{
    for (int i = 0; i < g->n_keys; i++) {
        SDL_Event e;
        if (g->keys[i].done || !hook_due(g, g->keys[i].at_ms, g->keys[i].at_step))
            continue;
        memset(&e, 0, sizeof e);
        e.type = SDL_KEYDOWN;
        e.key.keysym.sym = g->keys[i].key;
        handle_event(g, &e);
        g->keys[i].done = true;
        fprintf(stderr, "raft_game: --keys: pressed %s at %llu ms\n",
                SDL_GetKeyName(g->keys[i].key), (unsigned long long)g->now);
    }
}

static void dump_state(struct game *g)
{
    struct json_object *o = village_model_to_json(shown(g), shown_now(g));
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
    json_object_object_add(o, "mode", json_object_new_string(g->replay ? "replay" : "live"));
    json_object_object_add(o, "paused", json_object_new_boolean(g->paused || g->at_end));
    if (g->replay) {
        struct json_object *r = json_object_new_object();
        json_object_object_add(r, "time_ms", json_object_new_int64((int64_t)g->player->t));
        json_object_object_add(r, "length_ms",
                               json_object_new_int64((int64_t)recording_length_ms(g->tape)));
        json_object_object_add(r, "speed", json_object_new_double(g->speed));
        json_object_object_add(r, "at_end", json_object_new_boolean(g->at_end));
        json_object_object_add(r, "datagrams", json_object_new_int64((int64_t)g->tape->n));
        json_object_object_add(r, "fed", json_object_new_int64((int64_t)g->player->next));
        json_object_object_add(r, "malformed_lines",
                               json_object_new_int64((int64_t)g->tape->n_malformed));
        json_object_object_add(r, "reordered_lines",
                               json_object_new_int64((int64_t)g->tape->n_reordered));
        json_object_object_add(o, "replay", r);
    } else if (g->paused) {
        json_object_object_add(o, "live_time_ms", json_object_new_int64((int64_t)g->now));
        json_object_object_add(o, "buffered", json_object_new_int64((int64_t)g->tape->n));
    }
    {
        struct json_object *le = lesson_to_json(&g->lesson);
        if (le != NULL)
            json_object_object_add(o, "lesson", le);
    }
    if (g->recording) {
        struct json_object *r = json_object_new_object();
        json_object_object_add(r, "lines", json_object_new_int64((int64_t)g->rec.n_lines));
        json_object_object_add(r, "skipped", json_object_new_int64((int64_t)g->rec.n_skipped));
        json_object_object_add(r, "bytes", json_object_new_int64((int64_t)g->rec.bytes));
        json_object_object_add(o, "recording", r);
    }
    printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    fflush(stdout);
    json_object_put(o);
}

/* --- input --------------------------------------------------------------------------- */

static void close_box(struct game *g)
{
    textbox_close(&g->box);
    SDL_StopTextInput();
}

/* Keys while the command box is open: they edit it, and no other key works. */
static void box_key(struct game *g, SDL_Keycode key)
{
    char cmd[TEXTBOX_MAX + 1];

    switch (key) {
    case SDLK_ESCAPE:
        close_box(g);
        break;
    case SDLK_RETURN:
    case SDLK_KP_ENTER:
        textbox_command(&g->box, cmd, sizeof cmd);
        close_box(g);
        /* An empty line is the old 'c': a random command. */
        submit_text(g, cmd[0] ? cmd : NULL);
        break;
    case SDLK_BACKSPACE:
        textbox_backspace(&g->box);
        break;
    default:
        break;
    }
}

static void handle_event(struct game *g, const SDL_Event *e)
{
    const struct layout *l = &g->rc.layout;

    if (g->box.open && e->type == SDL_KEYDOWN) {
        box_key(g, e->key.keysym.sym);
        return;
    }
    if (g->lesson.menu_open && e->type == SDL_KEYDOWN && lesson_menu_key(g, e->key.keysym.sym))
        return;
    switch (e->type) {
    case SDL_QUIT:
        g->quit = true;
        break;
    case SDL_TEXTINPUT:
        if (g->box.open && textbox_insert(&g->box, e->text.text) > 0)
            banner(g, g->box.len >= TEXTBOX_MAX
                          ? "a command is at most 256 bytes"
                          : "a command is printable ASCII: that character is not taken");
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
        case SDLK_F1:
        case SDLK_SLASH:
        case SDLK_QUESTION:
            g->show_help = !g->show_help;
            break;
        case SDLK_h:
            heal_all(g);
            break;
        case SDLK_a:
            add_next_villager(g);
            break;
        case SDLK_x:
            if (no_membership(g) != NULL) {
                banner(g, "%s", no_membership(g));
            } else {
                g->remove_armed = !g->remove_armed;
                banner(g, g->remove_armed ? "click the villager to send away (x again: cancel)"
                                          : "no one is sent away");
            }
            break;
        case SDLK_l:
            g->lesson.menu_open = true;
            break;
        case SDLK_t:
            lesson_retry(&g->lesson, g->now, &g->hands);
            break;
        case SDLK_n:
            lesson_skip(&g->lesson, &g->model, g->now, &g->hands);
            break;
        case SDLK_r:
            if (g->replay)
                banner(g, "a replay: there is no cluster to send a command to");
            else
                submit_command(g);
            break;
        case SDLK_s:
            if (g->replay) {
                banner(g, "a replay: the monster stays at home");
                break;
            }
            monster_toggle(&g->monster, g->now);
            news(g, g->monster.paused ? "you stop the monster" : "you let the monster loose");
            break;
        case SDLK_c:
            if (g->replay) {
                banner(g, "a replay: there is no cluster to send a command to");
            } else {
                textbox_open(&g->box);
                SDL_StartTextInput();
            }
            break;
        case SDLK_SPACE:
            toggle_pause(g);
            break;
        case SDLK_RIGHT:
        case SDLK_PERIOD:
            step_event(g);
            break;
        case SDLK_LEFT:
            if (g->replay)
                seek_to(g, g->player->t > SEEK_BACK_MS ? g->player->t - SEEK_BACK_MS : 0);
            else
                banner(g, "going back is for replays (--record FILE, then --replay FILE)");
            break;
        case SDLK_LEFTBRACKET:
            change_speed(g, -1);
            break;
        case SDLK_RIGHTBRACKET:
            change_speed(g, 1);
            break;
        /* Live, "-" and "+" are the pace's (the panel's buttons); a replay's speed. */
        case SDLK_MINUS:
        case SDLK_KP_MINUS:
            if (g->replay)
                change_speed(g, -1);
            else
                wires_pace(g, -1);
            break;
        case SDLK_PLUS:
        case SDLK_EQUALS:
        case SDLK_KP_PLUS:
            if (g->replay)
                change_speed(g, 1);
            else
                wires_pace(g, 1);
            break;
        case SDLK_f:
            if (g->replay)
                banner(g, "a replay: the wires are as they were recorded");
            else
                wires_pace(g, 0);
            break;
        case SDLK_HOME:
            if (g->replay) {
                seek_to(g, 0);
                g->paused = false;
            }
            break;
        default:
            break;
        }
        break;
    case SDL_MOUSEMOTION:
        g->mouse_x = e->motion.x;
        g->mouse_y = e->motion.y;
        if (g->wires.dragging) {
            struct wires_geom geom;
            wires_geom(l, &geom);
            g->wires.drag_ms = wires_delay_at(&geom, e->motion.x);
        }
        break;
    case SDL_MOUSEBUTTONUP:
        if (e->button.button == SDL_BUTTON_LEFT)
            wires_release(g);
        break;
    case SDL_MOUSEBUTTONDOWN: {
        int b = layout_hit_button(l, e->button.x, e->button.y);
        int v = layout_hit_villager(l, e->button.x, e->button.y);
        float at = layout_hit_timeline(l, e->button.x, e->button.y);
        int ra = -1, rb = -1;
        if (g->show_help) {
            g->show_help = false;
            break;
        }
        if (g->replay && at >= 0) {
            seek_to(g, (uint64_t)((double)at * (double)recording_length_ms(g->tape)));
            break;
        }
        {
            struct wires_geom geom;
            wires_geom(l, &geom);
            if (wires_on_panel(&geom, e->button.x, e->button.y)) {
                if (e->button.button == SDL_BUTTON_LEFT)
                    wires_press(g, wires_hit(&geom, e->button.x, e->button.y), e->button.x);
                break;
            }
        }
        if (g->replay && (v >= 0 || b == LAYOUT_BUTTON_SUBMIT || b == LAYOUT_BUTTON_MONSTER ||
                          b == LAYOUT_BUTTON_HEAL)) {
            banner(g, "a replay: nobody here to kill, revive or command; it happened already");
            break;
        }
        if (g->paused && v >= 0) {
            banner(g, "the picture is paused: space goes back to live first");
            break;
        }
        if (e->button.button == SDL_BUTTON_LEFT && b >= 0) {
            if (b == LAYOUT_BUTTON_SUBMIT)
                submit_command(g);
            else if (b == LAYOUT_BUTTON_MONSTER)
                monster_toggle(&g->monster, g->now);
            else if (b == LAYOUT_BUTTON_HEAL)
                heal_all(g);
            else
                g->show_help = true;
        } else if (e->button.button == SDL_BUTTON_LEFT && v >= 0 && g->remove_armed) {
            remove_villager(g, v);
        } else if (e->button.button == SDL_BUTTON_LEFT && v >= 0) {
            click_villager(g, v);
        } else if (e->button.button == SDL_BUTTON_LEFT &&
                   layout_hit_road(l, e->button.x, e->button.y, &ra, &rb)) {
            toggle_road(g, ra, rb);
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

    if (g->recording)
        recorder_write(&g->rec, g->now, json, len);
    if (g->paused && g->tape && recording_append(g->tape, g->now, json, len) < 0)
        g->pause_dropped++;
    if (village_model_feed(&g->model, json, len, g->now, err, sizeof err) < 0)
        fprintf(stderr, "raft_game: demo datagram refused: %s\n", err);
}

static int load_config(struct game *g)
{
    char err[512];
    bool given = strcmp(g->opt.config_path, "raft_peer.ini") != 0;

    if ((g->opt.demo || g->opt.replay_path) && !given && access(g->opt.config_path, R_OK) != 0)
        return 0; /* the demo and a replay need no file */
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
            requester_add_peer(&g->sub.rq, g->cfg->peers[i].name, g->cfg->peers[i].host,
                               g->cfg->peers[i].port);
        g->sub_ok = true;
    }
    if (requester_init(&g->members, err, sizeof err) == 0) {
        for (int i = 0; i < g->cfg->n_peers && i < VILLAGE_MAX_PEERS; i++)
            requester_add_peer(&g->members, g->cfg->peers[i].name, g->cfg->peers[i].host,
                               g->cfg->peers[i].port);
        g->members_ok = true;
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

/* --replay: the file instead of the socket. A file that cannot be read, or holds no
 * datagram, is a usage error (exit 2); malformed lines are skipped and counted. */
static int setup_replay(struct game *g)
{
    char err[600];
    const struct recording *t;
    uint64_t len;

    village_model_init(&g->model);
    g->tape = calloc(1, sizeof *g->tape);
    g->player = malloc(sizeof *g->player);
    if (g->tape == NULL || g->player == NULL) {
        fprintf(stderr, "raft_game: out of memory\n");
        return 1;
    }
    if (recording_load(g->tape, g->opt.replay_path, err, sizeof err) < 0) {
        fprintf(stderr, "raft_game: %s\n%s", err, GAME_USAGE);
        return 2;
    }
    t = g->tape;
    if (t->n == 0) {
        fprintf(stderr, "raft_game: --replay %s: not a recording: no datagram in it%s%s\n%s",
                g->opt.replay_path, t->n_malformed ? "; " : "", t->first_error, GAME_USAGE);
        return 2;
    }
    len = recording_length_ms(t);
    fprintf(stderr, "raft_game: replaying %s: %zu datagrams over %.1f s\n", g->opt.replay_path,
            t->n, (double)len / 1000.0);
    if (t->n_malformed)
        fprintf(stderr, "raft_game: %s: %" PRIu64 " malformed lines skipped (the first, %s)\n",
                g->opt.replay_path, t->n_malformed, t->first_error);
    if (t->n_reordered)
        fprintf(stderr,
                "raft_game: %s: %" PRIu64 " lines went back in time; played in file order\n",
                g->opt.replay_path, t->n_reordered);
    if (t->truncated)
        fprintf(stderr, "raft_game: %s: only the first %u bytes are played\n", g->opt.replay_path,
                RECORDING_MAX_BYTES);

    /* The villagers are named as the recording's game named them, else from the ini. */
    if (t->n_peers > 0) {
        for (int i = 0; i < t->n_peers; i++)
            if (village_model_add_peer(&g->model, i + 1, t->peers[i]) < 0)
                fprintf(stderr, "raft_game: %s: bad peer name in \"# peers\" ignored\n",
                        g->opt.replay_path);
    } else {
        for (int i = 0; g->cfg && i < g->cfg->n_peers && i < VILLAGE_MAX_PEERS; i++)
            village_model_add_peer(&g->model, i + 1, g->cfg->peers[i].name);
    }
    if (g->opt.n)
        village_model_set_n(&g->model, g->opt.n);
    news(g, "Replaying %s: %zu datagrams over %" PRIu64 ":%02" PRIu64 ". Press ? for help.",
         g->opt.replay_path, t->n, len / 60000, len / 1000 % 60);
    /* The news above is part of the base every seek rebuilds from. */
    replay_start(g->player, t, &g->model, 0);
    g->replay = true;
    g->speed = g->opt.speed;
    g->paused = g->opt.start_paused;
    snprintf(g->stream_addr, sizeof g->stream_addr, "(replay)");
    seek_to(g, g->opt.seek_ms > 0 ? (uint64_t)g->opt.seek_ms : 0);
    return 0;
}

/* --record: the file is created before anything else, so a bad path is refused at once. */
static int open_recording(struct game *g)
{
    const char *names[VILLAGE_MAX_PEERS];
    char demo_names[VILLAGE_MAX_PEERS][16];
    char err[600];
    int n = 0;

    if (g->opt.record_path == NULL)
        return 0;
    if (g->opt.demo) {
        int dn = g->opt.n ? g->opt.n : DEMO_DEFAULT_N;
        for (; n < dn && n < VILLAGE_MAX_PEERS; n++) {
            snprintf(demo_names[n], sizeof demo_names[n], "peer%d", n + 1);
            names[n] = demo_names[n];
        }
    } else {
        for (; g->cfg && n < g->cfg->n_peers && n < VILLAGE_MAX_PEERS; n++)
            names[n] = g->cfg->peers[n].name;
    }
    if (recorder_open(&g->rec, g->opt.record_path, names, n, err, sizeof err) < 0) {
        fprintf(stderr, "raft_game: %s\n%s", err, GAME_USAGE);
        return 2;
    }
    g->recording = true;
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
    /* SDL starts with text input on: it is on only while the command box is open, so
     * the 'c' that opens the box is not typed into it. */
    SDL_StopTextInput();
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
    if (g->members_ok)
        requester_close(&g->members);
    if (g->recording) {
        if (recorder_close(&g->rec, g->now) < 0)
            fprintf(stderr, "raft_game: --record %s: a write failed: the recording is cut short\n",
                    g->rec.path);
        else
            fprintf(stderr,
                    "raft_game: recorded %" PRIu64 " datagrams (%" PRIu64 " bytes) to %s%s\n",
                    g->rec.n_lines, g->rec.bytes, g->rec.path,
                    g->rec.full ? ", then the file was full" : "");
    }
    if (g->tape)
        recording_free(g->tape);
    free(g->tape);
    free(g->player);
    free(g->frozen);
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
        .model = shown(g),
        .monster = &g->monster,
        .health = g->health,
        .now_ms = shown_now(g),
        .hover = g->hover,
        .hover_button = g->hover_button,
        .mouse_x = g->mouse_x,
        .mouse_y = g->mouse_y,
        .show_help = g->show_help,
        .demo = g->demo != NULL,
        .submit_busy = g->sub_ok && atomic_load(&g->sub.rq.busy),
        .stream_addr = g->stream_addr,
        .stream_error = g->stream_error,
        .banner = g->now < g->banner_until ? g->banner : "",
        .fps = g->fps,
        .replay = g->replay,
        .paused = g->paused,
        .at_end = g->at_end,
        .replay_len_ms = g->replay ? recording_length_ms(g->tape) : 0,
        .speed = g->speed,
        .bad_lines = g->replay ? g->tape->n_malformed : 0,
        .buffered = !g->replay && g->tape ? g->tape->n + g->pause_dropped : 0,
        .recording = g->recording,
        .hover_road_a = g->hover_road_a,
        .hover_road_b = g->hover_road_b,
        .typing = g->box.open,
        .typed = g->box.text,
        .lesson = &g->lesson,
        .wires = g->wires,
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

/* A replay's clock runs at its speed, and the model follows it. */
static void play(struct game *g, uint64_t real_dt)
{
    uint64_t len = recording_length_ms(g->tape);

    if (g->paused || g->at_end)
        return;
    g->replay_t += (double)real_dt * g->speed;
    if (g->replay_t >= (double)len)
        g->replay_t = (double)len;
    replay_advance(g->player, &g->model, (uint64_t)g->replay_t);
    if (replay_at_end(g->player) && g->player->t >= len)
        g->at_end = true;
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
        run_keys(g);
        run_clicks(g);
        if (g->replay)
            play(g, g->now - last);
        else if (g->demo)
            demo_step(g->demo, g->now);
        else
            stream_socket_drain(g->stream_fd, on_datagram, g, MAX_DATAGRAMS);
        if (g->recording)
            recorder_tick(&g->rec, g->now);
        while (g->sub_ok && requester_poll(&g->sub.rq, line, sizeof line))
            news(g, "%s", line);
        while (g->members_ok && requester_poll(&g->members, line, sizeof line))
            news(g, "%s", line);
        if (!g->replay && !g->demo && g->cfg)
            wires_sync_started(g);
        if (!g->replay) {
            village_model_tick(&g->model, g->now);
            /* A paused picture stands still, the monster with it. */
            if (!g->paused)
                step_monster(g, (float)(g->now - last) / 1000.0f);
        }
        if (!g->replay && !g->demo) {
            /* A paused picture holds the lesson too: it must not move on unseen. */
            if (g->paused)
                lesson_hold(&g->lesson, g->now - last);
            else
                lesson_tick(&g->lesson, &g->model, g->now, &g->hands);
            /* With --quit-after-ms, a lesson over is the end of the run. */
            if (g->lesson.def >= 0 && g->opt.quit_after_ms >= 0 && g->lesson.phase == LESSON_DONE &&
                g->now - g->lesson.phase_since >= LESSON_DWELL_MS)
                g->opt.quit_after_ms = (int64_t)g->now;
        }

        last = g->now;
        run_kill_hook(g);
        SDL_GetRendererOutputSize(g->rc.r, &w, &h);
        g->hover = layout_hit_villager(&g->rc.layout, g->mouse_x, g->mouse_y);
        g->hover_button = layout_hit_button(&g->rc.layout, g->mouse_x, g->mouse_y);
        g->hover_road_a = g->hover_road_b = -1;
        {
            struct wires_geom geom;
            wires_geom(&g->rc.layout, &geom);
            g->wires.hover = wires_hit(&geom, g->mouse_x, g->mouse_y);
            g->wires.enabled = !g->replay && g->demo == NULL && g->cfg != NULL;
            if (g->hover_button < 0 && g->hover < 0 &&
                !wires_on_panel(&geom, g->mouse_x, g->mouse_y))
                layout_hit_road(&g->rc.layout, g->mouse_x, g->mouse_y, &g->hover_road_a,
                                &g->hover_road_b);
        }
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
        rc = open_recording(g);
    if (rc == 0)
        rc = g->opt.replay_path ? setup_replay(g) : setup_cluster(g);
    if (rc == 0)
        rc = setup_window(g);
    if (rc == 0)
        rc = parse_keys(g);
    if (rc == 0)
        rc = parse_clicks(g);
    if (rc == 0) {
        monster_init(&g->monster, (uint32_t)rand() | 1u, 0);
        /* Nobody lives in a replay to be bitten: the monster stays home. */
        if (g->opt.no_monster || g->replay)
            monster_toggle(&g->monster, 0);
        if (!g->replay)
            news(g, "Welcome to Raft Village. Press ? for help, l for the lessons.");
        if (g->recording)
            news(g, "Recording the stream to %s", g->opt.record_path);
        lesson_init(&g->lesson);
        g->hands = (struct lesson_hands){
            .ctx = g,
            .say = lesson_say,
            .submit = lesson_submit,
            .cut_off = lesson_cut_off,
            .heal = lesson_heal,
            .revive = lesson_revive,
        };
        if (g->opt.lesson)
            start_lesson(g, lesson_find(g->opt.lesson));
        rc = loop(g);
    }
    teardown(g);
    free(g);
    return rc;
}
