/* fault_commands.c: partition, isolate, cut, heal, delay and pace (fault_commands.h). */
#include "user_cli/fault_commands.h"

#include "common/client_protocol.h"
#include "common/config.h"
#include "common/error_message.h"

#include <ctype.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Same bound as the peers': past a few election timeouts a delay only hides the cluster. */
#define FAULT_MAX_DELAY_MS 10000
/* One word more than the most groups a cluster can have, to say "too many". */
#define FAULT_MAX_WORDS (CLUSTER_MAX_PEERS + 2)

static const char *const fault_words[] = {"partition", "isolate", "cut", "heal",
                                          "delay",     "pace",    NULL};
/* Same bound as the peers' (PACE_MAX_FACTOR). */
#define PACE_MAX_FACTOR 50

/* Splits text on blanks into words[] (pointers into buf). Returns how many, at most max;
 * max + 1 means there were more. */
static int split_words(const char *text, char *buf, size_t buflen, char **words, int max)
{
    snprintf(buf, buflen, "%s", text);
    int n = 0;
    char *save = NULL;
    for (char *w = strtok_r(buf, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
        if (n == max)
            return max + 1;
        words[n++] = w;
    }
    return n;
}

static bool is_operation(const char *w)
{
    for (int i = 0; cli_operation_words[i] != NULL; i++)
        if (strcmp(cli_operation_words[i], w) == 0)
            return true;
    return false;
}

int fault_command_matches(const char *text)
{
    char buf[256];
    char *words[3];
    int n = split_words(text, buf, sizeof(buf), words, 2);
    if (n < 1)
        return 0;
    bool known = false;
    for (int i = 0; fault_words[i] != NULL; i++)
        known = known || strcmp(words[0], fault_words[i]) == 0;
    if (!known)
        return 0;
    /* "delay get", "cut set 5": variables named like the commands. */
    return n == 1 || !is_operation(words[1]);
}

/* The cluster's index of name, or -1 with a sentence naming the cluster. */
static int peer_index(const struct cluster_client *c, const char *name, char *err, size_t errlen)
{
    int i = name[0] != '\0' ? cluster_client_find_peer(c, name) : -1;
    if (i < 0)
        set_err(err, errlen, "unknown peer '%.64s': this cluster is %s to %s", name,
                c->peers[0].name, c->peers[c->n_peers - 1].name);
    return i;
}

static struct json_object *peer_name_json(const struct cluster_client *c, int i)
{
    return json_object_new_string(c->peers[i].name);
}

/* partition GROUP GROUP...: each group a comma-separated list of peer names. */
static int build_groups(const struct cluster_client *c, char **words, int n_words,
                        struct json_object *o, char *err, size_t errlen)
{
    if (n_words < 1 || n_words > c->n_peers) {
        set_err(err, errlen,
                "usage: partition GROUP GROUP...   each GROUP is peer names joined by commas "
                "(e.g. partition peer1 peer2,peer3); 1 to %d groups",
                c->n_peers);
        return -1;
    }
    bool seen[CLUSTER_MAX_PEERS] = {false};
    struct json_object *groups = json_object_new_array();
    json_object_object_add(o, "groups", groups);
    for (int g = 0; g < n_words; g++) {
        struct json_object *group = json_object_new_array();
        json_object_array_add(groups, group);
        char *save = NULL;
        /* An empty name (",," or a trailing comma) is a typo, not a group. */
        size_t len = strlen(words[g]);
        if (words[g][0] == ',' || words[g][len - 1] == ',' || strstr(words[g], ",,")) {
            set_err(err, errlen, "group '%.64s' has an empty peer name", words[g]);
            return -1;
        }
        for (char *name = strtok_r(words[g], ",", &save); name != NULL;
             name = strtok_r(NULL, ",", &save)) {
            int i = peer_index(c, name, err, errlen);
            if (i < 0)
                return -1;
            if (seen[i]) {
                set_err(err, errlen, "%s is in more than one group", c->peers[i].name);
                return -1;
            }
            seen[i] = true;
            json_object_array_add(group, peer_name_json(c, i));
        }
    }
    return 0;
}

static int parse_delay(const char *w, char *err, size_t errlen, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(w, &end, 10);
    if (errno != 0 || end == w || *end != '\0' || !isdigit((unsigned char)w[0]) || v < 0 ||
        v > FAULT_MAX_DELAY_MS) {
        set_err(err, errlen, "usage: delay MS   MS from 0 (no delay) to %d milliseconds",
                FAULT_MAX_DELAY_MS);
        return -1;
    }
    *out = v;
    return 0;
}

/* pace F [--no-fast-failover] */
static int build_pace(char **w, int n, struct json_object *o, char *err, size_t errlen)
{
    bool fast_failover = true;
    if (n == 3 && strcmp(w[2], "--no-fast-failover") == 0) {
        fast_failover = false;
        n = 2;
    }
    char *end;
    errno = 0;
    long v = n == 2 ? strtol(w[1], &end, 10) : 0;
    if (n != 2 || errno != 0 || end == w[1] || *end != '\0' || !isdigit((unsigned char)w[1][0]) ||
        v < 1 || v > PACE_MAX_FACTOR) {
        set_err(err, errlen,
                "usage: pace FACTOR [--no-fast-failover]   FACTOR from 1 (the ini's timing) to "
                "%d times slower",
                PACE_MAX_FACTOR);
        return -1;
    }
    json_object_object_add(o, "factor", json_object_new_int64(v));
    json_object_object_add(o, "fast_failover", json_object_new_boolean(fast_failover));
    return 0;
}

/* Fills o's action and fields from the words. 0 or -1 with err. */
static int build_fields(const struct cluster_client *c, char **w, int n, struct json_object *o,
                        char *err, size_t errlen)
{
    const char *action = w[0];
    json_object_object_add(o, "action", json_object_new_string(action));
    if (strcmp(action, "partition") == 0)
        return build_groups(c, w + 1, n - 1, o, err, errlen);
    if (strcmp(action, "pace") == 0)
        return build_pace(w, n, o, err, errlen);
    if (strcmp(action, "heal") == 0) {
        if (n == 1)
            return 0;
        set_err(err, errlen, "usage: heal   (no argument: every cut link is opened again)");
        return -1;
    }
    if (strcmp(action, "isolate") == 0) {
        if (n != 2) {
            set_err(err, errlen, "usage: isolate PEER   (e.g. isolate peer1)");
            return -1;
        }
        int i = peer_index(c, w[1], err, errlen);
        if (i < 0)
            return -1;
        json_object_object_add(o, "target", peer_name_json(c, i));
        return 0;
    }
    if (strcmp(action, "cut") == 0) {
        if (n != 3) {
            set_err(err, errlen,
                    "usage: cut FROM TO   (one way: messages from FROM to TO are dropped)");
            return -1;
        }
        int from = peer_index(c, w[1], err, errlen);
        if (from < 0)
            return -1;
        int to = peer_index(c, w[2], err, errlen);
        if (to < 0)
            return -1;
        if (from == to) {
            set_err(err, errlen, "a peer has no link to itself to cut");
            return -1;
        }
        json_object_object_add(o, "from", peer_name_json(c, from));
        json_object_object_add(o, "to", peer_name_json(c, to));
        return 0;
    }
    long ms;
    if (n != 2 || parse_delay(w[1], err, errlen, &ms) != 0) {
        set_err(err, errlen, "usage: delay MS   MS from 0 (no delay) to %d milliseconds",
                FAULT_MAX_DELAY_MS);
        return -1;
    }
    json_object_object_add(o, "ms", json_object_new_int64(ms));
    return 0;
}

int fault_command_build(const struct cluster_client *c, const char *text, const char *token,
                        char *line, size_t linelen, char *err, size_t errlen)
{
    char buf[1024];
    char *words[FAULT_MAX_WORDS];
    if (strlen(text) >= sizeof(buf)) {
        set_err(err, errlen, "command too long");
        return -1;
    }
    int n = split_words(text, buf, sizeof(buf), words, FAULT_MAX_WORDS - 1);
    if (n < 1 || n >= FAULT_MAX_WORDS) {
        set_err(err, errlen, "too many groups: a cluster of %d peers has at most %d sides",
                c->n_peers, c->n_peers);
        return -1;
    }
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string("control"));
    int rc = build_fields(c, words, n, o, err, errlen);
    if (rc == 0 && token != NULL && token[0] != '\0')
        json_object_object_add(o, "token", json_object_new_string(token));
    if (rc == 0) {
        size_t len;
        const char *s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN, &len);
        if (len + 2 > linelen) {
            set_err(err, errlen, "command too long");
            rc = -1;
        } else {
            memcpy(line, s, len);
            line[len] = '\n';
            line[len + 1] = '\0';
        }
    }
    json_object_put(o);
    return rc;
}

