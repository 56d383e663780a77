/* render_hud.c: what is not the village itself: the status bar, the event feed, the
 * buttons, the tooltip of the villager under the mouse, the help card and banners. */
#include "visualization/render.h"
#include "visualization/render_prim.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static const SDL_Color ink = {232, 236, 241, 255};
static const SDL_Color dim = {150, 160, 175, 255};

static void draw_sun_or_moon(SDL_Renderer *r, float x, float y, float s, bool night)
{
    if (night) {
        prim_fill_circle(r, x, y, 8 * s, prim_rgb(0xf4f1de));
        prim_fill_circle(r, x + 4 * s, y - 3 * s, 7 * s, prim_rgb(0x151922));
        return;
    }
    for (int i = 0; i < 8; i++) {
        float a = (float)i * (float)M_PI / 4;
        prim_line(r, x + cosf(a) * 8 * s, y + sinf(a) * 8 * s, x + cosf(a) * 11 * s,
                  y + sinf(a) * 11 * s, 2 * s, prim_rgb(0xffc93c));
    }
    prim_fill_circle(r, x, y, 6 * s, prim_rgb(0xffc93c));
}

static const char *mood_text(const struct game_view *v, char *buf, size_t len)
{
    const struct monster *mo = v->monster;
    const struct village_model *m = v->model;

    if (v->replay)
        return "a replay: the monster stays home";
    if (mo->paused)
        return mo->mood == MONSTER_ASLEEP ? "monster stopped" : "monster going home";
    switch (mo->mood) {
    case MONSTER_ASLEEP:
        return "monster asleep";
    case MONSTER_ROAMING:
        return "monster roaming";
    case MONSTER_GOING_HOME:
        return "monster going home";
    case MONSTER_HUNTING:
    case MONSTER_ATTACKING:
        if (mo->prey >= 0 && mo->prey < m->n) {
            snprintf(buf, len, "monster %s %s",
                     mo->mood == MONSTER_HUNTING ? "hunting" : "attacking",
                     m->peers[mo->prey].name);
            return buf;
        }
        return "monster hunting";
    }
    return "";
}

void render_topbar(struct render_ctx *rc, const struct game_view *v)
{
    const struct layout *l = &rc->layout;
    const struct village_model *m = v->model;
    float s = l->scale, y = (float)l->top.y, h = (float)l->top.h;
    int lead = village_model_leader(m);
    int th = text_line_height(rc->tc, FONT_TITLE), nh = text_line_height(rc->tc, FONT_NORMAL);
    bool night = monster_is_night(v->now_ms);
    char line[256], mood[96];
    float x;

    prim_fill_rect(rc->r, 0, y, (float)l->top.w, h, prim_rgb(0x151922));
    prim_fill_rect(rc->r, 0, y + h - 2, (float)l->top.w, 2, prim_rgb(0x2a3140));
    x = 14 * s;
    x += (float)text_draw(rc->tc, FONT_TITLE, "Raft Village", x, y + (h - (float)th) / 2,
                          prim_rgb(0xf2c14e), TEXT_LEFT);
    if (v->demo)
        x += 8 * s + (float)text_draw(rc->tc, FONT_SMALL, "DEMO", x + 8 * s,
                                      y + (h - (float)th) / 2 + 2 * s, prim_rgb(0xff9da7),
                                      TEXT_LEFT);
    x += 24 * s;
    int alive, members = village_model_members(m, false, &alive);
    if (lead >= 0) {
        const struct village_peer *p = &m->peers[lead];
        prim_fill_circle(rc->r, x + 6 * s, y + h / 2, 6 * s, prim_term_color(p->term));
        snprintf(line, sizeof line,
                 "term %" PRIu64 "   leader %s   commit %" PRIu64 "   %d of %d alive", p->term,
                 p->name, p->commit_index, alive, members);
    } else {
        snprintf(line, sizeof line, "no leader   %d of %d alive", alive, members);
    }
    if (m->membership_seen) {
        /* The configuration the village shows (the leader's), beside the count. */
        size_t used = strlen(line);
        int nv = __builtin_popcount(m->voters), nl = __builtin_popcount(m->learners);
        if (nl > 0)
            snprintf(line + used, sizeof line - used, "   %d voters, %d learner%s%s", nv, nl,
                     nl == 1 ? "" : "s", m->conf_pending ? " (change pending)" : "");
        else
            snprintf(line + used, sizeof line - used, "   %d voters%s", nv,
                     m->conf_pending ? " (change pending)" : "");
    }
    text_draw(rc->tc, FONT_NORMAL, line, x + 18 * s, y + (h - (float)nh) / 2, ink, TEXT_LEFT);

    x = (float)l->top.w - 14 * s;
    snprintf(line, sizeof line, "%.0f fps", (double)v->fps);
    x -= (float)text_draw(rc->tc, FONT_SMALL, line, x, y + (h - (float)nh) / 2 + 1, dim,
                          TEXT_RIGHT) +
         18 * s;
    snprintf(line, sizeof line, "%s, %s in %" PRIu64 " s   %s", night ? "night" : "day",
             night ? "dawn" : "dusk", (monster_ms_to_change(v->now_ms) + 999) / 1000,
             mood_text(v, mood, sizeof mood));
    x -= (float)text_draw(rc->tc, FONT_NORMAL, line, x, y + (h - (float)nh) / 2, ink, TEXT_RIGHT);
    draw_sun_or_moon(rc->r, x - 16 * s, y + h / 2, s, night);
}

