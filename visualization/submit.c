/* submit.c: a small blocking client on a detached thread; results come back through a
 * pipe so the game's loop only ever reads a ready fd. */
#include "visualization/submit.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/client_protocol.h"
#include "common/command.h"
#include "common/net.h"
#include "common/error_message.h"

#define CONNECT_MS   400
#define ANSWER_MS    3000
#define MAX_ATTEMPTS 8
/* Results are fixed-size records, smaller than PIPE_BUF: each write is atomic and each
 * read takes exactly one. */
#define RESULT_MAX 200

struct job {
    struct submitter *s; /* only busy and pipe_wr are touched from the thread */
    struct submit_peer peers[VILLAGE_MAX_PEERS];
    int n_peers;
    int first;
    struct client_request req;
};

/* Reads one line within timeout_ms into buf. Returns its length or -1. */
static ssize_t read_reply(int fd, char *buf, size_t cap, int timeout_ms)
{
    size_t n = 0;

    while (n + 1 < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        char *nl;
        ssize_t r;
        int pr = poll(&p, 1, timeout_ms);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            return -1;
        r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        n += (size_t)r;
        buf[n] = '\0';
        nl = memchr(buf, '\n', n);
        if (nl != NULL)
            return nl - buf + 1;
    }
    return -1;
}

/* One request to one peer: 0 with resp filled, or -1 (unreachable, no answer).
 * *sent tells whether the request went out, so it may be in a leader's log. */
static int ask(const struct submit_peer *p, const char *line, size_t len,
               struct client_response *resp, bool *sent)
{
    char err[160], buf[4096];
    ssize_t n;
    int fd = tcp_connect_timeout(err, sizeof err, p->host, p->port, CONNECT_MS);
    int rc = -1;

    *sent = false;
    if (fd < 0)
        return -1;
    if (set_io_timeout(err, sizeof err, fd, ANSWER_MS) != 0) {
        close(fd);
        return -1;
    }
    ssize_t w = write(fd, line, len);
    *sent = w > 0;
    if (w == (ssize_t)len) {
        n = read_reply(fd, buf, sizeof buf, ANSWER_MS);
        if (n > 0 && client_response_decode(buf, (size_t)n, resp, err, sizeof err) == 0)
            rc = 0;
    }
    close(fd);
    return rc;
}

static int find_peer(const struct job *j, const char *name)
{
    for (int i = 0; i < j->n_peers; i++)
        if (strcmp(j->peers[i].name, name) == 0)
            return i;
    return -1;
}

static void report(struct job *j, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void report(struct job *j, const char *fmt, ...)
{
    char rec[RESULT_MAX] = {0};
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(rec, sizeof rec, fmt, ap);
    va_end(ap);
    /* If the game is gone or the pipe is full, the result is simply lost. */
    if (write(j->s->pipe_wr, rec, sizeof rec) < 0)
        return;
}

static void *worker(void *arg)
{
    struct job *j = arg;
    struct client_response resp;
    char line[512];
    int len = client_request_encode(&j->req, line, sizeof line);
    int at = j->first;

    if (len < 0) {
        report(j, "could not encode \"%s\"", j->req.command);
        goto done;
    }
    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        bool sent = false;
        memset(&resp, 0, sizeof resp);
        int rc = ask(&j->peers[at], line, (size_t)len, &resp, &sent);
        /* Once an attempt may be in a leader's log, every resend says it is a retry. */
        bool reached = sent && (rc < 0 || strcmp(resp.error, "not_leader") != 0);
        if (reached && !j->req.retry) {
            j->req.retry = true;
            len = client_request_encode(&j->req, line, sizeof line);
            if (len < 0) {
                report(j, "could not encode \"%s\"", j->req.command);
                goto done;
            }
        }
        if (rc < 0) {
            at = (at + 1) % j->n_peers; /* unreachable: try the next one */
            continue;
        }
        if (resp.ok) {
            report(j, "\"%s\" = %" PRId64 " at index %" PRIu64 " (leader %s)", j->req.command,
                   resp.result, resp.index, resp.leader[0] ? resp.leader : j->peers[at].name);
            goto done;
        }
        if (strcmp(resp.error, "not_leader") == 0) {
            int next = resp.leader[0] ? find_peer(j, resp.leader) : -1;
            at = next >= 0 ? next : (at + 1) % j->n_peers;
            if (next < 0)
                nanosleep(&(struct timespec){0, 150 * 1000000L}, NULL); /* election on */
            continue;
        }
        if (strcmp(resp.error, "unavailable") == 0) {
            /* Same seq again: the cluster keeps it exactly-once. */
            nanosleep(&(struct timespec){0, 200 * 1000000L}, NULL);
            continue;
        }
        if (strcmp(resp.error, "session_expired") == 0) {
            /* Not run by this answer, but an earlier attempt may have run it. */
            atomic_store(&j->s->session_expired, true);
            report(j, "\"%s\": outcome unknown (session expired); starting a new session",
                   j->req.command);
            goto done;
        }
        report(j, "\"%s\" failed: %s %s", j->req.command, resp.error, resp.message);
        goto done;
    }
    report(j, "\"%s\": no leader answered; is a majority alive?", j->req.command);
done:
    atomic_store(&j->s->busy, false);
    free(j);
    return NULL;
}

