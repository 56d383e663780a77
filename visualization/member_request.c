/* member_request.c: a blocking client on a detached thread, as submit.c, for membership
 * changes; results come back through a pipe so the game's loop only reads a ready fd. */
#include "visualization/member_request.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/client_protocol.h"
#include "common/net.h"
#include "common/error_message.h"

#define CONNECT_MS   400
#define ANSWER_MS    75000 /* an add waits for the catch-up, up to 60 s at the leader */
#define MAX_ATTEMPTS 8
#define RESULT_MAX   200 /* fixed-size records, each write atomic (< PIPE_BUF) */

struct member_job {
    struct member_requester *q;
    struct submit_peer peers[VILLAGE_MAX_PEERS];
    int n_peers, first;
    char action[16];
    char peer[VILLAGE_NAME_MAX];
};

static void report(struct member_job *j, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void report(struct member_job *j, const char *fmt, ...)
{
    char rec[RESULT_MAX] = {0};
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(rec, sizeof rec, fmt, ap);
    va_end(ap);
    if (write(j->q->pipe_wr, rec, sizeof rec) < 0)
        return; /* the game is gone or the pipe is full: the result is lost */
}

/* One request to one peer: 0 with resp filled, or -1 (unreachable, no answer). */
static int ask(const struct submit_peer *p, const char *line, size_t len,
               struct client_response *resp)
{
    char err[160], buf[4096];
    size_t n = 0;
    int fd = tcp_connect_timeout(err, sizeof err, p->host, p->port, CONNECT_MS), rc = -1;

    if (fd < 0)
        return -1;
    if (write(fd, line, len) != (ssize_t)len)
        goto out;
    while (n + 1 < sizeof buf) {
        struct pollfd pf = {.fd = fd, .events = POLLIN};
        ssize_t r;
        int pr = poll(&pf, 1, ANSWER_MS);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            goto out;
        r = read(fd, buf + n, sizeof buf - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            goto out;
        n += (size_t)r;
        buf[n] = '\0';
        if (memchr(buf, '\n', n) != NULL) {
            rc = client_response_decode(buf, (size_t)(strchr(buf, '\n') - buf + 1), resp, err,
                                        sizeof err);
            goto out;
        }
    }
out:
    close(fd);
    return rc;
}

static int find_peer(const struct member_job *j, const char *name)
{
    for (int i = 0; i < j->n_peers; i++)
        if (strcmp(j->peers[i].name, name) == 0)
            return i;
    return -1;
}

static void *worker(void *arg)
{
    struct member_job *j = arg;
    struct json_object *o = json_object_new_object();
    char line[256];
    int at = j->first, len;

    json_object_object_add(o, "type", json_object_new_string("membership"));
    json_object_object_add(o, "action", json_object_new_string(j->action));
    json_object_object_add(o, "peer", json_object_new_string(j->peer));
    len = snprintf(line, sizeof line, "%s\n",
                   json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    for (int attempt = 0; attempt < MAX_ATTEMPTS && len > 0 && len < (int)sizeof line; attempt++) {
        struct client_response resp;
        memset(&resp, 0, sizeof resp);
        if (ask(&j->peers[at], line, (size_t)len, &resp) < 0) {
            at = (at + 1) % j->n_peers; /* unreachable, or no answer: the next one */
            continue;
        }
        if (resp.ok) {
            report(j, "the village agrees: %s %s, committed at index %llu", j->action, j->peer,
                   (unsigned long long)resp.index);
            goto done;
        }
        if (strcmp(resp.error, "not_leader") == 0) {
            int next = resp.leader[0] ? find_peer(j, resp.leader) : -1;
            at = next >= 0 ? next : (at + 1) % j->n_peers;
            if (next < 0)
                nanosleep(&(struct timespec){0, 200 * 1000000L}, NULL); /* an election */
            continue;
        }
        report(j, "%s %s refused: %s: %s", j->action, j->peer, resp.error, resp.message);
        goto done;
    }
    report(j, "%s %s: no leader answered; is a majority alive?", j->action, j->peer);
done:
    atomic_store(&j->q->busy, false);
    free(j);
    return NULL;
}

int member_requester_init(struct member_requester *q, char *err, size_t errlen)
{
    int fds[2];

    memset(q, 0, sizeof *q);
    atomic_init(&q->busy, false);
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
        set_err(err, errlen, "pipe: %s", strerror(errno));
        q->pipe_rd = q->pipe_wr = -1;
        return -1;
    }
    q->pipe_rd = fds[0];
    q->pipe_wr = fds[1];
    return 0;
}

void member_requester_add_peer(struct member_requester *q, const char *name, const char *host,
                               int port)
{
    struct submit_peer *p;

    if (q->n_peers >= VILLAGE_MAX_PEERS)
        return;
    p = &q->peers[q->n_peers++];
    snprintf(p->name, sizeof p->name, "%s", name);
    snprintf(p->host, sizeof p->host, "%s", host);
    p->port = port;
}

int member_requester_send(struct member_requester *q, const char *action, const char *peer,
                          int first)
{
    struct member_job *j;
    pthread_t t;
    pthread_attr_t attr;
    bool expected = false;

    if (q->n_peers == 0 || q->pipe_wr < 0)
        return -1;
    if (!atomic_compare_exchange_strong(&q->busy, &expected, true))
        return -1;
    j = calloc(1, sizeof *j);
    if (j == NULL)
        goto fail;
    j->q = q;
    memcpy(j->peers, q->peers, sizeof j->peers);
    j->n_peers = q->n_peers;
    j->first = first >= 0 && first < q->n_peers ? first : 0;
    snprintf(j->action, sizeof j->action, "%s", action);
    snprintf(j->peer, sizeof j->peer, "%s", peer);
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
    atomic_store(&q->busy, false);
    return -1;
}

int member_requester_poll(struct member_requester *q, char *text, size_t len)
{
    char rec[RESULT_MAX];

    if (q->pipe_rd < 0 || read(q->pipe_rd, rec, sizeof rec) != (ssize_t)sizeof rec)
        return 0;
    rec[sizeof rec - 1] = '\0';
    snprintf(text, len, "%s", rec);
    return 1;
}
