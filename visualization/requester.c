/* requester.c: a blocking client on a detached thread, shared by the game's command and
 * membership requests (requester.h). */
#include "visualization/requester.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/error_message.h"
#include "common/net.h"

#define CONNECT_MS 400
/* Results are fixed-size records, smaller than PIPE_BUF: each write is atomic and each
 * read takes exactly one. */
#define RESULT_MAX 200

int requester_init(struct requester *r, char *err, size_t errlen)
{
    int fds[2];

    memset(r, 0, sizeof *r);
    atomic_init(&r->busy, false);
    r->pipe_rd = r->pipe_wr = -1;
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
        set_err(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    r->pipe_rd = fds[0];
    r->pipe_wr = fds[1];
    return 0;
}

void requester_close(struct requester *r)
{
    /* The write end stays open until the process exits: a worker still running writes
     * into it without a SIGPIPE. */
    if (r->pipe_rd >= 0)
        close(r->pipe_rd);
    r->pipe_rd = -1;
}

void requester_add_peer(struct requester *r, const char *name, const char *host, int port)
{
    if (r->n_peers >= VILLAGE_MAX_PEERS)
        return;
    struct requester_peer *p = &r->peers[r->n_peers++];
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->host, sizeof p->host, "%s", host);
    p->port = port;
}

bool requester_claim(struct requester *r)
{
    bool expected = false;
    if (r->n_peers == 0 || r->pipe_wr < 0)
        return false;
    return atomic_compare_exchange_strong(&r->busy, &expected, true);
}

void requester_unclaim(struct requester *r)
{
    atomic_store(&r->busy, false);
}

void requester_targets(const struct requester *r, int first, struct requester_targets *t)
{
    memcpy(t->peers, r->peers, sizeof t->peers);
    t->n_peers = r->n_peers;
    t->at = first >= 0 && first < r->n_peers ? first : 0;
}

int requester_start(struct requester *r, void *(*fn)(void *), void *job)
{
    pthread_t thread;
    pthread_attr_t attr;
    int rc = -1;

    if (pthread_attr_init(&attr) == 0) {
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        rc = pthread_create(&thread, &attr, fn, job) == 0 ? 0 : -1;
        pthread_attr_destroy(&attr);
    }
    if (rc != 0)
        requester_unclaim(r);
    return rc;
}

void requester_finish(struct requester *r, const char *fmt, ...)
{
    char rec[RESULT_MAX] = {0};
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(rec, sizeof rec, fmt, ap);
    va_end(ap);
    /* If the game is gone or the pipe is full, the result is simply lost. */
    ssize_t written = write(r->pipe_wr, rec, sizeof rec);
    (void)written;
    requester_unclaim(r);
}

/* Reads one line within timeout_ms into buf. Returns its length or -1. */
static ssize_t read_reply(int fd, char *buf, size_t cap, int timeout_ms)
{
    size_t n = 0;

    while (n + 1 < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int pr = poll(&p, 1, timeout_ms);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            return -1;
        ssize_t got = read(fd, buf + n, cap - 1 - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got <= 0)
            return -1;
        n += (size_t)got;
        buf[n] = '\0';
        char *nl = memchr(buf, '\n', n);
        if (nl != NULL)
            return nl - buf + 1;
    }
    return -1;
}

int requester_ask(const struct requester_targets *t, const char *line, size_t len, int answer_ms,
                  struct client_response *resp, bool *sent)
{
    const struct requester_peer *p = &t->peers[t->at];
    char err[160], buf[4096];
    int fd = tcp_connect_timeout(err, sizeof err, p->host, p->port, CONNECT_MS);
    int rc = -1;

    *sent = false;
    memset(resp, 0, sizeof *resp);
    if (fd < 0)
        return -1;
    if (set_io_timeout(err, sizeof err, fd, answer_ms) == 0) {
        ssize_t w = write(fd, line, len);
        *sent = w > 0;
        if (w == (ssize_t)len) {
            ssize_t n = read_reply(fd, buf, sizeof buf, answer_ms);
            if (n > 0 && client_response_decode(buf, (size_t)n, resp, err, sizeof err) == 0)
                rc = 0;
        }
    }
    close(fd);
    return rc;
}

bool requester_follow(struct requester_targets *t, const struct client_response *resp)
{
    for (int i = 0; resp->leader[0] && i < t->n_peers; i++) {
        if (strcmp(t->peers[i].name, resp->leader) == 0) {
            t->at = i;
            return true;
        }
    }
    requester_next(t);
    return false;
}

void requester_next(struct requester_targets *t)
{
    t->at = (t->at + 1) % t->n_peers;
}

int requester_poll(struct requester *r, char *text, size_t len)
{
    char rec[RESULT_MAX];

    if (r->pipe_rd < 0 || read(r->pipe_rd, rec, sizeof rec) != (ssize_t)sizeof rec)
        return 0;
    rec[sizeof rec - 1] = '\0';
    snprintf(text, len, "%s", rec);
    return 1;
}
