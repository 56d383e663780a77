/* commands.c: dispatch of one user_cli line and the script (stdin) loop. */
#include "user_cli/commands.h"

#include "common/command.h"
#include "user_cli/fault_commands.h"
#include "user_cli/membership.h"
#include "user_cli/messages.h"
#include "user_cli/status_table.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Longest line accepted in script mode; a command is at most 256 bytes anyway. */
#define CLI_MAX_LINE 4096
/* How long status waits for one peer: a hung peer must not stall the table. */
#define CLI_STATUS_PEER_MS 1000

const char *const cli_builtin_words[] = {
    "help",    "status", "leader", "transfer", "members", "add",  "promote", "remove", "partition",
    "isolate", "cut",    "heal",   "delay",    "pace",    "quit", "exit",    "get",    NULL};
const char *const cli_operation_words[] = {"set", "add", "sub", "mul", "div",
                                           "cas", "get", "del", NULL};

void cli_print_help(FILE *out)
{
    fprintf(out,
            "Commands on the replicated variables (signed 64-bit integers):\n"
            "  NAME set N        x set 5        x = 5\n"
            "  NAME add N        x add 100      x = x + 100 (an unset variable is 0)\n"
            "  NAME sub N        x sub 3        x = x - 3\n"
            "  NAME mul N        x mul 2        x = x * 2\n"
            "  NAME div N        x div 2        x = x / 2, truncating\n"
            "  NAME cas OLD NEW  x cas 5 7      x = 7 if x is 5, else fail\n"
            "  NAME get          x get          read x (linearizable; also: get x)\n"
            "  NAME del          x del          unset x, print its old value\n"
            "Cluster commands:\n"
            "  status            status         every peer's role, term, indexes\n"
            "  leader            leader         which peer leads now\n"
            "  transfer PEER     transfer peer3 hand leadership to PEER\n"
            "Membership (the peer must be a section of the ini file):\n"
            "  members           members        voters and learners, as the leader sees them\n"
            "  add PEER          add peer4      add PEER as a learner, promote it once caught\n"
            "                    up; start it first with raft_peer PEER --join\n"
            "  add PEER --learner  add peer5 --learner\n"
            "                    add PEER as a learner only, until promoted\n"
            "  promote PEER      promote peer4  make the learner PEER a voter\n"
            "  remove PEER       remove peer2   take PEER out of the configuration\n"
            "Network faults (peers started with -v; sent to every peer):\n"
            "  partition GROUP...  partition peer1 peer2,peer3\n"
            "                    drop messages between groups; unlisted peers: one more\n"
            "  isolate PEER      isolate peer1  cut PEER off from the others\n"
            "  cut FROM TO       cut peer1 peer2 drop messages FROM -> TO only\n"
            "  heal              heal           open every cut link again\n"
            "  delay MS          delay 200      hold each peer message MS ms (0: off)\n"
            "Lesson pace (peers started with -v; sent to every peer):\n"
            "  pace F [--no-fast-failover]  pace 20 --no-fast-failover\n"
            "                    timeouts and heartbeats F times the ini's (1: as set);\n"
            "                    without fast failover a dead leader waits for a timeout\n"
            "  help              help           this text\n"
            "  quit, exit        quit           leave (Ctrl-D too)\n");
}

/* Copies the line without leading/trailing blanks into buf. */
static void trim(const char *line, char *buf, size_t buflen)
{
    while (*line != '\0' && isspace((unsigned char)*line))
        line++;
    size_t n = strlen(line);
    while (n > 0 && isspace((unsigned char)line[n - 1]))
        n--;
    if (n >= buflen)
        n = buflen - 1;
    memcpy(buf, line, n);
    buf[n] = '\0';
}

static void print_error(struct cli_session *s, const char *words)
{
    fprintf(s->errout, "error: %s\n", words);
    fflush(s->errout);
}

/* Common tail of submit and transfer: print what the cluster said. */
static int report_response(struct cli_session *s, int rc, const struct client_response *resp,
                           const char *raw, const char *command, const char *err)
{
    if (rc == CLUSTER_UNREACHABLE) {
        print_error(s, err);
        return CLI_UNREACHABLE;
    }
    if (rc != CLUSTER_OK) {
        print_error(s, err);
        return CLI_FAILED;
    }
    if (s->json) {
        fprintf(s->out, "%s\n", raw ? raw : "");
        return resp->ok ? CLI_OK : CLI_FAILED;
    }
    if (!resp->ok) {
        char words[512];
        struct cli_failure f = {.error = resp->error,
                                .message = resp->message,
                                .command = command,
                                .has_result = resp->has_result,
                                .result = resp->result};
        print_error(s, cli_failure_words(&f, words, sizeof(words)));
        return CLI_FAILED;
    }
    return CLI_OK;
}

