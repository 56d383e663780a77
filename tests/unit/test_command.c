/* test_command.c: the command parser and printer shared by the peer and user_cli. */
#include <criterion/criterion.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/command.h"

static struct command parse_ok(const char *text)
{
    struct command c;
    char err[256] = "";
    memset(&c, 0xAB, sizeof(c));
    int rc = command_parse(text, &c, err, sizeof(err));
    cr_assert_eq(rc, 0, "'%s' should parse, got: %s", text, err);
    return c;
}

static void parse_fails(const char *text, const char *expected_err)
{
    struct command c = {.op = CMD_DEL, .name = "untouched", .arg1 = 11, .arg2 = 22};
    char err[256] = "";
    int rc = command_parse(text, &c, err, sizeof(err));
    cr_assert_eq(rc, -1, "'%s' should not parse", text);
    cr_assert_str_eq(err, expected_err, "for '%s'", text);
    /* A failed parse leaves the output alone. */
    cr_assert_str_eq(c.name, "untouched");
    cr_assert_eq(c.arg1, 11);
}

Test(command, every_operation)
{
    struct command c = parse_ok("x set 5");
    cr_assert_eq(c.op, CMD_SET);
    cr_assert_str_eq(c.name, "x");
    cr_assert_eq(c.arg1, 5);

    c = parse_ok("x add 100");
    cr_assert_eq(c.op, CMD_ADD);
    cr_assert_eq(c.arg1, 100);
    c = parse_ok("x sub 3");
    cr_assert_eq(c.op, CMD_SUB);
    cr_assert_eq(c.arg1, 3);
    c = parse_ok("x mul -2");
    cr_assert_eq(c.op, CMD_MUL);
    cr_assert_eq(c.arg1, -2);
    c = parse_ok("x div 2");
    cr_assert_eq(c.op, CMD_DIV);
    cr_assert_eq(c.arg1, 2);

    c = parse_ok("x cas 5 7");
    cr_assert_eq(c.op, CMD_CAS);
    cr_assert_eq(c.arg1, 5);
    cr_assert_eq(c.arg2, 7);

    c = parse_ok("x get");
    cr_assert_eq(c.op, CMD_GET);
    cr_assert_str_eq(c.name, "x");
    c = parse_ok("get x");
    cr_assert_eq(c.op, CMD_GET);
    cr_assert_str_eq(c.name, "x");

    c = parse_ok("x del");
    cr_assert_eq(c.op, CMD_DEL);
    cr_assert_str_eq(c.name, "x");
}

Test(command, whitespace_between_words)
{
    struct command c = parse_ok("   \t counter \t\t  add\t-42  \t ");
    cr_assert_eq(c.op, CMD_ADD);
    cr_assert_str_eq(c.name, "counter");
    cr_assert_eq(c.arg1, -42);
    c = parse_ok("\tget\t y ");
    cr_assert_eq(c.op, CMD_GET);
    cr_assert_str_eq(c.name, "y");
    c = parse_ok("a  cas   1    2");
    cr_assert_eq(c.arg1, 1);
    cr_assert_eq(c.arg2, 2);
}

Test(command, other_whitespace_is_not_a_separator)
{
    parse_fails("x add 5\n", "'5?' is not a number: numbers are decimal, like 42 or -7");
    parse_fails("x\radd 5",
                "unknown operation '5': expected set, add, sub, mul, div, cas, get, del");
}

Test(command, int64_boundaries)
{
    struct command c = parse_ok("x set 9223372036854775807");
    cr_assert_eq(c.arg1, INT64_MAX);
    c = parse_ok("x set -9223372036854775808");
    cr_assert_eq(c.arg1, INT64_MIN);
    c = parse_ok("x cas -9223372036854775808 9223372036854775807");
    cr_assert_eq(c.arg1, INT64_MIN);
    cr_assert_eq(c.arg2, INT64_MAX);
    c = parse_ok("x set -0");
    cr_assert_eq(c.arg1, 0);
    c = parse_ok("x set 000000000000000000000000000042");
    cr_assert_eq(c.arg1, 42);

    parse_fails("x set 9223372036854775808", "'9223372036854775808' is not a signed 64-bit number");
    parse_fails("x set -9223372036854775809",
                "'-9223372036854775809' is not a signed 64-bit number");
    parse_fails("x add 99999999999999999999999",
                "'99999999999999999999999' is not a signed 64-bit number");
}

