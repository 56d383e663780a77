/* client_protocol.c: client requests and responses <-> JSON lines, with json-c. */
#include "common/error_message.h"
#include "common/client_protocol.h"

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define JSON_LINE_DEPTH 16 /* our messages nest 3 deep; deeper input is refused early */

static bool is_json_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int json_line_parse(const char *line, size_t len, size_t max, struct json_object **out, char *err,
                    size_t errlen)
{
    *out = NULL;
    if (len > max) {
        set_err(err, errlen, "line too long (%zu bytes, at most %zu)", len, max);
        return -1;
    }
    if (memchr(line, '\0', len)) {
        set_err(err, errlen, "NUL byte in line");
        return -1;
    }
    size_t n = len;
    while (n > 0 && is_json_space(line[n - 1]))
        n--;
    if (n == 0) {
        set_err(err, errlen, "empty line");
        return -1;
    }
    if (n > INT32_MAX) {
        set_err(err, errlen, "line too long");
        return -1;
    }
    struct json_tokener *tok = json_tokener_new_ex(JSON_LINE_DEPTH);
    if (!tok) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    struct json_object *obj = json_tokener_parse_ex(tok, line, (int)n);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    size_t end = json_tokener_get_parse_end(tok);
    json_tokener_free(tok);
    if (jerr == json_tokener_continue) {
        set_err(err, errlen, "truncated JSON");
        goto fail;
    }
    if (jerr != json_tokener_success || !obj) {
        set_err(err, errlen, "not JSON: %s at byte %zu", json_tokener_error_desc(jerr), end);
        goto fail;
    }
    for (size_t i = end; i < n; i++) {
        if (!is_json_space(line[i])) {
            set_err(err, errlen, "trailing garbage after the JSON object at byte %zu", i);
            goto fail;
        }
    }
    if (!json_object_is_type(obj, json_type_object)) {
        set_err(err, errlen, "not a JSON object");
        goto fail;
    }
    *out = obj;
    return 0;
fail:
    json_object_put(obj);
    return -1;
}

static struct json_object *field(struct json_object *obj, const char *key, char *err, size_t errlen)
{
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(obj, key, &v) || !v) {
        set_err(err, errlen, "missing field \"%s\"", key);
        return NULL;
    }
    return v;
}

/* json-c keeps integers above INT64_MAX as unsigned and saturates whatever overflows,
 * so reading both views tells the exact value apart from a clamped one. */
int json_get_u64(struct json_object *obj, const char *key, uint64_t *out, char *err, size_t errlen)
{
    struct json_object *v = field(obj, key, err, errlen);
    if (!v)
        return -1;
    if (!json_object_is_type(v, json_type_int) || json_object_get_int64(v) < 0 ||
        json_object_get_uint64(v) > JSON_UINT_MAX) {
        set_err(err, errlen, "field \"%s\" must be an integer in 0..%llu", key,
                (unsigned long long)JSON_UINT_MAX);
        return -1;
    }
    *out = json_object_get_uint64(v);
    return 0;
}

int json_get_i64(struct json_object *obj, const char *key, int64_t *out, char *err, size_t errlen)
{
    struct json_object *v = field(obj, key, err, errlen);
    if (!v)
        return -1;
    int64_t i = json_object_is_type(v, json_type_int) ? json_object_get_int64(v) : 0;
    /* Above INT64_MAX, get_uint64 shows the real (or saturated) unsigned value. Below
     * INT64_MIN json-c saturates to INT64_MIN indistinguishably; that one value is
     * accepted as itself. */
    if (!json_object_is_type(v, json_type_int) ||
        (i == INT64_MAX && json_object_get_uint64(v) != (uint64_t)INT64_MAX)) {
        set_err(err, errlen, "field \"%s\" must be a signed 64-bit integer", key);
        return -1;
    }
    *out = i;
    return 0;
}

int json_get_bool(struct json_object *obj, const char *key, bool *out, char *err, size_t errlen)
{
    struct json_object *v = field(obj, key, err, errlen);
    if (!v)
        return -1;
    if (!json_object_is_type(v, json_type_boolean)) {
        set_err(err, errlen, "field \"%s\" must be true or false", key);
        return -1;
    }
    *out = json_object_get_boolean(v) != 0;
    return 0;
}

int json_get_string(struct json_object *obj, const char *key, const char **s, size_t *len,
                    char *err, size_t errlen)
{
    struct json_object *v = field(obj, key, err, errlen);
    if (!v)
        return -1;
    if (!json_object_is_type(v, json_type_string)) {
        set_err(err, errlen, "field \"%s\" must be a string", key);
        return -1;
    }
    *s = json_object_get_string(v);
    *len = (size_t)json_object_get_string_len(v);
    return 0;
}

