/* netfault.c: see netfault.h.
 *
 * Layout (all inside a network namespace private to the chaos program, so nothing on
 * the machine changes and nothing is left behind):
 *
 *   chaos program: bridge rvbr0 10.99.0.254/24 --- veth rvI <-> rvpI --- peer I's
 *   namespace, 10.99.0.I/24 on rvpI, its own loopback
 *
 * A peer binds its own address from the ini, so the ini needs nothing special. A cut
 * from I to J is `ip route add blackhole 10.99.0.J/32` in I's namespace: the kernel
 * drops what I sends J, both on new and on established connections (the route change
 * invalidates cached routes). The chaos program (the clients) reaches every peer
 * through the bridge and is never cut off. */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error_message.h"
#include "tests/chaos/netfault.h"
#include "tests/lib/netns.h"

#define BRIDGE "rvbr0"
#define SUBNET "10.99.0"

/* The loopback of the calling process's namespace, without needing `ip`. */
static int loopback_up(char *err, size_t errlen)
{
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        set_err(err, errlen, "socket: %s", strerror(errno));
        return -1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
    int rc = ioctl(fd, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
        ifr.ifr_flags |= IFF_UP;
        rc = ioctl(fd, SIOCSIFFLAGS, &ifr);
    }
    if (rc != 0)
        set_err(err, errlen, "bringing lo up: %s", strerror(errno));
    close(fd);
    return rc;
}

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t len = (ssize_t)strlen(text);
    int rc = write(fd, text, (size_t)len) == len ? 0 : -1;
    close(fd);
    return rc;
}

/* A user namespace in which we are root (uid and gid 0 mapped to ours). */
static int enter_user_namespace(void)
{
    char map[64];
    uid_t uid = getuid();
    gid_t gid = getgid();
    if (unshare(CLONE_NEWUSER) != 0)
        return -1;
    snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)uid);
    if (write_file("/proc/self/uid_map", map) != 0)
        return -1;
    if (write_file("/proc/self/setgroups", "deny") != 0)
        return -1;
    snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)gid);
    return write_file("/proc/self/gid_map", map);
}

static int setup_peer(struct netfault *nf, int i, char *err, size_t errlen)
{
    pid_t holder = -1;
    int rc = netns_new(&nf->nsfd[i], &holder, err, errlen);
    if (rc == 0)
        rc = netns_ip(nf->ip_prog, -1, err, errlen,
                      "link add rv%d type veth peer name rvp%d netns %d", i, i, (int)holder);
    netns_reap(holder);
    if (rc == 0)
        rc = netns_ip(nf->ip_prog, -1, err, errlen, "link set rv%d master " BRIDGE " up", i);
    if (rc == 0)
        rc = netns_ip(nf->ip_prog, nf->nsfd[i], err, errlen, "link set lo up");
    if (rc == 0)
        rc = netns_ip(nf->ip_prog, nf->nsfd[i], err, errlen, "addr add " SUBNET ".%d/24 dev rvp%d",
                      i, i);
    if (rc == 0)
        rc = netns_ip(nf->ip_prog, nf->nsfd[i], err, errlen, "link set rvp%d up", i);
    return rc;
}

