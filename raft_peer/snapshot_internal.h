/* snapshot_internal.h: the snapshot module's own state, shared by its files only
 * (snapshot_service.c, snapshot_child.c); everyone else holds the opaque handle and
 * calls snapshot_service.h. */
#ifndef RAFT_PEER_SNAPSHOT_INTERNAL_H
#define RAFT_PEER_SNAPSHOT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/config.h"
#include "raft_peer/core/raft.h"

struct peer;
struct snapshot_install;
struct snapshot_receiver;

/* Leader: one snapshot transfer in progress to a follower (chunked, one chunk in flight). */
struct snapshot_send {
    bool active;
    raft_index index;
    raft_term term;
    uint64_t size;
    uint32_t crc;
    uint8_t *data;    /* the snapshot as it was when the transfer began: a newer one may
                         replace the file meanwhile without restarting the transfer */
    uint64_t offset;  /* the next byte the follower needs */
    uint64_t sent_ms; /* when the chunk now in flight left */
};

/* What a snapshot child writes on its pipe before it exits (snapshot_child.c). */
struct snapshot_report {
    int32_t ok;          /* 1: the snapshot is durable in data/<peer>/snapshot.fork/snapshot */
    uint32_t crc;        /* crc32c of the data, as snapshot_save wrote it in the header */
    uint64_t size;       /* bytes of data */
    uint64_t encode_ms;  /* sm_snapshot_encode */
    uint64_t write_ms;   /* snapshot_save: write, fdatasync, rename, directory fsync */
    uint64_t private_kb; /* the child's Private_Dirty at the end: its own buffers plus the
                            pages either side wrote since the fork (copy-on-write) */
    char err[232];       /* why not, when !ok */
};

/* The snapshot being taken by a forked child, at most one at a time. */
struct snapshot_child {
    pid_t pid;        /* 0 when there is none */
    int fd;           /* read end of its report pipe; -1 once closed */
    raft_index index; /* what it covers: last applied index and its term at the fork */
    raft_term term;
    uint64_t bytes_mark; /* applied_bytes at the fork */
    uint64_t started_ms;
    uint64_t fork_ms; /* how long fork() held the event loop */
    bool superseded;  /* a snapshot from the leader was installed meanwhile */
    size_t got;       /* bytes of report read so far */
    struct snapshot_report report;
};

/* Snapshots (§7): ours on disk, the child taking the next one, transfers out (leader)
 * and in (follower). */
struct snapshots {
    raft_index index; /* ours: what it covers, its bytes' size and CRC */
    raft_term term;
    uint64_t size;
    uint32_t crc;
    struct raft_configuration configuration; /* the one it carries */
    struct snapshot_send sends[CONFIG_MAX_PEERS + 1];
    struct snapshot_receiver *receiver; /* the one being received, durable so far */
    raft_index receiving_index;
    raft_term receiving_term;
    uint64_t receiving_size;
    uint32_t receiving_crc;
    uint64_t receiving_have;             /* bytes of it durable so far */
    struct snapshot_install *installing; /* then read into the state machine */
    struct snapshot_child child;
    uint64_t applied_bytes; /* payload bytes of the entries applied since boot */
    uint64_t bytes_mark;    /* applied_bytes when our last snapshot was taken */
    uint64_t retry_ms;      /* after a failed snapshot, no new one before this */
    unsigned failures;      /* in a row, for the back-off */
    char err[512];          /* what the storage calls say went wrong */
};

/* snapshot_child.c: taking our snapshots in a forked child (snapshot_maybe_take starts
 * one). */
/* Reaps a finished child, if any, and adopts its snapshot. Never blocks. */
void snapshot_child_poll(struct peer *p);
/* A snapshot from the leader replaced our state machine: a running child's is older. */
void snapshot_child_supersede(struct peer *p);
/* Shutting down: kills and reaps a running child. */
void snapshot_child_stop(struct peer *p);
/* Boot: removes what a child the previous run lost left behind. */
void snapshot_child_remove_leftovers(const struct peer *p);

#endif
