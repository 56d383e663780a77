/* test_etcd_client.c: raft_bench's etcd client without etcd: the HTTP/JSON requests it
 * writes, the answers it reads (whole, cut anywhere, chunked, errors), and its load loop
 * against a fake etcd gateway on loopback that keeps connections open, closes them, or
 * answers errors. Linked with bench's library (see the Makefile). */
#include <criterion/criterion.h>

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bench/etcd_client.h"
#include "bench/load.h"
#include "bench/mix.h"
#include "bench/options.h"
#include "common/base64.h"
#include "common/net.h"

/* ---- requests ------------------------------------------------------------------- */

static void expect_request(const char *got, int len, const char *path, const char *body)
{
    char want[1024];
    snprintf(want, sizeof(want),
             "POST %s HTTP/1.1\r\nHost: 127.0.0.1:2379\r\nContent-Type: application/json\r\n"
             "Content-Length: %zu\r\n\r\n%s",
             path, strlen(body), body);
    cr_assert_eq(len, (int)strlen(want), "length %d, want %zu:\n%s", len, strlen(want), got);
    cr_assert_str_eq(got, want);
}

Test(etcd_encode, put_range_and_delete_are_base64_json_posts)
{
    char out[ETCD_REQUEST_MAX];
    int len = etcd_encode_put(out, sizeof(out), "127.0.0.1", 2379, "k1", "1");
    /* base64("k1") = "azE=", base64("1") = "MQ==" */
    expect_request(out, len, "/v3/kv/put", "{\"key\":\"azE=\",\"value\":\"MQ==\"}");
    len = etcd_encode_range(out, sizeof(out), "127.0.0.1", 2379, "k123");
    expect_request(out, len, "/v3/kv/range", "{\"key\":\"azEyMw==\"}");
    len = etcd_encode_delete(out, sizeof(out), "127.0.0.1", 2379, "k12");
    expect_request(out, len, "/v3/kv/deleterange", "{\"key\":\"azEy\"}");
    len = etcd_encode_put(out, sizeof(out), "127.0.0.1", 2379, "k1", "");
    expect_request(out, len, "/v3/kv/put", "{\"key\":\"azE=\",\"value\":\"\"}");
}

Test(etcd_encode, refuses_what_does_not_fit)
{
    char small[40];
    cr_assert_eq(etcd_encode_put(small, sizeof(small), "127.0.0.1", 2379, "k1", "1"), -1);
    char out[ETCD_REQUEST_MAX], key[400];
    memset(key, 'k', sizeof(key) - 1);
    key[sizeof(key) - 1] = 0;
    cr_assert_eq(etcd_encode_range(out, sizeof(out), "127.0.0.1", 2379, key), -1);
}

/* ---- HTTP responses ------------------------------------------------------------- */

#define PUT_BODY                                                                                   \
    "{\"header\":{\"cluster_id\":\"15118495548433857066\",\"member_id\":"                          \
    "\"13668033151171901709\",\"revision\":\"42\",\"raft_term\":\"2\"}}"

static const char ok_put[] = "HTTP/1.1 200 OK\r\n"
                             "Content-Type: application/json\r\n"
                             "Grpc-Metadata-Content-Type: application/grpc\r\n"
                             "content-length: 115\r\n"
                             "\r\n" PUT_BODY;

static struct etcd_http http; /* 64 KiB: not for the stack */

Test(etcd_http, a_whole_answer_and_every_prefix)
{
    char err[200];
    size_t len = strlen(ok_put);
    cr_assert_eq(strlen(PUT_BODY), 115);
    cr_assert_eq(etcd_http_parse(ok_put, len, &http, err, sizeof(err)), 1, "%s", err);
    cr_assert_eq(http.status, 200);
    cr_assert_not(http.close);
    cr_assert_eq(http.consumed, len);
    cr_assert_eq(http.body_len, 115);
    cr_assert_str_eq(http.body, PUT_BODY);
    for (size_t cut = 0; cut < len; cut++)
        cr_assert_eq(etcd_http_parse(ok_put, cut, &http, err, sizeof(err)), 0, "cut at %zu", cut);
    /* A second answer behind the first is not taken. */
    char two[1024];
    snprintf(two, sizeof(two), "%s%s", ok_put, ok_put);
    cr_assert_eq(etcd_http_parse(two, strlen(two), &http, err, sizeof(err)), 1);
    cr_assert_eq(http.consumed, len);
}

