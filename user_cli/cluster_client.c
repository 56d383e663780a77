/* cluster_client.c: leader finding, redirects and exactly-once retries.
 *
 * Every retry resends the same request, seq included, so a request the cluster
 * already applied is answered from its session table instead of being applied
 * twice. That is what makes it safe to retry after a lost reply. Once an attempt
 * may have reached a leader's log, the resent line says "retry":true, so that a
 * cluster which has dropped this client's session answers session_expired
 * rather than taking the request for a new client's first one. */
#include "user_cli/cluster_client.h"

#include "common/command.h"
#include "common/error_message.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

static uint32_t random_u32(void)
{
    uint32_t v;
    if (getrandom(&v, sizeof(v), 0) == (ssize_t)sizeof(v))
        return v;
    /* No entropy (very old kernel, seccomp): ids only need to differ between runs. */
    return (uint32_t)line_conn_now_ms() ^ ((uint32_t)getpid() << 16) ^ (uint32_t)time(NULL);
}

void cluster_client_new_id(char *buf, size_t buflen)
{
    snprintf(buf, buflen, "cli-%08x", (unsigned)random_u32());
}

struct cluster_client *cluster_client_create(const struct cluster_peer *peers, int n_peers,
                                             int timeout_ms, char *err, size_t errlen)
{
    if (n_peers < 1 || n_peers > CLUSTER_MAX_PEERS) {
        set_err(err, errlen, "cluster of %d peers: expected 1 to %d", n_peers, CLUSTER_MAX_PEERS);
        return NULL;
    }
    struct cluster_client *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    memcpy(c->peers, peers, sizeof(peers[0]) * (size_t)n_peers);
    c->n_peers = n_peers;
    c->n_first = n_peers;
    c->leader = -1;
    c->cursor = (int)(random_u32() % (uint32_t)n_peers);
    c->conn_peer = -1;
    c->timeout_ms = timeout_ms > 0 ? timeout_ms : 1;
    c->next_seq = 1;
    cluster_client_new_id(c->client_id, sizeof(c->client_id));
    line_conn_init(&c->conn);
    return c;
}

void cluster_client_destroy(struct cluster_client *c)
{
    if (c == NULL)
        return;
    line_conn_close(&c->conn);
    free(c);
}

void cluster_client_set_first(struct cluster_client *c, int n_first)
{
    c->n_first = (n_first >= 1 && n_first <= c->n_peers) ? n_first : c->n_peers;
    c->cursor = (int)(random_u32() % (uint32_t)c->n_first);
    c->misses = 0;
    c->widened = false;
}

int cluster_client_find_peer(const struct cluster_client *c, const char *name)
{
    for (int i = 0; i < c->n_peers; i++)
        if (strcmp(c->peers[i].name, name) == 0)
            return i;
    return -1;
}

static int find_peer_by_addr(const struct cluster_client *c, const char *host, int port)
{
    for (int i = 0; i < c->n_peers; i++)
        if (c->peers[i].port == port && strcmp(c->peers[i].host, host) == 0)
            return i;
    return -1;
}

const char *cluster_client_leader(const struct cluster_client *c)
{
    return c->leader >= 0 ? c->peers[c->leader].name : NULL;
}

void cluster_client_set_leader(struct cluster_client *c, int idx)
{
    c->leader = (idx >= 0 && idx < c->n_peers) ? idx : -1;
}

/* target did not work out: stop believing in it and ask the next peer next time.
 * Once the first n_first peers have all failed to name a leader in a row, the
 * configuration has perhaps moved past them: the rest of the file comes next. */
static void forget(struct cluster_client *c, int target)
{
    if (c->leader == target)
        c->leader = -1;
    if (!c->widened && ++c->misses >= c->n_first && c->n_first < c->n_peers) {
        c->widened = true;
        c->cursor = c->n_first;
        return;
    }
    c->cursor = (target + 1) % (c->widened ? c->n_peers : c->n_first);
}

static void drop_conn(struct cluster_client *c)
{
    line_conn_close(&c->conn);
    c->conn_peer = -1;
}