/* What one peer said: ok, its error code and message (control bytes masked, since a
 * hostile peer must not drive the terminal). */
struct fault_answer {
    bool answered;
    bool ok;
    char error[32];
    char message[512];
};

static void copy_masked(const char *s, char *out, size_t outlen)
{
    size_t i = 0;
    for (; s[i] != '\0' && i + 1 < outlen; i++)
        out[i] = ((unsigned char)s[i] < 0x20 || s[i] == 0x7f) ? '?' : s[i];
    out[i] = '\0';
}

static void parse_answer(const char *line, size_t len, struct fault_answer *a)
{
    struct json_object *o = NULL;
    char err[128];
    if (json_line_parse(line, len, LINE_CONN_MAX, &o, err, sizeof(err)) != 0) {
        snprintf(a->error, sizeof(a->error), "bad_reply");
        copy_masked(err, a->message, sizeof(a->message));
        return;
    }
    struct json_object *v;
    a->ok = json_object_object_get_ex(o, "ok", &v) && json_object_is_type(v, json_type_boolean) &&
            json_object_get_boolean(v);
    if (json_object_object_get_ex(o, "error", &v) && json_object_is_type(v, json_type_string))
        copy_masked(json_object_get_string(v), a->error, sizeof(a->error));
    if (json_object_object_get_ex(o, "message", &v) && json_object_is_type(v, json_type_string))
        copy_masked(json_object_get_string(v), a->message, sizeof(a->message));
    if (!a->ok && a->error[0] == '\0')
        snprintf(a->error, sizeof(a->error), "refused");
    json_object_put(o);
}

