/* Unit tests for user_cli/cluster_client.c against scripted fake peers in a
 * child process: redirects, exactly-once retries (same seq), backoff and the
 * deadline. */
#include <criterion/criterion.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/net.h"
#include "user_cli/cluster_client.h"

#define N_FAKE 3

/* What fake peer `peer` answers to its `nth` request (0-based): a reply line
 * (without newline), "" to stay silent, or NULL to hang up. */
typedef const char *(*reply_fn)(int peer, int nth, const char *line);

struct fake {
    struct cluster_peer peers[N_FAKE];
    pid_t pid;
    char log[64]; /* every request received: "<peer> <line>\n" */
};

static void serve(int *lfd, const char *logpath, reply_fn fn)
{
    struct pollfd p[N_FAKE + 32];
    int owner[N_FAKE + 32];
    char buf[N_FAKE + 32][4096];
    size_t len[N_FAKE + 32];
    int count[N_FAKE] = {0};
    int n = N_FAKE;
    for (int i = 0; i < N_FAKE; i++) {
        p[i] = (struct pollfd){.fd = lfd[i], .events = POLLIN};
        owner[i] = i;
    }
    FILE *log = fopen(logpath, "a");
    for (;;) {
        if (poll(p, (nfds_t)n, -1) < 0)
            continue;
        for (int i = 0; i < n; i++) {
            if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            if (i < N_FAKE) {
                char e[64];
                int fd = tcp_accept(e, sizeof(e), p[i].fd, NULL, 0, NULL);
                if (fd >= 0 && n < N_FAKE + 32) {
                    set_nonblock(e, sizeof(e), fd, false);
                    p[n] = (struct pollfd){.fd = fd, .events = POLLIN};
                    owner[n] = owner[i];
                    len[n] = 0;
                    n++;
                }
                continue;
            }
            ssize_t r = read(p[i].fd, buf[i] + len[i], sizeof(buf[i]) - 1 - len[i]);
            if (r <= 0) {
                close(p[i].fd);
                p[i].fd = -1;
                continue;
            }
            len[i] += (size_t)r;
            char *nl;
            while (p[i].fd >= 0 && (nl = memchr(buf[i], '\n', len[i])) != NULL) {
                *nl = '\0';
                fprintf(log, "%d %s\n", owner[i], buf[i]);
                fflush(log);
                const char *reply = fn(owner[i], count[owner[i]]++, buf[i]);
                size_t used = (size_t)(nl - buf[i]) + 1;
                memmove(buf[i], buf[i] + used, len[i] - used);
                len[i] -= used;
                if (reply == NULL) {
                    close(p[i].fd);
                    p[i].fd = -1;
                } else if (reply[0] != '\0') {
                    dprintf(p[i].fd, "%s\n", reply);
                }
            }
        }
    }
}

static void fake_start(struct fake *f, reply_fn fn)
{
    int lfd[N_FAKE];
    char err[128];
    for (int i = 0; i < N_FAKE; i++) {
        lfd[i] = tcp_listen(err, sizeof(err), "127.0.0.1", 0, 16);
        cr_assert(lfd[i] >= 0, "%s", err);
        snprintf(f->peers[i].name, sizeof(f->peers[i].name), "peer%d", i + 1);
        snprintf(f->peers[i].host, sizeof(f->peers[i].host), "127.0.0.1");
        f->peers[i].port = tcp_local_port(err, sizeof(err), lfd[i]);
    }
    snprintf(f->log, sizeof(f->log), "/tmp/cli_fake_XXXXXX");
    int lf = mkstemp(f->log);
    cr_assert(lf >= 0);
    close(lf);
    f->pid = fork();
    cr_assert(f->pid >= 0);
    if (f->pid == 0) {
        serve(lfd, f->log, fn);
        _exit(0);
    }
    for (int i = 0; i < N_FAKE; i++)
        close(lfd[i]);
}

