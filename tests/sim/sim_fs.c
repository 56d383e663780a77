/* sim_fs.c: the model file system of sim_fs.h, and the sio_* calls of
 * raft_peer/storage/storage_internal.h implemented over it. */
#include "sim_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "raft_peer/storage/storage_internal.h"

#define NAME_MAX_LEN 63

struct entry {
    char name[NAME_MAX_LEN + 1];
    int ino;
};

/* One change to a directory since its last fsync: name now points at ino (-1: removed);
 * a rename also removes from_name, in the same change. */
struct dir_change {
    char name[NAME_MAX_LEN + 1];
    int ino;
    char from_name[NAME_MAX_LEN + 1]; /* "" unless a rename */
};

struct entries {
    struct entry *e;
    size_t n, cap;
};

struct inode {
    bool is_dir;
    /* a file: what processes see, what the disk holds, and the range written since */
    uint8_t *vol;
    uint64_t vol_len, vol_cap;
    uint8_t *dur;
    uint64_t dur_len, dur_cap;
    uint64_t dirty_lo, dirty_hi; /* [lo, hi) may differ; lo == hi: none */
    /* a directory */
    struct entries ents;  /* volatile */
    struct entries dents; /* durable */
    struct dir_change *changes;
    size_t n_changes, cap_changes;
    int lock_fd; /* descriptor holding the lock, -1 when none */
};

struct descriptor {
    bool used;
    bool writable; /* opened O_WRONLY or O_RDWR: writes through others fail, as they would */
    int ino;
    int owner;
};

struct sim_fs {
    struct inode **nodes; /* never freed before the file system: a power cut may bring an
                           * unlinked file back */
    size_t n_nodes, cap_nodes;
    struct descriptor *fds;
    size_t n_fds;
    int owner;
    void (*hook)(void *ctx, const char *op);
    void *hook_ctx;
    uint64_t changes, syncs;
    uint64_t nonces; /* handed out by sio_nonce */
};

static struct sim_fs *current;

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL) {
        fprintf(stderr, "sim_fs: out of memory\n");
        abort();
    }
    return q;
}

/* ---- inodes and entries ---- */

static int new_inode(struct sim_fs *fs, bool is_dir)
{
    if (fs->n_nodes == fs->cap_nodes) {
        fs->cap_nodes = fs->cap_nodes ? fs->cap_nodes * 2 : 16;
        fs->nodes = xrealloc(fs->nodes, fs->cap_nodes * sizeof *fs->nodes);
    }
    struct inode *n = calloc(1, sizeof *n);
    if (n == NULL)
        abort();
    n->is_dir = is_dir;
    n->lock_fd = -1;
    fs->nodes[fs->n_nodes] = n;
    return (int)fs->n_nodes++;
}

