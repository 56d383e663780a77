/* fuzz_config.c: libFuzzer target for raft_peer.ini loading (common/config.h).
 *
 * The bytes become a file (a memfd, read back through /proc/self/fd, so no disk is
 * touched) and config_load must either refuse it with one line that names the file,
 * or accept it with every documented invariant holding. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <unistd.h>

#include "common/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                                   \
    do {                                                                                           \
        if (!(c))                                                                                  \
            __builtin_trap();                                                                      \
    } while (0)

static void check_string(const char *s, size_t cap)
{
    CHECK(strnlen(s, cap) < cap);
}

static void check_accepted(const struct config *cfg)
{
    CHECK(cfg->election_timeout_min > 0);
    CHECK(cfg->election_timeout_min <= cfg->election_timeout_max);
    CHECK(cfg->heartbeat_interval > 0);
    CHECK(cfg->heartbeat_interval < cfg->election_timeout_min);
    CHECK(cfg->n_peers >= 1 && cfg->n_peers <= CONFIG_MAX_PEERS);
    CHECK(cfg->game_port >= 1 && cfg->game_port <= 65535);
    CHECK(cfg->pre_vote == 0 || cfg->pre_vote == 1);
    CHECK(cfg->check_quorum == 0 || cfg->check_quorum == 1);
    check_string(cfg->data_dir, sizeof(cfg->data_dir));
    check_string(cfg->log_dir, sizeof(cfg->log_dir));
    check_string(cfg->token, sizeof(cfg->token));
    check_string(cfg->game_host, sizeof(cfg->game_host));
    check_string(cfg->game_font, sizeof(cfg->game_font));
    CHECK(strcmp(cfg->log_level, "debug") == 0 || strcmp(cfg->log_level, "info") == 0 ||
          strcmp(cfg->log_level, "warn") == 0 || strcmp(cfg->log_level, "error") == 0);
    for (int i = 0; i < cfg->n_peers; i++) {
        const struct config_peer *p = &cfg->peers[i];
        check_string(p->name, sizeof(p->name));
        check_string(p->host, sizeof(p->host));
        CHECK(config_valid_name(p->name));
        CHECK(p->host[0] != '\0');
        CHECK(p->port >= 1 && p->port <= 65535);
        CHECK(p->line >= 1);
        CHECK(config_find_peer(cfg, p->name) == i); /* names are unique */
        for (int j = 0; j < i; j++)
            CHECK(p->port != cfg->peers[j].port ||
                  strcasecmp(p->host, cfg->peers[j].host) != 0); /* so are addresses */
    }
    char err[512];
    CHECK(config_check_cluster(cfg, cfg->n_peers, cfg->peers[cfg->n_peers - 1].name, err,
                               sizeof(err)) == 0);
    CHECK(config_check_cluster(cfg, cfg->n_peers + 1, NULL, err, sizeof(err)) == -1);
}

/* The refusal is the one line CONTRACT.md promises: "<file>:<line>: what" or "<file>: what". */
static void check_refused(const char *err, const char *path)
{
    size_t plen = strlen(path);
    CHECK(strncmp(err, path, plen) == 0 && err[plen] == ':');
    CHECK(strlen(err) > plen + 2);
    for (const char *p = err; *p != '\0'; p++)
        CHECK((unsigned char)*p >= 0x20 && (unsigned char)*p != 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* One memfd for the whole run, refilled each time: creating one per input would
     * cost more than the parse. */
    static int fd = -1;
    static char path[64];
    static struct config cfg; /* 40 KB: keep it off the stack */
    char err[1024];

    if (fd < 0) {
        fd = memfd_create("fuzz_config.ini", 0);
        CHECK(fd >= 0);
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    }
    CHECK(ftruncate(fd, 0) == 0);
    CHECK(pwrite(fd, data, size, 0) == (ssize_t)size);

    memset(err, 0, sizeof(err));
    int rc = config_load(path, &cfg, err, sizeof(err));
    CHECK(rc == 0 || rc == -1);
    if (rc == 0)
        check_accepted(&cfg);
    else
        check_refused(err, path);
    return 0;
}
