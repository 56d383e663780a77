/* textbox.c: the typed command's line (textbox.h). */
#include "visualization/textbox.h"

#include <stdio.h>
#include <string.h>

void textbox_open(struct textbox *t)
{
    t->open = true;
    t->text[0] = '\0';
    t->len = 0;
}

void textbox_close(struct textbox *t)
{
    t->open = false;
    t->text[0] = '\0';
    t->len = 0;
}

int textbox_insert(struct textbox *t, const char *utf8)
{
    int refused = 0;

    for (const unsigned char *s = (const unsigned char *)utf8; *s != '\0'; s++) {
        if (*s >= 0x80) {
            /* One refusal per character, not per byte: skip its continuation bytes. */
            if ((*s & 0xc0) != 0x80)
                refused++;
            continue;
        }
        if (*s < 0x20 || *s == 0x7f || t->len >= TEXTBOX_MAX) {
            refused++;
            continue;
        }
        t->text[t->len++] = (char)*s;
        t->text[t->len] = '\0';
    }
    return refused;
}

void textbox_backspace(struct textbox *t)
{
    if (t->len > 0)
        t->text[--t->len] = '\0';
}

void textbox_command(const struct textbox *t, char *out, size_t cap)
{
    size_t a = 0, b = t->len;

    while (a < b && t->text[a] == ' ')
        a++;
    while (b > a && t->text[b - 1] == ' ')
        b--;
    snprintf(out, cap, "%.*s", (int)(b - a), t->text + a);
}