static int find_entry(const struct entries *es, const char *name)
{
    for (size_t i = 0; i < es->n; i++)
        if (strcmp(es->e[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* Points name at ino in es (-1: removes it). */
static void set_entry(struct entries *es, const char *name, int ino)
{
    int at = find_entry(es, name);
    if (ino < 0) {
        if (at >= 0)
            es->e[at] = es->e[--es->n];
        return;
    }
    if (at < 0) {
        if (es->n == es->cap) {
            es->cap = es->cap ? es->cap * 2 : 8;
            es->e = xrealloc(es->e, es->cap * sizeof *es->e);
        }
        at = (int)es->n++;
        snprintf(es->e[at].name, sizeof es->e[at].name, "%s", name);
    }
    es->e[at].ino = ino;
}

static void apply_change(struct entries *es, const struct dir_change *c)
{
    if (c->from_name[0] != '\0')
        set_entry(es, c->from_name, -1);
    set_entry(es, c->name, c->ino);
}

/* A volatile change to directory d, remembered until d is fsynced. */
static void change_dir(struct inode *d, const char *name, int ino, const char *from_name)
{
    if (d->n_changes == d->cap_changes) {
        d->cap_changes = d->cap_changes ? d->cap_changes * 2 : 8;
        d->changes = xrealloc(d->changes, d->cap_changes * sizeof *d->changes);
    }
    struct dir_change *c = &d->changes[d->n_changes++];
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "%s", name);
    c->ino = ino;
    if (from_name != NULL)
        snprintf(c->from_name, sizeof c->from_name, "%s", from_name);
    apply_change(&d->ents, c);
}

static void copy_entries(struct entries *dst, const struct entries *src)
{
    if (dst->cap < src->n) {
        dst->cap = src->n;
        dst->e = xrealloc(dst->e, dst->cap * sizeof *dst->e);
    }
    if (src->n > 0)
        memcpy(dst->e, src->e, src->n * sizeof *src->e);
    dst->n = src->n;
}

/* ---- file data ---- */

static void reserve(uint8_t **buf, uint64_t *cap, uint64_t need)
{
    if (*cap >= need)
        return;
    uint64_t c = *cap ? *cap : 4096;
    while (c < need)
        c *= 2;
    *buf = xrealloc(*buf, (size_t)c);
    *cap = c;
}

static void mark_dirty(struct inode *f, uint64_t lo, uint64_t hi)
{
    if (f->dirty_lo == f->dirty_hi) {
        f->dirty_lo = lo;
        f->dirty_hi = hi;
        return;
    }
    if (lo < f->dirty_lo)
        f->dirty_lo = lo;
    if (hi > f->dirty_hi)
        f->dirty_hi = hi;
}

/* Sets the volatile length; new bytes read as zeros. */
static void set_vol_len(struct inode *f, uint64_t len)
{
    if (len > f->vol_len) {
        reserve(&f->vol, &f->vol_cap, len);
        memset(f->vol + f->vol_len, 0, (size_t)(len - f->vol_len));
    }
    uint64_t lo = len < f->vol_len ? len : f->vol_len;
    uint64_t hi = len > f->vol_len ? len : f->vol_len;
    f->vol_len = len;
    mark_dirty(f, lo, hi);
}

static void sync_file(struct inode *f)
{
    reserve(&f->dur, &f->dur_cap, f->vol_len);
    uint64_t lo = f->dirty_lo, hi = f->dirty_hi < f->vol_len ? f->dirty_hi : f->vol_len;
    if (lo < hi)
        memcpy(f->dur + lo, f->vol + lo, (size_t)(hi - lo));
    f->dur_len = f->vol_len;
    f->dirty_lo = f->dirty_hi = 0;
}

static void sync_dir(struct inode *d)
{
    copy_entries(&d->dents, &d->ents);
    d->n_changes = 0;
}

/* ---- power cuts ---- */

static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static bool coin(enum sim_fs_cut how, uint64_t *rng)
{
    return how == SIM_FS_CUT_RANDOM && (next_random(rng) & 1) != 0;
}

static uint8_t byte_at(const uint8_t *buf, uint64_t len, uint64_t off)
{
    return off < len ? buf[off] : 0;
}

/* What reaches the platter of one file: its old or new size, and each sector that may
 * differ either old or new. */
static void cut_file(struct inode *f, enum sim_fs_cut how, uint64_t *rng)
{
    if (f->dirty_lo == f->dirty_hi && f->vol_len == f->dur_len) {
        f->vol_len = f->dur_len;
        return;
    }
    uint64_t len = coin(how, rng) ? f->vol_len : f->dur_len;
    uint8_t *out = calloc(1, len ? (size_t)len : 1);
    if (out == NULL)
        abort();
    if (f->dur_len > 0)
        memcpy(out, f->dur, (size_t)(f->dur_len < len ? f->dur_len : len));
    uint64_t lo = f->dirty_lo - f->dirty_lo % SIM_FS_SECTOR;
    for (uint64_t s = lo; s < f->dirty_hi && s < len; s += SIM_FS_SECTOR) {
        bool take_new = coin(how, rng);
        for (uint64_t i = s; i < s + SIM_FS_SECTOR && i < len; i++)
            out[i] = take_new ? byte_at(f->vol, f->vol_len, i) : byte_at(f->dur, f->dur_len, i);
    }
    free(f->dur);
    f->dur = out;
    f->dur_len = len;
    f->dur_cap = len ? len : 1;
    reserve(&f->vol, &f->vol_cap, len);
    if (len > 0)
        memcpy(f->vol, out, (size_t)len);
    f->vol_len = len;
    f->dirty_lo = f->dirty_hi = 0;
}

static void cut_tree(struct sim_fs *fs, int ino, enum sim_fs_cut how, uint64_t *rng)
{
    struct inode *d = fs->nodes[ino];
    if (!d->is_dir) {
        cut_file(d, how, rng);
        return;
    }
    size_t keep = how == SIM_FS_CUT_RANDOM && d->n_changes > 0
                      ? (size_t)(next_random(rng) % (d->n_changes + 1))
                      : 0;
    for (size_t i = 0; i < keep; i++)
        apply_change(&d->dents, &d->changes[i]);
    copy_entries(&d->ents, &d->dents); /* the platter's entries are all there is now */
    d->n_changes = 0;
    for (size_t i = 0; i < d->ents.n; i++)
        cut_tree(fs, d->ents.e[i].ino, how, rng);
}

/* ---- paths and descriptors ---- */

/* The inode at an absolute path ("/" is the root, inode 0), or -1. */
static int lookup_path(const struct sim_fs *fs, const char *path)
{
    int ino = 0;
    char name[NAME_MAX_LEN + 1];
    const char *p = path;
    while (*p == '/')
        p++;
    while (*p != '\0') {
        size_t len = strcspn(p, "/");
        if (len > NAME_MAX_LEN || !fs->nodes[ino]->is_dir)
            return -1;
        memcpy(name, p, len);
        name[len] = '\0';
        p += len;
        while (*p == '/')
            p++;
        if (strcmp(name, ".") == 0)
            continue;
        int at = find_entry(&fs->nodes[ino]->ents, name);
        if (at < 0)
            return -1;
        ino = fs->nodes[ino]->ents.e[at].ino;
    }
    return ino;
}

static int new_fd(struct sim_fs *fs, int ino, bool writable)
{
    size_t i = 0;
    while (i < fs->n_fds && fs->fds[i].used)
        i++;
    if (i == fs->n_fds) {
        fs->fds = xrealloc(fs->fds, (fs->n_fds + 1) * sizeof *fs->fds);
        fs->n_fds++;
    }
    fs->fds[i] =
        (struct descriptor){.used = true, .writable = writable, .ino = ino, .owner = fs->owner};
    return SIM_FS_FD_BASE + (int)i;
}

/* The inode behind fd, or NULL with errno EBADF. */
static struct inode *fd_inode(int fd)
{
    if (current == NULL) {
        errno = ENODEV;
        return NULL;
    }
    long i = (long)fd - SIM_FS_FD_BASE;
    if (i < 0 || (size_t)i >= current->n_fds || !current->fds[i].used) {
        errno = EBADF;
        return NULL;
    }
    return current->nodes[current->fds[i].ino];
}

/* The file behind a descriptor opened for writing, or NULL with errno set. */
static struct inode *writable_file(int fd)
{
    struct inode *f = fd_inode(fd);
    if (f == NULL)
        return NULL;
    if (f->is_dir) {
        errno = EISDIR;
        return NULL;
    }
    if (!current->fds[fd - SIM_FS_FD_BASE].writable) {
        errno = EBADF;
        return NULL;
    }
    return f;
}

static struct inode *dir_of(int dir_fd)
{
    struct inode *d = fd_inode(dir_fd);
    if (d != NULL && !d->is_dir) {
        errno = ENOTDIR;
        return NULL;
    }
    return d;
}

static bool bad_name(const char *name)
{
    if (strlen(name) > NAME_MAX_LEN || strchr(name, '/') != NULL || name[0] == '\0') {
        errno = ENAMETOOLONG;
        return true;
    }
    return false;
}

static void changing(const char *op)
{
    current->changes++;
    if (current->hook != NULL)
        current->hook(current->hook_ctx, op);
}

/* ---- the file system as a whole ---- */

struct sim_fs *sim_fs_new(void)
{
    struct sim_fs *fs = calloc(1, sizeof *fs);
    if (fs == NULL)
        abort();
    new_inode(fs, true); /* the root, always there */
    return fs;
}

static void free_inode(struct inode *n)
{
    free(n->vol);
    free(n->dur);
    free(n->ents.e);
    free(n->dents.e);
    free(n->changes);
    free(n);
}

void sim_fs_free(struct sim_fs *fs)
{
    if (fs == NULL)
        return;
    if (current == fs)
        current = NULL;
    for (size_t i = 0; i < fs->n_nodes; i++)
        free_inode(fs->nodes[i]);
    free(fs->nodes);
    free(fs->fds);
    free(fs);
}

static void *dup_bytes(const void *p, size_t n)
{
    if (p == NULL)
        return NULL;
    void *q = xrealloc(NULL, n);
    memcpy(q, p, n);
    return q;
}

struct sim_fs *sim_fs_clone(const struct sim_fs *fs)
{
    struct sim_fs *c = calloc(1, sizeof *c);
    if (c == NULL)
        abort();
    *c = *fs;
    c->hook = NULL;
    c->hook_ctx = NULL;
    c->nodes = xrealloc(NULL, fs->cap_nodes * sizeof *c->nodes);
    for (size_t i = 0; i < fs->n_nodes; i++) {
        const struct inode *s = fs->nodes[i];
        struct inode *n = xrealloc(NULL, sizeof *n);
        *n = *s;
        n->vol = dup_bytes(s->vol, (size_t)s->vol_cap);
        n->dur = dup_bytes(s->dur, (size_t)s->dur_cap);
        n->ents.e = dup_bytes(s->ents.e, s->ents.cap * sizeof *s->ents.e);
        n->dents.e = dup_bytes(s->dents.e, s->dents.cap * sizeof *s->dents.e);
        n->changes = dup_bytes(s->changes, s->cap_changes * sizeof *s->changes);
        c->nodes[i] = n;
    }
    c->fds = dup_bytes(fs->fds, fs->n_fds * sizeof *fs->fds);
    return c;
}

void sim_fs_use(struct sim_fs *fs)
{
    current = fs;
}

struct sim_fs *sim_fs_current(void)
{
    return current;
}

void sim_fs_set_owner(struct sim_fs *fs, int owner)
{
    fs->owner = owner;
}

void sim_fs_kill(struct sim_fs *fs, int owner)
{
    for (size_t i = 0; i < fs->n_fds; i++) {
        if (!fs->fds[i].used || fs->fds[i].owner != owner)
            continue;
        struct inode *n = fs->nodes[fs->fds[i].ino];
        if (n->lock_fd == SIM_FS_FD_BASE + (int)i)
            n->lock_fd = -1;
        fs->fds[i].used = false;
    }
}

void sim_fs_power_cut(struct sim_fs *fs, const char *path, enum sim_fs_cut how, uint64_t seed)
{
    int ino = lookup_path(fs, path);
    if (ino < 0)
        return;
    uint64_t rng = seed;
    cut_tree(fs, ino, how, &rng);
}

void sim_fs_set_hook(struct sim_fs *fs, void (*hook)(void *ctx, const char *op), void *ctx)
{
    fs->hook = hook;
    fs->hook_ctx = ctx;
}

uint64_t sim_fs_changes(const struct sim_fs *fs)
{
    return fs->changes;
}

uint64_t sim_fs_syncs(const struct sim_fs *fs)
{
    return fs->syncs;
}

static bool tree_unsynced(const struct sim_fs *fs, int ino)
{
    const struct inode *n = fs->nodes[ino];
    if (!n->is_dir)
        return n->dirty_lo != n->dirty_hi || n->vol_len != n->dur_len;
    if (n->n_changes > 0)
        return true;
    for (size_t i = 0; i < n->ents.n; i++)
        if (tree_unsynced(fs, n->ents.e[i].ino))
            return true;
    return false;
}

bool sim_fs_unsynced(const struct sim_fs *fs, const char *path)
{
    int ino = lookup_path(fs, path);
    return ino >= 0 && tree_unsynced(fs, ino);
}

/* ---- the sio_* calls (raft_peer/storage/storage_internal.h) over the current file system ---- */

int sio_open_dir(const char *path)
{
    if (current == NULL) {
        errno = ENODEV;
        return -1;
    }
    int ino = lookup_path(current, path);
    if (ino < 0) {
        errno = ENOENT;
        return -1;
    }
    if (!current->nodes[ino]->is_dir) {
        errno = ENOTDIR;
        return -1;
    }
    return new_fd(current, ino, false);
}

int sio_mkdir(const char *path)
{
    if (current == NULL) {
        errno = ENODEV;
        return -1;
    }
    char parent[256];
    snprintf(parent, sizeof parent, "%s", path);
    char *slash = strrchr(parent, '/');
    const char *name = slash ? slash + 1 : parent;
    int pino = 0;
    if (slash != NULL) {
        *slash = '\0';
        pino = lookup_path(current, parent[0] ? parent : "/");
    }
    if (pino < 0 || !current->nodes[pino]->is_dir) {
        errno = ENOENT;
        return -1;
    }
    if (bad_name(name))
        return -1;
    if (find_entry(&current->nodes[pino]->ents, name) >= 0) {
        errno = EEXIST;
        return -1;
    }
    changing("mkdir");
    int ino = new_inode(current, true);
    change_dir(current->nodes[pino], name, ino, NULL);
    return 0;
}

int sio_open(int dir_fd, const char *name, int flags)
{
    struct inode *d = dir_of(dir_fd);
    if (d == NULL || bad_name(name))
        return -1;
    int at = find_entry(&d->ents, name);
    if (at < 0) {
        errno = ENOENT;
        return -1;
    }
    return new_fd(current, d->ents.e[at].ino, (flags & O_ACCMODE) != O_RDONLY);
}

int sio_create(struct storage_io *io, int dir_fd, const char *name, int flags)
{
    struct inode *d = dir_of(dir_fd);
    if (d == NULL || bad_name(name))
        return -1;
    changing("create");
    if (sio_injected(io))
        return -1;
    int at = find_entry(&d->ents, name);
    int ino;
    if (at < 0) {
        ino = new_inode(current, false);
        change_dir(d, name, ino, NULL);
    } else {
        ino = d->ents.e[at].ino;
        if (current->nodes[ino]->is_dir) {
            errno = EISDIR;
            return -1;
        }
    }
    if (flags & O_TRUNC)
        set_vol_len(current->nodes[ino], 0);
    return new_fd(current, ino, (flags & O_ACCMODE) != O_RDONLY);
}

int sio_close(int fd)
{
    struct inode *n = fd_inode(fd);
    if (n == NULL)
        return -1;
    if (n->lock_fd == fd)
        n->lock_fd = -1;
    current->fds[fd - SIM_FS_FD_BASE].used = false;
    return 0;
}

int sio_file_size(int fd, uint64_t *size)
{
    struct inode *n = fd_inode(fd);
    if (n == NULL)
        return -1;
    if (n->is_dir) {
        errno = EINVAL;
        return -1;
    }
    *size = n->vol_len;
    return 0;
}

static void write_at(struct inode *f, const void *buf, size_t len, uint64_t off)
{
    if (len == 0)
        return;
    if (off + len > f->vol_len)
        set_vol_len(f, off + len);
    memcpy(f->vol + off, buf, len);
    mark_dirty(f, off, off + len);
}

int sio_pwrite_all(struct storage_io *io, int fd, const void *buf, size_t len, uint64_t off)
{
    struct inode *f = writable_file(fd);
    if (f == NULL)
        return -1;
    changing("write");
    if (sio_injected(io)) {
        int e = errno;
        write_at(f, buf, len / 2, off); /* a full disk takes part of a write */
        errno = e;
        return -1;
    }
    write_at(f, buf, len, off);
    return 0;
}

int sio_pread_all(int fd, void *buf, size_t len, uint64_t off)
{
    struct inode *f = fd_inode(fd);
    if (f == NULL)
        return -1;
    if (f->is_dir) {
        errno = EISDIR;
        return -1;
    }
    if (off + len > f->vol_len) {
        errno = EIO;
        return -1;
    }
    if (len > 0)
        memcpy(buf, f->vol + off, len);
    return 0;
}

static int sync_any(struct storage_io *io, int fd, const char *op)
{
    struct inode *n = fd_inode(fd);
    if (n == NULL)
        return -1;
    changing(op);
    if (sio_injected(io))
        return -1;
    current->syncs++;
    if (n->is_dir)
        sync_dir(n);
    else
        sync_file(n);
    return 0;
}

int sio_fdatasync(struct storage_io *io, int fd)
{
    return sync_any(io, fd, "fdatasync");
}

int sio_fsync(struct storage_io *io, int fd)
{
    return sync_any(io, fd, "fsync");
}

int sio_ftruncate(struct storage_io *io, int fd, uint64_t len)
{
    struct inode *f = writable_file(fd);
    if (f == NULL)
        return -1;
    changing("ftruncate");
    if (sio_injected(io))
        return -1;
    set_vol_len(f, len);
    return 0;
}

int sio_unlink(struct storage_io *io, int dir_fd, const char *name)
{
    struct inode *d = dir_of(dir_fd);
    if (d == NULL || bad_name(name))
        return -1;
    changing("unlink");
    if (sio_injected(io))
        return -1;
    if (find_entry(&d->ents, name) < 0) {
        errno = ENOENT;
        return -1;
    }
    change_dir(d, name, -1, NULL);
    return 0;
}

int sio_rename(struct storage_io *io, int dir_fd, const char *from, const char *to)
{
    struct inode *d = dir_of(dir_fd);
    if (d == NULL || bad_name(from) || bad_name(to))
        return -1;
    changing("rename");
    if (sio_injected(io))
        return -1;
    int at = find_entry(&d->ents, from);
    if (at < 0) {
        errno = ENOENT;
        return -1;
    }
    if (strcmp(from, to) != 0)
        change_dir(d, to, d->ents.e[at].ino, from);
    return 0;
}

/* Like an ftruncate that grows the file: the new bytes read as zeros, and until an
 * fdatasync a power cut keeps the old size or the new one, as for any size change. */
int sio_preallocate(int fd, uint64_t size)
{
    struct inode *f = writable_file(fd);
    if (f == NULL)
        return -1;
    changing("preallocate");
    if (size > f->vol_len)
        set_vol_len(f, size);
    return 0;
}

uint32_t sio_nonce(void)
{
    /* Deterministic, so a seed replays; never 0, the "no nonce" of old segments. */
    if (current == NULL)
        return 1;
    return (uint32_t)(++current->nonces * 2654435761u) | 1u;
}

int sio_list(int dir_fd, int (*fn)(const char *name, void *ctx), void *ctx)
{
    struct inode *d = dir_of(dir_fd);
    if (d == NULL)
        return -1;
    /* A copy: fn may not change the directory, but be safe if it ever does. */
    struct entries copy = {NULL, 0, 0};
    copy_entries(&copy, &d->ents);
    int rc = 0;
    for (size_t i = 0; i < copy.n && rc == 0; i++)
        rc = fn(copy.e[i].name, ctx);
    free(copy.e);
    return rc;
}

int sio_lock(int dir_fd, const char *name)
{
    int fd = sio_create(NULL, dir_fd, name, O_RDWR);
    if (fd < 0)
        return -1;
    struct inode *n = fd_inode(fd);
    if (n->lock_fd >= 0) {
        sio_close(fd);
        errno = EWOULDBLOCK;
        return -1;
    }
    n->lock_fd = fd;
    return fd;
}
