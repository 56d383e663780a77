/* main.c: lazyfs BACKING_DIR MOUNTPOINT [FUSE options]: mounts BACKING_DIR at
 * MOUNTPOINT, always single-threaded (the state has no locks). Written data stays in
 * memory until fsync; writing "crash" (or "crash torn SEED") to MOUNTPOINT/.lazyfs_ctl
 * forgets everything unsynced; reading it gives counters. See docs/CHAOS.md. */
#define FUSE_USE_VERSION 31

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fuse.h>

#include "tests/lazyfs/lazyfs.h"

struct lazyfs lazyfs;

int main(int argc, char **argv)
{
    if (argc < 3 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fprintf(argc < 3 ? stderr : stdout,
                "usage: lazyfs BACKING_DIR MOUNTPOINT [-f] [-d] [-o OPTIONS]\n"
                "Mounts BACKING_DIR at MOUNTPOINT; written data reaches BACKING_DIR only at\n"
                "fsync, directory changes become durable at the directory's fsync.\n"
                "echo crash > MOUNTPOINT/%s       power cut: forget everything unsynced\n"
                "echo 'crash torn SEED' > ...      the same, but keep a random half of the\n"
                "                                  unsynced pages\n"
                "cat MOUNTPOINT/%s                counters\n",
                LAZY_CTL_NAME, LAZY_CTL_NAME);
        return argc < 3 ? 2 : 0;
    }
    lazyfs.root_fd = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lazyfs.root_fd < 0) {
        perror(argv[1]);
        return 2;
    }
    int rc = dir_journal_init(&lazyfs.journal, lazyfs.root_fd);
    if (rc < 0) {
        fprintf(stderr, "lazyfs: %s/%s: %s\n", argv[1], LAZY_TRASH_NAME, strerror(-rc));
        return 2;
    }
    /* fuse_main's arguments: ours without BACKING_DIR, plus -s. */
    char **args = calloc((size_t)argc + 1, sizeof(*args));
    if (!args)
        return 2;
    int n = 0;
    args[n++] = argv[0];
    args[n++] = "-s";
    for (int i = 2; i < argc; i++)
        args[n++] = argv[i];
    rc = fuse_main(n, args, &lazyfs_operations, NULL);
    free(args);
    nodes_free_all();
    dir_journal_free(&lazyfs.journal);
    close(lazyfs.root_fd);
    return rc;
}
