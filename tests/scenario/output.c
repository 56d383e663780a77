/* output.c: how the harness prints what the core does. These strings are the scenario
 * language (docs/SCENARIOS.md, "Output lines"): keep them stable. */
#include "tests/scenario/output.h"

#include <ctype.h>
#include <inttypes.h>

const char *vote_reason_str(uint64_t reason)
{
    switch (reason) {
    case RAFT_VOTE_OK:
        return "ok";
    case RAFT_VOTE_STALE_TERM:
        return "stale_term";
    case RAFT_VOTE_ALREADY_VOTED:
        return "already_voted";
    case RAFT_VOTE_LOG_BEHIND:
        return "log_behind";
    case RAFT_VOTE_LEADER_ALIVE:
        return "leader_alive";
    }
    return "?";
}

const char *step_down_str(uint64_t reason)
{
    switch (reason) {
    case RAFT_STEP_DOWN_HIGHER_TERM:
        return "higher_term";
    case RAFT_STEP_DOWN_CHECK_QUORUM:
        return "check_quorum";
    case RAFT_STEP_DOWN_STOPPED:
        return "stopped";
    case RAFT_STEP_DOWN_TRANSFERRED:
        return "transferred";
    case RAFT_STEP_DOWN_REMOVED:
        return "removed";
    }
    return "?";
}

/* A configuration as "1,2,3/4": voters, a slash, learners. */
void print_configuration(struct text *t, const struct raft_configuration *conf)
{
    const char *sep = "";
    for (raft_id id = 1; id <= RAFT_MAX_PEERS; id++)
        if (raft_configuration_is_voter(conf, id)) {
            text_printf(t, "%s%d", sep, id);
            sep = ",";
        }
    text_printf(t, "/");
    sep = "";
    for (raft_id id = 1; id <= RAFT_MAX_PEERS; id++)
        if (raft_configuration_is_learner(conf, id)) {
            text_printf(t, "%s%d", sep, id);
            sep = ",";
        }
}

/* Printable payloads show as-is; anything else as a byte count, so output stays one line. */
void print_payload(struct text *t, const uint8_t *data, uint32_t len)
{
    bool plain = len > 0 && len <= 64;
    for (uint32_t i = 0; plain && i < len; i++)
        plain = isgraph(data[i]) && data[i] != ']' && data[i] != '[';
    if (plain)
        text_printf(t, "%.*s", (int)len, (const char *)data);
    else
        text_printf(t, "<%" PRIu32 " bytes>", len);
}

void print_entries(struct text *t, const struct raft_entry *es, size_t n)
{
    text_printf(t, "[");
    for (size_t i = 0; i < n; i++) {
        text_printf(t, "%s%" PRIu64, i ? " " : "", es[i].term);
        struct raft_configuration conf;
        if (es[i].type == RAFT_ENTRY_CONFIG &&
            raft_configuration_decode(es[i].data, es[i].len, &conf) == RAFT_OK) {
            text_printf(t, ":conf{");
            print_configuration(t, &conf);
            text_printf(t, "}");
        } else if (es[i].len > 0) {
            text_printf(t, ":");
            print_payload(t, es[i].data, es[i].len);
        }
    }
    text_printf(t, "]");
}

void print_message(struct text *t, const struct raft_message *m)
{
    text_printf(t, "%d->%d ", m->from, m->to);
    switch (m->type) {
    case RAFT_MSG_REQUEST_VOTE: {
        const struct raft_request_vote *v = &m->u.request_vote;
        text_printf(t, "%s term=%" PRIu64 " last=%" PRIu64 "/%" PRIu64 "%s",
                    v->pre_vote ? "pre_vote" : "request_vote", m->term, v->last_log_index,
                    v->last_log_term, v->leadership_transfer ? " transfer" : "");
        break;
    }
    case RAFT_MSG_REQUEST_VOTE_RESULT: {
        const struct raft_request_vote_result *v = &m->u.request_vote_result;
        text_printf(t, "%s term=%" PRIu64 " %s", v->pre_vote ? "pre_vote_result" : "vote_result",
                    m->term, v->vote_granted ? "granted" : "rejected");
        break;
    }
    case RAFT_MSG_APPEND_ENTRIES: {
        const struct raft_append_entries *a = &m->u.append_entries;
        text_printf(t,
                    "append_entries term=%" PRIu64 " prev=%" PRIu64 "/%" PRIu64 " commit=%" PRIu64
                    " entries=",
                    m->term, a->prev_log_index, a->prev_log_term, a->leader_commit);
        print_entries(t, a->entries, a->n_entries);
        if (a->read_round)
            text_printf(t, " read=%" PRIu64, a->read_round);
        break;
    }
    case RAFT_MSG_APPEND_ENTRIES_RESULT: {
        const struct raft_append_entries_result *a = &m->u.append_entries_result;
        if (a->success)
            text_printf(t, "append_result term=%" PRIu64 " ok match=%" PRIu64, m->term,
                        a->match_index);
        else
            text_printf(t,
                        "append_result term=%" PRIu64 " reject rejected=%" PRIu64
                        " conflict_term=%" PRIu64 " conflict_index=%" PRIu64 " last=%" PRIu64,
                        m->term, a->rejected_index, a->conflict_term, a->conflict_index,
                        a->last_log_index);
        if (a->read_round)
            text_printf(t, " read=%" PRIu64, a->read_round);
        break;
    }
    case RAFT_MSG_TIMEOUT_NOW:
        text_printf(t, "timeout_now term=%" PRIu64 " last=%" PRIu64, m->term,
                    m->u.timeout_now.last_log_index);
        break;
    default:
        text_printf(t, "unknown_type_%d term=%" PRIu64, (int)m->type, m->term);
        break;
    }
}

void print_wire(struct text *t, const struct wire *w)
{
    if (w->kind == WIRE_RAFT) {
        print_message(t, &w->m);
        return;
    }
    text_printf(t, "%d->%d ", w->from, w->to);
    if (w->kind == WIRE_SNAPSHOT) {
        text_printf(t, "install_snapshot term=%" PRIu64 " last=%" PRIu64 "/%" PRIu64 " conf{",
                    w->s.term, w->s.index, w->s.last_term);
        print_configuration(t, &w->s.conf);
        text_printf(t, "}");
    } else {
        text_printf(t, "install_snapshot_result term=%" PRIu64 " last=%" PRIu64 " %s", w->s.term,
                    w->s.index, w->s.ok ? "ok" : "rejected");
    }
}

void print_terms(struct text *t, const raft_term *ts, size_t n)
{
    for (size_t i = 0; i < n; i++)
        text_printf(t, "%s%" PRIu64, i ? " " : "", ts[i]);
}
