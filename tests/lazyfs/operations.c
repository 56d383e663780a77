/* operations.c: lazyfs's FUSE operations. Metadata and directory listings pass through
 * to the backing directory; file data goes through each file's page cache; directory
 * changes go through the journal; the control file drives power cuts. Every file is
 * opened with direct_io so that the kernel keeps no page cache of its own: after a power
 * cut, what a process reads comes from here. */
#define FUSE_USE_VERSION 31

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <fuse.h>

#include "tests/lazyfs/lazyfs.h"

struct lazy_handle {
    int fd; /* the backing file; -1 for the control file */
    struct lazy_node *node;
    bool ctl;
};

static struct lazy_handle *handle_of(const struct fuse_file_info *fi)
{
    return fi ? (struct lazy_handle *)(uintptr_t)fi->fh : NULL;
}

/* FUSE paths start with '/'; the backing calls take them relative to the root fd. */
static const char *rel(const char *path)
{
    while (path && *path == '/')
        path++;
    return path ? path : "";
}

static const char *at(const char *relative)
{
    return *relative ? relative : ".";
}

static bool is_ctl(const char *r)
{
    return !strcmp(r, LAZY_CTL_NAME);
}

static int lz_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
    struct lazy_handle *h = handle_of(fi);
    const char *r = rel(path);
    if ((h && h->ctl) || (!h && is_ctl(r))) {
        memset(st, 0, sizeof(*st));
        st->st_mode = S_IFREG | 0666;
        st->st_nlink = 1;
        return 0;
    }
    if (!h && dir_journal_is_trash(r))
        return -ENOENT;
    if (h ? fstat(h->fd, st) : fstatat(lazyfs.root_fd, at(r), st, AT_SYMLINK_NOFOLLOW))
        return -errno;
    struct lazy_node *n = h ? h->node : node_find(r);
    if (n && n->cache.loaded && S_ISREG(st->st_mode)) {
        st->st_size = n->cache.size;
        st->st_blocks = (n->cache.size + 511) / 512;
    }
    return 0;
}

static int open_backing(const char *r, int flags, mode_t mode, struct fuse_file_info *fi)
{
    /* Read-write whatever the caller asked: an fsync through a read-only descriptor
     * must still be able to write the file's pages. */
    int clean = flags & ~(O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC | O_APPEND | O_NOCTTY);
    int fd = openat(lazyfs.root_fd, r, clean | O_RDWR | O_CLOEXEC, mode);
    if (fd < 0 && (errno == EACCES || errno == EISDIR || errno == EROFS))
        fd = openat(lazyfs.root_fd, r, clean | (flags & O_ACCMODE) | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    struct lazy_node *n = node_get(r);
    struct lazy_handle *h = malloc(sizeof(*h));
    if (!n || !h) {
        free(h);
        close(fd);
        return -ENOMEM;
    }
    *h = (struct lazy_handle){.fd = fd, .node = n};
    n->opens++;
    if (flags & O_TRUNC) {
        int rc = page_cache_truncate(&n->cache, fd, 0);
        if (rc < 0) {
            n->opens--;
            close(fd);
            free(h);
            return rc;
        }
    }
    fi->fh = (uint64_t)(uintptr_t)h;
    fi->direct_io = 1;
    fi->keep_cache = 0;
    return 0;
}

static int lz_open(const char *path, struct fuse_file_info *fi)
{
    const char *r = rel(path);
    if (is_ctl(r)) {
        struct lazy_handle *h = calloc(1, sizeof(*h));
        if (!h)
            return -ENOMEM;
        h->fd = -1;
        h->ctl = true;
        fi->fh = (uint64_t)(uintptr_t)h;
        fi->direct_io = 1;
        return 0;
    }
    if (dir_journal_is_trash(r))
        return -ENOENT;
    return open_backing(r, fi->flags, 0, fi);
}

static int lz_create(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    const char *r = rel(path);
    if (is_ctl(r) || dir_journal_is_trash(r))
        return -EEXIST;
    /* Make it here, so that we know it is new and the journal can undo it. */
    int fd = openat(lazyfs.root_fd, r, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, mode);
    if (fd < 0 && !(errno == EEXIST && !(fi->flags & O_EXCL)))
        return -errno;
    if (fd >= 0) {
        close(fd);
        node_removed(r); /* a stale entry for an earlier file of that name */
        int rc = dir_journal_created(&lazyfs.journal, r, false);
        if (rc < 0)
            return rc;
    }
    return open_backing(r, fi->flags, mode, fi);
}

static int lz_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
    (void)path;
    struct lazy_handle *h = handle_of(fi);
    if (h->ctl) {
        char text[512];
        int len = lazyfs_format_counters(text, sizeof(text));
        if (off >= len)
            return 0;
        size_t n = (size_t)(len - off) < size ? (size_t)(len - off) : size;
        memcpy(buf, text + off, n);
        return (int)n;
    }
    return (int)page_cache_read(&h->node->cache, h->fd, buf, size, off);
}

