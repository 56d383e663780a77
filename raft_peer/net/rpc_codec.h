/* rpc_codec.h: peer-to-peer Raft RPCs (struct raft_message) <-> JSON lines; see docs/PROTOCOL.md.
 */
#ifndef RAFT_PEER_RPC_CODEC_H
#define RAFT_PEER_RPC_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buffer.h"
#include "common/client_protocol.h"
#include "raft_peer/core/raft.h"

struct json_object;

/* Entries in one append_entries; configure the core's max_entries_per_message at most this. */
#define RPC_MAX_ENTRIES 4096
/* Bytes of data in one entry: a client command plus its "client_id seq " prefix. */
#define RPC_MAX_ENTRY_DATA (CLIENT_COMMAND_MAX + 128)
/* Longest line a peer accepts: RPC_MAX_ENTRIES entries of RPC_MAX_ENTRY_DATA bytes, every
 * byte escaped, fit with room to spare. */
#define RPC_LINE_MAX (4u << 20)

/* Peers are named on the wire (names[0..n) from the ini file) and numbered 1..n inside:
 * peer id i is names[i - 1]. */

/* Appends m as one JSON line ending in "\n". Refuses (-1, out unchanged) an unknown
 * type, a from/to outside 1..n, a number above JSON_UINT_MAX, more than
 * RPC_MAX_ENTRIES entries, or entry data the decoder would refuse, so a bad message
 * is caught at the sender. */
int rpc_encode(const struct raft_message *m, const char *const *names, int n, struct buffer *out);

/* Fills m from a parsed line (json_line_parse with RPC_LINE_MAX). m->after_persist is
 * false. Entries are written to entry_space[0..entry_space_len) and m->u.append_entries
 * .entries points there; each entry's data points INTO obj's strings, so the message
 * is valid while both entry_space and obj live (the core copies what it keeps in
 * raft_step, so release obj right after). Nothing is allocated. Every field is
 * required and type-checked; names must be known; candidate_id / leader_id must equal
 * from; entry data must be printable ASCII of at most RPC_MAX_ENTRY_DATA bytes.
 * 0, or -1 with a message in err. */
int rpc_decode(struct json_object *obj, const char *const *names, int n, struct raft_message *m,
               struct raft_entry *entry_space, size_t entry_space_len, char *err, size_t errlen);

/* Figure 13's InstallSnapshot, sent in chunks of at most RPC_SNAPSHOT_CHUNK_MAX bytes
 * (base64 on the wire), one in flight per follower (snapshot_service.c). The leader's
 * from is repeated as leader_id, like AppendEntries's. */
#define RPC_SNAPSHOT_CHUNK_MAX (64u << 10)
struct rpc_install_snapshot {
    raft_id from, to;
    raft_term term;
    raft_index last_included_index;
    raft_term last_included_term;
    uint64_t size;   /* of the whole snapshot */
    uint32_t crc;    /* crc32c of the whole snapshot */
    uint64_t offset; /* of data[0] in the snapshot; offset + len <= size */
    const uint8_t *data;
    size_t len; /* at most RPC_SNAPSHOT_CHUNK_MAX */
    bool done;  /* the last chunk */
};

/* The follower's answer: how far it has the snapshot (next_offset == size + 1: it gave
 * up on this transfer), and whether it is installed. */
struct rpc_install_snapshot_result {
    raft_id from, to;
    raft_term term;
    raft_index last_included_index;
    uint64_t next_offset;
    bool done;
};

/* One JSON line each, appended to out. -1 (out unchanged) for what the decoder would
 * refuse, or no memory. */
int rpc_encode_install_snapshot(const struct rpc_install_snapshot *s, const char *const *names,
                                int n, struct buffer *out);
int rpc_encode_install_snapshot_result(const struct rpc_install_snapshot_result *r,
                                       const char *const *names, int n, struct buffer *out);
/* From a parsed line whose type is "install_snapshot": the chunk's bytes are decoded
 * into space (RPC_SNAPSHOT_CHUNK_MAX bytes) and s->data points there. Every field is
 * required and type-checked; 0, or -1 with err and *s zeroed. */
int rpc_decode_install_snapshot(struct json_object *obj, const char *const *names, int n,
                                struct rpc_install_snapshot *s, uint8_t *space, char *err,
                                size_t errlen);
int rpc_decode_install_snapshot_result(struct json_object *obj, const char *const *names, int n,
                                       struct rpc_install_snapshot_result *r, char *err,
                                       size_t errlen);

#endif