static int run_data_command(struct cli_session *s, const char *text)
{
    struct command cmd;
    struct client_response resp;
    const char *raw = NULL;
    char err[512];

    /* Checked here first so a typo costs no round trip and no seq. */
    if (command_parse(text, &cmd, err, sizeof(err)) != 0) {
        print_error(s, err);
        return CLI_FAILED;
    }
    memset(&resp, 0, sizeof(resp));
    int rc = cluster_client_submit(s->client, text, &resp, &raw, err, sizeof(err));
    int res = report_response(s, rc, &resp, raw, text, err);
    if (res == CLI_OK && !s->json) {
        if (resp.has_result)
            fprintf(s->out, "%" PRId64 "\n", resp.result);
        else
            fprintf(s->out, "ok\n");
    }
    fflush(s->out);
    return res;
}

static int run_transfer(struct cli_session *s, const char *args)
{
    struct client_response resp;
    const char *raw = NULL;
    char err[512];
    char target[64];

    trim(args, target, sizeof(target));
    if (target[0] == '\0' || strpbrk(target, " \t") != NULL) {
        print_error(s, "usage: transfer PEER   (e.g. transfer peer3)");
        return CLI_FAILED;
    }
    memset(&resp, 0, sizeof(resp));
    int rc = cluster_client_transfer(s->client, target, &resp, &raw, err, sizeof(err));
    int res = report_response(s, rc, &resp, raw, "transfer", err);
    if (res == CLI_OK) {
        /* The old leader is about to step down: learn the new one on the next request. */
        cluster_client_set_leader(s->client, cluster_client_find_peer(s->client, target));
        if (!s->json)
            fprintf(s->out, "leadership transferred to %s\n", target);
    }
    fflush(s->out);
    return res;
}

/* Is name a voter or learner of the configuration st reports? */
static bool in_config(const struct peer_status *st, const char *name)
{
    for (int i = 0; i < st->n_voters; i++)
        if (strcmp(st->voters[i], name) == 0)
            return true;
    for (int i = 0; i < st->n_learners; i++)
        if (strcmp(st->learners[i], name) == 0)
            return true;
    return false;
}

/* Asks the first N peers for their status, then the file's other peers that the
 * leader found among them lists as members, or all of them when none of the first N
 * leads: a spare section of a laptop that is off would otherwise cost a connect
 * timeout on every status. A peer not asked comes back unreachable, "not asked". */
static void fetch_all(const struct cluster_client *c, struct peer_status *st, char (*raw)[4096])
{
    int ms = c->timeout_ms < CLI_STATUS_PEER_MS ? c->timeout_ms : CLI_STATUS_PEER_MS;
    for (int i = 0; i < c->n_first; i++)
        status_fetch(&c->peers[i], ms, &st[i], raw ? raw[i] : NULL, raw ? sizeof(raw[i]) : 0);
    int lead = status_find_leader(st, c->n_first);
    for (int i = c->n_first; i < c->n_peers; i++) {
        if (lead < 0 || in_config(&st[lead], c->peers[i].name)) {
            status_fetch(&c->peers[i], ms, &st[i], raw ? raw[i] : NULL, raw ? sizeof(raw[i]) : 0);
            continue;
        }
        memset(&st[i], 0, sizeof(st[i]));
        snprintf(st[i].problem, sizeof(st[i].problem), "not asked: not a member");
        if (raw != NULL)
            raw[i][0] = '\0';
    }
}

/* The rows of the status table, moved to the front of peers[] and st[] (which may
 * be the same array): the first N peers of the command line always, the other
 * peers of the file when they answer or the leader names them as members. */
static int shown_peers(const struct cluster_client *c, struct peer_status *all, int lead,
                       struct cluster_peer *peers, struct peer_status *st)
{
    int rows = 0;
    for (int i = 0; i < c->n_peers; i++) {
        bool shown = i < c->n_first || all[i].reachable ||
                     (lead >= 0 && in_config(&all[lead], c->peers[i].name));
        if (!shown)
            continue;
        peers[rows] = c->peers[i];
        if (rows != i)
            st[rows] = all[i];
        rows++;
    }
    return rows;
}

