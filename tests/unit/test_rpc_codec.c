/* test_rpc_codec.c: every peer RPC round trips; hostile lines are refused, never crash. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/base64.h"
#include "common/buffer.h"
#include "common/client_protocol.h"
#include "raft_peer/net/rpc_codec.h"
#include "tests/lib/time_scale.h"

static const char *const names[] = {"peer1", "peer2", "peer3"};
#define N 3

static char err[256];
static struct raft_entry space[RPC_MAX_ENTRIES];

/* Encodes m, checks it is one line, parses and decodes it into out. */
static void round_trip(const struct raft_message *m, struct raft_message *out,
                       struct json_object **keep)
{
    struct buffer b;
    buffer_init(&b);
    cr_assert_eq(rpc_encode(m, names, N, &b), 0);
    const char *line = buffer_peek(&b);
    size_t len = buffer_len(&b);
    cr_assert_gt(len, 1);
    cr_assert_eq(line[len - 1], '\n');
    cr_assert_null(memchr(line, '\n', len - 1), "one line: %s", line);
    cr_assert_eq(json_line_parse(line, len, RPC_LINE_MAX, keep, err, sizeof(err)), 0, "%s: %s", err,
                 line);
    cr_assert_eq(rpc_decode(*keep, names, N, out, space, RPC_MAX_ENTRIES, err, sizeof(err)), 0,
                 "%s: %s", err, line);
    cr_assert_eq(out->type, m->type);
    cr_assert_eq(out->from, m->from);
    cr_assert_eq(out->to, m->to);
    cr_assert_eq(out->term, m->term);
    cr_assert_not(out->after_persist);
    buffer_free(&b);
}

/* Decodes a literal line; returns rpc_decode's result (or -1 if it is not JSON). */
static int decode_line(const char *line, struct raft_message *m)
{
    struct json_object *obj = NULL;
    err[0] = '\0';
    if (json_line_parse(line, strlen(line), RPC_LINE_MAX, &obj, err, sizeof(err)) != 0)
        return -1;
    int rc = rpc_decode(obj, names, N, m, space, RPC_MAX_ENTRIES, err, sizeof(err));
    json_object_put(obj);
    return rc;
}

Test(rpc_codec, request_vote_round_trip)
{
    struct raft_message m = {.type = RAFT_MSG_REQUEST_VOTE, .from = 2, .to = 1, .term = 5};
    m.u.request_vote.last_log_index = 12;
    m.u.request_vote.last_log_term = 4;
    m.u.request_vote.pre_vote = true;
    m.u.request_vote.leadership_transfer = false;
    struct raft_message out;
    struct json_object *obj;
    round_trip(&m, &out, &obj);
    cr_assert_eq(out.u.request_vote.last_log_index, 12);
    cr_assert_eq(out.u.request_vote.last_log_term, 4);
    cr_assert(out.u.request_vote.pre_vote);
    cr_assert_not(out.u.request_vote.leadership_transfer);
    json_object_put(obj);
}

Test(rpc_codec, request_vote_exact_wire_form)
{
    struct raft_message m = {.type = RAFT_MSG_REQUEST_VOTE, .from = 2, .to = 1, .term = 5};
    m.u.request_vote.last_log_index = 12;
    m.u.request_vote.last_log_term = 4;
    struct buffer b;
    buffer_init(&b);
    cr_assert_eq(rpc_encode(&m, names, N, &b), 0);
    cr_assert_str_eq(buffer_peek(&b),
                     "{\"type\":\"request_vote\",\"term\":5,\"candidate_id\":\"peer2\","
                     "\"last_log_index\":12,\"last_log_term\":4,\"pre_vote\":false,"
                     "\"leadership_transfer\":false,\"from\":\"peer2\",\"to\":\"peer1\"}\n");
    buffer_free(&b);
}

Test(rpc_codec, request_vote_result_round_trip)
{
    struct raft_message m = {.type = RAFT_MSG_REQUEST_VOTE_RESULT, .from = 1, .to = 2, .term = 5};
    m.u.request_vote_result.vote_granted = true;
    m.u.request_vote_result.pre_vote = false;
    struct raft_message out;
    struct json_object *obj;
    round_trip(&m, &out, &obj);
    cr_assert(out.u.request_vote_result.vote_granted);
    cr_assert_not(out.u.request_vote_result.pre_vote);
    json_object_put(obj);
}

