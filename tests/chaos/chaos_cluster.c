/* chaos_cluster.c: see chaos_cluster.h. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/error_message.h"
#include "common/client_protocol.h"
#include "common/net.h"
#include "tests/chaos/chaos_cluster.h"

#define STATUS_LINE_MAX 16384

uint64_t chaos_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t chaos_now_ms(void)
{
    return chaos_now_us() / 1000u;
}

void chaos_sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

/* Only when the network namespaces are missing do peers share our loopback, and then
 * their ports must be free ones (another test may run beside us). The port stays bound
 * to *holder (SO_REUSEADDR, never listening) until the cluster is destroyed: the peer,
 * which sets SO_REUSEADDR too, binds and listens there, but the kernel hands the port to
 * no other program, not even while the nemesis keeps the peer down. */
static int free_port(int *holder)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    int port = -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
        bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    if (port > 0)
        *holder = fd;
    else
        close(fd);
    return port;
}

int chaos_cluster_create(struct chaos_cluster *c, int n, int bootstrap, struct netfault *nf,
                         const char *bin_dir, const char *extra_raft, char *err, size_t errlen)
{
    memset(c, 0, sizeof(*c));
    if (n < 1 || n > CHAOS_MAX_PEERS || bootstrap < 1 || bootstrap > n) {
        set_err(err, errlen, "cluster size %d out of 1..%d, or %d members at the start", n,
                CHAOS_MAX_PEERS, bootstrap);
        return -1;
    }
    c->n = n;
    c->bootstrap = bootstrap;
    c->nf = nf;
    for (int i = 0; i <= CHAOS_MAX_PEERS; i++)
        c->peer[i].port_holder = -1;
    snprintf(c->prog, sizeof(c->prog), "%s/raft_peer", bin_dir);
    if (access(c->prog, X_OK) != 0) {
        set_err(err, errlen, "%s: %s (run make first)", c->prog, strerror(errno));
        return -1;
    }
    snprintf(c->dir, sizeof(c->dir), "/tmp/raft-chaos-XXXXXX");
    if (!mkdtemp(c->dir)) {
        set_err(err, errlen, "mkdtemp: %s", strerror(errno));
        c->dir[0] = 0;
        return -1;
    }
    snprintf(c->ini, sizeof(c->ini), "%s/raft.ini", c->dir);
    FILE *f = fopen(c->ini, "w");
    if (!f) {
        set_err(err, errlen, "%s: %s", c->ini, strerror(errno));
        return -1;
    }
    fprintf(f,
            "[raft]\nelection_timeout_min = 150\nelection_timeout_max = 300\n"
            "heartbeat_interval = 50\ndata_dir = %s/data\nlog_dir = %s/logs\n",
            c->dir, c->dir);
    if (extra_raft)
        fprintf(f, "%s\n", extra_raft);
    fprintf(f, "\n[game]\nhost = 127.0.0.1\nport = 7999\n");
    for (int i = 1; i <= n; i++) {
        struct chaos_peer *p = &c->peer[i];
        snprintf(p->name, sizeof(p->name), "peer%d", i);
        p->member = i <= bootstrap;
        netfault_host(nf, i, p->host, sizeof(p->host));
        if (nf->private_ns) {
            p->port = 7000 + i; /* our own network: every port is ours */
        } else {
            p->port = free_port(&p->port_holder); /* held ports are distinct */
            if (p->port < 0) {
                set_err(err, errlen, "no free port for %s: %s", p->name, strerror(errno));
                fclose(f);
                return -1;
            }
        }
        fprintf(f, "\n[%s]\nhost = %s\nport = %d\n", p->name, p->host, p->port);
    }
    if (fclose(f) != 0) {
        set_err(err, errlen, "%s: %s", c->ini, strerror(errno));
        return -1;
    }
    return 0;
}

static void tail_of(const char *path, char *out, size_t outlen)
{
    out[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        size_t len = strlen(line);
        if (len >= outlen)
            len = outlen - 1;
        memcpy(out, line, len);
        out[len] = 0;
    }
    fclose(f);
    size_t len = strlen(out);
    if (len && out[len - 1] == '\n')
        out[len - 1] = 0;
}

