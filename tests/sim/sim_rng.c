/* sim_rng.c: xoshiro256** (Blackman & Vigna) seeded with splitmix64, plus FNV-1a based hashes. */
#include "sim_rng.h"

static uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

/* MurmurHash3's 64-bit finaliser: every input bit affects every output bit. */
static uint64_t fmix64(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

uint64_t sim_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void sim_rng_seed(struct sim_rng *rng, uint64_t seed)
{
    uint64_t st = seed;
    for (int i = 0; i < 4; i++)
        rng->s[i] = sim_splitmix64(&st);
    /* xoshiro must not start from all zeroes; splitmix64 cannot produce four of them,
     * but keep the guarantee explicit. */
    if ((rng->s[0] | rng->s[1] | rng->s[2] | rng->s[3]) == 0)
        rng->s[0] = 1;
}

uint64_t sim_rng_next(struct sim_rng *rng)
{
    uint64_t *s = rng->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t sim_rng_below(struct sim_rng *rng, uint64_t n)
{
    if (n == 0)
        return 0;
    /* Multiply-high maps 64 random bits onto [0, n) with a bias below 2^-40 for the
     * small n used here; no division, no rejection loop. */
    return (uint64_t)(((unsigned __int128)sim_rng_next(rng) * n) >> 64);
}

uint64_t sim_rng_range(struct sim_rng *rng, uint64_t lo, uint64_t hi)
{
    if (hi <= lo)
        return lo;
    return lo + sim_rng_below(rng, hi - lo + 1);
}

bool sim_rng_chance(struct sim_rng *rng, uint32_t ppm)
{
    if (ppm == 0)
        return false;
    return sim_rng_below(rng, 1000000) < ppm;
}

uint64_t sim_hash_bytes(const void *data, size_t len, uint64_t seed)
{
    const uint8_t *p = data;
    uint64_t h = 0xcbf29ce484222325ULL ^ fmix64(seed + len);
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return fmix64(h);
}

uint64_t sim_hash_mix(uint64_t a, uint64_t b)
{
    return fmix64(a ^ fmix64(b + 0x9e3779b97f4a7c15ULL + (a << 6) + (a >> 2)));
}
