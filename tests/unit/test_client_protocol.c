/* test_client_protocol.c: client requests/responses round trip; hostile lines are refused. */
#include <criterion/criterion.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/client_protocol.h"

static char err[256];

/* Parses line as a request the way the daemon does; returns the from_json result. */
static int parse_request(const char *line, struct client_request *req)
{
    struct json_object *obj = NULL;
    err[0] = '\0';
    if (json_line_parse(line, strlen(line), CLIENT_LINE_MAX, &obj, err, sizeof(err)) != 0)
        return -1;
    int rc = client_request_from_json(obj, req, err, sizeof(err));
    json_object_put(obj);
    return rc;
}

Test(client_protocol, request_round_trip)
{
    struct client_request in = {.seq = 7}, out;
    strcpy(in.client_id, "cli-4f2a");
    strcpy(in.command, "x add \"100\" \\ y");
    char line[1024];
    int n = client_request_encode(&in, line, sizeof(line));
    cr_assert_gt(n, 0);
    cr_assert_eq((size_t)n, strlen(line));
    cr_assert_eq(line[n - 1], '\n');
    cr_assert_eq(memchr(line, '\n', (size_t)n - 1), NULL, "exactly one line");
    cr_assert_neq(strstr(line, "\"type\":\"client_request\""), NULL, "%s", line);
    cr_assert_eq(parse_request(line, &out), 0, "%s", err);
    cr_assert_str_eq(out.client_id, "cli-4f2a");
    cr_assert_eq(out.seq, 7);
    cr_assert_str_eq(out.command, "x add \"100\" \\ y");
}

Test(client_protocol, request_retry_is_optional)
{
    struct client_request in = {.seq = 1}, out;
    strcpy(in.client_id, "c");
    strcpy(in.command, "x add 1");
    char line[1024];
    cr_assert_gt(client_request_encode(&in, line, sizeof(line)), 0);
    cr_assert_null(strstr(line, "retry"), "a first attempt reads as before: %s", line);
    cr_assert_eq(parse_request(line, &out), 0, "%s", err);
    cr_assert_not(out.retry);

    in.retry = true;
    cr_assert_gt(client_request_encode(&in, line, sizeof(line)), 0);
    cr_assert_neq(strstr(line, "\"retry\":true"), NULL, "%s", line);
    cr_assert_eq(parse_request(line, &out), 0, "%s", err);
    cr_assert(out.retry);

    const char *base = "{\"client_id\":\"c\",\"seq\":1,\"command\":\"x get\"";
    snprintf(line, sizeof(line), "%s,\"retry\":false}", base);
    cr_assert_eq(parse_request(line, &out), 0, "%s", err);
    cr_assert_not(out.retry);
    snprintf(line, sizeof(line), "%s,\"retry\":null}", base);
    cr_assert_eq(parse_request(line, &out), 0, "null is absent: %s", err);
    cr_assert_not(out.retry);
    snprintf(line, sizeof(line), "%s,\"retry\":1}", base);
    cr_assert_eq(parse_request(line, &out), -1);
    cr_assert_neq(strstr(err, "retry"), NULL, "%s", err);
    snprintf(line, sizeof(line), "%s,\"retry\":\"true\"}", base);
    cr_assert_eq(parse_request(line, &out), -1);
}

Test(client_protocol, request_from_spec_example)
{
    struct client_request req;
    cr_assert_eq(parse_request("{\"type\":\"client_request\",\"client_id\":\"cli-4f2a\",\"seq\":7,"
                               "\"command\":\"x add 100\"}",
                               &req),
                 0, "%s", err);
    cr_assert_str_eq(req.command, "x add 100");
    /* With a newline, CRLF and spaces around it, and extra unknown fields. */
    cr_assert_eq(
        parse_request("  {\"client_id\":\"a\",\"seq\":0,\"command\":\"\",\"x\":[1]} \r\n", &req), 0,
        "%s", err);
    cr_assert_eq(req.seq, 0);
    cr_assert_str_eq(req.command, "");
}

