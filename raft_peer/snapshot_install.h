/* snapshot_install.h: a follower loads the durable snapshot its leader sent, a slice at
 * a time, then switches the core and the state machine over together
 * (snapshot_install.c). It sits below the snapshot service: it reports how the load
 * ended through the callback it was handed, and the service answers the leader. */
#ifndef RAFT_PEER_SNAPSHOT_INSTALL_H
#define RAFT_PEER_SNAPSHOT_INSTALL_H

#include "raft_peer/core/raft.h"
#include "raft_peer/storage/snapshot_store.h"

struct peer;
struct snapshot_install;

/* How a load ended, and so what the leader hears. */
enum snapshot_install_outcome {
    SNAPSHOT_INSTALLED,       /* the core and the state machine switched over: done */
    SNAPSHOT_ALREADY_APPLIED, /* our log caught up meanwhile: done, nothing switched */
    SNAPSHOT_TERM_OVER,       /* a newer term began: our term tells that leader to step down */
    SNAPSHOT_LOAD_FAILED,     /* unreadable: the transfer failed for good */
};

struct snapshot_install_result {
    enum snapshot_install_outcome outcome;
    raft_id leader;
    const struct snapshot_meta *meta;               /* the snapshot file's */
    const struct raft_configuration *configuration; /* the one it carries */
};

/* Called once, from the event loop, when the load ends; the install frees itself when
 * it returns, so the receiver forgets its handle there. */
typedef void snapshot_install_done_fn(void *ctx, const struct snapshot_install_result *r);

/* Starts loading data/<peer>/snapshot, which must cover index, received from leader in
 * term. The handle, or NULL (logged) when it cannot even start; done is not called then. */
struct snapshot_install *snapshot_install_start(struct peer *p, raft_id leader, raft_term term,
                                                raft_index index, snapshot_install_done_fn *done,
                                                void *ctx);
/* Stops a load in progress without calling done (NULL is fine). */
void snapshot_install_cancel(struct snapshot_install *in);

#endif
