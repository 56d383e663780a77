/* test_lazyfs.c: lazyfs (tests/lazyfs/, $RAFT_LAZYFS_BIN) mounted for real: what is not
 * synced is gone after a power cut, what is synced stays, and directory changes need the
 * directory's fsync. Skipped where FUSE cannot be used (no binary, no /dev/fuse, the
 * mount refused). */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tests/lib/lazyfs_mount.h"

static struct lazyfs_mount mnt;
static char top[64];

static void finish(void)
{
    lazyfs_unmount(&mnt);
    if (top[0]) {
        char cmd[128];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", top);
        if (system(cmd) != 0)
            fprintf(stderr, "could not remove %s\n", top);
        top[0] = 0;
    }
}

static void start(void)
{
    char why[600];
    if (lazyfs_usable(lazyfs_bin(), why, sizeof(why)) != 0)
        cr_skip_test("lazyfs unusable: %s", why);
    /* Each test is a process of its own: in a private namespace its mount cannot outlive it. */
    lazyfs_private_mounts();
    snprintf(top, sizeof(top), "/tmp/raft-lazyfs-XXXXXX");
    cr_assert_not_null(mkdtemp(top));
    char backing[128], mountpoint[128], log[128];
    snprintf(backing, sizeof(backing), "%s/disk", top);
    snprintf(mountpoint, sizeof(mountpoint), "%s/mnt", top);
    snprintf(log, sizeof(log), "%s/lazyfs.log", top);
    cr_assert_eq(mkdir(backing, 0755), 0);
    if (lazyfs_mount_start(&mnt, lazyfs_bin(), backing, mountpoint, log, why, sizeof(why)) != 0) {
        finish(); /* a skip from .init does not run .fini */
        cr_skip_test("cannot mount lazyfs: %s", why);
    }
}

TestSuite(lazyfs, .init = start, .fini = finish, .timeout = 60);

static const char *in_mount(const char *name)
{
    static char path[4][600];
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, 600, "%s/%s", mnt.mountpoint, name);
    return p;
}

