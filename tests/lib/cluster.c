/* cluster.c: see cluster.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/command.h"
#include "common/net.h"
#include "tests/lib/cluster.h"
#include "tests/lib/subprocess.h"
#include "tests/lib/time_scale.h"

uint64_t harness_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void harness_sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

const char *harness_bin_dir(void)
{
    const char *d = getenv("RAFT_BIN_DIR");
    return d && *d ? d : "bin";
}

int harness_timeout_scale(void)
{
    return test_time_scale();
}

int harness_scaled_ms(int ms)
{
    long long v = (long long)ms * harness_timeout_scale();
    return v > INT_MAX ? INT_MAX : (int)v;
}

const char *harness_peer_wrapper(void)
{
    const char *w = getenv("RAFT_PEER_WRAPPER");
    return w ? w : "";
}

#define WRAPPER_MAX_ARGS 48

/* Splits the wrapper command line on blanks into argv (pointers into buf). No quoting:
 * valgrind options need none. The count, or -1 when it does not fit. */
static int split_wrapper(const char *wrapper, char *buf, size_t buflen, char **argv, int max)
{
    if (strlen(wrapper) >= buflen)
        return -1;
    snprintf(buf, buflen, "%s", wrapper);
    int n = 0;
    for (char *save = NULL, *tok = strtok_r(buf, " \t", &save); tok;
         tok = strtok_r(NULL, " \t", &save)) {
        if (n >= max)
            return -1;
        argv[n++] = tok;
    }
    return n;
}

/* A clean stop of a wrapped peer waits for valgrind's leak check: give it longer. */
static int stop_grace_ms(void)
{
    int ms = harness_scaled_ms(3000);
    return harness_peer_wrapper()[0] && ms < 30000 ? 30000 : ms;
}

/* A free loopback port: bind to 0 and ask. With holder NULL the socket is closed and the
 * port only free now. Otherwise *holder keeps it bound with SO_REUSEADDR and never
 * listens: the kernel hands the port to no other bind(0) nor to an outgoing connection,
 * while the peer, which sets SO_REUSEADDR too, can still bind and listen there; closing
 * the port and hoping would let another test take it before the peer starts, or while
 * it is down between a kill and a restart. */
static int free_port(int type, int *holder)
{
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    if (holder && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
        close(fd);
        return -1;
    }
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (holder && port > 0)
        *holder = fd;
    else
        close(fd);
    return port;
}

static void release_ports(struct cluster *c)
{
    for (int i = 1; i <= c->n_ini; i++) {
        if (c->port_holders[i] >= 0)
            close(c->port_holders[i]);
        c->port_holders[i] = -1;
    }
}

int cluster_prepare(struct cluster *c, int n, const struct cluster_options *opt)
{
    memset(c, 0, sizeof(*c));
    int spare = opt ? opt->spare : 0;
    if (n < 1 || spare < 0 || n + spare > CLUSTER_MAX_PEERS)
        return -1;
    c->n = n;
    c->n_ini = n + spare;
    for (int i = 0; i <= CLUSTER_MAX_PEERS; i++)
        c->port_holders[i] = -1;
    if (opt)
        c->opt = *opt;
    snprintf(c->bin_dir, sizeof(c->bin_dir), "%s", harness_bin_dir());
    snprintf(c->dir, sizeof(c->dir), "/tmp/raftvillage-test-XXXXXX");
    if (!mkdtemp(c->dir))
        return -1;
    snprintf(c->ini, sizeof(c->ini), "%s/raft.ini", c->dir);
    snprintf(c->client_id, sizeof(c->client_id), "test-%d-%lu", (int)getpid(),
             (unsigned long)(harness_now_ms() % 100000));
    FILE *f = fopen(c->ini, "w");
    if (!f)
        return -1;
    /* Scaled together, so their order (heartbeat < min <= max) holds. */
    fprintf(f,
            "[raft]\nelection_timeout_min = %d\nelection_timeout_max = %d\n"
            "heartbeat_interval = %d\ndata_dir = %s/data\nlog_dir = %s/logs\n",
            harness_scaled_ms(c->opt.election_timeout_min ? c->opt.election_timeout_min : 150),
            harness_scaled_ms(c->opt.election_timeout_max ? c->opt.election_timeout_max : 300),
            harness_scaled_ms(c->opt.heartbeat_interval ? c->opt.heartbeat_interval : 50), c->dir,
            c->dir);
    if (c->opt.log_level)
        fprintf(f, "log_level = %s\n", c->opt.log_level);
    if (c->opt.extra_raft)
        fprintf(f, "%s\n", c->opt.extra_raft);
    /* Only the game binds this one, if a test starts it: no holder, which would share
     * the datagrams. */
    c->game_port = free_port(SOCK_DGRAM, NULL);
    fprintf(f, "\n[game]\nhost = 127.0.0.1\nport = %d\n", c->game_port);
    for (int i = 1; i <= c->n_ini; i++) {
        /* Held ports are distinct: the kernel cannot hand out a bound one again. */
        c->ports[i] = free_port(SOCK_STREAM, &c->port_holders[i]);
        if (c->ports[i] < 0) {
            fclose(f);
            release_ports(c);
            return -1;
        }
        fprintf(f, "\n[peer%d]\nhost = 127.0.0.1\nport = %d\n", i, c->ports[i]);
    }
    fclose(f);
    return 0;
}

