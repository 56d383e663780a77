/* membership.c: membership words, their request line and their sentences. */
#include "user_cli/membership.h"

#include "common/client_protocol.h"
#include "common/error_message.h"

#include <json-c/json.h>
#include <string.h>

#define MAX_WORDS 4

/* Splits text on blanks into at most MAX_WORDS words (the count; more gives
 * MAX_WORDS + 1). Each word is truncated to 63 bytes. */
static int split_words(const char *text, char words[MAX_WORDS][64])
{
    int n = 0;
    const char *p = text;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            return n;
        if (n == MAX_WORDS)
            return MAX_WORDS + 1;
        const char *start = p;
        while (*p != '\0' && *p != ' ' && *p != '\t')
            p++;
        size_t len = (size_t)(p - start);
        if (len >= sizeof(words[n]))
            len = sizeof(words[n]) - 1;
        memcpy(words[n], start, len);
        words[n][len] = '\0';
        n++;
    }
}

/* The ini's rule for a peer section name: [A-Za-z0-9_-]{1,32}. */
static bool valid_peer_name(const char *s)
{
    size_t n = strlen(s);
    if (n < 1 || n > 32)
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") == n;
}

enum membership_parse_result membership_parse(const char *text, struct membership_change *ch,
                                              char *err, size_t errlen)
{
    char w[MAX_WORDS][64];
    int n = split_words(text, w);
    const char *usage;

    memset(ch, 0, sizeof(*ch));
    if (n < 1)
        return MEMBERSHIP_NOT_MINE;
    if (strcmp(w[0], "add") == 0) {
        ch->action = MEMBERSHIP_ADD;
        usage = "usage: add PEER [--learner]   (e.g. add peer4)";
    } else if (strcmp(w[0], "promote") == 0) {
        ch->action = MEMBERSHIP_PROMOTE;
        usage = "usage: promote PEER   (e.g. promote peer4)";
    } else if (strcmp(w[0], "remove") == 0) {
        ch->action = MEMBERSHIP_REMOVE;
        usage = "usage: remove PEER   (e.g. remove peer2)";
    } else {
        return MEMBERSHIP_NOT_MINE;
    }
    /* The two-word state-machine commands read or delete a variable: "add get". */
    if (n == 2 && (strcmp(w[1], "get") == 0 || strcmp(w[1], "del") == 0))
        return MEMBERSHIP_NOT_MINE;
    bool learner = n == 3 && ch->action == MEMBERSHIP_ADD && strcmp(w[2], "--learner") == 0;
    if (n == 1) {
        set_err(err, errlen, "%s", usage);
        return MEMBERSHIP_USAGE;
    }
    if (n != 2 && !learner)
        return MEMBERSHIP_NOT_MINE; /* "add set 5": the variable named add */
    if (!valid_peer_name(w[1])) {
        set_err(err, errlen, "bad peer name '%s': a section name of the ini, [A-Za-z0-9_-]{1,32}",
                w[1]);
        return MEMBERSHIP_USAGE;
    }
    snprintf(ch->peer, sizeof(ch->peer), "%s", w[1]);
    ch->learner = learner;
    return MEMBERSHIP_PARSED;
}

static const char *action_word(enum membership_action a)
{
    return a == MEMBERSHIP_ADD ? "add" : a == MEMBERSHIP_PROMOTE ? "promote" : "remove";
}

int membership_request_encode(const struct membership_change *ch, char *out, size_t outlen)
{
    int rc = -1;
    json_object *o = json_object_new_object();
    if (o == NULL)
        return -1;
    if (json_object_object_add(o, "type", json_object_new_string("membership")) != 0 ||
        json_object_object_add(o, "action", json_object_new_string(action_word(ch->action))) != 0 ||
        json_object_object_add(o, "peer", json_object_new_string(ch->peer)) != 0)
        goto out;
    if (ch->learner && json_object_object_add(o, "learner", json_object_new_boolean(1)) != 0)
        goto out;
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    int n = s ? snprintf(out, outlen, "%s\n", s) : -1;
    if (n > 0 && (size_t)n < outlen)
        rc = n;
out:
    json_object_put(o);
    return rc;
}

