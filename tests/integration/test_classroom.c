/* test_classroom.c: the classroom of docs/CLASSROOM.md beyond loopback. Three "laptops"
 * and a "projector", each a network namespace with its own address on one LAN, run one
 * peer each from one shared ini that names those addresses (and a cluster token); the
 * test itself sits on the projector, where it listens for the game stream at the ini's
 * [game] address and runs user_cli: a write, a read, status, network faults sent from
 * another machine (with the token; refused with a wrong one), the leader's laptop
 * crashing (a new leader is elected and writes go on) and coming back (it recovers from
 * its data directory and catches up). A second test runs the class without a token:
 * the projector's control messages are then refused.
 *
 * The network (needs root and iproute2's ip; skipped otherwise):
 *
 *   the room: a network namespace private to this test process, holding the switch,
 *             a bridge cls0
 *   laptop I (I = 1..3): a namespace, 10.77.0.I/24 on eth0, veth clvI on the switch;
 *             runs `raft_peer peerI 3 -v -c class.ini` from its own directory
 *   projector: a namespace, 10.77.0.10/24; the test moves there after building the room
 *
 * Every namespace is private to this test process: nothing changes on the machine, and
 * everything vanishes when the test's processes are gone. Peers die with the test
 * (PR_SET_PDEATHSIG), even when it is killed at its timeout; the fini kills them too and
 * removes the /tmp/raft-classroom-XXXXXX directory (kept with RAFT_KEEP_TEST_DIRS, and
 * left behind only when the test is killed). The addresses and ports are fixed: no
 * other program can see these namespaces. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/net.h"
#include "tests/lib/cluster.h"
#include "tests/lib/netns.h"
#include "tests/lib/subprocess.h"

#define N_LAPTOPS      3
#define PROJECTOR      4 /* index of the projector's namespace */
#define SUBNET         "10.77.0"
#define PROJECTOR_HOST SUBNET ".10"
#define GAME_PORT      7000
#define PEER_PORT_BASE 6000
#define TOKEN          "classroom-secret"
#define LEADER_WAIT_MS 20000
#define LISTEN_WAIT_MS 15000
#define STREAM_WAIT_MS 15000

static struct {
    char ip_prog[64];
    int home_ns; /* the namespace the test started in (-1 = none) */
    int room_ns; /* the switch's namespace: it, its bridge and veths live while this is open */
    int ns[PROJECTOR + 1];     /* laptops 1..3 and the projector */
    pid_t pids[N_LAPTOPS + 1]; /* the peers */
    int game_fd;               /* the projector's [game] socket */
    char dir[256];             /* class.ini, wrong.ini, laptopI/ */
    char ini[320], wrong_ini[320];
    char bin_dir[PATH_MAX];
} w = {.home_ns = -1, .room_ns = -1, .ns = {-1, -1, -1, -1, -1}, .game_fd = -1};

static struct subprocess_result res; /* large: off the test's stack */

/* --- the room ------------------------------------------------------------------------- */

/* Host h (1..3 a laptop, PROJECTOR the projector) on the room's switch. */
static int plug_in(int h, char *err, size_t errlen)
{
    pid_t holder = -1;
    int addr = h == PROJECTOR ? 10 : h;
    int rc = netns_new(&w.ns[h], &holder, err, errlen);
    if (rc == 0)
        rc = netns_ip(w.ip_prog, -1, err, errlen,
                      "link add clv%d type veth peer name eth0 netns %d", h, (int)holder);
    netns_reap(holder);
    if (rc == 0)
        rc = netns_ip(w.ip_prog, -1, err, errlen, "link set clv%d master cls0 up", h);
    if (rc == 0)
        rc = netns_ip(w.ip_prog, w.ns[h], err, errlen, "link set lo up");
    if (rc == 0)
        rc = netns_ip(w.ip_prog, w.ns[h], err, errlen, "addr add " SUBNET ".%d/24 dev eth0", addr);
    if (rc == 0)
        rc = netns_ip(w.ip_prog, w.ns[h], err, errlen, "link set eth0 up");
    return rc;
}