int cluster_start_peer_with(struct cluster *c, int i, const char *const *mode)
{
    if (i < 1 || i > c->n_ini)
        return -1;
    if (c->pids[i] > 0)
        return 0;
    char prog[1100], name[16], out[400], wrap[2048];
    snprintf(prog, sizeof(prog), "%s/raft_peer", c->bin_dir);
    snprintf(name, sizeof(name), "peer%d", i);
    snprintf(out, sizeof(out), "%s/peer%d.stderr", c->dir, i);
    /* argv is built before fork, so the child only dups and execs. */
    char *argv[WRAPPER_MAX_ARGS + 16];
    int argc = split_wrapper(harness_peer_wrapper(), wrap, sizeof(wrap), argv, WRAPPER_MAX_ARGS);
    if (argc < 0) {
        fprintf(stderr, "RAFT_PEER_WRAPPER is too long (at most %d words, %zu bytes)\n",
                WRAPPER_MAX_ARGS, sizeof(wrap) - 1);
        return -1;
    }
    bool wrapped = argc > 0;
    argv[argc++] = prog;
    argv[argc++] = name;
    for (int k = 0; mode[k] && k < 6; k++)
        argv[argc++] = (char *)mode[k];
    if (c->opt.visual)
        argv[argc++] = "-v";
    argv[argc++] = "-c";
    argv[argc++] = c->ini;
    argv[argc] = NULL;
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (wrapped)
            execvp(argv[0], argv); /* the wrapper is looked up in PATH */
        else
            execv(prog, argv);
        _exit(127);
    }
    c->pids[i] = pid;
    /* Wait until it listens, so tests do not race its start: a deadline, not a count of
     * tries, and a generous one, since a loaded machine may be slow to run it. */
    uint64_t deadline = harness_now_ms() + (uint64_t)harness_scaled_ms(15000);
    while (harness_now_ms() < deadline) {
        char err[128];
        int fd = tcp_connect_timeout(err, sizeof(err), "127.0.0.1", c->ports[i], 100);
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            c->pids[i] = 0;
            return -1;
        }
        harness_sleep_ms(10);
    }
    return -1;
}

int cluster_start_peer(struct cluster *c, int i)
{
    char count[16];
    snprintf(count, sizeof(count), "%d", c->n);
    const char *mode[] = {count, NULL};
    return i <= c->n ? cluster_start_peer_with(c, i, mode) : -1;
}

int cluster_start_joiner(struct cluster *c, int i)
{
    const char *mode[] = {"--join", NULL};
    return i > c->n ? cluster_start_peer_with(c, i, mode) : -1;
}

int cluster_start(struct cluster *c, int n, const struct cluster_options *opt)
{
    if (cluster_prepare(c, n, opt) != 0)
        return -1;
    for (int i = 1; i <= n; i++)
        if (cluster_start_peer(c, i) != 0)
            return -1;
    return 0;
}