/* True when every byte is in [lo, '~']: printable ASCII, with or without the space. */
static bool all_in_range(const char *s, size_t len, char lo)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] < lo || s[i] > '~')
            return false;
    return true;
}

/* True when key is absent or null. */
static bool absent(struct json_object *obj, const char *key)
{
    struct json_object *v = NULL;
    return !json_object_object_get_ex(obj, key, &v) || !v;
}

int client_request_from_json(struct json_object *obj, struct client_request *req, char *err,
                             size_t errlen)
{
    const char *s;
    size_t len;
    memset(req, 0, sizeof(*req));
    if (json_get_string(obj, "client_id", &s, &len, err, errlen) != 0)
        return -1;
    if (len < 1 || len > CLIENT_ID_MAX || !all_in_range(s, len, '!')) {
        set_err(err, errlen,
                "field \"client_id\" must be 1 to %d printable ASCII characters without spaces",
                CLIENT_ID_MAX);
        return -1;
    }
    memcpy(req->client_id, s, len);
    if (json_get_u64(obj, "seq", &req->seq, err, errlen) != 0)
        return -1;
    if (json_get_string(obj, "command", &s, &len, err, errlen) != 0)
        return -1;
    /* The command ends up in the replicated log, whose codec takes printable ASCII only:
     * anything else refused here would otherwise wedge replication later. */
    if (len > CLIENT_COMMAND_MAX || !all_in_range(s, len, ' ')) {
        set_err(err, errlen,
                "field \"command\" must be at most %d bytes of printable ASCII (space included)",
                CLIENT_COMMAND_MAX);
        return -1;
    }
    memcpy(req->command, s, len);
    if (!absent(obj, "retry") && json_get_bool(obj, "retry", &req->retry, err, errlen) != 0)
        return -1;
    return 0;
}