/* Stops the fake and returns its request log (caller frees). */
static char *fake_stop(struct fake *f)
{
    kill(f->pid, SIGKILL);
    waitpid(f->pid, NULL, 0);
    FILE *in = fopen(f->log, "r");
    char *text = calloc(1, 65536);
    size_t n = in ? fread(text, 1, 65535, in) : 0;
    text[n] = '\0';
    if (in)
        fclose(in);
    unlink(f->log);
    return text;
}

static int count_lines(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = text; (p = strstr(p, needle)) != NULL; p++)
        n++;
    return n;
}

static const char OK100[] =
    "{\"type\":\"client_response\",\"ok\":true,\"result\":100,\"index\":5,\"leader\":\"peer2\"}";

static const char *redirect_to_peer2(int peer, int nth, const char *line)
{
    (void)nth;
    (void)line;
    if (peer == 1)
        return OK100;
    return "{\"type\":\"client_response\",\"ok\":false,\"error\":\"not_leader\","
           "\"leader\":\"peer2\",\"host\":\"127.0.0.1\",\"port\":1,\"message\":\"ask peer2\"}";
}

Test(cli_client, follows_redirect_and_remembers_leader)
{
    struct fake f;
    char err[256];
    fake_start(&f, redirect_to_peer2);
    struct cluster_client *c = cluster_client_create(f.peers, N_FAKE, 3000, err, sizeof(err));
    cr_assert_not_null(c);
    cluster_client_set_leader(c, 0);
    struct client_response resp;
    const char *raw;
    cr_assert_eq(cluster_client_submit(c, "x add 100", &resp, &raw, err, sizeof(err)), CLUSTER_OK,
                 "%s", err);
    cr_assert(resp.ok);
    cr_assert_eq(resp.result, 100);
    cr_assert_str_eq(raw, OK100);
    cr_assert_str_eq(cluster_client_leader(c), "peer2");
    /* The second command goes straight to the remembered leader. */
    cr_assert_eq(cluster_client_submit(c, "x get", &resp, NULL, err, sizeof(err)), CLUSTER_OK);
    char *log = fake_stop(&f);
    cr_assert_eq(count_lines(log, "0 {"), 1, "%s", log);
    cr_assert_eq(count_lines(log, "1 {"), 2, "%s", log);
    cr_assert(strstr(log, "\"seq\":1") && strstr(log, "\"seq\":2"), "%s", log);
    cr_assert(strstr(log, "\"command\":\"x add 100\""), "%s", log);
    /* not_leader proves the peer did not take it: the resend is not marked a retry. */
    cr_assert_eq(count_lines(log, "\"retry\""), 0, "%s", log);
    free(log);
    cluster_client_destroy(c);
}

static const char *always_ok(int peer, int nth, const char *line)
{
    (void)peer;
    (void)nth;
    (void)line;
    return OK100;
}

Test(cli_client, reads_do_not_use_up_a_seq)
{
    /* A read never reaches the log, so it creates no session: the first write must
     * still be seq 1, or the cluster would take the client for an expired one. */
    struct fake f;
    char err[256];
    fake_start(&f, always_ok);
    struct cluster_client *c = cluster_client_create(f.peers, N_FAKE, 3000, err, sizeof(err));
    cr_assert_not_null(c);
    struct client_response resp;
    cr_assert_eq(cluster_client_submit(c, "x get", &resp, NULL, err, sizeof(err)), CLUSTER_OK);
    cr_assert_eq(cluster_client_submit(c, "get y", &resp, NULL, err, sizeof(err)), CLUSTER_OK);
    cr_assert_eq(cluster_client_submit(c, "x add 1", &resp, NULL, err, sizeof(err)), CLUSTER_OK);
    cr_assert_eq(c->next_seq, 2);
    char *log = fake_stop(&f);
    cr_assert_eq(count_lines(log, "\"seq\":1,"), 3, "%s", log);
    cr_assert_eq(count_lines(log, "\"seq\":2,"), 0, "%s", log);
    free(log);
    cluster_client_destroy(c);
}

/* peer1 drops the connection on its first request; everyone else answers. */
static const char *hang_up_first_then_ok(int peer, int nth, const char *line)
{
    (void)line;
    return (peer == 0 && nth == 0) ? NULL : OK100;
}

