/* lazyfs_mount.h: a lazyfs (tests/lazyfs/) mounted for a test: started as a child in the
 * foreground, waited for until the mount answers, told to cut the power, and unmounted
 * (also when it died). */
#ifndef TESTS_LIB_LAZYFS_MOUNT_H
#define TESTS_LIB_LAZYFS_MOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct lazyfs_mount {
    char backing[512];
    char mountpoint[512];
    pid_t pid;    /* the lazyfs process, 0 when none */
    bool mounted; /* the mount exists (maybe dead): unmount it */
};

/* $RAFT_LAZYFS_BIN, else build/release/tests/lazyfs. */
const char *lazyfs_bin(void);

/* Whether lazyfs can run here at all: its binary, /dev/fuse. 0, or -1 with why. */
int lazyfs_usable(const char *bin, char *why, size_t whylen);

/* Best effort: moves this process into a mount namespace of its own (root, or in a
 * user namespace), private from the rest of the machine, so that mounts made from now
 * on vanish with its last process even after a crash. 0 or -1. Call before threads. */
int lazyfs_private_mounts(void);

/* Mounts backing (an existing directory) at mountpoint (made if missing) with a new
 * lazyfs whose output goes to log_path. 0, or -1 with err (nothing left mounted). */
int lazyfs_mount_start(struct lazyfs_mount *m, const char *bin, const char *backing,
                       const char *mountpoint, const char *log_path, char *err, size_t errlen);

/* Power cut: "crash" (torn_seed 0) or "crash torn SEED" to the control file; counters
 * (the control file's line after the cut) into counters if not NULL. 0 or -1 with err. */
int lazyfs_cut_power(const struct lazyfs_mount *m, unsigned long long torn_seed, char *counters,
                     size_t counterslen, char *err, size_t errlen);

/* Unmounts and reaps the lazyfs process. Safe to call twice. */
void lazyfs_unmount(struct lazyfs_mount *m);

#endif
