/* status_table.c: status fetch, parse and the cluster table. */
#include "user_cli/status_table.h"

#include "common/client_protocol.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

/* Copies a JSON string, replacing control bytes so a hostile peer cannot drive the
 * user's terminal. A missing or non-string value gives "". */
static void copy_str(json_object *v, char *out, size_t outlen)
{
    out[0] = '\0';
    if (v == NULL || !json_object_is_type(v, json_type_string))
        return;
    const char *s = json_object_get_string(v);
    size_t i = 0;
    for (; s[i] != '\0' && i + 1 < outlen; i++)
        out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
    out[i] = '\0';
}

/* A string field, as copy_str. */
static void get_str(json_object *o, const char *key, char *out, size_t outlen)
{
    json_object *v = NULL;
    json_object_object_get_ex(o, key, &v);
    copy_str(v, out, outlen);
}

static long long get_num(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int))
        return -1;
    long long n = (long long)json_object_get_int64(v);
    return n < 0 ? -1 : n;
}

/* 1, 0, or -1 when the field is missing or not a boolean. */
static int get_flag(json_object *o, const char *key)
{
    json_object *v;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_boolean))
        return -1;
    return json_object_get_boolean(v) ? 1 : 0;
}

static void parse_followers(json_object *o, struct peer_status *st)
{
    json_object *arr;
    st->n_followers = 0;
    if (!json_object_object_get_ex(o, "followers", &arr) ||
        !json_object_is_type(arr, json_type_array))
        return;
    size_t n = json_object_array_length(arr);
    for (size_t i = 0; i < n && st->n_followers < CLUSTER_MAX_PEERS; i++) {
        json_object *f = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(f, json_type_object))
            continue;
        struct peer_follower *pf = &st->followers[st->n_followers++];
        get_str(f, "name", pf->name, sizeof(pf->name));
        pf->match_index = get_num(f, "match_index");
        pf->next_index = get_num(f, "next_index");
        pf->voter = get_flag(f, "voter");
        pf->caught_up = get_flag(f, "caught_up");
    }
}

/* The names of an array field, each masked like get_str; empty strings skipped. */
static int get_name_list(json_object *o, const char *key, char (*names)[64])
{
    json_object *arr;
    int n = 0;
    if (!json_object_object_get_ex(o, key, &arr) || !json_object_is_type(arr, json_type_array))
        return 0;
    size_t len = json_object_array_length(arr);
    for (size_t i = 0; i < len && n < CLUSTER_MAX_PEERS; i++) {
        copy_str(json_object_array_get_idx(arr, i), names[n], sizeof(names[n]));
        if (names[n][0] != '\0')
            n++;
    }
    return n;
}

const struct peer_follower *status_follower(const struct peer_status *st, const char *name)
{
    for (int i = 0; i < st->n_followers; i++)
        if (strcmp(st->followers[i].name, name) == 0)
            return &st->followers[i];
    return NULL;
}

/* Joins the strings of an array field with ", " (masked like get_str); "" if none. */
static void get_names(json_object *o, const char *key, char *out, size_t outlen)
{
    json_object *arr;
    out[0] = '\0';
    if (!json_object_object_get_ex(o, key, &arr) || !json_object_is_type(arr, json_type_array))
        return;
    size_t n = json_object_array_length(arr);
    for (size_t i = 0; i < n && i < CLUSTER_MAX_PEERS; i++) {
        char name[64];
        copy_str(json_object_array_get_idx(arr, i), name, sizeof(name));
        size_t used = strlen(out);
        if (name[0] != '\0')
            snprintf(out + used, outlen - used, "%s%s", used ? ", " : "", name);
    }
}

