/* etcd_cluster.c: see etcd_cluster.h. */
#include "bench/etcd_cluster.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench/etcd_client.h"
#include "bench/latency.h"

int etcd_find_binary(const char *given, char *out, size_t outlen, char *err, size_t errlen)
{
    const char *name = given && *given ? given : getenv("ETCD_BIN");
    if (!name || !*name)
        name = "etcd";
    if (strchr(name, '/')) {
        if (access(name, X_OK) != 0) {
            snprintf(err, errlen, "%s is not an executable file", name);
            return -1;
        }
        snprintf(out, outlen, "%s", name);
        return 0;
    }
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        size_t len = strcspn(path, ":");
        int n = snprintf(out, outlen, "%.*s/%s", (int)len, len ? path : ".", name);
        if (n > 0 && (size_t)n < outlen && access(out, X_OK) == 0)
            return 0;
        path += len;
        if (*path == ':')
            path++;
    }
    snprintf(err, errlen, "no '%s' in $PATH (Debian: apt-get install etcd-server)", name);
    return -1;
}

/* A free loopback port kept bound (SO_REUSEADDR, never listening) in *holder, so no
 * other program is handed it before etcd binds it (etcd sets SO_REUSEADDR too). */
static int hold_port(int *holder)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
        bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        close(fd);
        return -1;
    }
    *holder = fd;
    return ntohs(a.sin_port);
}

static void release_ports(struct etcd_cluster *ec)
{
    for (int i = 0; i < 2 * ETCD_MAX_MEMBERS; i++) {
        if (ec->holders[i] >= 0)
            close(ec->holders[i]);
        ec->holders[i] = -1;
    }
}

static pid_t start_member(const struct etcd_cluster *ec, int i, const char *bin,
                          const char *initial)
{
    char name[16], data[320], log[320], client[64], peer[64], token[64];
    snprintf(name, sizeof(name), "m%d", i + 1);
    snprintf(data, sizeof(data), "%s/m%d", ec->dir, i + 1);
    snprintf(log, sizeof(log), "%s/m%d.log", ec->dir, i + 1);
    snprintf(client, sizeof(client), "http://127.0.0.1:%d", ec->client_ports[i]);
    snprintf(peer, sizeof(peer), "http://127.0.0.1:%d", ec->peer_ports[i]);
    snprintf(token, sizeof(token), "raftvillage-bench-%d", (int)getpid());
    /* Everything else is etcd's default: heartbeat 100 ms, election 1000 ms, and the
     * WAL fsynced before an entry is acknowledged. warn matches our peers' log level. */
    char *const argv[] = {(char *)bin,
                          "--name",
                          name,
                          "--data-dir",
                          data,
                          "--listen-client-urls",
                          client,
                          "--advertise-client-urls",
                          client,
                          "--listen-peer-urls",
                          peer,
                          "--initial-advertise-peer-urls",
                          peer,
                          "--initial-cluster",
                          (char *)initial,
                          "--initial-cluster-token",
                          token,
                          "--initial-cluster-state",
                          "new",
                          "--logger",
                          "zap",
                          "--log-outputs",
                          "stderr",
                          "--log-level",
                          "warn",
                          NULL};
    pid_t pid = fork();
    if (pid != 0)
        return pid;
    /* The child: never outlive the bench, whatever kills it. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() == 1)
        _exit(127);
    int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int devnull = open("/dev/null", O_RDONLY);
    if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
    }
    if (devnull >= 0)
        dup2(devnull, 0);
    execv(bin, argv);
    fprintf(stderr, "exec %s: %s\n", bin, strerror(errno));
    _exit(127);
}

int etcd_cluster_start(struct etcd_cluster *ec, int n, const char *bin, char *err, size_t errlen)
{
    memset(ec, 0, sizeof(*ec));
    for (int i = 0; i < 2 * ETCD_MAX_MEMBERS; i++)
        ec->holders[i] = -1;
    if (n < 1 || n > ETCD_MAX_MEMBERS) {
        snprintf(err, errlen, "etcd: 1..%d members", ETCD_MAX_MEMBERS);
        return -1;
    }
    snprintf(ec->dir, sizeof(ec->dir), "/tmp/raftvillage-etcd-XXXXXX");
    if (!mkdtemp(ec->dir)) {
        snprintf(err, errlen, "mkdtemp: %s", strerror(errno));
        ec->dir[0] = 0;
        return -1;
    }
    char initial[ETCD_MAX_MEMBERS * 48] = "";
    size_t used = 0;
    for (int i = 0; i < n; i++) {
        ec->client_ports[i] = hold_port(&ec->holders[2 * i]);
        ec->peer_ports[i] = hold_port(&ec->holders[2 * i + 1]);
        if (ec->client_ports[i] < 0 || ec->peer_ports[i] < 0) {
            snprintf(err, errlen, "no free loopback port: %s", strerror(errno));
            etcd_cluster_stop(ec);
            return -1;
        }
        used +=
            (size_t)snprintf(initial + used, sizeof(initial) - used, "%sm%d=http://127.0.0.1:%d",
                             i ? "," : "", i + 1, ec->peer_ports[i]);
        snprintf(ec->targets[i].name, sizeof(ec->targets[i].name), "m%d", i + 1);
        snprintf(ec->targets[i].host, sizeof(ec->targets[i].host), "127.0.0.1");
        ec->targets[i].port = ec->client_ports[i];
    }
    ec->n = n;
    for (int i = 0; i < n; i++) {
        ec->pids[i] = start_member(ec, i, bin, initial);
        if (ec->pids[i] < 0) {
            snprintf(err, errlen, "fork: %s", strerror(errno));
            ec->pids[i] = 0;
            etcd_cluster_stop(ec);
            return -1;
        }
    }
    return 0;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

int etcd_cluster_leader(struct etcd_cluster *ec, int timeout_ms, char *err, size_t errlen)
{
    uint64_t deadline = bench_now_us() + (uint64_t)timeout_ms * 1000u;
    snprintf(err, errlen, "no answer yet");
    for (;;) {
        for (int i = 0; i < ec->n; i++) {
            int status;
            if (ec->pids[i] > 0 && waitpid(ec->pids[i], &status, WNOHANG) == ec->pids[i]) {
                ec->pids[i] = 0;
                snprintf(err, errlen, "etcd member m%d exited", i + 1);
                return -1;
            }
        }
        uint64_t ids[ETCD_MAX_MEMBERS], leader = 0;
        bool all = true, agree = true;
        for (int i = 0; i < ec->n && all; i++) {
            struct etcd_answer a;
            char why[200];
            if (etcd_call("127.0.0.1", ec->client_ports[i], "/v3/maintenance/status", "{}", 1000,
                          &a, why, sizeof(why)) != 0) {
                snprintf(err, errlen, "m%d: %s", i + 1, why);
                all = false;
                break;
            }
            if (!a.ok) {
                snprintf(err, errlen, "m%d: %s", i + 1, a.error);
                all = false;
                break;
            }
            ids[i] = a.member_id;
            if (i == 0)
                leader = a.leader;
            agree = agree && a.leader != 0 && a.leader == leader;
        }
        if (all && agree) {
            for (int i = 0; i < ec->n; i++)
                if (ids[i] == leader) {
                    release_ports(ec); /* every member listens: the holders can go */
                    return i;
                }
            snprintf(err, errlen, "the leader %llu is none of the members",
                     (unsigned long long)leader);
        } else if (all) {
            snprintf(err, errlen, "the members do not agree on a leader yet");
        }
        if (bench_now_us() >= deadline)
            return -1;
        sleep_ms(50);
    }
}

