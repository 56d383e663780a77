/* sim_network.h: the simulated network: message copies, partitions, loss, duplication and delay. */
#ifndef SIM_NETWORK_H
#define SIM_NETWORK_H

#include <stdbool.h>
#include <stddef.h>

#include "raft_peer/core/raft.h"
#include "sim_rng.h"

#define SIM_NET_MAX 8 /* node ids 1..7 */

/* The fault settings of one moment of the run. */
struct sim_net {
    int n;
    bool cut[SIM_NET_MAX][SIM_NET_MAX]; /* cut[a][b]: nothing sent by a reaches b */
    uint32_t loss_ppm;                  /* each copy is lost with this probability */
    uint32_t dup_ppm;                   /* a second copy is delivered with this probability */
    uint32_t slow_ppm;                  /* a copy takes a long detour (reorders it) */
    raft_time delay_min, delay_max;     /* ordinary one-way delay */
    raft_time slow_max;                 /* upper bound of a long detour */
};

enum sim_part_kind {
    SIM_PART_ISOLATE = 1, /* a is cut off both ways */
    SIM_PART_ONE_WAY = 2, /* a's messages to b are lost; b's reach a */
    SIM_PART_SPLIT = 3,   /* the nodes in mask and the others cannot talk */
    SIM_PART_BRIDGE = 4,  /* a split, except node a talks to both sides */
    SIM_PART_LINKS = 5,   /* random one-way links cut */
};

/* What a partition did, for the trace. */
struct sim_part {
    int kind;
    int a, b;
    unsigned mask; /* bit i set: node i is on the first side */
};

/* Messages from the core are borrowed; the network keeps deep copies (entries and
 * their bytes in one allocation, released with free()). Checks the shape first and
 * returns NULL with a message in err when the core produced a malformed message. */
struct raft_message *sim_msg_clone(const struct raft_message *m, int n_peers, char *err,
                                   size_t errlen);

/* How many copies (0 to 2) of a message from a to b get through, and their delays. */
int sim_net_route(const struct sim_net *net, struct sim_rng *rng, int from, int to,
                  raft_time delay[2]);
bool sim_net_connected(const struct sim_net *net, int from, int to);
/* Removes every cut. */
void sim_net_heal(struct sim_net *net);
/* Replaces the current cuts with a random partition. */
void sim_net_partition(struct sim_net *net, struct sim_rng *rng, struct sim_part *what);
/* Replaces the current cuts with a split that puts node on one side, with 0 to n-2
 * others chosen at random. */
void sim_net_split_with(struct sim_net *net, struct sim_rng *rng, int node, struct sim_part *what);
/* Makes m structurally invalid (bad sender or type) so the receiver must refuse it. */
void sim_msg_corrupt(struct raft_message *m, struct sim_rng *rng, int n_peers);

#endif
