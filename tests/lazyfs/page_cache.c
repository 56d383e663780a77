/* page_cache.c: see page_cache.h. Pages are whole 4 KiB blocks filled from the visible
 * file on first write, so a read is one pread of the backing file plus a copy per dirty
 * page in range, never work per byte. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/lazyfs/page_cache.h"

int page_cache_load(struct page_cache *pc, int fd)
{
    if (pc->loaded)
        return 0;
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -errno;
    pc->size = st.st_size;
    pc->floor = st.st_size;
    pc->loaded = true;
    return 0;
}

bool page_cache_dirty(const struct page_cache *pc, int fd)
{
    if (!pc->loaded)
        return false;
    if (pc->npages)
        return true;
    struct stat st;
    return fd < 0 || fstat(fd, &st) != 0 || st.st_size != pc->size || pc->floor < pc->size;
}

/* The slot of page index in the sorted array: where it is, or where it would go. */
static size_t find_slot(const struct page_cache *pc, uint64_t index, bool *found)
{
    size_t lo = 0, hi = pc->npages;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (pc->pages[mid]->index < index)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < pc->npages && pc->pages[lo]->index == index;
    return lo;
}

/* The visible backing bytes only: everything at or past min(size, floor) reads zero. */
static ssize_t read_backing(const struct page_cache *pc, int fd, unsigned char *buf, size_t len,
                            off_t off)
{
    off_t visible = pc->floor < pc->size ? pc->floor : pc->size;
    size_t done = 0;
    while (done < len && off + (off_t)done < visible) {
        size_t want = len - done;
        if ((off_t)want > visible - off - (off_t)done)
            want = (size_t)(visible - off - (off_t)done);
        ssize_t n = pread(fd, buf + done, want, off + (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break; /* the backing file is shorter: the rest is a hole */
        done += (size_t)n;
    }
    memset(buf + done, 0, len - done);
    return (ssize_t)len;
}

ssize_t page_cache_read(struct page_cache *pc, int fd, void *buf, size_t len, off_t off)
{
    int rc = page_cache_load(pc, fd);
    if (rc < 0)
        return rc;
    if (off >= pc->size)
        return 0;
    if ((off_t)len > pc->size - off)
        len = (size_t)(pc->size - off);
    ssize_t n = read_backing(pc, fd, buf, len, off);
    if (n < 0)
        return n;
    uint64_t first = (uint64_t)off / LAZY_PAGE_SIZE;
    uint64_t last = ((uint64_t)off + len - 1) / LAZY_PAGE_SIZE;
    bool found;
    for (size_t i = find_slot(pc, first, &found); i < pc->npages; i++) {
        const struct lazy_page *p = pc->pages[i];
        if (p->index > last)
            break;
        off_t pstart = (off_t)(p->index * LAZY_PAGE_SIZE);
        off_t from = pstart > off ? pstart : off;
        off_t to = pstart + LAZY_PAGE_SIZE;
        if (to > off + (off_t)len)
            to = off + (off_t)len;
        memcpy((unsigned char *)buf + (from - off), p->data + (from - pstart), (size_t)(to - from));
    }
    return (ssize_t)len;
}

/* The dirty page index, made (from what a process would read there) when missing. */
static struct lazy_page *get_page(struct page_cache *pc, int fd, uint64_t index, int *err)
{
    bool found;
    size_t slot = find_slot(pc, index, &found);
    if (found)
        return pc->pages[slot];
    if (pc->npages == pc->cap) {
        size_t cap = pc->cap ? pc->cap * 2 : 16;
        struct lazy_page **grown = realloc(pc->pages, cap * sizeof(*grown));
        if (!grown) {
            *err = -ENOMEM;
            return NULL;
        }
        pc->pages = grown;
        pc->cap = cap;
    }
    struct lazy_page *p = malloc(sizeof(*p));
    if (!p) {
        *err = -ENOMEM;
        return NULL;
    }
    p->index = index;
    memset(p->data, 0, sizeof(p->data));
    off_t start = (off_t)(index * LAZY_PAGE_SIZE);
    if (start < pc->size) {
        ssize_t n = page_cache_read(pc, fd, p->data, LAZY_PAGE_SIZE, start);
        if (n < 0) {
            free(p);
            *err = (int)n;
            return NULL;
        }
    }
    memmove(pc->pages + slot + 1, pc->pages + slot, (pc->npages - slot) * sizeof(*pc->pages));
    pc->pages[slot] = p;
    pc->npages++;
    return p;
}

ssize_t page_cache_write(struct page_cache *pc, int fd, const void *buf, size_t len, off_t off)
{
    int rc = page_cache_load(pc, fd);
    if (rc < 0)
        return rc;
    size_t done = 0;
    while (done < len) {
        uint64_t at = (uint64_t)off + done;
        size_t in_page = (size_t)(at % LAZY_PAGE_SIZE);
        size_t n = LAZY_PAGE_SIZE - in_page;
        if (n > len - done)
            n = len - done;
        struct lazy_page *p = get_page(pc, fd, at / LAZY_PAGE_SIZE, &rc);
        if (!p)
            return done ? (ssize_t)done : rc;
        memcpy(p->data + in_page, (const unsigned char *)buf + done, n);
        done += n;
        if ((off_t)at + (off_t)n > pc->size)
            pc->size = (off_t)at + (off_t)n;
    }
    return (ssize_t)len;
}

int page_cache_truncate(struct page_cache *pc, int fd, off_t size)
{
    int rc = page_cache_load(pc, fd);
    if (rc < 0)
        return rc;
    if (size < pc->size) {
        /* Pages wholly past the end go; the page holding the end keeps its head only. */
        size_t keep = 0;
        for (size_t i = 0; i < pc->npages; i++) {
            struct lazy_page *p = pc->pages[i];
            off_t pstart = (off_t)(p->index * LAZY_PAGE_SIZE);
            if (pstart >= size) {
                free(p);
                continue;
            }
            if (pstart + LAZY_PAGE_SIZE > size)
                memset(p->data + (size - pstart), 0, (size_t)(pstart + LAZY_PAGE_SIZE - size));
            pc->pages[keep++] = p;
        }
        pc->npages = keep;
        if (size < pc->floor)
            pc->floor = size;
    }
    pc->size = size;
    return 0;
}

static int write_all(int fd, const unsigned char *p, size_t len, off_t off)
{
    while (len) {
        ssize_t n = pwrite(fd, p, len, off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        p += n;
        len -= (size_t)n;
        off += n;
    }
    return 0;
}

/* One page's bytes that lie inside the logical file. */
static size_t page_extent(const struct page_cache *pc, const struct lazy_page *p)
{
    off_t pstart = (off_t)(p->index * LAZY_PAGE_SIZE);
    if (pstart >= pc->size)
        return 0;
    return pc->size - pstart < LAZY_PAGE_SIZE ? (size_t)(pc->size - pstart) : LAZY_PAGE_SIZE;
}

int page_cache_sync(struct page_cache *pc, int fd, bool datasync)
{
    if (pc->loaded) {
        struct stat st;
        if (fstat(fd, &st) != 0)
            return -errno;
        /* Cut the hidden bytes first, so that growing back fills with zeros. */
        if (pc->floor < st.st_size && ftruncate(fd, pc->floor) != 0)
            return -errno;
        for (size_t i = 0; i < pc->npages; i++) {
            const struct lazy_page *p = pc->pages[i];
            int rc = write_all(fd, p->data, page_extent(pc, p), (off_t)(p->index * LAZY_PAGE_SIZE));
            if (rc < 0)
                return rc;
        }
        if (ftruncate(fd, pc->size) != 0)
            return -errno;
    }
    if ((datasync ? fdatasync(fd) : fsync(fd)) != 0)
        return -errno;
    if (pc->loaded) {
        for (size_t i = 0; i < pc->npages; i++)
            free(pc->pages[i]);
        pc->npages = 0;
        pc->floor = pc->size;
    }
    return 0;
}

size_t page_cache_drop(struct page_cache *pc, int fd, uint64_t *torn_seed)
{
    size_t dropped = 0;
    for (size_t i = 0; i < pc->npages; i++) {
        struct lazy_page *p = pc->pages[i];
        bool keep = false;
        if (torn_seed && fd >= 0) {
            /* xorshift64: the same seed tears the same pages */
            uint64_t x = *torn_seed;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            *torn_seed = x;
            keep = (x & 1) && write_all(fd, p->data, page_extent(pc, p),
                                        (off_t)(p->index * LAZY_PAGE_SIZE)) == 0;
        }
        if (!keep)
            dropped++;
        free(p);
    }
    pc->npages = 0;
    pc->loaded = false;
    return dropped;
}

void page_cache_free(struct page_cache *pc)
{
    for (size_t i = 0; i < pc->npages; i++)
        free(pc->pages[i]);
    free(pc->pages);
    memset(pc, 0, sizeof(*pc));
}