Test(client_protocol, request_limits_are_exact)
{
    struct client_request req;
    char line[2048];
    char id[CLIENT_ID_MAX + 2], cmd[CLIENT_COMMAND_MAX + 2];
    memset(id, 'i', sizeof(id));
    memset(cmd, 'c', sizeof(cmd));
    id[CLIENT_ID_MAX] = '\0';
    cmd[CLIENT_COMMAND_MAX] = '\0';
    snprintf(line, sizeof(line),
             "{\"client_id\":\"%s\",\"seq\":9223372036854775807,\"command\":\"%s\"}", id, cmd);
    cr_assert_eq(parse_request(line, &req), 0, "%s", err);
    cr_assert_eq(req.seq, 9223372036854775807ull);
    cr_assert_eq(strlen(req.client_id), CLIENT_ID_MAX);
    cr_assert_eq(strlen(req.command), CLIENT_COMMAND_MAX);

    id[CLIENT_ID_MAX] = 'i';
    id[CLIENT_ID_MAX + 1] = '\0';
    snprintf(line, sizeof(line), "{\"client_id\":\"%s\",\"seq\":1,\"command\":\"x get\"}", id);
    cr_assert_eq(parse_request(line, &req), -1);
    cr_assert_neq(strstr(err, "client_id"), NULL, "%s", err);

    id[CLIENT_ID_MAX] = '\0';
    cmd[CLIENT_COMMAND_MAX] = 'c';
    cmd[CLIENT_COMMAND_MAX + 1] = '\0';
    snprintf(line, sizeof(line), "{\"client_id\":\"%s\",\"seq\":1,\"command\":\"%s\"}", id, cmd);
    cr_assert_eq(parse_request(line, &req), -1);
    cr_assert_neq(strstr(err, "command"), NULL, "%s", err);
}

/* Every one of these must be refused with a message, and nothing may crash. */
static const char *const bad_requests[] = {
    "",
    "   ",
    "not json",
    "{",
    "{\"client_id\":\"a\",\"seq\":1,\"command\":\"x get\"",
    "{\"client_id\":\"a\",\"seq\":1,\"command\":\"x get\"} trailing",
    "{\"client_id\":\"a\",\"seq\":1,\"command\":\"x get\"}{}",
    "[1,2,3]",
    "\"a string\"",
    "42",
    "null",
    "{'client_id':'a','seq':1,'command':'x get'}",
    "{\"client_id\":\"a\",\"seq\":1,\"command\":\"x get\",}",
    "{\"seq\":1,\"command\":\"x get\"}",
    "{\"client_id\":\"a\",\"command\":\"x get\"}",
    "{\"client_id\":\"a\",\"seq\":1}",
    "{\"client_id\":null,\"seq\":1,\"command\":\"x get\"}",
    "{\"client_id\":5,\"seq\":1,\"command\":\"x get\"}",
    "{\"client_id\":\"\",\"seq\":1,\"command\":\"x get\"}",
    "{\"client_id\":\"a b\",\"seq\":1,\"command\":\"x get\"}",
    "{\"client_id\":\"a\\n\",\"seq\":1,\"command\":\"x get\"}",
    "{\"client_id\":\"a\\u0000b\",\"seq\":1,\"command\":\"x get\"}",
    "{\"client_id\":\"\\u00e9\",\"seq\":1,\"command\":\"x get\"}",
    "{\"client_id\":\"a\",\"seq\":-1,\"command\":\"x get\"}",
    "{\"client_id\":\"a\",\"seq\":1.5,\"command\":\"x get\"}",
    "{\"client_id\":\"a\",\"seq\":1e3,\"command\":\"x get\"}",
    "{\"client_id\":\"a\",\"seq\":\"7\",\"command\":\"x get\"}",
    "{\"client_id\":\"a\",\"seq\":true,\"command\":\"x get\"}",
    "{\"client_id\":\"a\",\"seq\":9223372036854775808,\"command\":\"x get\"}",
    "{\"client_id\":\"a\",\"seq\":18446744073709551615,\"command\":\"x get\"}",
    "{\"client_id\":\"a\",\"seq\":99999999999999999999999999,\"command\":\"x get\"}",
    "{\"client_id\":\"a\",\"seq\":-99999999999999999999999999,\"command\":\"x get\"}",
    "{\"client_id\":\"a\",\"seq\":1,\"command\":[\"x\",\"get\"]}",
    "{\"client_id\":\"a\",\"seq\":1,\"command\":\"x\\tget\"}",
    "{\"client_id\":\"a\",\"seq\":1,\"command\":\"x get\\u0000\"}",
    "{\"client_id\":\"a\",\"seq\":1,\"command\":\"x \\u001b[2J\"}",
    "{\"client_id\":\"a\",\"seq\":1,\"command\":\"\xff\xfe\"}",
};

