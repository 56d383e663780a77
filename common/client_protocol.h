/* client_protocol.h: CONTRACT.md's client protocol (JSON lines) and the JSON-line helpers it
 * rests on. */
#ifndef COMMON_CLIENT_PROTOCOL_H
#define COMMON_CLIENT_PROTOCOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

#define CLIENT_LINE_MAX    65536 /* longer request lines are bad_request */
#define CLIENT_ID_MAX      64
#define CLIENT_COMMAND_MAX 256

/* Unsigned numbers on the wire are limited to 0..2^63-1: json-c saturates numbers
 * that overflow, and this bound is what lets the decoders tell a real value from a
 * saturated one. */
#define JSON_UINT_MAX ((uint64_t)INT64_MAX)

struct client_request {
    char client_id[CLIENT_ID_MAX + 1];    /* 1..64 bytes of [!-~] */
    uint64_t seq;                         /* increasing per client, 0..JSON_UINT_MAX */
    char command[CLIENT_COMMAND_MAX + 1]; /* printable ASCII [ -~], parsed by the state machine */
    /* Optional "retry":true: this seq is being resent after an attempt that may have
     * reached a leader's log (timeout, lost connection, unavailable; not after
     * not_leader). Lets the state machine tell a retried first request from a new
     * client (docs/STATE_MACHINE.md, "Expired sessions"). Absent = false. */
    bool retry;
};

struct client_response {
    bool ok;
    bool has_result;
    int64_t result;
    uint64_t index;    /* log index of the command, 0 = absent */
    char error[32];    /* failure code (not_leader, bad_request, ...), "" on success */
    char leader[64];   /* "" = null */
    char host[256];    /* "" = null */
    int port;          /* 0 = null */
    char message[256]; /* for humans; non-printable bytes are replaced by '?' when decoded */
};

/* Parses one line into a JSON object. The line (with or without its trailing newline)
 * must be at most max bytes and exactly one JSON object: no trailing garbage, no NUL,
 * valid UTF-8, nesting at most 16 deep. 0 and *out (release with json_object_put),
 * or -1 with a message in err. */
int json_line_parse(const char *line, size_t len, size_t max, struct json_object **out, char *err,
                    size_t errlen);

/* Required fields of a parsed object. Each returns 0, or -1 with a message naming the
 * field when it is missing or of the wrong type. */
/* An integer in 0..JSON_UINT_MAX. */
int json_get_u64(struct json_object *obj, const char *key, uint64_t *out, char *err, size_t errlen);
/* A signed 64-bit integer. */
int json_get_i64(struct json_object *obj, const char *key, int64_t *out, char *err, size_t errlen);
int json_get_bool(struct json_object *obj, const char *key, bool *out, char *err, size_t errlen);
/* A string; *s points into obj (valid while obj lives) and may hold NUL bytes: check *len. */
int json_get_string(struct json_object *obj, const char *key, const char **s, size_t *len,
                    char *err, size_t errlen);

/* JSON + "\n" into out. Returns the length written (without a NUL, which follows it
 * when there is room), or -1 when the request is malformed or out is too small. */
int client_request_encode(const struct client_request *req, char *out, size_t outlen);
/* obj already parsed, its type already "client_request"; checks every field's
 * presence, type and bounds. Unknown fields are ignored. */
int client_request_from_json(struct json_object *obj, struct client_request *req, char *err,
                             size_t errlen);
/* JSON + "\n"; on failure includes leader/host/port as null when empty. Same return
 * as client_request_encode. */
int client_response_encode(const struct client_response *resp, char *out, size_t outlen);
/* Parses a whole response line (at most CLIENT_LINE_MAX bytes). 0 or -1 with err. */
int client_response_decode(const char *line, size_t len, struct client_response *resp, char *err,
                           size_t errlen);

#endif