/* Writes len bytes of c at off, fsyncing the file when sync. */
static void write_at(const char *name, char c, size_t len, off_t off, bool sync)
{
    char *buf = malloc(len);
    cr_assert_not_null(buf);
    memset(buf, c, len);
    int fd = open(in_mount(name), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    cr_assert_geq(fd, 0, "open %s: %s", name, strerror(errno));
    cr_assert_eq(pwrite(fd, buf, len, off), (ssize_t)len);
    if (sync)
        cr_assert_eq(fsync(fd), 0);
    close(fd);
    free(buf);
}

static void sync_dir(void)
{
    int fd = open(mnt.mountpoint, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    cr_assert_geq(fd, 0);
    cr_assert_eq(fsync(fd), 0);
    close(fd);
}

/* The whole file (NUL-terminated) into buf; its size, or -1 when it does not exist. */
static ssize_t read_file(const char *name, char *buf, size_t len)
{
    int fd = open(in_mount(name), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, len - 1);
    close(fd);
    cr_assert_geq(n, 0);
    buf[n] = 0;
    return n;
}

static off_t size_of(const char *name)
{
    struct stat st;
    return stat(in_mount(name), &st) == 0 ? st.st_size : -1;
}

static char counters[512];

static void cut(unsigned long long torn_seed)
{
    char err[256];
    cr_assert_eq(lazyfs_cut_power(&mnt, torn_seed, counters, sizeof(counters), err, sizeof(err)), 0,
                 "%s", err);
}

static char buf[1 << 20];

Test(lazyfs, unsynced_write_is_read_back_then_lost)
{
    write_at("f", 'a', 100, 0, true);
    sync_dir();
    write_at("f", 'b', 5000, 50, false);
    cr_assert_eq(read_file("f", buf, sizeof(buf)), 5050, "read-your-writes");
    cr_assert_eq(buf[49], 'a');
    cr_assert_eq(buf[50], 'b');
    cr_assert_eq(buf[5049], 'b');
    cr_assert_eq(size_of("f"), 5050);
    cut(0);
    cr_assert_eq(read_file("f", buf, sizeof(buf)), 100, "after the cut: %s", counters);
    cr_assert_eq(buf[99], 'a');
    cr_assert(strstr(counters, "power_cuts=1 pages_dropped=2") != NULL, "%s", counters);
}

Test(lazyfs, synced_write_survives)
{
    write_at("f", 'a', 10000, 0, true);
    sync_dir();
    write_at("f", 'c', 10, 9995, true); /* overwrites and extends */
    cut(0);
    cr_assert_eq(read_file("f", buf, sizeof(buf)), 10005);
    cr_assert_eq(buf[9994], 'a');
    cr_assert_eq(buf[9995], 'c');
    cr_assert_eq(buf[10004], 'c');
}

Test(lazyfs, created_file_needs_its_directory_synced)
{
    write_at("lost", 'x', 300, 0, true); /* the file synced, not the directory */
    cr_assert_eq(read_file("lost", buf, sizeof(buf)), 300);
    cut(0);
    cr_assert_eq(read_file("lost", buf, sizeof(buf)), -1, "the unsynced entry survived");
    cr_assert(strstr(counters, "dir_ops_undone=1") != NULL, "%s", counters);
    write_at("kept", 'y', 300, 0, true);
    sync_dir();
    cut(0);
    cr_assert_eq(read_file("kept", buf, sizeof(buf)), 300);
    cr_assert_eq(buf[299], 'y');
}

Test(lazyfs, unlink_and_rename_are_undone_without_a_directory_sync)
{
    write_at("a", '1', 64, 0, true);
    write_at("b", '2', 64, 0, true);
    sync_dir();
    /* The atomic replace of a file, minus the final directory fsync. */
    write_at("a.tmp", '3', 64, 0, true);
    cr_assert_eq(rename(in_mount("a.tmp"), in_mount("a")), 0);
    cr_assert_eq(unlink(in_mount("b")), 0);
    cr_assert_eq(read_file("a", buf, sizeof(buf)), 64);
    cr_assert_eq(buf[0], '3');
    cr_assert_eq(read_file("b", buf, sizeof(buf)), -1);
    cut(0);
    cr_assert_eq(read_file("a", buf, sizeof(buf)), 64);
    cr_assert_eq(buf[0], '1', "the rename was undone");
    cr_assert_eq(read_file("b", buf, sizeof(buf)), 64, "the unlink was undone");
    cr_assert_eq(buf[0], '2');
    cr_assert_eq(read_file("a.tmp", buf, sizeof(buf)), -1, "the creation was undone");
    /* The same with the directory synced: it all stays. */
    write_at("a.tmp", '3', 64, 0, true);
    cr_assert_eq(rename(in_mount("a.tmp"), in_mount("a")), 0);
    cr_assert_eq(unlink(in_mount("b")), 0);
    sync_dir();
    cut(0);
    cr_assert_eq(read_file("a", buf, sizeof(buf)), 64);
    cr_assert_eq(buf[0], '3');
    cr_assert_eq(read_file("b", buf, sizeof(buf)), -1);
}

Test(lazyfs, truncate_is_lazy_too)
{
    write_at("t", 'a', 10000, 0, true);
    sync_dir();
    cr_assert_eq(truncate(in_mount("t"), 100), 0);
    cr_assert_eq(size_of("t"), 100);
    cr_assert_eq(truncate(in_mount("t"), 5000), 0);
    cr_assert_eq(read_file("t", buf, sizeof(buf)), 5000);
    cr_assert_eq(buf[99], 'a');
    cr_assert_eq(buf[100], 0, "bytes past a truncate read as zeros");
    cr_assert_eq(buf[4999], 0);
    cut(0);
    cr_assert_eq(read_file("t", buf, sizeof(buf)), 10000);
    cr_assert_eq(buf[9999], 'a');
    /* Synced, the shrink and the zeros are durable. */
    cr_assert_eq(truncate(in_mount("t"), 100), 0);
    cr_assert_eq(truncate(in_mount("t"), 5000), 0);
    int fd = open(in_mount("t"), O_RDWR | O_CLOEXEC);
    cr_assert_eq(fsync(fd), 0);
    close(fd);
    cut(0);
    cr_assert_eq(read_file("t", buf, sizeof(buf)), 5000);
    cr_assert_eq(buf[99], 'a');
    cr_assert_eq(buf[100], 0);
}

Test(lazyfs, torn_cut_keeps_some_pages)
{
    write_at("f", 'a', 64 * 4096, 0, true);
    sync_dir();
    write_at("f", 'b', 64 * 4096, 0, false);
    cut(12345);
    unsigned long long kept = 0, dropped = 0;
    const char *k = strstr(counters, "pages_torn_kept="), *d = strstr(counters, "pages_dropped=");
    cr_assert(k && d, "%s", counters);
    sscanf(k, "pages_torn_kept=%llu", &kept);
    sscanf(d, "pages_dropped=%llu", &dropped);
    cr_assert_eq(kept + dropped, 64, "%s", counters);
    cr_assert(kept > 0 && dropped > 0, "%s", counters);
    cr_assert_eq(read_file("f", buf, sizeof(buf)), 64 * 4096);
    int bs = 0;
    for (int p = 0; p < 64; p++)
        bs += buf[p * 4096] == 'b';
    cr_assert_eq((unsigned long long)bs, kept);
}

Test(lazyfs, preallocation_is_a_size_change_lost_until_synced)
{
    write_at("f", 'a', 100, 0, true);
    sync_dir();
    int fd = open(in_mount("f"), O_RDWR | O_CLOEXEC);
    cr_assert_geq(fd, 0);
    cr_assert_eq(fallocate(fd, 0, 0, 9000), 0, "%s", strerror(errno));
    cr_assert_eq(size_of("f"), 9000);
    cr_assert_eq(read_file("f", buf, sizeof(buf)), 9000);
    cr_assert_eq(buf[99], 'a');
    cr_assert_eq(buf[100], 0, "preallocated bytes read as zeros");
    cr_assert_eq(buf[8999], 0);
    close(fd);
    cut(0);
    cr_assert_eq(size_of("f"), 100, "an unsynced preallocation is lost: %s", counters);

    fd = open(in_mount("f"), O_RDWR | O_CLOEXEC);
    cr_assert_geq(fd, 0);
    cr_assert_eq(fallocate(fd, 0, 0, 9000), 0);
    cr_assert_eq(fdatasync(fd), 0);
    close(fd);
    write_at("f", 'b', 10, 200, true); /* overwrites zeros: the size stays */
    cut(0);
    cr_assert_eq(size_of("f"), 9000, "a synced preallocation stays");
    cr_assert_eq(read_file("f", buf, sizeof(buf)), 9000);
    cr_assert_eq(buf[200], 'b');
    cr_assert_eq(buf[210], 0);
}
