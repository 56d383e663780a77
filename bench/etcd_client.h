/* etcd_client.h: just enough of an etcd v3 client for the benchmark, over etcd's JSON
 * gateway (gRPC-gateway, HTTP/1.1 on the client URL): requests encoded by hand, answers
 * parsed with json-c, and a closed-loop load driver that mirrors load.h's. */
#ifndef BENCH_ETCD_CLIENT_H
#define BENCH_ETCD_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bench/load.h"

#define ETCD_BODY_MAX    65536 /* longest answer body accepted */
#define ETCD_HEADERS_MAX 16384 /* longest status line + headers accepted */
#define ETCD_REQUEST_MAX 1024  /* longest request the bench builds */

/* One HTTP/1.1 POST of a JSON body to path on host:port, keep-alive. Returns its
 * length, or -1 when it does not fit in outlen. */
int etcd_encode_post(char *out, size_t outlen, const char *host, int port, const char *path,
                     const char *json);
/* POST /v3/kv/put {"key":b64(key),"value":b64(value)}. Length or -1. */
int etcd_encode_put(char *out, size_t outlen, const char *host, int port, const char *key,
                    const char *value);
/* POST /v3/kv/range {"key":b64(key)}: one key, linearizable (etcd's default; the
 * gateway leaves "serializable" false). Length or -1. */
int etcd_encode_range(char *out, size_t outlen, const char *host, int port, const char *key);
/* POST /v3/kv/deleterange {"key":b64(key)}. Length or -1. */
int etcd_encode_delete(char *out, size_t outlen, const char *host, int port, const char *key);

/* One HTTP response. */
struct etcd_http {
    int status;      /* 200, 400, 503... */
    bool close;      /* the server will close the connection after it */
    size_t consumed; /* bytes of the input this response took */
    size_t body_len;
    char body[ETCD_BODY_MAX + 1]; /* de-chunked, NUL-terminated */
};

/* Parses the HTTP/1.x response at the start of buf[0..len) (Content-Length or chunked
 * body). 1 when it is complete (r filled), 0 when more bytes are needed, -1 with err
 * when it is malformed or too long. */
int etcd_http_parse(const char *buf, size_t len, struct etcd_http *r, char *err, size_t errlen);

/* What an answer body says. */
struct etcd_answer {
    bool ok;            /* HTTP 200 and a "header" object */
    int code;           /* gRPC code of an error answer, -1 when none was given */
    int64_t revision;   /* header.revision, -1 if absent */
    uint64_t member_id; /* header.member_id: who answered, 0 if absent */
    uint64_t leader;    /* maintenance/status: the leader's member id, 0 if absent */
    int64_t count;      /* range: "count" (0 when absent: the gateway omits zeros) */
    bool has_value;     /* range: the first kv had a value */
    size_t value_len;   /* ... decoded */
    char value[256];    /* ... NUL-terminated, truncated if longer */
    char error[256];    /* !ok: the error message, or what was wrong with the answer */
};

/* Reads an answer of the given HTTP status. 0 when the body is an etcd answer (a->ok
 * says whether it succeeded), -1 when it is not one (a->error says why). */
int etcd_answer_parse(int status, const char *body, size_t len, struct etcd_answer *a);

/* A blocking POST of json to path on host:port on a new connection, waiting at most
 * timeout_ms: 0 with a filled, or -1 with err (no answer, or not an etcd answer). */
int etcd_call(const char *host, int port, const char *path, const char *json, int timeout_ms,
              struct etcd_answer *a, char *err, size_t errlen);

/* load_run for etcd: o->clients closed-loop clients, each with one keep-alive connection
 * to o->targets[o->first_target] and one request outstanding. The mix maps to
 * etcd as: get -> linearizable range, del -> deleterange, every other op -> put of a
 * short value (etcd has no atomic add without a txn). Keys are "k<n>" as for our
 * peers. A connection that fails is reopened to the next target after
 * o->retry_delay_ms, and the request resent; a request silent for
 * o->request_timeout_ms counts a timeout and is resent the same way. Answers that are
 * not ok count as bad. id_prefix is not used. 0, or -1 with err when the run could not
 * be set up; r is released with load_result_free. */
int etcd_load_run(const struct load_options *o, struct load_result *r, char *err, size_t errlen);

#endif
