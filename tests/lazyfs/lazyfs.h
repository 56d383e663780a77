/* lazyfs.h: the state shared by lazyfs's parts. lazyfs is a FUSE pass-through file system
 * over a backing directory that keeps written data in memory until fsync and directory
 * changes undoable until the directory's fsync, and can forget both on command: a power
 * cut for the processes that use it. See docs/CHAOS.md ("Power cuts"). */
#ifndef TESTS_LAZYFS_LAZYFS_H
#define TESTS_LAZYFS_LAZYFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "tests/lazyfs/dir_journal.h"
#include "tests/lazyfs/page_cache.h"

/* The control file at the mount root (docs/CHAOS.md): write "crash" to cut the power. */
#define LAZY_CTL_NAME ".lazyfs_ctl"

/* A file lazyfs tracks: open, or holding unsynced data. */
struct lazy_node {
    struct lazy_node *next;
    char *path; /* relative to the root; NULL once removed or renamed over while open */
    struct page_cache cache;
    int opens;
};

struct lazy_counters {
    uint64_t power_cuts;
    uint64_t pages_dropped;   /* unsynced pages forgotten by power cuts */
    uint64_t pages_torn_kept; /* unsynced pages a torn power cut wrote anyway */
    uint64_t dir_ops_undone;
    uint64_t undo_failures;
    uint64_t file_syncs;
    uint64_t dir_syncs;
};

struct lazyfs {
    int root_fd; /* the backing directory */
    struct dir_journal journal;
    struct lazy_node *nodes;
    struct lazy_counters counters;
};

extern struct lazyfs lazyfs;

/* file_table.c: the tracked files, by path. */
struct lazy_node *node_find(const char *path);
struct lazy_node *node_get(const char *path); /* NULL when out of memory */
/* Frees node unless it is open or holds unsynced data (fd: the backing file, or -1). */
void node_release_if_idle(struct lazy_node *node, int fd);
/* path and everything under it is gone: tracked files there are forgotten or detached. */
void node_removed(const char *path);
/* path (and everything under it) is now called to. */
int node_renamed(const char *from, const char *to);
size_t nodes_unsynced_pages(void);
/* At unmount: what was never synced is lost, as at a power cut. */
void nodes_free_all(void);

/* power_cut.c: forgets everything unsynced. torn_seed 0: all of it; otherwise each
 * unsynced page survives with probability 1/2, chosen from the seed. */
void lazyfs_power_cut(uint64_t torn_seed);
/* One line of counters, for reads of the control file. */
int lazyfs_format_counters(char *out, size_t len);

/* operations.c: the FUSE operations table. */
struct fuse_operations;
extern const struct fuse_operations lazyfs_operations;

#endif
