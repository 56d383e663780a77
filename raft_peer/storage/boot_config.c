/* boot_config.c: see boot_config.h. */
#include "raft_peer/storage/boot_config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/error_message.h"

static int write_all(int fd, const uint8_t *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* tmp, fdatasync, rename, fsync of the directory: after a power cut at any instant the
 * file is absent (and written again at the next start) or whole. */
static int save(const char *dir, const uint8_t *bytes, size_t len, char *err, size_t errlen)
{
    char path[1100], tmp[1110];
    snprintf(path, sizeof(path), "%s/bootstrap", dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write_all(fd, bytes, len) != 0 || fdatasync(fd) != 0) {
        set_err(err, errlen, "%s: %s", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    int dfd = -1;
    if (rename(tmp, path) != 0 || (dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0 ||
        fsync(dfd) != 0) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        if (dfd >= 0)
            close(dfd);
        return -1;
    }
    close(dfd);
    return 0;
}

int boot_config_open(const char *dir, int n, struct raft_configuration *out, bool *stored,
                     char *err, size_t errlen)
{
    char path[1100];
    snprintf(path, sizeof(path), "%s/bootstrap", dir);
    uint8_t buf[RAFT_CONFIGURATION_MAX + 1];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        ssize_t got = read(fd, buf, sizeof(buf));
        close(fd);
        if (got < 0 || raft_configuration_decode(buf, (size_t)got, out) != RAFT_OK) {
            set_err(err, errlen, "%s: not a configuration (damaged?)", path);
            return -1;
        }
        *stored = true;
        return 0;
    }
    if (errno != ENOENT) {
        set_err(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    *out = n > 0 ? raft_configuration_bootstrap(n) : (struct raft_configuration){0, 0};
    *stored = false;
    size_t len = raft_configuration_encode(out, buf);
    return save(dir, buf, len, err, errlen);
}

static const uint8_t PREFIX_MAGIC[4] = {'R', 'V', 'C', 'F'};

size_t snapshot_config_prefix(const struct raft_configuration *c, uint8_t out[SNAPSHOT_CONFIG_MAX])
{
    memcpy(out, PREFIX_MAGIC, 4);
    size_t len = raft_configuration_encode(c, out + 5);
    out[4] = (uint8_t)len;
    return 5 + len;
}

int snapshot_config_split(const uint8_t *data, size_t len,
                          const struct raft_configuration *fallback, struct raft_configuration *c,
                          const uint8_t **sm, size_t *sm_len)
{
    if (len < 4 || memcmp(data, PREFIX_MAGIC, 4) != 0) {
        *c = *fallback;
        *sm = data;
        *sm_len = len;
        return 0;
    }
    if (len < 5 || (size_t)data[4] > len - 5 ||
        raft_configuration_decode(data + 5, data[4], c) != RAFT_OK)
        return -1;
    *sm = data + 5 + data[4];
    *sm_len = len - 5 - data[4];
    return 0;
}
