/* sim_alloc.c: checked allocation and array growth. */
#include "sim_alloc.h"

#include <stdio.h>
#include <stdlib.h>

static void out_of_memory(size_t size)
{
    fprintf(stderr, "raft_sim: out of memory (%zu bytes)\n", size);
    abort();
}

void *sim_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p)
        out_of_memory(size);
    return p;
}

void *sim_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        out_of_memory(n * size);
    return p;
}

void *sim_xrealloc(void *p, size_t size)
{
    void *q = realloc(p, size ? size : 1);
    if (!q)
        out_of_memory(size);
    return q;
}

void sim_grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return;
    size_t ncap = *cap ? *cap : 16;
    while (ncap < need) {
        if (ncap > ((size_t)-1) / 2 / elem)
            out_of_memory(need * elem);
        ncap *= 2;
    }
    *p = sim_xrealloc(*p, ncap * elem);
    *cap = ncap;
}
