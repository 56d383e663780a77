/* dir_journal.c: see dir_journal.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/lazyfs/dir_journal.h"

/* Deletes name under dir_fd, a directory with everything in it or a file. */
static int remove_tree(int dir_fd, const char *name)
{
    if (unlinkat(dir_fd, name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno != EISDIR && errno != EPERM)
        return -errno;
    int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        return -e;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            remove_tree(dirfd(d), e->d_name);
    closedir(d);
    return unlinkat(dir_fd, name, AT_REMOVEDIR) == 0 ? 0 : -errno;
}

int dir_journal_init(struct dir_journal *j, int root_fd)
{
    memset(j, 0, sizeof(*j));
    j->root_fd = root_fd;
    /* A trash left by an earlier lazyfs holds what it could not undo: durable now. */
    remove_tree(root_fd, LAZY_TRASH_NAME);
    if (mkdirat(root_fd, LAZY_TRASH_NAME, 0700) != 0)
        return -errno;
    j->trash_fd = openat(root_fd, LAZY_TRASH_NAME, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return j->trash_fd < 0 ? -errno : 0;
}

static void free_op(struct dir_op *op)
{
    free(op->path);
    free(op->to);
    free(op->trash);
}

void dir_journal_free(struct dir_journal *j)
{
    for (size_t i = 0; i < j->n; i++)
        free_op(&j->ops[i]);
    free(j->ops);
    if (j->trash_fd >= 0)
        close(j->trash_fd);
    j->ops = NULL;
    j->n = j->cap = 0;
    j->trash_fd = -1;
}

bool dir_journal_is_trash(const char *path)
{
    size_t len = strlen(LAZY_TRASH_NAME);
    return !strncmp(path, LAZY_TRASH_NAME, len) && (path[len] == 0 || path[len] == '/');
}

static struct dir_op *append(struct dir_journal *j, enum dir_op_kind kind, const char *path,
                             bool is_dir)
{
    if (j->n == j->cap) {
        size_t cap = j->cap ? j->cap * 2 : 32;
        struct dir_op *grown = realloc(j->ops, cap * sizeof(*grown));
        if (!grown)
            return NULL;
        j->ops = grown;
        j->cap = cap;
    }
    struct dir_op *op = &j->ops[j->n];
    memset(op, 0, sizeof(*op));
    op->kind = kind;
    op->is_dir = is_dir;
    op->path = strdup(path);
    if (!op->path)
        return NULL;
    j->n++;
    return op;
}

int dir_journal_created(struct dir_journal *j, const char *path, bool is_dir)
{
    return append(j, DIR_OP_CREATE, path, is_dir) ? 0 : -ENOMEM;
}

static bool dir_is_empty(int root_fd, const char *path)
{
    int fd = openat(root_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return true; /* let the caller's own call report it */
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return true;
    }
    bool empty = true;
    struct dirent *e;
    while (empty && (e = readdir(d)) != NULL)
        empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
    closedir(d);
    return empty;
}

/* Moves path into the trash and records it. */
static int move_to_trash(struct dir_journal *j, const char *path, bool is_dir, bool with_next)
{
    char name[32];
    snprintf(name, sizeof(name), "%" PRIu64, ++j->seq);
    struct dir_op *op = append(j, DIR_OP_REMOVE, path, is_dir);
    if (!op || !(op->trash = strdup(name))) {
        if (op)
            free_op(&j->ops[--j->n]);
        return -ENOMEM;
    }
    op->with_next = with_next;
    if (renameat(j->root_fd, path, j->trash_fd, name) != 0) {
        int e = errno;
        free_op(&j->ops[--j->n]);
        return -e;
    }
    return 0;
}

int dir_journal_remove(struct dir_journal *j, const char *path, bool is_dir)
{
    struct stat st;
    if (fstatat(j->root_fd, path, &st, AT_SYMLINK_NOFOLLOW) != 0)
        return -errno;
    if (is_dir && !S_ISDIR(st.st_mode))
        return -ENOTDIR;
    if (!is_dir && S_ISDIR(st.st_mode))
        return -EISDIR;
    if (is_dir && !dir_is_empty(j->root_fd, path))
        return -ENOTEMPTY;
    return move_to_trash(j, path, is_dir, false);
}

int dir_journal_rename(struct dir_journal *j, const char *from, const char *to, bool noreplace)
{
    struct stat sf, st;
    if (fstatat(j->root_fd, from, &sf, AT_SYMLINK_NOFOLLOW) != 0)
        return -errno;
    bool replaces = fstatat(j->root_fd, to, &st, AT_SYMLINK_NOFOLLOW) == 0;
    if (replaces && noreplace)
        return -EEXIST;
    if (replaces && sf.st_ino == st.st_ino && sf.st_dev == st.st_dev)
        return 0; /* rename(2) of a name onto itself does nothing */
    if (replaces) {
        if (S_ISDIR(st.st_mode) != S_ISDIR(sf.st_mode))
            return S_ISDIR(st.st_mode) ? -EISDIR : -ENOTDIR;
        if (S_ISDIR(st.st_mode) && !dir_is_empty(j->root_fd, to))
            return -ENOTEMPTY;
        int rc = move_to_trash(j, to, S_ISDIR(st.st_mode), true);
        if (rc < 0)
            return rc;
    }
    struct dir_op *op = append(j, DIR_OP_RENAME, from, S_ISDIR(sf.st_mode));
    if (!op || !(op->to = strdup(to))) {
        if (op)
            free_op(&j->ops[--j->n]);
        return -ENOMEM;
    }
    if (renameat(j->root_fd, from, j->root_fd, to) != 0) {
        int e = errno;
        free_op(&j->ops[--j->n]);
        return -e;
    }
    return 0;
}

/* Whether path's directory is dir ("" the root). */
static bool in_dir(const char *path, const char *dir)
{
    const char *slash = strrchr(path, '/');
    size_t len = slash ? (size_t)(slash - path) : 0;
    return strlen(dir) == len && !strncmp(path, dir, len);
}

static bool touches(const struct dir_op *op, const char *dir)
{
    return in_dir(op->path, dir) || (op->to && in_dir(op->to, dir));
}

size_t dir_journal_sync_dir(struct dir_journal *j, const char *dir)
{
    size_t keep = 0, synced = 0;
    for (size_t i = 0; i < j->n; i++) {
        struct dir_op *op = &j->ops[i];
        bool durable = touches(op, dir);
        /* A rename's replaced target goes with the rename. */
        if (!durable && op->with_next && i + 1 < j->n)
            durable = touches(&j->ops[i + 1], dir);
        if (!durable) {
            j->ops[keep++] = *op;
            continue;
        }
        if (op->kind == DIR_OP_REMOVE)
            remove_tree(j->trash_fd, op->trash);
        free_op(op);
        synced++;
    }
    j->n = keep;
    return synced;
}

static int undo(struct dir_journal *j, const struct dir_op *op)
{
    switch (op->kind) {
    case DIR_OP_CREATE:
        return remove_tree(j->root_fd, op->path);
    case DIR_OP_REMOVE:
        return renameat(j->trash_fd, op->trash, j->root_fd, op->path) == 0 ? 0 : -errno;
    case DIR_OP_RENAME:
        return renameat(j->root_fd, op->to, j->root_fd, op->path) == 0 ? 0 : -errno;
    }
    return -EINVAL;
}

size_t dir_journal_undo_all(struct dir_journal *j, size_t *failed)
{
    size_t undone = j->n;
    *failed = 0;
    while (j->n) {
        struct dir_op *op = &j->ops[--j->n];
        int rc = undo(j, op);
        if (rc < 0) {
            (*failed)++;
            fprintf(stderr, "lazyfs: power cut: cannot undo %s of %s: %s\n",
                    op->kind == DIR_OP_CREATE   ? "the creation"
                    : op->kind == DIR_OP_REMOVE ? "the removal"
                                                : "the rename",
                    op->path, strerror(-rc));
            if (op->kind == DIR_OP_REMOVE)
                remove_tree(j->trash_fd, op->trash);
        }
        free_op(op);
    }
    return undone;
}
