/* control.c: control messages over TCP and the revival of peers. */
#include "visualization/control.h"

#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/client_protocol.h"
#include "common/net.h"
#include "common/error_message.h"

#define REPLY_MAX 1024

/* Reads one reply line within timeout_ms. Returns its length, 0 when the peer closed or
 * said nothing in time, -1 on a read error. */
static ssize_t read_line(int fd, char *buf, size_t cap, int timeout_ms)
{
    size_t n = 0;

    while (n + 1 < cap) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        ssize_t r;
        int pr = poll(&p, 1, timeout_ms);
        if (pr < 0 && errno == EINTR)
            continue;
        if (pr <= 0)
            break;
        r = read(fd, buf + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return n > 0 ? (ssize_t)n : -1;
        if (r == 0)
            break;
        n += (size_t)r;
        if (memchr(buf, '\n', n) != NULL)
            break;
    }
    buf[n] = '\0';
    return (ssize_t)n;
}

/* Checks a control_response line: 0 when ok, else -1 with the peer's message. */
static int check_reply(const char *line, size_t len, char *err, size_t errlen)
{
    struct json_object *obj = NULL, *v;
    char jerr[128];
    int rc = -1;

    if (json_line_parse(line, len, REPLY_MAX, &obj, jerr, sizeof jerr) < 0) {
        set_err(err, errlen, "bad reply: %s", jerr);
        return -1;
    }
    if (json_object_object_get_ex(obj, "ok", &v) && json_object_is_type(v, json_type_boolean) &&
        json_object_get_boolean(v)) {
        rc = 0;
    } else {
        const char *code = "refused", *msg = "";
        if (json_object_object_get_ex(obj, "error", &v) && json_object_is_type(v, json_type_string))
            code = json_object_get_string(v);
        if (json_object_object_get_ex(obj, "message", &v) &&
            json_object_is_type(v, json_type_string))
            msg = json_object_get_string(v);
        set_err(err, errlen, "%.40s%s%.160s", code, msg[0] ? ": " : "", msg);
    }
    json_object_put(obj);
    return rc;
}

/* Connects, sends line, and (when want_reply) checks the answer. */
static int exchange(const char *host, int port, const char *line, int want_reply, char *err,
                    size_t errlen)
{
    char reply[REPLY_MAX];
    size_t len = strlen(line), off = 0;
    ssize_t n;
    int fd, rc = -1;

    fd = tcp_connect_timeout(err, errlen, host, port, CONTROL_TIMEOUT_MS);
    if (fd < 0)
        return -1;
    if (set_io_timeout(err, errlen, fd, CONTROL_TIMEOUT_MS) < 0)
        goto out;
    while (off < len) {
        ssize_t w = write(fd, line + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            set_err(err, errlen, "%s:%d: write: %s", host, port, strerror(errno));
            goto out;
        }
        off += (size_t)w;
    }
    /* A crashing peer may vanish before it answers; a refusing one answers at once. */
    n = read_line(fd, reply, sizeof reply, want_reply ? CONTROL_TIMEOUT_MS : 60);
    if (n < 0 && want_reply) {
        set_err(err, errlen, "%s:%d: read: %s", host, port, strerror(errno));
        goto out;
    }
    if (n <= 0) {
        if (want_reply) {
            set_err(err, errlen, "%s:%d: no answer", host, port);
            goto out;
        }
        rc = 0;
        goto out;
    }
    rc = check_reply(reply, (size_t)n, err, errlen);
out:
    close(fd);
    return rc;
}

/* One control line: {"type":"control","action":...[,"target":...][,"from":...,"to":...]
 * [,"token":...]}. */
static int control_line_ft(const char *action, const char *target, const char *from, const char *to,
                           const char *token, char *line, size_t cap, char *err, size_t errlen)
{
    struct json_object *o = json_object_new_object();
    int n;

    if (o == NULL) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    json_object_object_add(o, "type", json_object_new_string("control"));
    json_object_object_add(o, "action", json_object_new_string(action));
    if (target != NULL)
        json_object_object_add(o, "target", json_object_new_string(target));
    if (from != NULL)
        json_object_object_add(o, "from", json_object_new_string(from));
    if (to != NULL)
        json_object_object_add(o, "to", json_object_new_string(to));
    /* With a cluster token set, peers take control messages only with it. */
    if (token != NULL && token[0] != '\0')
        json_object_object_add(o, "token", json_object_new_string(token));
    n = snprintf(line, cap, "%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    if (n < 0 || (size_t)n >= cap) {
        set_err(err, errlen, "control message too long");
        return -1;
    }
    return 0;
}

static int control_line(const char *action, const char *target, const char *token, char *line,
                        size_t cap, char *err, size_t errlen)
{
    return control_line_ft(action, target, NULL, NULL, token, line, cap, err, errlen);
}

int control_crash(const char *host, int port, const char *token, char *err, size_t errlen)
{
    char line[512];

    if (control_line("crash", NULL, token, line, sizeof line, err, errlen) < 0)
        return -1;
    return exchange(host, port, line, 0, err, errlen);
}

