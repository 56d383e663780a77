/* chaos_client.c: see chaos_client.h. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/client_protocol.h"
#include "common/net.h"
#include "tests/chaos/chaos_client.h"

static uint64_t next_rand(struct chaos_client *c)
{
    c->rng ^= c->rng << 13;
    c->rng ^= c->rng >> 7;
    c->rng ^= c->rng << 17;
    return c->rng;
}

/* "chaos-<run>-<number>", then ".<k>" once the cluster has forgotten k of its sessions. */
static void name_session(struct chaos_client *c)
{
    if (c->sessions_expired == 0)
        snprintf(c->id, sizeof(c->id), "chaos-%s-%d", c->run_id, c->number);
    else
        snprintf(c->id, sizeof(c->id), "chaos-%s-%d.%u", c->run_id, c->number, c->sessions_expired);
    c->seq = 0;
}

void chaos_client_init(struct chaos_client *c, int number, const char *run_id, uint64_t seed,
                       const struct chaos_cluster *cluster, const atomic_int *stop)
{
    memset(c, 0, sizeof(*c));
    c->number = number;
    snprintf(c->run_id, sizeof(c->run_id), "%s", run_id);
    name_session(c);
    c->cluster = cluster;
    c->target = 1 + number % cluster->n;
    c->fd = -1;
    /* Faults last up to 4 s, so some operations outlive give_up_ms and end unknown. */
    c->attempt_ms = 800;
    c->give_up_ms = 2500;
    c->rng = (seed ^ (0x9e3779b97f4a7c15ULL * (uint64_t)(number + 1))) | 1;
    c->stop = stop;
}

void chaos_client_close(struct chaos_client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->used = 0;
}

static void move_to(struct chaos_client *c, int peer)
{
    if (c->pinned)
        peer = c->pinned;
    if (peer < 1 || peer > c->cluster->n)
        peer = c->target % c->cluster->n + 1;
    if (peer != c->target)
        chaos_client_close(c);
    c->target = peer;
}

static void next_peer(struct chaos_client *c)
{
    chaos_client_close(c);
    move_to(c, c->target % c->cluster->n + 1);
}

static int send_all(int fd, const char *s, size_t len)
{
    size_t done = 0;
    while (done < len) {
        ssize_t w = send(fd, s + done, len - done, MSG_NOSIGNAL);
        if (w > 0)
            done += (size_t)w;
        else if (!(w < 0 && errno == EINTR))
            return -1;
    }
    return 0;
}

/* One response line into line (NUL-terminated, without its newline). 0, or -1 on
 * timeout, a closed or failed connection, or an over-long line. */
static int recv_line(struct chaos_client *c, char *line, size_t linelen, uint64_t deadline_ms)
{
    for (;;) {
        char *nl = memchr(c->buf, '\n', c->used);
        if (nl) {
            size_t len = (size_t)(nl - c->buf);
            if (len >= linelen)
                return -1;
            memcpy(line, c->buf, len);
            line[len] = 0;
            c->used -= len + 1;
            memmove(c->buf, nl + 1, c->used);
            return 0;
        }
        if (c->used == sizeof(c->buf))
            return -1;
        uint64_t now = chaos_now_ms();
        if (now >= deadline_ms)
            return -1;
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int r = poll(&pfd, 1, (int)(deadline_ms - now));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        ssize_t got = recv(c->fd, c->buf + c->used, sizeof(c->buf) - c->used, 0);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1;
        c->used += (size_t)got;
    }
}

static void command_text(char *out, size_t len, const char *key, enum lin_kind kind, int64_t a,
                         int64_t b)
{
    switch (kind) {
    case LIN_GET:
        snprintf(out, len, "%s get", key);
        break;
    case LIN_SET:
        snprintf(out, len, "%s set %lld", key, (long long)a);
        break;
    case LIN_ADD:
        snprintf(out, len, "%s add %lld", key, (long long)a);
        break;
    case LIN_CAS:
        snprintf(out, len, "%s cas %lld %lld", key, (long long)a, (long long)b);
        break;
    }
}

