/* net_faults.c: parsing the network-fault control messages and the cut state each peer
 * enforces (net_faults.h). Everything here is checked against the cluster before any
 * state changes: a hostile or mistyped request is refused whole, with a sentence. */
#include "raft_peer/net/net_faults.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "common/client_protocol.h"
#include "common/error_message.h"

/* Appends to a bounded string; truncation is harmless (words for humans). */
static void append(char *out, size_t outlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char *out, size_t outlen, const char *fmt, ...)
{
    size_t used = strlen(out);
    if (used + 1 >= outlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out + used, outlen - used, fmt, ap);
    va_end(ap);
}

bool net_faults_is_action(const char *action)
{
    return !strcmp(action, "partition") || !strcmp(action, "isolate") || !strcmp(action, "cut") ||
           !strcmp(action, "heal") || !strcmp(action, "delay");
}

/* The id (1..n) of the peer a JSON string names, or 0 with a sentence in err. Names
 * that are not valid peer names are not echoed: they may hold anything. */
static raft_id peer_named(struct json_object *v, const char *what, const char *const *names, int n,
                          char *err, size_t errlen)
{
    if (!v || !json_object_is_type(v, json_type_string)) {
        set_err(err, errlen, "%s must be a peer name (a string)", what);
        return 0;
    }
    const char *s = json_object_get_string(v);
    if ((size_t)json_object_get_string_len(v) != strlen(s) || !config_valid_name(s)) {
        set_err(err, errlen, "%s is not a valid peer name", what);
        return 0;
    }
    for (int i = 0; i < n; i++)
        if (!strcmp(names[i], s))
            return i + 1;
    set_err(err, errlen, "unknown peer '%s': this cluster is %s to %s", s, names[0], names[n - 1]);
    return 0;
}

static raft_id peer_field(struct json_object *obj, const char *key, const char *const *names, int n,
                          char *err, size_t errlen)
{
    struct json_object *v = NULL;
    char what[48];
    snprintf(what, sizeof(what), "\"%s\"", key);
    json_object_object_get_ex(obj, key, &v);
    return peer_named(v, what, names, n, err, errlen);
}

/* Writes "{a,b} | {c}" for the sides, the unlisted side last. */
static void describe_sides(const int *side, int n_sides, const char *const *names, int n, char *out,
                           size_t outlen)
{
    for (int s = 1; s <= n_sides; s++) {
        append(out, outlen, "%s{", s > 1 ? " | " : "");
        bool first = true;
        for (raft_id id = 1; id <= n; id++) {
            if (side[id] != s)
                continue;
            append(out, outlen, "%s%s", first ? "" : ",", names[id - 1]);
            first = false;
        }
        append(out, outlen, "}");
    }
}

/* Every peer that no group names goes to one more side, so "partition {peer1}" in a
 * cluster of five leaves peer2..peer5 together. */
static int close_sides(int *side, int n_groups, int n)
{
    bool unlisted = false;
    for (raft_id id = 1; id <= n; id++)
        if (side[id] == 0) {
            side[id] = n_groups + 1;
            unlisted = true;
        }
    return unlisted ? n_groups + 1 : n_groups;
}

static int parse_partition(struct json_object *obj, const char *const *names, int n,
                           struct net_fault_request *req, char *err, size_t errlen)
{
    struct json_object *groups;
    if (!json_object_object_get_ex(obj, "groups", &groups) ||
        !json_object_is_type(groups, json_type_array)) {
        set_err(err, errlen, "\"groups\" must be an array of groups, each an array of peer names");
        return -1;
    }
    size_t n_groups = json_object_array_length(groups);
    if (n_groups < 1 || n_groups > (size_t)n) {
        set_err(err, errlen, "\"groups\" must hold 1 to %d groups (one per side), not %zu", n,
                n_groups);
        return -1;
    }
    for (size_t g = 0; g < n_groups; g++) {
        struct json_object *group = json_object_array_get_idx(groups, g);
        if (!group || !json_object_is_type(group, json_type_array) ||
            json_object_array_length(group) < 1 || json_object_array_length(group) > (size_t)n) {
            set_err(err, errlen, "group %zu must be an array of 1 to %d peer names", g + 1, n);
            return -1;
        }
        for (size_t k = 0; k < json_object_array_length(group); k++) {
            char what[64];
            snprintf(what, sizeof(what), "name %zu of group %zu", k + 1, g + 1);
            raft_id id =
                peer_named(json_object_array_get_idx(group, k), what, names, n, err, errlen);
            if (!id)
                return -1;
            if (req->side[id]) {
                set_err(err, errlen, "%s is in more than one group", names[id - 1]);
                return -1;
            }
            req->side[id] = (int)g + 1;
        }
    }
    int n_sides = close_sides(req->side, (int)n_groups, n);
    snprintf(req->words, sizeof(req->words), "partition ");
    describe_sides(req->side, n_sides, names, n, req->words, sizeof(req->words));
    return 0;
}

