/* storage_io.c: the storage's system calls, each one a place a test can make fail,
 * and the small helpers for messages and segment names. */
#include "raft_peer/storage_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* True when this call is the one chosen to fail; errno is then set. */
static bool injected(struct storage_io *io)
{
    if (io == NULL || io->fail_after < 0)
        return false;
    if (io->fail_after > 0) {
        io->fail_after--;
        return false;
    }
    io->fail_after = -1;
    errno = io->fail_errno;
    return true;
}

static int write_all(int fd, const uint8_t *p, size_t len, uint64_t off)
{
    while (len > 0) {
        ssize_t n = pwrite(fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0) {
            errno = EIO; /* a regular file never accepts 0 bytes of a non-empty write */
            return -1;
        }
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

int sio_pwrite_all(struct storage_io *io, int fd, const void *buf, size_t len, uint64_t off)
{
    if (injected(io)) {
        int e = errno;
        /* A full disk takes part of a write before it refuses the rest. */
        (void)write_all(fd, buf, len / 2, off);
        errno = e;
        return -1;
    }
    return write_all(fd, buf, len, off);
}

int sio_fdatasync(struct storage_io *io, int fd)
{
    if (injected(io))
        return -1;
    return fdatasync(fd);
}

int sio_fsync(struct storage_io *io, int fd)
{
    if (injected(io))
        return -1;
    return fsync(fd);
}

int sio_ftruncate(struct storage_io *io, int fd, uint64_t len)
{
    if (injected(io))
        return -1;
    int rc;
    do
        rc = ftruncate(fd, (off_t)len);
    while (rc < 0 && errno == EINTR);
    return rc;
}

int sio_create(struct storage_io *io, int dir_fd, const char *name, int flags)
{
    if (injected(io))
        return -1;
    int fd;
    do
        fd = openat(dir_fd, name, flags | O_CREAT | O_CLOEXEC, 0644);
    while (fd < 0 && errno == EINTR);
    return fd;
}

int sio_unlink(struct storage_io *io, int dir_fd, const char *name)
{
    if (injected(io))
        return -1;
    return unlinkat(dir_fd, name, 0);
}

int sio_rename(struct storage_io *io, int dir_fd, const char *from, const char *to)
{
    if (injected(io))
        return -1;
    return renameat(dir_fd, from, dir_fd, to);
}

int sio_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
    uint8_t *p = buf;
    while (len > 0) {
        ssize_t n = pread(fd, p, len, (off_t)off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (n == 0) {
            errno = EIO; /* the file shrank under us: someone else is writing it */
            return -1;
        }
        p += n;
        len -= (size_t)n;
        off += (uint64_t)n;
    }
    return 0;
}

void storage_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int storage_fail(struct storage *s, int errnum, char *err, size_t errlen, const char *fmt, ...)
{
    char msg[sizeof s->failed_msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (errnum != 0) {
        size_t used = strlen(msg);
        snprintf(msg + used, sizeof msg - used, ": %s", strerror(errnum));
    }
    s->failed = true;
    snprintf(s->failed_msg, sizeof s->failed_msg, "%s", msg);
    storage_errf(err, errlen, "%s", msg);
    return STORAGE_EIO;
}

void storage_notice(struct storage_boot *boot, const char *fmt, ...)
{
    size_t used = strlen(boot->notice);
    if (used > 0 && used + 2 < sizeof boot->notice) {
        memcpy(boot->notice + used, "; ", 3);
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(boot->notice + used, sizeof boot->notice - used, fmt, ap);
    va_end(ap);
}

void storage_seg_name(char name[SEG_NAME_MAX], raft_index first)
{
    snprintf(name, SEG_NAME_MAX, "log-%020" PRIu64, (uint64_t)first);
}

bool storage_parse_seg_name(const char *name, raft_index *first)
{
    if (strncmp(name, "log-", 4) != 0 || strlen(name) != 4 + SEG_NAME_DIGITS)
        return false;
    uint64_t v = 0;
    for (const char *p = name + 4; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return false;
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    if (v == 0)
        return false; /* Raft indexes start at 1 */
    *first = v;
    return true;
}
