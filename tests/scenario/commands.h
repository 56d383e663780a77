/* commands.h: the scenario language's commands (docs/SCENARIOS.md, "Commands"). */
#ifndef SCENARIO_COMMANDS_H
#define SCENARIO_COMMANDS_H

struct cluster;

/* Runs one command line (already split into words), printing into c->out; 0, or -1
 * with c->err set. */
int run_command(struct cluster *c, char **tok, int ntok);
/* `cluster N [options]`. */
int cmd_cluster(struct cluster *c, char **tok, int ntok);
/* `log`, `term`, `vote`, `timeout`: a peer's state before boot. */
int cmd_setup(struct cluster *c, char **tok, int ntok);
/* `snapshot P`: P saves its state machine at its applied index. */
int cmd_snapshot(struct cluster *c, char **tok, int ntok);
/* `compact P [INDEX]`: raft_compact up to INDEX (default: P's snapshot's index). */
int cmd_compact(struct cluster *c, char **tok, int ntok);

#endif
