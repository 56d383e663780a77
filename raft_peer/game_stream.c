/* game_stream.c: with -v, UDP datagrams to the game (docs/GAME_STREAM.md): this peer's
 * state on every change and every heartbeat interval, the RPCs it sends (rate-limited),
 * and its log lines as events. Nothing waits for the game, and nothing breaks without it. */
#include "raft_peer/game_stream.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/net.h"
#include "raft_peer/net/event_loop.h"
#include "raft_peer/peer.h"
#include "raft_peer/sm/state_machine.h"
#include "raft_peer/status.h"

#define STATE_MIN_GAP_MS 15 /* coalesce state under heavy load: ~60 per second at most */
#define MSG_PER_SECOND   60 /* RPCs shown per second; votes always pass */
#define LOG_TAIL         32
#define MAX_VARS         16

struct game_stream {
    int fd; /* connected UDP socket to the game */
    uint64_t last_state_ms;
    uint64_t state_digest;  /* of the last state sent: an unchanged state is not resent */
    uint64_t msg_window_ms; /* RPCs shown in the second from msg_window_ms */
    unsigned msg_in_window;
};

void game_open(struct peer *p)
{
    struct game_stream *g = calloc(1, sizeof(*g));
    if (!g) {
        event_log_write(p->log, EVENT_LOG_WARN, "sends no game stream: out of memory");
        return;
    }
    char err[256];
    g->fd = udp_connect(err, sizeof(err), p->cfg.game_host, p->cfg.game_port);
    /* Say so: on a LAN (a [game] host name that does not resolve, no route to it) the
     * game would otherwise just never see this peer. */
    if (g->fd < 0) {
        event_log_write(p->log, EVENT_LOG_WARN, "sends no game stream: %s", err);
        free(g);
        return;
    }
    p->game = g;
}

void game_close(struct peer *p)
{
    struct game_stream *g = p->game;
    if (!g)
        return;
    p->game = NULL; /* before close: a log line written meanwhile finds no stream */
    close(g->fd);
    free(g);
}

static void send_json(struct game_stream *g, struct json_object *o)
{
    size_t len;
    const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
    send(g->fd, s, len, MSG_DONTWAIT); /* nobody listening is fine */
    json_object_put(o);
}

static struct json_object *name_or_null(const struct peer *p, raft_id id)
{
    return id >= 1 && id <= p->n ? json_object_new_string(p->names[id - 1]) : NULL;
}

struct vars_ctx {
    struct json_object *vars;
    int n;
};

static void add_var(void *ctx, const char *name, int64_t value)
{
    struct vars_ctx *v = ctx;
    if (v->n++ < MAX_VARS)
        json_object_object_add(v->vars, name, json_object_new_int64(value));
}

static uint64_t digest(const struct peer *p)
{
    const struct raft *r = p->raft;
    uint64_t h = 1469598103934665603ull;
    uint64_t parts[] = {raft_role(r),           raft_current_term(r), (uint64_t)raft_leader(r),
                        raft_voted_for(r),      raft_last_index(r),   raft_commit_index(r),
                        sm_last_applied(p->sm), p->stopped,           faults_version(p),
                        pace_factor(p),         pace_fast_failover(p)};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        h = (h ^ parts[i]) * 1099511628211ull;
    return h;
}