Test(cli_client, lost_connection_retries_with_same_seq)
{
    struct fake f;
    char err[256];
    fake_start(&f, hang_up_first_then_ok);
    struct cluster_client *c = cluster_client_create(f.peers, N_FAKE, 3000, err, sizeof(err));
    cr_assert_not_null(c);
    cluster_client_set_leader(c, 0);
    struct client_response resp;
    cr_assert_eq(cluster_client_submit(c, "x add 100", &resp, NULL, err, sizeof(err)), CLUSTER_OK,
                 "%s", err);
    char *log = fake_stop(&f);
    /* Two requests reached fake peers; both carry the same client_id and seq 1. */
    cr_assert_eq(count_lines(log, "\"seq\":1"), 2, "%s", log);
    cr_assert_eq(count_lines(log, "\"seq\":2"), 0, "%s", log);
    char id[80];
    snprintf(id, sizeof(id), "\"client_id\":\"%s\"", c->client_id);
    cr_assert_eq(count_lines(log, id), 2, "%s", log);
    /* The first attempt may have reached the log, so the resend says it is a retry. */
    cr_assert_eq(count_lines(log, "\"retry\":true"), 1, "%s", log);
    const char *first_end = strchr(log, '\n');
    cr_assert_not_null(first_end, "%s", log);
    cr_assert_null(memmem(log, (size_t)(first_end - log), "retry", 5),
                   "the first attempt is not a retry: %s", log);
    free(log);
    cluster_client_destroy(c);
}

static const char *unavailable_twice(int peer, int nth, const char *line)
{
    (void)line;
    if (peer != 0)
        return "{\"type\":\"client_response\",\"ok\":false,\"error\":\"not_leader\","
               "\"leader\":\"peer1\"}";
    if (nth < 2)
        return "{\"type\":\"client_response\",\"ok\":false,\"error\":\"unavailable\","
               "\"message\":\"lost quorum\"}";
    return OK100;
}

Test(cli_client, unavailable_is_retried_after_backoff)
{
    struct fake f;
    char err[256];
    fake_start(&f, unavailable_twice);
    struct cluster_client *c = cluster_client_create(f.peers, N_FAKE, 10000, err, sizeof(err));
    cr_assert_not_null(c);
    cluster_client_set_leader(c, 0);
    struct client_response resp;
    long long t0 = line_conn_now_ms();
    cr_assert_eq(cluster_client_submit(c, "y set 1", &resp, NULL, err, sizeof(err)), CLUSTER_OK,
                 "%s", err);
    long long spent = line_conn_now_ms() - t0;
    cr_assert(resp.ok);
    /* Backoff 10 ms then 20 ms: at least 30 ms; well before the 10 s deadline, with
     * seconds to spare for a loaded machine. */
    cr_assert(spent >= 30 && spent < 5000, "spent %lld ms", spent);
    char *log = fake_stop(&f);
    cr_assert_eq(count_lines(log, "0 {"), 3, "%s", log);
    free(log);
    cluster_client_destroy(c);
}

/* peer1 hangs up on the first request; every request marked as a retry is answered
 * session_expired, as a cluster that dropped the session would; the rest succeed. */
static const char *expire_retries(int peer, int nth, const char *line)
{
    if (strstr(line, "\"retry\":true"))
        return "{\"type\":\"client_response\",\"ok\":false,\"error\":\"session_expired\","
               "\"leader\":null,\"host\":null,\"port\":null,\"message\":\"gone\"}";
    return (peer == 0 && nth == 0) ? NULL : OK100;
}

