/* latency.h: every latency sample of a run kept in full, so percentiles are exact. */
#ifndef BENCH_LATENCY_H
#define BENCH_LATENCY_H

#include <stddef.h>
#include <stdint.h>

struct latency {
    uint64_t *us; /* samples in microseconds; sorted once latency_sort ran */
    size_t n;     /* samples kept */
    size_t cap;   /* allocated slots */
    size_t lost;  /* samples dropped because memory ran out (reported, never hidden) */
    int sorted;   /* 1 after latency_sort, 0 after any add */
};

/* Microseconds on CLOCK_MONOTONIC. */
uint64_t bench_now_us(void);

void latency_init(struct latency *l);
void latency_free(struct latency *l);
/* Keeps one sample; when memory runs out the sample is counted in lost instead. */
void latency_add(struct latency *l, uint64_t us);
/* Appends every sample of src to dst. 0, or -1 when memory ran out (dst unchanged). */
int latency_merge(struct latency *dst, const struct latency *src);
void latency_sort(struct latency *l);

/* Nearest-rank percentile (p in (0, 100]): the smallest sample with at least p% of
 * the samples at or below it. Sorts first if needed. 0 when there is no sample. */
uint64_t latency_percentile(struct latency *l, double p);
/* Arithmetic mean, 0 when empty. */
double latency_mean(const struct latency *l);
uint64_t latency_min(struct latency *l);
uint64_t latency_max(struct latency *l);

#endif
