/* member_change.h: one membership change of the chaos cluster, carried through to its
 * commit as an operator would: find the leader, ask it, and when the answer is lost or
 * the leadership changes hands (`unavailable`: the change may or may not have committed),
 * look at the leader's configuration and ask again only if it is not done. */
#ifndef TESTS_CHAOS_MEMBER_CHANGE_H
#define TESTS_CHAOS_MEMBER_CHANGE_H

#include <stddef.h>

#include "tests/chaos/chaos_cluster.h"

enum member_action {
    MEMBER_ADD,   /* add peer i as a learner, then (the leader does it) promote it: a voter */
    MEMBER_REMOVE /* take peer i out of the configuration */
};

/* Called between attempts to wait ms while keeping an eye on the peers (the nemesis
 * restarts a member that died meanwhile, the joining one included). */
typedef void member_wait_fn(void *ctx, int ms);

/* Carries the change through until a leader's committed configuration shows it done, for
 * up to timeout_ms. 0, or -1 with what went wrong last in err. *requests counts the
 * requests sent (retries included). */
int member_change(struct chaos_cluster *c, enum member_action action, int i, int timeout_ms,
                  member_wait_fn *wait, void *ctx, int *requests, char *err, size_t errlen);

#endif
