/* clock.c: each peer's own clock, moved only by commands, from deadline to deadline. */
#include "tests/scenario/clock.h"

#include <inttypes.h>

#include "tests/scenario/output.h"
#include "tests/scenario/peer.h"

/* Advances p's clock to `target`, ticking at every deadline on the way, as a real
 * event loop would (so a leader ticked 300 ms sends every heartbeat in between). */
int peer_advance(struct peer *p, raft_time target)
{
    for (int guard = 0;; guard++) {
        raft_time d = raft_next_deadline(p->r);
        if (d > target)
            break;
        if (guard >= SC_GUARD)
            return fail(p->c, "peer %d: too many deadlines before %" PRIu64, p->id, target);
        if (d > p->now)
            p->now = d;
        int rc = raft_tick(p->r, p->now);
        if (rc != RAFT_OK)
            return fail(p->c, "peer %d: raft_tick: %s", p->id, raft_strerror(rc));
        if (peer_settle(p) != 0)
            return -1;
        if (raft_next_deadline(p->r) <= p->now) /* still due after a tick: it would spin */
            return fail(p->c, "peer %d: deadline %" PRIu64 " does not move after a tick", p->id,
                        raft_next_deadline(p->r));
    }
    if (p->now >= target)
        return 0;
    p->now = target;
    int rc = raft_tick(p->r, p->now);
    if (rc != RAFT_OK)
        return fail(p->c, "peer %d: raft_tick: %s", p->id, raft_strerror(rc));
    return peer_settle(p);
}

/* Runs p's clock from deadline to deadline until its election timer fires: a new
 * (pre-)election starts, the term moves or the role changes. */
int peer_campaign(struct peer *p)
{
    unsigned before = p->elections;
    raft_term term = raft_current_term(p->r);
    enum raft_role role = raft_role(p->r);
    raft_time limit = p->now + 10 * (p->timeout + 1);
    while (p->elections == before && raft_current_term(p->r) == term && raft_role(p->r) == role) {
        raft_time d = raft_next_deadline(p->r);
        if (d > limit)
            return fail(p->c, "peer %d: election timer did not fire (role %s)", p->id,
                        raft_role_name(raft_role(p->r)));
        if (peer_advance(p, d > p->now ? d : p->now) != 0)
            return -1;
    }
    return 0;
}
