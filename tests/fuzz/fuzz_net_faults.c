/* fuzz_net_faults.c: libFuzzer target for the network-fault control messages
 * (raft_peer/net/net_faults.c), read as a peer started with -v reads a control line.
 *
 * A refusal must say why in one printable line. An accepted request must be
 * consistent: a partition puts every peer on a side, and a cut it makes is seen the
 * same way from both ends (what a sends to b is dropped by a exactly when b drops
 * what it hears from a), so a partition holds whichever end enforces it; a one-way cut
 * touches only its two peers; heal leaves no cut; words stay printable. */
#include <json-c/json.h>
#include <stdint.h>
#include <string.h>

#include "common/client_protocol.h"
#include "raft_peer/net/net_faults.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const names[] = {"peer1", "peer2", "peer3", "peer4", "peer5"};
#define N 5

static void check_text(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    if (n == cap)
        __builtin_trap(); /* not terminated */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
            __builtin_trap();
}

static void check_request(const struct net_fault_request *req)
{
    check_text(req->words, sizeof(req->words));
    if (req->words[0] == '\0')
        __builtin_trap();
    struct net_faults seen[N + 1];
    memset(seen, 0, sizeof(seen));
    for (raft_id self = 1; self <= N; self++) {
        net_faults_apply(&seen[self], req, self, N);
        char words[NET_FAULTS_WORDS_MAX];
        net_faults_describe_cuts(&seen[self], names, N, words, sizeof(words));
        check_text(words, sizeof(words));
        check_text(seen[self].cause, sizeof(seen[self].cause));
        if (seen[self].drop_to[self] || seen[self].drop_from[self])
            __builtin_trap(); /* nobody cuts itself */
    }
    for (raft_id a = 1; a <= N; a++)
        for (raft_id b = 1; b <= N; b++)
            if (seen[a].drop_to[b] != seen[b].drop_from[a])
                __builtin_trap(); /* the two ends disagree on the a -> b direction */
    switch (req->action) {
    case NET_FAULT_PARTITION:
        for (raft_id id = 1; id <= N; id++)
            if (req->side[id] < 1 || req->side[id] > N)
                __builtin_trap();
        for (raft_id a = 1; a <= N; a++)
            for (raft_id b = 1; b <= N; b++)
                if (seen[a].drop_to[b] != (req->side[a] != req->side[b]))
                    __builtin_trap();
        break;
    case NET_FAULT_ONE_WAY:
        if (req->from < 1 || req->from > N || req->to < 1 || req->to > N || req->from == req->to)
            __builtin_trap();
        for (raft_id a = 1; a <= N; a++)
            for (raft_id b = 1; b <= N; b++)
                if (seen[a].drop_to[b] != (a == req->from && b == req->to))
                    __builtin_trap();
        break;
    case NET_FAULT_HEAL:
        for (raft_id a = 1; a <= N; a++)
            if (net_faults_any_cut(&seen[a], N))
                __builtin_trap();
        break;
    case NET_FAULT_DELAY:
        if (req->delay_ms > NET_FAULTS_MAX_DELAY_MS)
            __builtin_trap();
        break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct json_object *obj = NULL, *action;
    char err[256];
    if (json_line_parse((const char *)data, size, CLIENT_LINE_MAX, &obj, err, sizeof(err)) != 0)
        return 0;
    if (json_object_object_get_ex(obj, "action", &action) &&
        json_object_is_type(action, json_type_string) &&
        net_faults_is_action(json_object_get_string(action))) {
        struct net_fault_request req;
        err[0] = '\0';
        if (net_faults_parse(obj, json_object_get_string(action), names, N, &req, err,
                             sizeof(err)) == 0) {
            check_request(&req);
        } else {
            if (err[0] == '\0')
                __builtin_trap(); /* a refusal always says why */
            check_text(err, sizeof(err));
        }
    }
    json_object_put(obj);
    return 0;
}