int status_parse(const char *line, size_t len, struct peer_status *st, char *err, size_t errlen)
{
    memset(st, 0, sizeof(*st));
    st->term = st->commit_index = st->last_applied = -1;
    st->log_length = st->first_index = st->snapshot_index = -1;

    json_object *o = NULL;
    if (json_line_parse(line, len, LINE_CONN_MAX, &o, err, errlen) != 0)
        return -1;
    get_str(o, "name", st->name, sizeof(st->name));
    get_str(o, "role", st->role, sizeof(st->role));
    get_str(o, "leader", st->leader, sizeof(st->leader));
    get_str(o, "voted_for", st->voted_for, sizeof(st->voted_for));
    st->term = get_num(o, "term");
    st->commit_index = get_num(o, "commit_index");
    st->last_applied = get_num(o, "last_applied");
    st->log_length = get_num(o, "log_length");
    st->first_index = get_num(o, "first_index");
    st->snapshot_index = get_num(o, "snapshot_index");
    parse_followers(o, st);
    st->n_voters = get_name_list(o, "voters", st->voters);
    st->n_learners = get_name_list(o, "learners", st->learners);
    st->config_pending = get_flag(o, "config_pending");
    get_names(o, "cut", st->cut, sizeof(st->cut));
    get_names(o, "cut_to", st->cut_to, sizeof(st->cut_to));
    get_names(o, "cut_from", st->cut_from, sizeof(st->cut_from));
    get_str(o, "fault", st->fault, sizeof(st->fault));
    st->delay_ms = get_num(o, "delay_ms");
    st->pace = get_num(o, "pace");
    st->fast_failover = get_flag(o, "fast_failover");
    json_object_put(o);
    st->reachable = true;
    return 0;
}

void status_fetch(const struct cluster_peer *peer, int timeout_ms, struct peer_status *st,
                  char *raw, size_t rawlen)
{
    static const char request[] = "{\"type\":\"status\"}\n";
    char e[160];
    const char *line;
    size_t len;

    memset(st, 0, sizeof(*st));
    if (raw != NULL && rawlen > 0)
        raw[0] = '\0';
    struct line_conn *c = malloc(sizeof(*c));
    if (c == NULL) {
        snprintf(st->problem, sizeof(st->problem), "out of memory");
        return;
    }
    line_conn_init(c);
    if (line_conn_open(c, peer->host, peer->port, timeout_ms, e, sizeof(e)) != 0 ||
        line_conn_send(c, request, sizeof(request) - 1, timeout_ms, e, sizeof(e)) != 0 ||
        line_conn_read_line(c, &line, &len, timeout_ms, e, sizeof(e)) != 0) {
        snprintf(st->problem, sizeof(st->problem), "%s", e);
        goto out;
    }
    if (raw != NULL && rawlen > 0)
        snprintf(raw, rawlen, "%s", line);
    if (status_parse(line, len, st, e, sizeof(e)) != 0)
        snprintf(st->problem, sizeof(st->problem), "%s", e);
out:
    line_conn_close(c);
    free(c);
}

int status_find_leader(const struct peer_status *st, int n)
{
    int best = -1;
    for (int i = 0; i < n; i++) {
        if (!st[i].reachable || strcmp(st[i].role, "leader") != 0)
            continue;
        if (best < 0 || st[i].term > st[best].term)
            best = i;
    }
    return best;
}

enum {
    COL_NAME,
    COL_ADDR,
    COL_STATE,
    COL_ROLE,
    COL_TERM,
    COL_LEADER,
    COL_COMMIT,
    COL_APPLIED,
    COL_LOG,
    N_COLS
};

static const char *const headers[N_COLS] = {"NAME",   "ADDRESS", "STATE",   "ROLE", "TERM",
                                            "LEADER", "COMMIT",  "APPLIED", "LOG"};

static void num_cell(char *cell, size_t len, long long v)
{
    if (v < 0)
        snprintf(cell, len, "-");
    else
        snprintf(cell, len, "%lld", v);
}

static void fill_row(char cells[N_COLS][300], const struct cluster_peer *p,
                     const struct peer_status *s)
{
    snprintf(cells[COL_NAME], 300, "%s", p->name);
    snprintf(cells[COL_ADDR], 300, "%s:%d", p->host, p->port);
    snprintf(cells[COL_STATE], 300, "%s", s->reachable ? "up" : "DOWN");
    snprintf(cells[COL_ROLE], 300, "%s", s->reachable && s->role[0] ? s->role : "-");
    snprintf(cells[COL_LEADER], 300, "%s", s->reachable && s->leader[0] ? s->leader : "-");
    num_cell(cells[COL_TERM], 300, s->reachable ? s->term : -1);
    num_cell(cells[COL_COMMIT], 300, s->reachable ? s->commit_index : -1);
    num_cell(cells[COL_APPLIED], 300, s->reachable ? s->last_applied : -1);
    num_cell(cells[COL_LOG], 300, s->reachable ? s->log_length : -1);
}