int control_transfer(const char *host, int port, const char *target, const char *token, char *err,
                     size_t errlen)
{
    char line[512];

    if (control_line("transfer", target, token, line, sizeof line, err, errlen) < 0)
        return -1;
    return exchange(host, port, line, 1, err, errlen);
}

int control_fault(const char *host, int port, const char *action, const char *from, const char *to,
                  const char *token, char *err, size_t errlen)
{
    char line[512];

    if (control_line_ft(action, NULL, from, to, token, line, sizeof line, err, errlen) < 0)
        return -1;
    return exchange(host, port, line, 1, err, errlen);
}

/* A control message with one integer field and an optional boolean one. */
static int control_numbers(const char *host, int port, const char *action, const char *key,
                           int64_t value, const char *bool_key, bool flag, const char *token,
                           char *err, size_t errlen)
{
    struct json_object *o = json_object_new_object();
    char line[512];
    int n;

    if (o == NULL) {
        set_err(err, errlen, "out of memory");
        return -1;
    }
    json_object_object_add(o, "type", json_object_new_string("control"));
    json_object_object_add(o, "action", json_object_new_string(action));
    json_object_object_add(o, key, json_object_new_int64(value));
    if (bool_key != NULL)
        json_object_object_add(o, bool_key, json_object_new_boolean(flag));
    if (token != NULL && token[0] != '\0')
        json_object_object_add(o, "token", json_object_new_string(token));
    n = snprintf(line, sizeof line, "%s\n",
                 json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
    json_object_put(o);
    if (n < 0 || (size_t)n >= sizeof line) {
        set_err(err, errlen, "control message too long");
        return -1;
    }
    return exchange(host, port, line, 1, err, errlen);
}

int control_delay(const char *host, int port, unsigned ms, const char *token, char *err,
                  size_t errlen)
{
    return control_numbers(host, port, "delay", "ms", ms, NULL, false, token, err, errlen);
}

int control_pace(const char *host, int port, unsigned factor, bool fast_failover, const char *token,
                 char *err, size_t errlen)
{
    return control_numbers(host, port, "pace", "factor", factor, "fast_failover", fast_failover,
                           token, err, errlen);
}

int control_bin_dir(char *out, size_t outlen, char *err, size_t errlen)
{
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    char *slash;

    if (n <= 0) {
        set_err(err, errlen, "/proc/self/exe: %s", strerror(errno));
        return -1;
    }
    path[n] = '\0';
    slash = strrchr(path, '/');
    if (slash == NULL) {
        set_err(err, errlen, "/proc/self/exe: odd path %s", path);
        return -1;
    }
    *slash = '\0';
    if ((size_t)snprintf(out, outlen, "%s", path[0] ? path : "/") >= outlen) {
        set_err(err, errlen, "path too long");
        return -1;
    }
    return 0;
}

int control_spawn_peer(const char *bin_dir, const char *name, int n, const char *config_path,
                       char *err, size_t errlen)
{
    char prog[PATH_MAX], nbuf[16];
    char *argv[8];
    struct stat st;
    pid_t child;
    int status;

    if ((size_t)snprintf(prog, sizeof prog, "%s/raft_peer", bin_dir) >= sizeof prog) {
        set_err(err, errlen, "path too long");
        return -1;
    }
    if (stat(prog, &st) < 0 || !(st.st_mode & S_IXUSR)) {
        set_err(err, errlen, "%s: not found or not executable", prog);
        return -1;
    }
    /* n 0: a peer that joins a running cluster (raft_peer NAME --join). */
    if (n > 0)
        snprintf(nbuf, sizeof nbuf, "%d", n);
    else
        snprintf(nbuf, sizeof nbuf, "--join");
    /* Everything the child needs is ready before fork: between fork and exec only
     * async-signal-safe calls are made, since SDL has threads of its own. */
    argv[0] = prog;
    argv[1] = (char *)name;
    argv[2] = nbuf;
    argv[3] = "-v";
    argv[4] = "-c";
    argv[5] = (char *)config_path;
    argv[6] = NULL;

    child = fork();
    if (child < 0) {
        set_err(err, errlen, "fork: %s", strerror(errno));
        return -1;
    }
    if (child == 0) {
        int fd;
        pid_t grandchild;
        if (setsid() < 0)
            _exit(126);
        /* The second fork hands the peer to init: it outlives the game and is never our
         * zombie. */
        grandchild = fork();
        if (grandchild < 0)
            _exit(125);
        if (grandchild > 0)
            _exit(0);
        fd = open("/dev/null", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
            dup2(fd, 2);
            if (fd > 2)
                close(fd);
        }
        execv(prog, argv);
        _exit(127);
    }
    while (waitpid(child, &status, 0) < 0) {
        if (errno != EINTR) {
            set_err(err, errlen, "waitpid: %s", strerror(errno));
            return -1;
        }
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        set_err(err, errlen, "could not start %s", prog);
        return -1;
    }
    return 0;
}
