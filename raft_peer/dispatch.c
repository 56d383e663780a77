/* dispatch.c: every line an accepted connection carries, once the transport
 * (raft_peer/net/conn_table.c) has framed it: a client's requests, another peer's hello,
 * RPCs and snapshot chunks, or the game's control messages. Each line is parsed once and
 * handed on by its "type"; bad input gets bad_request, never a crash. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/client_protocol.h"
#include "common/event_log.h"
#include "raft_peer/client_service.h"
#include "raft_peer/dispatch.h"
#include "raft_peer/fault_control.h"
#include "raft_peer/game_stream.h"
#include "raft_peer/membership_service.h"
#include "raft_peer/net/event_loop.h"
#include "raft_peer/net/net_faults.h"
#include "raft_peer/net/rpc_codec.h"
#include "raft_peer/pace_control.h"
#include "raft_peer/peer.h"
#include "raft_peer/replies.h"
#include "raft_peer/snapshot_service.h"
#include "raft_peer/status.h"

static bool is_rpc_type(const char *type)
{
    return !strcmp(type, "request_vote") || !strcmp(type, "request_vote_result") ||
           !strcmp(type, "append_entries") || !strcmp(type, "append_entries_result") ||
           !strcmp(type, "timeout_now");
}

/* Constant time, so a stray process cannot learn the token byte by byte. */
static bool token_matches(const char *expected, const char *given, size_t given_len)
{
    size_t len = strlen(expected);
    unsigned char diff = (unsigned char)(len != given_len);
    for (size_t i = 0; i < len; i++)
        diff |= (unsigned char)(expected[i] ^ (i < given_len ? given[i] : 0));
    return diff == 0;
}

static bool token_ok(struct peer *p, struct json_object *obj)
{
    if (!p->cfg.token[0])
        return true;
    const char *given;
    size_t len;
    char err[64];
    return json_get_string(obj, "token", &given, &len, err, sizeof(err)) == 0 &&
           token_matches(p->cfg.token, given, len);
}

/* {"type":"hello","from":"peer2","token":...}: the first line on a peer's connection
 * to us, naming it. With a cluster token set, nothing else is taken from a peer
 * connection that has not said hello with it (docs/SECURITY.md). */
static void handle_hello(struct peer *p, struct conn *c, struct json_object *obj)
{
    const char *from;
    size_t len;
    char err[64];
    int index = json_get_string(obj, "from", &from, &len, err, sizeof(err)) == 0
                    ? config_find_peer(&p->cfg, from)
                    : -1;
    if (index < 0 || index >= p->n || index + 1 == p->self || !token_ok(p, obj)) {
        event_log_write(p->log, EVENT_LOG_WARN, "refused a peer hello from %s: %s", c->addr,
                        index < 0 || index >= p->n ? "unknown peer name" : "wrong token");
        c->closing = true; /* the answer goes out, then the connection closes */
        client_send_error(p, c, "forbidden", "unknown peer or wrong cluster token");
        return;
    }
    c->peer = index + 1;
}

/* Peer traffic must come from the peer it claims to be, over a connection that said
 * hello (always required when a token is set). */
static bool peer_traffic_allowed(struct peer *p, struct conn *c, struct json_object *obj)
{
    if (c->peer == 0) {
        if (!p->cfg.token[0])
            return true;
        client_send_error(p, c, "forbidden", "peer messages need a hello with the cluster token");
        return false;
    }
    const char *from;
    size_t len;
    char err[64];
    if (json_get_string(obj, "from", &from, &len, err, sizeof(err)) != 0 ||
        config_find_peer(&p->cfg, from) + 1 != c->peer) {
        client_send_error(p, c, "forbidden", "\"from\" is not the peer that said hello");
        return false;
    }
    return true;
}

/* A cut made through a control message (fault_control.c) drops what its peer sends us,
 * whether or not that peer heard of the cut. Peer traffic only: clients pass. */
static bool cut_drops_incoming(struct peer *p, struct conn *c, struct json_object *obj)
{
    raft_id from = c->peer;
    if (!from) {
        const char *name;
        size_t len;
        char err[64];
        if (json_get_string(obj, "from", &name, &len, err, sizeof(err)) == 0)
            from = config_find_peer(&p->cfg, name) + 1;
    }
    return faults_drop_in(p, from);
}

static void handle_rpc(struct peer *p, struct conn *c, struct json_object *obj)
{
    struct raft_message m;
    char err[256];
    if (rpc_decode(obj, p->names, p->n, &m, p->entry_space, RPC_MAX_ENTRIES, err, sizeof(err)) !=
        0) {
        event_log_write(p->log, EVENT_LOG_WARN, "bad RPC from %s: %s", c->addr, err);
        client_send_error(p, c, "bad_request", err);
        return;
    }
    if (m.to != p->self) {
        client_send_error(p, c, "bad_request", "RPC addressed to another peer");
        return;
    }
    if (m.type == RAFT_MSG_APPEND_ENTRIES)
        membership_heard_leader_commit(p, m.u.append_entries.leader_commit);
    int rc = raft_step(p->raft, &m, el_now_ms());
    if (rc == RAFT_ENOMEM)
        event_log_write(p->log, EVENT_LOG_ERROR, "out of memory handling %s",
                        raft_message_type_name(m.type));
}

