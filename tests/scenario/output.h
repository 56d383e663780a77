/* output.h: how the harness prints what the core does (docs/SCENARIOS.md, "Output
 * lines"). These strings are the scenario language: keep them stable. */
#ifndef SCENARIO_OUTPUT_H
#define SCENARIO_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include "raft_peer/core/raft.h"
#include "tests/scenario/text.h"
#include "tests/scenario/wire.h"

const char *vote_reason_str(uint64_t reason);
const char *step_down_str(uint64_t reason);
/* A configuration as "1,2,3/4": voters, a slash, learners. */
void print_configuration(struct text *t, const struct raft_configuration *conf);
/* Printable payloads show as-is; anything else as a byte count. */
void print_payload(struct text *t, const uint8_t *data, uint32_t len);
/* Entries as "[1 1:x 2:conf{1,2,3/}]": each term, then its payload or configuration. */
void print_entries(struct text *t, const struct raft_entry *es, size_t n);
void print_message(struct text *t, const struct raft_message *m);
/* A core message as print_message, or a snapshot transfer or its answer. */
void print_wire(struct text *t, const struct wire *w);
/* A log written as the term of each entry: "1 1 2". */
void print_terms(struct text *t, const raft_term *ts, size_t n);

#endif
