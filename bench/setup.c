/* setup.c: see setup.h. */
#include "bench/setup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/config.h"

int bench_cluster_open(struct bench_cluster *bc, const struct bench_options *o, char *err,
                       size_t errlen)
{
    memset(bc, 0, sizeof(*bc));
    if (o->config) {
        struct config *cfg = malloc(sizeof(*cfg)); /* about 100 KB: not for the stack */
        if (!cfg) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        int rc = -1;
        if (config_load(o->config, cfg, err, errlen) != 0 ||
            config_check_cluster(cfg, o->peers, NULL, err, errlen) != 0)
            goto out;
        for (int i = 0; i < o->peers; i++) {
            snprintf(bc->targets[i].name, sizeof(bc->targets[i].name), "%s", cfg->peers[i].name);
            snprintf(bc->targets[i].host, sizeof(bc->targets[i].host), "%s", cfg->peers[i].host);
            bc->targets[i].port = cfg->peers[i].port;
        }
        bc->n = o->peers;
        rc = 0;
    out:
        free(cfg);
        return rc;
    }
    if (o->peers > CLUSTER_MAX_PEERS) {
        snprintf(err, errlen, "the bench starts at most %d peers", CLUSTER_MAX_PEERS);
        return -1;
    }
    struct cluster_options copt = {
        .election_timeout_min = o->timeout_min,
        .election_timeout_max = o->timeout_max,
        .heartbeat_interval = o->heartbeat,
        .log_level = o->log_level,
        .extra_raft = o->raft_lines[0] ? o->raft_lines : NULL,
    };
    bc->own = true;
    if (cluster_start(&bc->c, o->peers, &copt) != 0) {
        snprintf(err, errlen, "cannot start a %d-peer cluster from %s/raft_peer (see %s)", o->peers,
                 harness_bin_dir(), bc->c.dir[0] ? bc->c.dir : "/tmp");
        return -1;
    }
    for (int i = 0; i < o->peers; i++) {
        snprintf(bc->targets[i].name, sizeof(bc->targets[i].name), "peer%d", i + 1);
        snprintf(bc->targets[i].host, sizeof(bc->targets[i].host), "127.0.0.1");
        bc->targets[i].port = bc->c.ports[i + 1];
    }
    bc->n = o->peers;
    return 0;
}

int bench_cluster_leader(struct bench_cluster *bc, int timeout_ms)
{
    if (!bc->own)
        return 0;
    int leader = cluster_wait_leader(&bc->c, timeout_ms);
    return leader > 0 ? leader - 1 : -1;
}

void bench_cluster_close(struct bench_cluster *bc)
{
    if (bc->own)
        cluster_stop(&bc->c);
    bc->own = false;
}

int bench_read_rss(int pid, long *rss_kib, long *hwm_kib)
{
    char path[64], line[256];
    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    *rss_kib = -1;
    *hwm_kib = -1;
    while (fgets(line, sizeof(line), f)) {
        long v;
        if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
            *rss_kib = v;
        else if (sscanf(line, "VmHWM: %ld kB", &v) == 1)
            *hwm_kib = v;
    }
    fclose(f);
    return *rss_kib >= 0 ? 0 : -1;
}

int bench_read_schedstat(int pid, uint64_t *cpu_ns, uint64_t *wait_ns)
{
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/schedstat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    unsigned long long cpu, wait;
    int n = fscanf(f, "%llu %llu", &cpu, &wait);
    fclose(f);
    if (n != 2)
        return -1;
    *cpu_ns = cpu;
    *wait_ns = wait;
    return 0;
}

int bench_cluster_ready(struct bench_cluster *bc, const struct bench_options *o)
{
    char err[512];
    if (bench_cluster_open(bc, o, err, sizeof(err)) != 0) {
        fprintf(stderr, "raft_bench: %s\n", err);
        bench_cluster_close(bc);
        return -1;
    }
    int leader = bench_cluster_leader(bc, 10000);
    if (leader < 0) {
        fprintf(stderr, "raft_bench: no leader within 10 s\n");
        bench_cluster_close(bc);
    }
    return leader;
}

struct load_options bench_workload(const struct bench_options *o, const struct bench_cluster *bc,
                                   int leader, const char *id_prefix)
{
    return (struct load_options){
        .targets = bc ? bc->targets : NULL,
        .n_targets = bc ? bc->n : 0,
        .first_target = leader,
        .clients = o->clients,
        .warmup_us = (uint64_t)(o->warmup * 1e6),
        .duration_us = (uint64_t)(o->seconds * 1e6),
        .mix = &o->mix,
        .keys = o->keys,
        .seed = o->seed,
        .request_timeout_ms = o->request_timeout_ms,
        .retry_delay_ms = o->retry_delay_ms,
        /* A follower names the old leader until its own election timeout fires. */
        .suspect_ms = o->timeout_max * 2,
        .id_prefix = id_prefix,
    };
}
