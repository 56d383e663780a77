/* etcd_client.c: see etcd_client.h. */
#include "bench/etcd_client.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/base64.h"
#include "common/buffer.h"
#include "common/net.h"

/* ---- requests ------------------------------------------------------------------- */

int etcd_encode_post(char *out, size_t outlen, const char *host, int port, const char *path,
                     const char *json)
{
    size_t body = strlen(json);
    int n = snprintf(out, outlen,
                     "POST %s HTTP/1.1\r\nHost: %s:%d\r\nContent-Type: application/json\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     path, host, port, body, json);
    return n < 0 || (size_t)n >= outlen ? -1 : n;
}

/* {"key":"<b64 key>"[,"value":"<b64 value>"]} into out. 0 or -1 (too long). */
static int key_json(char *out, size_t outlen, const char *key, const char *value)
{
    char k[256], v[256];
    size_t klen = strlen(key), vlen = value ? strlen(value) : 0;
    if (base64_encoded_len(klen) >= sizeof(k) || base64_encoded_len(vlen) >= sizeof(v))
        return -1;
    base64_encode((const uint8_t *)key, klen, k);
    int n;
    if (value) {
        base64_encode((const uint8_t *)value, vlen, v);
        n = snprintf(out, outlen, "{\"key\":\"%s\",\"value\":\"%s\"}", k, v);
    } else {
        n = snprintf(out, outlen, "{\"key\":\"%s\"}", k);
    }
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int etcd_encode_put(char *out, size_t outlen, const char *host, int port, const char *key,
                    const char *value)
{
    char json[600];
    if (key_json(json, sizeof(json), key, value) != 0)
        return -1;
    return etcd_encode_post(out, outlen, host, port, "/v3/kv/put", json);
}

int etcd_encode_range(char *out, size_t outlen, const char *host, int port, const char *key)
{
    char json[600];
    if (key_json(json, sizeof(json), key, NULL) != 0)
        return -1;
    return etcd_encode_post(out, outlen, host, port, "/v3/kv/range", json);
}

int etcd_encode_delete(char *out, size_t outlen, const char *host, int port, const char *key)
{
    char json[600];
    if (key_json(json, sizeof(json), key, NULL) != 0)
        return -1;
    return etcd_encode_post(out, outlen, host, port, "/v3/kv/deleterange", json);
}

/* ---- responses ------------------------------------------------------------------ */

#define PARSE_ERR(...)                                                                             \
    do {                                                                                           \
        snprintf(err, errlen, __VA_ARGS__);                                                        \
        return -1;                                                                                 \
    } while (0)

/* The value of a header line "Name: value" when its name is name, else NULL. */
static const char *header_value(const char *line, size_t len, const char *name, size_t *vlen)
{
    size_t nlen = strlen(name);
    if (len <= nlen || line[nlen] != ':' || strncasecmp(line, name, nlen) != 0)
        return NULL;
    const char *v = line + nlen + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *vlen = (size_t)(end - v);
    return v;
}

static bool has_token(const char *v, size_t vlen, const char *token)
{
    size_t tlen = strlen(token);
    for (size_t i = 0; i + tlen <= vlen; i++)
        if (!strncasecmp(v + i, token, tlen) && (i == 0 || v[i - 1] == ' ' || v[i - 1] == ',') &&
            (i + tlen == vlen || v[i + tlen] == ' ' || v[i + tlen] == ','))
            return true;
    return false;
}

/* Decodes a chunked body starting at p (end of input at end) into r->body. 1, 0 or -1
 * as etcd_http_parse; *used is set to the bytes taken when 1. */
static int parse_chunked(const char *p, const char *end, struct etcd_http *r, size_t *used,
                         char *err, size_t errlen)
{
    const char *start = p;
    r->body_len = 0;
    for (;;) {
        const char *eol = memmem(p, (size_t)(end - p), "\r\n", 2);
        if (!eol)
            return (size_t)(end - p) > 64 ? (snprintf(err, errlen, "bad chunk size line"), -1) : 0;
        char *hex_end;
        errno = 0;
        unsigned long size = strtoul(p, &hex_end, 16);
        if (hex_end == p || errno || (hex_end != eol && *hex_end != ';'))
            PARSE_ERR("bad chunk size line");
        if (size > ETCD_BODY_MAX - r->body_len)
            PARSE_ERR("an answer body longer than %d bytes", ETCD_BODY_MAX);
        p = eol + 2;
        if (size == 0) {
            /* Trailers (ignored) up to an empty line. */
            for (;;) {
                const char *t = memmem(p, (size_t)(end - p), "\r\n", 2);
                if (!t)
                    return 0;
                bool empty = t == p;
                p = t + 2;
                if (empty)
                    break;
            }
            r->body[r->body_len] = 0;
            *used = (size_t)(p - start);
            return 1;
        }
        if ((size_t)(end - p) < size + 2)
            return 0;
        if (p[size] != '\r' || p[size + 1] != '\n')
            PARSE_ERR("a chunk not followed by CRLF");
        memcpy(r->body + r->body_len, p, size);
        r->body_len += size;
        p += size + 2;
    }
}

int etcd_http_parse(const char *buf, size_t len, struct etcd_http *r, char *err, size_t errlen)
{
    const char *hdr_end = memmem(buf, len, "\r\n\r\n", 4);
    if (!hdr_end) {
        if (len > ETCD_HEADERS_MAX)
            PARSE_ERR("HTTP headers longer than %d bytes", ETCD_HEADERS_MAX);
        if (len >= 5 && memcmp(buf, "HTTP/", 5) != 0)
            PARSE_ERR("not an HTTP response");
        return 0;
    }
    if ((size_t)(hdr_end - buf) > ETCD_HEADERS_MAX)
        PARSE_ERR("HTTP headers longer than %d bytes", ETCD_HEADERS_MAX);
    int minor, status;
    char sp;
    if (sscanf(buf, "HTTP/1.%1d %3d%c", &minor, &status, &sp) != 3 || (sp != ' ' && sp != '\r') ||
        status < 100 || status > 599)
        PARSE_ERR("not an HTTP/1.x status line");
    r->status = status;
    r->close = minor == 0; /* HTTP/1.0 closes unless it says keep-alive */
    bool chunked = false;
    long long content_length = -1;
    /* The status line's end is at the latest the first CRLF of the blank line. */
    const char *line = (const char *)memchr(buf, '\n', (size_t)(hdr_end + 2 - buf)) + 1;
    while (line < hdr_end + 2) {
        const char *eol = memmem(line, (size_t)(hdr_end + 2 - line), "\r\n", 2);
        size_t llen = (size_t)(eol - line), vlen;
        const char *v;
        if ((v = header_value(line, llen, "Content-Length", &vlen))) {
            char num[24];
            char *num_end;
            if (vlen == 0 || vlen >= sizeof(num))
                PARSE_ERR("bad Content-Length");
            memcpy(num, v, vlen);
            num[vlen] = 0;
            errno = 0;
            long long cl = strtoll(num, &num_end, 10);
            if (errno || *num_end || cl < 0 || num[0] == '-' || num[0] == '+')
                PARSE_ERR("bad Content-Length");
            if (content_length >= 0 && cl != content_length)
                PARSE_ERR("two different Content-Length headers");
            content_length = cl;
        } else if ((v = header_value(line, llen, "Transfer-Encoding", &vlen))) {
            if (!has_token(v, vlen, "chunked"))
                PARSE_ERR("unsupported Transfer-Encoding '%.*s'", (int)vlen, v);
            chunked = true;
        } else if ((v = header_value(line, llen, "Connection", &vlen))) {
            if (has_token(v, vlen, "close"))
                r->close = true;
            else if (has_token(v, vlen, "keep-alive"))
                r->close = false;
        }
        line = eol + 2;
    }
    const char *body = hdr_end + 4;
    const char *end = buf + len;
    if (chunked) {
        size_t used;
        int rc = parse_chunked(body, end, r, &used, err, errlen);
        if (rc == 1)
            r->consumed = (size_t)(body - buf) + used;
        return rc;
    }
    if (status < 200 || status == 204 || status == 304)
        content_length = 0; /* no body by definition */
    if (content_length < 0)
        PARSE_ERR("an HTTP answer without Content-Length or chunked body");
    if (content_length > ETCD_BODY_MAX)
        PARSE_ERR("an answer body longer than %d bytes", ETCD_BODY_MAX);
    if ((size_t)(end - body) < (size_t)content_length)
        return 0;
    memcpy(r->body, body, (size_t)content_length);
    r->body_len = (size_t)content_length;
    r->body[r->body_len] = 0;
    r->consumed = (size_t)(body - buf) + (size_t)content_length;
    return 1;
}

/* An int64 the gateway writes as a string ("5"), or as a number. */
static bool get_int64(struct json_object *obj, const char *key, int64_t *out)
{
    struct json_object *v;
    if (!json_object_object_get_ex(obj, key, &v))
        return false;
    if (json_object_is_type(v, json_type_int)) {
        *out = json_object_get_int64(v);
        return true;
    }
    if (!json_object_is_type(v, json_type_string))
        return false;
    const char *s = json_object_get_string(v);
    char *end;
    errno = 0;
    long long x = strtoll(s, &end, 10);
    if (!*s || *end || errno)
        return false;
    *out = x;
    return true;
}

/* A uint64 written as a decimal string (member ids use all 64 bits). */
static bool get_uint64(struct json_object *obj, const char *key, uint64_t *out)
{
    struct json_object *v;
    if (!json_object_object_get_ex(obj, key, &v))
        return false;
    if (json_object_is_type(v, json_type_int)) {
        *out = json_object_get_uint64(v);
        return true;
    }
    if (!json_object_is_type(v, json_type_string))
        return false;
    const char *s = json_object_get_string(v);
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (!*s || *s == '-' || *end || errno)
        return false;
    *out = x;
    return true;
}

int etcd_answer_parse(int status, const char *body, size_t len, struct etcd_answer *a)
{
    memset(a, 0, sizeof(*a));
    a->code = -1;
    a->revision = -1;
    struct json_tokener *tok = json_tokener_new();
    if (!tok) {
        snprintf(a->error, sizeof(a->error), "out of memory");
        return -1;
    }
    struct json_object *root = json_tokener_parse_ex(tok, body, (int)len);
    bool complete = root && json_tokener_get_error(tok) == json_tokener_success &&
                    (size_t)json_tokener_get_parse_end(tok) == len;
    json_tokener_free(tok);
    int rc = -1;
    if (!complete || !json_object_is_type(root, json_type_object)) {
        snprintf(a->error, sizeof(a->error), "HTTP %d with a body that is not a JSON object: %.80s",
                 status, body);
        goto out;
    }
    struct json_object *v;
    int64_t n;
    if (json_object_object_get_ex(root, "code", &v) && json_object_is_type(v, json_type_int))
        a->code = json_object_get_int(v);
    if (status != 200 || json_object_object_get_ex(root, "error", &v)) {
        const char *msg = "";
        if ((json_object_object_get_ex(root, "message", &v) ||
             json_object_object_get_ex(root, "error", &v)) &&
            json_object_is_type(v, json_type_string))
            msg = json_object_get_string(v);
        snprintf(a->error, sizeof(a->error), "HTTP %d code %d: %s", status, a->code, msg);
        rc = 0;
        goto out;
    }
    struct json_object *header;
    if (!json_object_object_get_ex(root, "header", &header) ||
        !json_object_is_type(header, json_type_object)) {
        snprintf(a->error, sizeof(a->error), "an answer without a header: %.80s", body);
        goto out;
    }
    if (get_int64(header, "revision", &n))
        a->revision = n;
    get_uint64(header, "member_id", &a->member_id);
    get_uint64(root, "leader", &a->leader);
    if (get_int64(root, "count", &n))
        a->count = n;
    struct json_object *kvs;
    if (json_object_object_get_ex(root, "kvs", &kvs) && json_object_is_type(kvs, json_type_array) &&
        json_object_array_length(kvs) > 0) {
        struct json_object *kv = json_object_array_get_idx(kvs, 0);
        if (json_object_object_get_ex(kv, "value", &v) &&
            json_object_is_type(v, json_type_string)) {
            const char *b64 = json_object_get_string(v);
            size_t blen = strlen(b64);
            uint8_t *raw = malloc(blen / 4 * 3 + 1);
            long got = raw ? base64_decode(b64, blen, raw) : -1;
            if (got < 0) {
                free(raw);
                snprintf(a->error, sizeof(a->error), "a value that is not base64: %.80s", b64);
                goto out;
            }
            a->has_value = true;
            a->value_len = (size_t)got < sizeof(a->value) - 1 ? (size_t)got : sizeof(a->value) - 1;
            memcpy(a->value, raw, a->value_len);
            a->value[a->value_len] = 0;
            free(raw);
        }
    }
    a->ok = true;
    rc = 0;
out:
    json_object_put(root);
    return rc;
}

int etcd_call(const char *host, int port, const char *path, const char *json, int timeout_ms,
              struct etcd_answer *a, char *err, size_t errlen)
{
    char req[ETCD_REQUEST_MAX];
    int len = etcd_encode_post(req, sizeof(req), host, port, path, json);
    if (len < 0)
        PARSE_ERR("request too long");
    int fd = tcp_connect_timeout(err, errlen, host, port, timeout_ms);
    if (fd < 0)
        return -1;
    struct etcd_http *http = malloc(sizeof(*http));
    struct buffer in;
    buffer_init(&in);
    int rc = -1;
    if (!http || set_io_timeout(err, errlen, fd, timeout_ms) != 0)
        goto out;
    if (write(fd, req, (size_t)len) != len) {
        snprintf(err, errlen, "%s:%d: cannot send: %s", host, port, strerror(errno));
        goto out;
    }
    for (;;) {
        if (buffer_reserve(&in, 4096) != 0) {
            snprintf(err, errlen, "out of memory");
            goto out;
        }
        ssize_t n = read(fd, buffer_tail(&in), buffer_space(&in));
        if (n <= 0) {
            snprintf(err, errlen, "%s:%d: %s", host, port,
                     n == 0 ? "closed before answering" : strerror(errno));
            goto out;
        }
        buffer_commit(&in, (size_t)n);
        int p = etcd_http_parse(buffer_peek(&in), buffer_len(&in), http, err, errlen);
        if (p < 0)
            goto out;
        if (p == 1)
            break;
    }
    if (etcd_answer_parse(http->status, http->body, http->body_len, a) != 0) {
        snprintf(err, errlen, "%s", a->error);
        goto out;
    }
    rc = 0;
out:
    free(http);
    buffer_free(&in);
    close(fd);
    return rc;
}

/* ---- the load loop -------------------------------------------------------------- */

enum eclient_state {
    E_IDLE,       /* nothing on the wire; send when deadline_us passes */
    E_CONNECTING, /* connect in progress; the request follows once it completes */
    E_WAITING,    /* request (partly) written, answer awaited */
};

struct eclient {
    int fd;
    uint32_t gen; /* bumped per connection, so an event for a closed fd is recognised */
    enum eclient_state st;
    int target;
    uint64_t writes; /* puts sent, for the values */
    enum mix_op op;  /* of the current command */
    char key[32];    /* of the current command */
    char value[32];  /* of the current put */
    char req[ETCD_REQUEST_MAX];
    size_t req_len; /* encoded for the current target */
    size_t req_sent;
    bool is_write;
    uint64_t started_us;  /* first attempt of the current command */
    uint64_t deadline_us; /* idle: send then; otherwise: give up then */
    struct buffer in;
};

struct eengine {
    const struct load_options *o;
    struct load_result *r;
    int ep;
    struct eclient *cl;
    struct etcd_http *http; /* one parse buffer for every client: answers are handled one by one */
    uint64_t win_start, win_end;
    uint64_t rng;
};

static uint64_t ekey(int client, uint32_t gen)
{
    return ((uint64_t)(uint32_t)client << 32) | gen;
}

static void enote_bad(struct eengine *e, const char *what)
{
    if (!e->r->first_bad[0])
        snprintf(e->r->first_bad, sizeof(e->r->first_bad), "%s", what);
}

static void edrop(struct eengine *e, struct eclient *c)
{
    if (c->fd >= 0) {
        epoll_ctl(e->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
    }
    c->fd = -1;
    c->gen++;
    buffer_clear(&c->in);
}

/* The request for the current command, addressed to the client's target. */
static void eencode(struct eengine *e, struct eclient *c)
{
    const struct load_target *t = &e->o->targets[c->target];
    int n;
    if (c->op == MIX_GET)
        n = etcd_encode_range(c->req, sizeof(c->req), t->host, t->port, c->key);
    else if (c->op == MIX_DEL)
        n = etcd_encode_delete(c->req, sizeof(c->req), t->host, t->port, c->key);
    else
        n = etcd_encode_put(c->req, sizeof(c->req), t->host, t->port, c->key, c->value);
    c->req_len = n > 0 ? (size_t)n : 0;
}

/* The connection failed (refused, reset, closed, silent): the next target, after a pause. */
static void efail(struct eengine *e, struct eclient *c, uint64_t now)
{
    edrop(e, c);
    c->target = (c->target + 1) % e->o->n_targets;
    eencode(e, c);
    c->st = E_IDLE;
    c->deadline_us = now + (uint64_t)e->o->retry_delay_ms * 1000u;
}

static void eset_events(struct eengine *e, struct eclient *c, uint32_t events)
{
    struct epoll_event ev = {.events = events, .data.u64 = ekey((int)(c - e->cl), c->gen)};
    epoll_ctl(e->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static void eflush(struct eengine *e, struct eclient *c, uint64_t now)
{
    while (c->req_sent < c->req_len) {
        ssize_t n = write(c->fd, c->req + c->req_sent, c->req_len - c->req_sent);
        if (n > 0) {
            c->req_sent += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            eset_events(e, c, EPOLLIN | EPOLLOUT);
            return;
        }
        e->r->conn_lost++;
        efail(e, c, now);
        return;
    }
    eset_events(e, c, EPOLLIN);
}

static void esend(struct eengine *e, struct eclient *c, uint64_t now)
{
    c->req_sent = 0;
    c->deadline_us = now + (uint64_t)e->o->request_timeout_ms * 1000u;
    if (c->fd >= 0) {
        c->st = E_WAITING;
        eflush(e, c, now);
        return;
    }
    const struct load_target *t = &e->o->targets[c->target];
    char err[160];
    c->fd = tcp_connect_nonblock(err, sizeof(err), t->host, t->port);
    if (c->fd < 0) {
        e->r->conn_lost++;
        efail(e, c, now);
        return;
    }
    c->gen++;
    struct epoll_event ev = {.events = EPOLLOUT, .data.u64 = ekey((int)(c - e->cl), c->gen)};
    if (epoll_ctl(e->ep, EPOLL_CTL_ADD, c->fd, &ev) != 0) {
        e->r->conn_lost++;
        efail(e, c, now);
        return;
    }
    c->st = E_CONNECTING;
}

static void enew_command(struct eengine *e, struct eclient *c, uint64_t now)
{
    char cmd[64];
    c->op = mix_draw(e->o->mix, &e->rng, e->o->keys, cmd, sizeof(cmd), &c->is_write);
    /* The command starts with the key, "k<n> ...": the same keys as our peers get. */
    size_t klen = strcspn(cmd, " ");
    if (klen >= sizeof(c->key))
        klen = sizeof(c->key) - 1;
    memcpy(c->key, cmd, klen);
    c->key[klen] = 0;
    if (c->is_write && c->op != MIX_DEL)
        snprintf(c->value, sizeof(c->value), "%llu", (unsigned long long)++c->writes);
    eencode(e, c);
    c->started_us = now;
    esend(e, c, now);
}

static void erecord(struct eengine *e, struct eclient *c, const struct etcd_answer *a, uint64_t now)
{
    if (a->ok && e->o->probe) {
        atomic_store(&e->o->probe->last_ok, (now << 8) | (uint64_t)c->target);
        atomic_fetch_add(&e->o->probe->ok_count, 1);
    }
    if (!a->ok)
        enote_bad(e, a->error);
    if (c->started_us < e->win_start || now > e->win_end)
        return;
    struct load_result *r = e->r;
    r->ops++;
    if (a->ok)
        r->ok++;
    else
        r->bad++;
    uint64_t us = now - c->started_us;
    latency_add(&r->all, us);
    latency_add(c->is_write ? &r->writes : &r->reads, us);
}

static void ereadable(struct eengine *e, struct eclient *c)
{
    uint64_t now;
    bool eof = false; /* the server closed: what it sent before still counts */
    for (;;) {
        if (buffer_reserve(&c->in, 4096) != 0) {
            efail(e, c, bench_now_us());
            return;
        }
        ssize_t n = read(c->fd, buffer_tail(&c->in), buffer_space(&c->in));
        if (n > 0) {
            buffer_commit(&c->in, (size_t)n);
            if (buffer_len(&c->in) > ETCD_HEADERS_MAX + ETCD_BODY_MAX)
                break;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n == 0) {
            eof = true;
            break;
        }
        e->r->conn_lost++; /* reset */
        efail(e, c, bench_now_us());
        return;
    }
    char err[200];
    int p = buffer_len(&c->in) ? etcd_http_parse(buffer_peek(&c->in), buffer_len(&c->in), e->http,
                                                 err, sizeof(err))
                               : 0;
    now = bench_now_us();
    if (p == 0) {
        if (eof) { /* closed before a whole answer: the request is resent */
            e->r->conn_lost++;
            efail(e, c, now);
        }
        return;
    }
    if (p < 0 || c->st != E_WAITING || e->http->consumed != buffer_len(&c->in)) {
        /* One request outstanding means one answer: anything else is a protocol error. */
        enote_bad(e, p < 0 ? err : "an unexpected answer or extra bytes from etcd");
        e->r->bad++;
        efail(e, c, now);
        return;
    }
    buffer_clear(&c->in);
    struct etcd_answer a;
    if (etcd_answer_parse(e->http->status, e->http->body, e->http->body_len, &a) != 0)
        a.ok = false; /* a.error says why; counted as bad */
    erecord(e, c, &a, now);
    if (e->http->close || eof)
        edrop(e, c); /* the next command opens a new connection */
    enew_command(e, c, now);
}

static void eon_event(struct eengine *e, struct eclient *c, uint32_t events)
{
    uint64_t now = bench_now_us();
    if (c->st == E_CONNECTING) {
        char err[160];
        if (!(events & (EPOLLOUT | EPOLLERR | EPOLLHUP)))
            return;
        if (tcp_connect_finish(err, sizeof(err), c->fd) != 0) {
            e->r->conn_lost++;
            efail(e, c, now);
            return;
        }
        set_nodelay(err, sizeof(err), c->fd);
        c->st = E_WAITING;
        eflush(e, c, now);
        return;
    }
    if (c->st == E_IDLE) {
        ereadable(e, c); /* idle but connected: only a hang-up can come */
        return;
    }
    if ((events & EPOLLOUT) && c->req_sent < c->req_len) {
        eflush(e, c, now);
        if (c->st != E_WAITING)
            return;
    }
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        ereadable(e, c);
}

static int edeadlines(struct eengine *e, uint64_t now)
{
    uint64_t next = now + 100000u;
    for (int i = 0; i < e->o->clients; i++) {
        struct eclient *c = &e->cl[i];
        if (now >= c->deadline_us) {
            if (c->st == E_IDLE) {
                esend(e, c, now);
            } else {
                e->r->timeouts++;
                efail(e, c, now);
            }
        }
        if (c->deadline_us < next)
            next = c->deadline_us;
    }
    if (e->win_end < next)
        next = e->win_end;
    if (next <= now)
        return 0;
    return (int)((next - now + 999) / 1000);
}

int etcd_load_run(const struct load_options *o, struct load_result *r, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    latency_init(&r->all);
    latency_init(&r->writes);
    latency_init(&r->reads);
    if (o->n_targets < 1 || o->n_targets > LOAD_MAX_TARGETS || o->first_target < 0 ||
        o->first_target >= o->n_targets || o->clients < 1 || o->clients > LOAD_MAX_CLIENTS ||
        !o->mix || o->keys == 0 || o->request_timeout_ms < 1 || o->retry_delay_ms < 0 ||
        (o->duration_us == 0 && !o->probe)) {
        snprintf(err, errlen, "bad load options");
        return -1;
    }
    struct eengine e = {.o = o, .r = r, .rng = o->seed ^ 0x5bd1e995u};
    int rc = -1;
    e.ep = epoll_create1(EPOLL_CLOEXEC);
    e.cl = calloc((size_t)o->clients, sizeof(*e.cl));
    e.http = malloc(sizeof(*e.http));
    if (e.ep < 0 || !e.cl || !e.http) {
        snprintf(err, errlen, "cannot set up the load loop: %s", strerror(errno));
        goto out;
    }
    uint64_t start = bench_now_us();
    e.win_start = start + o->warmup_us;
    e.win_end = o->duration_us ? e.win_start + o->duration_us : UINT64_MAX;
    for (int i = 0; i < o->clients; i++) {
        struct eclient *c = &e.cl[i];
        c->fd = -1;
        c->target = o->first_target;
        buffer_init(&c->in);
        enew_command(&e, c, start);
    }
    struct epoll_event evs[256];
    for (;;) {
        uint64_t now = bench_now_us();
        if (now >= e.win_end || (o->probe && atomic_load(&o->probe->stop)))
            break;
        int wait_ms = edeadlines(&e, now);
        int n = epoll_wait(e.ep, evs, 256, wait_ms);
        if (n < 0 && errno != EINTR) {
            snprintf(err, errlen, "epoll_wait: %s", strerror(errno));
            goto out;
        }
        for (int i = 0; i < n; i++) {
            uint64_t key = evs[i].data.u64;
            int idx = (int)(key >> 32);
            if (idx < 0 || idx >= o->clients || e.cl[idx].gen != (uint32_t)key || e.cl[idx].fd < 0)
                continue; /* stale: that connection was closed earlier in this batch */
            eon_event(&e, &e.cl[idx], evs[i].events);
        }
    }
    uint64_t end = bench_now_us();
    r->window_us = end > e.win_start ? end - e.win_start : 0;
    if (o->duration_us && r->window_us > o->duration_us)
        r->window_us = o->duration_us;
    rc = 0;
out:
    if (e.cl) {
        for (int i = 0; i < o->clients; i++) {
            edrop(&e, &e.cl[i]);
            buffer_free(&e.cl[i].in);
        }
        free(e.cl);
    }
    free(e.http);
    if (e.ep >= 0)
        close(e.ep);
    if (rc != 0)
        load_result_free(r);
    return rc;
}