Test(command, malformed_numbers)
{
    const char *bad[] = {"+5", "0x10", "12ab", "-", "--5", "5-", "1.5", "1e3", "٣"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char line[64], expected[160];
        snprintf(line, sizeof(line), "x add %s", bad[i]);
        char shown[32];
        size_t o = 0;
        for (const char *p = bad[i]; *p; p++)
            shown[o++] = (*p >= 0x20 && *p < 0x7f) ? *p : '?';
        shown[o] = '\0';
        snprintf(expected, sizeof(expected),
                 "'%s' is not a number: numbers are decimal, like 42 or -7", shown);
        parse_fails(line, expected);
    }
    parse_fails("x cas 5 0x7", "'0x7' is not a number: numbers are decimal, like 42 or -7");
    /* Overflow then junk is junk, not overflow. */
    parse_fails("x add 99999999999999999999x",
                "'99999999999999999999x' is not a number: numbers are decimal, like 42 or -7");
}

Test(command, error_messages_from_the_brief)
{
    parse_fails("x mod 3",
                "unknown operation 'mod': expected set, add, sub, mul, div, cas, get, del");
    parse_fails("x add", "'x add' needs a number: x add N");
    parse_fails("12ab add 1", "'12ab' is not a valid name: names are letters, digits and _, "
                              "starting with a letter or _");
    parse_fails("x set 9223372036854775808", "'9223372036854775808' is not a signed 64-bit number");
    parse_fails("", "empty command");
    parse_fails(" \t  ", "empty command");
}

Test(command, shape_errors)
{
    parse_fails("x cas", "'x cas' needs two numbers: x cas EXPECTED NEW");
    parse_fails("x cas 5", "'x cas 5' needs two numbers: x cas EXPECTED NEW");
    parse_fails("x add 5 6", "unexpected '6' after 'x add 5': expected x add N");
    parse_fails("x cas 1 2 3", "unexpected '3' after 'x cas 1 2': expected x cas EXPECTED NEW");
    parse_fails("x get now", "unexpected 'now' after 'x get': expected x get");
    parse_fails("x del 1 2 3 4 5 6", "unexpected '1' after 'x del': expected x del");
    parse_fails("get x y", "unexpected 'y' after 'get x': expected get NAME");
    parse_fails("get", "'get' needs a name: get NAME or NAME get");
    parse_fails("add", "'add' needs a name first: NAME add N");
    parse_fails("cas", "'cas' needs a name first: NAME cas EXPECTED NEW");
    parse_fails("add x 5", "the name comes first: x add N");
    parse_fails("del x", "the name comes first: x del");
    parse_fails("x", "'x' needs an operation: expected set, add, sub, mul, div, cas, get, del");
    parse_fails("x ADD 1",
                "unknown operation 'ADD': expected set, add, sub, mul, div, cas, get, del");
}

Test(command, names)
{
    struct command c = parse_ok("_ set 1");
    cr_assert_str_eq(c.name, "_");
    c = parse_ok("A_b9 set 1");
    cr_assert_str_eq(c.name, "A_b9");

    char name64[65], line[128];
    memset(name64, 'n', 64);
    name64[64] = '\0';
    snprintf(line, sizeof(line), "%s set 1", name64);
    c = parse_ok(line);
    cr_assert_str_eq(c.name, name64);
    snprintf(line, sizeof(line), "get %s", name64);
    c = parse_ok(line);
    cr_assert_str_eq(c.name, name64);

    snprintf(line, sizeof(line), "%sn set 1", name64);
    parse_fails(line, "'nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn...' is too long for a name: names "
                      "are at most 64 characters");
    parse_fails("9x set 1", "'9x' is not a valid name: names are letters, digits and _, starting "
                            "with a letter or _");
    parse_fails("x-y set 1", "'x-y' is not a valid name: names are letters, digits and _, starting "
                             "with a letter or _");
    parse_fails("get 1x", "'1x' is not a valid name: names are letters, digits and _, starting "
                          "with a letter or _");
    parse_fails("x\x01 del", "'x?' is not a valid name: names are letters, digits and _, starting "
                             "with a letter or _");

    cr_assert(command_name_valid("abc_1"));
    cr_assert(command_name_valid(name64));
    cr_assert_not(command_name_valid(""));
    cr_assert_not(command_name_valid("1abc"));
    cr_assert_not(command_name_valid(NULL));
}

/* An operation word in second place makes the line "NAME OP"; that keeps every
 * variable, even one called "get", reachable by the canonical form. */
Test(command, keywords_as_names)
{
    struct command c = parse_ok("get del");
    cr_assert_eq(c.op, CMD_DEL);
    cr_assert_str_eq(c.name, "get");
    c = parse_ok("get get");
    cr_assert_eq(c.op, CMD_GET);
    cr_assert_str_eq(c.name, "get");
    c = parse_ok("set set 3");
    cr_assert_eq(c.op, CMD_SET);
    cr_assert_str_eq(c.name, "set");
    cr_assert_eq(c.arg1, 3);
    c = parse_ok("del get");
    cr_assert_eq(c.op, CMD_GET);
    cr_assert_str_eq(c.name, "del");
    parse_fails("get add", "'get add' needs a number: get add N");
}

