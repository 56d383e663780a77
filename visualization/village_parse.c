/* village_parse.c: the stream's datagrams (docs/GAME_STREAM.md) into the model.
 *
 * Every datagram is untrusted: it is parsed in full into a scratch copy and only
 * applied when every field has the right type and fits its bound, so a bad one
 * leaves the model exactly as it was. */
#include "common/error_message.h"
#include "visualization/village_model.h"
#include "visualization/village_model_internal.h"

#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define JSON_MAX_DEPTH 6 /* state > followers > object > field is the deepest */
#define MAX_STREAM_N   16

/* Variable names follow CONTRACT.md: [A-Za-z_][A-Za-z0-9_]{0,63}. */
static bool valid_var_name(const char *s)
{
    size_t n = 0;

    for (; s[n] != '\0'; n++) {
        char c = s[n];
        bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        bool ok = letter || (n > 0 && c >= '0' && c <= '9');
        if (!ok || n + 1 >= VILLAGE_VAR_NAME_MAX)
            return false;
    }
    return n > 0;
}

/* --- typed field access: each returns 0, or -1 with the reason in err ------------- */

/* *out is NULL when the key is absent. */
static int field(struct json_object *obj, const char *key, bool required, struct json_object **out,
                 char *err, size_t errlen)
{
    *out = NULL;
    if (!json_object_object_get_ex(obj, key, out) || *out == NULL) {
        *out = NULL;
        if (required) {
            set_err(err, errlen, "missing \"%s\"", key);
            return -1;
        }
    }
    return 0;
}

static int get_u64(struct json_object *obj, const char *key, bool required, uint64_t max,
                   uint64_t *out, char *err, size_t errlen)
{
    struct json_object *v;
    int64_t x;

    if (field(obj, key, required, &v, err, errlen) < 0)
        return -1;
    if (v == NULL)
        return 0;
    if (!json_object_is_type(v, json_type_int)) {
        set_err(err, errlen, "\"%s\" is not an integer", key);
        return -1;
    }
    x = json_object_get_int64(v);
    if (x < 0 || (uint64_t)x > max) {
        set_err(err, errlen, "\"%s\" is out of range", key);
        return -1;
    }
    *out = (uint64_t)x;
    return 0;
}

static int get_bool(struct json_object *obj, const char *key, bool *out, char *err, size_t errlen)
{
    struct json_object *v;

    if (field(obj, key, false, &v, err, errlen) < 0)
        return -1;
    if (v == NULL)
        return 0;
    if (!json_object_is_type(v, json_type_boolean)) {
        set_err(err, errlen, "\"%s\" is not a boolean", key);
        return -1;
    }
    *out = json_object_get_boolean(v);
    return 0;
}

/* A string of at most cap - 1 bytes; with nullable, JSON null gives "". */
static int get_str(struct json_object *obj, const char *key, bool required, bool nullable,
                   char *out, size_t cap, char *err, size_t errlen)
{
    struct json_object *v;
    const char *s;
    size_t n;

    if (field(obj, key, required, &v, err, errlen) < 0)
        return -1;
    if (v == NULL) {
        /* json-c hands back NULL for both absent and null. */
        if (nullable && json_object_object_get_ex(obj, key, NULL))
            out[0] = '\0';
        return 0;
    }
    if (!json_object_is_type(v, json_type_string)) {
        set_err(err, errlen, "\"%s\" is not a string", key);
        return -1;
    }
    s = json_object_get_string(v);
    n = (size_t)json_object_get_string_len(v);
    if (n >= cap || memchr(s, '\0', n) != NULL) {
        set_err(err, errlen, "\"%s\" is too long", key);
        return -1;
    }
    memcpy(out, s, n + 1);
    return 0;
}