Test(rpc_codec, append_entries_round_trip_with_escapes)
{
    struct raft_entry e[3] = {
        {.term = 5, .type = RAFT_ENTRY_COMMAND, .len = 17, .data = (uint8_t *)"cli-1 7 x add 100"},
        {.term = 5, .type = RAFT_ENTRY_NOOP, .len = 0, .data = NULL},
        {.term = 6, .type = RAFT_ENTRY_COMMAND, .len = 9, .data = (uint8_t *)"a \"q\" \\ /"},
    };
    struct raft_message m = {.type = RAFT_MSG_APPEND_ENTRIES, .from = 1, .to = 3, .term = 6};
    m.u.append_entries.prev_log_index = 41;
    m.u.append_entries.prev_log_term = 4;
    m.u.append_entries.leader_commit = 40;
    m.u.append_entries.read_round = 9;
    m.u.append_entries.n_entries = 3;
    m.u.append_entries.entries = e;
    struct raft_message out;
    struct json_object *obj;
    round_trip(&m, &out, &obj);
    const struct raft_append_entries *ae = &out.u.append_entries;
    cr_assert_eq(ae->prev_log_index, 41);
    cr_assert_eq(ae->prev_log_term, 4);
    cr_assert_eq(ae->leader_commit, 40);
    cr_assert_eq(ae->read_round, 9);
    cr_assert_eq(ae->n_entries, 3);
    cr_assert_eq(ae->entries, space, "entries live in the caller's space");
    for (int i = 0; i < 3; i++) {
        cr_assert_eq(ae->entries[i].term, e[i].term);
        cr_assert_eq(ae->entries[i].type, e[i].type);
        cr_assert_eq(ae->entries[i].len, e[i].len);
        if (e[i].len)
            cr_assert_eq(memcmp(ae->entries[i].data, e[i].data, e[i].len), 0);
    }
    cr_assert_null(ae->entries[1].data);
    json_object_put(obj);
}

Test(rpc_codec, configuration_entries_travel_as_their_printable_bytes)
{
    struct raft_configuration conf = {(1u << 1) | (1u << 2) | (1u << 3), 1u << 4};
    uint8_t bytes[RAFT_CONFIGURATION_MAX];
    uint32_t n = (uint32_t)raft_configuration_encode(&conf, bytes);
    struct raft_entry e = {.term = 7, .type = RAFT_ENTRY_CONFIG, .len = n, .data = bytes};
    struct raft_message m = {.type = RAFT_MSG_APPEND_ENTRIES, .from = 1, .to = 2, .term = 7};
    m.u.append_entries.n_entries = 1;
    m.u.append_entries.entries = &e;
    struct buffer b;
    buffer_init(&b);
    cr_assert_eq(rpc_encode(&m, names, N, &b), 0);
    cr_assert_not_null(
        strstr(buffer_peek(&b),
               "{\"term\":7,\"type\":\"config\",\"data\":\"voters=1,2,3;learners=4\"}"),
        "%s", buffer_peek(&b));
    buffer_free(&b);
    struct raft_message out;
    struct json_object *obj;
    round_trip(&m, &out, &obj);
    cr_assert_eq(out.u.append_entries.entries[0].type, RAFT_ENTRY_CONFIG);
    struct raft_configuration got;
    cr_assert_eq(raft_configuration_decode(out.u.append_entries.entries[0].data,
                                           out.u.append_entries.entries[0].len, &got),
                 RAFT_OK);
    cr_assert_eq(got.voters, conf.voters);
    cr_assert_eq(got.learners, conf.learners);
    json_object_put(obj);
}

Test(rpc_codec, heartbeat_has_empty_entries)
{
    struct raft_message m = {.type = RAFT_MSG_APPEND_ENTRIES, .from = 3, .to = 2, .term = 1};
    struct raft_message out;
    struct json_object *obj;
    round_trip(&m, &out, &obj);
    cr_assert_eq(out.u.append_entries.n_entries, 0);
    cr_assert_null(out.u.append_entries.entries);
    json_object_put(obj);
}

Test(rpc_codec, append_entries_result_round_trip)
{
    struct raft_message m = {.type = RAFT_MSG_APPEND_ENTRIES_RESULT, .from = 3, .to = 1, .term = 9};
    struct raft_append_entries_result *r = &m.u.append_entries_result;
    r->success = false;
    r->match_index = 1;
    r->rejected_index = 2;
    r->conflict_term = 3;
    r->conflict_index = 4;
    r->last_log_index = 5;
    r->read_round = JSON_UINT_MAX;
    struct raft_message out;
    struct json_object *obj;
    round_trip(&m, &out, &obj);
    const struct raft_append_entries_result *o = &out.u.append_entries_result;
    cr_assert_not(o->success);
    cr_assert_eq(o->match_index, 1);
    cr_assert_eq(o->rejected_index, 2);
    cr_assert_eq(o->conflict_term, 3);
    cr_assert_eq(o->conflict_index, 4);
    cr_assert_eq(o->last_log_index, 5);
    cr_assert_eq(o->read_round, JSON_UINT_MAX);
    json_object_put(obj);
}