/* The control file's commands: "crash" or "crash torn SEED". */
static int control(const char *buf, size_t size)
{
    char cmd[128];
    size_t len = size < sizeof(cmd) - 1 ? size : sizeof(cmd) - 1;
    memcpy(cmd, buf, len);
    cmd[len] = 0;
    cmd[strcspn(cmd, "\r\n")] = 0;
    uint64_t seed;
    if (!strcmp(cmd, "crash"))
        lazyfs_power_cut(0);
    else if (sscanf(cmd, "crash torn %" SCNu64, &seed) == 1 && seed)
        lazyfs_power_cut(seed);
    else
        return -EINVAL;
    return (int)size;
}

static int lz_write(const char *path, const char *buf, size_t size, off_t off,
                    struct fuse_file_info *fi)
{
    (void)path;
    struct lazy_handle *h = handle_of(fi);
    if (h->ctl)
        return control(buf, size);
    return (int)page_cache_write(&h->node->cache, h->fd, buf, size, off);
}

static int lz_truncate(const char *path, off_t size, struct fuse_file_info *fi)
{
    struct lazy_handle *h = handle_of(fi);
    if (h)
        return h->ctl ? 0 : page_cache_truncate(&h->node->cache, h->fd, size);
    const char *r = rel(path);
    if (is_ctl(r))
        return 0;
    if (dir_journal_is_trash(r))
        return -ENOENT;
    int fd = openat(lazyfs.root_fd, r, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct lazy_node *n = node_get(r);
    int rc = n ? page_cache_truncate(&n->cache, fd, size) : -ENOMEM;
    if (n)
        node_release_if_idle(n, fd);
    close(fd);
    return rc;
}

/* Preallocation (the storage's segments): the file grows, the new bytes read as zeros,
 * and like any size change it is lost by a power cut until an fsync. Only the plain
 * mode: no hole punching or zeroing ranges, which nothing here uses. */
static int lz_fallocate(const char *path, int mode, off_t off, off_t len, struct fuse_file_info *fi)
{
    (void)path;
    struct lazy_handle *h = handle_of(fi);
    if (mode != 0 || h == NULL || h->ctl)
        return -EOPNOTSUPP;
    if (off < 0 || len <= 0)
        return -EINVAL;
    int rc = page_cache_load(&h->node->cache, h->fd);
    if (rc < 0)
        return rc;
    if (off + len <= h->node->cache.size)
        return 0;
    return page_cache_truncate(&h->node->cache, h->fd, off + len);
}

static int lz_fsync(const char *path, int datasync, struct fuse_file_info *fi)
{
    (void)path;
    struct lazy_handle *h = handle_of(fi);
    if (h->ctl)
        return 0;
    lazyfs.counters.file_syncs++;
    return page_cache_sync(&h->node->cache, h->fd, datasync != 0);
}

static int lz_flush(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    (void)fi;
    return 0; /* close(2) is not fsync(2) */
}

static int lz_release(const char *path, struct fuse_file_info *fi)
{
    (void)path;
    struct lazy_handle *h = handle_of(fi);
    if (!h->ctl) {
        h->node->opens--;
        node_release_if_idle(h->node, h->fd);
        close(h->fd);
    }
    free(h);
    return 0;
}

static int lz_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off,
                      struct fuse_file_info *fi, enum fuse_readdir_flags flags)
{
    (void)off;
    (void)fi;
    (void)flags;
    const char *r = rel(path);
    int fd = openat(lazyfs.root_fd, at(r), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        return -e;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!*r && !strcmp(e->d_name, LAZY_TRASH_NAME))
            continue;
        if (fill(buf, e->d_name, NULL, 0, 0))
            break;
    }
    closedir(d);
    return 0;
}

static int lz_mkdir(const char *path, mode_t mode)
{
    const char *r = rel(path);
    if (is_ctl(r) || dir_journal_is_trash(r))
        return -EEXIST;
    if (mkdirat(lazyfs.root_fd, r, mode) != 0)
        return -errno;
    return dir_journal_created(&lazyfs.journal, r, true);
}