/* "raft-game-<pid>-<start time>", then ".<k>" after the cluster forgot k sessions. */
static void name_session(struct submitter *s)
{
    if (s->sessions_expired == 0)
        snprintf(s->client_id, sizeof s->client_id, "raft-game-%ld-%ld", (long)getpid(),
                 s->started);
    else
        snprintf(s->client_id, sizeof s->client_id, "raft-game-%ld-%ld.%u", (long)getpid(),
                 s->started, s->sessions_expired);
    s->seq = 0;
}

int submitter_init(struct submitter *s, char *err, size_t errlen)
{
    int fds[2];

    memset(s, 0, sizeof *s);
    atomic_init(&s->busy, false);
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
        set_err(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    s->pipe_rd = fds[0];
    s->pipe_wr = fds[1];
    atomic_init(&s->session_expired, false);
    s->started = (long)time(NULL);
    name_session(s);
    return 0;
}

void submitter_close(struct submitter *s)
{
    /* A worker may still be running; it only loses its result if the pipe is gone, so
     * the write end stays open until the process exits. */
    if (s->pipe_rd > 0)
        close(s->pipe_rd);
    s->pipe_rd = -1;
}

void submitter_add_peer(struct submitter *s, const char *name, const char *host, int port)
{
    struct submit_peer *p;

    if (s->n_peers >= VILLAGE_MAX_PEERS)
        return;
    p = &s->peers[s->n_peers++];
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->host, sizeof p->host, "%s", host);
    p->port = port;
}

int submitter_send(struct submitter *s, const char *command, int first_slot)
{
    struct job *j;
    pthread_t t;
    pthread_attr_t attr;
    bool expected = false;

    if (s->n_peers == 0 || strlen(command) > CLIENT_COMMAND_MAX)
        return -1;
    if (!atomic_compare_exchange_strong(&s->busy, &expected, true))
        return -1;
    /* The last request's worker found this session forgotten: no seq of it can run. */
    if (atomic_exchange(&s->session_expired, false)) {
        s->sessions_expired++;
        name_session(s);
    }
    j = calloc(1, sizeof *j);
    if (j == NULL)
        goto fail;
    j->s = s;
    memcpy(j->peers, s->peers, sizeof j->peers);
    j->n_peers = s->n_peers;
    j->first = first_slot >= 0 && first_slot < s->n_peers ? first_slot : 0;
    snprintf(j->req.client_id, sizeof j->req.client_id, "%s", s->client_id);
    /* Only writes use up a seq: a session must start with its first write at seq 1. */
    j->req.seq = command_uses_seq(command) ? ++s->seq : s->seq + 1;
    snprintf(j->req.command, sizeof j->req.command, "%s", command);
    if (pthread_attr_init(&attr) != 0)
        goto fail;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &attr, worker, j) != 0) {
        pthread_attr_destroy(&attr);
        goto fail;
    }
    pthread_attr_destroy(&attr);
    return 0;
fail:
    free(j);
    atomic_store(&s->busy, false);
    return -1;
}

int submitter_poll(struct submitter *s, char *text, size_t len)
{
    char rec[RESULT_MAX];

    if (s->pipe_rd < 0 || read(s->pipe_rd, rec, sizeof rec) != (ssize_t)sizeof rec)
        return 0;
    rec[sizeof rec - 1] = '\0';
    snprintf(text, len, "%s", rec);
    return 1;
}