void game_send_state(struct peer *p, bool force)
{
    struct game_stream *g = p->game;
    if (!g)
        return;
    uint64_t now = el_now_ms();
    uint64_t d = digest(p);
    if (!force && (d == g->state_digest || now < g->last_state_ms + STATE_MIN_GAP_MS))
        return;
    g->state_digest = d;
    g->last_state_ms = now;

    const struct raft *r = p->raft;
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string("state"));
    json_object_object_add(o, "peer", json_object_new_string(p->names[p->self - 1]));
    json_object_object_add(o, "id", json_object_new_int(p->self));
    json_object_object_add(o, "n", json_object_new_int(peer_cluster_size(p)));
    json_object_object_add(o, "pid", json_object_new_int((int)getpid()));
    const struct raft_configuration *conf = raft_configuration(p->raft);
    json_object_object_add(o, "voters", peer_names_json(p, conf->voters));
    json_object_object_add(o, "learners", peer_names_json(p, conf->learners));
    json_object_object_add(o, "config_pending",
                           json_object_new_boolean(raft_configuration_pending(p->raft)));
    json_object_object_add(o, "config_index",
                           json_object_new_uint64(raft_configuration_index(p->raft)));
    json_object_object_add(o, "time_ms", json_object_new_uint64(now));
    json_object_object_add(o, "role", json_object_new_string(raft_role_name(raft_role(r))));
    json_object_object_add(o, "term", json_object_new_uint64(raft_current_term(r)));
    json_object_object_add(o, "voted_for", name_or_null(p, raft_voted_for(r)));
    json_object_object_add(o, "leader", name_or_null(p, raft_leader(r)));
    json_object_object_add(o, "first_index", json_object_new_uint64(raft_first_index(r)));
    json_object_object_add(o, "last_index", json_object_new_uint64(raft_last_index(r)));
    json_object_object_add(o, "commit_index", json_object_new_uint64(raft_commit_index(r)));
    json_object_object_add(o, "last_applied", json_object_new_uint64(sm_last_applied(p->sm)));
    json_object_object_add(o, "persisted_index", json_object_new_uint64(raft_persisted_index(r)));
    json_object_object_add(o, "election_progress",
                           json_object_new_int((int)raft_election_progress(r, now)));
    json_object_object_add(o, "stopped", json_object_new_boolean(p->stopped));
    faults_add_json(p, o);
    pace_add_json(p, o);

    raft_index last = raft_last_index(r);
    raft_index start = last > LOG_TAIL ? last - LOG_TAIL + 1 : 1;
    if (start < raft_first_index(r))
        start = raft_first_index(r);
    struct json_object *terms = json_object_new_array();
    for (raft_index i = start; i <= last; i++)
        json_object_array_add(terms, json_object_new_uint64(raft_term_at(r, i)));
    json_object_object_add(o, "log_tail_start", json_object_new_uint64(start));
    json_object_object_add(o, "log_tail_terms", terms);

    struct vars_ctx v = {.vars = json_object_new_object()};
    sm_foreach(p->sm, add_var, &v);
    json_object_object_add(o, "vars", v.vars);
    json_object_object_add(o, "n_vars", json_object_new_int64((int64_t)sm_count(p->sm)));

    if (raft_role(r) == RAFT_LEADER)
        json_object_object_add(o, "followers", status_followers_json(p, "peer"));
    send_json(g, o);
}

void game_send_msg(struct peer *p, const struct raft_message *m)
{
    struct game_stream *g = p->game;
    if (!g)
        return;
    bool vote = m->type == RAFT_MSG_REQUEST_VOTE || m->type == RAFT_MSG_REQUEST_VOTE_RESULT ||
                m->type == RAFT_MSG_TIMEOUT_NOW;
    uint64_t now = el_now_ms();
    if (now >= g->msg_window_ms + 1000) {
        g->msg_window_ms = now;
        g->msg_in_window = 0;
    }
    if (!vote && g->msg_in_window >= MSG_PER_SECOND)
        return;
    g->msg_in_window++;

    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string("msg"));
    json_object_object_add(o, "from", json_object_new_string(p->names[p->self - 1]));
    json_object_object_add(o, "to", name_or_null(p, m->to));
    json_object_object_add(o, "rpc", json_object_new_string(raft_message_type_name(m->type)));
    json_object_object_add(o, "term", json_object_new_uint64(m->term));
    /* How long it is held before it leaves, so the game flies it for that long. */
    json_object_object_add(o, "delay_ms", json_object_new_int64(faults_delay_ms(p)));
    switch (m->type) {
    case RAFT_MSG_APPEND_ENTRIES:
        json_object_object_add(o, "n_entries",
                               json_object_new_int64(m->u.append_entries.n_entries));
        break;
    case RAFT_MSG_APPEND_ENTRIES_RESULT:
        json_object_object_add(o, "success",
                               json_object_new_boolean(m->u.append_entries_result.success));
        break;
    case RAFT_MSG_REQUEST_VOTE:
        json_object_object_add(o, "pre_vote", json_object_new_boolean(m->u.request_vote.pre_vote));
        break;
    case RAFT_MSG_REQUEST_VOTE_RESULT:
        json_object_object_add(o, "vote_granted",
                               json_object_new_boolean(m->u.request_vote_result.vote_granted));
        json_object_object_add(o, "pre_vote",
                               json_object_new_boolean(m->u.request_vote_result.pre_vote));
        break;
    case RAFT_MSG_TIMEOUT_NOW:
        break;
    }
    send_json(g, o);
}

void game_send_event(void *ctx, enum event_log_level level, const char *line, size_t len)
{
    struct peer *p = ctx;
    struct game_stream *g = p->game;
    if (level < EVENT_LOG_INFO || !g || !p->raft)
        return;
    /* Keep only the sentence: the game shows its own peer name and time. */
    const char *term = memmem(line, len, " term=", 6);
    const char *text = term ? memchr(term + 1, ' ', len - (size_t)(term + 1 - line)) : NULL;
    if (text) {
        text++;
        len -= (size_t)(text - line);
        line = text;
    }
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string("event"));
    json_object_object_add(o, "level", json_object_new_string(event_log_level_name(level)));
    json_object_object_add(o, "peer", json_object_new_string(p->names[p->self - 1]));
    json_object_object_add(o, "term", json_object_new_uint64(raft_current_term(p->raft)));
    json_object_object_add(o, "text", json_object_new_string_len(line, (int)len));
    send_json(g, o);
}
