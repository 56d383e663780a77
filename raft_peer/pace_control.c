/* pace_control.c: the lesson pace (docs/CONTRACT.md, "Lesson pace"), a control message
 * for peers started with -v. A classroom cannot watch an election that is over in a
 * few milliseconds: the pace multiplies the INI's election timeout range and heartbeat
 * interval together by a whole factor, so their ratios, and so Raft's behaviour, stay
 * the same, only slower. It can also switch off the fast failover (raft.h,
 * raft_peer_disconnected) so a lost leader is replaced only after a real election
 * timeout, as in the paper. Like the network faults it lives in memory only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/event_log.h"
#include "raft_peer/pace_control.h"
#include "raft_peer/peer.h"
#include "raft_peer/replies.h"

struct pace_control {
    unsigned factor;    /* the INI's timing times this */
    bool fast_failover; /* a lost leader's closed connection hurries an election */
};

int pace_init(struct peer *p)
{
    p->pace = malloc(sizeof(*p->pace));
    if (!p->pace)
        return -1;
    p->pace->factor = 1;
    p->pace->fast_failover = true;
    return 0;
}

void pace_free(struct peer *p)
{
    free(p->pace);
    p->pace = NULL;
}

unsigned pace_factor(const struct peer *p)
{
    return p->pace ? p->pace->factor : 1;
}

bool pace_fast_failover(const struct peer *p)
{
    return p->pace ? p->pace->fast_failover : true;
}

void pace_add_json(const struct peer *p, struct json_object *o)
{
    json_object_object_add(o, "pace", json_object_new_int((int)pace_factor(p)));
    json_object_object_add(o, "fast_failover", json_object_new_boolean(pace_fast_failover(p)));
}

static void respond(struct peer *p, struct conn *c, bool ok, const char *message)
{
    control_respond(p, c, ok, message, pace_add_json);
}

/* {"factor":F, "fast_failover":B}: F a whole number 1..PACE_MAX_FACTOR, B optional
 * (true when absent). 0, or -1 with a sentence. */
static int parse(struct json_object *obj, unsigned *factor, bool *fast_failover, char *err,
                 size_t errlen)
{
    struct json_object *v;
    if (!json_object_object_get_ex(obj, "factor", &v) || !json_object_is_type(v, json_type_int)) {
        snprintf(err, errlen, "pace needs \"factor\", a whole number from 1 to %d",
                 PACE_MAX_FACTOR);
        return -1;
    }
    int64_t f = json_object_get_int64(v);
    if (f < 1 || f > PACE_MAX_FACTOR) {
        snprintf(err, errlen, "pace factor %lld is out of bounds: from 1 (the ini's timing) to %d",
                 (long long)f, PACE_MAX_FACTOR);
        return -1;
    }
    *fast_failover = true;
    if (json_object_object_get_ex(obj, "fast_failover", &v)) {
        if (!json_object_is_type(v, json_type_boolean)) {
            snprintf(err, errlen, "pace: \"fast_failover\" must be true or false");
            return -1;
        }
        *fast_failover = json_object_get_boolean(v);
    }
    *factor = (unsigned)f;
    return 0;
}

bool pace_handle_control(struct peer *p, struct conn *c, struct json_object *obj)
{
    unsigned factor;
    bool fast_failover;
    char words[256];
    if (parse(obj, &factor, &fast_failover, words, sizeof(words)) != 0) {
        respond(p, c, false, words);
        return false;
    }
    raft_time min = (raft_time)p->cfg.election_timeout_min * factor;
    raft_time max = (raft_time)p->cfg.election_timeout_max * factor;
    raft_time hb = (raft_time)p->cfg.heartbeat_interval * factor;
    /* The INI already passed the same checks, and a common factor keeps them. */
    if (raft_set_timing(p->raft, min, max, hb, fast_failover) != RAFT_OK) {
        respond(p, c, false, "the scaled timing is invalid");
        return false;
    }
    p->pace->factor = factor;
    p->pace->fast_failover = fast_failover;
    snprintf(words, sizeof(words),
             "runs at pace %u: election timeout %llu..%llu ms, heartbeat every %llu ms; "
             "fast failover %s",
             factor, (unsigned long long)min, (unsigned long long)max, (unsigned long long)hb,
             fast_failover ? "on" : "off (a lost leader waits for an election timeout)");
    event_log_write(p->log, EVENT_LOG_INFO, "%s", words);
    char message[sizeof(words) + CONFIG_NAME_MAX + 2];
    snprintf(message, sizeof(message), "%s %s", p->names[p->self - 1], words);
    respond(p, c, true, message);
    return true;
}