Test(cli_client, session_expired_ends_the_command_and_starts_a_new_session)
{
    struct fake f;
    char err[256];
    fake_start(&f, expire_retries);
    struct cluster_client *c = cluster_client_create(f.peers, N_FAKE, 5000, err, sizeof(err));
    cr_assert_not_null(c);
    cluster_client_set_leader(c, 0);
    char old_id[65];
    snprintf(old_id, sizeof(old_id), "%s", c->client_id);
    struct client_response resp;
    cr_assert_eq(cluster_client_submit(c, "x add 100", &resp, NULL, err, sizeof(err)), CLUSTER_OK,
                 "%s", err);
    /* A definitive answer: not retried, handed to the caller (who reports the outcome
     * as unknown), and the client has moved to a new session. */
    cr_assert_not(resp.ok);
    cr_assert_str_eq(resp.error, "session_expired");
    cr_assert_str_neq(c->client_id, old_id);
    cr_assert_eq(c->next_seq, 1);
    cr_assert_eq(cluster_client_submit(c, "x get", &resp, NULL, err, sizeof(err)), CLUSTER_OK, "%s",
                 err);
    cr_assert(resp.ok);
    char *log = fake_stop(&f);
    cr_assert_eq(count_lines(log, "{"), 3, "%s", log);
    cr_assert_eq(count_lines(log, "\"retry\":true"), 1, "%s", log);
    char fresh[128];
    snprintf(fresh, sizeof(fresh), "\"client_id\":\"%s\",\"seq\":1,\"command\":\"x get\"}",
             c->client_id);
    cr_assert_neq(strstr(log, fresh), NULL, "%s", log);
    free(log);
    cluster_client_destroy(c);
}

static const char *cas_fails(int peer, int nth, const char *line)
{
    (void)peer;
    (void)nth;
    (void)line;
    return "{\"type\":\"client_response\",\"ok\":false,\"error\":\"cas_failed\",\"result\":7}";
}

Test(cli_client, definitive_error_is_not_retried)
{
    struct fake f;
    char err[256];
    fake_start(&f, cas_fails);
    struct cluster_client *c = cluster_client_create(f.peers, N_FAKE, 3000, err, sizeof(err));
    cr_assert_not_null(c);
    struct client_response resp;
    cr_assert_eq(cluster_client_submit(c, "x cas 5 6", &resp, NULL, err, sizeof(err)), CLUSTER_OK);
    cr_assert(!resp.ok);
    cr_assert_str_eq(resp.error, "cas_failed");
    cr_assert(resp.has_result);
    cr_assert_eq(resp.result, 7);
    char *log = fake_stop(&f);
    cr_assert_eq(count_lines(log, "{"), 1, "%s", log);
    free(log);
    cluster_client_destroy(c);
}

static const char *nobody_knows(int peer, int nth, const char *line)
{
    (void)peer;
    (void)nth;
    (void)line;
    return "{\"type\":\"client_response\",\"ok\":false,\"error\":\"not_leader\","
           "\"leader\":null,\"host\":null,\"port\":null}";
}

Test(cli_client, no_leader_known_gives_up_at_deadline)
{
    struct fake f;
    char err[256];
    fake_start(&f, nobody_knows);
    /* 2 s: the backoff reaches its 200 ms cap and every peer is tried even when this
     * machine stalls for a while; the bounds below follow from it. */
    struct cluster_client *c = cluster_client_create(f.peers, N_FAKE, 2000, err, sizeof(err));
    cr_assert_not_null(c);
    struct client_response resp;
    long long t0 = line_conn_now_ms();
    cr_assert_eq(cluster_client_submit(c, "x get", &resp, NULL, err, sizeof(err)),
                 CLUSTER_UNREACHABLE);
    long long spent = line_conn_now_ms() - t0;
    /* Gives up at the deadline: not before it, and not seconds after it. */
    cr_assert(spent >= 1990 && spent < 5000, "spent %lld ms", spent);
    cr_assert(strstr(err, "no leader reachable within 2 s (tried peer1, peer2, peer3)") == err,
              "%s", err);
    cr_assert(strstr(err, "does not know the leader"), "%s", err);
    char *log = fake_stop(&f);
    /* Backoff doubles up to 200 ms: a handful of tries (10, 20, ... 160 ms, then one every
     * 200 ms: about 15 in 2 s), not a busy loop. */
    int tries = count_lines(log, "{");
    cr_assert(tries >= 3 && tries <= 20, "%d tries: %s", tries, log);
    free(log);
    cluster_client_destroy(c);
}