static int get_peer_name(struct json_object *obj, const char *key, bool required, bool nullable,
                         char *out, char *err, size_t errlen)
{
    out[0] = '\0';
    if (get_str(obj, key, required, nullable, out, VILLAGE_NAME_MAX, err, errlen) < 0)
        return -1;
    if (out[0] != '\0' && !village_valid_peer_name(out)) {
        set_err(err, errlen, "\"%s\" is not a peer name", key);
        return -1;
    }
    return 0;
}

static int parse_role(const char *s, enum village_role *role)
{
    for (int i = VILLAGE_FOLLOWER; i <= VILLAGE_LEADER; i++) {
        if (strcmp(s, village_role_name((enum village_role)i)) == 0) {
            *role = (enum village_role)i;
            return 0;
        }
    }
    return -1;
}

/* --- state ------------------------------------------------------------------------ */

static int parse_log_tail(struct json_object *obj, struct village_peer *p, char *err, size_t errlen)
{
    struct json_object *arr;
    size_t n;

    p->n_log_tail = 0;
    if (get_u64(obj, "log_tail_start", false, UINT64_MAX / 2, &p->log_tail_start, err, errlen) < 0)
        return -1;
    if (field(obj, "log_tail_terms", false, &arr, err, errlen) < 0)
        return -1;
    if (arr == NULL)
        return 0;
    if (!json_object_is_type(arr, json_type_array)) {
        set_err(err, errlen, "\"log_tail_terms\" is not an array");
        return -1;
    }
    n = json_object_array_length(arr);
    if (n > VILLAGE_LOG_TAIL) {
        set_err(err, errlen, "\"log_tail_terms\" has more than %d terms", VILLAGE_LOG_TAIL);
        return -1;
    }
    if (n > 0 && p->log_tail_start == 0) {
        set_err(err, errlen, "\"log_tail_terms\" without \"log_tail_start\"");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        struct json_object *t = json_object_array_get_idx(arr, i);
        int64_t v;
        if (!json_object_is_type(t, json_type_int) || (v = json_object_get_int64(t)) < 0) {
            set_err(err, errlen, "\"log_tail_terms\"[%zu] is not a term", i);
            return -1;
        }
        p->log_tail_terms[i] = (uint64_t)v;
    }
    p->n_log_tail = (int)n;
    return 0;
}

static int parse_vars(struct json_object *obj, struct village_peer *p, char *err, size_t errlen)
{
    struct json_object *vars;
    uint64_t total = 0;
    int n = 0;

    p->n_vars = 0;
    if (field(obj, "vars", false, &vars, err, errlen) < 0)
        return -1;
    if (vars != NULL) {
        if (!json_object_is_type(vars, json_type_object)) {
            set_err(err, errlen, "\"vars\" is not an object");
            return -1;
        }
        json_object_object_foreach(vars, key, val)
        {
            if (n >= VILLAGE_MAX_VARS) {
                set_err(err, errlen, "more than %d \"vars\"", VILLAGE_MAX_VARS);
                return -1;
            }
            if (!valid_var_name(key) || val == NULL || !json_object_is_type(val, json_type_int)) {
                set_err(err, errlen, "bad entry in \"vars\"");
                return -1;
            }
            snprintf(p->vars[n].name, sizeof p->vars[n].name, "%s", key);
            p->vars[n].value = json_object_get_int64(val);
            n++;
        }
    }
    p->n_vars = n;
    total = (uint64_t)n;
    if (get_u64(obj, "n_vars", false, INT32_MAX, &total, err, errlen) < 0)
        return -1;
    p->n_vars_total = total < (uint64_t)n ? n : (int)total;
    return 0;
}