Test(rpc_codec, timeout_now_round_trip)
{
    struct raft_message m = {.type = RAFT_MSG_TIMEOUT_NOW, .from = 1, .to = 2, .term = 77};
    m.u.timeout_now.last_log_index = 41;
    struct raft_message out;
    struct json_object *obj;
    round_trip(&m, &out, &obj);
    cr_assert_eq(out.u.timeout_now.last_log_index, 41);
    json_object_put(obj);
}

Test(rpc_codec, encode_refuses_what_decode_would_refuse)
{
    struct buffer b;
    buffer_init(&b);
    cr_assert_eq(buffer_append(&b, "keep", 4), 0);
    struct raft_message m = {.type = RAFT_MSG_TIMEOUT_NOW, .from = 0, .to = 2, .term = 1};
    cr_assert_eq(rpc_encode(&m, names, N, &b), -1, "from 0");
    m.from = 4;
    cr_assert_eq(rpc_encode(&m, names, N, &b), -1, "from beyond n");
    m.from = 1;
    m.to = -1;
    cr_assert_eq(rpc_encode(&m, names, N, &b), -1, "negative to");
    m.to = 2;
    m.type = (enum raft_message_type)42;
    cr_assert_eq(rpc_encode(&m, names, N, &b), -1, "unknown type");
    m.type = RAFT_MSG_TIMEOUT_NOW;
    m.term = UINT64_MAX;
    cr_assert_eq(rpc_encode(&m, names, N, &b), -1, "term beyond the wire range");

    struct raft_entry e = {
        .term = 1, .type = RAFT_ENTRY_COMMAND, .len = 3, .data = (uint8_t *)"a\nb"};
    m = (struct raft_message){.type = RAFT_MSG_APPEND_ENTRIES, .from = 1, .to = 2, .term = 1};
    m.u.append_entries.n_entries = 1;
    m.u.append_entries.entries = &e;
    cr_assert_eq(rpc_encode(&m, names, N, &b), -1, "non-printable data");
    e.data = (uint8_t *)"abc";
    e.type = 9;
    cr_assert_eq(rpc_encode(&m, names, N, &b), -1, "unknown entry type");
    e.type = RAFT_ENTRY_COMMAND;
    m.u.append_entries.n_entries = RPC_MAX_ENTRIES + 1;
    cr_assert_eq(rpc_encode(&m, names, N, &b), -1, "too many entries");
    cr_assert_eq(buffer_len(&b), 4, "a refused message leaves the buffer as it was");
    cr_assert_str_eq(buffer_peek(&b), "keep");
    buffer_free(&b);
}

