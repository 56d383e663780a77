/* command.c: parser and printer for the state machine's commands (docs/CONTRACT.md, "Commands"). */
#include "common/error_message.h"
#include "common/command.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* One more than the longest command ("x cas 5 7"), so extra words are noticed. */
#define MAX_WORDS 5
/* Words quoted back in messages are cut here: the text comes from the network. */
#define QUOTE_WORD_MAX 40
#define QUOTE_MAX      192

static const char OPS_EXPECTED[] = "expected set, add, sub, mul, div, cas, get, del";

struct word {
    const char *s;
    size_t len;
};

/* Indexed by enum command_op. */
static const struct op_info {
    const char *word;
    int nargs;
    const char *usage; /* what follows "NAME op" */
} OPS[] = {
    [CMD_SET] = {"set", 1, " N"}, [CMD_ADD] = {"add", 1, " N"},
    [CMD_SUB] = {"sub", 1, " N"}, [CMD_MUL] = {"mul", 1, " N"},
    [CMD_DIV] = {"div", 1, " N"}, [CMD_CAS] = {"cas", 2, " EXPECTED NEW"},
    [CMD_GET] = {"get", 0, ""},   [CMD_DEL] = {"del", 0, ""},
};
#define N_OPS (sizeof(OPS) / sizeof(OPS[0]))

/* Splits on spaces and tabs. Returns the number of words, of which the first
 * `max` are stored. */
static size_t split_words(const char *text, struct word *w, size_t max)
{
    size_t n = 0;
    const char *p = text;
    for (;;) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '\0')
            return n;
        const char *start = p;
        while (*p != '\0' && *p != ' ' && *p != '\t')
            p++;
        if (n < max) {
            w[n].s = start;
            w[n].len = (size_t)(p - start);
        }
        n++;
    }
}

static bool word_is(const struct word *w, const char *s)
{
    return strlen(s) == w->len && memcmp(w->s, s, w->len) == 0;
}

static const struct op_info *find_op(const struct word *w)
{
    for (size_t i = 0; i < N_OPS; i++)
        if (word_is(w, OPS[i].word))
            return &OPS[i];
    return NULL;
}

/* Joins words[0..n) with single spaces into dst for quoting in a message:
 * long words are cut and anything unprintable becomes '?', so a hostile line
 * cannot put control characters into logs or terminals. */
static const char *quote(char *dst, size_t dstlen, const struct word *w, size_t n)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        size_t len = w[i].len > QUOTE_WORD_MAX ? QUOTE_WORD_MAX : w[i].len;
        if (o + len + 5 >= dstlen)
            break;
        if (i > 0)
            dst[o++] = ' ';
        for (size_t j = 0; j < len; j++) {
            unsigned char c = (unsigned char)w[i].s[j];
            dst[o++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
        }
        if (len < w[i].len) {
            memcpy(dst + o, "...", 3);
            o += 3;
        }
    }
    dst[o] = '\0';
    return dst;
}

/* NAME_CHAR[c]: NAME_FIRST if a name may start with c, NAME_REST if c may follow. A
 * table, and no early exit in the loop, because a snapshot load checks a million names. */