Test(command, hostile_text_is_quoted_safely)
{
    char line[4096];
    memset(line, 'z', sizeof(line) - 1);
    line[sizeof(line) - 1] = '\0';
    char err[64];
    struct command c;
    cr_assert_eq(command_parse(line, &c, err, sizeof(err)), -1);
    cr_assert_eq(strlen(err), sizeof(err) - 1, "message is cut to the buffer");
    cr_assert_eq(command_parse("x mod 1", &c, NULL, 0), -1, "no error buffer is fine");
    cr_assert_eq(command_parse(NULL, &c, err, sizeof(err)), -1);
    cr_assert_eq(command_parse("x \x1b[2Jmod 1", &c, err, sizeof(err)), -1);
    cr_assert_null(strchr(err, '\x1b'), "control characters never reach the message");
}

Test(command, format_canonical)
{
    char out[COMMAND_TEXT_MAX];
    struct command c = parse_ok("  x\tadd   100 ");
    cr_assert_eq(command_format(&c, out, sizeof(out)), (int)strlen("x add 100"));
    cr_assert_str_eq(out, "x add 100");

    c = parse_ok("get y");
    command_format(&c, out, sizeof(out));
    cr_assert_str_eq(out, "y get");
    c = parse_ok("y del");
    command_format(&c, out, sizeof(out));
    cr_assert_str_eq(out, "y del");
    c = parse_ok("y cas -1 2");
    command_format(&c, out, sizeof(out));
    cr_assert_str_eq(out, "y cas -1 2");

    /* The widest command fits COMMAND_TEXT_MAX exactly, and round-trips. */
    struct command w = {.op = CMD_CAS, .arg1 = INT64_MIN, .arg2 = INT64_MIN};
    memset(w.name, 'q', COMMAND_NAME_MAX);
    w.name[COMMAND_NAME_MAX] = '\0';
    int len = command_format(&w, out, sizeof(out));
    cr_assert_eq(len, (int)sizeof(out) - 1);
    struct command back = parse_ok(out);
    cr_assert_eq(back.op, CMD_CAS);
    cr_assert_eq(back.arg1, INT64_MIN);
    cr_assert_eq(back.arg2, INT64_MIN);
    cr_assert_str_eq(back.name, w.name);

    cr_assert_eq(command_format(&w, out, sizeof(out) - 1), -1, "too small is refused");
    cr_assert_str_eq(out, "");
    struct command bad = {.op = (enum command_op)42, .name = "x"};
    cr_assert_eq(command_format(&bad, out, sizeof(out)), -1);
    struct command badname = {.op = CMD_GET, .name = "1x"};
    cr_assert_eq(command_format(&badname, out, sizeof(out)), -1);
}

Test(command, is_read)
{
    cr_assert(command_is_read(&(struct command){.op = CMD_GET, .name = "x"}));
    enum command_op writes[] = {CMD_SET, CMD_ADD, CMD_SUB, CMD_MUL, CMD_DIV, CMD_CAS, CMD_DEL};
    for (size_t i = 0; i < sizeof(writes) / sizeof(writes[0]); i++)
        cr_assert_not(command_is_read(&(struct command){.op = writes[i], .name = "x"}));
    cr_assert_str_eq(command_op_name(CMD_CAS), "cas");
    cr_assert_null(command_op_name((enum command_op)99));
}

Test(command, only_writes_use_a_seq)
{
    cr_assert(command_uses_seq("x add 1"));
    cr_assert(command_uses_seq("x del"));
    cr_assert(command_uses_seq("  x\tcas 1 2 "));
    cr_assert_not(command_uses_seq("x get"));
    cr_assert_not(command_uses_seq("get x"));
    /* Refused before the log (bad_command), so it uses up nothing either. */
    cr_assert_not(command_uses_seq("x mod 3"));
    cr_assert_not(command_uses_seq(""));
    cr_assert_not(command_uses_seq(NULL));
}

/* Every byte, first and later in a name, against the rule: letters and _ anywhere,
 * digits after the first character, nothing else (a NUL and bytes >= 0x80 included). */
Test(command, name_characters_every_byte)
{
    for (int c = 0; c < 256; c++) {
        bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
        bool digit = c >= '0' && c <= '9';
        char first[2] = {(char)c, 'a'}, later[3] = {'a', (char)c, 'b'};
        cr_assert_eq(command_name_valid_n(first, 2), letter, "byte %d first", c);
        cr_assert_eq(command_name_valid_n(later, 3), letter || digit, "byte %d later", c);
        cr_assert_eq(command_name_valid_n(later, 2), letter || digit, "byte %d last", c);
    }
}
