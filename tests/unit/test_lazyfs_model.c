/* test_lazyfs_model.c: lazyfs's two models without FUSE, so they are tested on every
 * machine: a file's page cache (what processes read, what a sync writes, what a power
 * cut keeps) and the directory journal (what a directory sync keeps, what a power cut
 * undoes), against a real backing directory. */
#include <criterion/criterion.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/lazyfs/dir_journal.h"
#include "tests/lazyfs/page_cache.h"

static char root[64];
static int root_fd = -1;

static void setup(void)
{
    snprintf(root, sizeof(root), "/tmp/lazyfs_model.XXXXXX");
    cr_assert_not_null(mkdtemp(root));
    root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cr_assert_geq(root_fd, 0);
}

static void teardown(void)
{
    close(root_fd);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", root);
}

TestSuite(page_cache, .init = setup, .fini = teardown);
TestSuite(dir_journal, .init = setup, .fini = teardown);

/* A backing file of len bytes of c. */
static int backing(const char *name, char c, size_t len)
{
    int fd = openat(root_fd, name, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    cr_assert_geq(fd, 0);
    char *buf = malloc(len + 1);
    memset(buf, c, len);
    cr_assert_eq(pwrite(fd, buf, len, 0), (ssize_t)len);
    free(buf);
    return fd;
}

static off_t backing_size(int fd)
{
    struct stat st;
    cr_assert_eq(fstat(fd, &st), 0);
    return st.st_size;
}

static char buf[64 * 1024];

Test(page_cache, writes_stay_in_memory_and_reads_merge_them)
{
    int fd = backing("f", 'a', 10000);
    struct page_cache pc = {0};
    cr_assert_eq(page_cache_write(&pc, fd, "XYZ", 3, 4095), 3); /* across two pages */
    cr_assert_eq(pc.npages, 2);
    cr_assert_eq(page_cache_read(&pc, fd, buf, sizeof(buf), 0), 10000);
    cr_assert_eq(buf[4094], 'a');
    cr_assert_eq(memcmp(buf + 4095, "XYZ", 3), 0);
    cr_assert_eq(buf[4098], 'a');
    cr_assert_eq(pread(fd, buf, 3, 4095), 3);
    cr_assert_eq(memcmp(buf, "aaa", 3), 0, "the backing file was written before a sync");
    /* Past the end: the size grows, the gap reads as zeros. */
    cr_assert_eq(page_cache_write(&pc, fd, "E", 1, 20000), 1);
    cr_assert_eq(pc.size, 20001);
    cr_assert_eq(page_cache_read(&pc, fd, buf, sizeof(buf), 9990), 20001 - 9990);
    cr_assert_eq(buf[9], 'a');
    cr_assert_eq(buf[10], 0);
    cr_assert_eq(buf[20000 - 9990], 'E');
    cr_assert_eq(page_cache_read(&pc, fd, buf, 10, 20001), 0, "EOF");
    cr_assert_eq(backing_size(fd), 10000);
    page_cache_free(&pc);
    close(fd);
}

Test(page_cache, sync_makes_it_durable_and_a_drop_forgets_the_rest)
{
    int fd = backing("f", 'a', 5000);
    struct page_cache pc = {0};
    cr_assert_eq(page_cache_write(&pc, fd, "12345", 5, 4998), 5);
    cr_assert_eq(page_cache_sync(&pc, fd, true), 0);
    cr_assert_eq(pc.npages, 0);
    cr_assert_eq(backing_size(fd), 5003);
    cr_assert_eq(pread(fd, buf, 5, 4998), 5);
    cr_assert_eq(memcmp(buf, "12345", 5), 0);
    cr_assert_eq(page_cache_write(&pc, fd, "zz", 2, 0), 2);
    cr_assert(page_cache_dirty(&pc, fd));
    cr_assert_eq(page_cache_drop(&pc, fd, NULL), 1);
    cr_assert_not(pc.loaded);
    cr_assert_eq(page_cache_read(&pc, fd, buf, 2, 0), 2);
    cr_assert_eq(memcmp(buf, "aa", 2), 0);
    cr_assert_not(page_cache_dirty(&pc, fd));
    page_cache_free(&pc);
    close(fd);
}

Test(page_cache, truncate_hides_backing_bytes_until_synced)
{
    int fd = backing("f", 'a', 10000);
    struct page_cache pc = {0};
    cr_assert_eq(page_cache_write(&pc, fd, "b", 1, 50), 1);
    cr_assert_eq(page_cache_write(&pc, fd, "b", 1, 8191), 1);
    cr_assert_eq(page_cache_truncate(&pc, fd, 100), 0);
    cr_assert_eq(pc.npages, 1, "the page past the end went");
    cr_assert_eq(page_cache_truncate(&pc, fd, 9000), 0);
    cr_assert_eq(page_cache_read(&pc, fd, buf, sizeof(buf), 0), 9000);
    cr_assert_eq(buf[50], 'b');
    cr_assert_eq(buf[99], 'a');
    for (int i = 100; i < 9000; i++)
        cr_assert_eq(buf[i], 0, "byte %d", i);
    cr_assert_eq(backing_size(fd), 10000, "nothing reached the backing file");
    cr_assert_eq(page_cache_sync(&pc, fd, false), 0);
    cr_assert_eq(backing_size(fd), 9000);
    cr_assert_eq(pread(fd, buf, 9000, 0), 9000);
    cr_assert_eq(buf[50], 'b');
    cr_assert_eq(buf[99], 'a');
    cr_assert_eq(buf[100], 0);
    cr_assert_eq(buf[8999], 0);
    page_cache_free(&pc);
    close(fd);
}

Test(page_cache, a_torn_drop_writes_some_pages_from_the_seed)
{
    int fd = backing("f", 'a', 32 * LAZY_PAGE_SIZE);
    struct page_cache pc = {0};
    memset(buf, 'b', 32 * 1024);
    for (int i = 0; i < 4; i++)
        cr_assert_eq(page_cache_write(&pc, fd, buf, 8 * LAZY_PAGE_SIZE, i * 8 * LAZY_PAGE_SIZE),
                     8 * LAZY_PAGE_SIZE);
    uint64_t seed = 99;
    size_t dropped = page_cache_drop(&pc, fd, &seed);
    cr_assert(dropped > 0 && dropped < 32, "%zu dropped", dropped);
    size_t kept = 0;
    for (int p = 0; p < 32; p++) {
        cr_assert_eq(pread(fd, buf, 1, (off_t)p * LAZY_PAGE_SIZE), 1);
        kept += buf[0] == 'b';
    }
    cr_assert_eq(kept, 32 - dropped);
    page_cache_free(&pc);
    close(fd);
}

static bool exists(const char *name)
{
    struct stat st;
    return fstatat(root_fd, name, &st, 0) == 0;
}

static char first_byte(const char *name)
{
    int fd = openat(root_fd, name, O_RDONLY | O_CLOEXEC);
    cr_assert_geq(fd, 0, "%s: %s", name, strerror(errno));
    char c = 0;
    cr_assert_eq(read(fd, &c, 1), 1);
    close(fd);
    return c;
}

static void create(struct dir_journal *j, const char *name, char c)
{
    close(backing(name, c, 10));
    cr_assert_eq(dir_journal_created(j, name, false), 0);
}

Test(dir_journal, a_power_cut_undoes_what_no_directory_sync_covered)
{
    struct dir_journal j;
    cr_assert_eq(dir_journal_init(&j, root_fd), 0);
    cr_assert(exists(LAZY_TRASH_NAME));
    cr_assert(dir_journal_is_trash(LAZY_TRASH_NAME "/3"));
    cr_assert_not(dir_journal_is_trash(LAZY_TRASH_NAME "x"));
    create(&j, "a", '1');
    create(&j, "b", '2');
    cr_assert_eq(mkdirat(root_fd, "d", 0755), 0);
    cr_assert_eq(dir_journal_created(&j, "d", true), 0);
    cr_assert_eq(dir_journal_sync_dir(&j, ""), 3);
    /* Unsynced: a replace by rename, an unlink, a file in d, and d's own sync. */
    create(&j, "a.tmp", '3');
    cr_assert_eq(dir_journal_rename(&j, "a.tmp", "a", false), 0);
    cr_assert_eq(first_byte("a"), '3');
    cr_assert_eq(dir_journal_remove(&j, "b", false), 0);
    cr_assert_not(exists("b"));
    create(&j, "d/kept", '4');
    create(&j, "d/lost", '5');
    cr_assert_eq(dir_journal_rename(&j, "d/lost", "d/lost2", true), 0);
    cr_assert_eq(dir_journal_rename(&j, "d/kept", "d/lost2", true), -EEXIST);
    cr_assert_eq(dir_journal_remove(&j, "d", true), -ENOTEMPTY);
    /* Synced in d: its two creations and the rename; not those of the root. */
    cr_assert_eq(dir_journal_sync_dir(&j, "d"), 3);
    size_t failed;
    cr_assert_eq(dir_journal_undo_all(&j, &failed), 4);
    cr_assert_eq(failed, 0);
    cr_assert_eq(first_byte("a"), '1', "the replace was undone");
    cr_assert_eq(first_byte("b"), '2', "the unlink was undone");
    cr_assert_not(exists("a.tmp"));
    cr_assert(exists("d/kept"));
    cr_assert(exists("d/lost2"));
    cr_assert_eq(j.n, 0);
    dir_journal_free(&j);
}

Test(dir_journal, a_synced_removal_empties_the_trash)
{
    struct dir_journal j;
    cr_assert_eq(dir_journal_init(&j, root_fd), 0);
    create(&j, "a", '1');
    cr_assert_eq(dir_journal_remove(&j, "a", false), 0);
    cr_assert(exists(LAZY_TRASH_NAME "/1"));
    cr_assert_eq(dir_journal_sync_dir(&j, ""), 2);
    cr_assert_not(exists(LAZY_TRASH_NAME "/1"));
    size_t failed;
    cr_assert_eq(dir_journal_undo_all(&j, &failed), 0);
    cr_assert_not(exists("a"));
    dir_journal_free(&j);
}