void render_feed(struct render_ctx *rc, const struct game_view *v)
{
    const struct layout *l = &rc->layout;
    const struct village_model *m = v->model;
    float s = l->scale, px = (float)l->panel.x, py = (float)l->panel.y;
    float pw = (float)l->panel.w, ph = (float)l->panel.h, y, top;
    int wrap = (int)(pw - 30 * s), th = text_line_height(rc->tc, FONT_TITLE);
    char line[VILLAGE_FEED_TEXT_MAX + 64];

    prim_fill_rect(rc->r, px, py, pw, ph, prim_rgb(0x1d222c));
    prim_fill_rect(rc->r, px, py, 2, ph, prim_rgb(0x2a3140));
    text_draw(rc->tc, FONT_TITLE, "Village news", px + 14 * s, py + 10 * s, ink, TEXT_LEFT);
    top = py + 14 * s + (float)th + 6 * s;
    prim_fill_rect(rc->r, px + 14 * s, top - 4 * s, pw - 28 * s, 1, prim_rgb(0x2f3747));

    y = py + ph - 10 * s;
    for (int i = m->n_feed - 1; i >= 0; i--) {
        const struct village_feed_line *f = village_model_feed_line(m, i);
        const char *who = f->slot >= 0 && f->slot < VILLAGE_MAX_PEERS ? m->peers[f->slot].name : "";
        uint64_t secs = f->time_ms / 1000;
        uint64_t age = v->now_ms > f->time_ms ? v->now_ms - f->time_ms : 0;
        SDL_Color c = age < 1500 ? prim_mix(prim_rgb(0xfff3b0), ink, (float)age / 1500.0f) : ink;
        int w, h;

        if (who[0])
            snprintf(line, sizeof line, "%" PRIu64 ":%02" PRIu64 "  %s: %s", secs / 60, secs % 60,
                     who, f->text);
        else
            snprintf(line, sizeof line, "%" PRIu64 ":%02" PRIu64 "  %s", secs / 60, secs % 60,
                     f->text);
        text_measure(rc->tc, FONT_NORMAL, line, wrap, c, &w, &h);
        if (y - (float)h < top)
            break;
        y -= (float)h;
        /* A stripe in the term's colour; the game's own news is gold. */
        prim_fill_rect(rc->r, px + 12 * s, y + 2 * s, 4 * s, (float)h - 4 * s,
                       f->slot >= 0 ? prim_term_color(f->term) : prim_rgb(0xf2c14e));
        text_draw_wrapped(rc->tc, FONT_NORMAL, line, px + 22 * s, y, c, wrap);
        y -= 5 * s;
    }
    if (m->n_feed == 0)
        text_draw_wrapped(rc->tc, FONT_NORMAL,
                          "Nothing yet. Events from the peers' logs appear here.", px + 22 * s,
                          top + 4 * s, dim, wrap);
}

