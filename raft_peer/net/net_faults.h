/* net_faults.h: the network faults a classroom plays with on peers started with -v:
 * which links this peer cuts (a partition, an isolated peer, a one-way cut) and by how
 * much it delays what it sends. Pure bookkeeping: parsing the control messages, the cut
 * state each peer enforces on its own sends and receives, and describing it in words.
 * The held messages of a delay live in net_delay.h; the glue in fault_control.c. */
#ifndef RAFT_PEER_NET_FAULTS_H
#define RAFT_PEER_NET_FAULTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/config.h"
#include "raft_peer/core/raft.h"

struct json_object;

/* A delay longer than this is refused: beyond a few election timeouts it only hides
 * the cluster, and the held messages would pile up. */
#define NET_FAULTS_MAX_DELAY_MS 10000
/* The words of one request, e.g. "partition {peer1} | {peer2,peer3}": 16 names of 32
 * bytes with their separators fit. */
#define NET_FAULTS_WORDS_MAX 640

enum net_fault_action {
    NET_FAULT_PARTITION, /* groups; also what isolate becomes */
    NET_FAULT_ONE_WAY,   /* messages from one peer to another are dropped, not back */
    NET_FAULT_HEAL,      /* no cut left */
    NET_FAULT_DELAY,     /* every peer message held delay_ms before it leaves */
};

/* One control request, checked against the cluster. */
struct net_fault_request {
    enum net_fault_action action;
    /* NET_FAULT_PARTITION: the side of each peer 1..n. Each listed group is a side;
     * the peers no group names together form one more side. */
    int side[CONFIG_MAX_PEERS + 1];
    raft_id from, to; /* NET_FAULT_ONE_WAY */
    uint32_t delay_ms;
    char words[NET_FAULTS_WORDS_MAX]; /* the request in words, for logs and answers */
};

/* What this peer enforces, by peer id. */
struct net_faults {
    bool drop_to[CONFIG_MAX_PEERS + 1];   /* never send to it */
    bool drop_from[CONFIG_MAX_PEERS + 1]; /* ignore what it sends */
    uint32_t delay_ms;
    char cause[NET_FAULTS_WORDS_MAX]; /* the words of the request behind the cuts; "" if none */
    uint64_t dropped_out, dropped_in; /* peer messages dropped by the cuts, since start */
    uint64_t version;                 /* bumped by every change, for the game's state digest */
};

/* Parses the fields of a control message whose action is one of partition, isolate,
 * cut, heal or delay (net_faults_is_action says which are):
 *   {"action":"partition","groups":[["peer1"],["peer2","peer3"]]}
 *   {"action":"isolate","target":"peer1"}
 *   {"action":"cut","from":"peer1","to":"peer2"}
 *   {"action":"heal"}
 *   {"action":"delay","ms":200}
 * names are the cluster's n peers. 0, or -1 with a sentence in err. */
int net_faults_parse(struct json_object *obj, const char *action, const char *const *names, int n,
                     struct net_fault_request *req, char *err, size_t errlen);
bool net_faults_is_action(const char *action);

/* Carries a request out, as seen from peer self: a partition replaces every cut, a
 * one-way cut adds to them, heal clears them; delay changes only the delay. */
void net_faults_apply(struct net_faults *f, const struct net_fault_request *req, raft_id self,
                      int n);

static inline bool net_faults_drops_to(const struct net_faults *f, raft_id to)
{
    return to >= 1 && to <= CONFIG_MAX_PEERS && f->drop_to[to];
}
static inline bool net_faults_drops_from(const struct net_faults *f, raft_id from)
{
    return from >= 1 && from <= CONFIG_MAX_PEERS && f->drop_from[from];
}
bool net_faults_any_cut(const struct net_faults *f, int n);

/* "cuts its links to peer1, peer3; sends nothing to peer2" or "has no cut link". */
void net_faults_describe_cuts(const struct net_faults *f, const char *const *names, int n,
                              char *out, size_t outlen);

/* Which peers: both ways (cut), only outgoing (cut_to), only incoming (cut_from). */
enum net_cut_kind { NET_CUT_BOTH, NET_CUT_TO_ONLY, NET_CUT_FROM_ONLY };
bool net_faults_cut_is(const struct net_faults *f, raft_id id, enum net_cut_kind kind);

#endif
