/* power_cuts.c: see power_cuts.h. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "common/error_message.h"
#include "tests/chaos/power_cuts.h"

static int make_dir(const char *path, char *err, size_t errlen)
{
    if (mkdir(path, 0755) == 0 || errno == EEXIST)
        return 0;
    set_err(err, errlen, "mkdir %s: %s", path, strerror(errno));
    return -1;
}

int power_cuts_setup(struct power_cuts *pc, const struct chaos_cluster *c, bool required, char *err,
                     size_t errlen)
{
    memset(pc, 0, sizeof(*pc));
    const char *bin = lazyfs_bin();
    char why[sizeof(pc->reason)];
    if (lazyfs_usable(bin, why, sizeof(why)) != 0)
        goto unusable;
    /* In a mount namespace of our own, the mounts go away with us even if we crash. */
    lazyfs_private_mounts();
    char data[400], disk[400];
    snprintf(data, sizeof(data), "%s/data", c->dir);
    snprintf(disk, sizeof(disk), "%s/disk", c->dir);
    if (make_dir(data, err, errlen) != 0 || make_dir(disk, err, errlen) != 0)
        return -1;
    for (int i = 1; i <= c->n; i++) {
        char backing[700], mountpoint[700], log[700];
        snprintf(backing, sizeof(backing), "%s/%s", disk, c->peer[i].name);
        snprintf(mountpoint, sizeof(mountpoint), "%s/%s", data, c->peer[i].name);
        snprintf(log, sizeof(log), "%s/lazyfs-%s.out", c->dir, c->peer[i].name);
        if (make_dir(backing, err, errlen) != 0)
            return -1;
        if (lazyfs_mount_start(&pc->mount[i], bin, backing, mountpoint, log, why, sizeof(why)) !=
            0) {
            power_cuts_teardown(pc);
            goto unusable;
        }
        pc->n = i;
    }
    pc->enabled = true;
    return 0;
unusable:
    if (required) {
        set_err(err, errlen, "--power-cuts: %s", why);
        return -1;
    }
    snprintf(pc->reason, sizeof(pc->reason), "%s", why);
    return 0;
}

int power_cuts_cut(struct power_cuts *pc, int i, char *err, size_t errlen)
{
    if (!pc->enabled || i < 1 || i > pc->n) {
        set_err(err, errlen, "no lazyfs mount for peer %d", i);
        return -1;
    }
    if (lazyfs_cut_power(&pc->mount[i], 0, pc->counters[i], sizeof(pc->counters[i]), err, errlen) !=
        0)
        return -1;
    pc->cuts++;
    return 0;
}

static uint64_t field(const char *line, const char *name)
{
    const char *p = strstr(line, name);
    unsigned long long v = 0;
    if (p && sscanf(p + strlen(name), "=%llu", &v) != 1)
        v = 0;
    return v;
}

void power_cuts_totals(const struct power_cuts *pc, uint64_t *pages_dropped,
                       uint64_t *dir_ops_undone, uint64_t *undo_failures)
{
    *pages_dropped = *dir_ops_undone = *undo_failures = 0;
    for (int i = 1; i <= pc->n; i++) {
        *pages_dropped += field(pc->counters[i], "pages_dropped");
        *dir_ops_undone += field(pc->counters[i], "dir_ops_undone");
        *undo_failures += field(pc->counters[i], "undo_failures");
    }
}

int power_cuts_deaths(struct power_cuts *pc, char *why, size_t whylen)
{
    int deaths = 0;
    for (int i = 1; i <= pc->n; i++) {
        int status;
        struct lazyfs_mount *m = &pc->mount[i];
        if (m->pid <= 0 || waitpid(m->pid, &status, WNOHANG) != m->pid)
            continue;
        m->pid = 0; /* reaped; the dead mount is still unmounted at teardown */
        if (deaths++ == 0)
            set_err(why, whylen, "the lazyfs of peer%d %s %d (see lazyfs-peer%d.out)", i,
                    WIFSIGNALED(status) ? "died of signal" : "exited with status",
                    WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status), i);
    }
    return deaths;
}

void power_cuts_teardown(struct power_cuts *pc)
{
    for (int i = 1; i <= CHAOS_MAX_PEERS; i++)
        lazyfs_unmount(&pc->mount[i]);
    pc->enabled = false;
}