void render_buttons(struct render_ctx *rc, const struct game_view *v)
{
    const struct layout *l = &rc->layout;
    float s = l->scale;
    int nh = text_line_height(rc->tc, FONT_NORMAL);
    const char *labels[LAYOUT_N_BUTTONS] = {
        [LAYOUT_BUTTON_SUBMIT] = v->submit_busy ? "submitting..." : "random command (r)",
        [LAYOUT_BUTTON_MONSTER] = v->monster->paused ? "monster: off (s)" : "monster: on (s)",
        [LAYOUT_BUTTON_HEAL] =
            village_model_cut_roads(v->model) > 0 ? "heal every road (h)" : "roads all open (h)",
        [LAYOUT_BUTTON_HELP] = "help (?)",
    };

    for (int b = 0; b < LAYOUT_N_BUTTONS; b++) {
        const struct layout_rect *r = &l->buttons[b];
        bool hover = v->hover_button == b;
        SDL_Color bg = hover ? prim_rgb(0x3a4458) : prim_rgb(0x262d3a);
        prim_round_rect(rc->r, (float)r->x - 1, (float)r->y - 1, (float)r->w + 2, (float)r->h + 2,
                        7 * s, (SDL_Color){0, 0, 0, 110});
        prim_round_rect(rc->r, (float)r->x, (float)r->y, (float)r->w, (float)r->h, 6 * s, bg);
        text_draw(rc->tc, FONT_NORMAL, labels[b], (float)r->x + (float)r->w / 2,
                  (float)r->y + ((float)r->h - (float)nh) / 2, ink, TEXT_CENTER);
    }
}

/* A dark card with lines of text, kept inside the window. */
static void card(struct render_ctx *rc, float x, float y, const char *const *lines, int n,
                 const SDL_Color *colors)
{
    float s = rc->layout.scale, w = 0, h;
    int lh = text_line_height(rc->tc, FONT_NORMAL);

    for (int i = 0; i < n; i++) {
        int tw, th;
        text_measure(rc->tc, FONT_NORMAL, lines[i], 0, colors[i], &tw, &th);
        if ((float)tw > w)
            w = (float)tw;
    }
    w += 20 * s;
    h = (float)(lh * n) + 16 * s;
    if (x + w > (float)rc->layout.win_w - 4)
        x = (float)rc->layout.win_w - 4 - w;
    if (y + h > (float)rc->layout.win_h - 4)
        y = (float)rc->layout.win_h - 4 - h;
    if (x < 4)
        x = 4;
    if (y < 4)
        y = 4;
    prim_round_rect(rc->r, x, y, w, h, 6 * s, (SDL_Color){18, 22, 30, 235});
    for (int i = 0; i < n; i++)
        text_draw(rc->tc, FONT_NORMAL, lines[i], x + 10 * s, y + 8 * s + (float)(lh * i), colors[i],
                  TEXT_LEFT);
}

void render_tooltip(struct render_ctx *rc, const struct game_view *v)
{
    const struct village_peer *p;
    char buf[24][96];
    const char *lines[24];
    SDL_Color colors[24];
    int n = 0;

    if (v->hover < 0 || v->hover >= v->model->n || v->show_help)
        return;
    p = &v->model->peers[v->hover];
#define LINE(c, ...)                                                                               \
    do {                                                                                           \
        if (n < 24) {                                                                              \
            snprintf(buf[n], sizeof buf[n], __VA_ARGS__);                                          \
            lines[n] = buf[n];                                                                     \
            colors[n] = (c);                                                                       \
            n++;                                                                                   \
        }                                                                                          \
    } while (0)
    LINE(prim_rgb(0xf2c14e), "%s (id %d)", p->name[0] ? p->name : "?", p->id);
    if (p->life == VILLAGE_ALIVE) {
        LINE(ink, "%s, term %" PRIu64 ", pid %ld%s", village_role_name(p->role), p->term, p->pid,
             p->stopped ? ", DISK FAILED" : "");
        LINE(ink, "voted for %s, knows leader %s", p->voted_for[0] ? p->voted_for : "nobody",
             p->leader[0] ? p->leader : "none");
        LINE(ink, "log %" PRIu64 "..%" PRIu64 ", persisted %" PRIu64, p->first_index, p->last_index,
             p->persisted_index);
        LINE(ink, "commit %" PRIu64 ", applied %" PRIu64, p->commit_index, p->last_applied);
        if (p->role != VILLAGE_LEADER)
            LINE(ink, "election timer %u%%", p->election_progress / 10);
        LINE(ink, "health %.0f", (double)v->health[v->hover]);
        if (p->fault[0])
            LINE(prim_rgb(0xff9da7), "network: %.80s", p->fault);
        if (p->delay_ms > 0)
            LINE(prim_rgb(0xffb000), "delays peer messages %u ms (holds %" PRIu64 ")", p->delay_ms,
                 p->held);
        if (p->dropped_out || p->dropped_in)
            LINE(ink, "dropped %" PRIu64 " out, %" PRIu64 " in", p->dropped_out, p->dropped_in);
        LINE(prim_rgb(0xfbe7a1), "granary (%d variables):", p->n_vars_total);
        for (int i = 0; i < p->n_vars && n < 20; i++)
            LINE(prim_rgb(0xfbe7a1), "  %s = %" PRId64, p->vars[i].name, p->vars[i].value);
        LINE(dim, "click: kill it   right-click: make it leader   x, click: remove it");
    } else {
        LINE(ink, "%s", p->life == VILLAGE_GRAVE ? "dead (no word from it)" : "never heard from");
        LINE(dim, "click: start its raft_peer again");
    }
#undef LINE
    card(rc, (float)v->mouse_x + 18, (float)v->mouse_y + 12, lines, n, colors);
}

