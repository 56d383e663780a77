/* test_fuzz_regressions.c: each bug the fuzzers (tests/fuzz/, docs/FUZZING.md) found, pinned
 * down as a plain unit test. The reproducers stay in tests/fuzz/corpus/<target>/crash-*.bin;
 * these tests say what the expected behaviour is. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <string.h>

#include "common/buffer.h"
#include "common/client_protocol.h"
#include "raft_peer/rpc_codec.h"

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
