/* membership_service.c: the client's membership requests on the leader
 * (docs/MEMBERSHIP.md, docs/CONTRACT.md): add a peer (as a learner; then, unless asked to
 * keep it one, promote it once it has caught up, §4.2.1), promote a learner, remove a
 * voter or a learner. The core makes the single-server change (raft_change_membership)
 * and refuses what is unsafe; this file follows each change until it commits and answers
 * then. One change at a time, as the core allows. */
#include "raft_peer/membership_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/client_protocol.h"
#include "common/error_message.h"
#include "common/event_log.h"
#include "raft_peer/client_service.h"
#include "raft_peer/net/event_loop.h"
#include "raft_peer/peer.h"
#include "raft_peer/status.h"

/* How long an added peer may take to catch up before the request gives up (it stays a
 * learner; `promote` later finishes the job). Generous: a new peer may need a snapshot. */
#define CATCH_UP_LIMIT_MS 60000

/* Leader: the membership change a client asked for, followed until it commits. */
struct membership_change {
    bool active;
    int fd;
    uint64_t conn_id;
    raft_id id;
    enum raft_change op;
    bool to_voter;    /* add: promote once caught up */
    raft_index index; /* its entry; 0 while an added learner catches up */
    raft_term term;
    uint64_t started_ms;
};

struct membership_service {
    struct membership_change change;
    bool was_member; /* we have been in our own configuration: leaving it means removal */
    /* The highest leader_commit of the append_entries received: while our log ends before
     * it, we are catching up, and a removal we read may be an old one that later entries
     * undo. */
    raft_index leader_commit_heard;
};

