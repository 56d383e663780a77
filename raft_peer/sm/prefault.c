/* prefault.c: see prefault.h. */
#include "raft_peer/sm/prefault.h"

#include <stdint.h>
#include <sys/mman.h>

void prefault(void *p, size_t n)
{
#ifdef MADV_POPULATE_WRITE
    uintptr_t page = 4096, start = ((uintptr_t)p + page - 1) & ~(page - 1);
    uintptr_t end = ((uintptr_t)p + n) & ~(page - 1);
    if (end <= start)
        return;
#ifdef MADV_HUGEPAGE
    /* Where transparent huge pages are opt-in: a few 2 MiB pages instead of thousands
     * of 4 KiB ones, each of which costs a TLB fill (and, in a VM, often an exit). */
    if (end - start >= ((uintptr_t)2 << 20))
        (void)madvise((void *)start, end - start, MADV_HUGEPAGE);
#endif
    (void)madvise((void *)start, end - start, MADV_POPULATE_WRITE);
#else
    (void)p;
    (void)n;
#endif
}
