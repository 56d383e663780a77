/* page_cache.h: one file's unsynced contents as lazyfs keeps them: the logical size that
 * processes see and the dirty pages written since the last fsync, merged over the
 * backing file on every read. Nothing reaches the backing file until page_cache_sync;
 * page_cache_drop forgets what a power cut would lose. */
#ifndef TESTS_LAZYFS_PAGE_CACHE_H
#define TESTS_LAZYFS_PAGE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LAZY_PAGE_SIZE 4096

struct lazy_page {
    uint64_t index; /* the page's offset / LAZY_PAGE_SIZE */
    unsigned char data[LAZY_PAGE_SIZE];
};

struct page_cache {
    bool loaded; /* size and floor read from the backing file */
    off_t size;  /* the file's size as processes see it */
    /* Backing bytes at or past floor are invisible: a truncate cut them off, and they
     * read as zeros (or as dirty pages) until the next sync makes that durable. */
    off_t floor;
    struct lazy_page **pages; /* dirty pages, sorted by index */
    size_t npages, cap;
};

/* Reads size and floor from the backing file fd on first use. 0 or -errno. */
int page_cache_load(struct page_cache *pc, int fd);
/* Whether anything differs from the backing file. */
bool page_cache_dirty(const struct page_cache *pc, int fd);

/* Reads what a process sees: dirty pages over the visible backing bytes. Bytes read
 * (short only at the logical end of file) or -errno. */
ssize_t page_cache_read(struct page_cache *pc, int fd, void *buf, size_t len, off_t off);
/* Writes into dirty pages only. len or -errno (-ENOMEM). */
ssize_t page_cache_write(struct page_cache *pc, int fd, const void *buf, size_t len, off_t off);
/* Changes the logical size. 0 or -errno. */
int page_cache_truncate(struct page_cache *pc, int fd, off_t size);

/* Makes the cached state durable: dirty pages and size to the backing file, then
 * fsync (fdatasync when datasync). 0 or -errno; on error the cache keeps everything. */
int page_cache_sync(struct page_cache *pc, int fd, bool datasync);

/* A power cut: forgets everything unsynced. With torn_seed nonzero, each dirty page is
 * first written to the backing file with probability 1/2 (a disk that wrote some of
 * the pages it was given); fd may then not be -1. Returns the number of pages dropped
 * (not written). The cache reloads from the backing file on next use. */
size_t page_cache_drop(struct page_cache *pc, int fd, uint64_t *torn_seed);

void page_cache_free(struct page_cache *pc);

#endif
