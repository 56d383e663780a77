/* client_service.c: CONTRACT.md's client protocol on the leader: commands proposed to the
 * log and answered once applied, reads answered through ReadIndex (dissertation §6.4),
 * redirects, push-back, and leadership transfer requests. */
#include "raft_peer/client_service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/client_protocol.h"
#include "common/command.h"
#include "common/error_message.h"
#include "common/event_log.h"
#include "raft_peer/peer.h"
#include "raft_peer/sm/state_machine.h"

/* Bounds that keep a flood of clients from growing our memory: past them the leader
 * answers `unavailable`. */
#define MAX_PENDING_PROPOSALS 65536 /* client commands awaiting commit */
#define MAX_PENDING_READS     65536

struct pending_proposal {
    raft_index index;
    raft_term term;
    int fd;
    uint64_t conn_id;
};

struct pending_read {
    uint64_t ctx;
    raft_index index; /* known once the core confirmed the read; 0 before */
    int fd;
    uint64_t conn_id;
    char name[65];
};

/* Client commands in index order (answered from first_proposal on), and reads in
 * arrival order. */
struct client_service {
    struct pending_proposal *proposals;
    size_t n_proposals, cap_proposals, first_proposal;
    struct pending_read *reads;
    size_t n_reads, cap_reads;
    uint64_t next_read_ctx;
};

