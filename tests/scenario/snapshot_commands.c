/* snapshot_commands.c: `snapshot P` and `compact P [INDEX]` (§7 log compaction). */
#include "tests/scenario/commands.h"

#include <inttypes.h>

#include "tests/scenario/args.h"
#include "tests/scenario/snapshots.h"

int cmd_snapshot(struct cluster *c, char **tok, int ntok)
{
    if (ntok != 2)
        return fail(c, "usage: snapshot P (P saves its state machine at its applied index)");
    struct peer *p = running_peer(c, tok[1]);
    return p ? snapshot_take(p) : -1;
}

int cmd_compact(struct cluster *c, char **tok, int ntok)
{
    uint64_t index = 0;
    if (ntok < 2 || ntok > 3 || (ntok == 3 && parse_u64(tok[2], &index) != 0))
        return fail(c, "usage: compact P [INDEX] (INDEX defaults to P's snapshot's)");
    struct peer *p = running_peer(c, tok[1]);
    if (!p)
        return -1;
    if (ntok == 2)
        index = p->disk.snap.index;
    if (index == 0)
        return fail(c, "peer %d has no snapshot to compact its log into", p->id);
    return snapshot_compact(p, index);
}
