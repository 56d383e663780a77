/* sim_trace.h: a ring of the run's recent steps, printed readably when a seed fails. */
#ifndef SIM_TRACE_H
#define SIM_TRACE_H

#include <stdint.h>
#include <stdio.h>

#include "raft_peer/core/raft.h"

#define SIM_TRACE_RING 2048

enum sim_rec_kind {
    SIM_REC_DELIVER = 1, /* sub = message type; node = to, peer = from */
    SIM_REC_DROP,        /* as DELIVER; flags2 = enum sim_drop_reason */
    SIM_REC_BAD_MSG,     /* a corrupted copy was delivered; a = what the core answered */
    SIM_REC_CORE,        /* the core's trace callback: sub = raft_trace_type */
    SIM_REC_CRASH,       /* a = torn write kind, b = pending writes lost */
    SIM_REC_RESTART,     /* a = durable term, b = vote, c = durable log length */
    SIM_REC_DISK_FAIL,   /* raft_stop(): the disk refuses writes from now on */
    SIM_REC_PERSIST,     /* a = ready seq, b = term (0: no hard state), c = from, d = n */
    SIM_REC_PARTITION,   /* sub = sim_part_kind, a, b = nodes, c = mask */
    SIM_REC_NET_HEAL,
    SIM_REC_HEAL,        /* end of the fault phase */
    SIM_REC_PROPOSE,     /* a = serial, b = index, c = result */
    SIM_REC_READ,        /* sub = enum sim_read_event, a = ctx, b = index, c = needed index */
    SIM_REC_TRANSFER,    /* peer = target, a = result */
    SIM_REC_SNAPSHOT,    /* sub = enum sim_snap_event */
    SIM_REC_DISCONNECT,  /* node hears that peer's connection closed */
    SIM_REC_UNREACHABLE, /* leader node hears that what it queued for peer was dropped */
    SIM_REC_PACE,        /* a = factor, b = 1 fast failover on */
    SIM_REC_MEMBER, /* sub = enum raft_change, node = leader, peer = id, a = result, b = index */
    SIM_REC_RETIRE, /* the operator shuts down node, whose removal committed */
};

enum sim_snap_event {
    SIM_SNAP_TAKEN = 1, /* a = index, b = log compacted up to */
    SIM_SNAP_SEND,      /* peer = follower, a = index, b = chunks */
    SIM_SNAP_CHUNK,     /* peer = leader, a = index, b = chunk, c = chunks, d = result */
    SIM_SNAP_INSTALL,   /* peer = leader, a = index, d = result, b = 1 if the core installed it */
    SIM_SNAP_DONE,      /* peer = follower, a = 1 ok */
    SIM_SNAP_READING,   /* peer = leader, a = index, b = ms the follower will read it for */
    SIM_SNAP_LOST,      /* peer = leader, a = index: the follower crashed while reading it */
    SIM_SNAP_IGNORED,   /* peer = leader, a = index: a chunk came while it read another */
};

enum sim_drop_reason {
    SIM_DROP_CUT = 1,  /* partition at send time */
    SIM_DROP_LOST,     /* random loss */
    SIM_DROP_DOWN,     /* receiver crashed */
    SIM_DROP_CUT_LATE, /* partition at delivery time */
    SIM_DROP_QUEUE,    /* the leader's daemon gave up its queue to that follower */
};

enum sim_read_event {
    SIM_READ_ISSUE = 1,
    SIM_READ_INDEX, /* the core gave its read index */
    SIM_READ_SERVED,
    SIM_READ_FAILED,
};

struct sim_rec {
    raft_time time;
    uint64_t step; /* the run's step counter when recorded */
    uint64_t a, b, c, d;
    uint64_t f; /* AppendEntries and results: read round */
    uint32_t e;
    uint8_t kind;
    uint8_t sub;
    uint8_t node;
    uint8_t peer;
    uint8_t flags;  /* message flags: 1 pre-vote/success/granted, 2 after_persist, 4 transfer */
    uint8_t flags2; /* drop reason */
};

struct sim_trace {
    struct sim_rec ring[SIM_TRACE_RING];
    uint64_t count;
    FILE *live; /* when set (--verbose on one seed), every record is printed at once */
};

void sim_trace_init(struct sim_trace *t, FILE *live);
void sim_trace_add(struct sim_trace *t, const struct sim_rec *r);
/* Fills r's message fields (sub, node, peer, a..e, flags) from m. */
void sim_trace_fill_msg(struct sim_rec *r, const struct raft_message *m);
void sim_trace_format(const struct sim_rec *r, char *buf, size_t len);
/* Prints the records of the last `steps` steps (at most the ring's size). */
void sim_trace_dump(const struct sim_trace *t, FILE *out, uint64_t now_step, uint64_t steps);

#endif