/* Builds the room and moves the test onto the projector. Skips the test when it cannot. */
static void build_room(void)
{
    if (geteuid() != 0)
        cr_skip_test("needs root to make network namespaces");
    if (netns_find_ip(w.ip_prog, sizeof(w.ip_prog)) != 0)
        cr_skip_test("needs iproute2's ip (scripts/install-deps.sh installs it)");
    w.home_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (w.home_ns < 0 || unshare(CLONE_NEWNET) != 0)
        cr_skip_test("cannot make a network namespace: %s", strerror(errno));
    w.room_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    char err[300] = "";
    int rc = w.room_ns >= 0 ? 0 : -1;
    if (rc == 0)
        rc = netns_ip(w.ip_prog, -1, err, sizeof(err), "link set lo up");
    if (rc == 0)
        rc = netns_ip(w.ip_prog, -1, err, sizeof(err), "link add cls0 type bridge");
    if (rc == 0)
        rc = netns_ip(w.ip_prog, -1, err, sizeof(err), "link set cls0 up");
    for (int h = 1; rc == 0 && h <= PROJECTOR; h++)
        rc = plug_in(h, err, sizeof(err));
    if (rc != 0)
        cr_skip_test("cannot build the classroom network (%s)", err);
    cr_assert_eq(setns(w.ns[PROJECTOR], CLONE_NEWNET), 0, "cannot move to the projector: %s",
                 strerror(errno));
}

/* --- the class ------------------------------------------------------------------------ */

static void write_ini(const char *path, const char *token)
{
    FILE *f = fopen(path, "w");
    cr_assert(f != NULL, "cannot write %s", path);
    fprintf(f,
            "; the classroom's ini: every laptop and the projector use the same file\n"
            "[raft]\n"
            "election_timeout_min = %d\n"
            "election_timeout_max = %d\n"
            "heartbeat_interval = %d\n"
            "%s%s\n\n"
            "[game]\n"
            "host = " PROJECTOR_HOST "\n"
            "port = %d\n",
            harness_scaled_ms(CLUSTER_STEADY_TIMEOUT_MIN),
            harness_scaled_ms(CLUSTER_STEADY_TIMEOUT_MAX), harness_scaled_ms(100),
            token ? "token = " : "; no token", token ? token : "", GAME_PORT);
    for (int i = 1; i <= N_LAPTOPS; i++)
        fprintf(f, "\n[peer%d]\nhost = " SUBNET ".%d\nport = %d\n", i, i, PEER_PORT_BASE + i);
    cr_assert_eq(fclose(f), 0);
}

/* class.ini with the token (NULL: none), and wrong.ini with another one. */
static void prepare_class(const char *token)
{
    /* Absolute: each laptop runs its peer from a directory of its own. */
    cr_assert(realpath(harness_bin_dir(), w.bin_dir) != NULL, "no bin dir %s: %s",
              harness_bin_dir(), strerror(errno));
    snprintf(w.dir, sizeof(w.dir), "/tmp/raft-classroom-XXXXXX");
    cr_assert(mkdtemp(w.dir) != NULL, "mkdtemp: %s", strerror(errno));
    snprintf(w.ini, sizeof(w.ini), "%s/class.ini", w.dir);
    snprintf(w.wrong_ini, sizeof(w.wrong_ini), "%s/wrong.ini", w.dir);
    write_ini(w.ini, token);
    write_ini(w.wrong_ini, "not-the-" TOKEN);
    for (int i = 1; i <= N_LAPTOPS; i++) {
        char d[300];
        snprintf(d, sizeof(d), "%s/laptop%d", w.dir, i);
        cr_assert_eq(mkdir(d, 0755), 0, "mkdir %s: %s", d, strerror(errno));
    }
}

/* The projector's game: a UDP socket bound to the ini's [game] address. */
static void open_game_socket(void)
{
    w.game_fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    cr_assert_geq(w.game_fd, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(GAME_PORT)};
    cr_assert_eq(inet_pton(AF_INET, PROJECTOR_HOST, &a.sin_addr), 1);
    cr_assert_eq(bind(w.game_fd, (struct sockaddr *)&a, sizeof(a)), 0, "bind %s:%d: %s",
                 PROJECTOR_HOST, GAME_PORT, strerror(errno));
}

static bool peer_listens(int i, int timeout_ms)
{
    char host[32], err[200];
    snprintf(host, sizeof(host), SUBNET ".%d", i);
    uint64_t deadline = harness_now_ms() + (uint64_t)timeout_ms;
    do {
        int fd = tcp_connect_timeout(err, sizeof(err), host, PEER_PORT_BASE + i, 1000);
        if (fd >= 0) {
            close(fd);
            return true;
        }
        harness_sleep_ms(50);
    } while (harness_now_ms() < deadline);
    return false;
}

