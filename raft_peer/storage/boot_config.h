/* boot_config.h: the configuration a peer's data directory began with (docs/MEMBERSHIP.md),
 * kept in data/<peer>/bootstrap, and the configuration a snapshot carries. */
#ifndef RAFT_PEER_BOOT_CONFIG_H
#define RAFT_PEER_BOOT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "raft_peer/core/raft.h"

/* The bootstrap configuration of dir: the stored one when the file exists (*stored true),
 * else voters 1..n (n > 0), or no configuration at all (n == 0, raft_peer --join),
 * written durably before it is used (tmp file, fdatasync, rename, directory fsync), so
 * a restart with another N cannot change the membership behind the log's back.
 * 0, or -1 with err. */
int boot_config_open(const char *dir, int n, struct raft_configuration *out, bool *stored,
                     char *err, size_t errlen);

/* A snapshot's bytes are the configuration at its last index, then the state machine's:
 *   "RVCF" | length u8 | raft_configuration_encode text | state machine snapshot.
 * Bytes without the "RVCF" prefix are a snapshot from before membership changes: all of
 * it is the state machine's, and the configuration is the bootstrap one. */
#define SNAPSHOT_CONFIG_MAX (5 + RAFT_CONFIGURATION_MAX)
/* Writes the prefix for c into out; its length. */
size_t snapshot_config_prefix(const struct raft_configuration *c, uint8_t out[SNAPSHOT_CONFIG_MAX]);
/* Splits a snapshot's bytes: *c is its configuration (fallback when it has none), *sm
 * and *sm_len the state machine's part. 0, or -1 when the prefix is there but damaged. */
int snapshot_config_split(const uint8_t *data, size_t len,
                          const struct raft_configuration *fallback, struct raft_configuration *c,
                          const uint8_t **sm, size_t *sm_len);

#endif
