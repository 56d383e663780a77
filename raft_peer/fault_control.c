/* fault_control.c: the network-fault control messages (partition, isolate, cut, heal,
 * delay) on a peer started with -v: carry them out, say so in the log and in the answer,
 * and show the faults in status and in the game stream. The cuts are enforced where
 * peer messages leave (outbox.c) and arrive (dispatch.c); nowhere else, so client
 * connections and status are never cut. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/event_log.h"
#include "raft_peer/fault_control.h"
#include "raft_peer/net/net_delay.h"
#include "raft_peer/net/net_faults.h"
#include "raft_peer/game_stream.h"
#include "raft_peer/peer.h"
#include "raft_peer/peer_links.h"
#include "raft_peer/replies.h"

struct fault_control {
    struct net_faults faults;
    struct net_delay delay;
};

static void release_held(void *ctx, raft_id to, const char *line, size_t len)
{
    struct peer *p = ctx;
    if (!faults_drop_out(p, to)) /* a cut made while it was held */
        links_send_now(p, to, line, len);
}

int faults_init(struct peer *p)
{
    p->faults = calloc(1, sizeof(*p->faults));
    if (!p->faults)
        return -1;
    net_delay_init(&p->faults->delay, p->el, release_held, p);
    return 0;
}

void faults_free(struct peer *p)
{
    if (!p->faults)
        return;
    net_delay_free(&p->faults->delay);
    free(p->faults);
    p->faults = NULL;
}

bool faults_drop_out(struct peer *p, raft_id to)
{
    if (!net_faults_drops_to(&p->faults->faults, to))
        return false;
    p->faults->faults.dropped_out++;
    return true;
}

bool faults_drop_in(struct peer *p, raft_id from)
{
    if (!net_faults_drops_from(&p->faults->faults, from))
        return false;
    p->faults->faults.dropped_in++;
    return true;
}

bool faults_delaying(const struct peer *p)
{
    return net_delay_active(&p->faults->delay);
}

void faults_hold(struct peer *p, raft_id to, const char *line, size_t len)
{
    struct net_delay *d = &p->faults->delay;
    bool first_drop;
    if (net_delay_hold(d, to, line, len, &first_drop) != 0 && first_drop)
        event_log_write(p->log, EVENT_LOG_WARN,
                        "holds too many delayed messages (%zu, %zu bytes): drops peer messages "
                        "like a lossy network until the backlog drains",
                        d->lines, d->bytes);
}

uint64_t faults_version(const struct peer *p)
{
    return p->faults ? p->faults->faults.version : 0;
}

uint32_t faults_delay_ms(const struct peer *p)
{
    return p->faults ? p->faults->faults.delay_ms : 0;
}

static struct json_object *names_where(const struct peer *p, enum net_cut_kind kind)
{
    struct json_object *a = json_object_new_array();
    for (raft_id id = 1; id <= p->n; id++)
        if (id != p->self && net_faults_cut_is(&p->faults->faults, id, kind))
            json_object_array_add(a, json_object_new_string(p->names[id - 1]));
    return a;
}

/* The fields status and the game stream share (docs/GAME_STREAM.md). */
void faults_add_json(const struct peer *p, struct json_object *o)
{
    const struct net_faults *f = &p->faults->faults;
    const struct net_delay *d = &p->faults->delay;
    json_object_object_add(o, "cut", names_where(p, NET_CUT_BOTH));
    json_object_object_add(o, "cut_to", names_where(p, NET_CUT_TO_ONLY));
    json_object_object_add(o, "cut_from", names_where(p, NET_CUT_FROM_ONLY));
    json_object_object_add(o, "fault", f->cause[0] ? json_object_new_string(f->cause) : NULL);
    json_object_object_add(o, "delay_ms", json_object_new_int64(f->delay_ms));
    json_object_object_add(o, "held", json_object_new_uint64(d->lines));
    json_object_object_add(o, "dropped_out", json_object_new_uint64(f->dropped_out + d->dropped));
    json_object_object_add(o, "dropped_in", json_object_new_uint64(f->dropped_in));
}

static void respond(struct peer *p, struct conn *c, bool ok, const char *message)
{
    control_respond(p, c, ok, message, faults_add_json);
}

/* The sentence for the log (after "peerN term=T"), also the answer after the name. */
static void describe_change(struct peer *p, const struct net_fault_request *req, bool had_cuts,
                            const char *old_cause, uint32_t old_delay, char *out, size_t outlen)
{
    char cuts[NET_FAULTS_WORDS_MAX];
    switch (req->action) {
    case NET_FAULT_PARTITION:
    case NET_FAULT_ONE_WAY:
        net_faults_describe_cuts(&p->faults->faults, p->names, p->n, cuts, sizeof(cuts));
        snprintf(out, outlen, "%s (%s)", cuts, req->words);
        break;
    case NET_FAULT_HEAL:
        if (had_cuts)
            snprintf(out, outlen, "heals: every link is open again (was: %s)", old_cause);
        else
            snprintf(out, outlen, "heals: no link was cut");
        break;
    case NET_FAULT_DELAY:
        if (req->delay_ms)
            snprintf(out, outlen, "delays peer messages by %u ms", req->delay_ms);
        else if (old_delay)
            snprintf(out, outlen, "stops delaying peer messages (was %u ms)", old_delay);
        else
            snprintf(out, outlen, "does not delay peer messages");
        break;
    }
}

bool faults_handle_control(struct peer *p, struct conn *c, struct json_object *obj,
                           const char *action)
{
    struct net_faults *f = &p->faults->faults;
    struct net_fault_request req;
    char err[256];
    if (net_faults_parse(obj, action, p->names, p->n, &req, err, sizeof(err)) != 0) {
        respond(p, c, false, err);
        return false;
    }
    bool had_cuts = net_faults_any_cut(f, p->n);
    char old_cause[NET_FAULTS_WORDS_MAX];
    snprintf(old_cause, sizeof(old_cause), "%s", f->cause);
    uint32_t old_delay = f->delay_ms;

    net_faults_apply(f, &req, p->self, p->n);
    if (req.action == NET_FAULT_DELAY)
        net_delay_set(&p->faults->delay, req.delay_ms); /* 0 sends what is held now, in order */

    char words[2 * NET_FAULTS_WORDS_MAX + 64];
    describe_change(p, &req, had_cuts, old_cause, old_delay, words, sizeof(words));
    event_log_write(p->log, EVENT_LOG_INFO, "%s", words);
    char message[sizeof(words) + CONFIG_NAME_MAX + 2];
    snprintf(message, sizeof(message), "%s %s", p->names[p->self - 1], words);
    respond(p, c, true, message);
    return true;
}