int net_faults_parse(struct json_object *obj, const char *action, const char *const *names, int n,
                     struct net_fault_request *req, char *err, size_t errlen)
{
    memset(req, 0, sizeof(*req));
    if (n < 1 || n > CONFIG_MAX_PEERS) {
        set_err(err, errlen, "no cluster");
        return -1;
    }
    if (!strcmp(action, "partition")) {
        req->action = NET_FAULT_PARTITION;
        return parse_partition(obj, names, n, req, err, errlen);
    }
    if (!strcmp(action, "isolate")) {
        req->action = NET_FAULT_PARTITION;
        raft_id id = peer_field(obj, "target", names, n, err, errlen);
        if (!id)
            return -1;
        req->side[id] = 1;
        close_sides(req->side, 1, n);
        snprintf(req->words, sizeof(req->words), "isolate %s", names[id - 1]);
        return 0;
    }
    if (!strcmp(action, "cut")) {
        req->action = NET_FAULT_ONE_WAY;
        req->from = peer_field(obj, "from", names, n, err, errlen);
        if (!req->from)
            return -1;
        req->to = peer_field(obj, "to", names, n, err, errlen);
        if (!req->to)
            return -1;
        if (req->from == req->to) {
            set_err(err, errlen, "a peer has no link to itself to cut");
            return -1;
        }
        snprintf(req->words, sizeof(req->words), "one-way cut %s -> %s", names[req->from - 1],
                 names[req->to - 1]);
        return 0;
    }
    if (!strcmp(action, "heal")) {
        req->action = NET_FAULT_HEAL;
        snprintf(req->words, sizeof(req->words), "heal");
        return 0;
    }
    if (!strcmp(action, "delay")) {
        uint64_t ms;
        char why[128];
        if (json_get_u64(obj, "ms", &ms, why, sizeof(why)) != 0 || ms > NET_FAULTS_MAX_DELAY_MS) {
            set_err(err, errlen, "\"ms\" must be an integer from 0 to %d milliseconds",
                    NET_FAULTS_MAX_DELAY_MS);
            return -1;
        }
        req->action = NET_FAULT_DELAY;
        req->delay_ms = (uint32_t)ms;
        snprintf(req->words, sizeof(req->words), "delay %u ms", req->delay_ms);
        return 0;
    }
    set_err(err, errlen, "unknown network fault action");
    return -1;
}

static void clear_cuts(struct net_faults *f)
{
    memset(f->drop_to, 0, sizeof(f->drop_to));
    memset(f->drop_from, 0, sizeof(f->drop_from));
    f->cause[0] = '\0';
}

void net_faults_apply(struct net_faults *f, const struct net_fault_request *req, raft_id self,
                      int n)
{
    f->version++;
    switch (req->action) {
    case NET_FAULT_PARTITION:
        clear_cuts(f);
        for (raft_id id = 1; id <= n; id++) {
            bool other_side = id != self && req->side[id] != req->side[self];
            f->drop_to[id] = other_side;
            f->drop_from[id] = other_side;
        }
        break;
    case NET_FAULT_ONE_WAY:
        if (req->from == self)
            f->drop_to[req->to] = true;
        if (req->to == self)
            f->drop_from[req->from] = true;
        break;
    case NET_FAULT_HEAL:
        clear_cuts(f);
        return;
    case NET_FAULT_DELAY:
        f->delay_ms = req->delay_ms;
        return;
    }
    /* The cause names every request still in force: a one-way cut adds to a partition. */
    if (!net_faults_any_cut(f, n))
        f->cause[0] = '\0';
    else if (req->action == NET_FAULT_PARTITION || !f->cause[0])
        snprintf(f->cause, sizeof(f->cause), "%s", req->words);
    else
        append(f->cause, sizeof(f->cause), "; %s", req->words);
}

bool net_faults_any_cut(const struct net_faults *f, int n)
{
    for (raft_id id = 1; id <= n; id++)
        if (f->drop_to[id] || f->drop_from[id])
            return true;
    return false;
}

bool net_faults_cut_is(const struct net_faults *f, raft_id id, enum net_cut_kind kind)
{
    if (id < 1 || id > CONFIG_MAX_PEERS)
        return false;
    switch (kind) {
    case NET_CUT_BOTH:
        return f->drop_to[id] && f->drop_from[id];
    case NET_CUT_TO_ONLY:
        return f->drop_to[id] && !f->drop_from[id];
    case NET_CUT_FROM_ONLY:
        return !f->drop_to[id] && f->drop_from[id];
    }
    return false;
}

/* One clause per kind of cut, e.g. "cuts its links to peer1, peer3". */
static void describe_kind(const struct net_faults *f, enum net_cut_kind kind, const char *lead,
                          const char *const *names, int n, char *out, size_t outlen)
{
    bool first = true;
    for (raft_id id = 1; id <= n; id++) {
        if (!net_faults_cut_is(f, id, kind))
            continue;
        if (first)
            append(out, outlen, "%s%s ", out[0] ? "; " : "", lead);
        append(out, outlen, "%s%s", first ? "" : ", ", names[id - 1]);
        first = false;
    }
}

void net_faults_describe_cuts(const struct net_faults *f, const char *const *names, int n,
                              char *out, size_t outlen)
{
    if (outlen == 0)
        return;
    out[0] = '\0';
    describe_kind(f, NET_CUT_BOTH, "cuts its links to", names, n, out, outlen);
    describe_kind(f, NET_CUT_TO_ONLY, "sends nothing to", names, n, out, outlen);
    describe_kind(f, NET_CUT_FROM_ONLY, "ignores every message from", names, n, out, outlen);
    if (!out[0])
        snprintf(out, outlen, "has no cut link");
}