/* Serialises obj plainly, adds the newline, copies into out; frees obj. */
static int finish_encode(struct json_object *obj, bool failed, char *out, size_t outlen)
{
    int rc = -1;
    if (failed || !obj)
        goto done;
    size_t len = 0;
    const char *s = json_object_to_json_string_length(
        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
    if (!s || len + 1 > outlen || len + 1 > INT32_MAX)
        goto done;
    memcpy(out, s, len);
    out[len] = '\n';
    if (len + 2 <= outlen)
        out[len + 1] = '\0';
    rc = (int)(len + 1);
done:
    json_object_put(obj);
    return rc;
}

/* json_object_object_add with a freshly made value: false when anything failed. */
static bool add(struct json_object *obj, const char *key, struct json_object *val, bool null_ok)
{
    if (!val && !null_ok)
        return false;
    if (json_object_object_add(obj, key, val) != 0) {
        json_object_put(val);
        return false;
    }
    return true;
}

static struct json_object *new_str_n(const char *s, size_t max)
{
    return json_object_new_string_len(s, (int)strnlen(s, max));
}

int client_request_encode(const struct client_request *req, char *out, size_t outlen)
{
    size_t idlen = strnlen(req->client_id, sizeof(req->client_id));
    size_t cmdlen = strnlen(req->command, sizeof(req->command));
    if (idlen == 0 || idlen > CLIENT_ID_MAX || cmdlen > CLIENT_COMMAND_MAX ||
        req->seq > JSON_UINT_MAX)
        return -1;
    struct json_object *obj = json_object_new_object();
    bool failed = !obj;
    if (!failed) {
        failed =
            !add(obj, "type", json_object_new_string("client_request"), false) ||
            !add(obj, "client_id", json_object_new_string_len(req->client_id, (int)idlen), false) ||
            !add(obj, "seq", json_object_new_uint64(req->seq), false) ||
            !add(obj, "command", json_object_new_string_len(req->command, (int)cmdlen), false);
    }
    /* Only when set, so a first attempt reads exactly as before the field existed. */
    if (!failed && req->retry)
        failed = !add(obj, "retry", json_object_new_boolean(true), false);
    return finish_encode(obj, failed, out, outlen);
}

int client_response_encode(const struct client_response *resp, char *out, size_t outlen)
{
    if (resp->port < 0 || resp->port > 65535 || resp->index > JSON_UINT_MAX ||
        (!resp->ok && resp->error[0] == '\0'))
        return -1;
    struct json_object *obj = json_object_new_object();
    bool failed = !obj;
    if (failed)
        return finish_encode(obj, failed, out, outlen);
    failed = !add(obj, "type", json_object_new_string("client_response"), false) ||
             !add(obj, "ok", json_object_new_boolean(resp->ok), false);
    if (!failed && !resp->ok)
        failed = !add(obj, "error", new_str_n(resp->error, sizeof(resp->error)), false);
    if (!failed && resp->has_result)
        failed = !add(obj, "result", json_object_new_int64(resp->result), false);
    if (!failed && resp->index > 0)
        failed = !add(obj, "index", json_object_new_uint64(resp->index), false);
    /* A failure always says where the leader is, null meaning "unknown"; a success
     * names the leader when it is known. */
    bool where = !resp->ok;
    if (!failed && (where || resp->leader[0]))
        failed = !add(obj, "leader",
                      resp->leader[0] ? new_str_n(resp->leader, sizeof(resp->leader)) : NULL, true);
    if (!failed && (where || resp->host[0]))
        failed = !add(obj, "host", resp->host[0] ? new_str_n(resp->host, sizeof(resp->host)) : NULL,
                      true);
    if (!failed && (where || resp->port))
        failed = !add(obj, "port", resp->port ? json_object_new_int(resp->port) : NULL, true);
    if (!failed && (!resp->ok || resp->message[0]))
        failed = !add(obj, "message", new_str_n(resp->message, sizeof(resp->message)), false);
    return finish_encode(obj, failed, out, outlen);
}

/* An optional printable string (null or absent = ""), refused when longer than max. */
static int opt_name(struct json_object *obj, const char *key, char *dst, size_t max, char *err,
                    size_t errlen)
{
    const char *s;
    size_t len;
    dst[0] = '\0';
    if (absent(obj, key))
        return 0;
    if (json_get_string(obj, key, &s, &len, err, errlen) != 0)
        return -1;
    if (len > max || !all_in_range(s, len, '!')) {
        set_err(err, errlen, "field \"%s\" must be at most %zu printable characters", key, max);
        return -1;
    }
    memcpy(dst, s, len);
    dst[len] = '\0';
    return 0;
}

int client_response_decode(const char *line, size_t len, struct client_response *resp, char *err,
                           size_t errlen)
{
    struct json_object *obj = NULL;
    const char *s;
    size_t slen;
    int rc = -1;
    memset(resp, 0, sizeof(*resp));
    if (json_line_parse(line, len, CLIENT_LINE_MAX, &obj, err, errlen) != 0)
        return -1;
    if (json_get_string(obj, "type", &s, &slen, err, errlen) != 0)
        goto out;
    if (slen != strlen("client_response") || memcmp(s, "client_response", slen) != 0) {
        set_err(err, errlen, "not a client_response");
        goto out;
    }
    if (json_get_bool(obj, "ok", &resp->ok, err, errlen) != 0)
        goto out;
    if (!resp->ok) {
        if (json_get_string(obj, "error", &s, &slen, err, errlen) != 0)
            goto out;
        if (slen == 0 || slen >= sizeof(resp->error) || !all_in_range(s, slen, '!')) {
            set_err(err, errlen, "field \"error\" must be a short error code");
            goto out;
        }
        memcpy(resp->error, s, slen);
    }
    if (!absent(obj, "result")) {
        if (json_get_i64(obj, "result", &resp->result, err, errlen) != 0)
            goto out;
        resp->has_result = true;
    }
    if (!absent(obj, "index") && json_get_u64(obj, "index", &resp->index, err, errlen) != 0)
        goto out;
    if (opt_name(obj, "leader", resp->leader, sizeof(resp->leader) - 1, err, errlen) != 0 ||
        opt_name(obj, "host", resp->host, sizeof(resp->host) - 1, err, errlen) != 0)
        goto out;
    if (!absent(obj, "port")) {
        uint64_t port;
        if (json_get_u64(obj, "port", &port, err, errlen) != 0)
            goto out;
        if (port < 1 || port > 65535) {
            set_err(err, errlen, "field \"port\" must be in 1..65535");
            goto out;
        }
        resp->port = (int)port;
    }
    if (!absent(obj, "message")) {
        if (json_get_string(obj, "message", &s, &slen, err, errlen) != 0)
            goto out;
        /* Human text: cut it to size and mask control bytes rather than refuse the
         * answer, so a terminal never receives escape sequences from the network. */
        if (slen >= sizeof(resp->message))
            slen = sizeof(resp->message) - 1;
        for (size_t i = 0; i < slen; i++)
            resp->message[i] = (s[i] >= ' ' && s[i] <= '~') ? s[i] : '?';
        resp->message[slen] = '\0';
    }
    rc = 0;
out:
    json_object_put(obj);
    return rc;
}