/* Reaps peer i, already signalled: after grace_ms it is killed; grace_ms < 0 waits. */
static void reap_peer(struct cluster *c, int i, int grace_ms)
{
    if (grace_ms < 0) {
        waitpid(c->pids[i], NULL, 0);
        c->pids[i] = 0;
        return;
    }
    for (int t = 0; t < grace_ms / 10; t++) {
        if (waitpid(c->pids[i], NULL, WNOHANG) == c->pids[i]) {
            c->pids[i] = 0;
            return;
        }
        harness_sleep_ms(10);
    }
    kill(c->pids[i], SIGKILL);
    waitpid(c->pids[i], NULL, 0);
    c->pids[i] = 0;
}

void cluster_kill_peer(struct cluster *c, int i, int sig)
{
    if (i < 1 || i > c->n_ini || c->pids[i] <= 0)
        return;
    kill(c->pids[i], sig);
    /* A clean stop gets a few seconds before it becomes a kill. */
    reap_peer(c, i, sig == SIGTERM || sig == SIGINT ? stop_grace_ms() : -1);
}

void cluster_signal_peer(struct cluster *c, int i, int sig)
{
    if (i >= 1 && i <= c->n_ini && c->pids[i] > 0)
        kill(c->pids[i], sig);
}

bool cluster_peer_alive(struct cluster *c, int i)
{
    if (i < 1 || i > c->n_ini || c->pids[i] <= 0)
        return false;
    if (waitpid(c->pids[i], NULL, WNOHANG) == c->pids[i]) {
        c->pids[i] = 0;
        return false;
    }
    return true;
}

void cluster_stop(struct cluster *c)
{
    /* Wrapped peers all get SIGTERM first, so their leak checks run side by side. */
    bool clean = harness_peer_wrapper()[0] != 0;
    for (int i = 1; i <= c->n_ini; i++) {
        if (c->pids[i] > 0) {
            kill(c->pids[i], SIGCONT);
            kill(c->pids[i], clean ? SIGTERM : SIGKILL);
        }
    }
    for (int i = 1; i <= c->n_ini; i++)
        if (c->pids[i] > 0)
            reap_peer(c, i, clean ? stop_grace_ms() : -1);
    release_ports(c);
    if (c->dir[0] && !getenv("RAFT_KEEP_TEST_DIRS")) {
        char cmd[400];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", c->dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", c->dir);
    }
    c->dir[0] = 0;
}

static int read_line(int fd, char *out, size_t outlen, int timeout_ms)
{
    size_t used = 0;
    uint64_t deadline = harness_now_ms() + (uint64_t)timeout_ms;
    while (used + 1 < outlen) {
        uint64_t now = harness_now_ms();
        if (now >= deadline)
            return -1;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        if (poll(&pfd, 1, (int)(deadline - now)) <= 0)
            return -1;
        ssize_t n = read(fd, out + used, 1);
        if (n <= 0)
            return -1;
        if (out[used] == '\n') {
            out[used] = 0;
            return 0;
        }
        used++;
    }
    return -1;
}

int peer_exchange(struct cluster *c, int i, const char *line, char *out, size_t outlen,
                  int timeout_ms)
{
    char err[128];
    timeout_ms = harness_scaled_ms(timeout_ms);
    int fd = tcp_connect_timeout(err, sizeof(err), "127.0.0.1", c->ports[i], timeout_ms);
    if (fd < 0)
        return -1;
    size_t len = strlen(line);
    int rc = -1;
    if (write(fd, line, len) == (ssize_t)len)
        rc = read_line(fd, out, outlen, timeout_ms);
    close(fd);
    return rc;
}

static int peer_number(const char *name)
{
    if (!name || strncmp(name, "peer", 4) != 0)
        return 0;
    return atoi(name + 4);
}

