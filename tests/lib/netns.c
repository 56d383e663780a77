/* netns.c: see netns.h. */
#include "tests/lib/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/error_message.h"

int netns_find_ip(char *out, size_t outlen)
{
    static const char *const paths[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"};
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        if (access(paths[i], X_OK) == 0) {
            snprintf(out, outlen, "%s", paths[i]);
            return 0;
        }
    }
    return -1;
}

int netns_new(int *nsfd, pid_t *holder, char *err, size_t errlen)
{
    int sync[2];
    *holder = -1;
    if (pipe2(sync, O_CLOEXEC) != 0) {
        set_err(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        set_err(err, errlen, "fork: %s", strerror(errno));
        close(sync[0]);
        close(sync[1]);
        return -1;
    }
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        char ok = unshare(CLONE_NEWNET) == 0 ? 'y' : 'n';
        if (write(sync[1], &ok, 1) != 1)
            _exit(1);
        for (;;)
            pause();
    }
    close(sync[1]);
    *holder = pid;
    char ok = 'n';
    ssize_t r;
    while ((r = read(sync[0], &ok, 1)) < 0 && errno == EINTR) {
    }
    close(sync[0]);
    if (r != 1 || ok != 'y') {
        set_err(err, errlen, "unshare(CLONE_NEWNET) failed in a child");
        return -1;
    }
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)pid);
    *nsfd = open(path, O_RDONLY | O_CLOEXEC);
    if (*nsfd < 0) {
        set_err(err, errlen, "open %s: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

void netns_reap(pid_t holder)
{
    if (holder <= 0)
        return;
    kill(holder, SIGKILL);
    while (waitpid(holder, NULL, 0) < 0 && errno == EINTR) {
    }
}

int netns_ip(const char *ip_prog, int nsfd, char *err, size_t errlen, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    char shown[256];
    snprintf(shown, sizeof(shown), "%s", line);
    char *argv[24];
    int argc = 0;
    argv[argc++] = (char *)ip_prog;
    for (char *save = NULL, *t = strtok_r(line, " ", &save); t && argc < 23;
         t = strtok_r(NULL, " ", &save))
        argv[argc++] = t;
    argv[argc] = NULL;
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) {
        set_err(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        set_err(err, errlen, "fork: %s", strerror(errno));
        close(pipefd[0]);
        close(pipefd[1]);
        return -1;
    }
    if (pid == 0) {
        /* Only async-signal-safe calls: the parent may have threads. */
        dup2(pipefd[1], 2);
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 1);
        if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET) != 0)
            _exit(126);
        execv(ip_prog, argv);
        _exit(127);
    }
    close(pipefd[1]);
    char msg[256];
    size_t used = 0;
    ssize_t r;
    while ((r = read(pipefd[0], msg + used, sizeof(msg) - 1 - used)) > 0 ||
           (r < 0 && errno == EINTR))
        if (r > 0)
            used += (size_t)r;
    msg[used] = 0;
    close(pipefd[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    char *nl = strchr(msg, '\n');
    if (nl)
        *nl = 0;
    set_err(err, errlen, "ip %s: %s", shown,
            used                                              ? msg
            : WIFEXITED(status) && WEXITSTATUS(status) == 126 ? "setns failed"
                                                              : "failed");
    return -1;
}