void render_help(struct render_ctx *rc, const struct game_view *v)
{
    const struct layout *l = &rc->layout;
    float s = l->scale, w = 660 * s, h = 690 * s, x = (float)l->win_w / 2 - w / 2;
    float y = (float)l->win_h / 2 - h / 2, ly;
    int lh = text_line_height(rc->tc, FONT_NORMAL);
    static const char *const keys[][2] = {
        {"click a villager", "kill it: its raft_peer crashes for real"},
        {"click a grave", "revive it: raft_peer starts again and recovers"},
        {"right-click", "hand leadership to that villager"},
        {"click a road", "cut it both ways (the peers drop those messages); again: open"},
        {"h", "heal: every road open again"},
        {"a", "add the next peer of the ini: it walks in as an apprentice"},
        {"x, then click", "remove that villager: it leaves the village"},
        {"slow wires knob", "drag: every peer holds each message that long"},
        {"-, +, f", "pace: timeouts and heartbeats slower, faster; fast failover"},
        {"c", "type a command (gold add 7), Enter sends it through the leader"},
        {"r", "submit a random command through the leader"},
        {"s", "stop or resume the monster"},
        {"space", "pause (live: the cluster goes on; again: back to live)"},
        {"\xe2\x86\x92 or .", "paused: step to the next event"},
        {"\xe2\x86\x90, [ ], Home", "replay: 5 s back, speed, restart"},
        {"l", "lessons: guided tours of Raft on this cluster"},
        {"?, F1 / q, Esc", "this help / quit"},
    };
    static const struct {
        enum village_rpc rpc;
        bool ok;
        uint32_t n;
        const char *what;
    } legend[] = {
        {VILLAGE_RPC_APPEND_ENTRIES, true, 0, "heartbeat (AppendEntries, empty)"},
        {VILLAGE_RPC_APPEND_ENTRIES, true, 3, "AppendEntries carrying entries"},
        {VILLAGE_RPC_APPEND_ENTRIES_RESULT, true, 0, "append accepted"},
        {VILLAGE_RPC_APPEND_ENTRIES_RESULT, false, 0, "append refused (log mismatch)"},
        {VILLAGE_RPC_REQUEST_VOTE, true, 0, "RequestVote: a ballot"},
        {VILLAGE_RPC_REQUEST_VOTE_RESULT, true, 0, "vote granted"},
        {VILLAGE_RPC_REQUEST_VOTE_RESULT, false, 0, "vote refused"},
        {VILLAGE_RPC_TIMEOUT_NOW, true, 0, "TimeoutNow: leadership transfer"},
    };

    if (!v->show_help)
        return;
    prim_fill_rect(rc->r, 0, 0, (float)l->win_w, (float)l->win_h, (SDL_Color){0, 0, 0, 120});
    prim_round_rect(rc->r, x, y, w, h, 10 * s, (SDL_Color){24, 28, 38, 245});
    text_draw(rc->tc, FONT_TITLE, "Raft Village: how to play", x + 20 * s, y + 14 * s,
              prim_rgb(0xf2c14e), TEXT_LEFT);
    ly = y + 48 * s;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++, ly += (float)lh) {
        text_draw(rc->tc, FONT_BOLD, keys[i][0], x + 20 * s, ly, prim_rgb(0xf2c14e), TEXT_LEFT);
        text_draw(rc->tc, FONT_NORMAL, keys[i][1], x + 170 * s, ly, ink, TEXT_LEFT);
    }
    ly += (float)lh * 0.6f;
    text_draw(rc->tc, FONT_BOLD, "Messages in the air", x + 20 * s, ly, ink, TEXT_LEFT);
    ly += (float)lh * 1.3f;
    for (size_t i = 0; i < sizeof legend / sizeof legend[0]; i++) {
        float col = i < 4 ? 0 : w / 2, row = (float)(i % 4);
        render_message_shape(rc->r, legend[i].rpc, legend[i].ok, false, legend[i].n, 3,
                             x + 36 * s + col, ly + row * (float)lh * 1.4f + (float)lh / 2, s, 1);
        text_draw(rc->tc, FONT_SMALL, legend[i].what, x + 54 * s + col,
                  ly + row * (float)lh * 1.4f + 2 * s, ink, TEXT_LEFT);
    }
    ly += (float)lh * 1.4f * 4 + (float)lh * 0.4f;
    text_draw(rc->tc, FONT_BOLD, "Villagers", x + 20 * s, ly, ink, TEXT_LEFT);
    ly += (float)lh * 1.3f;
    text_draw_wrapped(rc->tc, FONT_SMALL,
                      "The crown marks the leader; a speech bubble, a candidate. Colours are "
                      "terms: a villager's tunic, its messages and its log tiles share the "
                      "colour of their term. The ring around each villager is its election "
                      "timer: it drains, and each heartbeat refills it. Log tiles are solid "
                      "once committed, hollow before. The board on the square is the "
                      "leader's ledger (match and next index of each follower; the gold mark "
                      "under a follower's tiles is its match index). The barn is the "
                      "villager's granary: its copy of the variables. A villager silent for "
                      "1.5 s becomes a grave. A red broken road is cut (an arrow: one way "
                      "only); amber beads, a delay. A leader cut off from the majority keeps "
                      "its crown but cannot commit: its new tiles stay hatched, and fall "
                      "away once the heal brings the real leader's log.",
                      x + 20 * s, ly, ink, (int)(w - 40 * s));
}