static const char *point_at_each_other(int peer, int nth, const char *line)
{
    (void)nth;
    (void)line;
    return peer == 0 ? "{\"type\":\"client_response\",\"ok\":false,\"error\":\"not_leader\","
                       "\"leader\":\"peer2\"}"
                     : "{\"type\":\"client_response\",\"ok\":false,\"error\":\"not_leader\","
                       "\"leader\":\"peer1\"}";
}

Test(cli_client, redirect_loop_does_not_spin)
{
    struct fake f;
    char err[256];
    fake_start(&f, point_at_each_other);
    struct cluster_client *c = cluster_client_create(f.peers, N_FAKE, 300, err, sizeof(err));
    cr_assert_not_null(c);
    struct client_response resp;
    cr_assert_eq(cluster_client_submit(c, "x get", &resp, NULL, err, sizeof(err)),
                 CLUSTER_UNREACHABLE);
    char *log = fake_stop(&f);
    int tries = count_lines(log, "{");
    cr_assert(tries < 60, "%d tries", tries);
    free(log);
    cluster_client_destroy(c);
}

static const char *garbage_then_silence(int peer, int nth, const char *line)
{
    (void)nth;
    (void)line;
    if (peer == 0)
        return "this is not json";
    if (peer == 1)
        return ""; /* hangs: the client must give up on it and move on */
    return OK100;
}

Test(cli_client, garbage_and_silence_move_on_to_a_working_peer)
{
    struct fake f;
    char err[256];
    fake_start(&f, garbage_then_silence);
    struct cluster_client *c = cluster_client_create(f.peers, N_FAKE, 10000, err, sizeof(err));
    cr_assert_not_null(c);
    cluster_client_set_leader(c, 0);
    struct client_response resp;
    cr_assert_eq(cluster_client_submit(c, "x get", &resp, NULL, err, sizeof(err)), CLUSTER_OK, "%s",
                 err);
    cr_assert(resp.ok);
    cr_assert_str_eq(cluster_client_leader(c), "peer3");
    free(fake_stop(&f));
    cluster_client_destroy(c);
}

/* A port nobody listens on, kept so while *holder is open: bound without listening and
 * without SO_REUSEADDR, so nothing else can listen there. */