Test(client_protocol, hostile_requests_are_refused)
{
    for (size_t i = 0; i < sizeof(bad_requests) / sizeof(bad_requests[0]); i++) {
        struct client_request req;
        int rc = parse_request(bad_requests[i], &req);
        cr_expect_eq(rc, -1, "accepted bad request #%zu: %s", i, bad_requests[i]);
        cr_expect_neq(err[0], '\0', "no message for bad request #%zu", i);
    }
}

Test(client_protocol, line_parse_bounds_and_bytes)
{
    struct json_object *obj = (struct json_object *)0x1;
    /* Over the limit, even when it is valid JSON. */
    size_t big = CLIENT_LINE_MAX + 10;
    char *line = malloc(big + 1);
    cr_assert_not_null(line);
    memset(line, ' ', big);
    line[0] = '{';
    line[big - 1] = '}';
    line[big] = '\0';
    cr_assert_eq(json_line_parse(line, big, CLIENT_LINE_MAX, &obj, err, sizeof(err)), -1);
    cr_assert_null(obj);
    cr_assert_neq(strstr(err, "too long"), NULL, "%s", err);
    free(line);

    /* A NUL byte inside the given length. */
    cr_assert_eq(json_line_parse("{}\0{}", 5, 100, &obj, err, sizeof(err)), -1);
    cr_assert_neq(strstr(err, "NUL"), NULL, "%s", err);

    /* Deep nesting is refused before it costs anything. */
    char deep[200];
    memset(deep, 0, sizeof(deep));
    strcpy(deep, "{\"a\":");
    for (int i = 0; i < 40; i++)
        strcat(deep, "[");
    cr_assert_eq(json_line_parse(deep, strlen(deep), 1000, &obj, err, sizeof(err)), -1);

    /* Truncated input says so. */
    cr_assert_eq(json_line_parse("{\"a\":1", 6, 100, &obj, err, sizeof(err)), -1);
    cr_assert_neq(strstr(err, "truncated"), NULL, "%s", err);

    /* Only len bytes are read: the rest of the memory is not the line's business. */
    cr_assert_eq(json_line_parse("{\"a\":1}garbage", 7, 100, &obj, err, sizeof(err)), 0, "%s", err);
    cr_assert(json_object_is_type(obj, json_type_object));
    json_object_put(obj);
}

Test(client_protocol, success_response_round_trip)
{
    struct client_response in = {.ok = true, .has_result = true, .result = 100, .index = 42};
    strcpy(in.leader, "peer1");
    char line[1024];
    int n = client_response_encode(&in, line, sizeof(line));
    cr_assert_gt(n, 0);
    cr_assert_str_eq(line, "{\"type\":\"client_response\",\"ok\":true,\"result\":100,\"index\":42,"
                           "\"leader\":\"peer1\"}\n");
    struct client_response out;
    cr_assert_eq(client_response_decode(line, (size_t)n, &out, err, sizeof(err)), 0, "%s", err);
    cr_assert(out.ok);
    cr_assert(out.has_result);
    cr_assert_eq(out.result, 100);
    cr_assert_eq(out.index, 42);
    cr_assert_str_eq(out.leader, "peer1");
    cr_assert_str_eq(out.error, "");
    cr_assert_eq(out.port, 0);
}

