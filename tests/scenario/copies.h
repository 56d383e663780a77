/* copies.h: deep copies of entries and messages (and of what is on the wire), which a ready only
 * lends. */
#ifndef SCENARIO_COPIES_H
#define SCENARIO_COPIES_H

#include "raft_peer/core/raft.h"
#include "tests/scenario/wire.h"

void entry_free(struct raft_entry *e);
/* 0, or -1 for an entry whose bytes are missing. */
int entry_copy(struct raft_entry *dst, const struct raft_entry *src);
void message_free(struct raft_message *m);
/* 0, or -1 for a malformed message (entries missing or too many). */
int message_copy(struct raft_message *dst, const struct raft_message *src);
void wire_free(struct wire *w);
/* 0, or -1 for a malformed message. */
int wire_copy(struct wire *dst, const struct wire *src);

#endif