static const char *const bad_lines[] = {
    /* shape */
    "{}",
    "{\"type\":\"request_vote\"}",
    "{\"type\":\"bogus\",\"term\":1,\"from\":\"peer1\",\"to\":\"peer2\"}",
    "{\"type\":7,\"term\":1,\"from\":\"peer1\",\"to\":\"peer2\"}",
    "{\"type\":\"timeout_now\",\"last_log_index\":1,\"from\":\"peer1\",\"to\":\"peer2\"}",
    "{\"type\":\"timeout_now\",\"term\":1,\"last_log_index\":1,\"to\":\"peer2\"}",
    "{\"type\":\"timeout_now\",\"term\":1,\"last_log_index\":1,\"from\":\"peer1\"}",
    "{\"type\":\"timeout_now\",\"term\":1,\"from\":\"peer1\",\"to\":\"peer2\"}",
    "{\"type\":\"timeout_now\",\"term\":1,\"last_log_index\":-1,\"from\":\"peer1\",\"to\":"
    "\"peer2\"}",
    /* names */
    "{\"type\":\"timeout_now\",\"term\":1,\"last_log_index\":1,\"from\":\"peer4\",\"to\":"
    "\"peer2\"}",
    "{\"type\":\"timeout_now\",\"term\":1,\"last_log_index\":1,\"from\":\"peer1\",\"to\":\"\"}",
    "{\"type\":\"timeout_now\",\"term\":1,\"last_log_index\":1,\"from\":\"peer1\\u0000x\",\"to\":"
    "\"peer2\"}",
    "{\"type\":\"timeout_now\",\"term\":1,\"last_log_index\":1,\"from\":\"PEER1\",\"to\":"
    "\"peer2\"}",
    "{\"type\":\"timeout_now\",\"term\":1,\"last_log_index\":1,\"from\":1,\"to\":\"peer2\"}",
    "{\"type\":\"timeout_now\",\"term\":1,\"last_log_index\":1,\"from\":null,\"to\":\"peer2\"}",
    /* numbers */
    "{\"type\":\"timeout_now\",\"term\":-1,\"last_log_index\":1,\"from\":\"peer1\",\"to\":"
    "\"peer2\"}",
    "{\"type\":\"timeout_now\",\"term\":1.0,\"last_log_index\":1,\"from\":\"peer1\",\"to\":"
    "\"peer2\"}",
    "{\"type\":\"timeout_now\",\"term\":\"1\",\"last_log_index\":1,\"from\":\"peer1\",\"to\":"
    "\"peer2\"}",
    "{\"type\":\"timeout_now\",\"term\":18446744073709551615,\"last_log_index\":1,\"from\":"
    "\"peer1\",\"to\":\"peer2\"}",
    "{\"type\":\"timeout_now\",\"term\":1e400,\"last_log_index\":1,\"from\":\"peer1\",\"to\":"
    "\"peer2\"}",
    "{\"type\":\"timeout_now\",\"term\":123456789012345678901234567890,\"last_log_index\":1,"
    "\"from\":\"peer1\","
    "\"to\":\"peer2\"}",
    /* request_vote */
    "{\"type\":\"request_vote\",\"term\":5,\"candidate_id\":\"peer3\",\"last_log_index\":1,"
    "\"last_log_term\":1,\"pre_vote\":false,\"leadership_transfer\":false,\"from\":\"peer2\","
    "\"to\":\"peer1\"}",
    "{\"type\":\"request_vote\",\"term\":5,\"candidate_id\":\"peer2\",\"last_log_index\":1,"
    "\"last_log_term\":1,\"pre_vote\":0,\"leadership_transfer\":false,\"from\":\"peer2\","
    "\"to\":\"peer1\"}",
    "{\"type\":\"request_vote\",\"term\":5,\"candidate_id\":\"peer2\",\"last_log_index\":1,"
    "\"last_log_term\":1,\"pre_vote\":false,\"from\":\"peer2\",\"to\":\"peer1\"}",
    "{\"type\":\"request_vote\",\"term\":5,\"candidate_id\":\"peer2\",\"last_log_index\":-12,"
    "\"last_log_term\":1,\"pre_vote\":false,\"leadership_transfer\":false,\"from\":\"peer2\","
    "\"to\":\"peer1\"}",
    /* request_vote_result */
    "{\"type\":\"request_vote_result\",\"term\":5,\"vote_granted\":\"true\",\"pre_vote\":false,"
    "\"from\":\"peer1\",\"to\":\"peer2\"}",
    /* append_entries_result */
    "{\"type\":\"append_entries_result\",\"term\":5,\"success\":true,\"match_index\":3,"
    "\"rejected_index\":0,\"conflict_term\":0,\"conflict_index\":0,\"last_log_index\":3,"
    "\"from\":\"peer2\",\"to\":\"peer1\"}",
    /* append_entries */
    "{\"type\":\"append_entries\",\"term\":5,\"leader_id\":\"peer1\",\"prev_log_index\":0,"
    "\"prev_log_term\":0,\"leader_commit\":0,\"read_round\":0,\"from\":\"peer1\","
    "\"to\":\"peer2\"}",
    "{\"type\":\"append_entries\",\"term\":5,\"leader_id\":\"peer2\",\"prev_log_index\":0,"
    "\"prev_log_term\":0,\"leader_commit\":0,\"read_round\":0,\"entries\":[],\"from\":\"peer1\","
    "\"to\":\"peer2\"}",
    "{\"type\":\"append_entries\",\"term\":5,\"leader_id\":\"peer1\",\"prev_log_index\":0,"
    "\"prev_log_term\":0,\"leader_commit\":0,\"read_round\":0,\"entries\":{},\"from\":\"peer1\","
    "\"to\":\"peer2\"}",
    "{\"type\":\"append_entries\",\"term\":5,\"leader_id\":\"peer1\",\"prev_log_index\":0,"
    "\"prev_log_term\":0,\"leader_commit\":0,\"read_round\":0,\"entries\":[5],\"from\":\"peer1\","
    "\"to\":\"peer2\"}",
    "{\"type\":\"append_entries\",\"term\":5,\"leader_id\":\"peer1\",\"prev_log_index\":0,"
    "\"prev_log_term\":0,\"leader_commit\":0,\"read_round\":0,\"entries\":[{\"term\":1,"
    "\"type\":\"command\"}],\"from\":\"peer1\",\"to\":\"peer2\"}",
    "{\"type\":\"append_entries\",\"term\":5,\"leader_id\":\"peer1\",\"prev_log_index\":0,"
    "\"prev_log_term\":0,\"leader_commit\":0,\"read_round\":0,\"entries\":[{\"term\":1,"
    "\"type\":\"snapshot\",\"data\":\"\"}],\"from\":\"peer1\",\"to\":\"peer2\"}",
    "{\"type\":\"append_entries\",\"term\":5,\"leader_id\":\"peer1\",\"prev_log_index\":0,"
    "\"prev_log_term\":0,\"leader_commit\":0,\"read_round\":0,\"entries\":[{\"term\":-1,"
    "\"type\":\"noop\",\"data\":\"\"}],\"from\":\"peer1\",\"to\":\"peer2\"}",
    "{\"type\":\"append_entries\",\"term\":5,\"leader_id\":\"peer1\",\"prev_log_index\":0,"
    "\"prev_log_term\":0,\"leader_commit\":0,\"read_round\":0,\"entries\":[{\"term\":1,"
    "\"type\":\"command\",\"data\":\"a\\nb\"}],\"from\":\"peer1\",\"to\":\"peer2\"}",
    "{\"type\":\"append_entries\",\"term\":5,\"leader_id\":\"peer1\",\"prev_log_index\":0,"
    "\"prev_log_term\":0,\"leader_commit\":0,\"read_round\":0,\"entries\":[{\"term\":1,"
    "\"type\":\"command\",\"data\":\"a\\u0000b\"}],\"from\":\"peer1\",\"to\":\"peer2\"}",
    "{\"type\":\"append_entries\",\"term\":5,\"leader_id\":\"peer1\",\"prev_log_index\":0,"
    "\"prev_log_term\":0,\"leader_commit\":0,\"read_round\":0,\"entries\":[{\"term\":1,"
    "\"type\":\"command\",\"data\":\"caf\\u00e9\"}],\"from\":\"peer1\",\"to\":\"peer2\"}",
    "{\"type\":\"append_entries\",\"term\":5,\"leader_id\":\"peer1\",\"prev_log_index\":0,"
    "\"prev_log_term\":0,\"leader_commit\":0,\"read_round\":0,\"entries\":[{\"term\":1,"
    "\"type\":\"command\",\"data\":7}],\"from\":\"peer1\",\"to\":\"peer2\"}",
};

