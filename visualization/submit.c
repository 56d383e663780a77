/* submit.c: commands sent by a requester's worker thread (requester.h), each retried
 * with its seq until a leader answers, so the cluster runs it exactly once. */
#include "visualization/submit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/client_protocol.h"
#include "common/command.h"

#define ANSWER_MS    3000
#define MAX_ATTEMPTS 8

struct job {
    struct submitter *s; /* only its requester and session_expired are touched */
    struct requester_targets to;
    struct client_request req;
};

static void pause_ms(long ms)
{
    nanosleep(&(struct timespec){ms / 1000, (ms % 1000) * 1000000L}, NULL);
}

/* The result line of one command: what the worker reports. */
static void run(struct job *j, char *out, size_t outlen)
{
    struct client_response resp;
    char line[512];
    int len = client_request_encode(&j->req, line, sizeof line);

    if (len < 0) {
        snprintf(out, outlen, "could not encode \"%s\"", j->req.command);
        return;
    }
    for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        bool sent = false;
        int rc = requester_ask(&j->to, line, (size_t)len, ANSWER_MS, &resp, &sent);
        /* Once an attempt may be in a leader's log, every resend says it is a retry. */
        bool reached = sent && (rc < 0 || strcmp(resp.error, "not_leader") != 0);
        if (reached && !j->req.retry) {
            j->req.retry = true;
            len = client_request_encode(&j->req, line, sizeof line);
            if (len < 0) {
                snprintf(out, outlen, "could not encode \"%s\"", j->req.command);
                return;
            }
        }
        if (rc < 0) {
            requester_next(&j->to); /* unreachable: try the next one */
            continue;
        }
        if (resp.ok) {
            snprintf(out, outlen, "\"%s\" = %" PRId64 " at index %" PRIu64 " (leader %s)",
                     j->req.command, resp.result, resp.index,
                     resp.leader[0] ? resp.leader : j->to.peers[j->to.at].name);
            return;
        }
        if (strcmp(resp.error, "not_leader") == 0) {
            if (!requester_follow(&j->to, &resp))
                pause_ms(150); /* an election is on */
            continue;
        }
        if (strcmp(resp.error, "unavailable") == 0) {
            pause_ms(200); /* same seq again: the cluster keeps it exactly-once */
            continue;
        }
        if (strcmp(resp.error, "session_expired") == 0) {
            /* Not run by this answer, but an earlier attempt may have run it. */
            atomic_store(&j->s->session_expired, true);
            snprintf(out, outlen,
                     "\"%s\": outcome unknown (session expired); starting a new session",
                     j->req.command);
            return;
        }
        snprintf(out, outlen, "\"%s\" failed: %s %s", j->req.command, resp.error, resp.message);
        return;
    }
    snprintf(out, outlen, "\"%s\": no leader answered; is a majority alive?", j->req.command);
}

static void *worker(void *arg)
{
    struct job *j = arg;
    struct requester *rq = &j->s->rq;
    char out[1024]; /* longer than a result record: requester_finish cuts it */

    run(j, out, sizeof out);
    free(j);
    requester_finish(rq, "%s", out);
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
    memset(s, 0, sizeof *s);
    if (requester_init(&s->rq, err, errlen) != 0)
        return -1;
    atomic_init(&s->session_expired, false);
    s->started = (long)time(NULL);
    name_session(s);
    return 0;
}

void submitter_close(struct submitter *s)
{
    requester_close(&s->rq);
}

int submitter_send(struct submitter *s, const char *command, int first_slot)
{
    if (strlen(command) > CLIENT_COMMAND_MAX || !requester_claim(&s->rq))
        return -1;
    /* The last request's worker found this session forgotten: no seq of it can run. */
    if (atomic_exchange(&s->session_expired, false)) {
        s->sessions_expired++;
        name_session(s);
    }
    struct job *j = calloc(1, sizeof *j);
    if (j == NULL) {
        requester_unclaim(&s->rq);
        return -1;
    }
    j->s = s;
    requester_targets(&s->rq, first_slot, &j->to);
    snprintf(j->req.client_id, sizeof j->req.client_id, "%s", s->client_id);
    /* Only writes use up a seq: a session must start with its first write at seq 1. */
    j->req.seq = command_uses_seq(command) ? ++s->seq : s->seq + 1;
    snprintf(j->req.command, sizeof j->req.command, "%s", command);
    if (requester_start(&s->rq, worker, j) != 0) {
        free(j);
        return -1;
    }
    return 0;
}