enum { NAME_FIRST = 1, NAME_REST = 2 };
static const uint8_t NAME_CHAR[256] = {
#define NAME_DIGIT(c)  [c] = NAME_REST
#define NAME_LETTER(c) [c] = NAME_FIRST | NAME_REST
    NAME_DIGIT('0'),  NAME_DIGIT('1'),  NAME_DIGIT('2'),  NAME_DIGIT('3'),  NAME_DIGIT('4'),
    NAME_DIGIT('5'),  NAME_DIGIT('6'),  NAME_DIGIT('7'),  NAME_DIGIT('8'),  NAME_DIGIT('9'),
    NAME_LETTER('_'), NAME_LETTER('A'), NAME_LETTER('B'), NAME_LETTER('C'), NAME_LETTER('D'),
    NAME_LETTER('E'), NAME_LETTER('F'), NAME_LETTER('G'), NAME_LETTER('H'), NAME_LETTER('I'),
    NAME_LETTER('J'), NAME_LETTER('K'), NAME_LETTER('L'), NAME_LETTER('M'), NAME_LETTER('N'),
    NAME_LETTER('O'), NAME_LETTER('P'), NAME_LETTER('Q'), NAME_LETTER('R'), NAME_LETTER('S'),
    NAME_LETTER('T'), NAME_LETTER('U'), NAME_LETTER('V'), NAME_LETTER('W'), NAME_LETTER('X'),
    NAME_LETTER('Y'), NAME_LETTER('Z'), NAME_LETTER('a'), NAME_LETTER('b'), NAME_LETTER('c'),
    NAME_LETTER('d'), NAME_LETTER('e'), NAME_LETTER('f'), NAME_LETTER('g'), NAME_LETTER('h'),
    NAME_LETTER('i'), NAME_LETTER('j'), NAME_LETTER('k'), NAME_LETTER('l'), NAME_LETTER('m'),
    NAME_LETTER('n'), NAME_LETTER('o'), NAME_LETTER('p'), NAME_LETTER('q'), NAME_LETTER('r'),
    NAME_LETTER('s'), NAME_LETTER('t'), NAME_LETTER('u'), NAME_LETTER('v'), NAME_LETTER('w'),
    NAME_LETTER('x'), NAME_LETTER('y'), NAME_LETTER('z'),
#undef NAME_DIGIT
#undef NAME_LETTER
};

static bool name_valid(const char *s, size_t len)
{
    if (len == 0 || len > COMMAND_NAME_MAX)
        return false;
    unsigned ok = NAME_CHAR[(unsigned char)s[0]] & NAME_FIRST;
    unsigned rest = NAME_REST;
    for (size_t i = 1; i < len; i++)
        rest &= NAME_CHAR[(unsigned char)s[i]];
    return ok != 0 && rest != 0;
}

bool command_name_valid_n(const char *s, size_t len)
{
    return s != NULL && name_valid(s, len);
}

bool command_name_valid(const char *name)
{
    return name != NULL && name_valid(name, strnlen(name, COMMAND_NAME_MAX + 1));
}

static int check_name(const struct word *w, char *err, size_t errlen)
{
    char q[QUOTE_MAX];
    if (w->len > COMMAND_NAME_MAX) {
        set_err(err, errlen, "'%s' is too long for a name: names are at most %d characters",
                quote(q, sizeof(q), w, 1), COMMAND_NAME_MAX);
        return -1;
    }
    if (!name_valid(w->s, w->len)) {
        set_err(err, errlen,
                "'%s' is not a valid name: names are letters, digits and _, starting with a "
                "letter or _",
                quote(q, sizeof(q), w, 1));
        return -1;
    }
    return 0;
}

/* Strict decimal: an optional '-', then digits, nothing else. */
static int parse_number(const struct word *w, int64_t *out, char *err, size_t errlen)
{
    char q[QUOTE_MAX];
    size_t i = 0;
    bool neg = false;
    if (w->s[0] == '-') {
        neg = true;
        i = 1;
    }
    if (i == w->len)
        goto not_number;
    /* The magnitude of INT64_MIN is one more than INT64_MAX. */
    uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    uint64_t v = 0;
    bool too_big = false;
    for (; i < w->len; i++) {
        unsigned char c = (unsigned char)w->s[i];
        if (c < '0' || c > '9')
            goto not_number;
        unsigned d = c - '0';
        if (v > (limit - d) / 10)
            too_big = true; /* keep scanning: "99999999999999999999x" is not a number at all */
        else
            v = v * 10 + d;
    }
    if (too_big) {
        set_err(err, errlen, "'%s' is not a signed 64-bit number", quote(q, sizeof(q), w, 1));
        return -1;
    }
    if (neg)
        *out = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
    else
        *out = (int64_t)v;
    return 0;
not_number:
    set_err(err, errlen, "'%s' is not a number: numbers are decimal, like 42 or -7",
            quote(q, sizeof(q), w, 1));
    return -1;
}

