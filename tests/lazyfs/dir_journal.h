/* dir_journal.h: lazyfs's directory operations (create, mkdir, unlink, rmdir, rename).
 * Each is applied to the backing directory at once, so processes see it, and remembered
 * as unsynced until an fsync of its directory; a power cut undoes the unsynced ones,
 * newest first. A removed entry is not deleted but moved into a trash directory in the
 * backing root, so that undoing the removal brings back its durable content. */
#ifndef TESTS_LAZYFS_DIR_JOURNAL_H
#define TESTS_LAZYFS_DIR_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The trash, in the backing root; lazyfs hides it from processes. */
#define LAZY_TRASH_NAME ".lazyfs_trash"

enum dir_op_kind {
    DIR_OP_CREATE, /* a file or directory was made at path */
    DIR_OP_REMOVE, /* path was moved to trash/<trash> */
    DIR_OP_RENAME, /* path was renamed to `to` */
};

struct dir_op {
    enum dir_op_kind kind;
    char *path;  /* relative to the root, no leading '/'; "" is the root */
    char *to;    /* DIR_OP_RENAME only */
    char *trash; /* DIR_OP_REMOVE only: its name in the trash */
    bool is_dir;
    /* This REMOVE is the target a rename replaced: it becomes durable with that rename. */
    bool with_next;
};

struct dir_journal {
    int root_fd;        /* the backing root */
    int trash_fd;       /* the trash directory */
    uint64_t seq;       /* for trash names */
    struct dir_op *ops; /* oldest first */
    size_t n, cap;
};

/* Opens (or makes) the trash under root_fd and empties it. 0 or -errno. */
int dir_journal_init(struct dir_journal *j, int root_fd);
void dir_journal_free(struct dir_journal *j);

/* Records that path was just created. 0 or -ENOMEM (the entry is then durable at once). */
int dir_journal_created(struct dir_journal *j, const char *path, bool is_dir);
/* Removes path (unlink, or rmdir when is_dir: then it must be empty). 0 or -errno. */
int dir_journal_remove(struct dir_journal *j, const char *path, bool is_dir);
/* rename(2) from -> to, replacing `to` unless noreplace. 0 or -errno. */
int dir_journal_rename(struct dir_journal *j, const char *from, const char *to, bool noreplace);

/* An fsync of directory dir: every unsynced operation on an entry of dir becomes
 * durable (a rename when either of its directories is synced). Returns how many. */
size_t dir_journal_sync_dir(struct dir_journal *j, const char *dir);
/* A power cut: undoes every unsynced operation, newest first. Returns how many were
 * undone; *failed counts those that could not be (reported on stderr). */
size_t dir_journal_undo_all(struct dir_journal *j, size_t *failed);

/* Whether relative path names the trash or something in it. */
bool dir_journal_is_trash(const char *path);

#endif