Test(rpc_codec, hostile_lines_are_refused_with_a_message)
{
    for (size_t i = 0; i < sizeof(bad_lines) / sizeof(bad_lines[0]); i++) {
        struct raft_message m;
        int rc = decode_line(bad_lines[i], &m);
        cr_expect_eq(rc, -1, "accepted bad line #%zu: %s", i, bad_lines[i]);
        cr_expect_neq(err[0], '\0', "no message for bad line #%zu", i);
        cr_expect_eq(m.type, 0, "a refused message is left zeroed (#%zu)", i);
    }
}

Test(rpc_codec, error_messages_do_not_echo_control_bytes)
{
    struct raft_message m;
    cr_assert_eq(decode_line("{\"type\":\"timeout_now\",\"term\":1,\"last_log_index\":1,"
                             "\"from\":\"x\\ny\\u001b\","
                             "\"to\":\"peer2\"}",
                             &m),
                 -1);
    cr_assert_null(strchr(err, '\n'), "%s", err);
    cr_assert_null(strchr(err, '\x1b'), "%s", err);
    cr_assert_neq(strstr(err, "from"), NULL, "%s", err);
}

/* Builds an append_entries line with count entries of data len bytes each. */
static char *big_append(size_t count, size_t len)
{
    size_t cap = 256 + count * (len + 64);
    char *line = malloc(cap);
    cr_assert_not_null(line);
    size_t off = (size_t)snprintf(line, cap,
                                  "{\"type\":\"append_entries\",\"term\":5,\"leader_id\":\"peer1\","
                                  "\"prev_log_index\":0,\"prev_log_term\":0,\"leader_commit\":0,"
                                  "\"read_round\":0,\"from\":\"peer1\",\"to\":\"peer2\","
                                  "\"entries\":[");
    for (size_t i = 0; i < count; i++) {
        off += (size_t)snprintf(line + off, cap - off,
                                "%s{\"term\":1,\"type\":\"command\",\"data\":\"", i ? "," : "");
        memset(line + off, 'd', len);
        off += len;
        off += (size_t)snprintf(line + off, cap - off, "\"}");
    }
    snprintf(line + off, cap - off, "]}");
    return line;
}