static int parse_followers(struct json_object *obj, struct village_peer *p, char *err,
                           size_t errlen)
{
    struct json_object *arr;
    size_t n;

    p->n_followers = 0;
    if (field(obj, "followers", false, &arr, err, errlen) < 0)
        return -1;
    if (arr == NULL)
        return 0;
    if (!json_object_is_type(arr, json_type_array)) {
        set_err(err, errlen, "\"followers\" is not an array");
        return -1;
    }
    n = json_object_array_length(arr);
    /* The stream describes clusters of up to 16; only followers we can draw are kept. */
    if (n > MAX_STREAM_N) {
        set_err(err, errlen, "too many \"followers\"");
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        struct json_object *f = json_object_array_get_idx(arr, i);
        struct village_follower fl = {0};
        if (f == NULL || !json_object_is_type(f, json_type_object)) {
            set_err(err, errlen, "\"followers\"[%zu] is not an object", i);
            return -1;
        }
        if (get_peer_name(f, "peer", true, false, fl.peer, err, errlen) < 0 ||
            get_u64(f, "next_index", true, UINT64_MAX / 2, &fl.next_index, err, errlen) < 0 ||
            get_u64(f, "match_index", true, UINT64_MAX / 2, &fl.match_index, err, errlen) < 0)
            return -1;
        if (p->n_followers < VILLAGE_MAX_PEERS - 1)
            p->followers[p->n_followers++] = fl;
    }
    return 0;
}

/* "cut", "cut_to", "cut_from": arrays of at most 16 peer names, into slot bits (names
 * the village does not show are checked and skipped). */
static int parse_names(struct village_model *m, struct json_object *obj, const char *key,
                       uint16_t *bits, char *err, size_t errlen)
{
    struct json_object *arr;
    size_t n;

    if (field(obj, key, false, &arr, err, errlen) < 0)
        return -1;
    if (arr == NULL)
        return 0;
    if (!json_object_is_type(arr, json_type_array) ||
        (n = json_object_array_length(arr)) > MAX_STREAM_N) {
        set_err(err, errlen, "\"%s\" is not an array of at most %d names", key, MAX_STREAM_N);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        struct json_object *v = json_object_array_get_idx(arr, i);
        const char *name;
        int slot;
        if (v == NULL || !json_object_is_type(v, json_type_string) ||
            !village_valid_peer_name(name = json_object_get_string(v)) ||
            (size_t)json_object_get_string_len(v) != strlen(name)) {
            set_err(err, errlen, "\"%s\"[%zu] is not a peer name", key, i);
            return -1;
        }
        slot = village_model_find(m, name);
        if (slot >= 0)
            *bits |= (uint16_t)(1u << slot);
    }
    return 0;
}

/* "voters", "learners" (names), "config_pending" and "config_index": the configuration
 * the peer uses (docs/GAME_STREAM.md). Absent, as from a peer older than membership
 * changes: empty, which the village reads as "no news". */
static int parse_configuration(struct village_model *m, struct json_object *obj,
                               struct village_peer *p, char *err, size_t errlen)
{
    uint16_t voters = 0, learners = 0;

    p->conf_pending = false;
    p->conf_index = 0;
    if (parse_names(m, obj, "voters", &voters, err, errlen) < 0 ||
        parse_names(m, obj, "learners", &learners, err, errlen) < 0 ||
        get_bool(obj, "config_pending", &p->conf_pending, err, errlen) < 0 ||
        get_u64(obj, "config_index", false, UINT64_MAX / 2, &p->conf_index, err, errlen) < 0)
        return -1;
    if (voters & learners) {
        set_err(err, errlen, "a peer is both a voter and a learner");
        return -1;
    }
    p->conf_voters = voters;
    p->conf_learners = learners;
    return 0;
}

