/* snapshots.h: log compaction and snapshot transfers (§7, Figure 13), done for the core
 * as the daemon does them: the core never holds snapshot bytes. */
#ifndef SCENARIO_SNAPSHOTS_H
#define SCENARIO_SNAPSHOTS_H

#include "raft_peer/core/raft.h"
#include "tests/scenario/cluster.h"
#include "tests/scenario/wire.h"

/* p saves its state machine at its applied index to its disk. */
int snapshot_take(struct peer *p);
/* raft_compact(p, index), then the same cut on p's disk. A refusal is printed. */
int snapshot_compact(struct peer *p, raft_index index);
/* Leader p: sends its snapshot to each follower the ready asks for (one transfer per
 * follower at a time: the core asks again if it still needs one). */
int snapshot_send_requested(struct peer *p, const struct raft_ready *rd);
/* Follower f receives a snapshot: term checks, then durable, loaded, installed;
 * answers the leader's daemon. */
int snapshot_receive(struct cluster *c, struct peer *f, const struct wire *w);
/* Leader l hears how a transfer ended (raft_snapshot_sent). */
int snapshot_result(struct peer *l, const struct wire *w);
/* w never arrived: if it was a transfer or its answer, the transfer failed, and its
 * leader will tell its core (snapshot_report_lost) before its next ready. */
void snapshot_lost(struct cluster *c, const struct wire *w);
/* Between readies: tells p's core of its failed transfers. */
void snapshot_report_lost(struct peer *p);
/* Settles every peer with failed transfers to report. */
int snapshot_settle_lost(struct cluster *c);
/* A fresh run of p: it knows of no transfer. */
void snapshot_forget_transfers(struct peer *p);

#endif