/* One connection per peer, one line each way, within the per-peer bound. */
static void ask_peer(const struct cluster_peer *peer, const char *line, int timeout_ms,
                     struct line_conn *conn, struct fault_answer *a, FILE *raw_out)
{
    char err[256];
    const char *reply;
    size_t len;
    memset(a, 0, sizeof(*a));
    if (line_conn_open(conn, peer->host, peer->port, timeout_ms, err, sizeof(err)) !=
            LINE_CONN_OK ||
        line_conn_send(conn, line, strlen(line), timeout_ms, err, sizeof(err)) != LINE_CONN_OK ||
        line_conn_read_line(conn, &reply, &len, timeout_ms, err, sizeof(err)) != LINE_CONN_OK) {
        copy_masked(err, a->message, sizeof(a->message));
        line_conn_close(conn);
        return;
    }
    a->answered = true;
    if (raw_out != NULL)
        fprintf(raw_out, "%s\n", reply);
    parse_answer(reply, len, a);
    line_conn_close(conn);
}

int fault_command_run(struct cli_session *s, const char *text)
{
    struct cluster_client *c = s->client;
    char line[FAULT_LINE_MAX];
    char err[512];
    if (fault_command_build(c, text, s->token, line, sizeof(line), err, sizeof(err)) != 0) {
        fprintf(s->errout, "error: %s\n", err);
        fflush(s->errout);
        return CLI_FAILED;
    }
    struct line_conn *conn = malloc(sizeof(*conn));
    if (conn == NULL) {
        fprintf(s->errout, "error: out of memory\n");
        return CLI_FAILED;
    }
    line_conn_init(conn);
    int ms = c->timeout_ms < CLUSTER_ATTEMPT_CAP_MS ? c->timeout_ms : CLUSTER_ATTEMPT_CAP_MS;
    int answered = 0, refused = 0, forbidden = 0;
    for (int i = 0; i < c->n_peers; i++) {
        struct fault_answer a;
        ask_peer(&c->peers[i], line, ms, conn, &a, s->json ? s->out : NULL);
        answered += a.answered;
        /* Past the command line's N, a peer of the file is in the cluster only if it
         * was added since: one that does not answer is most likely not a member. */
        if (!a.answered && i >= c->n_first)
            continue;
        if (!a.answered) {
            if (!s->json)
                fprintf(s->out,
                        "%s: not reached (%s); the others still enforce cuts on its links\n",
                        c->peers[i].name, a.message);
        } else if (!a.ok) {
            refused++;
            forbidden += strcmp(a.error, "forbidden") == 0;
            if (!s->json)
                fprintf(s->out, "%s: refused (%s): %s\n", c->peers[i].name, a.error, a.message);
        } else if (!s->json) {
            fprintf(s->out, "%s\n", a.message);
        }
    }
    free(conn);
    fflush(s->out);
    if (answered == 0) {
        fprintf(s->errout, "error: no peer answered within %g s each\n", ms / 1000.0);
        fflush(s->errout);
        return CLI_UNREACHABLE;
    }
    if (refused > 0) {
        if (forbidden > 0)
            fprintf(s->errout,
                    "error: %d of %d peers refused: network faults and the pace need peers started "
                    "with -v "
                    "(and the ini's token, which user_cli sends; from another machine than the "
                    "peer's, the ini must set one)\n",
                    forbidden, c->n_peers);
        else
            fprintf(s->errout, "error: %d of %d peers refused the command\n", refused, c->n_peers);
        fflush(s->errout);
        return CLI_FAILED;
    }
    return CLI_OK;
}
