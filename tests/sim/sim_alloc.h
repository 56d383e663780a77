/* sim_alloc.h: allocation for the simulator, which has no sensible way to continue out of memory.
 */
#ifndef SIM_ALLOC_H
#define SIM_ALLOC_H

#include <stddef.h>

/* Each aborts the run with a message when memory runs out: a simulator that kept
 * going after losing a message or a log entry would report false violations. */
void *sim_xmalloc(size_t size);
void *sim_xcalloc(size_t n, size_t size);
void *sim_xrealloc(void *p, size_t size);
/* Grows *p (an array of *cap elements of size elem) to hold at least need elements. */
void sim_grow(void **p, size_t *cap, size_t need, size_t elem);

#endif
