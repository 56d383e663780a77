/* sim_rng.h: the simulator's only source of randomness and its hashes, all derived from a seed. */
#ifndef SIM_RNG_H
#define SIM_RNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* xoshiro256** state; seeded through splitmix64 so that nearby seeds diverge at once. */
struct sim_rng {
    uint64_t s[4];
};

/* One step of splitmix64: advances *state and returns a well-mixed value. */
uint64_t sim_splitmix64(uint64_t *state);
void sim_rng_seed(struct sim_rng *rng, uint64_t seed);
uint64_t sim_rng_next(struct sim_rng *rng);
/* Uniform in [0, n); 0 when n == 0. */
uint64_t sim_rng_below(struct sim_rng *rng, uint64_t n);
/* Uniform in [lo, hi] (inclusive); lo when hi <= lo. */
uint64_t sim_rng_range(struct sim_rng *rng, uint64_t lo, uint64_t hi);
/* True with probability ppm / 1,000,000. Integer odds keep runs identical everywhere. */
bool sim_rng_chance(struct sim_rng *rng, uint32_t ppm);

/* 64-bit identity hashes for log entries. Not cryptographic: a collision, which would
 * hide a divergence, has probability about 2^-64 per comparison. */
uint64_t sim_hash_bytes(const void *data, size_t len, uint64_t seed);
uint64_t sim_hash_mix(uint64_t a, uint64_t b);

#endif