static int parse_faults(struct village_model *m, struct json_object *obj, struct village_peer *p,
                        char *err, size_t errlen)
{
    uint16_t both = 0, to = 0, from = 0;
    uint64_t delay = 0, pace = 1;
    struct json_object *v;

    p->held = p->dropped_out = p->dropped_in = 0;
    p->fast_failover = true; /* a peer that says nothing of it has it on */
    if (parse_names(m, obj, "cut", &both, err, errlen) < 0 ||
        parse_names(m, obj, "cut_to", &to, err, errlen) < 0 ||
        parse_names(m, obj, "cut_from", &from, err, errlen) < 0 ||
        get_u64(obj, "delay_ms", false, 10000, &delay, err, errlen) < 0 ||
        get_u64(obj, "held", false, UINT64_MAX / 2, &p->held, err, errlen) < 0 ||
        get_u64(obj, "dropped_out", false, UINT64_MAX / 2, &p->dropped_out, err, errlen) < 0 ||
        get_u64(obj, "dropped_in", false, UINT64_MAX / 2, &p->dropped_in, err, errlen) < 0 ||
        get_u64(obj, "pace", false, VILLAGE_PACE_MAX, &pace, err, errlen) < 0 ||
        get_bool(obj, "fast_failover", &p->fast_failover, err, errlen) < 0 ||
        field(obj, "fault", false, &v, err, errlen) < 0)
        return -1;
    if (pace < 1) {
        set_err(err, errlen, "\"pace\" is 0: it is at least 1");
        return -1;
    }
    p->pace = (unsigned)pace;
    if (v != NULL && !json_object_is_type(v, json_type_string)) {
        set_err(err, errlen, "\"fault\" is not a string");
        return -1;
    }
    p->cut_to = (uint16_t)(both | to);
    p->cut_from = (uint16_t)(both | from);
    p->delay_ms = (uint32_t)delay;
    p->fault[0] = '\0';
    /* Words for the tooltip: cut rather than refused, control characters blanked. */
    if (v != NULL) {
        const char *s = json_object_get_string(v);
        size_t k = 0;
        for (; s[k] != '\0' && k + 1 < sizeof p->fault; k++)
            p->fault[k] = (unsigned char)s[k] < 0x20 || s[k] == 0x7f ? ' ' : s[k];
        p->fault[k] = '\0';
    }
    return 0;
}

/* Entries a peer's log lost between two states: an index of the old tail now past the
 * last index, or holding another term. Indices the new tail does not cover are unknown
 * and skipped. They are kept as ghosts to show falling, and the feed is told. */
static void note_lost_entries(struct village_model *m, int slot, const struct village_peer *old,
                              struct village_peer *np, uint64_t now_ms)
{
    uint64_t lo = 0, hi = 0, term = 0;
    int n = 0;
    bool committed = false, one_term = true;

    if (old->n_log_tail == 0 || old->life == VILLAGE_ABSENT)
        return;
    for (int i = 0; i < old->n_log_tail; i++) {
        uint64_t index = old->log_tail_start + (uint64_t)i, t = old->log_tail_terms[i];
        bool lost;
        if (index > np->last_index)
            lost = true;
        else if (np->n_log_tail > 0 && index >= np->log_tail_start &&
                 index < np->log_tail_start + (uint64_t)np->n_log_tail)
            lost = np->log_tail_terms[index - np->log_tail_start] != t;
        else
            lost = false;
        if (!lost)
            continue;
        np->ghost_index[n] = index;
        np->ghost_term[n] = t;
        if (n == 0) {
            lo = index;
            term = t;
        }
        one_term = one_term && t == term;
        hi = index;
        committed = committed || index <= old->commit_index;
        n++;
    }
    if (n == 0)
        return;
    np->n_ghosts = n;
    np->ghosts_since_ms = now_ms;
    {
        char text[VILLAGE_FEED_TEXT_MAX], terms[32] = "";
        if (one_term)
            snprintf(terms, sizeof terms, ", term %" PRIu64, term);
        if (lo == hi)
            snprintf(text, sizeof text, "%s lost entry %" PRIu64 " (%s%s): %s", np->name, lo,
                     committed ? "COMMITTED" : "never committed", terms,
                     np->last_index >= lo ? "replaced by the leader's" : "cut off its log");
        else
            snprintf(text, sizeof text, "%s lost entries %" PRIu64 "..%" PRIu64 " (%s%s): %s",
                     np->name, lo, hi, committed ? "COMMITTED" : "never committed", terms,
                     np->last_index >= lo ? "replaced by the leader's" : "cut off its log");
        village_model_feed_add(m, slot, np->term, now_ms, text);
    }
}

