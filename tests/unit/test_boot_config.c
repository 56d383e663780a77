/* test_boot_config.c: the bootstrap configuration file and the configuration a snapshot
 * carries (raft_peer/storage/boot_config.h). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "raft_peer/storage/boot_config.h"

static char dir[64];

static void make_dir(void)
{
    snprintf(dir, sizeof(dir), "/tmp/raftvillage-bootcfg-XXXXXX");
    cr_assert_not_null(mkdtemp(dir));
}

static void remove_dir(void)
{
    char path[128];
    snprintf(path, sizeof(path), "%s/bootstrap", dir);
    unlink(path);
    rmdir(dir);
}

Test(boot_config, written_once_then_the_stored_one_wins, .init = make_dir, .fini = remove_dir)
{
    char err[256];
    struct raft_configuration c;
    bool stored = true;
    cr_assert_eq(boot_config_open(dir, 3, &c, &stored, err, sizeof(err)), 0, "%s", err);
    cr_assert_not(stored);
    cr_assert_eq(c.voters, raft_configuration_bootstrap(3).voters);
    /* Started again with another N: the file decides. */
    cr_assert_eq(boot_config_open(dir, 5, &c, &stored, err, sizeof(err)), 0, "%s", err);
    cr_assert(stored);
    cr_assert_eq(c.voters, raft_configuration_bootstrap(3).voters);
    cr_assert_eq(c.learners, 0);
}

Test(boot_config, a_joining_peer_stores_no_configuration, .init = make_dir, .fini = remove_dir)
{
    char err[256];
    struct raft_configuration c = {7, 8};
    bool stored;
    cr_assert_eq(boot_config_open(dir, 0, &c, &stored, err, sizeof(err)), 0, "%s", err);
    cr_assert(c.voters == 0 && c.learners == 0);
    cr_assert_eq(boot_config_open(dir, 0, &c, &stored, err, sizeof(err)), 0, "%s", err);
    cr_assert(stored && c.voters == 0 && c.learners == 0);
}

Test(boot_config, a_damaged_file_refuses_the_start, .init = make_dir, .fini = remove_dir)
{
    char err[256], path[128];
    snprintf(path, sizeof(path), "%s/bootstrap", dir);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f);
    fputs("voters=1,2,x;learners=", f);
    fclose(f);
    struct raft_configuration c;
    bool stored;
    cr_assert_eq(boot_config_open(dir, 3, &c, &stored, err, sizeof(err)), -1);
    cr_assert(strstr(err, "bootstrap"), "%s", err);
}

Test(boot_config, a_snapshot_carries_its_configuration)
{
    struct raft_configuration c = {.voters = (1u << 2) | (1u << 4), .learners = 1u << 5}, got;
    struct raft_configuration fallback = raft_configuration_bootstrap(3);
    uint8_t buf[SNAPSHOT_CONFIG_MAX + 8];
    size_t n = snapshot_config_prefix(&c, buf);
    memcpy(buf + n, "SMDATA", 6);
    const uint8_t *sm;
    size_t sm_len;
    cr_assert_eq(snapshot_config_split(buf, n + 6, &fallback, &got, &sm, &sm_len), 0);
    cr_assert(got.voters == c.voters && got.learners == c.learners);
    cr_assert(sm_len == 6 && memcmp(sm, "SMDATA", 6) == 0);

    /* From before membership changes: no prefix, all of it the state machine's. */
    cr_assert_eq(
        snapshot_config_split((const uint8_t *)"RVSM1234", 8, &fallback, &got, &sm, &sm_len), 0);
    cr_assert(got.voters == fallback.voters && sm_len == 8);

    /* A prefix whose length runs past the bytes, or whose text is not a configuration. */
    buf[4] = 200;
    cr_assert_eq(snapshot_config_split(buf, n + 6, &fallback, &got, &sm, &sm_len), -1);
    n = snapshot_config_prefix(&c, buf);
    buf[5] = 'X';
    cr_assert_eq(snapshot_config_split(buf, n, &fallback, &got, &sm, &sm_len), -1);
}
