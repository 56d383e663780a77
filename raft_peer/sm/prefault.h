/* prefault.h: faulting in a large fresh buffer at once, for the state machine's key
 * table and its snapshot encoder (a snapshot load or an encode touches tens of MB). */
#ifndef RAFT_PEER_PREFAULT_H
#define RAFT_PEER_PREFAULT_H

#include <stddef.h>

/* Faults in the whole pages of [p, p + n) in one call where the kernel can (Linux
 * 5.14+), much cheaper than one page fault per page, and asks for transparent huge
 * pages on ranges of 2 MiB or more. Only a hint: nothing depends on it working. */
void prefault(void *p, size_t n);

#endif