int netfault_setup(struct netfault *nf, int n, char *err, size_t errlen)
{
    memset(nf, 0, sizeof(*nf));
    nf->n = n;
    for (int i = 0; i <= NETFAULT_MAX_PEERS; i++)
        nf->nsfd[i] = -1;
    if (n < 1 || n > NETFAULT_MAX_PEERS) {
        set_err(err, errlen, "cluster size %d out of 1..%d", n, NETFAULT_MAX_PEERS);
        return -1;
    }
    if (unshare(CLONE_NEWNET) != 0) {
        int e = errno;
        /* Not root: a user namespace of our own makes us root over namespaces we create,
         * where unprivileged user namespaces are allowed. */
        if (enter_user_namespace() != 0 || unshare(CLONE_NEWNET) != 0) {
            snprintf(nf->reason, sizeof(nf->reason),
                     "cannot make a network namespace (%s), nor a user namespace to make one "
                     "in; no network faults",
                     strerror(e));
            return 0;
        }
        nf->user_ns = true;
    }
    nf->private_ns = true;
    if (loopback_up(err, errlen) != 0)
        return -1;
    if (netns_find_ip(nf->ip_prog, sizeof(nf->ip_prog)) != 0) {
        snprintf(nf->reason, sizeof(nf->reason),
                 "iproute2's ip not found; peers share one loopback, no network faults");
        return 0;
    }
    char why[200] = "";
    int rc = netns_ip(nf->ip_prog, -1, why, sizeof(why), "link add " BRIDGE " type bridge");
    if (rc == 0)
        rc = netns_ip(nf->ip_prog, -1, why, sizeof(why), "addr add " SUBNET ".254/24 dev " BRIDGE);
    if (rc == 0)
        rc = netns_ip(nf->ip_prog, -1, why, sizeof(why), "link set " BRIDGE " up");
    for (int i = 1; rc == 0 && i <= n; i++)
        rc = setup_peer(nf, i, why, sizeof(why));
    if (rc != 0) {
        /* Namespaces half made are unusable; peers will share our loopback instead. */
        for (int i = 1; i <= n; i++) {
            if (nf->nsfd[i] >= 0)
                close(nf->nsfd[i]);
            nf->nsfd[i] = -1;
        }
        snprintf(nf->reason, sizeof(nf->reason), "network setup failed (%.180s); no network faults",
                 why);
        return 0;
    }
    nf->isolated = true;
    return 0;
}

void netfault_host(const struct netfault *nf, int i, char *out, size_t outlen)
{
    if (nf->isolated)
        snprintf(out, outlen, SUBNET ".%d", i);
    else
        snprintf(out, outlen, "127.0.0.1");
}

int netfault_enter(const struct netfault *nf, int i)
{
    if (!nf->isolated)
        return 0;
    return setns(nf->nsfd[i], CLONE_NEWNET);
}

int netfault_set_cut(struct netfault *nf, int from, int to, bool cut, char *err, size_t errlen)
{
    if (!nf->isolated) {
        set_err(err, errlen, "no network faults: %s", nf->reason);
        return -1;
    }
    if (from < 1 || from > nf->n || to < 1 || to > nf->n || from == to) {
        set_err(err, errlen, "bad link %d -> %d", from, to);
        return -1;
    }
    if (nf->cut[from][to] == cut)
        return 0;
    int rc = netns_ip(nf->ip_prog, nf->nsfd[from], err, errlen,
                      "route %s blackhole " SUBNET ".%d/32", cut ? "add" : "del", to);
    if (rc == 0)
        nf->cut[from][to] = cut;
    return rc;
}

int netfault_set_cut2(struct netfault *nf, int a, int b, bool cut, char *err, size_t errlen)
{
    int rc = netfault_set_cut(nf, a, b, cut, err, errlen);
    if (rc == 0)
        rc = netfault_set_cut(nf, b, a, cut, err, errlen);
    return rc;
}

int netfault_heal_all(struct netfault *nf, char *err, size_t errlen)
{
    int rc = 0;
    for (int i = 1; i <= nf->n; i++) {
        for (int j = 1; j <= nf->n; j++) {
            if (!nf->cut[i][j])
                continue;
            char e[200];
            if (netfault_set_cut(nf, i, j, false, e, sizeof(e)) != 0 && rc == 0) {
                set_err(err, errlen, "%s", e);
                rc = -1;
            }
        }
    }
    return rc;
}

int netfault_cut_count(const struct netfault *nf)
{
    int count = 0;
    for (int i = 1; i <= nf->n; i++)
        for (int j = 1; j <= nf->n; j++)
            count += nf->cut[i][j];
    return count;
}

void netfault_close(struct netfault *nf)
{
    for (int i = 0; i <= NETFAULT_MAX_PEERS; i++) {
        if (nf->nsfd[i] >= 0)
            close(nf->nsfd[i]);
        nf->nsfd[i] = -1;
    }
    nf->isolated = false;
}
