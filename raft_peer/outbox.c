/* outbox.c: the way out to the other peers (outbox.h). A cut made through a control
 * message (fault_control.c) drops a message here; the receiving side drops what still
 * arrives (dispatch.c), so a cut holds at both ends whatever the other end was told. */
#include "common/buffer.h"
#include "common/event_log.h"
#include "raft_peer/fault_control.h"
#include "raft_peer/net/rpc_codec.h"
#include "raft_peer/game_stream.h"
#include "raft_peer/outbox.h"
#include "raft_peer/peer.h"
#include "raft_peer/peer_links.h"

static bool to_other_peer(const struct peer *p, raft_id to)
{
    return to >= 1 && to <= p->n && to != p->self;
}

void outbox_send(struct peer *p, const struct raft_message *m)
{
    if (!to_other_peer(p, m->to) || faults_drop_out(p, m->to))
        return;
    if (p->visual)
        game_send_msg(p, m);
    if (!faults_delaying(p)) {
        links_send(p, m);
        return;
    }
    struct buffer line;
    buffer_init(&line);
    if (rpc_encode(m, p->names, p->n, &line) == 0)
        faults_hold(p, m->to, buffer_peek(&line), buffer_len(&line));
    else
        event_log_write(p->log, EVENT_LOG_ERROR, "cannot encode %s for %s",
                        raft_message_type_name(m->type), p->names[m->to - 1]);
    buffer_free(&line);
}

void outbox_send_line(struct peer *p, raft_id to, const char *line, size_t len)
{
    if (!to_other_peer(p, to) || faults_drop_out(p, to))
        return;
    if (faults_delaying(p))
        faults_hold(p, to, line, len);
    else
        links_send_line(p, to, line, len);
}