int chaos_client_do(struct chaos_client *c, const char *key, enum lin_kind kind, int64_t a,
                    int64_t b, struct chaos_op *out)
{
    struct chaos_op op = {
        .client = c->number, .kind = kind, .a = a, .b = b, .bound_us = HISTORY_NO_BOUND};
    snprintf(op.key, sizeof(op.key), "%s", key);
    /* Only writes use up a seq: a get never reaches the log, and a session must start
     * with its first write at seq 1. */
    struct client_request req = {.seq = kind == LIN_GET ? c->seq + 1 : ++c->seq};
    op.seq = req.seq;
    snprintf(req.client_id, sizeof(req.client_id), "%s", c->id);
    command_text(req.command, sizeof(req.command), key, kind, a, b);
    char line[512], answer[sizeof(c->buf)], err[128];
    int len = client_request_encode(&req, line, sizeof(line));
    bool may_have_reached = false; /* once set, every resend is marked "retry" */
    /* A quarter of the operations start at a random peer, as a client that knows nothing
     * would: a correct peer redirects it, a peer that answers on its own (a deposed
     * leader, a lagging follower) shows in the history. */
    if (!c->pinned && next_rand(c) % 4 == 0)
        move_to(c, 1 + (int)(next_rand(c) % (uint64_t)c->cluster->n));
    op.call_us = chaos_now_us();
    uint64_t deadline = op.call_us / 1000 + (uint64_t)c->give_up_ms;
    bool maybe_sent = false, done = false, expired = false;
    snprintf(op.error, sizeof(op.error), "%s", len < 0 ? "encode" : "timeout");
    while (len >= 0 && !done && chaos_now_ms() < deadline) {
        uint64_t now = chaos_now_ms();
        if (c->fd < 0) {
            int wait = (int)(deadline - now < 300 ? deadline - now : 300);
            const struct chaos_peer *p = &c->cluster->peer[c->target];
            c->fd = tcp_connect_timeout(err, sizeof(err), p->host, p->port, wait);
            if (c->fd < 0) {
                snprintf(op.error, sizeof(op.error), "connect");
                next_peer(c);
                chaos_sleep_ms(20);
                continue;
            }
            c->used = 0;
        }
        if (may_have_reached && !req.retry) {
            req.retry = true;
            len = client_request_encode(&req, line, sizeof(line));
            if (len < 0)
                break;
        }
        op.attempts++;
        maybe_sent = true;
        uint64_t wait_until = now + (uint64_t)c->attempt_ms;
        struct client_response resp;
        if (send_all(c->fd, line, (size_t)len) != 0 ||
            recv_line(c, answer, sizeof(answer), wait_until < deadline ? wait_until : deadline) !=
                0) {
            snprintf(op.error, sizeof(op.error), "no_answer");
            may_have_reached = true;
            next_peer(c);
            continue;
        }
        if (client_response_decode(answer, strlen(answer), &resp, err, sizeof(err)) != 0) {
            snprintf(op.error, sizeof(op.error), "bad_response");
            may_have_reached = true;
            next_peer(c);
            continue;
        }
        /* not_leader proves this peer did not take the request; anything else may not. */
        may_have_reached |= strcmp(resp.error, "not_leader") != 0;
        snprintf(op.error, sizeof(op.error), "%s", resp.error);
        if (resp.ok) {
            op.outcome = LIN_OK;
            op.has_result = resp.has_result;
            op.result = resp.result;
            done = true;
        } else if (!strcmp(resp.error, "not_leader")) {
            int leader = chaos_peer_number(c->cluster, resp.leader);
            if (c->pinned)
                break; /* a read of one peer's state that this peer cannot serve now */
            if (leader && leader != c->target) {
                move_to(c, leader);
            } else {
                next_peer(c);
                chaos_sleep_ms(30); /* an election is under way */
            }
        } else if (!strcmp(resp.error, "unavailable")) {
            /* The leader lost its quorum before committing: the same seq elsewhere. */
            int leader = chaos_peer_number(c->cluster, resp.leader);
            if (leader && leader != c->target)
                move_to(c, leader);
            else
                chaos_sleep_ms(20);
        } else if (!strcmp(resp.error, "session_expired")) {
            /* Not run by this answer, but an earlier attempt may have run it: unknown, and
             * no later seq of this id can ever run, so a new session takes over. */
            op.outcome = LIN_UNKNOWN;
            c->sessions_expired++;
            expired = true;
            break;
        } else {
            /* cas_failed and the like: a definite answer with no effect. Other codes
             * (stale_seq, bad_command, ...) should never come; the run reports them. */
            op.outcome = LIN_FAILED;
            op.has_result = resp.has_result;
            op.result = resp.result;
            done = true;
        }
    }
    op.return_us = chaos_now_us();
    if (expired)
        name_session(c);
    else if (!done)
        op.outcome = maybe_sent ? LIN_UNKNOWN : LIN_FAILED;
    if (!done && !maybe_sent)
        snprintf(op.error, sizeof(op.error), "not_sent");
    if (done && op.has_result && key[0] == 'k' && key[1] >= '0' &&
        key[1] < '0' + CHAOS_SHARED_KEYS && !key[2])
        c->last_seen[key[1] - '0'] = op.result;
    if (out)
        *out = op;
    if (history_append(&c->hist, &op) != 0) {
        c->oom = true;
        return -1;
    }
    return 0;
}

static int one_op(struct chaos_client *c)
{
    char key[HISTORY_KEY_MAX + 1];
    uint64_t r = next_rand(c) % 100;
    if (r < 35) {
        snprintf(key, sizeof(key), "c%d", c->number);
        if (next_rand(c) % 4 == 0)
            return chaos_client_do(c, key, LIN_GET, 0, 0, NULL);
        return chaos_client_do(c, key, LIN_ADD, 1 + (int64_t)(next_rand(c) % 9), 0, NULL);
    }
    int k = (int)(next_rand(c) % CHAOS_SHARED_KEYS);
    snprintf(key, sizeof(key), "k%d", k);
    r = next_rand(c) % 100;
    if (r < 35)
        return chaos_client_do(c, key, LIN_GET, 0, 0, NULL);
    if (r < 55)
        return chaos_client_do(c, key, LIN_SET, (int64_t)(next_rand(c) % 20), 0, NULL);
    if (r < 70)
        return chaos_client_do(c, key, LIN_ADD, 1 + (int64_t)(next_rand(c) % 5), 0, NULL);
    /* Mostly a cas that may succeed: from the last value this client saw. */
    int64_t from = next_rand(c) % 3 ? c->last_seen[k] : (int64_t)(next_rand(c) % 20);
    return chaos_client_do(c, key, LIN_CAS, from, (int64_t)(next_rand(c) % 20), NULL);
}

void *chaos_client_thread(void *arg)
{
    struct chaos_client *c = arg;
    while (!atomic_load(c->stop))
        if (one_op(c) != 0)
            break;
    if (!c->oom) {
        char key[HISTORY_KEY_MAX + 1];
        snprintf(key, sizeof(key), "c%d", c->number);
        int saved = c->give_up_ms;
        c->give_up_ms = 30000; /* the cluster is healed by now */
        chaos_client_do(c, key, LIN_ADD, 0, 0, NULL);
        c->give_up_ms = saved;
    }
    chaos_client_close(c);
    return NULL;
}