Test(etcd_http, chunked_bodies_are_joined)
{
    static const char chunked[] = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                  "5\r\n{\"hea\r\n"
                                  "16;ext=1\r\nder\":{\"revision\":\"7\"}}\r\n"
                                  "0\r\n\r\n";
    char err[200];
    size_t len = strlen(chunked);
    cr_assert_eq(etcd_http_parse(chunked, len, &http, err, sizeof(err)), 1, "%s", err);
    cr_assert_str_eq(http.body, "{\"header\":{\"revision\":\"7\"}}");
    cr_assert_eq(http.consumed, len);
    for (size_t cut = 0; cut < len; cut++)
        cr_assert_eq(etcd_http_parse(chunked, cut, &http, err, sizeof(err)), 0, "cut at %zu", cut);
}

Test(etcd_http, connection_close_and_http_1_0)
{
    char err[200];
    static const char closing[] = "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
                                  "Content-Length: 2\r\n\r\n{}";
    cr_assert_eq(etcd_http_parse(closing, strlen(closing), &http, err, sizeof(err)), 1);
    cr_assert_eq(http.status, 503);
    cr_assert(http.close);
    static const char old[] = "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\n{}";
    cr_assert_eq(etcd_http_parse(old, strlen(old), &http, err, sizeof(err)), 1);
    cr_assert(http.close);
    static const char old_kept[] =
        "HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 2\r\n\r\n{}";
    cr_assert_eq(etcd_http_parse(old_kept, strlen(old_kept), &http, err, sizeof(err)), 1);
    cr_assert_not(http.close);
    static const char empty[] = "HTTP/1.1 204 No Content\r\n\r\n";
    cr_assert_eq(etcd_http_parse(empty, strlen(empty), &http, err, sizeof(err)), 1);
    cr_assert_eq(http.body_len, 0);
}

Test(etcd_http, refuses_malformed_answers)
{
    static const char *const bad[] = {
        "SMTP 220 hello\r\n\r\n",
        "HTTP/1.1 200 OK\r\n\r\n{}", /* no length */
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}",
        "HTTP/1.1 200 OK\r\nContent-Length: 99999999\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}XX0\r\n\r\n",
        "HTTP/1.1 999 Nope\r\nContent-Length: 0\r\n\r\n",
    };
    char err[200];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        cr_assert_eq(etcd_http_parse(bad[i], strlen(bad[i]), &http, err, sizeof(err)), -1,
                     "accepted case %zu", i);
    /* Endless headers are refused once longer than the limit. */
    static char endless[ETCD_HEADERS_MAX + 100];
    memset(endless, 'x', sizeof(endless) - 1);
    memcpy(endless, "HTTP/1.1 200 OK\r\n", 17);
    cr_assert_eq(etcd_http_parse(endless, strlen(endless), &http, err, sizeof(err)), -1);
}

/* ---- answers -------------------------------------------------------------------- */

