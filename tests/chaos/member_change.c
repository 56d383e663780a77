/* member_change.c: see member_change.h. */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "common/client_protocol.h"
#include "common/error_message.h"
#include "tests/chaos/member_change.h"

#define ANSWER_MAX 4096

/* Whether the leader's committed configuration already shows the change done. 1, 0, or
 * -1 when the leader could not tell (and *learner, for an add: i is a learner there). */
static int done_at(const struct chaos_cluster *c, int leader, enum member_action action, int i,
                   bool *learner)
{
    struct chaos_status st;
    *learner = false;
    if (chaos_cluster_status(c, leader, &st, 1000) != 0 || strcmp(st.role, "leader") != 0 ||
        st.config_pending)
        return -1;
    unsigned bit = 1u << i;
    *learner = (st.learners & bit) != 0;
    if (action == MEMBER_ADD)
        return (st.voters & bit) != 0;
    return !((st.voters | st.learners) & bit);
}

int member_change(struct chaos_cluster *c, enum member_action action, int i, int timeout_ms,
                  member_wait_fn *wait, void *ctx, int *requests, char *err, size_t errlen)
{
    uint64_t deadline = chaos_now_ms() + (uint64_t)timeout_ms;
    const char *verb = action == MEMBER_ADD ? "add" : "remove";
    set_err(err, errlen, "no leader");
    do {
        int leader = chaos_cluster_find_leader(c, 3000);
        if (leader <= 0) {
            wait(ctx, 200);
            continue;
        }
        bool learner;
        int done = done_at(c, leader, action, i, &learner);
        if (done == 1)
            return 0;
        /* An add whose learner committed but whose promotion did not (the leader that
         * was promoting it lost its leadership) is finished with a promote. */
        const char *ask = action == MEMBER_ADD && learner ? "promote" : verb;
        char line[160], answer[ANSWER_MAX];
        snprintf(line, sizeof(line),
                 "{\"type\":\"membership\",\"action\":\"%s\",\"peer\":\"%s\"}\n", ask,
                 c->peer[i].name);
        (*requests)++;
        /* An add waits for the learner to catch up (the leader bounds it at 60 s). We do
         * not wait that long in one go: the leader goes on without us, and a joining peer
         * that died meanwhile must be seen to and restarted (wait). */
        int rc = chaos_exchange(c->peer[leader].host, c->peer[leader].port, line, answer,
                                sizeof(answer), 10000);
        struct json_object *o = NULL, *v;
        char e[128];
        if (rc != 0 || json_line_parse(answer, strlen(answer), ANSWER_MAX, &o, e, sizeof(e)) != 0) {
            set_err(err, errlen, "%s %s: no answer from peer%d", ask, c->peer[i].name, leader);
        } else if (json_object_object_get_ex(o, "ok", &v) &&
                   json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v)) {
            /* An add without "learner" is answered once the promotion committed. */
            json_object_put(o);
            return 0;
        } else {
            set_err(err, errlen, "%s %s at peer%d: %s", ask, c->peer[i].name, leader, answer);
        }
        json_object_put(o);
        /* not_leader, unavailable, bad_membership (a change pending, a leader not ready
         * yet, not caught up yet, or already done), no answer: look again and retry. */
        wait(ctx, 200);
    } while (chaos_now_ms() < deadline);
    return -1;
}
