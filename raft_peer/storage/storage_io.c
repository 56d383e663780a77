/* storage_io.c: the storage's file system calls over POSIX, each one a place a test can
 * make fail. The simulator replaces this file with tests/sim/sim_fs.c. */
#include "raft_peer/storage/storage_internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

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

int sio_open_dir(const char *path)
{
    return open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
}

int sio_mkdir(const char *path)
{
    return mkdir(path, 0755);
}

int sio_open(int dir_fd, const char *name, int flags)
{
    int fd;
    do
        fd = openat(dir_fd, name, flags | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    return fd;
}

int sio_create(struct storage_io *io, int dir_fd, const char *name, int flags)
{
    if (sio_injected(io))
        return -1;
    int fd;
    do
        fd = openat(dir_fd, name, flags | O_CREAT | O_CLOEXEC, 0644);
    while (fd < 0 && errno == EINTR);
    return fd;
}

int sio_close(int fd)
{
    return close(fd);
}

int sio_file_size(int fd, uint64_t *size)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -1;
    if (!S_ISREG(st.st_mode)) {
        errno = EINVAL;
        return -1;
    }
    *size = (uint64_t)st.st_size;
    return 0;
}

int sio_pwrite_all(struct storage_io *io, int fd, const void *buf, size_t len, uint64_t off)
{
    if (sio_injected(io)) {
        int e = errno;
        /* A full disk takes part of a write before it refuses the rest. */
        (void)write_all(fd, buf, len / 2, off);
        errno = e;
        return -1;
    }
    return write_all(fd, buf, len, off);
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

int sio_fdatasync(struct storage_io *io, int fd)
{
    if (sio_injected(io))
        return -1;
    return fdatasync(fd);
}

int sio_fsync(struct storage_io *io, int fd)
{
    if (sio_injected(io))
        return -1;
    return fsync(fd);
}

int sio_ftruncate(struct storage_io *io, int fd, uint64_t len)
{
    if (sio_injected(io))
        return -1;
    int rc;
    do
        rc = ftruncate(fd, (off_t)len);
    while (rc < 0 && errno == EINTR);
    return rc;
}

int sio_unlink(struct storage_io *io, int dir_fd, const char *name)
{
    if (sio_injected(io))
        return -1;
    return unlinkat(dir_fd, name, 0);
}

int sio_rename(struct storage_io *io, int dir_fd, const char *from, const char *to)
{
    if (sio_injected(io))
        return -1;
    return renameat(dir_fd, from, dir_fd, to);
}

int sio_preallocate(int fd, uint64_t size)
{
    uint64_t have;
    if (sio_file_size(fd, &have) < 0)
        return -1;
    if (have >= size)
        return 0;
    /* fallocate allocates without writing: on ext4 the blocks are "unwritten" and read
     * as zeros until written, so a power cut can never show what they held before. */
    int rc;
    do
        rc = fallocate(fd, 0, (off_t)have, (off_t)(size - have));
    while (rc < 0 && errno == EINTR);
    if (rc == 0 || (errno != EOPNOTSUPP && errno != ENOSYS))
        return rc;
    static const uint8_t zeros[65536];
    for (uint64_t off = have; off < size; off += sizeof zeros) {
        size_t n = size - off < sizeof zeros ? (size_t)(size - off) : sizeof zeros;
        if (write_all(fd, zeros, n, off) < 0)
            return -1;
    }
    return 0;
}

uint32_t sio_nonce(void)
{
    uint32_t v = 0;
    /* getrandom never fails for 4 bytes once the pool is ready; if it somehow does,
     * the time still keeps a client from knowing the nonce in advance. */
    if (getrandom(&v, sizeof v, 0) != (ssize_t)sizeof v) {
        struct timespec t;
        clock_gettime(CLOCK_MONOTONIC, &t);
        v = (uint32_t)t.tv_nsec ^ (uint32_t)t.tv_sec ^ (uint32_t)getpid();
    }
    return v;
}

int sio_list(int dir_fd, int (*fn)(const char *name, void *ctx), void *ctx)
{
    int fd = dup(dir_fd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    rewinddir(d); /* the dup shares its position with dir_fd */
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            rc = fn(de->d_name, ctx);
    int e = errno;
    closedir(d);
    errno = e;
    return rc;
}

/* flock, not fcntl locks: they belong to the open file, so even a second open in the
 * same process is refused, and the kernel drops them when the process dies. */
int sio_lock(int dir_fd, const char *name)
{
    int fd = openat(dir_fd, name, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}