Test(client_protocol, extreme_results_round_trip)
{
    const int64_t values[] = {INT64_MIN, INT64_MIN + 1, -1, 0, 1, INT64_MAX - 1, INT64_MAX};
    for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
        struct client_response in = {.ok = true, .has_result = true, .result = values[i]};
        struct client_response out;
        char line[512];
        int n = client_response_encode(&in, line, sizeof(line));
        cr_assert_gt(n, 0);
        cr_assert_eq(client_response_decode(line, (size_t)n, &out, err, sizeof(err)), 0, "%s", err);
        cr_assert_eq(out.result, values[i], "value %lld", (long long)values[i]);
        cr_assert_eq(out.index, 0);
    }
}

Test(client_protocol, failure_response_has_nulls_and_round_trips)
{
    struct client_response in = {.ok = false};
    strcpy(in.error, "not_leader");
    strcpy(in.message, "peer1 is a follower; the leader is unknown");
    char line[1024];
    int n = client_response_encode(&in, line, sizeof(line));
    cr_assert_gt(n, 0);
    cr_assert_neq(strstr(line, "\"leader\":null"), NULL, "%s", line);
    cr_assert_neq(strstr(line, "\"host\":null"), NULL, "%s", line);
    cr_assert_neq(strstr(line, "\"port\":null"), NULL, "%s", line);
    struct client_response out;
    cr_assert_eq(client_response_decode(line, (size_t)n, &out, err, sizeof(err)), 0, "%s", err);
    cr_assert_not(out.ok);
    cr_assert_str_eq(out.error, "not_leader");
    cr_assert_str_eq(out.leader, "");
    cr_assert_str_eq(out.host, "");
    cr_assert_eq(out.port, 0);
    cr_assert_str_eq(out.message, in.message);

    strcpy(in.leader, "peer2");
    strcpy(in.host, "127.0.0.1");
    in.port = 6002;
    n = client_response_encode(&in, line, sizeof(line));
    cr_assert_gt(n, 0);
    cr_assert_eq(client_response_decode(line, (size_t)n, &out, err, sizeof(err)), 0, "%s", err);
    cr_assert_str_eq(out.leader, "peer2");
    cr_assert_str_eq(out.host, "127.0.0.1");
    cr_assert_eq(out.port, 6002);

    /* cas_failed carries the current value. */
    struct client_response cas = {.ok = false, .has_result = true, .result = -5};
    strcpy(cas.error, "cas_failed");
    n = client_response_encode(&cas, line, sizeof(line));
    cr_assert_eq(client_response_decode(line, (size_t)n, &out, err, sizeof(err)), 0, "%s", err);
    cr_assert(out.has_result);
    cr_assert_eq(out.result, -5);
}

