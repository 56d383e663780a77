/* command.h: the state machine's command language, parsed and printed identically by every program.
 */
#ifndef COMMAND_H
#define COMMAND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Names are [A-Za-z_][A-Za-z0-9_]{0,63}. */
#define COMMAND_NAME_MAX 64

/* Longest canonical text command_format can produce: "NAME cas N M" with both
 * numbers at their widest, plus the terminating NUL. */
#define COMMAND_TEXT_MAX                                                                           \
    (COMMAND_NAME_MAX + sizeof(" cas -9223372036854775808 -9223372036854775808"))

enum command_op { CMD_SET, CMD_ADD, CMD_SUB, CMD_MUL, CMD_DIV, CMD_CAS, CMD_GET, CMD_DEL };

struct command {
    enum command_op op;
    char name[COMMAND_NAME_MAX + 1]; /* NUL-terminated, always a valid name after a parse */
    int64_t arg1; /* the number of set/add/sub/mul/div; cas: the expected value */
    int64_t arg2; /* cas: the new value; 0 otherwise */
};

/* Parses one command: "NAME OP [N [M]]" or "get NAME", words separated by any
 * number of spaces and tabs. When the second word is an operation the line is
 * read as "NAME OP" (so "get del" deletes the variable "get"); otherwise a
 * two-word line starting with "get" reads the variable named by its second word.
 * Returns 0, or -1 with a message in err saying what was expected. */
int command_parse(const char *text, struct command *out, char *err, size_t errlen);

/* Writes the canonical text of c ("x add 100", "x get", "x cas 5 7") into out.
 * Returns its length, or -1 when c is invalid or out is too small. */
int command_format(const struct command *c, char *out, size_t outlen);

/* True for commands that change nothing (get). */
bool command_is_read(const struct command *c);

/* True when text parses as a command that goes through the log: every valid command
 * but a read. Only those use up a client's seq, since a read never reaches the log
 * and so never creates or advances a session (docs/PROTOCOL.md). */
bool command_uses_seq(const char *text);

/* The operation's word ("add"), or NULL for a value outside enum command_op. */
const char *command_op_name(enum command_op op);

/* True when name matches [A-Za-z_][A-Za-z0-9_]{0,63}. */
bool command_name_valid(const char *name);
/* The same for the len bytes at s, which need no NUL (a NUL among them is invalid). */
bool command_name_valid_n(const char *s, size_t len);

#endif
