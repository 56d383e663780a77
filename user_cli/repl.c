/* repl.c: the interactive prompt on top of libedit's readline-compatible API. */
#include "user_cli/repl.h"

#include <editline/readline.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPL_HISTORY_LINES  1000
#define REPL_MAX_CANDIDATES 64

int repl_history_path(char *buf, size_t buflen)
{
    const char *env = getenv("RAFT_CLI_HISTORY");
    if (env != NULL && env[0] != '\0') {
        int n = snprintf(buf, buflen, "%s", env);
        return (n < 0 || (size_t)n >= buflen) ? -1 : 0;
    }
    const char *home = getenv("HOME");
    if (home == NULL || home[0] == '\0')
        return -1;
    int n = snprintf(buf, buflen, "%s/.raft_village_history", home);
    return (n < 0 || (size_t)n >= buflen) ? -1 : 0;
}

static void offer(const char *const *words, const char *prefix,
                  void (*emit)(const char *word, void *arg), void *arg)
{
    size_t n = strlen(prefix);
    for (int i = 0; words[i] != NULL; i++)
        if (strncmp(words[i], prefix, n) == 0)
            emit(words[i], arg);
}

void repl_complete_words(const struct cluster_client *c, int word_index, const char *first_word,
                         const char *prefix, void (*emit)(const char *word, void *arg), void *arg)
{
    if (word_index == 0) {
        offer(cli_builtin_words, prefix, emit, arg);
        return;
    }
    if (word_index != 1)
        return;
    if (strcmp(first_word, "transfer") == 0 || strcmp(first_word, "isolate") == 0 ||
        strcmp(first_word, "cut") == 0 || strcmp(first_word, "partition") == 0 ||
        strcmp(first_word, "add") == 0 || strcmp(first_word, "promote") == 0 ||
        strcmp(first_word, "remove") == 0) {
        size_t n = strlen(prefix);
        for (int i = 0; c != NULL && i < c->n_peers; i++)
            if (strncmp(c->peers[i].name, prefix, n) == 0)
                emit(c->peers[i].name, arg);
        return;
    }
    /* After "get" comes a variable name, which only the user knows. */
    if (strcmp(first_word, "get") == 0 || strcmp(first_word, "help") == 0 ||
        strcmp(first_word, "status") == 0 || strcmp(first_word, "leader") == 0 ||
        strcmp(first_word, "heal") == 0 || strcmp(first_word, "delay") == 0 ||
        strcmp(first_word, "pace") == 0 || strcmp(first_word, "quit") == 0 ||
        strcmp(first_word, "exit") == 0 || strcmp(first_word, "members") == 0)
        return;
    offer(cli_operation_words, prefix, emit, arg);
}

/* readline's completion callbacks take no user pointer, so what they complete
 * against has to live at file level; only the one prompt of the process uses it. */
static const struct cluster_client *completion_client;
static struct {
    char words[REPL_MAX_CANDIDATES][64];
    int n;
    int next;
} candidates;

static void collect(const char *word, void *arg)
{
    (void)arg;
    if (candidates.n < REPL_MAX_CANDIDATES)
        snprintf(candidates.words[candidates.n++], sizeof(candidates.words[0]), "%s", word);
}

static char *next_candidate(const char *text, int state)
{
    (void)text;
    if (state == 0)
        candidates.next = 0;
    if (candidates.next >= candidates.n)
        return NULL;
    return strdup(candidates.words[candidates.next++]);
}

static char **complete(const char *text, int start, int end)
{
    (void)end;
    char first[64] = "";
    int word_index = 0;
    bool in_word = false;
    size_t flen = 0;

    /* Count the words before the one being completed, and keep the first. */
    for (int i = 0; i < start && rl_line_buffer[i] != '\0'; i++) {
        bool blank = rl_line_buffer[i] == ' ' || rl_line_buffer[i] == '\t';
        if (!blank && !in_word)
            word_index++;
        if (!blank && word_index == 1 && flen + 1 < sizeof(first))
            first[flen++] = rl_line_buffer[i];
        in_word = !blank;
    }
    first[flen] = '\0';
    candidates.n = 0;
    repl_complete_words(completion_client, word_index, first, text, collect, NULL);
    /* Never fall back to file names: none of our words is a file. */
    rl_attempted_completion_over = 1;
    if (candidates.n == 0)
        return NULL;
    return rl_completion_matches(text, next_candidate);
}

/* History keeps the line without surrounding blanks, so "status " and
 * "status" are one entry. Returns NULL for a blank line. */
static char *history_text(const char *line)
{
    line += strspn(line, " \t\r\n");
    size_t n = strlen(line);
    while (n > 0 && strchr(" \t\r\n", line[n - 1]) != NULL)
        n--;
    return n == 0 ? NULL : strndup(line, n);
}

int repl_run(struct cli_session *s)
{
    char hist[4096];
    bool have_hist = repl_history_path(hist, sizeof(hist)) == 0;
    bool hist_warned = false;

    rl_readline_name = "raft_village";
    rl_attempted_completion_function = complete;
    completion_client = s->client;
    using_history();
    stifle_history(REPL_HISTORY_LINES);
    if (have_hist)
        read_history(hist); /* a missing file is the normal first run */

    fprintf(s->out,
            "Raft Village client %s, %d peers. Type help for commands, quit or Ctrl-D to "
            "leave.\n",
            s->client->client_id, s->client->n_first);
    fflush(s->out);
    for (;;) {
        char prompt[96];
        const char *leader = cluster_client_leader(s->client);
        if (leader != NULL)
            snprintf(prompt, sizeof(prompt), "raft[%s]> ", leader);
        else
            snprintf(prompt, sizeof(prompt), "raft> ");
        char *line = readline(prompt);
        if (line == NULL) {
            fputc('\n', s->out);
            break;
        }
        char *entry = history_text(line);
        if (entry != NULL) {
            add_history(entry);
            free(entry);
            if (have_hist && write_history(hist) != 0 && !hist_warned) {
                fprintf(s->errout, "warning: cannot write history to %s\n", hist);
                hist_warned = true;
            }
        }
        int r = cli_execute(s, line);
        free(line);
        if (r == CLI_QUIT)
            break;
    }
    fflush(s->out);
    return CLI_OK;
}
