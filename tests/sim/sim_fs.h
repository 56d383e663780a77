/* sim_fs.h: a model file system with a page cache, under the real storage code.
 *
 * The simulator and the crash-point explorer link tests/sim/sim_fs.c in place of
 * raft_peer/storage/storage_io.c, so the daemon's own storage*.c and snapshot_store.c run over
 * it unchanged. Every file's data and every directory's entries have a volatile state
 * (what processes see) and a durable state (what the platter holds):
 *   - writes, truncates, preallocations, creates, renames, unlinks and mkdirs change the
 *     volatile state;
 *   - fsync or fdatasync of a file makes its data (and size) durable; fsync of a
 *     directory makes its entries durable;
 *   - a power cut keeps the durable state plus what the seed picks of the rest: any
 *     subset of the unsynced 512-byte sectors of each file (torn and reordered writes;
 *     a sector never written reads as zeros), its old or new size, and for each
 *     directory a prefix of the entry changes made since its last fsync (a journal
 *     commits them in order; a rename is one change).
 * Descriptors are the model's own (from SIM_FS_FD_BASE up), tagged with an owner, so
 * killing a process closes its descriptors and drops its locks. Not thread-safe: one
 * simulation per process (raft_sim runs seeds in forked workers). */
#ifndef SIM_FS_H
#define SIM_FS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SIM_FS_SECTOR  512u
#define SIM_FS_FD_BASE 100000

struct sim_fs;

/* What a power cut keeps of the unsynced state. */
enum sim_fs_cut {
    SIM_FS_CUT_DROP_ALL, /* nothing that no fsync covered */
    SIM_FS_CUT_RANDOM,   /* a subset chosen by the seed */
};

struct sim_fs *sim_fs_new(void);
void sim_fs_free(struct sim_fs *fs);
/* A deep copy: the same files, entries, durable states and descriptors. */
struct sim_fs *sim_fs_clone(const struct sim_fs *fs);

/* The file system that the sio_* calls act on from now on (NULL: none, every call fails
 * with ENODEV). */
void sim_fs_use(struct sim_fs *fs);
struct sim_fs *sim_fs_current(void);
/* Descriptors opened from now on belong to owner. */
void sim_fs_set_owner(struct sim_fs *fs, int owner);
/* The owner died: its descriptors close and its locks go; its data stays in the cache. */
void sim_fs_kill(struct sim_fs *fs, int owner);
/* Power cut of the directory tree at path ("/" for everything): every volatile change
 * under it is dropped or kept as above. Processes using it must be killed first. */
void sim_fs_power_cut(struct sim_fs *fs, const char *path, enum sim_fs_cut how, uint64_t seed);

/* Called before every call that changes the file system (create, write, truncate,
 * preallocate, fsync, fdatasync, unlink, rename, mkdir, lock), with its name: the crash-point
 * explorer cuts the power there. */
void sim_fs_set_hook(struct sim_fs *fs, void (*hook)(void *ctx, const char *op), void *ctx);
/* How many such calls ran, and how many of them were fsyncs or fdatasyncs. */
uint64_t sim_fs_changes(const struct sim_fs *fs);
uint64_t sim_fs_syncs(const struct sim_fs *fs);
/* True when something under path is not durable (a sector, a size or an entry). */
bool sim_fs_unsynced(const struct sim_fs *fs, const char *path);

#endif