void render_banner(struct render_ctx *rc, const struct game_view *v)
{
    const struct layout *l = &rc->layout;
    float s = l->scale;
    char line[256];
    const char *text = NULL;
    SDL_Color bg = {18, 22, 30, 220};
    int w, h;

    if (v->stream_error && v->stream_error[0]) {
        text = v->stream_error;
        bg = (SDL_Color){120, 24, 24, 230};
    } else if (v->banner && v->banner[0]) {
        text = v->banner;
    } else if (v->paused && !v->replay) {
        snprintf(line, sizeof line,
                 "PAUSED: the picture stands still, the cluster goes on (%" PRIu64
                 " datagrams since, %s). space: back to live   right arrow: step through them",
                 v->buffered, v->recording ? "recorded" : "buffered");
        text = line;
        bg = (SDL_Color){90, 40, 60, 230};
    } else if (!v->demo && !v->replay && v->model->n_datagrams == 0) {
        snprintf(line, sizeof line,
                 "Listening on udp %s for the peers' stream: start them with -v "
                 "(launch_raft_peer.sh 3 -v)",
                 v->stream_addr ? v->stream_addr : "?");
        text = line;
    }
    if (text == NULL)
        return;
    text_measure(rc->tc, FONT_NORMAL, text, (int)((float)l->village.w - 60 * s), ink, &w, &h);
    {
        float bx = (float)l->village.x + ((float)l->village.w - (float)w) / 2;
        float by = (float)l->village.y + 12 * s;
        prim_round_rect(rc->r, bx - 12 * s, by - 6 * s, (float)w + 24 * s, (float)h + 12 * s, 8 * s,
                        bg);
        text_draw_wrapped(rc->tc, FONT_NORMAL, text, bx, by, ink,
                          (int)((float)l->village.w - 60 * s));
    }
}