Test(etcd_answer, put_range_status_and_errors)
{
    struct etcd_answer a;
    cr_assert_eq(etcd_answer_parse(200, PUT_BODY, strlen(PUT_BODY), &a), 0, "%s", a.error);
    cr_assert(a.ok);
    cr_assert_eq(a.revision, 42);
    cr_assert_eq(a.member_id, 13668033151171901709ull);
    cr_assert_not(a.has_value);

    static const char range[] =
        "{\"header\":{\"revision\":\"2\"},\"kvs\":[{\"key\":\"azE=\",\"create_revision\":\"2\","
        "\"mod_revision\":\"2\",\"version\":\"1\",\"value\":\"MTIz\"}],\"count\":\"1\"}";
    cr_assert_eq(etcd_answer_parse(200, range, strlen(range), &a), 0, "%s", a.error);
    cr_assert(a.ok);
    cr_assert_eq(a.count, 1);
    cr_assert(a.has_value);
    cr_assert_str_eq(a.value, "123");
    cr_assert_eq(a.value_len, 3);

    static const char missing[] = "{\"header\":{\"revision\":\"2\"}}"; /* no such key */
    cr_assert_eq(etcd_answer_parse(200, missing, strlen(missing), &a), 0);
    cr_assert(a.ok);
    cr_assert_eq(a.count, 0);
    cr_assert_not(a.has_value);

    static const char status[] = "{\"header\":{\"member_id\":\"5\"},\"version\":\"3.4.23\","
                                 "\"leader\":\"18446744073709551615\",\"raftTerm\":\"2\"}";
    cr_assert_eq(etcd_answer_parse(200, status, strlen(status), &a), 0);
    cr_assert_eq(a.member_id, 5);
    cr_assert_eq(a.leader, 18446744073709551615ull);

    static const char error[] = "{\"error\":\"etcdserver: request timed out\","
                                "\"message\":\"etcdserver: request timed out\",\"code\":14}";
    cr_assert_eq(etcd_answer_parse(503, error, strlen(error), &a), 0);
    cr_assert_not(a.ok);
    cr_assert_eq(a.code, 14);
    cr_assert(strstr(a.error, "request timed out"), "%s", a.error);
    cr_assert(strstr(a.error, "503"), "%s", a.error);
}

Test(etcd_answer, refuses_what_is_not_an_etcd_answer)
{
    static const char *const bad[] = {
        "",
        "not json",
        "[1,2]",
        "{\"kvs\":[]}",             /* no header */
        "{\"header\":{}} trailing", /* more than one value */
        "{\"header\":{},\"kvs\":[{\"value\":\"%%%\"}]}",
    };
    struct etcd_answer a;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cr_assert_eq(etcd_answer_parse(200, bad[i], strlen(bad[i]), &a), -1, "accepted %zu", i);
        cr_assert_not(a.ok);
        cr_assert(a.error[0]);
    }
    /* Not JSON with an error status: not an answer either. */
    cr_assert_eq(etcd_answer_parse(502, "Bad Gateway", 11, &a), -1);
}

/* ---- the load loop against a fake gateway --------------------------------------- */

enum fake_kind {
    FAKE_KEEP,    /* answers every request on the same connection */
    FAKE_CLOSE,   /* says Connection: close and closes after every 3rd answer */
    FAKE_CHUNKED, /* answers with chunked bodies */
    FAKE_ERROR,   /* answers every range with HTTP 503 and a gRPC error */
};

#define FAKE_CONNS 64
struct fake {
    enum fake_kind kind;
    int lfd, port;
    int stop_pipe[2];
    pthread_t thread;
    _Atomic unsigned accepted;
    _Atomic unsigned puts, ranges, deletes;
    _Atomic unsigned malformed; /* requests the fake could not read as the bench's */
    char first_malformed[256];
};

/* Checks one request: the path, the JSON body, a key "k<n>" in base64. */
static int check_request(struct fake *f, const char *req, size_t hdr_len, const char *body,
                         size_t body_len)
{
    int kind = -1;
    if (!strncmp(req, "POST /v3/kv/put HTTP/1.1\r\n", 26))
        kind = 0;
    else if (!strncmp(req, "POST /v3/kv/range HTTP/1.1\r\n", 28))
        kind = 1;
    else if (!strncmp(req, "POST /v3/kv/deleterange HTTP/1.1\r\n", 34))
        kind = 2;
    bool host = memmem(req, hdr_len, "\r\nHost: 127.0.0.1:", 18) != NULL;
    struct json_object *j = json_tokener_parse(body);
    struct json_object *k = NULL, *v = NULL;
    bool good = kind >= 0 && host && j && json_object_object_get_ex(j, "key", &k) &&
                json_object_is_type(k, json_type_string) &&
                (kind != 0) == !json_object_object_get_ex(j, "value", &v);
    if (good) {
        const char *b64 = json_object_get_string(k);
        uint8_t raw[64];
        long n = strlen(b64) < 80 ? base64_decode(b64, strlen(b64), raw) : -1;
        unsigned num;
        char rest;
        raw[n > 0 && n < 63 ? n : 0] = 0;
        good = n > 1 && sscanf((char *)raw, "k%u%c", &num, &rest) == 1 && num < 10;
    }
    json_object_put(j);
    if (!good) {
        if (atomic_fetch_add(&f->malformed, 1) == 0)
            snprintf(f->first_malformed, sizeof(f->first_malformed), "%.*s", (int)body_len, body);
        return -1;
    }
    return kind;
}

