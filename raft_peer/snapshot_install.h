/* snapshot_install.h: a follower loads the snapshot its leader sent, a slice at a time,
 * from its sealed partial file, then commits the file and switches the core and the
 * state machine over together (snapshot_install.c). It sits below the snapshot service: it reports
 * how the load ended through the callback it was handed, and the service answers the leader. */
#ifndef RAFT_PEER_SNAPSHOT_INSTALL_H
#define RAFT_PEER_SNAPSHOT_INSTALL_H

#include "raft_peer/core/raft.h"
#include "raft_peer/storage/snapshot_store.h"

struct peer;
struct snapshot_install;

/* How a load ended, and so what the leader hears. */
enum snapshot_install_outcome {
    SNAPSHOT_INSTALLED,       /* committed; the core and the state machine switched over */
    SNAPSHOT_ALREADY_APPLIED, /* our log caught up meanwhile: done, nothing switched */
    SNAPSHOT_TERM_OVER,       /* a newer term began: our term tells that leader to step down */
    SNAPSHOT_LOAD_FAILED,     /* unreadable or refused: the transfer failed for good */
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

/* Starts loading the snapshot meta describes, received from leader in term, which
 * receiver has sealed (snapshot_receiver_seal); the install owns receiver from here, and
 * commits it only once loaded and accepted by the core. The handle, or NULL (logged)
 * when it cannot even start; done is not called then. */
struct snapshot_install *snapshot_install_start(struct peer *p, raft_id leader, raft_term term,
                                                const struct snapshot_meta *meta,
                                                struct snapshot_receiver *receiver,
                                                snapshot_install_done_fn *done, void *ctx);
/* What the log says, and the leader hears, when the core refuses a snapshot that was
 * read (raft_snapshot_check's rc and why, for one received in term): TERM_OVER with
 * "term T is over" only when that is the reason, else LOAD_FAILED and the core's. */
enum snapshot_install_outcome snapshot_install_refusal(int rc, const char *why, raft_term term,
                                                       raft_term current_term, char *out,
                                                       size_t outlen);
/* Stops a load in progress without calling done (NULL is fine); the sealed partial file
 * stays, and a resend of the same snapshot resumes it whole. */
void snapshot_install_cancel(struct snapshot_install *in);

#endif