/* Control messages need -v, and the cluster token when one is set. Without a token only
 * a loopback client may send them; with one, any host that knows it may (a classroom's
 * projector and teacher's laptop, docs/CLASSROOM.md), as peers do. */
static bool control_allowed(struct peer *p, struct conn *c, struct json_object *obj)
{
    if (!p->visual || !token_ok(p, obj))
        return false;
    return c->loopback || p->cfg.token[0] != '\0';
}

static void handle_control(struct peer *p, struct conn *c, struct json_object *obj)
{
    char out[512];
    if (!control_allowed(p, c, obj)) {
        int n = snprintf(out, sizeof(out),
                         "{\"type\":\"control_response\",\"ok\":false,\"error\":\"forbidden\","
                         "\"message\":\"control messages are accepted only by a peer started "
                         "with -v, with the cluster token if one is set, and without a token "
                         "only from a loopback address\"}\n");
        conn_send(p, c, out, (size_t)n);
        return;
    }
    struct json_object *action;
    const char *a = json_object_object_get_ex(obj, "action", &action) &&
                            json_object_is_type(action, json_type_string)
                        ? json_object_get_string(action)
                        : "";
    if (!strcmp(a, "crash")) {
        /* As after a power cut: nothing is flushed, nothing is said. */
        event_log_write(p->log, EVENT_LOG_WARN, "killed by the game (control: crash)");
        _exit(137);
    }
    if (!strcmp(a, "transfer")) {
        client_handle_transfer(p, c, obj, true);
        return;
    }
    if (net_faults_is_action(a) || !strcmp(a, "pace")) {
        bool changed = net_faults_is_action(a) ? faults_handle_control(p, c, obj, a)
                                               : pace_handle_control(p, c, obj);
        /* The game sees the change at once, not at the next heartbeat. */
        if (changed && p->visual)
            game_send_state(p, true);
        return;
    }
    int n = snprintf(out, sizeof(out),
                     "{\"type\":\"control_response\",\"ok\":false,\"error\":\"bad_request\","
                     "\"message\":\"unknown control action; expected crash, transfer, partition, "
                     "isolate, cut, heal, delay or pace\"}\n");
    conn_send(p, c, out, (size_t)n);
}

void dispatch_line(void *ctx, struct conn *c, const char *line, size_t len)
{
    struct peer *p = ctx;
    struct json_object *obj = NULL;
    char err[256];
    /* Only a peer that said hello may send the long lines replication needs; anyone
     * else is held to the client limit before json-c builds anything. */
    size_t max = c->peer ? RPC_LINE_MAX : CLIENT_LINE_MAX;
    if (json_line_parse(line, len, max, &obj, err, sizeof(err)) != 0) {
        client_send_error(p, c, "bad_request", err);
        return;
    }
    struct json_object *t;
    if (!json_object_object_get_ex(obj, "type", &t) || !json_object_is_type(t, json_type_string)) {
        client_send_error(p, c, "bad_request", "missing string field \"type\"");
        json_object_put(obj);
        return;
    }
    const char *type = json_object_get_string(t);
    if (!strcmp(type, "hello")) {
        handle_hello(p, c, obj);
    } else if (is_rpc_type(type) || !strncmp(type, "install_snapshot", 16)) {
        if (!peer_traffic_allowed(p, c, obj) || cut_drops_incoming(p, c, obj))
            ;
        else if (is_rpc_type(type))
            handle_rpc(p, c, obj);
        else if (!strcmp(type, "install_snapshot"))
            snapshot_handle_chunk(p, obj);
        else if (!strcmp(type, "install_snapshot_result"))
            snapshot_handle_result(p, obj);
        else
            client_send_error(p, c, "bad_request", "unknown type");
    } else if (len > CLIENT_LINE_MAX) {
        client_send_error(p, c, "bad_request", "line longer than 65536 bytes");
    } else if (!strcmp(type, "client_request")) {
        client_handle_request(p, c, obj);
    } else if (!strcmp(type, "status")) {
        status_send(p, c);
    } else if (!strcmp(type, "transfer")) {
        client_handle_transfer(p, c, obj, false);
    } else if (!strcmp(type, "membership")) {
        membership_handle_request(p, c, obj);
    } else if (!strcmp(type, "control")) {
        handle_control(p, c, obj);
    } else {
        client_send_error(p, c, "bad_request",
                          "unknown type; expected client_request, status, transfer, membership or "
                          "control");
    }
    json_object_put(obj);
}

void dispatch_line_too_long(void *ctx, struct conn *c)
{
    client_send_error(ctx, c, "bad_request", "line too long; closing the connection");
}
