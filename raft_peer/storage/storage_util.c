/* storage_util.c: what the storage modules share besides the file system calls:
 * messages, notices, segment names and the choice of an injected failure. */
#include "raft_peer/storage/storage_internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#ifdef STORAGE_MUTATIONS
unsigned storage_mutations;
const struct storage_mutant storage_mutants[STORAGE_MUTANTS] = {
    {"no-segment-dir-fsync", STORAGE_MUT_NO_SEGMENT_DIR_FSYNC},
    {"no-sync-before-ack", STORAGE_MUT_NO_SYNC_BEFORE_ACK},
    {"no-sync-at-open", STORAGE_MUT_NO_OPEN_SYNC},
    {"snapshot-renamed-before-fsync", STORAGE_MUT_SNAPSHOT_EARLY_RENAME},
    {"zero-tail-is-rot", STORAGE_MUT_ZERO_TAIL_IS_ROT},
    {"no-trim-at-close", STORAGE_MUT_NO_TRIM_AT_CLOSE},
};
#endif

bool sio_injected(struct storage_io *io)
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
    set_err(err, errlen, "%s", msg);
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