static void format_clock(char *buf, size_t len, uint64_t ms)
{
    snprintf(buf, len, "%" PRIu64 ":%02" PRIu64 ".%" PRIu64, ms / 60000, ms / 1000 % 60,
             ms / 100 % 10);
}

void render_timeline(struct render_ctx *rc, const struct game_view *v)
{
    const struct layout *l = &rc->layout;
    const struct layout_rect *t = &l->timeline, *b = &l->timeline_bar;
    float s = l->scale, x, frac, kx;
    float mid = (float)t->y + (float)t->h / 2;
    int nh = text_line_height(rc->tc, FONT_NORMAL), sh = text_line_height(rc->tc, FONT_SMALL);
    char now[32], len[32], line[96];
    const char *word = v->at_end ? "END" : v->paused ? "PAUSED" : "REPLAY";
    SDL_Color word_c = v->paused || v->at_end ? prim_rgb(0xff9da7) : prim_rgb(0x9be29b);

    if (!v->replay || t->h <= 0)
        return;
    prim_fill_rect(rc->r, (float)t->x, (float)t->y, (float)t->w, (float)t->h, prim_rgb(0x151922));
    prim_fill_rect(rc->r, (float)t->x, (float)t->y, (float)t->w, 2, prim_rgb(0x2a3140));

    /* Left: a play or pause sign, the state in one word, the time. */
    x = (float)t->x + 14 * s;
    if (v->paused || v->at_end) {
        prim_fill_rect(rc->r, x, mid - 8 * s, 5 * s, 16 * s, word_c);
        prim_fill_rect(rc->r, x + 9 * s, mid - 8 * s, 5 * s, 16 * s, word_c);
    } else {
        prim_triangle(rc->r, x, mid - 9 * s, x, mid + 9 * s, x + 15 * s, mid, word_c);
    }
    x += 24 * s;
    x += (float)text_draw(rc->tc, FONT_BOLD, word, x, mid - (float)nh / 2, word_c, TEXT_LEFT);
    format_clock(now, sizeof now, v->now_ms);
    format_clock(len, sizeof len, v->replay_len_ms);
    snprintf(line, sizeof line, "%s / %s", now, len);
    text_draw(rc->tc, FONT_NORMAL, line, x + 10 * s, mid - (float)nh / 2, ink, TEXT_LEFT);

    /* The bar: how far into the recording, and a knob to show where. */
    frac = v->replay_len_ms > 0 ? (float)((double)v->now_ms / (double)v->replay_len_ms) : 0;
    if (frac > 1)
        frac = 1;
    prim_round_rect(rc->r, (float)b->x, (float)b->y, (float)b->w, (float)b->h, (float)b->h / 2,
                    prim_rgb(0x2f3747));
    if (frac > 0)
        prim_round_rect(rc->r, (float)b->x, (float)b->y, (float)b->w * frac, (float)b->h,
                        (float)b->h / 2, prim_rgb(0xf2c14e));
    kx = (float)b->x + (float)b->w * frac;
    prim_fill_circle(rc->r, kx, (float)b->y + (float)b->h / 2, 8 * s, prim_rgb(0xfff3b0));
    text_draw(rc->tc, FONT_SMALL,
              "space pause   \xe2\x86\x90 5 s back   \xe2\x86\x92 next event   [ ] speed   Home "
              "restart   click the bar to seek",
              (float)b->x, (float)(b->y + b->h) + 3 * s, dim, TEXT_LEFT);

    /* Right: the speed, and what was wrong with the file. */
    x = (float)(t->x + t->w) - 14 * s;
    if (v->speed < 1)
        snprintf(line, sizeof line, "speed %gx", v->speed);
    else
        snprintf(line, sizeof line, "speed %.0fx", v->speed);
    text_draw(rc->tc, FONT_NORMAL, line, x, mid - (float)nh / 2 - (v->bad_lines ? 6 * s : 0), ink,
              TEXT_RIGHT);
    if (v->bad_lines) {
        snprintf(line, sizeof line, "%" PRIu64 " bad line%s skipped", v->bad_lines,
                 v->bad_lines == 1 ? "" : "s");
        text_draw(rc->tc, FONT_SMALL, line, x, mid + (float)nh / 2 - (float)sh / 2,
                  prim_rgb(0xff9da7), TEXT_RIGHT);
    }
}
