/* fuzz_client_request.c: libFuzzer target for the client protocol and the command parser.
 *
 * The same bytes are read as a peer reads a client's line (json_line_parse ->
 * client_request_from_json -> command_parse) and as user_cli reads a peer's answer
 * (client_response_decode). What is accepted must encode and decode back to itself:
 * a request user_cli can send must be one a peer accepts, and the canonical text of a
 * command (what the leader puts in the log) must parse to the same command. */
#include <json-c/json.h>
#include <stdint.h>
#include <string.h>

#include "common/client_protocol.h"
#include "common/command.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int requests_equal(const struct client_request *a, const struct client_request *b)
{
    return strcmp(a->client_id, b->client_id) == 0 && a->seq == b->seq &&
           strcmp(a->command, b->command) == 0 && a->retry == b->retry;
}

static int commands_equal(const struct command *a, const struct command *b)
{
    return a->op == b->op && strcmp(a->name, b->name) == 0 && a->arg1 == b->arg1 &&
           a->arg2 == b->arg2;
}

static int responses_equal(const struct client_response *a, const struct client_response *b)
{
    return a->ok == b->ok && a->has_result == b->has_result &&
           (!a->has_result || a->result == b->result) && a->index == b->index &&
           strcmp(a->error, b->error) == 0 && strcmp(a->leader, b->leader) == 0 &&
           strcmp(a->host, b->host) == 0 && a->port == b->port &&
           strcmp(a->message, b->message) == 0;
}

/* A message may be quoted to a user or written to a log: one line, no control bytes. */
static void check_message(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    if (n == cap)
        __builtin_trap(); /* not terminated */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] == 0x7f)
            __builtin_trap();
}

static void check_command(const char *text)
{
    struct command c, c2;
    char err[256], canon[COMMAND_TEXT_MAX];

    err[0] = '\0';
    if (command_parse(text, &c, err, sizeof(err)) != 0) {
        if (err[0] == '\0')
            __builtin_trap(); /* a refusal always says what was expected */
        check_message(err, sizeof(err));
        return;
    }
    if (!command_name_valid(c.name) || command_op_name(c.op) == NULL)
        __builtin_trap();
    int n = command_format(&c, canon, sizeof(canon));
    if (n < 0 || (size_t)n != strlen(canon))
        __builtin_trap();
    if (command_parse(canon, &c2, err, sizeof(err)) != 0 || !commands_equal(&c, &c2))
        __builtin_trap();
}

static void check_request(const uint8_t *data, size_t size)
{
    struct json_object *obj = NULL, *obj2 = NULL;
    struct client_request req, req2;
    char err[256], line[CLIENT_LINE_MAX];

    if (json_line_parse((const char *)data, size, CLIENT_LINE_MAX, &obj, err, sizeof(err)) != 0)
        goto done;
    if (client_request_from_json(obj, &req, err, sizeof(err)) != 0) {
        check_message(err, sizeof(err));
        goto done;
    }
    check_command(req.command);
    int n = client_request_encode(&req, line, sizeof(line));
    if (n <= 0 || line[n - 1] != '\n')
        __builtin_trap();
    if (json_line_parse(line, (size_t)n, CLIENT_LINE_MAX, &obj2, err, sizeof(err)) != 0 ||
        client_request_from_json(obj2, &req2, err, sizeof(err)) != 0 ||
        !requests_equal(&req, &req2))
        __builtin_trap();
done:
    json_object_put(obj2);
    json_object_put(obj);
}

static void check_response(const uint8_t *data, size_t size)
{
    struct client_response resp, resp2;
    char err[256], line[CLIENT_LINE_MAX];

    if (client_response_decode((const char *)data, size, &resp, err, sizeof(err)) != 0)
        return;
    check_message(resp.message, sizeof(resp.message));
    int n = client_response_encode(&resp, line, sizeof(line));
    if (n <= 0)
        __builtin_trap();
    if (client_response_decode(line, (size_t)n, &resp2, err, sizeof(err)) != 0 ||
        !responses_equal(&resp, &resp2))
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_request(data, size);
    check_response(data, size);
    /* The raw bytes as a command too, as user_cli's prompt reads what the user types. */
    if (size < 1024 && memchr(data, '\0', size) == NULL) {
        char text[1024];
        memcpy(text, data, size);
        text[size] = '\0';
        check_command(text);
    }
    return 0;
}