/* "peer1, peer2" from an array of names in o (masked: no control bytes), or "none". */
static void names_of(json_object *o, const char *key, char *out, size_t outlen)
{
    json_object *arr;
    size_t used = 0;
    out[0] = '\0';
    if (json_object_object_get_ex(o, key, &arr) && json_object_is_type(arr, json_type_array)) {
        size_t n = json_object_array_length(arr);
        for (size_t i = 0; i < n && i < CLUSTER_MAX_PEERS; i++) {
            json_object *v = json_object_array_get_idx(arr, i);
            if (!json_object_is_type(v, json_type_string))
                continue;
            const char *name = json_object_get_string(v);
            for (size_t k = 0; name[k] != '\0' && k < 64 && used + 3 < outlen; k++) {
                if (k == 0 && used > 0) {
                    out[used++] = ',';
                    out[used++] = ' ';
                }
                unsigned char b = (unsigned char)name[k];
                out[used++] = (b < 0x20 || b == 0x7f) ? '?' : (char)b;
            }
            out[used] = '\0';
        }
    }
    if (used == 0)
        snprintf(out, outlen, "none");
}

const char *membership_outcome_words(const struct membership_change *ch, const char *raw, char *buf,
                                     size_t buflen)
{
    char voters[600], learners[600], e[128], at[48] = "";
    json_object *o = NULL;

    if (buf == NULL || buflen == 0)
        return buf;
    snprintf(voters, sizeof(voters), "unknown");
    snprintf(learners, sizeof(learners), "unknown");
    if (raw != NULL && json_line_parse(raw, strlen(raw), CLIENT_LINE_MAX, &o, e, sizeof(e)) == 0) {
        json_object *v;
        if (json_object_object_get_ex(o, "index", &v) && json_object_is_type(v, json_type_int))
            snprintf(at, sizeof(at), " (index %lld)", (long long)json_object_get_int64(v));
        names_of(o, "voters", voters, sizeof(voters));
        names_of(o, "learners", learners, sizeof(learners));
        json_object_put(o);
    }
    const char *what = ch->action == MEMBERSHIP_REMOVE ? "is no longer a member"
                       : ch->learner                   ? "is a learner now"
                                                       : "is a voter now";
    snprintf(buf, buflen, "%s %s%s; voters: %s; learners: %s", ch->peer, what, at, voters,
             learners);
    return buf;
}

static void print_member(FILE *out, const struct peer_status *st, const char *name, bool voter,
                         int width)
{
    const struct peer_follower *f = status_follower(st, name);
    bool is_leader = strcmp(name, st->name) == 0;
    long long match = is_leader ? st->log_length : f ? f->match_index : -1;
    char match_cell[32];
    if (match < 0)
        snprintf(match_cell, sizeof(match_cell), "-");
    else
        snprintf(match_cell, sizeof(match_cell), "%lld", match);
    const char *state = "";
    if (is_leader)
        state = "leader";
    else if (!voter && f != NULL && f->caught_up == 1)
        state = "caught up";
    else if (!voter && f != NULL && f->caught_up == 0)
        state = "catching up";
    else if (f == NULL)
        state = "(no replication state at the leader)";
    fprintf(out, "%-*s  %-7s  %5s%s%s\n", width, name, voter ? "voter" : "learner", match_cell,
            state[0] ? "  " : "", state);
}

void members_print(FILE *out, const struct peer_status *st)
{
    if (st->n_voters == 0) {
        fprintf(out,
                "%s leads (term %lld) but does not report its configuration: an older "
                "raft_peer?\n",
                st->name[0] ? st->name : "the leader", st->term);
        return;
    }
    int width = 4;
    for (int i = 0; i < st->n_voters; i++)
        if ((int)strlen(st->voters[i]) > width)
            width = (int)strlen(st->voters[i]);
    for (int i = 0; i < st->n_learners; i++)
        if ((int)strlen(st->learners[i]) > width)
            width = (int)strlen(st->learners[i]);
    fprintf(out, "%d voter%s, %d learner%s, as leader %s sees them (term %lld, commit %lld)\n",
            st->n_voters, st->n_voters == 1 ? "" : "s", st->n_learners,
            st->n_learners == 1 ? "" : "s", st->name, st->term, st->commit_index);
    fprintf(out, "%-*s  %-7s  %5s  %s\n", width, "NAME", "ROLE", "MATCH", "STATE");
    bool leader_listed = false;
    for (int i = 0; i < st->n_voters; i++) {
        print_member(out, st, st->voters[i], true, width);
        leader_listed |= strcmp(st->voters[i], st->name) == 0;
    }
    for (int i = 0; i < st->n_learners; i++)
        print_member(out, st, st->learners[i], false, width);
    if (!leader_listed)
        fprintf(out, "%s is leaving: it steps down once its removal is committed\n", st->name);
    if (st->config_pending == 1)
        fprintf(out, "a configuration change is pending: not committed yet\n");
}