static int dead_port(int *holder)
{
    *holder = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(*holder, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    cr_assert_eq(bind(*holder, (struct sockaddr *)&a, sizeof(a)), 0);
    cr_assert_eq(getsockname(*holder, (struct sockaddr *)&a, &len), 0);
    return ntohs(a.sin_port);
}

Test(cli_client, all_ports_closed)
{
    int hold_a, hold_b;
    struct cluster_peer peers[2] = {{"a", "127.0.0.1", dead_port(&hold_a)},
                                    {"b", "127.0.0.1", dead_port(&hold_b)}};
    char err[256];
    /* 2 s: both peers are tried (a few ms apart) even if this machine stalls meanwhile. */
    struct cluster_client *c = cluster_client_create(peers, 2, 2000, err, sizeof(err));
    cr_assert_not_null(c);
    struct client_response resp;
    cr_assert_eq(cluster_client_submit(c, "x get", &resp, NULL, err, sizeof(err)),
                 CLUSTER_UNREACHABLE);
    cr_assert(strstr(err, "no leader reachable within 2 s (tried a, b)") == err, "%s", err);
    cr_assert(strstr(err, "refused"), "%s", err);
    cluster_client_destroy(c);
    close(hold_a);
    close(hold_b);
}

Test(cli_client, ids_and_bounds)
{
    struct cluster_peer peers[1] = {{"a", "127.0.0.1", 1}};
    char err[256];
    char id1[65], id2[65];
    cluster_client_new_id(id1, sizeof(id1));
    cluster_client_new_id(id2, sizeof(id2));
    cr_assert_eq(strlen(id1), 12);
    cr_assert(strncmp(id1, "cli-", 4) == 0);
    cr_assert_eq(strspn(id1 + 4, "0123456789abcdef"), 8);
    cr_assert_str_neq(id1, id2);

    cr_assert_null(cluster_client_create(peers, 0, 100, err, sizeof(err)));
    cr_assert_null(cluster_client_create(peers, CLUSTER_MAX_PEERS + 1, 100, err, sizeof(err)));
    struct cluster_client *c = cluster_client_create(peers, 1, 100, err, sizeof(err));
    cr_assert_not_null(c);
    cr_assert_eq(c->next_seq, 1);
    char big[400];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    struct client_response resp;
    cr_assert_eq(cluster_client_submit(c, big, &resp, NULL, err, sizeof(err)), CLUSTER_EINVAL);
    cr_assert_eq(cluster_client_transfer(c, "zz", &resp, NULL, err, sizeof(err)), CLUSTER_EINVAL);
    cr_assert(strstr(err, "unknown peer 'zz'"), "%s", err);
    cluster_client_destroy(c);
}

static const char *transfer_ok(int peer, int nth, const char *line)
{
    (void)peer;
    (void)nth;
    if (strstr(line, "\"type\":\"transfer\"") && strstr(line, "\"target\":\"peer3\""))
        return "{\"type\":\"client_response\",\"ok\":true,\"leader\":\"peer3\"}";
    return "{\"type\":\"client_response\",\"ok\":false,\"error\":\"bad_request\"}";
}

Test(cli_client, transfer_sends_target)
{
    struct fake f;
    char err[256];
    fake_start(&f, transfer_ok);
    struct cluster_client *c = cluster_client_create(f.peers, N_FAKE, 2000, err, sizeof(err));
    cr_assert_not_null(c);
    struct client_response resp;
    cr_assert_eq(cluster_client_transfer(c, "peer3", &resp, NULL, err, sizeof(err)), CLUSTER_OK,
                 "%s", err);
    cr_assert(resp.ok, "%s", resp.error);
    free(fake_stop(&f));
    cluster_client_destroy(c);
}

/* peer1 and peer2 were the cluster once; now only peer3 leads, and the other two
 * know nothing of it (removed, or just restarted). */
static const char *only_peer3_leads(int peer, int nth, const char *line)
{
    (void)nth;
    (void)line;
    if (peer == 2)
        return OK100;
    return "{\"type\":\"client_response\",\"ok\":false,\"error\":\"not_leader\","
           "\"leader\":null,\"host\":null,\"port\":null,\"message\":\"no leader known\"}";
}

Test(cli_client, past_the_first_n_when_none_of_them_leads)
{
    struct fake f;
    char err[256];
    fake_start(&f, only_peer3_leads);
    struct cluster_client *c = cluster_client_create(f.peers, N_FAKE, 5000, err, sizeof(err));
    cr_assert_not_null(c);
    cluster_client_set_first(c, 2);
    cr_assert_eq(c->n_first, 2);
    cr_assert_lt(c->cursor, 2, "the first peer asked is one of the first N");
    struct client_response resp;
    cr_assert_eq(cluster_client_submit(c, "x add 100", &resp, NULL, err, sizeof(err)), CLUSTER_OK,
                 "%s", err);
    cr_assert(resp.ok);
    cr_assert_str_eq(cluster_client_leader(c), "peer3");
    char *log = fake_stop(&f);
    /* Each of the first two was asked once before peer3, which was asked once. */
    cr_assert_eq(count_lines(log, "0 {"), 1, "%s", log);
    cr_assert_eq(count_lines(log, "1 {"), 1, "%s", log);
    cr_assert_eq(count_lines(log, "2 {"), 1, "%s", log);
    cr_assert(strstr(log, "2 {") > strstr(log, "0 {") && strstr(log, "2 {") > strstr(log, "1 {"),
              "%s", log);
    free(log);
    cluster_client_destroy(c);
}

static const char *peer1_leads(int peer, int nth, const char *line)
{
    (void)nth;
    (void)line;
    if (peer == 0)
        return OK100;
    return "{\"type\":\"client_response\",\"ok\":false,\"error\":\"not_leader\","
           "\"leader\":\"peer1\",\"host\":null,\"port\":null}";
}

Test(cli_client, the_others_are_not_asked_while_the_first_n_answer)
{
    struct fake f;
    char err[256];
    fake_start(&f, peer1_leads);
    struct cluster_client *c = cluster_client_create(f.peers, N_FAKE, 5000, err, sizeof(err));
    cr_assert_not_null(c);
    cluster_client_set_first(c, 2);
    struct client_response resp;
    for (int i = 0; i < 3; i++)
        cr_assert_eq(cluster_client_submit(c, "x get", &resp, NULL, err, sizeof(err)), CLUSTER_OK,
                     "%s", err);
    char *log = fake_stop(&f);
    cr_assert_eq(count_lines(log, "2 {"), 0, "%s", log);
    free(log);
    cluster_client_destroy(c);
}

/* The leader answers a membership change only after 1.5 s (a learner catching up):
 * longer than one ordinary attempt may wait. */
static const char *slow_membership(int peer, int nth, const char *line)
{
    (void)nth;
    (void)line;
    if (peer != 0)
        return "{\"type\":\"client_response\",\"ok\":false,\"error\":\"not_leader\","
               "\"leader\":\"peer1\",\"host\":null,\"port\":null}";
    struct timespec ts = {.tv_sec = 1, .tv_nsec = 500 * 1000000L};
    nanosleep(&ts, NULL);
    return "{\"type\":\"client_response\",\"ok\":true,\"index\":9,\"leader\":\"peer1\","
           "\"voters\":[\"peer1\",\"peer2\",\"peer3\"],\"learners\":[]}";
}

Test(cli_client, a_patient_request_is_sent_once)
{
    static const char line[] = "{\"type\":\"membership\",\"action\":\"add\",\"peer\":\"peer3\"}\n";
    struct fake f;
    char err[256];
    fake_start(&f, slow_membership);
    struct cluster_client *c = cluster_client_create(f.peers, N_FAKE, 10000, err, sizeof(err));
    cr_assert_not_null(c);
    cluster_client_set_leader(c, 0);
    struct client_response resp;
    const char *raw = NULL;
    cr_assert_eq(
        cluster_client_request_patient(c, line, sizeof(line) - 1, &resp, &raw, err, sizeof(err)),
        CLUSTER_OK, "%s", err);
    cr_assert(resp.ok);
    cr_assert(strstr(raw, "\"voters\""), "%s", raw);
    char *log = fake_stop(&f);
    cr_assert_eq(count_lines(log, "\"membership\""), 1, "resent while the leader worked: %s", log);
    free(log);
    cluster_client_destroy(c);
}

/* The leader loses its leadership during the change (unavailable); the resend then
 * finds the change already made. */
static const char *interrupted_change(int peer, int nth, const char *line)
{
    (void)line;
    if (peer != 0)
        return "{\"type\":\"client_response\",\"ok\":false,\"error\":\"not_leader\","
               "\"leader\":\"peer1\",\"host\":null,\"port\":null}";
    if (nth == 0)
        return "{\"type\":\"client_response\",\"ok\":false,\"error\":\"unavailable\","
               "\"message\":\"leadership was lost\"}";
    return "{\"type\":\"client_response\",\"ok\":false,\"error\":\"bad_membership\","
           "\"message\":\"peer4 is already a member\"}";
}

Test(cli_client, an_interrupted_request_is_remembered)
{
    static const char line[] = "{\"type\":\"membership\",\"action\":\"add\",\"peer\":\"peer4\"}\n";
    struct fake f;
    char err[256];
    fake_start(&f, interrupted_change);
    struct cluster_client *c = cluster_client_create(f.peers, N_FAKE, 5000, err, sizeof(err));
    cr_assert_not_null(c);
    cluster_client_set_leader(c, 0);
    struct client_response resp;
    cr_assert_eq(
        cluster_client_request_patient(c, line, sizeof(line) - 1, &resp, NULL, err, sizeof(err)),
        CLUSTER_OK, "%s", err);
    cr_assert_str_eq(resp.error, "bad_membership");
    cr_assert_str_eq(c->interrupted, "leadership was lost");
    /* The next request starts with a clean slate. */
    cr_assert_eq(cluster_client_submit(c, "x get", &resp, NULL, err, sizeof(err)), CLUSTER_OK);
    cr_assert_str_eq(c->interrupted, "");
    free(fake_stop(&f));
    cluster_client_destroy(c);
}
