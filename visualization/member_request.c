/* member_request.c: one membership change, sent by a requester's worker thread. */
#include "visualization/member_request.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#define ANSWER_MS    75000 /* an add waits for the catch-up, up to 60 s at the leader */
#define MAX_ATTEMPTS 8

struct member_job {
    struct requester *rq;
    struct requester_targets to;
    char action[16];
    char peer[VILLAGE_NAME_MAX];
};

/* The result line of one change: what the worker reports. */
static void run(struct member_job *j, char *out, size_t outlen)
{
    struct json_object *o = json_object_new_object();
    char line[256];

    json_object_object_add(o, "type", json_object_new_string("membership"));
    json_object_object_add(o, "action", json_object_new_string(j->action));
    json_object_object_add(o, "peer", json_object_new_string(j->peer));
    int len = snprintf(line, sizeof line, "%s\n",
                       json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    for (int attempt = 0; attempt < MAX_ATTEMPTS && len > 0 && len < (int)sizeof line; attempt++) {
        struct client_response resp;
        bool sent;
        if (requester_ask(&j->to, line, (size_t)len, ANSWER_MS, &resp, &sent) < 0) {
            requester_next(&j->to); /* unreachable, or no answer: the next one */
            continue;
        }
        if (resp.ok) {
            snprintf(out, outlen, "the village agrees: %s %s, committed at index %llu", j->action,
                     j->peer, (unsigned long long)resp.index);
            return;
        }
        if (strcmp(resp.error, "not_leader") == 0) {
            if (!requester_follow(&j->to, &resp))
                nanosleep(&(struct timespec){0, 200 * 1000000L}, NULL); /* an election */
            continue;
        }
        snprintf(out, outlen, "%s %s refused: %s: %s", j->action, j->peer, resp.error,
                 resp.message);
        return;
    }
    snprintf(out, outlen, "%s %s: no leader answered; is a majority alive?", j->action, j->peer);
}

static void *worker(void *arg)
{
    struct member_job *j = arg;
    struct requester *rq = j->rq;
    char out[1024]; /* longer than a result record: requester_finish cuts it */

    run(j, out, sizeof out);
    free(j);
    requester_finish(rq, "%s", out);
    return NULL;
}

int member_request_send(struct requester *rq, const char *action, const char *peer, int first)
{
    if (!requester_claim(rq))
        return -1;
    struct member_job *j = calloc(1, sizeof *j);
    if (j == NULL) {
        requester_unclaim(rq);
        return -1;
    }
    j->rq = rq;
    requester_targets(rq, first, &j->to);
    snprintf(j->action, sizeof j->action, "%s", action);
    snprintf(j->peer, sizeof j->peer, "%s", peer);
    if (requester_start(rq, worker, j) != 0) {
        free(j);
        return -1;
    }
    return 0;
}