int cluster_status(struct cluster *c, int i, struct peer_status *st)
{
    char line[8192];
    memset(st, 0, sizeof(*st));
    if (peer_exchange(c, i, "{\"type\":\"status\"}\n", line, sizeof(line), 1000) != 0)
        return -1;
    struct json_object *o = json_tokener_parse(line), *v;
    if (!o)
        return -1;
    if (json_object_object_get_ex(o, "role", &v))
        snprintf(st->role, sizeof(st->role), "%s", json_object_get_string(v));
    if (json_object_object_get_ex(o, "term", &v))
        st->term = (uint64_t)json_object_get_int64(v);
    if (json_object_object_get_ex(o, "leader", &v))
        st->leader = peer_number(json_object_get_string(v));
    if (json_object_object_get_ex(o, "commit_index", &v))
        st->commit_index = (uint64_t)json_object_get_int64(v);
    if (json_object_object_get_ex(o, "last_applied", &v))
        st->last_applied = (uint64_t)json_object_get_int64(v);
    if (json_object_object_get_ex(o, "log_length", &v))
        st->log_length = (uint64_t)json_object_get_int64(v);
    if (json_object_object_get_ex(o, "snapshot_index", &v))
        st->snapshot_index = (uint64_t)json_object_get_int64(v);
    if (json_object_object_get_ex(o, "variables", &v))
        st->variables = (uint64_t)json_object_get_int64(v);
    if (json_object_object_get_ex(o, "stopped", &v))
        st->stopped = json_object_get_boolean(v);
    json_object_put(o);
    return 0;
}

int cluster_wait_leader(struct cluster *c, int timeout_ms)
{
    uint64_t deadline = harness_now_ms() + (uint64_t)harness_scaled_ms(timeout_ms);
    while (harness_now_ms() < deadline) {
        int leader = -1, leaders = 0;
        uint64_t term = 0;
        for (int i = 1; i <= c->n_ini; i++) {
            struct peer_status st;
            if (c->pids[i] <= 0 || cluster_status(c, i, &st) != 0)
                continue;
            if (!strcmp(st.role, "leader") && st.term >= term) {
                if (st.term > term)
                    leaders = 0;
                term = st.term;
                leader = i;
                leaders++;
            }
        }
        if (leaders == 1) {
            c->leader_hint = leader;
            return leader;
        }
        harness_sleep_ms(20);
    }
    return -1;
}

int cluster_wait_applied(struct cluster *c, uint64_t index, int timeout_ms)
{
    uint64_t deadline = harness_now_ms() + (uint64_t)harness_scaled_ms(timeout_ms);
    while (harness_now_ms() < deadline) {
        bool all = true;
        for (int i = 1; i <= c->n_ini; i++) {
            struct peer_status st;
            if (c->pids[i] <= 0)
                continue;
            if (cluster_status(c, i, &st) != 0 || st.last_applied < index)
                all = false;
        }
        if (all)
            return 0;
        harness_sleep_ms(20);
    }
    return -1;
}

/* Sends the request until answered. Once an attempt may have reached a leader's log
 * (anything but a not_leader answer, including no answer at all), every resend is
 * marked as a retry, as the protocol asks; retry sets the mark from the start. */
static int command_until_answered(struct cluster *c, const char *client_id, uint64_t seq,
                                  const char *command, bool retry, struct client_response *resp,
                                  int timeout_ms)
{
    struct client_request req = {.seq = seq, .retry = retry};
    snprintf(req.client_id, sizeof(req.client_id), "%s", client_id);
    snprintf(req.command, sizeof(req.command), "%s", command);
    char line[1024], answer[4096], err[256];
    if (client_request_encode(&req, line, sizeof(line)) < 0)
        return -1;
    uint64_t deadline = harness_now_ms() + (uint64_t)harness_scaled_ms(timeout_ms);
    int target = c->leader_hint >= 1 && c->leader_hint <= c->n_ini ? c->leader_hint : 1;
    int backoff = 10;
    while (harness_now_ms() < deadline) {
        bool answered = peer_exchange(c, target, line, answer, sizeof(answer), 2000) == 0 &&
                        client_response_decode(answer, strlen(answer), resp, err, sizeof(err)) == 0;
        if (answered && (resp->ok || (strcmp(resp->error, "not_leader") &&
                                      strcmp(resp->error, "unavailable")))) {
            c->leader_hint = target;
            return 0;
        }
        bool not_taken = answered && !strcmp(resp->error, "not_leader");
        if (!not_taken && !req.retry) {
            req.retry = true;
            if (client_request_encode(&req, line, sizeof(line)) < 0)
                return -1;
        }
        int hint = not_taken ? peer_number(resp->leader) : 0;
        if (hint >= 1 && hint <= c->n_ini) {
            target = hint;
            continue;
        }
        target = target % c->n_ini + 1;
        harness_sleep_ms(backoff);
        backoff = backoff * 2 > 200 ? 200 : backoff * 2;
    }
    return -1;
}

