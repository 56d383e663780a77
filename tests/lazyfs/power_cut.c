/* power_cut.c: what the control file's "crash" does: every file's unsynced pages and
 * sizes are forgotten, then every unsynced directory operation is undone, so that the
 * backing directory (and so the mount) shows only what was durable. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

#include "tests/lazyfs/lazyfs.h"

void lazyfs_power_cut(uint64_t torn_seed)
{
    struct lazy_counters *c = &lazyfs.counters;
    uint64_t rng = torn_seed;
    size_t dropped = 0, pages = 0;
    /* File data first, while the paths still name the files the pages belong to. */
    struct lazy_node *n = lazyfs.nodes;
    while (n) {
        struct lazy_node *next = n->next;
        int fd = -1;
        if (torn_seed && n->path && n->cache.npages)
            fd = openat(lazyfs.root_fd, *n->path ? n->path : ".", O_WRONLY | O_CLOEXEC);
        size_t had = n->cache.npages;
        size_t lost = page_cache_drop(&n->cache, fd, torn_seed ? &rng : NULL);
        /* Which files lost what: the first thing to read when a cut breaks a peer. */
        if (had)
            fprintf(stderr,
                    "lazyfs: power cut %" PRIu64 ": %s: %zu of %zu unsynced pages dropped\n",
                    c->power_cuts + 1, n->path ? n->path : "(removed file)", lost, had);
        pages += had;
        dropped += lost;
        if (fd >= 0)
            close(fd);
        /* A file still open (not by a peer: they are killed first) keeps its handle,
         * which now reads the durable contents. */
        node_release_if_idle(n, -1);
        n = next;
    }
    size_t failed;
    size_t undone = dir_journal_undo_all(&lazyfs.journal, &failed);
    c->power_cuts++;
    c->pages_dropped += dropped;
    c->pages_torn_kept += pages - dropped;
    c->dir_ops_undone += undone;
    c->undo_failures += failed;
    fprintf(stderr,
            "lazyfs: power cut %" PRIu64 ": %zu unsynced pages dropped, %zu kept (torn), %zu "
            "directory operations undone, %zu failed\n",
            c->power_cuts, dropped, pages - dropped, undone, failed);
}

int lazyfs_format_counters(char *out, size_t len)
{
    const struct lazy_counters *c = &lazyfs.counters;
    return snprintf(out, len,
                    "power_cuts=%" PRIu64 " pages_dropped=%" PRIu64 " pages_torn_kept=%" PRIu64
                    " dir_ops_undone=%" PRIu64 " undo_failures=%" PRIu64 " file_syncs=%" PRIu64
                    " dir_syncs=%" PRIu64 " unsynced_pages=%zu unsynced_dir_ops=%zu\n",
                    c->power_cuts, c->pages_dropped, c->pages_torn_kept, c->dir_ops_undone,
                    c->undo_failures, c->file_syncs, c->dir_syncs, nodes_unsynced_pages(),
                    lazyfs.journal.n);
}