static void fake_answer(struct fake *f, int fd, int kind, unsigned nth, bool *close_after)
{
    char resp[1024];
    const char *body = kind == 1 ? "{\"header\":{\"revision\":\"3\"},\"kvs\":[{\"key\":\"azE=\","
                                   "\"value\":\"MQ==\"}],\"count\":\"1\"}"
                                 : "{\"header\":{\"revision\":\"3\"}}";
    int status = 200;
    if (f->kind == FAKE_ERROR && kind == 1) {
        status = 503;
        body = "{\"error\":\"etcdserver: leader changed\",\"message\":\"etcdserver: leader "
               "changed\",\"code\":14}";
    }
    *close_after = f->kind == FAKE_CLOSE && nth % 3 == 0;
    int len;
    if (f->kind == FAKE_CHUNKED) {
        size_t half = strlen(body) / 2;
        len = snprintf(resp, sizeof(resp),
                       "HTTP/1.1 %d X\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n%.*s\r\n%zx\r\n%s"
                       "\r\n0\r\n\r\n",
                       status, half, (int)half, body, strlen(body) - half, body + half);
    } else {
        len = snprintf(resp, sizeof(resp), "HTTP/1.1 %d X\r\n%sContent-Length: %zu\r\n\r\n%s",
                       status, *close_after ? "Connection: close\r\n" : "", strlen(body), body);
    }
    if (write(fd, resp, (size_t)len) != len)
        *close_after = true;
}

static void *fake_main(void *arg)
{
    struct fake *f = arg;
    struct pollfd pfd[FAKE_CONNS + 2];
    static __thread char in[FAKE_CONNS + 2][4096];
    size_t used[FAKE_CONNS + 2] = {0};
    unsigned answers = 0;
    int n = 2;
    pfd[0] = (struct pollfd){.fd = f->lfd, .events = POLLIN};
    pfd[1] = (struct pollfd){.fd = f->stop_pipe[0], .events = POLLIN};
    char err[128];
    for (;;) {
        if (poll(pfd, (nfds_t)n, 1000) < 0)
            break;
        if (pfd[1].revents)
            break;
        if (pfd[0].revents & POLLIN) {
            int fd = tcp_accept(err, sizeof(err), f->lfd, NULL, 0, NULL);
            if (fd >= 0) {
                int slot = 2;
                while (slot < n && pfd[slot].fd >= 0)
                    slot++;
                if (slot == FAKE_CONNS + 2) {
                    close(fd);
                } else {
                    set_nonblock(err, sizeof(err), fd, false);
                    atomic_fetch_add(&f->accepted, 1);
                    pfd[slot] = (struct pollfd){.fd = fd, .events = POLLIN};
                    used[slot] = 0;
                    if (slot == n)
                        n++;
                }
            }
        }
        for (int i = 2; i < n; i++) {
            if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t got = read(pfd[i].fd, in[i] + used[i], sizeof(in[i]) - 1 - used[i]);
            if (got <= 0) {
                close(pfd[i].fd);
                pfd[i].fd = -1;
                continue;
            }
            used[i] += (size_t)got;
            in[i][used[i]] = 0;
            /* Whole requests only: headers, then Content-Length bytes of body. */
            for (;;) {
                char *end = strstr(in[i], "\r\n\r\n");
                char *cl = strcasestr(in[i], "\r\nContent-Length: ");
                if (!end || !cl || cl > end)
                    break;
                size_t body_len = strtoul(cl + 18, NULL, 10);
                size_t hdr_len = (size_t)(end + 4 - in[i]);
                if (used[i] < hdr_len + body_len)
                    break;
                char body[1024];
                snprintf(body, sizeof(body), "%.*s", (int)body_len, end + 4);
                int kind = check_request(f, in[i], hdr_len, body, body_len);
                atomic_fetch_add(kind == 0 ? &f->puts : kind == 1 ? &f->ranges : &f->deletes, 1);
                bool close_after = false;
                fake_answer(f, pfd[i].fd, kind, ++answers, &close_after);
                memmove(in[i], in[i] + hdr_len + body_len, used[i] - hdr_len - body_len + 1);
                used[i] -= hdr_len + body_len;
                if (close_after) {
                    close(pfd[i].fd);
                    pfd[i].fd = -1;
                    break;
                }
            }
        }
    }
    for (int i = 2; i < n; i++)
        if (pfd[i].fd >= 0)
            close(pfd[i].fd);
    return NULL;
}