static void print_row(FILE *out, char cells[N_COLS][300], const int *width)
{
    for (int col = 0; col < N_COLS; col++) {
        bool numeric = col == COL_TERM || col >= COL_COMMIT;
        const char *sep = col + 1 < N_COLS ? "  " : "";
        if (numeric)
            fprintf(out, "%*s%s", width[col], cells[col], sep);
        else if (col + 1 < N_COLS)
            fprintf(out, "%-*s%s", width[col], cells[col], sep);
        else
            fprintf(out, "%s", cells[col]);
    }
    fputc('\n', out);
}

/* One line per peer with a network fault in force; nothing when there is none. */
static void print_faults(FILE *out, const struct cluster_peer *p, const struct peer_status *s)
{
    if (!s->reachable ||
        (s->cut[0] == '\0' && s->cut_to[0] == '\0' && s->cut_from[0] == '\0' && s->delay_ms <= 0))
        return;
    fprintf(out, "network faults on %s:", p->name);
    const char *sep = " ";
    if (s->cut[0] != '\0') {
        fprintf(out, "%scut from %s", sep, s->cut);
        sep = "; ";
    }
    if (s->cut_to[0] != '\0') {
        fprintf(out, "%ssends nothing to %s", sep, s->cut_to);
        sep = "; ";
    }
    if (s->cut_from[0] != '\0') {
        fprintf(out, "%signores %s", sep, s->cut_from);
        sep = "; ";
    }
    if (s->delay_ms > 0)
        fprintf(out, "%sdelays peer messages by %lld ms", sep, s->delay_ms);
    if (s->fault[0] != '\0')
        fprintf(out, " (%s)", s->fault);
    fputc('\n', out);
}

/* One line per peer not at the ini's timing (docs/CONTRACT.md, "Lesson pace"). */
static void print_pace(FILE *out, const struct cluster_peer *p, const struct peer_status *s)
{
    if (!s->reachable || (s->pace <= 1 && s->fast_failover != 0))
        return;
    fprintf(out, "lesson pace on %s: %lldx the ini's timeouts and heartbeat; fast failover %s\n",
            p->name, s->pace > 1 ? s->pace : 1, s->fast_failover == 0 ? "off" : "on");
}

void status_table_print(FILE *out, const struct cluster_peer *peers, const struct peer_status *st,
                        int n)
{
    int width[N_COLS];
    char(*cells)[N_COLS][300] = calloc((size_t)n + 1, sizeof(*cells));
    if (cells == NULL) {
        fprintf(out, "out of memory\n");
        return;
    }
    for (int col = 0; col < N_COLS; col++) {
        snprintf(cells[0][col], 300, "%s", headers[col]);
        width[col] = (int)strlen(headers[col]);
    }
    for (int i = 0; i < n; i++) {
        fill_row(cells[i + 1], &peers[i], &st[i]);
        for (int col = 0; col < N_COLS; col++) {
            int w = (int)strlen(cells[i + 1][col]);
            if (w > width[col])
                width[col] = w;
        }
    }
    for (int i = 0; i <= n; i++)
        print_row(out, cells[i], width);
    free(cells);

    for (int i = 0; i < n; i++)
        if (!st[i].reachable)
            fprintf(out, "%s is unreachable: %s\n", peers[i].name,
                    st[i].problem[0] ? st[i].problem : "no answer");
    for (int i = 0; i < n; i++)
        print_faults(out, &peers[i], &st[i]);
    for (int i = 0; i < n; i++)
        print_pace(out, &peers[i], &st[i]);
    int lead = status_find_leader(st, n);
    if (lead >= 0 && st[lead].n_followers > 0) {
        fprintf(out, "replication seen by %s:", peers[lead].name);
        for (int f = 0; f < st[lead].n_followers; f++) {
            const struct peer_follower *pf = &st[lead].followers[f];
            fprintf(out, "%s %s match %lld next %lld", f ? "," : "", pf->name[0] ? pf->name : "?",
                    pf->match_index, pf->next_index);
            if (pf->voter == 0)
                fprintf(out, " (learner%s)",
                        pf->caught_up == 1   ? ", caught up"
                        : pf->caught_up == 0 ? ", catching up"
                                             : "");
        }
        fputc('\n', out);
    } else if (lead < 0) {
        fprintf(out, "no peer claims to be the leader\n");
    }
}