/* After the table: the shown peers that the leader's configuration leaves out (a
 * removed peer, or one started with --join and not added yet). */
static void print_non_members(FILE *out, const struct cluster_peer *peers,
                              const struct peer_status *st, int rows)
{
    int lead = status_find_leader(st, rows);
    if (lead < 0 || st[lead].n_voters == 0)
        return;
    const char *sep = "";
    for (int i = 0; i < rows; i++) {
        if (in_config(&st[lead], peers[i].name))
            continue;
        if (sep[0] == '\0')
            fprintf(out, "not members as %s sees it: ", peers[lead].name);
        fprintf(out, "%s%s", sep, peers[i].name);
        sep = ", ";
    }
    if (sep[0] != '\0')
        fputc('\n', out);
}

static int run_status(struct cli_session *s)
{
    struct cluster_client *c = s->client;
    struct peer_status *st = calloc((size_t)c->n_peers, sizeof(*st));
    char(*raw)[4096] = calloc((size_t)c->n_peers, sizeof(*raw));
    struct cluster_peer *peers = calloc((size_t)c->n_peers, sizeof(*peers));
    int res = CLI_OK;

    if (st == NULL || raw == NULL || peers == NULL) {
        print_error(s, "out of memory");
        res = CLI_FAILED;
        goto out;
    }
    fetch_all(c, st, raw);
    int lead = status_find_leader(st, c->n_peers);
    if (lead >= 0)
        cluster_client_set_leader(c, lead);
    int up = 0;
    for (int i = 0; i < c->n_peers; i++)
        up += st[i].reachable;
    if (up == 0)
        res = CLI_UNREACHABLE; /* the table still shows why, peer by peer */
    int rows = shown_peers(c, st, lead, peers, st);
    if (s->json) {
        for (int i = 0; i < c->n_peers; i++)
            if (raw[i][0] != '\0')
                fprintf(s->out, "%s\n", raw[i]);
    } else {
        status_table_print(s->out, peers, st, rows);
        print_non_members(s->out, peers, st, rows);
    }
    fflush(s->out);
out:
    free(st);
    free(raw);
    free(peers);
    return res;
}

/* Polls the peers' status until one says it leads, up to the deadline: right
 * after a crash an election may be under way, and waiting is what a user wants.
 * With members, prints the configuration that leader reports instead of its name. */