int client_init(struct peer *p, char *err, size_t errlen)
{
    p->clients = calloc(1, sizeof(*p->clients));
    if (!p->clients) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

void client_free(struct peer *p)
{
    struct client_service *cs = p->clients;
    if (!cs)
        return;
    free(cs->proposals);
    free(cs->reads);
    free(cs);
    p->clients = NULL;
}

static void send_response(struct peer *p, struct conn *c, const struct client_response *resp)
{
    char line[1024];
    int n = client_response_encode(resp, line, sizeof(line));
    if (n > 0)
        conn_send(p, c, line, (size_t)n);
}

static void fill_leader(struct peer *p, struct client_response *resp, raft_id leader)
{
    if (leader < 1 || leader > p->n)
        return;
    const struct config_peer *cp = &p->cfg.peers[leader - 1];
    snprintf(resp->leader, sizeof(resp->leader), "%s", cp->name);
    snprintf(resp->host, sizeof(resp->host), "%s", cp->host);
    resp->port = cp->port;
}

void client_send_error(struct peer *p, struct conn *c, const char *code, const char *message)
{
    struct client_response resp = {0};
    snprintf(resp.error, sizeof(resp.error), "%s", code);
    snprintf(resp.message, sizeof(resp.message), "%s", message);
    if (!strcmp(code, "unavailable") || !strcmp(code, "not_leader") ||
        !strcmp(code, "bad_membership"))
        fill_leader(p, &resp, raft_leader(p->raft));
    send_response(p, c, &resp);
}

void client_send_not_leader(struct peer *p, struct conn *c)
{
    struct client_response resp = {0};
    raft_id leader = raft_leader(p->raft);
    const char *me = p->names[p->self - 1];
    const char *role = raft_role_name(raft_role(p->raft));
    snprintf(resp.error, sizeof(resp.error), "not_leader");
    if (leader >= 1 && leader <= p->n && leader != p->self) {
        fill_leader(p, &resp, leader);
        snprintf(resp.message, sizeof(resp.message), "%s is a %s; the leader is %s", me, role,
                 p->names[leader - 1]);
    } else {
        snprintf(resp.message, sizeof(resp.message), "%s is a %s; no leader is known yet", me,
                 role);
    }
    send_response(p, c, &resp);
}

static int push_proposal(struct client_service *cs, const struct pending_proposal *pp)
{
    if (cs->first_proposal > 0 && cs->first_proposal == cs->n_proposals) {
        cs->first_proposal = cs->n_proposals = 0;
    }
    if (cs->n_proposals == cs->cap_proposals) {
        if (cs->first_proposal > cs->cap_proposals / 2) {
            memmove(cs->proposals, cs->proposals + cs->first_proposal,
                    (cs->n_proposals - cs->first_proposal) * sizeof(*cs->proposals));
            cs->n_proposals -= cs->first_proposal;
            cs->first_proposal = 0;
        } else {
            size_t cap = cs->cap_proposals ? cs->cap_proposals * 2 : 256;
            struct pending_proposal *grown = realloc(cs->proposals, cap * sizeof(*grown));
            if (!grown)
                return -1;
            cs->proposals = grown;
            cs->cap_proposals = cap;
        }
    }
    cs->proposals[cs->n_proposals++] = *pp;
    return 0;
}

static void propose(struct peer *p, struct conn *c, const struct client_request *req,
                    const struct command *cmd)
{
    struct client_service *cs = p->clients;
    if (cs->n_proposals - cs->first_proposal >= MAX_PENDING_PROPOSALS) {
        client_send_error(p, c, "unavailable", "the leader is overloaded; retry shortly");
        return;
    }
    char canonical[CLIENT_COMMAND_MAX + 64];
    char payload[SM_PAYLOAD_MAX + 1];
    command_format(cmd, canonical, sizeof(canonical));
    int len = sm_encode_command(payload, sizeof(payload), req->client_id, req->seq, req->retry,
                                canonical);
    if (len < 0) {
        client_send_error(p, c, "bad_request", "client_id or command cannot be encoded");
        return;
    }
    raft_index index;
    int rc = raft_propose(p->raft, payload, (uint32_t)len, &index);
    if (rc == RAFT_ENOTLEADER) {
        client_send_not_leader(p, c);
        return;
    }
    if (rc != RAFT_OK) {
        client_send_error(p, c, "unavailable",
                          rc == RAFT_EBUSY ? "the leader is overloaded or handing over; retry"
                                           : raft_strerror(rc));
        return;
    }
    struct pending_proposal pp = {
        .index = index, .term = raft_current_term(p->raft), .fd = c->fd, .conn_id = c->id};
    if (push_proposal(cs, &pp) != 0)
        client_send_error(p, c, "unavailable", "out of memory");
    event_log_write(p->log, EVENT_LOG_DEBUG, "client %s #%llu '%s' proposed at index %llu",
                    req->client_id, (unsigned long long)req->seq, canonical,
                    (unsigned long long)index);
}

static void read_value(struct peer *p, struct conn *c, const struct command *cmd)
{
    struct client_service *cs = p->clients;
    if (cs->n_reads >= MAX_PENDING_READS) {
        client_send_error(p, c, "unavailable", "the leader is overloaded; retry shortly");
        return;
    }
    if (cs->n_reads == cs->cap_reads) {
        size_t cap = cs->cap_reads ? cs->cap_reads * 2 : 64;
        struct pending_read *grown = realloc(cs->reads, cap * sizeof(*grown));
        if (!grown) {
            client_send_error(p, c, "unavailable", "out of memory");
            return;
        }
        cs->reads = grown;
        cs->cap_reads = cap;
    }
    uint64_t ctx = ++cs->next_read_ctx;
    int rc = raft_read_index(p->raft, ctx);
    if (rc == RAFT_ENOTLEADER) {
        client_send_not_leader(p, c);
        return;
    }
    if (rc != RAFT_OK) {
        client_send_error(p, c, "unavailable", raft_strerror(rc));
        return;
    }
    struct pending_read *r = &cs->reads[cs->n_reads++];
    memset(r, 0, sizeof(*r));
    r->ctx = ctx;
    r->fd = c->fd;
    r->conn_id = c->id;
    snprintf(r->name, sizeof(r->name), "%s", cmd->name);
}

void client_handle_request(struct peer *p, struct conn *c, struct json_object *obj)
{
    struct client_request req;
    char err[256];
    if (client_request_from_json(obj, &req, err, sizeof(err)) != 0) {
        client_send_error(p, c, "bad_request", err);
        return;
    }
    struct command cmd;
    if (command_parse(req.command, &cmd, err, sizeof(err)) != 0) {
        client_send_error(p, c, "bad_command", err);
        return;
    }
    if (p->stopped) {
        client_send_error(p, c, "unavailable", "this peer's disk failed; ask another peer");
        return;
    }
    if (raft_role(p->raft) != RAFT_LEADER) {
        client_send_not_leader(p, c);
        return;
    }
    if (command_is_read(&cmd))
        read_value(p, c, &cmd);
    else
        propose(p, c, &req, &cmd);
}

static void answer_proposal(struct peer *p, const struct pending_proposal *pp,
                            const struct raft_entry *e, const struct sm_result *res)
{
    struct conn *c = conn_lookup(p, pp->fd, pp->conn_id);
    if (!c)
        return;
    struct client_response resp = {0};
    if (e->term != pp->term) {
        client_send_error(p, c, "unavailable",
                          "the command was replaced by another leader's entry; retry");
        return;
    }
    resp.ok = res->ok;
    resp.has_result = res->ok || !strcmp(res->error, "cas_failed");
    resp.result = res->result;
    resp.index = pp->index;
    fill_leader(p, &resp, p->self);
    if (!res->ok) {
        /* CONTRACT.md's codes: an older seq whose answer is no longer kept is a bad request. */
        snprintf(resp.error, sizeof(resp.error), "%s",
                 strcmp(res->error, "stale_seq") ? res->error : "bad_request");
        snprintf(resp.message, sizeof(resp.message), "%s", res->message);
    }
    send_response(p, c, &resp);
}

static void serve_reads(struct peer *p)
{
    struct client_service *cs = p->clients;
    size_t kept = 0;
    uint64_t applied = sm_last_applied(p->sm);
    for (size_t i = 0; i < cs->n_reads; i++) {
        struct pending_read *r = &cs->reads[i];
        if (r->index == 0 || r->index > applied) {
            cs->reads[kept++] = *r;
            continue;
        }
        struct conn *c = conn_lookup(p, r->fd, r->conn_id);
        if (!c)
            continue;
        struct client_response resp = {.ok = true, .has_result = true, .index = r->index};
        resp.result = sm_get(p->sm, r->name, NULL);
        fill_leader(p, &resp, p->self);
        send_response(p, c, &resp);
    }
    cs->n_reads = kept;
}

void client_on_applied(struct peer *p, raft_index index, const struct raft_entry *e,
                       const struct sm_result *res)
{
    struct client_service *cs = p->clients;
    while (cs->first_proposal < cs->n_proposals) {
        struct pending_proposal *pp = &cs->proposals[cs->first_proposal];
        if (pp->index > index)
            break;
        cs->first_proposal++;
        if (pp->index < index) {
            struct conn *c = conn_lookup(p, pp->fd, pp->conn_id);
            if (c)
                client_send_error(p, c, "unavailable", "the command was lost; retry");
            continue;
        }
        if (e->type == RAFT_ENTRY_COMMAND && event_log_enabled(p->log, EVENT_LOG_INFO)) {
            char id[SM_CLIENT_ID_MAX + 1], text[SM_COMMAND_MAX + 1];
            uint64_t seq = 0;
            if (sm_decode_command(e->data, e->len, id, &seq, NULL, text, sizeof(text)) == 0) {
                if (res->ok)
                    event_log_write(p->log, EVENT_LOG_INFO,
                                    "client %s #%llu '%s' committed at index %llu: %lld", id,
                                    (unsigned long long)seq, text, (unsigned long long)index,
                                    (long long)res->result);
                else
                    event_log_write(
                        p->log, EVENT_LOG_INFO, "client %s #%llu '%s' at index %llu failed: %s", id,
                        (unsigned long long)seq, text, (unsigned long long)index, res->error);
            }
        }
        answer_proposal(p, pp, e, res);
    }
    if (cs->n_reads > 0)
        serve_reads(p);
}

void client_on_reads(struct peer *p, const struct raft_ready *rd)
{
    struct client_service *cs = p->clients;
    for (size_t i = 0; i < rd->n_reads; i++)
        for (size_t j = 0; j < cs->n_reads; j++)
            if (cs->reads[j].ctx == rd->reads[i].ctx)
                cs->reads[j].index = rd->reads[i].index;
    for (size_t i = 0; i < rd->n_failed_reads; i++) {
        for (size_t j = 0; j < cs->n_reads; j++) {
            if (cs->reads[j].ctx != rd->failed_reads[i])
                continue;
            struct conn *c = conn_lookup(p, cs->reads[j].fd, cs->reads[j].conn_id);
            if (c)
                client_send_error(p, c, "unavailable",
                                  "leadership was lost during the read; retry");
            cs->reads[j] = cs->reads[--cs->n_reads];
            break;
        }
    }
    if (cs->n_reads > 0)
        serve_reads(p);
}

/* Leadership is gone (or the disk): nobody waiting can be answered by us any more. */
void client_fail_all(struct peer *p, const char *why)
{
    struct client_service *cs = p->clients;
    for (size_t i = cs->first_proposal; i < cs->n_proposals; i++) {
        struct conn *c = conn_lookup(p, cs->proposals[i].fd, cs->proposals[i].conn_id);
        if (c)
            client_send_error(p, c, "unavailable", why);
    }
    cs->first_proposal = cs->n_proposals = 0;
    for (size_t i = 0; i < cs->n_reads; i++) {
        struct conn *c = conn_lookup(p, cs->reads[i].fd, cs->reads[i].conn_id);
        if (c)
            client_send_error(p, c, "unavailable", why);
    }
    cs->n_reads = 0;
}

static void send_control_response(struct peer *p, struct conn *c, bool ok, const char *error,
                                  const char *message)
{
    struct json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string("control_response"));
    json_object_object_add(o, "ok", json_object_new_boolean(ok));
    if (!ok)
        json_object_object_add(o, "error", json_object_new_string(error));
    json_object_object_add(o, "message", json_object_new_string(message));
    conn_send_json(p, c, o);
}