int cluster_command_as(struct cluster *c, const char *client_id, uint64_t seq, const char *command,
                       struct client_response *resp, int timeout_ms)
{
    return command_until_answered(c, client_id, seq, command, false, resp, timeout_ms);
}

int cluster_retry_as(struct cluster *c, const char *client_id, uint64_t seq, const char *command,
                     struct client_response *resp, int timeout_ms)
{
    return command_until_answered(c, client_id, seq, command, true, resp, timeout_ms);
}

int cluster_command(struct cluster *c, const char *command, uint64_t seq,
                    struct client_response *resp, int timeout_ms)
{
    /* Only writes use up a seq: a read never reaches the log, and a session must start
     * with its first write at seq 1. */
    if (seq == 0)
        seq = command_uses_seq(command) ? ++c->seq : c->seq + 1;
    return cluster_command_as(c, c->client_id, seq, command, resp, timeout_ms);
}

int cluster_pipeline(struct cluster *c, const char *client_id, uint64_t first_seq, int count,
                     const char *command, int window, int timeout_ms)
{
    int leader = cluster_wait_leader(c, timeout_ms);
    if (leader < 0)
        return -1;
    return cluster_pipeline_to(c, leader, client_id, first_seq, count, command, window, timeout_ms);
}

int cluster_pipeline_to(struct cluster *c, int leader, const char *client_id, uint64_t first_seq,
                        int count, const char *command, int window, int timeout_ms)
{
    char err[128];
    timeout_ms = harness_scaled_ms(timeout_ms);
    int fd = tcp_connect_timeout(err, sizeof(err), "127.0.0.1", c->ports[leader], timeout_ms);
    if (fd < 0)
        return -1;
    uint64_t deadline = harness_now_ms() + (uint64_t)timeout_ms;
    int sent = 0, answered = 0, ok = 0;
    char line[1024], answer[4096];
    while (answered < count && harness_now_ms() < deadline) {
        while (sent < count && sent - answered < window) {
            struct client_request req = {.seq = first_seq + (uint64_t)sent};
            snprintf(req.client_id, sizeof(req.client_id), "%s", client_id);
            snprintf(req.command, sizeof(req.command), "%s", command);
            int len = client_request_encode(&req, line, sizeof(line));
            if (len < 0 || write(fd, line, (size_t)len) != len)
                goto out;
            sent++;
        }
        if (read_line(fd, answer, sizeof(answer), (int)(deadline - harness_now_ms())) != 0)
            goto out;
        struct client_response resp;
        if (client_response_decode(answer, strlen(answer), &resp, err, sizeof(err)) == 0 && resp.ok)
            ok++;
        answered++;
    }
out:
    close(fd);
    return ok;
}

int cluster_user_cli(struct cluster *c, struct subprocess_result *res, const char *first, ...)
{
    char bin[1100], n[12];
    snprintf(bin, sizeof(bin), "%s/user_cli", harness_bin_dir());
    snprintf(n, sizeof(n), "%d", c->n);
    char *argv[32] = {bin, n, "-c", c->ini, "--timeout", "10", (char *)first};
    int argc = 7;
    va_list ap;
    va_start(ap, first);
    for (const char *w; argc < 31 && (w = va_arg(ap, const char *)) != NULL;)
        argv[argc++] = (char *)w;
    va_end(ap);
    argv[argc] = NULL;
    if (subprocess_run(argv, NULL, harness_scaled_ms(60000), res) != 0)
        return -1;
    return res->timed_out ? -1 : 0;
}

int cluster_log_count(const struct cluster *c, int i, const char *needle)
{
    char path[600], line[2048];
    snprintf(path, sizeof(path), "%s/logs/peer%d.log", c->dir, i);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    int n = 0;
    while (fgets(line, sizeof(line), f))
        n += strstr(line, needle) != NULL;
    fclose(f);
    return n;
}