static int run_leader(struct cli_session *s, bool members)
{
    struct cluster_client *c = s->client;
    struct peer_status *st = calloc((size_t)c->n_peers, sizeof(*st));
    char(*raw)[4096] = calloc((size_t)c->n_peers, sizeof(*raw));
    long long deadline = line_conn_now_ms() + c->timeout_ms;
    int res = CLI_UNREACHABLE;

    if (st == NULL || raw == NULL) {
        print_error(s, "out of memory");
        res = CLI_FAILED;
        goto out;
    }
    for (;;) {
        fetch_all(c, st, raw);
        int lead = status_find_leader(st, c->n_peers);
        if (lead >= 0) {
            cluster_client_set_leader(c, lead);
            if (s->json)
                fprintf(s->out, "%s\n", raw[lead]);
            else if (members)
                members_print(s->out, &st[lead]);
            else
                fprintf(s->out, "%s (%s:%d, term %lld)\n", c->peers[lead].name, c->peers[lead].host,
                        c->peers[lead].port, st[lead].term);
            fflush(s->out);
            res = CLI_OK;
            break;
        }
        if (line_conn_now_ms() + 100 >= deadline) {
            char msg[128];
            snprintf(msg, sizeof(msg), "no peer claimed leadership within %g s",
                     c->timeout_ms / 1000.0);
            print_error(s, msg);
            break;
        }
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
out:
    free(st);
    free(raw);
    return res;
}

/* Sends one membership change to the leader and waits for its commit: the leader
 * answers an add only once the learner has caught up and been promoted, so an
 * attempt must not be cut short and resent (cluster_client_request_patient). */
static int run_membership(struct cli_session *s, const struct membership_change *ch,
                          const char *text)
{
    struct client_response resp;
    const char *raw = NULL;
    char line[512], err[700];

    int n = membership_request_encode(ch, line, sizeof(line));
    if (n < 0) {
        print_error(s, "cannot encode the membership request");
        return CLI_FAILED;
    }
    memset(&resp, 0, sizeof(resp));
    int rc =
        cluster_client_request_patient(s->client, line, (size_t)n, &resp, &raw, err, sizeof(err));
    if (rc == CLUSTER_UNREACHABLE) {
        /* The leader may have been reached and still be working on it. */
        size_t used = strlen(err);
        snprintf(err + used, sizeof(err) - used,
                 "; the change may still be under way: see members (--timeout waits longer)");
    }
    const char *interrupted = s->client->interrupted;
    if (rc == CLUSTER_OK && !resp.ok && strcmp(resp.error, "bad_membership") == 0 &&
        interrupted[0] != '\0' && !s->json) {
        /* The first attempt was cut short and the change sent again: what the second
         * attempt refuses may be the first one's doing. */
        size_t used = strlen(resp.message);
        snprintf(resp.message + used, sizeof(resp.message) - used,
                 " (an earlier attempt was interrupted: %s)", interrupted);
    }
    int res = report_response(s, rc, &resp, raw, text, err);
    if (res == CLI_OK) {
        /* A removed leader steps down once the removal commits: look for the new one. */
        const char *lead = cluster_client_leader(s->client);
        if (ch->action == MEMBERSHIP_REMOVE && lead != NULL && strcmp(lead, ch->peer) == 0)
            cluster_client_set_leader(s->client, -1);
        if (!s->json) {
            char words[1600];
            fprintf(s->out, "%s\n", membership_outcome_words(ch, raw, words, sizeof(words)));
        }
    }
    fflush(s->out);
    return res;
}

/* Is the first word of text exactly w? Then *rest points after it. */
static bool first_word_is(const char *text, const char *w, const char **rest)
{
    size_t n = strlen(w);
    if (strncmp(text, w, n) != 0 || (text[n] != '\0' && !isspace((unsigned char)text[n])))
        return false;
    *rest = text + n;
    return true;
}

int cli_execute(struct cli_session *s, const char *line)
{
    char text[CLI_MAX_LINE];
    const char *rest;

    if (strlen(line) >= sizeof(text)) {
        print_error(s, "line too long");
        return CLI_FAILED;
    }
    trim(line, text, sizeof(text));
    if (text[0] == '\0' || text[0] == '#')
        return CLI_OK;
    /* A builtin word followed by something else is a variable of that name
     * ("status get"), so builtins only match with their exact arity. */
    if (strcmp(text, "quit") == 0 || strcmp(text, "exit") == 0)
        return CLI_QUIT;
    if (strcmp(text, "help") == 0 || strcmp(text, "?") == 0) {
        cli_print_help(s->out);
        fflush(s->out);
        return CLI_OK;
    }
    if (strcmp(text, "status") == 0)
        return run_status(s);
    if (strcmp(text, "leader") == 0)
        return run_leader(s, false);
    if (strcmp(text, "members") == 0)
        return run_leader(s, true);
    struct membership_change change;
    char why[160];
    switch (membership_parse(text, &change, why, sizeof(why))) {
    case MEMBERSHIP_PARSED:
        return run_membership(s, &change, text);
    case MEMBERSHIP_USAGE:
        print_error(s, why);
        return CLI_FAILED;
    case MEMBERSHIP_NOT_MINE:
        break;
    }
    if (fault_command_matches(text))
        return fault_command_run(s, text);
    if (first_word_is(text, "transfer", &rest) &&
        strpbrk(rest + strspn(rest, " \t"), " \t") == NULL)
        return run_transfer(s, rest);
    return run_data_command(s, text);
}

int cli_run_stream(struct cli_session *s, FILE *in)
{
    char line[CLI_MAX_LINE];
    int worst = CLI_OK;

    while (fgets(line, sizeof(line), in) != NULL) {
        int r;
        size_t n = strlen(line);
        if (n + 1 == sizeof(line) && line[n - 1] != '\n') {
            /* Skip the rest of an overlong line so it is not read as commands. */
            int ch;
            while ((ch = fgetc(in)) != EOF && ch != '\n')
                ;
            print_error(s, "line too long");
            r = CLI_FAILED;
        } else {
            r = cli_execute(s, line);
        }
        if (r == CLI_QUIT)
            break;
        if (r == CLI_UNREACHABLE) {
            worst = r;
            break;
        }
        if (r != CLI_OK && worst == CLI_OK)
            worst = r;
    }
    return worst;
}