int chaos_cluster_start(struct chaos_cluster *c, int i, char *err, size_t errlen)
{
    if (i < 1 || i > c->n) {
        set_err(err, errlen, "no peer %d", i);
        return -1;
    }
    struct chaos_peer *p = &c->peer[i];
    if (p->pid > 0)
        return 0;
    char count[16], out[400];
    snprintf(count, sizeof(count), "%d", c->bootstrap);
    snprintf(out, sizeof(out), "%s/%s.out", c->dir, p->name);
    /* A restarted peer is started as it was first: a joined one must never be given N,
     * which on its wiped directory would bootstrap a second cluster of voters 1..N. */
    char *argv[] = {c->prog, p->name, p->join ? "--join" : count, "-c", c->ini, NULL};
    pid_t pid = fork();
    if (pid < 0) {
        set_err(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* Async-signal-safe only: the clients' threads exist in the parent. */
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* no peer outlives a crashed chaos run */
        int fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        if (netfault_enter(c->nf, i) != 0)
            _exit(126);
        execv(c->prog, argv);
        _exit(127);
    }
    p->pid = pid;
    p->frozen = false;
    uint64_t deadline = chaos_now_ms() + 10000;
    while (chaos_now_ms() < deadline) {
        char e[128];
        int fd = tcp_connect_timeout(e, sizeof(e), p->host, p->port, 200);
        if (fd >= 0) {
            close(fd);
            return 0;
        }
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            p->pid = 0;
            char last[300];
            tail_of(out, last, sizeof(last));
            set_err(err, errlen, "%s exited at start (status %d): %s", p->name, status, last);
            return -1;
        }
        chaos_sleep_ms(10);
    }
    set_err(err, errlen, "%s does not accept connections on %s:%d after 10 s", p->name, p->host,
            p->port);
    return -1;
}

void chaos_cluster_kill(struct chaos_cluster *c, int i)
{
    struct chaos_peer *p = &c->peer[i];
    if (p->pid <= 0)
        return;
    kill(p->pid, SIGKILL);
    while (waitpid(p->pid, NULL, 0) < 0 && errno == EINTR) {
    }
    p->pid = 0;
    p->frozen = false;
}

void chaos_cluster_freeze(struct chaos_cluster *c, int i, bool frozen)
{
    struct chaos_peer *p = &c->peer[i];
    if (p->pid <= 0 || p->frozen == frozen)
        return;
    kill(p->pid, frozen ? SIGSTOP : SIGCONT);
    p->frozen = frozen;
}

int chaos_cluster_exited(struct chaos_cluster *c, int i, int *status)
{
    struct chaos_peer *p = &c->peer[i];
    if (p->pid <= 0)
        return 0;
    if (waitpid(p->pid, status, WNOHANG) != p->pid)
        return 0;
    p->pid = 0;
    p->frozen = false;
    return 1;
}

/* Removes everything under path (a directory), without following symbolic links. */
static int remove_tree_at(int parent, const char *name, char *err, size_t errlen)
{
    int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
            return 0;
        set_err(err, errlen, "unlink %s: %s", name, strerror(errno));
        return -1;
    }
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        set_err(err, errlen, "opendir %s: %s", name, strerror(errno));
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            rc = remove_tree_at(dirfd(d), e->d_name, err, errlen);
    closedir(d);
    if (rc == 0 && unlinkat(parent, name, AT_REMOVEDIR) != 0 && errno != ENOENT) {
        set_err(err, errlen, "rmdir %s: %s", name, strerror(errno));
        rc = -1;
    }
    return rc;
}

int chaos_cluster_wipe(struct chaos_cluster *c, int i, char *err, size_t errlen)
{
    struct chaos_peer *p = &c->peer[i];
    if (p->pid > 0) {
        set_err(err, errlen, "%s is running: kill it before wiping its disk", p->name);
        return -1;
    }
    char path[400];
    snprintf(path, sizeof(path), "%s/data/%s", c->dir, p->name);
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
        p->join = true; /* never started: nothing to wipe */
        return 0;
    }
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int rc = 0;
    struct dirent *e;
    /* The lazyfs control file is the mount's, not the peer's. */
    while (rc == 0 && (e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") && strcmp(e->d_name, ".lazyfs_ctl"))
            rc = remove_tree_at(dirfd(d), e->d_name, err, errlen);
    /* Durable, so that a later power cut cannot bring the old disk back. */
    if (rc == 0 && fsync(dirfd(d)) != 0) {
        set_err(err, errlen, "fsync %s: %s", path, strerror(errno));
        rc = -1;
    }
    closedir(d);
    if (rc == 0)
        p->join = true;
    return rc;
}

int chaos_cluster_members(const struct chaos_cluster *c, int *out)
{
    int k = 0;
    for (int i = 1; i <= c->n; i++)
        if (c->peer[i].member)
            out[k++] = i;
    return k;
}

void chaos_cluster_destroy(struct chaos_cluster *c, bool keep_dir)
{
    for (int i = 1; i <= c->n; i++) {
        chaos_cluster_kill(c, i);
        if (c->peer[i].port_holder >= 0)
            close(c->peer[i].port_holder);
        c->peer[i].port_holder = -1;
    }
    if (c->dir[0] && !keep_dir) {
        pid_t pid = fork();
        if (pid == 0) {
            execlp("rm", "rm", "-rf", c->dir, (char *)NULL);
            _exit(127);
        }
        if (pid > 0)
            while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
            }
    }
}

static int read_line(int fd, char *out, size_t outlen, uint64_t deadline_ms)
{
    size_t used = 0;
    while (used + 1 < outlen) {
        uint64_t now = chaos_now_ms();
        if (now >= deadline_ms)
            return -1;
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int r = poll(&pfd, 1, (int)(deadline_ms - now));
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        ssize_t got = recv(fd, out + used, outlen - 1 - used, MSG_PEEK);
        if (got <= 0)
            return -1;
        char *nl = memchr(out + used, '\n', (size_t)got);
        size_t take = nl ? (size_t)(nl - (out + used)) + 1 : (size_t)got;
        if (recv(fd, out + used, take, 0) != (ssize_t)take)
            return -1;
        used += take;
        if (nl) {
            out[used - 1] = 0;
            return 0;
        }
    }
    return -1; /* longer than the buffer */
}

