/* lazyfs_mount.c: see lazyfs_mount.h. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/error_message.h"
#include "tests/lib/lazyfs_mount.h"

#define FUSE_SUPER_MAGIC 0x65735546
#define CTL_NAME         ".lazyfs_ctl"

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
}

const char *lazyfs_bin(void)
{
    const char *p = getenv("RAFT_LAZYFS_BIN");
    return p && *p ? p : "build/release/tests/lazyfs";
}

int lazyfs_usable(const char *bin, char *why, size_t whylen)
{
    if (access(bin, X_OK) != 0) {
        set_err(why, whylen, "no lazyfs binary at %s (libfuse3 missing at build time?)", bin);
        return -1;
    }
    int fd = open("/dev/fuse", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        set_err(why, whylen, "/dev/fuse: %s", strerror(errno));
        return -1;
    }
    close(fd);
    return 0;
}

int lazyfs_private_mounts(void)
{
    if (unshare(CLONE_NEWNS) != 0)
        return -1;
    /* Without this, mounts would still propagate back to the machine's namespace. The
     * kernel ignores the source and type of a propagation change; they are given anyway,
     * since valgrind takes a NULL type for a bad pointer. */
    return mount("none", "/", "none", MS_REC | MS_PRIVATE, NULL);
}

static bool is_fuse_mount(const char *path)
{
    struct statfs sf;
    return statfs(path, &sf) == 0 && sf.f_type == FUSE_SUPER_MAGIC;
}

static void run_fusermount(const char *mountpoint)
{
    pid_t pid = fork();
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);
        if (null >= 0) {
            dup2(null, 1);
            dup2(null, 2);
        }
        execlp("fusermount3", "fusermount3", "-u", "-z", mountpoint, (char *)NULL);
        _exit(127);
    }
    if (pid > 0)
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
        }
}

void lazyfs_unmount(struct lazyfs_mount *m)
{
    if (m->mounted) {
        /* As root (or in our own namespace) umount(2); a stuck mount is detached. */
        if (umount2(m->mountpoint, 0) != 0 && umount2(m->mountpoint, MNT_DETACH) != 0)
            run_fusermount(m->mountpoint);
        m->mounted = false;
    }
    if (m->pid > 0) {
        /* Unmounted, lazyfs leaves its loop by itself; give it a moment, then insist. */
        long long deadline = now_ms() + 3000;
        while (waitpid(m->pid, NULL, WNOHANG) == 0) {
            if (now_ms() > deadline) {
                kill(m->pid, SIGKILL);
                while (waitpid(m->pid, NULL, 0) < 0 && errno == EINTR) {
                }
                break;
            }
            sleep_ms(10);
        }
        m->pid = 0;
    }
}

static void tail_of(const char *path, char *out, size_t outlen)
{
    out[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = 0;
        if (*line)
            snprintf(out, outlen, "%.200s", line);
    }
    fclose(f);
}

int lazyfs_mount_start(struct lazyfs_mount *m, const char *bin, const char *backing,
                       const char *mountpoint, const char *log_path, char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    snprintf(m->backing, sizeof(m->backing), "%s", backing);
    snprintf(m->mountpoint, sizeof(m->mountpoint), "%s", mountpoint);
    if (mkdir(mountpoint, 0755) != 0 && errno != EEXIST) {
        set_err(err, errlen, "mkdir %s: %s", mountpoint, strerror(errno));
        return -1;
    }
    char *argv[] = {(char *)bin, m->backing, m->mountpoint, "-f", NULL};
    pid_t pid = fork();
    if (pid < 0) {
        set_err(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        /* Async-signal-safe only: the caller may have threads. */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execv(bin, argv);
        _exit(127);
    }
    m->pid = pid;
    long long deadline = now_ms() + 10000;
    while (now_ms() < deadline) {
        if (is_fuse_mount(mountpoint)) {
            m->mounted = true;
            return 0;
        }
        int status;
        if (waitpid(pid, &status, WNOHANG) == pid) {
            m->pid = 0;
            char last[300];
            tail_of(log_path, last, sizeof(last));
            set_err(err, errlen, "lazyfs exited before mounting %s (status %d): %s", mountpoint,
                    status, last);
            return -1;
        }
        sleep_ms(10);
    }
    m->mounted = true; /* it may still appear: unmount to be sure */
    lazyfs_unmount(m);
    set_err(err, errlen, "lazyfs did not mount %s within 10 s", mountpoint);
    return -1;
}

int lazyfs_cut_power(const struct lazyfs_mount *m, unsigned long long torn_seed, char *counters,
                     size_t counterslen, char *err, size_t errlen)
{
    char path[600], cmd[64];
    snprintf(path, sizeof(path), "%s/%s", m->mountpoint, CTL_NAME);
    int len = torn_seed ? snprintf(cmd, sizeof(cmd), "crash torn %llu\n", torn_seed)
                        : snprintf(cmd, sizeof(cmd), "crash\n");
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    ssize_t w = write(fd, cmd, (size_t)len);
    int e = errno;
    close(fd);
    if (w != len) {
        set_err(err, errlen, "%s: write: %s", path, w < 0 ? strerror(e) : "short");
        return -1;
    }
    if (counters && counterslen) {
        counters[0] = 0;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            ssize_t n = read(fd, counters, counterslen - 1);
            counters[n > 0 ? n : 0] = 0;
            counters[strcspn(counters, "\n")] = 0;
            close(fd);
        }
    }
    return 0;
}
