/* test_fuzz_regressions.c: each bug the fuzzers (tests/fuzz/, docs/FUZZING.md) found, pinned
 * down as a plain unit test. The reproducers stay in tests/fuzz/corpus/<target>/crash-*.bin;
 * these tests say what the expected behaviour is. */
#include <criterion/criterion.h>
#include <dirent.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/buffer.h"
#include "common/client_protocol.h"
#include "raft_peer/storage/crc32c.h"
#include "raft_peer/net/rpc_codec.h"
#include "raft_peer/sm/sm_snapshot.h"
#include "raft_peer/sm/state_machine.h"
#include "raft_peer/storage/storage.h"

static const char *const names[] = {"peer1", "peer2", "peer3"};

/* fuzz_rpc_decode, crash-noop-null-data.bin: a noop entry carries no data (data == NULL,
 * len 0), and rpc_encode computed NULL + 0 while escaping it, which is undefined
 * behaviour (UBSan: "applying zero offset to null pointer"). Every new leader sends such
 * an entry. Run under `make SANITIZE=1 CC=clang` to see the old failure. */
Test(fuzz_regressions, rpc_encode_entry_without_data)
{
    struct raft_entry entries[] = {
        {.term = 5, .type = RAFT_ENTRY_NOOP, .len = 0, .data = NULL},
        {.term = 5, .type = RAFT_ENTRY_COMMAND, .len = 0, .data = NULL},
    };
    struct raft_message m = {.type = RAFT_MSG_APPEND_ENTRIES, .from = 1, .to = 3, .term = 5};
    m.u.append_entries.prev_log_index = 1;
    m.u.append_entries.prev_log_term = 4;
    m.u.append_entries.n_entries = 2;
    m.u.append_entries.entries = entries;
    struct buffer b;
    buffer_init(&b);
    cr_assert_eq(rpc_encode(&m, names, 3, &b), 0);
    cr_assert_not_null(strstr(buffer_peek(&b),
                              "\"entries\":[{\"term\":5,\"type\":\"noop\",\"data\":\"\"},"
                              "{\"term\":5,\"type\":\"command\",\"data\":\"\"}]"),
                       "%s", buffer_peek(&b));

    static struct raft_entry space[RPC_MAX_ENTRIES];
    struct json_object *obj = NULL;
    struct raft_message out;
    char err[256];
    cr_assert_eq(
        json_line_parse(buffer_peek(&b), buffer_len(&b), RPC_LINE_MAX, &obj, err, sizeof(err)), 0,
        "%s", err);
    cr_assert_eq(rpc_decode(obj, names, 3, &out, space, RPC_MAX_ENTRIES, err, sizeof(err)), 0, "%s",
                 err);
    cr_assert_eq(out.u.append_entries.n_entries, 2);
    cr_assert_eq(out.u.append_entries.entries[0].type, RAFT_ENTRY_NOOP);
    cr_assert_eq(out.u.append_entries.entries[0].len, 0);
    cr_assert_null(out.u.append_entries.entries[0].data);
    cr_assert_eq(out.u.append_entries.entries[1].type, RAFT_ENTRY_COMMAND);
    json_object_put(obj);
    buffer_free(&b);
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
    for (int i = 0; i < bytes; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

/* fuzz_command_apply, crash-snapshot-without-session-count.bin: a snapshot that ends
 * (checksum aside) right after its variables, with no session count, was accepted as a
 * state with no sessions, because the count read past the end came back as 0 and nothing
 * checked. It must be refused like every other truncated snapshot. */
Test(fuzz_regressions, snapshot_without_session_count)
{
    /* Header, one variable x = 105, then straight to the CRC (docs/STATE_MACHINE.md). */
    uint8_t b[24 + 4 + 10 + 4];
    memcpy(b, "RVSM", 4);
    put_le(b + 4, SM_SNAPSHOT_VERSION, 4);
    put_le(b + 8, sizeof(b), 8); /* total length */
    put_le(b + 16, 1, 8);        /* last applied */
    put_le(b + 24, 1, 4);        /* one variable */
    b[28] = 1;                   /* its name's length */
    b[29] = 'x';
    put_le(b + 30, 105, 8);
    put_le(b + 38, sm_snapshot_crc32(b, 38), 4);

    struct state_machine *sm = sm_new();
    char err[256] = "";
    cr_assert_eq(sm_snapshot_decode(sm, b, sizeof(b), err, sizeof(err)), -1,
                 "accepted a snapshot without a session count");
    cr_assert_neq(err[0], '\0');
    cr_assert_eq(sm_count(sm), 0, "the machine must be left unchanged");

    /* The same state with its count (0 sessions) is a valid snapshot, and canonical. */
    uint8_t ok[sizeof(b) + 4];
    memcpy(ok, b, 38);
    put_le(ok + 8, sizeof(ok), 8);
    put_le(ok + 38, 0, 4);
    put_le(ok + 42, sm_snapshot_crc32(ok, 42), 4);
    cr_assert_eq(sm_snapshot_decode(sm, ok, sizeof(ok), err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(sm_get(sm, "x", NULL), 105);
    uint8_t *again;
    size_t len;
    cr_assert_eq(sm_snapshot_encode(sm, &again, &len), 0);
    cr_assert_eq(len, sizeof(ok));
    cr_assert_arr_eq(again, ok, len);
    free(again);
    sm_free(sm);
}

static void remove_dir(const char *path)
{
    char p[512];
    DIR *d = opendir(path);
    struct dirent *de;
    while (d != NULL && (de = readdir(d)) != NULL) {
        snprintf(p, sizeof(p), "%s/%s", path, de->d_name);
        unlink(p);
    }
    if (d != NULL)
        closedir(d);
    rmdir(path);
}

/* fuzz_storage_recovery, crash-covered-tail-rollover.bin: after a snapshot at index 5,
 * the leader overwrote entry 6, the only entry after the snapshot, so the tail segment
 * held records 1..5 only, all covered. Being over the segment size, it was closed and
 * log-6 started; the next open then removed the old tail and warned of "an unfinished
 * compaction" that never happened. The tail must take the entry instead, and a clean
 * close must reopen without any repair notice. */
Test(fuzz_regressions, storage_tail_of_covered_records_takes_the_next_entry)
{
    char root[] = "/tmp/fuzz_regressions.XXXXXX", dir[64], err[512], path[128];
    struct storage *s;
    struct storage_boot boot;
    static uint8_t text[] = "c1 1 x set 1", other[] = "c2 1 x set 2";
    struct raft_entry e = {1, RAFT_ENTRY_COMMAND, sizeof(text) - 1, text};
    struct raft_entry e2 = {1, RAFT_ENTRY_COMMAND, sizeof(other) - 1, other};

    cr_assert_not_null(mkdtemp(root));
    snprintf(dir, sizeof(dir), "%s/peer1", root);
    cr_assert_eq(storage_open(dir, 0, &s, &boot, err, sizeof(err)), STORAGE_OK, "%s", err);
    storage_boot_free(&boot);
    cr_assert_eq(storage_save_hard_state(s, 1, 0, err, sizeof(err)), STORAGE_OK, "%s", err);
    for (raft_index i = 1; i <= 6; i++)
        cr_assert_eq(storage_append(s, i, &e, 1, err, sizeof(err)), STORAGE_OK, "%s", err);
    cr_assert_eq(storage_sync(s, err, sizeof(err)), STORAGE_OK, "%s", err);
    storage_close(s);

    /* A snapshot covers 1..5; entry 6 is replaced, in a tail already over the size. */
    cr_assert_eq(storage_open(dir, 5, &s, &boot, err, sizeof(err)), STORAGE_OK, "%s", err);
    cr_assert_eq(boot.n_entries, 1);
    storage_boot_free(&boot);
    storage_test_set_segment_bytes(s, 64);
    cr_assert_eq(storage_append(s, 6, &e2, 1, err, sizeof(err)), STORAGE_OK, "%s", err);
    cr_assert_eq(storage_sync(s, err, sizeof(err)), STORAGE_OK, "%s", err);
    storage_close(s);

    cr_assert_eq(storage_open(dir, 5, &s, &boot, err, sizeof(err)), STORAGE_OK, "%s", err);
    cr_assert_str_empty(boot.notice, "a clean reopen repaired something: %s", boot.notice);
    cr_assert_eq(boot.first_index, 6);
    cr_assert_eq(boot.n_entries, 1);
    cr_assert_eq(boot.entries[0].len, e2.len);
    cr_assert_arr_eq(boot.entries[0].data, other, e2.len);
    storage_boot_free(&boot);
    storage_close(s);
    snprintf(path, sizeof(path), "%s/log-00000000000000000006", dir);
    cr_assert_neq(access(path, F_OK), 0, "no segment of covered records only was closed");

    remove_dir(dir);
    rmdir(root);
}

/* fuzz_storage_recovery, crash-meta-version-max.bin: a meta file with version 2^64 - 1
 * and a valid CRC loads (only a forged or rotten file can hold it). The next save wrote
 * version 0, which load rejects as damage, yet returned success: the term and vote it
 * acknowledged were gone at the next start. The save must fail instead. */
Test(fuzz_regressions, storage_meta_version_that_cannot_be_followed)
{
    char root[] = "/tmp/fuzz_regressions.XXXXXX", dir[64], err[512], path[128];
    struct storage *s;
    struct storage_boot boot;
    uint8_t meta[36] = "RVMETA01";

    cr_assert_not_null(mkdtemp(root));
    snprintf(dir, sizeof(dir), "%s/peer1", root);
    cr_assert_eq(storage_open(dir, 0, &s, &boot, err, sizeof(err)), STORAGE_OK, "%s", err);
    storage_boot_free(&boot);
    storage_close(s);
    put_le(meta + 8, UINT64_MAX, 8); /* version */
    put_le(meta + 16, 5, 8);         /* term */
    put_le(meta + 32, crc32c(0, meta, 32), 4);
    snprintf(path, sizeof(path), "%s/meta1", dir);
    FILE *f = fopen(path, "wb");
    cr_assert_not_null(f);
    cr_assert_eq(fwrite(meta, 1, sizeof(meta), f), sizeof(meta));
    fclose(f);

    cr_assert_eq(storage_open(dir, 0, &s, &boot, err, sizeof(err)), STORAGE_OK, "%s", err);
    cr_assert_eq(boot.term, 5);
    storage_boot_free(&boot);
    cr_assert_neq(storage_save_hard_state(s, 6, 1, err, sizeof(err)), STORAGE_OK,
                  "a save that cannot be loaded back was acknowledged");
    cr_assert(storage_failed(s));
    storage_close(s);

    /* What is on disk is still the last state that was acknowledged. */
    cr_assert_eq(storage_open(dir, 0, &s, &boot, err, sizeof(err)), STORAGE_OK, "%s", err);
    cr_assert_eq(boot.term, 5);
    cr_assert_eq(boot.voted_for, 0);
    storage_boot_free(&boot);
    storage_close(s);
    remove_dir(dir);
    rmdir(root);
}