/* Finds or assigns the slot of a peer announcing itself with name and id. */
static int slot_for(struct village_model *m, const char *name, uint64_t id, char *err,
                    size_t errlen)
{
    int slot = village_model_find(m, name);

    if (slot >= 0) {
        if (id != 0 && id != (uint64_t)slot + 1) {
            set_err(err, errlen, "%s says it is id %" PRIu64 ", the file says %d", name, id,
                    slot + 1);
            return -1;
        }
        return slot;
    }
    if (id == 0 || id > VILLAGE_MAX_PEERS) {
        set_err(err, errlen, "%s has no id the village can show", name);
        return -1;
    }
    if (m->peers[id - 1].name[0] != '\0') {
        set_err(err, errlen, "%s claims id %" PRIu64 ", which is %s", name, id,
                m->peers[id - 1].name);
        return -1;
    }
    return (int)id - 1;
}

static int feed_state(struct village_model *m, struct json_object *obj, uint64_t now_ms, char *err,
                      size_t errlen)
{
    struct village_peer np;
    char name[VILLAGE_NAME_MAX], role[24];
    uint64_t id = 0, n = 0, pid = 0, progress = 0;
    int slot;
    const uint64_t idx_max = UINT64_MAX / 2;

    if (get_peer_name(obj, "peer", true, false, name, err, errlen) < 0 ||
        get_u64(obj, "id", false, MAX_STREAM_N, &id, err, errlen) < 0 ||
        get_u64(obj, "n", false, MAX_STREAM_N, &n, err, errlen) < 0 ||
        get_u64(obj, "pid", false, INT32_MAX, &pid, err, errlen) < 0 ||
        get_str(obj, "role", true, false, role, sizeof role, err, errlen) < 0)
        return -1;
    slot = slot_for(m, name, id, err, errlen);
    if (slot < 0)
        return -1;

    np = m->peers[slot];
    if (parse_role(role, &np.role) < 0) {
        set_err(err, errlen, "unknown role \"%s\"", role);
        return -1;
    }
    if (get_u64(obj, "term", true, idx_max, &np.term, err, errlen) < 0 ||
        get_peer_name(obj, "voted_for", false, true, np.voted_for, err, errlen) < 0 ||
        get_peer_name(obj, "leader", false, true, np.leader, err, errlen) < 0 ||
        get_u64(obj, "first_index", false, idx_max, &np.first_index, err, errlen) < 0 ||
        get_u64(obj, "last_index", false, idx_max, &np.last_index, err, errlen) < 0 ||
        get_u64(obj, "commit_index", false, idx_max, &np.commit_index, err, errlen) < 0 ||
        get_u64(obj, "last_applied", false, idx_max, &np.last_applied, err, errlen) < 0 ||
        get_u64(obj, "persisted_index", false, idx_max, &np.persisted_index, err, errlen) < 0 ||
        get_u64(obj, "election_progress", false, 1000, &progress, err, errlen) < 0 ||
        get_bool(obj, "stopped", &np.stopped, err, errlen) < 0 ||
        parse_log_tail(obj, &np, err, errlen) < 0 || parse_vars(obj, &np, err, errlen) < 0 ||
        parse_followers(obj, &np, err, errlen) < 0 || parse_faults(m, obj, &np, err, errlen) < 0 ||
        parse_configuration(m, obj, &np, err, errlen) < 0)
        return -1;
    np.election_progress = (unsigned)progress;

    /* A datagram from the process the game just killed is the past, not a sign of
     * life; a new pid is a new process and always counts. */
    if (now_ms < m->peers[slot].kill_grace_until_ms &&
        (pid == 0 || (long)pid == m->peers[slot].pid))
        return 0;

    if (np.role != m->peers[slot].role)
        np.role_since_ms = now_ms;
    snprintf(np.name, sizeof np.name, "%s", name);
    np.id = slot + 1;
    np.last_heard_ms = now_ms;
    np.kill_grace_until_ms = 0;
    {
        struct village_peer old = m->peers[slot];
        note_lost_entries(m, slot, &old, &np, now_ms);
        m->peers[slot] = np;
        village_model_note_alive(m, slot, &old, (long)pid, now_ms);
    }
    if (pid != 0)
        m->peers[slot].pid = (long)pid;
    if ((int)n > m->n_heard)
        m->n_heard = (int)n;
    village_model_note_membership(m, slot, now_ms);
    village_model_recompute_n(m);
    return 0;
}