int membership_init(struct peer *p, char *err, size_t errlen)
{
    p->membership = calloc(1, sizeof(*p->membership));
    if (!p->membership) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

void membership_free(struct peer *p)
{
    free(p->membership);
    p->membership = NULL;
}

void membership_heard_leader_commit(struct peer *p, raft_index leader_commit)
{
    if (leader_commit > p->membership->leader_commit_heard)
        p->membership->leader_commit_heard = leader_commit;
}

static const char *name_of(const struct peer *p, raft_id id)
{
    return id >= 1 && id <= p->n ? p->names[id - 1] : "?";
}

static void answer_ok(struct peer *p, struct conn *c, raft_index index)
{
    const struct raft_configuration *conf = raft_configuration(p->raft);
    struct json_object *o = json_object_new_object();
    raft_id leader = raft_leader(p->raft);
    json_object_object_add(o, "type", json_object_new_string("client_response"));
    json_object_object_add(o, "ok", json_object_new_boolean(true));
    json_object_object_add(o, "index", json_object_new_uint64(index));
    json_object_object_add(
        o, "leader",
        leader >= 1 && leader <= p->n ? json_object_new_string(p->names[leader - 1]) : NULL);
    json_object_object_add(o, "voters", peer_names_json(p, conf->voters));
    json_object_object_add(o, "learners", peer_names_json(p, conf->learners));
    conn_send_json(p, c, o);
}

static void finish(struct peer *p, const char *error, const char *message)
{
    struct membership_change *ch = &p->membership->change;
    struct conn *c = conn_lookup(p, ch->fd, ch->conn_id);
    if (c && error)
        client_send_error(p, c, error, message);
    else if (c)
        answer_ok(p, c, ch->index);
    ch->active = false;
}

/* Why the core refused, in words for the client (bad_membership). */
static void refusal(const struct peer *p, int rc, enum raft_change op, raft_id id, char *msg,
                    size_t len)
{
    const char *name = name_of(p, id);
    switch (rc) {
    case RAFT_ECHANGE_PENDING:
        snprintf(msg, len, "another configuration change is not committed yet; retry");
        break;
    case RAFT_ENOT_READY:
        snprintf(msg, len, "the new leader has not committed an entry of its term yet; retry");
        break;
    case RAFT_EUNKNOWN_PEER:
        snprintf(msg, len, "%s is not a %s", name,
                 op == RAFT_CHANGE_PROMOTE ? "learner" : "member");
        break;
    case RAFT_EEXISTS:
        snprintf(msg, len, "%s is already a %s", name,
                 op == RAFT_CHANGE_PROMOTE ? "voter" : "member");
        break;
    case RAFT_ELAST_VOTER:
        snprintf(msg, len, "%s is the last voter: removing it would leave nobody to decide", name);
        break;
    case RAFT_ENOT_CAUGHT_UP:
        snprintf(msg, len, "%s has not caught up with the log yet; retry later", name);
        break;
    case RAFT_EBUSY:
        snprintf(msg, len, "a leadership transfer is under way; retry");
        break;
    default:
        snprintf(msg, len, "the change was refused: %s", raft_strerror(rc));
    }
}

/* Proposes op; on refusal answers the client (when there is one) and ends the change. */
static bool propose(struct peer *p, enum raft_change op)
{
    struct membership_change *ch = &p->membership->change;
    raft_index index;
    int rc = raft_change_membership(p->raft, op, ch->id, &index);
    if (rc != RAFT_OK) {
        char msg[200];
        refusal(p, rc, op, ch->id, msg, sizeof(msg));
        finish(p, rc == RAFT_ENOTLEADER ? "unavailable" : "bad_membership", msg);
        return false;
    }
    ch->op = op;
    ch->index = index;
    ch->term = raft_current_term(p->raft);
    event_log_write(p->log, EVENT_LOG_INFO, "proposes to %s %s at index %llu", raft_change_name(op),
                    name_of(p, ch->id), (unsigned long long)index);
    return true;
}

void membership_handle_request(struct peer *p, struct conn *c, struct json_object *obj)
{
    char err[128];
    const char *action, *peer_name;
    size_t alen, plen;
    bool learner = false;
    struct json_object *v;
    if (json_get_string(obj, "action", &action, &alen, err, sizeof(err)) != 0 ||
        json_get_string(obj, "peer", &peer_name, &plen, err, sizeof(err)) != 0 ||
        (json_object_object_get_ex(obj, "learner", &v) &&
         json_get_bool(obj, "learner", &learner, err, sizeof(err)) != 0)) {
        client_send_error(p, c, "bad_request", err);
        return;
    }
    enum raft_change op;
    if (!strcmp(action, "add"))
        op = RAFT_CHANGE_ADD_LEARNER;
    else if (!strcmp(action, "promote"))
        op = RAFT_CHANGE_PROMOTE;
    else if (!strcmp(action, "remove"))
        op = RAFT_CHANGE_REMOVE;
    else {
        client_send_error(p, c, "bad_request", "\"action\" must be add, promote or remove");
        return;
    }
    if (raft_role(p->raft) != RAFT_LEADER) {
        client_send_not_leader(p, c);
        return;
    }
    int index = config_find_peer(&p->cfg, peer_name);
    if (index < 0 || index >= p->n) {
        char msg[160];
        snprintf(msg, sizeof(msg), "no peer named '%.64s' in the ini file", peer_name);
        client_send_error(p, c, "bad_membership", msg);
        return;
    }
    struct membership_change *ch = &p->membership->change;
    if (ch->active) {
        char msg[160];
        snprintf(msg, sizeof(msg), "another change is in progress (%s %s); retry when it is done",
                 raft_change_name(ch->op), name_of(p, ch->id));
        client_send_error(p, c, "bad_membership", msg);
        return;
    }
    *ch = (struct membership_change){.active = true,
                                     .fd = c->fd,
                                     .conn_id = c->id,
                                     .id = index + 1,
                                     .to_voter = op == RAFT_CHANGE_ADD_LEARNER && !learner,
                                     .started_ms = el_now_ms()};
    propose(p, op);
}

/* After every ready, and every heartbeat interval: follows the change under way. */
void membership_progress(struct peer *p)
{
    struct membership_change *ch = &p->membership->change;
    if (!ch->active)
        return;
    if (!ch->index) { /* added, waiting for the learner to catch up (§4.2.1) */
        struct raft_catch_up cu;
        if (raft_role(p->raft) != RAFT_LEADER) {
            finish(p, "unavailable",
                   "leadership was lost before the new peer caught up; it "
                   "stays a learner: promote it through the new leader");
            return;
        }
        if (raft_catch_up(p->raft, ch->id, &cu) && cu.caught_up) {
            propose(p, RAFT_CHANGE_PROMOTE);
            return;
        }
        if (el_now_ms() - ch->started_ms > CATCH_UP_LIMIT_MS) {
            char msg[200];
            snprintf(msg, sizeof(msg),
                     "%s was added as a learner but has not caught up in %d s (is it "
                     "running?); it stays a learner",
                     name_of(p, ch->id), CATCH_UP_LIMIT_MS / 1000);
            finish(p, "bad_membership", msg);
        }
        return;
    }
    if (raft_commit_index(p->raft) < ch->index) {
        if (raft_role(p->raft) != RAFT_LEADER || raft_current_term(p->raft) != ch->term)
            finish(p, "unavailable",
                   "leadership was lost before the change committed; ask the new leader");
        return;
    }
    if (raft_term_at(p->raft, ch->index) != ch->term && raft_snapshot_index(p->raft) < ch->index) {
        finish(p, "unavailable", "the change was replaced by another leader's entry; retry");
        return;
    }
    event_log_write(p->log, EVENT_LOG_INFO, "%s %s committed at index %llu",
                    raft_change_name(ch->op), name_of(p, ch->id), (unsigned long long)ch->index);
    if (ch->op == RAFT_CHANGE_ADD_LEARNER && ch->to_voter) {
        ch->index = 0; /* now wait for it to catch up, then promote */
        ch->started_ms = el_now_ms();
        membership_progress(p);
        return;
    }
    finish(p, NULL, NULL);
}

/* A peer that sees, in a committed configuration, that it is no longer a member stops
 * serving: it says so in its log and exits cleanly (docs/MEMBERSHIP.md). Not while its log
 * ends before the leader's commit index: a machine replaced under a name removed earlier
 * replays that old removal while it catches up, and the entry that added it back comes
 * later (found by the chaos run, docs/CHAOS.md). The exit is the caller's (peer.c): this
 * file only says it is due, so it never calls back into the peer that calls it. */
bool membership_check_removed(struct peer *p)
{
    struct membership_service *ms = p->membership;
    const struct raft_configuration *conf = raft_configuration(p->raft);
    if (raft_configuration_is_member(conf, p->self)) {
        ms->was_member = true;
        return false;
    }
    if (!ms->was_member || raft_configuration_pending(p->raft) ||
        raft_role(p->raft) == RAFT_LEADER || p->exiting ||
        raft_last_index(p->raft) < ms->leader_commit_heard)
        return false;
    event_log_write(p->log, EVENT_LOG_WARN,
                    "removed from the configuration (index %llu): stops serving and exits",
                    (unsigned long long)raft_configuration_index(p->raft));
    return true;
}