static int lz_unlink(const char *path)
{
    const char *r = rel(path);
    if (is_ctl(r))
        return -EPERM;
    if (dir_journal_is_trash(r))
        return -ENOENT;
    int rc = dir_journal_remove(&lazyfs.journal, r, false);
    if (rc == 0)
        node_removed(r);
    return rc;
}

static int lz_rmdir(const char *path)
{
    const char *r = rel(path);
    if (!*r)
        return -EBUSY;
    if (dir_journal_is_trash(r))
        return -ENOENT;
    int rc = dir_journal_remove(&lazyfs.journal, r, true);
    if (rc == 0)
        node_removed(r);
    return rc;
}

static int lz_rename(const char *from, const char *to, unsigned int flags)
{
    const char *rf = rel(from), *rt = rel(to);
    if (flags & ~(unsigned)RENAME_NOREPLACE)
        return -EINVAL; /* RENAME_EXCHANGE and whiteouts are not modelled */
    if (is_ctl(rf) || is_ctl(rt) || dir_journal_is_trash(rf) || dir_journal_is_trash(rt))
        return -EPERM;
    int rc = dir_journal_rename(&lazyfs.journal, rf, rt, flags & RENAME_NOREPLACE);
    if (rc == 0) {
        node_removed(rt);
        rc = node_renamed(rf, rt);
    }
    return rc;
}

static int lz_fsyncdir(const char *path, int datasync, struct fuse_file_info *fi)
{
    (void)datasync;
    (void)fi;
    const char *r = rel(path);
    lazyfs.counters.dir_syncs++;
    dir_journal_sync_dir(&lazyfs.journal, r);
    /* What the journal made durable must be durable on the backing disk too. */
    int fd = openat(lazyfs.root_fd, at(r), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

static int lz_chmod(const char *path, mode_t mode, struct fuse_file_info *fi)
{
    struct lazy_handle *h = handle_of(fi);
    if (h && !h->ctl)
        return fchmod(h->fd, mode) == 0 ? 0 : -errno;
    return fchmodat(lazyfs.root_fd, at(rel(path)), mode, 0) == 0 ? 0 : -errno;
}

static int lz_chown(const char *path, uid_t uid, gid_t gid, struct fuse_file_info *fi)
{
    struct lazy_handle *h = handle_of(fi);
    if (h && !h->ctl)
        return fchown(h->fd, uid, gid) == 0 ? 0 : -errno;
    return fchownat(lazyfs.root_fd, at(rel(path)), uid, gid, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

static int lz_utimens(const char *path, const struct timespec tv[2], struct fuse_file_info *fi)
{
    struct lazy_handle *h = handle_of(fi);
    if (h && h->ctl)
        return 0;
    if (h)
        return futimens(h->fd, tv) == 0 ? 0 : -errno;
    return utimensat(lazyfs.root_fd, at(rel(path)), tv, AT_SYMLINK_NOFOLLOW) == 0 ? 0 : -errno;
}

static int lz_statfs(const char *path, struct statvfs *st)
{
    (void)path;
    return fstatvfs(lazyfs.root_fd, st) == 0 ? 0 : -errno;
}

static void *lz_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
    (void)conn;
    /* No kernel caching of names, attributes or data: after a power cut the kernel
     * must ask again, and see the durable state. */
    cfg->entry_timeout = 0;
    cfg->attr_timeout = 0;
    cfg->negative_timeout = 0;
    cfg->direct_io = 1;
    /* Unlink and rename really remove (no .fuse_hidden files), and operations on an
     * open file come with its handle, not a path it may no longer have. */
    cfg->hard_remove = 1;
    cfg->nullpath_ok = 1;
    return NULL;
}

const struct fuse_operations lazyfs_operations = {
    .init = lz_init,
    .getattr = lz_getattr,
    .open = lz_open,
    .create = lz_create,
    .read = lz_read,
    .write = lz_write,
    .truncate = lz_truncate,
    .fallocate = lz_fallocate,
    .fsync = lz_fsync,
    .flush = lz_flush,
    .release = lz_release,
    .readdir = lz_readdir,
    .mkdir = lz_mkdir,
    .unlink = lz_unlink,
    .rmdir = lz_rmdir,
    .rename = lz_rename,
    .fsyncdir = lz_fsyncdir,
    .chmod = lz_chmod,
    .chown = lz_chown,
    .utimens = lz_utimens,
    .statfs = lz_statfs,
};