/* --- msg and event ------------------------------------------------------------------ */

static int parse_rpc(const char *s, enum village_rpc *rpc)
{
    for (int i = VILLAGE_RPC_APPEND_ENTRIES; i <= VILLAGE_RPC_TIMEOUT_NOW; i++) {
        if (strcmp(s, village_rpc_name((enum village_rpc)i)) == 0) {
            *rpc = (enum village_rpc)i;
            return 0;
        }
    }
    return -1;
}

static int feed_msg(struct village_model *m, struct json_object *obj, uint64_t now_ms, char *err,
                    size_t errlen)
{
    struct village_flight f = {0};
    char from[VILLAGE_NAME_MAX], to[VILLAGE_NAME_MAX], rpc[32];
    uint64_t n_entries = 0, delay = 0;
    bool success = false, granted = false;

    if (get_peer_name(obj, "from", true, false, from, err, errlen) < 0 ||
        get_peer_name(obj, "to", true, false, to, err, errlen) < 0 ||
        get_str(obj, "rpc", true, false, rpc, sizeof rpc, err, errlen) < 0 ||
        get_u64(obj, "term", false, UINT64_MAX / 2, &f.term, err, errlen) < 0 ||
        get_u64(obj, "n_entries", false, UINT32_MAX, &n_entries, err, errlen) < 0 ||
        get_bool(obj, "success", &success, err, errlen) < 0 ||
        get_bool(obj, "vote_granted", &granted, err, errlen) < 0 ||
        get_bool(obj, "pre_vote", &f.pre_vote, err, errlen) < 0 ||
        get_u64(obj, "delay_ms", false, 10000, &delay, err, errlen) < 0)
        return -1;
    if (parse_rpc(rpc, &f.rpc) < 0) {
        set_err(err, errlen, "unknown rpc \"%s\"", rpc);
        return -1;
    }
    f.from = village_model_find(m, from);
    f.to = village_model_find(m, to);
    if (f.from < 0 || f.to < 0 || f.from == f.to) {
        set_err(err, errlen, "message between unknown peers %s -> %s", from, to);
        return -1;
    }
    if (f.from >= m->n || f.to >= m->n)
        return 0; /* between peers not shown: nothing to draw */
    f.n_entries = (uint32_t)n_entries;
    f.ok = f.rpc == VILLAGE_RPC_REQUEST_VOTE_RESULT ? granted : success;
    f.start_ms = now_ms;
    /* It leaves the sender delay_ms after this datagram: it flies that long on screen. */
    f.flight_ms = delay > VILLAGE_FLIGHT_MS ? (uint32_t)delay : VILLAGE_FLIGHT_MS;

    /* Thin out repetitive traffic: empty heartbeats, their successful answers, and
     * entries sent again and again; votes and refusals are always drawn. Under a long
     * delay the routine kinds are thinned more, so that at most about four of each are
     * in the air between two villagers and the sky is not a swarm. */
    {
        int kind = -1;
        uint64_t gap =
            VILLAGE_ROUTINE_GAP_MS > f.flight_ms / 4 ? VILLAGE_ROUTINE_GAP_MS : f.flight_ms / 4;
        if (f.rpc == VILLAGE_RPC_APPEND_ENTRIES && f.n_entries == 0)
            kind = 0;
        else if (f.rpc == VILLAGE_RPC_APPEND_ENTRIES_RESULT && f.ok)
            kind = 1;
        else if (f.rpc == VILLAGE_RPC_APPEND_ENTRIES) {
            kind = 2;
            gap =
                VILLAGE_ENTRIES_GAP_MS > f.flight_ms / 4 ? VILLAGE_ENTRIES_GAP_MS : f.flight_ms / 4;
        }
        if (kind >= 0) {
            uint64_t *last = &m->shown_ms[f.from][f.to][kind];
            if (*last != 0 && now_ms < *last + gap) {
                m->n_thinned++;
                return 0;
            }
            *last = now_ms;
        }
    }

    village_model_push_flight(m, &f);
    return 0;
}