Test(rpc_codec, entry_count_and_size_limits)
{
    struct raft_message m;
    char *line = big_append(RPC_MAX_ENTRIES, 8);
    cr_assert_eq(decode_line(line, &m), 0, "%s", err);
    cr_assert_eq(m.u.append_entries.n_entries, RPC_MAX_ENTRIES);
    free(line);

    line = big_append(RPC_MAX_ENTRIES + 1, 8);
    cr_assert_eq(decode_line(line, &m), -1);
    cr_assert_neq(strstr(err, "too many"), NULL, "%s", err);
    free(line);

    line = big_append(1, RPC_MAX_ENTRY_DATA);
    cr_assert_eq(decode_line(line, &m), 0, "%s", err);
    cr_assert_eq(m.u.append_entries.entries[0].len, RPC_MAX_ENTRY_DATA);
    free(line);

    line = big_append(1, RPC_MAX_ENTRY_DATA + 1);
    cr_assert_eq(decode_line(line, &m), -1);
    free(line);

    /* A smaller entry space is a limit too, and is never written past. */
    struct raft_entry small[2];
    line = big_append(3, 4);
    struct json_object *obj;
    cr_assert_eq(json_line_parse(line, strlen(line), RPC_LINE_MAX, &obj, err, sizeof(err)), 0);
    cr_assert_eq(rpc_decode(obj, names, N, &m, small, 2, err, sizeof(err)), -1);
    json_object_put(obj);
    free(line);
}

Test(rpc_codec, worst_case_message_fits_the_line_limit)
{
    static struct raft_entry e[RPC_MAX_ENTRIES];
    static uint8_t data[RPC_MAX_ENTRY_DATA];
    memset(data, '"', sizeof(data)); /* every byte escaped */
    for (size_t i = 0; i < RPC_MAX_ENTRIES; i++)
        e[i] = (struct raft_entry){.term = JSON_UINT_MAX,
                                   .type = RAFT_ENTRY_COMMAND,
                                   .len = RPC_MAX_ENTRY_DATA,
                                   .data = data};
    struct raft_message m = {
        .type = RAFT_MSG_APPEND_ENTRIES, .from = 1, .to = 2, .term = JSON_UINT_MAX};
    m.u.append_entries.prev_log_index = JSON_UINT_MAX;
    m.u.append_entries.n_entries = RPC_MAX_ENTRIES;
    m.u.append_entries.entries = e;
    struct buffer b;
    buffer_init(&b);
    cr_assert_eq(rpc_encode(&m, names, N, &b), 0);
    cr_assert_leq(buffer_len(&b), RPC_LINE_MAX, "%zu bytes", buffer_len(&b));
    struct raft_message out;
    struct json_object *obj;
    cr_assert_eq(
        json_line_parse(buffer_peek(&b), buffer_len(&b), RPC_LINE_MAX, &obj, err, sizeof(err)), 0,
        "%s", err);
    cr_assert_eq(rpc_decode(obj, names, N, &out, space, RPC_MAX_ENTRIES, err, sizeof(err)), 0, "%s",
                 err);
    cr_assert_eq(out.u.append_entries.entries[4095].len, RPC_MAX_ENTRY_DATA);
    cr_assert_eq(out.u.append_entries.entries[4095].data[0], '"');
    json_object_put(obj);
    buffer_free(&b);
}

/* gcc says __SANITIZE_ADDRESS__, clang says __has_feature(address_sanitizer). */
#if defined(__SANITIZE_ADDRESS__)
#define RPC_TEST_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RPC_TEST_SANITIZED 1
#endif
#endif
#ifndef RPC_TEST_SANITIZED
#define RPC_TEST_SANITIZED 0
#endif

/* CPU time of this process, not wall-clock time: a loaded machine that deschedules the
 * test does not make the code slower, and the bound is about the code. */
static double cpu_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

Test(rpc_codec, append_of_64_entries_is_fast)
{
    struct raft_entry e[64];
    char data[64][32];
    for (int i = 0; i < 64; i++) {
        int len = snprintf(data[i], sizeof(data[i]), "cli-1 %d x add %d", i, i * 7);
        e[i] = (struct raft_entry){.term = 5,
                                   .type = RAFT_ENTRY_COMMAND,
                                   .len = (uint32_t)len,
                                   .data = (uint8_t *)data[i]};
    }
    struct raft_message m = {.type = RAFT_MSG_APPEND_ENTRIES, .from = 1, .to = 2, .term = 5};
    m.u.append_entries.prev_log_index = 1000;
    m.u.append_entries.prev_log_term = 5;
    m.u.append_entries.leader_commit = 990;
    m.u.append_entries.n_entries = 64;
    m.u.append_entries.entries = e;
    struct buffer b;
    buffer_init(&b);
    const int rounds = 2000;
    double t0 = cpu_us();
    for (int r = 0; r < rounds; r++) {
        buffer_clear(&b);
        cr_assert_eq(rpc_encode(&m, names, N, &b), 0);
        struct json_object *obj;
        struct raft_message out;
        cr_assert_eq(
            json_line_parse(buffer_peek(&b), buffer_len(&b), RPC_LINE_MAX, &obj, err, sizeof(err)),
            0);
        cr_assert_eq(rpc_decode(obj, names, N, &out, space, RPC_MAX_ENTRIES, err, sizeof(err)), 0);
        json_object_put(obj);
    }
    double per = (cpu_us() - t0) / rounds;
    cr_log_info("64-entry append_entries: encode + parse + decode %.1f us of CPU", per);
    /* About 60 us in a release build, most of it json-c's parser; 8x headroom for a
     * loaded machine, more under AddressSanitizer, which slows this loop about 8x. */
#if RPC_TEST_SANITIZED
    const double bound = 5000.0;
#else
    const double bound = 500.0;
#endif
    /* Under valgrind (make valgrind sets the scale) the loop runs about 50x slower. */
    cr_assert_lt(per, bound * test_time_scale(), "%.1f us of CPU per round trip", per);
    buffer_free(&b);
}