/* A student opens laptop i and runs `raft_peer peerI 3 -v -c class.ini` in laptopI/. */
static void start_laptop(int i)
{
    char prog[PATH_MAX + 16], name[16], dir[300], out[320];
    snprintf(prog, sizeof(prog), "%s/raft_peer", w.bin_dir);
    snprintf(name, sizeof(name), "peer%d", i);
    snprintf(dir, sizeof(dir), "%s/laptop%d", w.dir, i);
    snprintf(out, sizeof(out), "%s/laptop%d/peer.out", w.dir, i);
    char *argv[] = {prog, name, "3", "-v", "-c", w.ini, NULL};
    pid_t pid = fork();
    cr_assert_geq(pid, 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        /* Only async-signal-safe calls between fork and exec. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (setns(w.ns[i], CLONE_NEWNET) != 0 || chdir(dir) != 0)
            _exit(126);
        int fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(prog, argv);
        _exit(127);
    }
    w.pids[i] = pid;
    cr_assert(peer_listens(i, harness_scaled_ms(LISTEN_WAIT_MS)),
              "peer%d does not listen on " SUBNET ".%d:%d (see %s)", i, i, PEER_PORT_BASE + i, out);
}

/* The laptop's lid closes: to the others, its peer crashed. */
static void crash_laptop(int i)
{
    if (w.pids[i] <= 0)
        return;
    kill(w.pids[i], SIGKILL);
    while (waitpid(w.pids[i], NULL, 0) < 0 && errno == EINTR) {
    }
    w.pids[i] = 0;
}

static void teardown(void)
{
    for (int i = 1; i <= N_LAPTOPS; i++)
        crash_laptop(i);
    if (w.game_fd >= 0)
        close(w.game_fd);
    w.game_fd = -1;
    if (w.home_ns >= 0 && setns(w.home_ns, CLONE_NEWNET) != 0)
        fprintf(stderr, "test_classroom: cannot go back to the first namespace: %s\n",
                strerror(errno));
    /* The last references: the namespaces, veths and bridge vanish with them. */
    for (int h = 0; h <= PROJECTOR; h++) {
        if (w.ns[h] >= 0)
            close(w.ns[h]);
        w.ns[h] = -1;
    }
    if (w.room_ns >= 0)
        close(w.room_ns);
    if (w.home_ns >= 0)
        close(w.home_ns);
    w.room_ns = w.home_ns = -1;
    if (w.dir[0] && !getenv("RAFT_KEEP_TEST_DIRS")) {
        char cmd[400];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", w.dir);
        if (system(cmd) != 0)
            fprintf(stderr, "test_classroom: cannot remove %s\n", w.dir);
    }
    w.dir[0] = 0;
}

/* --- talking to the class from the projector ------------------------------------------ */

/* Runs user_cli 3 -c INI --timeout 10 WORDS... (NULL-terminated) on the projector. */
static void cli_with(const char *ini, const char *first, ...)
{
    char bin[PATH_MAX + 16];
    snprintf(bin, sizeof(bin), "%s/user_cli", w.bin_dir);
    char timeout[16];
    snprintf(timeout, sizeof(timeout), "%d", 10 * harness_timeout_scale());
    char *argv[32] = {bin, "3", "-c", (char *)ini, "--timeout", timeout, (char *)first};
    int argc = 7;
    va_list ap;
    va_start(ap, first);
    for (const char *a; argc < 31 && (a = va_arg(ap, const char *)) != NULL;)
        argv[argc++] = (char *)a;
    va_end(ap);
    argv[argc] = NULL;
    cr_assert_eq(subprocess_run(argv, NULL, harness_scaled_ms(60000), &res), 0);
    cr_assert(!res.timed_out, "user_cli hung; out: %s err: %s", res.out, res.err);
}

struct laptop_status {
    char role[24];
    uint64_t term;
    char leader[40];
    uint64_t last_applied;
};

/* {"type":"status"} to laptop i over the LAN. 0 or -1 (no answer). */
static int status_of(int i, struct laptop_status *st)
{
    char host[32], err[200], line[8192];
    memset(st, 0, sizeof(*st));
    snprintf(host, sizeof(host), SUBNET ".%d", i);
    int timeout = harness_scaled_ms(2000);
    int fd = tcp_connect_timeout(err, sizeof(err), host, PEER_PORT_BASE + i, timeout);
    if (fd < 0)
        return -1;
    static const char ask[] = "{\"type\":\"status\"}\n";
    size_t used = 0;
    int rc = -1;
    if (write(fd, ask, sizeof(ask) - 1) == (ssize_t)(sizeof(ask) - 1) &&
        set_io_timeout(err, sizeof(err), fd, timeout) == 0) {
        ssize_t n;
        while (used + 1 < sizeof(line) &&
               (n = read(fd, line + used, sizeof(line) - 1 - used)) > 0) {
            used += (size_t)n;
            if (memchr(line, '\n', used)) {
                rc = 0;
                break;
            }
        }
    }
    close(fd);
    if (rc != 0)
        return -1;
    line[used] = 0;
    struct json_object *o = json_tokener_parse(line), *v;
    if (!o)
        return -1;
    if (json_object_object_get_ex(o, "role", &v))
        snprintf(st->role, sizeof(st->role), "%s", json_object_get_string(v));
    if (json_object_object_get_ex(o, "term", &v))
        st->term = (uint64_t)json_object_get_int64(v);
    if (json_object_object_get_ex(o, "leader", &v) && json_object_is_type(v, json_type_string))
        snprintf(st->leader, sizeof(st->leader), "%s", json_object_get_string(v));
    if (json_object_object_get_ex(o, "last_applied", &v))
        st->last_applied = (uint64_t)json_object_get_int64(v);
    json_object_put(o);
    return 0;
}

/* Waits for a leader in a term above min_term, other than not_this, that every other
 * live laptop follows. Its number, or -1. */
static int wait_leader(uint64_t min_term, int not_this)
{
    uint64_t deadline = harness_now_ms() + (uint64_t)harness_scaled_ms(LEADER_WAIT_MS);
    while (harness_now_ms() < deadline) {
        for (int i = 1; i <= N_LAPTOPS; i++) {
            struct laptop_status st;
            if (i == not_this || w.pids[i] <= 0 || status_of(i, &st) != 0 ||
                strcmp(st.role, "leader") != 0 || st.term < min_term)
                continue;
            bool agreed = true;
            for (int j = 1; j <= N_LAPTOPS && agreed; j++) {
                struct laptop_status o;
                char name[16];
                snprintf(name, sizeof(name), "peer%d", i);
                if (j != i && w.pids[j] > 0)
                    agreed =
                        status_of(j, &o) == 0 && o.term == st.term && strcmp(o.leader, name) == 0;
            }
            if (agreed)
                return i;
        }
        harness_sleep_ms(100);
    }
    return -1;
}

/* Reads the game socket until a `state` datagram from every laptop has come, each from
 * that laptop's own address. */
static void expect_game_stream(void)
{
    bool seen[N_LAPTOPS + 1] = {false};
    int missing = N_LAPTOPS;
    char buf[9000];
    uint64_t deadline = harness_now_ms() + (uint64_t)harness_scaled_ms(STREAM_WAIT_MS);
    while (missing > 0 && harness_now_ms() < deadline) {
        struct pollfd pfd = {.fd = w.game_fd, .events = POLLIN};
        if (poll(&pfd, 1, 200) <= 0)
            continue;
        struct sockaddr_in from;
        socklen_t fl = sizeof(from);
        ssize_t n = recvfrom(w.game_fd, buf, sizeof(buf) - 1, 0, (struct sockaddr *)&from, &fl);
        if (n <= 0)
            continue;
        buf[n] = 0;
        if (!strstr(buf, "\"type\":\"state\""))
            continue;
        for (int i = 1; i <= N_LAPTOPS; i++) {
            char who[32], addr[INET_ADDRSTRLEN], want[32];
            snprintf(who, sizeof(who), "\"peer\":\"peer%d\"", i);
            snprintf(want, sizeof(want), SUBNET ".%d", i);
            inet_ntop(AF_INET, &from.sin_addr, addr, sizeof(addr));
            if (!seen[i] && strstr(buf, who)) {
                cr_assert_str_eq(addr, want, "peer%d's state came from %s: %s", i, addr, buf);
                seen[i] = true;
                missing--;
            }
        }
    }
    for (int i = 1; i <= N_LAPTOPS; i++)
        cr_assert(seen[i], "no state datagram from peer%d reached the projector at %s:%d", i,
                  PROJECTOR_HOST, GAME_PORT);
}

/* --- the lesson ----------------------------------------------------------------------- */

Test(classroom, three_laptops_and_a_projector, .fini = teardown, .timeout = 240)
{
    build_room();
    prepare_class(TOKEN);
    open_game_socket();
    for (int i = 1; i <= N_LAPTOPS; i++)
        start_laptop(i);
    int leader = wait_leader(1, 0);
    cr_assert_gt(leader, 0, "no leader among the laptops (logs in %s/laptop*/logs)", w.dir);

    /* The game on the projector hears every laptop, over the LAN. */
    expect_game_stream();

    /* The teacher's user_cli, on the projector, writes and reads. */
    cli_with(w.ini, "x", "set", "41", NULL);
    cr_assert_eq(res.exit_code, 0, "out %s err %s", res.out, res.err);
    cr_assert_str_eq(res.out, "41\n");
    cli_with(w.ini, "x", "add", "1", NULL);
    cr_assert_eq(res.exit_code, 0, "out %s err %s", res.out, res.err);
    cr_assert_str_eq(res.out, "42\n");
    cli_with(w.ini, "x", "get", NULL);
    cr_assert_eq(res.exit_code, 0, "out %s err %s", res.out, res.err);
    cr_assert_str_eq(res.out, "42\n");
    cli_with(w.ini, "status", NULL);
    cr_assert_eq(res.exit_code, 0, "out %s err %s", res.out, res.err);
    for (int i = 1; i <= N_LAPTOPS; i++) {
        char addr[32];
        snprintf(addr, sizeof(addr), SUBNET ".%d:%d", i, PEER_PORT_BASE + i);
        cr_assert(strstr(res.out, addr), "status does not show %s: %s", addr, res.out);
    }
    cr_assert(strstr(res.out, "leader"), "status shows no leader: %s", res.out);

    /* Network faults from the projector, another machine than the peers': accepted with
     * the cluster token, refused with a wrong one. */
    int follower = leader % N_LAPTOPS + 1;
    char target[16];
    snprintf(target, sizeof(target), "peer%d", follower);
    cli_with(w.wrong_ini, "isolate", target, NULL);
    cr_assert_eq(res.exit_code, 1, "a wrong token: exit %d; out %s err %s", res.exit_code, res.out,
                 res.err);
    cr_assert(strstr(res.out, "refused (forbidden)"), "out: %s", res.out);
    cli_with(w.ini, "isolate", target, NULL);
    cr_assert_eq(res.exit_code, 0, "isolate from the projector: out %s err %s", res.out, res.err);
    cr_assert(strstr(res.out, "cuts its links"), "out: %s", res.out);
    cli_with(w.ini, "heal", NULL);
    cr_assert_eq(res.exit_code, 0, "heal from the projector: out %s err %s", res.out, res.err);
    cr_assert(strstr(res.out, "heals"), "out: %s", res.out);

    /* The leader's laptop goes to sleep: a crash. The other two elect a new leader. */
    struct laptop_status before;
    cr_assert_eq(status_of(leader, &before), 0);
    crash_laptop(leader);
    int next = wait_leader(before.term + 1, leader);
    cr_assert_gt(next, 0, "no new leader after peer%d's laptop went away (logs in %s)", leader,
                 w.dir);
    cli_with(w.ini, "x", "add", "1", NULL);
    cr_assert_eq(res.exit_code, 0, "out %s err %s", res.out, res.err);
    cr_assert_str_eq(res.out, "43\n");

    /* It wakes up: the same command recovers from its data directory and catches up. */
    struct laptop_status now;
    cr_assert_eq(status_of(next, &now), 0);
    start_laptop(leader);
    uint64_t deadline = harness_now_ms() + (uint64_t)harness_scaled_ms(LEADER_WAIT_MS);
    struct laptop_status back;
    while (harness_now_ms() < deadline) {
        if (status_of(leader, &back) == 0 && back.last_applied >= now.last_applied &&
            back.leader[0])
            break;
        harness_sleep_ms(100);
    }
    cr_assert_eq(status_of(leader, &back), 0);
    cr_assert_geq(back.last_applied, now.last_applied,
                  "peer%d came back but applied only %llu of %llu", leader,
                  (unsigned long long)back.last_applied, (unsigned long long)now.last_applied);
    cr_assert(back.leader[0], "peer%d came back but follows no leader", leader);
}

/* Without a token, control messages stay on each peer's own loopback: the projector's
 * user_cli is refused, though the class works and answers status. */
Test(classroom, without_a_token_control_stays_on_loopback, .fini = teardown, .timeout = 120)
{
    build_room();
    prepare_class(NULL);
    for (int i = 1; i <= N_LAPTOPS; i++)
        start_laptop(i);
    cr_assert_gt(wait_leader(1, 0), 0, "no leader among the laptops (logs in %s)", w.dir);
    cli_with(w.ini, "x", "set", "7", NULL);
    cr_assert_eq(res.exit_code, 0, "out %s err %s", res.out, res.err);
    cli_with(w.ini, "isolate", "peer1", NULL);
    cr_assert_eq(res.exit_code, 1, "isolate without a token from another machine: exit %d; out %s",
                 res.exit_code, res.out);
    cr_assert(strstr(res.out, "refused (forbidden)"), "out: %s", res.out);
    cli_with(w.ini, "status", NULL);
    cr_assert_eq(res.exit_code, 0, "out %s err %s", res.out, res.err);
    cr_assert(!strstr(res.out, "network faults on"), "a cut was taken: %s", res.out);
}