/* The line has no operation where one was expected: say what was typed wrong. */
static int explain_shape(const struct word *w, size_t n, char *err, size_t errlen)
{
    char q1[QUOTE_MAX], q2[QUOTE_MAX];
    const struct op_info *first = find_op(&w[0]);
    if (first != NULL && n == 1) {
        if (first == &OPS[CMD_GET])
            set_err(err, errlen, "'get' needs a name: get NAME or NAME get");
        else
            set_err(err, errlen, "'%s' needs a name first: NAME %s%s", first->word, first->word,
                    first->usage);
    } else if (first == &OPS[CMD_GET]) {
        set_err(err, errlen, "unexpected '%s' after 'get %s': expected get NAME",
                quote(q1, sizeof(q1), &w[2], 1), quote(q2, sizeof(q2), &w[1], 1));
    } else if (first != NULL) {
        set_err(err, errlen, "the name comes first: %s %s%s", quote(q1, sizeof(q1), &w[1], 1),
                first->word, first->usage);
    } else if (n == 1) {
        set_err(err, errlen, "'%s' needs an operation: %s", quote(q1, sizeof(q1), &w[0], 1),
                OPS_EXPECTED);
    } else {
        set_err(err, errlen, "unknown operation '%s': %s", quote(q1, sizeof(q1), &w[1], 1),
                OPS_EXPECTED);
    }
    return -1;
}

int command_parse(const char *text, struct command *out, char *err, size_t errlen)
{
    struct word w[MAX_WORDS];
    char q1[QUOTE_MAX], q2[QUOTE_MAX], q3[QUOTE_MAX];
    const struct op_info *op;
    const struct word *name;
    size_t given;

    if (text == NULL || out == NULL) {
        set_err(err, errlen, "empty command");
        return -1;
    }
    size_t n = split_words(text, w, MAX_WORDS);
    if (n == 0) {
        set_err(err, errlen, "empty command");
        return -1;
    }
    if (n >= 2 && (op = find_op(&w[1])) != NULL) {
        name = &w[0];
        given = n - 2;
    } else if (n == 2 && word_is(&w[0], "get")) {
        op = &OPS[CMD_GET];
        name = &w[1];
        given = 0;
    } else {
        return explain_shape(w, n, err, errlen);
    }
    if (check_name(name, err, errlen) != 0)
        return -1;

    quote(q2, sizeof(q2), name, 1);
    if (given < (size_t)op->nargs) {
        set_err(err, errlen, "'%s' needs %s: %s %s%s", quote(q1, sizeof(q1), w, n),
                op->nargs == 1 ? "a number" : "two numbers", q2, op->word, op->usage);
        return -1;
    }
    if (given > (size_t)op->nargs) {
        size_t extra = 2 + (size_t)op->nargs;
        set_err(err, errlen, "unexpected '%s' after '%s': expected %s %s%s",
                quote(q1, sizeof(q1), &w[extra], 1), quote(q3, sizeof(q3), w, extra), q2, op->word,
                op->usage);
        return -1;
    }

    struct command c = {.op = (enum command_op)(op - OPS)};
    if (op->nargs >= 1 && parse_number(&w[2], &c.arg1, err, errlen) != 0)
        return -1;
    if (op->nargs >= 2 && parse_number(&w[3], &c.arg2, err, errlen) != 0)
        return -1;
    memcpy(c.name, name->s, name->len);
    c.name[name->len] = '\0';
    *out = c;
    return 0;
}

const char *command_op_name(enum command_op op)
{
    if ((unsigned)op >= N_OPS)
        return NULL;
    return OPS[op].word;
}

int command_format(const struct command *c, char *out, size_t outlen)
{
    if (c == NULL || out == NULL || outlen == 0)
        return -1;
    const char *opw = command_op_name(c->op);
    if (opw == NULL || !command_name_valid(c->name))
        return -1;
    int len;
    switch (OPS[c->op].nargs) {
    case 0:
        len = snprintf(out, outlen, "%s %s", c->name, opw);
        break;
    case 1:
        len = snprintf(out, outlen, "%s %s %lld", c->name, opw, (long long)c->arg1);
        break;
    default:
        len = snprintf(out, outlen, "%s %s %lld %lld", c->name, opw, (long long)c->arg1,
                       (long long)c->arg2);
        break;
    }
    if (len < 0 || (size_t)len >= outlen) {
        out[0] = '\0';
        return -1;
    }
    return len;
}

bool command_is_read(const struct command *c)
{
    return c != NULL && c->op == CMD_GET;
}

bool command_uses_seq(const char *text)
{
    struct command c;
    char err[8];
    return text != NULL && command_parse(text, &c, err, sizeof(err)) == 0 && !command_is_read(&c);
}
