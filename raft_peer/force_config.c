/* force_config.c: `raft_peer NAME --force-config LIST`, the loud and unsafe way out when
 * a majority of the voters is gone for good (etcd's --force-new-cluster, hashicorp/raft's
 * peers.json). Before the peer starts, it appends to its own log, durably, a
 * configuration entry whose voters are LIST, in a term above every term it has seen, and
 * records that term; the log's configuration then wins at boot (§4.1). The peer then
 * needs only LIST's majority to be elected, and replicates the entry to the others.
 *
 * What it can lose (docs/MEMBERSHIP.md): every entry the lost voters held that this peer
 * does not, acknowledged ones included; and if another forced or surviving peer wrote
 * an entry of the same term at the same index, the logs disagree for good. Force the
 * most up-to-date survivor, once. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error_message.h"
#include "raft_peer/peer.h"
#include "raft_peer/storage/snapshot_store.h"
#include "raft_peer/storage/storage.h"

/* "peer1,peer3" -> voters mask; NAME must be among them. */
static int parse_list(const struct config *cfg, int self_index, const char *list, uint32_t *mask,
                      char *err, size_t errlen)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%s", list);
    *mask = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int i = config_find_peer(cfg, tok);
        if (i < 0 || i >= RAFT_MAX_PEERS) {
            set_err(err, errlen, "no peer named '%.64s' in the ini file", tok);
            return -1;
        }
        *mask |= (uint32_t)1 << (i + 1);
    }
    if (!(*mask & ((uint32_t)1 << (self_index + 1)))) {
        set_err(err, errlen, "%s must be one of the forced voters", cfg->peers[self_index].name);
        return -1;
    }
    return 0;
}

int peer_force_configuration(struct peer *p, const struct config *cfg, int self_index,
                             const char *list, char *err, size_t errlen)
{
    (void)p;
    struct raft_configuration conf = {0, 0};
    if (parse_list(cfg, self_index, list, &conf.voters, err, errlen) != 0)
        return -1;
    char dir[CONFIG_PATH_MAX + 80];
    snprintf(dir, sizeof(dir), "%s/%s", cfg->data_dir, cfg->peers[self_index].name);
    struct snapshot_meta m;
    uint8_t *data = NULL;
    if (snapshot_load(dir, &m, &data, err, errlen) != 0)
        return -1;
    free(data);
    struct storage *st = NULL;
    struct storage_boot boot;
    memset(&boot, 0, sizeof(boot));
    if (storage_open_after_snapshot(dir, m.index, m.term, &st, &boot, err, errlen) != 0) {
        storage_boot_free(&boot);
        return -1;
    }
    raft_index last = boot.n_entries ? boot.first_index + boot.n_entries - 1 : m.index;
    raft_term last_term = boot.n_entries ? boot.entries[boot.n_entries - 1].term : m.term;
    raft_term term = (boot.term > last_term ? boot.term : last_term) + 1;
    uint8_t bytes[RAFT_CONFIGURATION_MAX];
    size_t len = raft_configuration_encode(&conf, bytes);
    struct raft_entry e = {
        .term = term, .type = RAFT_ENTRY_CONFIG, .len = (uint32_t)len, .data = bytes};
    int rc = storage_save_hard_state(st, term, self_index + 1, err, errlen) == 0 &&
                     storage_append(st, last + 1, &e, 1, err, errlen) == 0 &&
                     storage_sync(st, err, errlen) == 0
                 ? 0
                 : -1;
    storage_boot_free(&boot);
    storage_close(st);
    if (rc == 0)
        fprintf(stderr,
                "raft_peer %s: WARNING: --force-config made %.*s the configuration at index "
                "%llu, term %llu. This is UNSAFE: entries only the lost voters held are gone, "
                "acknowledged or not (docs/MEMBERSHIP.md). Do it on one peer, once.\n",
                cfg->peers[self_index].name, (int)len, (const char *)bytes,
                (unsigned long long)(last + 1), (unsigned long long)term);
    return rc;
}
