/* test_fuzz_regressions.c: each bug the fuzzers (tests/fuzz/, docs/FUZZING.md) found, pinned
 * down as a plain unit test. The reproducers stay in tests/fuzz/corpus/<target>/crash-*.bin;
 * these tests say what the expected behaviour is. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "common/buffer.h"
#include "common/client_protocol.h"
#include "raft_peer/rpc_codec.h"
#include "raft_peer/sm_snapshot.h"
#include "raft_peer/state_machine.h"

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
