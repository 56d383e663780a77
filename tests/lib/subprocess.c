/* subprocess.c: fork/exec with pipes and a deadline, for integration tests. */
#include "tests/lib/subprocess.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_pair(int p[2])
{
    if (p[0] >= 0)
        close(p[0]);
    if (p[1] >= 0)
        close(p[1]);
}

int subprocess_run(char *const argv[], const char *stdin_text, int timeout_ms,
                   struct subprocess_result *res)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    memset(res, 0, sizeof(*res));
    res->exit_code = -1;
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0)
        goto fail;
    pid_t pid = fork();
    if (pid < 0)
        goto fail;
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        execv(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    close(err[1]);
    in[0] = out[1] = err[1] = -1;

    /* Feeding stdin while draining stdout/stderr avoids a pipe-full deadlock. */
    const char *feed = stdin_text ? stdin_text : "";
    size_t feed_len = strlen(feed), fed = 0;
    size_t olen = 0, elen = 0;
    long long deadline = now_ms() + timeout_ms;
    signal(SIGPIPE, SIG_IGN);
    if (feed_len == 0) {
        close(in[1]);
        in[1] = -1;
    }
    while (out[0] >= 0 || err[0] >= 0) {
        long long left = deadline - now_ms();
        if (left <= 0) {
            kill(pid, SIGKILL);
            res->timed_out = 1;
            break;
        }
        struct pollfd p[3] = {{.fd = out[0], .events = POLLIN},
                              {.fd = err[0], .events = POLLIN},
                              {.fd = in[1], .events = POLLOUT}};
        if (poll(p, 3, (int)left) < 0 && errno != EINTR)
            break;
        if (in[1] >= 0 && (p[2].revents & (POLLOUT | POLLERR | POLLHUP))) {
            ssize_t n = write(in[1], feed + fed, feed_len - fed);
            if (n > 0)
                fed += (size_t)n;
            if (n < 0 || fed == feed_len) {
                close(in[1]);
                in[1] = -1;
            }
        }
        for (int k = 0; k < 2; k++) {
            int *fd = k == 0 ? &out[0] : &err[0];
            char *buf = k == 0 ? res->out : res->err;
            size_t *len = k == 0 ? &olen : &elen;
            if (*fd < 0 || !(p[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            char tmp[4096];
            ssize_t n = read(*fd, tmp, sizeof(tmp));
            if (n <= 0) {
                close(*fd);
                *fd = -1;
                continue;
            }
            size_t cap = k == 0 ? sizeof(res->out) : sizeof(res->err);
            size_t room = cap - 1 - *len;
            size_t take = (size_t)n < room ? (size_t)n : room;
            memcpy(buf + *len, tmp, take);
            *len += take;
            buf[*len] = '\0';
        }
    }
    close_pair(in);
    close_pair(out);
    close_pair(err);
    int status;
    if (waitpid(pid, &status, 0) == pid) {
        if (WIFEXITED(status))
            res->exit_code = WEXITSTATUS(status);
        else if (WIFSIGNALED(status))
            res->exit_code = 128 + WTERMSIG(status);
    }
    return 0;
fail:
    close_pair(in);
    close_pair(out);
    close_pair(err);
    return -1;
}

pid_t subprocess_spawn(char *const argv[], int *to_child, int *from_child)
{
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0)
        return -1;
    if (pipe2(out, O_CLOEXEC) != 0) {
        close_pair(in);
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close_pair(in);
        close_pair(out);
        return -1;
    }
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(out[1], 2);
        execv(argv[0], argv);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    *to_child = in[1];
    *from_child = out[0];
    return pid;
}

int subprocess_read_until(int fd, char *buf, size_t buflen, size_t *len, const char *needle,
                          int timeout_ms)
{
    long long deadline = now_ms() + timeout_ms;
    buf[*len] = '\0';
    while (strstr(buf, needle) == NULL) {
        long long left = deadline - now_ms();
        if (left <= 0 || *len + 1 >= buflen)
            return -1;
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int r = poll(&p, 1, (int)left);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1;
        ssize_t n = read(fd, buf + *len, buflen - 1 - *len);
        if (n <= 0)
            return -1;
        *len += (size_t)n;
        buf[*len] = '\0';
    }
    return 0;
}