Test(client_protocol, spec_failure_example_decodes)
{
    const char *line =
        "{\"type\":\"client_response\",\"ok\":false,\"error\":\"not_leader\",\"leader\":\"peer2\","
        "\"host\":\"127.0.0.1\",\"port\":6002,\"message\":\"peer1 is a follower; the leader is "
        "peer2\"}\n";
    struct client_response out;
    cr_assert_eq(client_response_decode(line, strlen(line), &out, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(out.port, 6002);
    cr_assert_str_eq(out.leader, "peer2");
}

Test(client_protocol, encode_refuses_what_does_not_fit)
{
    struct client_request req = {.seq = 1};
    strcpy(req.client_id, "c");
    strcpy(req.command, "x get");
    char small[16];
    cr_assert_eq(client_request_encode(&req, small, sizeof(small)), -1);
    req.client_id[0] = '\0';
    char line[512];
    cr_assert_eq(client_request_encode(&req, line, sizeof(line)), -1, "empty client_id");
    strcpy(req.client_id, "c");
    req.seq = UINT64_MAX;
    cr_assert_eq(client_request_encode(&req, line, sizeof(line)), -1, "seq beyond the wire range");

    struct client_response resp = {.ok = false};
    cr_assert_eq(client_response_encode(&resp, line, sizeof(line)), -1, "failure without code");
    resp.ok = true;
    resp.port = 70000;
    cr_assert_eq(client_response_encode(&resp, line, sizeof(line)), -1);
    /* Unterminated fixed-size fields are read only up to their size. */
    struct client_response over = {.ok = false};
    memset(over.error, 'e', sizeof(over.error));
    memset(over.message, 'm', sizeof(over.message));
    int n = client_response_encode(&over, line, sizeof(line));
    cr_assert_gt(n, 0);
}

static const char *const bad_responses[] = {
    "",
    "nope",
    "{\"type\":\"client_request\",\"ok\":true}",
    "{\"ok\":true}",
    "{\"type\":\"client_response\"}",
    "{\"type\":\"client_response\",\"ok\":\"yes\"}",
    "{\"type\":\"client_response\",\"ok\":1}",
    "{\"type\":\"client_response\",\"ok\":false}",
    "{\"type\":\"client_response\",\"ok\":false,\"error\":\"\"}",
    "{\"type\":\"client_response\",\"ok\":false,\"error\":\"an_error_code_that_is_far_too_long\"}",
    "{\"type\":\"client_response\",\"ok\":false,\"error\":\"a\\u001bb\"}",
    "{\"type\":\"client_response\",\"ok\":true,\"result\":\"5\"}",
    "{\"type\":\"client_response\",\"ok\":true,\"result\":1.5}",
    "{\"type\":\"client_response\",\"ok\":true,\"result\":9223372036854775808}",
    "{\"type\":\"client_response\",\"ok\":true,\"result\":18446744073709551616}",
    "{\"type\":\"client_response\",\"ok\":true,\"index\":-1}",
    "{\"type\":\"client_response\",\"ok\":true,\"port\":0}",
    "{\"type\":\"client_response\",\"ok\":true,\"port\":65536}",
    "{\"type\":\"client_response\",\"ok\":true,\"port\":\"6001\"}",
    "{\"type\":\"client_response\",\"ok\":true,\"leader\":7}",
    "{\"type\":\"client_response\",\"ok\":true,\"leader\":\"peer 1\"}",
    "{\"type\":\"client_response\",\"ok\":true,\"leader\":"
    "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
    "{\"type\":\"client_response\",\"ok\":true,\"message\":5}",
    "{\"type\":\"client_response\",\"ok\":true} {}",
};

Test(client_protocol, hostile_responses_are_refused)
{
    for (size_t i = 0; i < sizeof(bad_responses) / sizeof(bad_responses[0]); i++) {
        struct client_response out;
        err[0] = '\0';
        int rc = client_response_decode(bad_responses[i], strlen(bad_responses[i]), &out, err,
                                        sizeof(err));
        cr_expect_eq(rc, -1, "accepted bad response #%zu: %s", i, bad_responses[i]);
        cr_expect_neq(err[0], '\0', "no message for bad response #%zu", i);
    }
}

Test(client_protocol, message_is_cut_and_masked_not_refused)
{
    char line[2048];
    char msg[600];
    memset(msg, 'm', sizeof(msg));
    msg[sizeof(msg) - 1] = '\0';
    snprintf(line, sizeof(line),
             "{\"type\":\"client_response\",\"ok\":false,\"error\":\"bad_command\",\"message\":"
             "\"\\u001b[31m%s\"}",
             msg);
    struct client_response out;
    cr_assert_eq(client_response_decode(line, strlen(line), &out, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(strlen(out.message), sizeof(out.message) - 1);
    cr_assert_eq(out.message[0], '?', "the escape byte must be masked");
    cr_assert_eq(out.message[1], '[');
}