static void sleep_ms(long long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void unreachable_message(const struct cluster_client *c, unsigned tried, const char *last,
                                char *err, size_t errlen)
{
    char names[512] = "";
    size_t used = 0;
    for (int i = 0; i < c->n_peers; i++) {
        if (!(tried & (1u << i)))
            continue;
        int n = snprintf(names + used, sizeof(names) - used, "%s%s", used ? ", " : "",
                         c->peers[i].name);
        if (n < 0 || (size_t)n >= sizeof(names) - used)
            break;
        used += (size_t)n;
    }
    set_err(err, errlen, "no leader reachable within %g s (tried %s)%s%s", c->timeout_ms / 1000.0,
            used ? names : "nobody", last[0] ? "; last: " : "", last);
}

/* Outcome of one attempt against one peer. */
enum attempt {
    ATTEMPT_DONE,     /* a definitive answer is in *resp */
    ATTEMPT_REDIRECT, /* c->leader now names another peer: try it at once */
    ATTEMPT_BACKOFF,  /* wait, then try again (same or next peer) */
    ATTEMPT_AGAIN,    /* a reused connection was stale: reconnect at once */
};

/* *reached is set when the request may have reached a leader's log: it was sent
 * (or partly sent) and not refused with not_leader, which proves the peer did not
 * take it. */
static enum attempt attempt_once(struct cluster_client *c, int target, const char *line, size_t len,
                                 long long deadline, bool patient, struct client_response *resp,
                                 const char **raw, bool *reached, char *last, size_t lastlen)
{
    const struct cluster_peer *p = &c->peers[target];
    char e[256];
    long long left = deadline - line_conn_now_ms();
    int attempt_ms = left > CLUSTER_ATTEMPT_CAP_MS ? CLUSTER_ATTEMPT_CAP_MS : (int)left;
    int answer_ms = patient && left > 0 ? (int)left : attempt_ms;
    bool reused = c->conn_peer == target && line_conn_is_open(&c->conn);

    if (!reused) {
        drop_conn(c);
        if (line_conn_open(&c->conn, p->host, p->port, attempt_ms, e, sizeof(e)) != 0) {
            snprintf(last, lastlen, "%s: %s", p->name, e);
            forget(c, target);
            return ATTEMPT_BACKOFF;
        }
        c->conn_peer = target;
    }
    const char *reply = NULL;
    size_t rlen = 0;
    *reached = true;
    int rc = line_conn_send(&c->conn, line, len, attempt_ms, e, sizeof(e));
    if (rc == LINE_CONN_OK)
        rc = line_conn_read_line(&c->conn, &reply, &rlen, answer_ms, e, sizeof(e));
    if (rc != LINE_CONN_OK) {
        /* A late reply on this connection would answer the old attempt: never reuse it. */
        drop_conn(c);
        snprintf(last, lastlen, "%s: %s", p->name, e);
        /* The peer may have restarted since the connection was opened. */
        if (reused && rc != LINE_CONN_TIMEOUT)
            return ATTEMPT_AGAIN;
        forget(c, target);
        return ATTEMPT_BACKOFF;
    }
    if (client_response_decode(reply, rlen, resp, e, sizeof(e)) != 0) {
        drop_conn(c);
        snprintf(last, lastlen, "%s sent an unreadable reply: %s", p->name, e);
        forget(c, target);
        return ATTEMPT_BACKOFF;
    }
    if (raw != NULL)
        *raw = reply;
    if (resp->ok) {
        c->leader = target;
        c->misses = 0;
        return ATTEMPT_DONE;
    }
    if (strcmp(resp->error, "unavailable") == 0) {
        snprintf(c->interrupted, sizeof(c->interrupted), "%s",
                 resp->message[0] ? resp->message : "unavailable");
        snprintf(last, lastlen, "%s could not commit: %s", p->name,
                 resp->message[0] ? resp->message : "unavailable");
        return ATTEMPT_BACKOFF;
    }
    if (strcmp(resp->error, "not_leader") != 0)
        return ATTEMPT_DONE;
    *reached = false;

    int idx = resp->leader[0] ? cluster_client_find_peer(c, resp->leader) : -1;
    if (idx < 0 && resp->host[0] && resp->port > 0)
        idx = find_peer_by_addr(c, resp->host, resp->port);
    if (idx >= 0 && idx != target) {
        snprintf(last, lastlen, "%s redirected to %s", p->name, c->peers[idx].name);
        c->leader = idx;
        c->misses = 0;
        return ATTEMPT_REDIRECT;
    }
    snprintf(last, lastlen, "%s does not know the leader", p->name);
    forget(c, target);
    return ATTEMPT_BACKOFF;
}

/* Sends first, then, once an attempt may have reached a leader's log, resend on
 * every later attempt (the same request marked as a retry). */
static int request_until_answered(struct cluster_client *c, const char *first, size_t first_len,
                                  const char *resend, size_t resend_len, bool patient,
                                  struct client_response *resp, const char **raw, char *err,
                                  size_t errlen)
{
    long long deadline = line_conn_now_ms() + c->timeout_ms;
    long long backoff = CLUSTER_BACKOFF_FIRST_MS;
    unsigned tried = 0;
    int quick = 0; /* retries without a pause since the last backoff */
    char last[512] = "";
    bool may_have_reached = false;

    if (raw != NULL)
        *raw = NULL;
    c->interrupted[0] = '\0';
    while (line_conn_now_ms() < deadline) {
        int target = c->leader >= 0 ? c->leader : c->cursor;
        tried |= 1u << target;
        const char *line = may_have_reached ? resend : first;
        size_t len = may_have_reached ? resend_len : first_len;
        bool reached = false;
        enum attempt a = attempt_once(c, target, line, len, deadline, patient, resp, raw, &reached,
                                      last, sizeof(last));
        may_have_reached |= reached;
        if (a == ATTEMPT_DONE)
            return CLUSTER_OK;
        /* Peers pointing at each other (a stale leader hint) must not spin. */
        if (a != ATTEMPT_BACKOFF && ++quick <= c->n_peers + 1)
            continue;
        long long left = deadline - line_conn_now_ms();
        if (left <= 0)
            break;
        sleep_ms(backoff < left ? backoff : left);
        backoff = backoff * 2 > CLUSTER_BACKOFF_CAP_MS ? CLUSTER_BACKOFF_CAP_MS : backoff * 2;
        quick = 0;
    }
    unreachable_message(c, tried, last, err, errlen);
    return CLUSTER_UNREACHABLE;
}

int cluster_client_request(struct cluster_client *c, const char *line, size_t len,
                           struct client_response *resp, const char **raw, char *err, size_t errlen)
{
    return request_until_answered(c, line, len, line, len, false, resp, raw, err, errlen);
}

int cluster_client_request_patient(struct cluster_client *c, const char *line, size_t len,
                                   struct client_response *resp, const char **raw, char *err,
                                   size_t errlen)
{
    return request_until_answered(c, line, len, line, len, true, resp, raw, err, errlen);
}

void cluster_client_new_session(struct cluster_client *c)
{
    cluster_client_new_id(c->client_id, sizeof(c->client_id));
    c->next_seq = 1;
}

/* Encodes req into line; false when it does not fit. */
static bool encode_request(const struct client_request *req, char *line, size_t size, size_t *len)
{
    int n = client_request_encode(req, line, size);
    if (n <= 0 || (size_t)n >= size)
        return false;
    *len = (size_t)n;
    return true;
}

int cluster_client_submit(struct cluster_client *c, const char *command,
                          struct client_response *resp, const char **raw, char *err, size_t errlen)
{
    struct client_request req;
    char first[1024], resend[1024];
    size_t first_len, resend_len;

    memset(&req, 0, sizeof(req));
    if (strlen(command) >= sizeof(req.command)) {
        set_err(err, errlen, "command longer than %zu bytes", sizeof(req.command) - 1);
        return CLUSTER_EINVAL;
    }
    snprintf(req.client_id, sizeof(req.client_id), "%s", c->client_id);
    snprintf(req.command, sizeof(req.command), "%s", command);
    /* A read never reaches the log, so it must not use up a seq: a session starts
     * with the first write, which has to be seq 1 (docs/PROTOCOL.md). */
    req.seq = command_uses_seq(command) ? c->next_seq++ : c->next_seq;
    bool encoded = encode_request(&req, first, sizeof(first), &first_len);
    req.retry = true;
    if (!encoded || !encode_request(&req, resend, sizeof(resend), &resend_len)) {
        set_err(err, errlen, "cannot encode the request");
        return CLUSTER_EINVAL;
    }
    int rc = request_until_answered(c, first, first_len, resend, resend_len, false, resp, raw, err,
                                    errlen);
    /* The cluster forgot this session: no later seq of this id could ever run. */
    if (rc == CLUSTER_OK && !resp->ok && strcmp(resp->error, "session_expired") == 0)
        cluster_client_new_session(c);
    return rc;
}

int cluster_client_transfer(struct cluster_client *c, const char *target,
                            struct client_response *resp, const char **raw, char *err,
                            size_t errlen)
{
    char line[512];
    int rc = CLUSTER_EINVAL;

    if (cluster_client_find_peer(c, target) < 0) {
        set_err(err, errlen, "unknown peer '%s': the cluster is", target);
        for (int i = 0; i < c->n_peers; i++) {
            size_t used = strlen(err);
            snprintf(err + used, errlen - used, "%s %s", i ? "," : "", c->peers[i].name);
        }
        return CLUSTER_EINVAL;
    }
    json_object *o = json_object_new_object();
    if (o == NULL)
        goto oom;
    if (json_object_object_add(o, "type", json_object_new_string("transfer")) != 0 ||
        json_object_object_add(o, "target", json_object_new_string(target)) != 0)
        goto oom;
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    int n = snprintf(line, sizeof(line), "%s\n", s ? s : "");
    if (s == NULL || n <= 0 || (size_t)n >= sizeof(line))
        goto oom;
    rc = cluster_client_request(c, line, (size_t)n, resp, raw, err, errlen);
    json_object_put(o);
    return rc;
oom:
    json_object_put(o);
    set_err(err, errlen, "cannot encode the transfer request");
    return CLUSTER_EINVAL;
}