int chaos_exchange(const char *host, int port, const char *line, char *out, size_t outlen,
                   int timeout_ms)
{
    uint64_t deadline = chaos_now_ms() + (uint64_t)timeout_ms;
    char e[128];
    int fd = tcp_connect_timeout(e, sizeof(e), host, port, timeout_ms);
    if (fd < 0)
        return -1;
    size_t len = strlen(line), done = 0;
    int rc = 0;
    while (done < len && rc == 0) {
        ssize_t w = send(fd, line + done, len - done, MSG_NOSIGNAL);
        if (w > 0)
            done += (size_t)w;
        else if (!(w < 0 && errno == EINTR))
            rc = -1;
    }
    if (rc == 0)
        rc = read_line(fd, out, outlen, deadline);
    close(fd);
    return rc;
}

int chaos_peer_number(const struct chaos_cluster *c, const char *name)
{
    for (int i = 1; i <= c->n; i++)
        if (name && !strcmp(name, c->peer[i].name))
            return i;
    return 0;
}

/* An array of peer names as a bit mask over this cluster's peer numbers. */
static unsigned names_mask(const struct chaos_cluster *c, struct json_object *o, const char *key)
{
    struct json_object *a;
    unsigned mask = 0;
    if (!json_object_object_get_ex(o, key, &a) || !json_object_is_type(a, json_type_array))
        return 0;
    size_t len = json_object_array_length(a);
    for (size_t k = 0; k < len; k++) {
        struct json_object *e = json_object_array_get_idx(a, k);
        int i = json_object_is_type(e, json_type_string)
                    ? chaos_peer_number(c, json_object_get_string(e))
                    : 0;
        if (i > 0)
            mask |= 1u << i;
    }
    return mask;
}

int chaos_cluster_status(const struct chaos_cluster *c, int i, struct chaos_status *st,
                         int timeout_ms)
{
    memset(st, 0, sizeof(*st));
    if (i < 1 || i > c->n || c->peer[i].pid <= 0 || c->peer[i].frozen)
        return -1;
    char *line = malloc(STATUS_LINE_MAX);
    if (!line)
        return -1;
    int rc = -1;
    struct json_object *o = NULL, *v;
    char e[128];
    if (chaos_exchange(c->peer[i].host, c->peer[i].port, "{\"type\":\"status\"}\n", line,
                       STATUS_LINE_MAX, timeout_ms) != 0 ||
        json_line_parse(line, strlen(line), STATUS_LINE_MAX, &o, e, sizeof(e)) != 0)
        goto out;
    const char *role;
    size_t role_len;
    if (json_get_string(o, "role", &role, &role_len, e, sizeof(e)) != 0 ||
        role_len >= sizeof(st->role) || json_get_u64(o, "term", &st->term, e, sizeof(e)) != 0 ||
        json_get_u64(o, "commit_index", &st->commit_index, e, sizeof(e)) != 0 ||
        json_get_u64(o, "last_applied", &st->last_applied, e, sizeof(e)) != 0 ||
        json_get_u64(o, "log_length", &st->log_length, e, sizeof(e)) != 0)
        goto out;
    memcpy(st->role, role, role_len);
    st->role[role_len] = 0;
    if (json_object_object_get_ex(o, "leader", &v) && json_object_is_type(v, json_type_string))
        st->leader = chaos_peer_number(c, json_object_get_string(v));
    if (json_object_object_get_ex(o, "stopped", &v) && json_object_is_type(v, json_type_boolean))
        st->stopped = json_object_get_boolean(v);
    st->voters = names_mask(c, o, "voters");
    st->learners = names_mask(c, o, "learners");
    if (json_object_object_get_ex(o, "config_pending", &v) &&
        json_object_is_type(v, json_type_boolean))
        st->config_pending = json_object_get_boolean(v);
    rc = 0;
out:
    json_object_put(o);
    free(line);
    return rc;
}

int chaos_cluster_find_leader(const struct chaos_cluster *c, int timeout_ms)
{
    uint64_t deadline = chaos_now_ms() + (uint64_t)timeout_ms;
    do {
        int leader = -1, leaders = 0;
        uint64_t term = 0;
        for (int i = 1; i <= c->n; i++) {
            struct chaos_status st;
            if (chaos_cluster_status(c, i, &st, 500) != 0)
                continue;
            if (st.term > term) {
                term = st.term;
                leaders = 0;
                leader = -1;
            }
            if (st.term == term && !strcmp(st.role, "leader")) {
                leader = i;
                leaders++;
            }
        }
        if (leaders == 1)
            return leader;
        chaos_sleep_ms(20);
    } while (chaos_now_ms() < deadline);
    return -1;
}
