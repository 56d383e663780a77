/* latency.c: see latency.h. */
#include "bench/latency.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

uint64_t bench_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void latency_init(struct latency *l)
{
    memset(l, 0, sizeof(*l));
}

void latency_free(struct latency *l)
{
    free(l->us);
    latency_init(l);
}

static int reserve(struct latency *l, size_t extra)
{
    if (l->n + extra <= l->cap)
        return 0;
    size_t cap = l->cap ? l->cap : 4096;
    while (cap < l->n + extra) {
        if (cap > SIZE_MAX / 2 / sizeof(uint64_t))
            return -1;
        cap *= 2;
    }
    uint64_t *grown = realloc(l->us, cap * sizeof(*grown));
    if (!grown)
        return -1;
    l->us = grown;
    l->cap = cap;
    return 0;
}

void latency_add(struct latency *l, uint64_t us)
{
    if (reserve(l, 1) != 0) {
        l->lost++;
        return;
    }
    l->us[l->n++] = us;
    l->sorted = 0;
}

int latency_merge(struct latency *dst, const struct latency *src)
{
    if (src->n == 0) {
        dst->lost += src->lost;
        return 0;
    }
    if (reserve(dst, src->n) != 0)
        return -1;
    memcpy(dst->us + dst->n, src->us, src->n * sizeof(*src->us));
    dst->n += src->n;
    dst->lost += src->lost;
    dst->sorted = 0;
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

void latency_sort(struct latency *l)
{
    if (!l->sorted && l->n > 1)
        qsort(l->us, l->n, sizeof(*l->us), cmp_u64);
    l->sorted = 1;
}

uint64_t latency_percentile(struct latency *l, double p)
{
    if (l->n == 0)
        return 0;
    latency_sort(l);
    if (!(p > 0))
        return l->us[0];
    if (p >= 100)
        return l->us[l->n - 1];
    /* Nearest rank: ceil(p/100 * n), 1-based. The small epsilon keeps 99.9% of 1000
     * samples at rank 999 despite floating-point error. */
    double rank = ceil(p / 100.0 * (double)l->n - 1e-9);
    size_t r = rank < 1 ? 1 : (size_t)rank;
    if (r > l->n)
        r = l->n;
    return l->us[r - 1];
}

double latency_mean(const struct latency *l)
{
    if (l->n == 0)
        return 0;
    double sum = 0;
    for (size_t i = 0; i < l->n; i++)
        sum += (double)l->us[i];
    return sum / (double)l->n;
}

uint64_t latency_min(struct latency *l)
{
    return l->n ? latency_percentile(l, 0) : 0;
}

uint64_t latency_max(struct latency *l)
{
    return l->n ? latency_percentile(l, 100) : 0;
}