/* Dissertation §3.10, asked for by user_cli's `transfer peerX` or the game. */
void client_handle_transfer(struct peer *p, struct conn *c, struct json_object *obj, bool control)
{
    struct json_object *t;
    char msg[256];
    const char *target =
        json_object_object_get_ex(obj, "target", &t) && json_object_is_type(t, json_type_string)
            ? json_object_get_string(t)
            : NULL;
    int index = target ? config_find_peer(&p->cfg, target) : -1;
    bool ok = false;
    const char *code = "bad_request";
    if (index < 0 || index >= p->n) {
        snprintf(msg, sizeof(msg), "\"target\" must name a peer of this %d-peer cluster", p->n);
    } else if (raft_role(p->raft) != RAFT_LEADER) {
        if (!control) {
            client_send_not_leader(p, c);
            return;
        }
        code = "not_leader";
        snprintf(msg, sizeof(msg), "%s is not the leader", p->names[p->self - 1]);
    } else if (index + 1 == p->self) {
        ok = true;
        snprintf(msg, sizeof(msg), "%s already leads", target);
    } else {
        int rc = raft_transfer_leadership(p->raft, index + 1);
        ok = rc == RAFT_OK;
        code = "unavailable";
        if (ok)
            snprintf(msg, sizeof(msg), "handing leadership to %s", target);
        else
            snprintf(msg, sizeof(msg), "cannot transfer to %s: %s", target, raft_strerror(rc));
        if (ok)
            event_log_write(p->log, EVENT_LOG_INFO, "hands leadership to %s (asked by %s)", target,
                            c->addr);
    }
    if (control) {
        send_control_response(p, c, ok, code, msg);
        return;
    }
    struct client_response resp = {.ok = ok};
    if (!ok)
        snprintf(resp.error, sizeof(resp.error), "%s", code);
    snprintf(resp.message, sizeof(resp.message), "%s", msg);
    fill_leader(p, &resp, raft_leader(p->raft));
    send_response(p, c, &resp);
}