static void fake_start(struct fake *f, enum fake_kind kind)
{
    char err[128];
    signal(SIGPIPE, SIG_IGN);
    memset(f, 0, sizeof(*f));
    f->kind = kind;
    f->lfd = tcp_listen(err, sizeof(err), "127.0.0.1", 0, 64);
    cr_assert_geq(f->lfd, 0, "%s", err);
    f->port = tcp_local_port(err, sizeof(err), f->lfd);
    cr_assert_eq(pipe(f->stop_pipe), 0);
    cr_assert_eq(pthread_create(&f->thread, NULL, fake_main, f), 0);
}

static void fake_stop(struct fake *f)
{
    cr_assert_eq(write(f->stop_pipe[1], "x", 1), 1);
    pthread_join(f->thread, NULL);
    close(f->lfd);
    close(f->stop_pipe[0]);
    close(f->stop_pipe[1]);
}

/* A run of clients against the fake for a fixed window (short: the fake answers in
 * microseconds, so even a descheduled run sees many answers). */
static void run_against(struct fake *f, int clients, const char *mixspec, struct load_result *r)
{
    struct load_target t = {.name = "m1", .host = "127.0.0.1", .port = f->port};
    struct mix m;
    char err[256];
    cr_assert_eq(mix_parse(mixspec, &m, err, sizeof(err)), 0, "%s", err);
    struct load_options o = {
        .targets = &t,
        .n_targets = 1,
        .clients = clients,
        .duration_us = 400000,
        .mix = &m,
        .keys = 10,
        .seed = 7,
        .request_timeout_ms = 5000,
        .retry_delay_ms = 1,
        .id_prefix = "",
    };
    cr_assert_eq(etcd_load_run(&o, r, err, sizeof(err)), 0, "%s", err);
}

Test(etcd_load, keeps_one_connection_per_client)
{
    struct fake f;
    fake_start(&f, FAKE_KEEP);
    struct load_result r;
    run_against(&f, 4, "add=90,get=5,del=5", &r);
    fake_stop(&f);
    cr_assert_eq(atomic_load(&f.malformed), 0, "malformed request: %s", f.first_malformed);
    cr_assert_gt(r.ops, 10, "only %llu commands", (unsigned long long)r.ops);
    cr_assert_eq(r.bad, 0, "%s", r.first_bad);
    cr_assert_eq(r.ok, r.ops);
    cr_assert_eq(r.conn_lost, 0);
    cr_assert_eq(r.timeouts, 0);
    cr_assert_eq(atomic_load(&f.accepted), 4, "keep-alive: one connection per client");
    cr_assert_gt(atomic_load(&f.puts), 0);
    cr_assert_gt(atomic_load(&f.ranges), 0);
    cr_assert_gt(atomic_load(&f.deletes), 0);
    cr_assert_eq(r.writes.n + r.reads.n, r.ops);
    load_result_free(&r);
}

