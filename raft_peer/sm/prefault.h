/* prefault.h: faulting in a large fresh buffer at once, for the state machine's key
 * table and its snapshot encoder (a snapshot load or an encode touches tens of MB). */
#ifndef RAFT_PEER_PREFAULT_H
#define RAFT_PEER_PREFAULT_H

#include <stddef.h>

/* 2 MiB: a transparent huge page on x86-64, the unit huge_malloc aligns to. */
#define PREFAULT_HUGE_BYTES ((size_t)2 << 20)

/* Faults in the whole pages of [p, p + n) in one call where the kernel can (Linux
 * 5.14+), much cheaper than one page fault per page, and asks for transparent huge
 * pages on ranges of 2 MiB or more. Only a hint: nothing depends on it working. */
void prefault(void *p, size_t n);

/* Asks for transparent huge pages on [p, p + n) without faulting anything in: a page
 * first touched later comes as a 2 MiB page, and a page never touched costs nothing. */
void prefer_huge_pages(void *p, size_t n);

/* malloc, but a block of 2 MiB or more starts on a 2 MiB boundary, so that all of it
 * can be huge pages (malloc's big blocks start just past a 4 KiB page boundary, which
 * leaves up to 2 MiB of small pages at each end). Freed with free(). */
void *huge_malloc(size_t n);

#endif