static int feed_event(struct village_model *m, struct json_object *obj, uint64_t now_ms, char *err,
                      size_t errlen)
{
    char name[VILLAGE_NAME_MAX];
    char text[VILLAGE_FEED_TEXT_MAX * 4];
    struct json_object *v;
    uint64_t term = 0;
    int slot;

    if (get_peer_name(obj, "peer", true, false, name, err, errlen) < 0 ||
        get_u64(obj, "term", false, UINT64_MAX / 2, &term, err, errlen) < 0 ||
        field(obj, "text", true, &v, err, errlen) < 0)
        return -1;
    if (!json_object_is_type(v, json_type_string)) {
        set_err(err, errlen, "\"text\" is not a string");
        return -1;
    }
    /* Long lines are cut rather than refused: the feed only shows the start anyway. */
    snprintf(text, sizeof text, "%s", json_object_get_string(v));
    slot = village_model_find(m, name);
    if (slot < 0) {
        set_err(err, errlen, "event from unknown peer %s", name);
        return -1;
    }
    village_model_feed_add(m, slot, term, now_ms, text);
    return 0;
}

int village_model_feed(struct village_model *m, const char *data, size_t len, uint64_t now_ms,
                       char *err, size_t errlen)
{
    struct json_tokener *tok = NULL;
    struct json_object *obj = NULL;
    char type[16];
    int rc = -1;

    if (err && errlen)
        err[0] = '\0';
    if (data == NULL || len == 0 || len > VILLAGE_DATAGRAM_MAX) {
        set_err(err, errlen, "datagram of %zu bytes", len);
        goto out;
    }
    if (memchr(data, '\0', len) != NULL) {
        set_err(err, errlen, "NUL byte in datagram");
        goto out;
    }
    tok = json_tokener_new_ex(JSON_MAX_DEPTH);
    if (tok == NULL) {
        set_err(err, errlen, "out of memory");
        goto out;
    }
    obj = json_tokener_parse_ex(tok, data, (int)len);
    if (obj == NULL || json_tokener_get_error(tok) != json_tokener_success) {
        set_err(err, errlen, "not JSON");
        goto out;
    }
    for (size_t i = json_tokener_get_parse_end(tok); i < len; i++) {
        if (data[i] != ' ' && data[i] != '\n' && data[i] != '\r' && data[i] != '\t') {
            set_err(err, errlen, "trailing bytes after the JSON object");
            goto out;
        }
    }
    if (!json_object_is_type(obj, json_type_object)) {
        set_err(err, errlen, "not a JSON object");
        goto out;
    }
    if (get_str(obj, "type", true, false, type, sizeof type, err, errlen) < 0)
        goto out;
    if (strcmp(type, "state") == 0)
        rc = feed_state(m, obj, now_ms, err, errlen);
    else if (strcmp(type, "msg") == 0)
        rc = feed_msg(m, obj, now_ms, err, errlen);
    else if (strcmp(type, "event") == 0)
        rc = feed_event(m, obj, now_ms, err, errlen);
    else
        set_err(err, errlen, "unknown type \"%s\"", type);
out:
    if (rc == 0) {
        m->n_datagrams++;
    } else {
        m->n_rejected++;
        snprintf(m->last_reject, sizeof m->last_reject, "%s", err && errlen ? err : "");
    }
    json_object_put(obj);
    if (tok)
        json_tokener_free(tok);
    return rc;
}