/* ---- InstallSnapshot ---------------------------------------------------- */

static uint8_t chunk_space[RPC_SNAPSHOT_CHUNK_MAX];

static int decode_chunk(const char *line, struct rpc_install_snapshot *s)
{
    struct json_object *obj = NULL;
    if (json_line_parse(line, strlen(line), RPC_LINE_MAX, &obj, err, sizeof(err)) != 0)
        return -1;
    int rc = rpc_decode_install_snapshot(obj, names, 3, s, chunk_space, err, sizeof(err));
    json_object_put(obj);
    return rc;
}

Test(rpc_codec, install_snapshot_round_trip_with_binary_bytes)
{
    uint8_t bytes[300];
    for (size_t i = 0; i < sizeof(bytes); i++)
        bytes[i] = (uint8_t)(i * 7);
    struct rpc_install_snapshot s = {.from = 1,
                                     .to = 3,
                                     .term = 9,
                                     .last_included_index = 500,
                                     .last_included_term = 8,
                                     .size = 1000,
                                     .crc = 0xfedcba98u,
                                     .offset = 700,
                                     .data = bytes,
                                     .len = sizeof(bytes),
                                     .done = true};
    struct buffer b;
    buffer_init(&b);
    cr_assert_eq(rpc_encode_install_snapshot(&s, names, 3, &b), 0);
    cr_assert_eq(buffer_peek(&b)[buffer_len(&b) - 1], '\n');
    char *line = strndup(buffer_peek(&b), buffer_len(&b));
    struct rpc_install_snapshot d;
    cr_assert_eq(decode_chunk(line, &d), 0, "%s", err);
    cr_assert(d.from == 1 && d.to == 3 && d.term == 9 && d.last_included_index == 500 &&
              d.last_included_term == 8 && d.size == 1000 && d.crc == 0xfedcba98u &&
              d.offset == 700 && d.len == sizeof(bytes) && d.done);
    cr_assert_arr_eq(d.data, bytes, sizeof(bytes));
    free(line);
    buffer_free(&b);
}

Test(rpc_codec, install_snapshot_result_round_trip)
{
    struct rpc_install_snapshot_result r = {.from = 2,
                                            .to = 1,
                                            .term = 4,
                                            .last_included_index = 77,
                                            .next_offset = 65536,
                                            .done = false};
    struct buffer b;
    buffer_init(&b);
    cr_assert_eq(rpc_encode_install_snapshot_result(&r, names, 3, &b), 0);
    struct json_object *obj = NULL;
    cr_assert_eq(
        json_line_parse(buffer_peek(&b), buffer_len(&b), RPC_LINE_MAX, &obj, err, sizeof(err)), 0);
    struct rpc_install_snapshot_result d;
    cr_assert_eq(rpc_decode_install_snapshot_result(obj, names, 3, &d, err, sizeof(err)), 0, "%s",
                 err);
    cr_assert(d.from == 2 && d.to == 1 && d.term == 4 && d.last_included_index == 77 &&
              d.next_offset == 65536 && !d.done);
    json_object_put(obj);
    buffer_free(&b);
}

/* A chunk (of a 999,999-byte snapshot, at 0) whose data is coded characters 'A', the
 * last of them replaced by tail. */
static char *chunk_of_as(size_t coded, const char *tail)
{
    char *line = malloc(coded + 400);
    cr_assert_not_null(line);
    int n = snprintf(line, 400,
                     "{\"type\":\"install_snapshot\",\"term\":3,\"leader_id\":\"peer1\","
                     "\"from\":\"peer1\",\"to\":\"peer2\",\"last_included_index\":10,"
                     "\"last_included_term\":2,\"size\":999999,\"crc\":1,\"offset\":0,"
                     "\"done\":false,\"data\":\"");
    memset(line + n, 'A', coded);
    memcpy(line + n + coded - strlen(tail), tail, strlen(tail));
    strcpy(line + n + coded, "\"}");
    return line;
}