Test(etcd_load, reconnects_when_the_server_closes)
{
    struct fake f;
    fake_start(&f, FAKE_CLOSE);
    struct load_result r;
    run_against(&f, 2, "add=1", &r);
    fake_stop(&f);
    cr_assert_eq(atomic_load(&f.malformed), 0, "malformed request: %s", f.first_malformed);
    cr_assert_gt(r.ops, 10);
    cr_assert_eq(r.bad, 0, "%s", r.first_bad);
    cr_assert_gt(atomic_load(&f.accepted), 2, "a closed connection is reopened");
    /* The answer before the close is taken, not lost with the connection. */
    cr_assert_eq(r.conn_lost, 0);
    cr_assert_eq(r.timeouts, 0);
    load_result_free(&r);
}

Test(etcd_load, reads_chunked_answers)
{
    struct fake f;
    fake_start(&f, FAKE_CHUNKED);
    struct load_result r;
    run_against(&f, 3, "set=1,get=1", &r);
    fake_stop(&f);
    cr_assert_eq(atomic_load(&f.malformed), 0, "malformed request: %s", f.first_malformed);
    cr_assert_gt(r.ops, 10);
    cr_assert_eq(r.bad, 0, "%s", r.first_bad);
    cr_assert_eq(atomic_load(&f.accepted), 3);
    load_result_free(&r);
}

Test(etcd_load, counts_error_answers_as_bad)
{
    struct fake f;
    fake_start(&f, FAKE_ERROR);
    struct load_result r;
    run_against(&f, 2, "add=1,get=1", &r);
    fake_stop(&f);
    cr_assert_gt(r.ops, 10);
    cr_assert_gt(r.bad, 0);
    cr_assert_gt(r.ok, 0, "puts still succeed");
    cr_assert_eq(r.ok + r.bad, r.ops);
    cr_assert(strstr(r.first_bad, "leader changed"), "%s", r.first_bad);
    cr_assert_eq(atomic_load(&f.accepted), 2, "an error answer keeps the connection");
    load_result_free(&r);
}

Test(etcd_load, nobody_listening_is_counted_not_fatal)
{
    char err[128];
    int lfd = tcp_listen(err, sizeof(err), "127.0.0.1", 0, 1);
    cr_assert_geq(lfd, 0, "%s", err);
    int port = tcp_local_port(err, sizeof(err), lfd);
    close(lfd); /* the port is now (very likely) closed */
    struct load_target t = {.name = "m1", .host = "127.0.0.1", .port = port};
    struct mix m;
    cr_assert_eq(mix_parse("add=1", &m, err, sizeof(err)), 0);
    struct load_options o = {.targets = &t,
                             .n_targets = 1,
                             .clients = 1,
                             .duration_us = 100000,
                             .mix = &m,
                             .keys = 1,
                             .request_timeout_ms = 1000,
                             .retry_delay_ms = 5,
                             .id_prefix = ""};
    struct load_result r;
    cr_assert_eq(etcd_load_run(&o, &r, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(r.ops, 0);
    cr_assert_gt(r.conn_lost, 0);
    load_result_free(&r);
}

/* ---- the command line ----------------------------------------------------------- */

Test(etcd_options, the_etcd_mode_and_its_program)
{
    char *argv[] = {"raft_bench", "etcd", "-C", "16", "--etcd", "/usr/bin/etcd", NULL};
    struct bench_options o;
    char err[256];
    cr_assert_eq(options_parse(6, argv, &o, err, sizeof(err)), 0, "%s", err);
    cr_assert_eq(o.mode, MODE_ETCD);
    cr_assert_str_eq(options_mode_name(o.mode), "etcd");
    cr_assert_eq(o.clients, 16);
    cr_assert_eq(o.peers, 3);
    cr_assert_str_eq(o.etcd_bin, "/usr/bin/etcd");
    char *with_config[] = {"raft_bench", "etcd", "-c", "raft_peer.ini", NULL};
    cr_assert_eq(options_parse(4, with_config, &o, err, sizeof(err)), -1);
}