void etcd_cluster_log_tail(const struct etcd_cluster *ec, int i, char *out, size_t outlen)
{
    char path[320];
    out[0] = 0;
    snprintf(path, sizeof(path), "%s/m%d.log", ec->dir, i + 1);
    FILE *f = fopen(path, "r");
    if (!f || outlen < 2)
        goto out;
    long keep = (long)outlen - 1;
    if (fseek(f, 0, SEEK_END) == 0 && ftell(f) > keep)
        fseek(f, -keep, SEEK_END);
    else
        rewind(f);
    size_t n = fread(out, 1, outlen - 1, f);
    out[n] = 0;
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        out[--n] = 0;
    /* From the start of the last line that is whole in the window. */
    char *nl = strrchr(out, '\n');
    if (nl)
        memmove(out, nl + 1, strlen(nl + 1) + 1);
out:
    if (f)
        fclose(f);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

void etcd_cluster_stop(struct etcd_cluster *ec)
{
    for (int i = 0; i < ec->n; i++)
        if (ec->pids[i] > 0)
            kill(ec->pids[i], SIGTERM);
    uint64_t deadline = bench_now_us() + 5000000u;
    for (int i = 0; i < ec->n; i++) {
        while (ec->pids[i] > 0) {
            int status;
            pid_t got = waitpid(ec->pids[i], &status, WNOHANG);
            if (got == ec->pids[i] || (got < 0 && errno == ECHILD)) {
                ec->pids[i] = 0;
                break;
            }
            if (bench_now_us() >= deadline) {
                kill(ec->pids[i], SIGKILL);
                waitpid(ec->pids[i], &status, 0);
                ec->pids[i] = 0;
                break;
            }
            sleep_ms(10);
        }
    }
    release_ports(ec);
    if (ec->dir[0] && !getenv("RAFT_KEEP_TEST_DIRS"))
        nftw(ec->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    ec->dir[0] = 0;
    ec->n = 0;
}