Test(rpc_codec, install_snapshot_hostile_chunks_are_refused)
{
#define CHUNK(fields)                                                                              \
    "{\"type\":\"install_snapshot\",\"term\":3,\"leader_id\":\"peer1\",\"from\":\"peer1\","        \
    "\"to\":\"peer2\",\"last_included_index\":10,\"last_included_term\":2," fields "}"
    static const char *const bad[] = {
        /* runs past the snapshot's size */
        CHUNK("\"size\":4,\"crc\":1,\"offset\":2,\"data\":\"AAAA\",\"done\":true"),
        /* offset past the size */
        CHUNK("\"size\":4,\"crc\":1,\"offset\":5,\"data\":\"\",\"done\":true"),
        /* not base64 */
        CHUNK("\"size\":9,\"crc\":1,\"offset\":0,\"data\":\"A*A=\",\"done\":true"),
        /* crc wider than 32 bits */
        CHUNK("\"size\":9,\"crc\":4294967296,\"offset\":0,\"data\":\"\",\"done\":false"),
        /* a field missing, or of the wrong type */
        CHUNK("\"size\":9,\"crc\":1,\"offset\":0,\"data\":\"\""),
        CHUNK("\"size\":\"9\",\"crc\":1,\"offset\":0,\"data\":\"\",\"done\":false"),
        /* leader_id that is not the sender */
        "{\"type\":\"install_snapshot\",\"term\":3,\"leader_id\":\"peer3\",\"from\":\"peer1\","
        "\"to\":\"peer2\",\"last_included_index\":10,\"last_included_term\":2,\"size\":1,"
        "\"crc\":1,\"offset\":0,\"data\":\"\",\"done\":false}",
        /* an unknown peer */
        "{\"type\":\"install_snapshot\",\"term\":3,\"leader_id\":\"peer9\",\"from\":\"peer9\","
        "\"to\":\"peer2\",\"last_included_index\":10,\"last_included_term\":2,\"size\":1,"
        "\"crc\":1,\"offset\":0,\"data\":\"\",\"done\":false}",
        /* another type */
        "{\"type\":\"install_snapshot_result\",\"term\":3,\"from\":\"peer1\",\"to\":\"peer2\"}",
        /* a snapshot whose last entry is of a term after the leader's */
        "{\"type\":\"install_snapshot\",\"term\":3,\"leader_id\":\"peer1\",\"from\":\"peer1\","
        "\"to\":\"peer2\",\"last_included_index\":10,\"last_included_term\":4,\"size\":1,"
        "\"crc\":1,\"offset\":0,\"data\":\"\",\"done\":false}",
    };
#undef CHUNK
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct rpc_install_snapshot s;
        err[0] = '\0';
        cr_assert_neq(decode_chunk(bad[i], &s), 0, "accepted: %s", bad[i]);
        cr_assert_neq(err[0], '\0', "no message for: %s", bad[i]);
        cr_assert(s.data == NULL && s.len == 0 && s.from == 0, "half-decoded: %s", bad[i]);
    }
    /* More than one chunk's worth of base64 is refused before it is decoded. */
    char *line = chunk_of_as(RPC_SNAPSHOT_CHUNK_MAX / 3 * 4 + 8, "");
    struct rpc_install_snapshot s;
    cr_assert_neq(decode_chunk(line, &s), 0);
    cr_assert(strstr(err, "more than"), "%s", err);
    free(line);
}

/* A chunk's worth of base64 characters can decode to 2 bytes more than a chunk (64 KiB is
 * not a multiple of 3): 87,384 characters without padding are 65,538 bytes, which must be
 * refused before they are written into the caller's RPC_SNAPSHOT_CHUNK_MAX bytes. */
Test(rpc_codec, install_snapshot_data_a_byte_or_two_over_the_chunk_is_refused)
{
    static const char *const tails[] = {"", "=", "=="};
    for (size_t t = 0; t < 3; t++) {
        size_t coded = base64_encoded_len(RPC_SNAPSHOT_CHUNK_MAX);
        /* With padding, the last group's unused bits must be zero: 'A' is. */
        char *line = chunk_of_as(coded, tails[t]);
        struct rpc_install_snapshot s;
        int rc = decode_chunk(line, &s);
        size_t decoded = coded / 4 * 3 - strlen(tails[t]);
        if (decoded > RPC_SNAPSHOT_CHUNK_MAX) {
            cr_assert_neq(rc, 0, "%zu decoded bytes accepted into %u", decoded,
                          RPC_SNAPSHOT_CHUNK_MAX);
            cr_assert(strstr(err, "more than"), "%s", err);
        } else {
            cr_assert_eq(rc, 0, "%s", err);
            cr_assert_eq(s.len, decoded);
        }
        free(line);
    }
}
