/* prefault.c: see prefault.h. */
#include "raft_peer/sm/prefault.h"

#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

void prefer_huge_pages(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    /* Where transparent huge pages are opt-in: a few 2 MiB pages instead of thousands
     * of 4 KiB ones, each of which costs a TLB fill (and, in a VM, often an exit). */
    uintptr_t page = 4096, start = ((uintptr_t)p + page - 1) & ~(page - 1);
    uintptr_t end = ((uintptr_t)p + n) & ~(page - 1);
    if (end > start && end - start >= PREFAULT_HUGE_BYTES)
        (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}

void prefault(void *p, size_t n)
{
#ifdef MADV_POPULATE_WRITE
    uintptr_t page = 4096, start = ((uintptr_t)p + page - 1) & ~(page - 1);
    uintptr_t end = ((uintptr_t)p + n) & ~(page - 1);
    if (end <= start)
        return;
    prefer_huge_pages((void *)start, end - start);
    (void)madvise((void *)start, end - start, MADV_POPULATE_WRITE);
#else
    (void)p;
    (void)n;
#endif
}

void *huge_malloc(size_t n)
{
    void *p;
    if (n < PREFAULT_HUGE_BYTES)
        return malloc(n);
    /* glibc maps such a block on its own and leaves the unused lead mapped but never
     * touched: it costs address space, not memory. */
    return posix_memalign(&p, PREFAULT_HUGE_BYTES, n) == 0 ? p : NULL;
}
