/* textbox.h: the line the player types a state-machine command into ('c'), as pure
 * string handling (no SDL), so its bounds can be tested. */
#ifndef GAME_TEXTBOX_H
#define GAME_TEXTBOX_H

#include <stdbool.h>
#include <stddef.h>

/* A command is at most 256 bytes of printable ASCII (CLIENT_COMMAND_MAX, CONTRACT.md). */
#define TEXTBOX_MAX 256

struct textbox {
    bool open;
    char text[TEXTBOX_MAX + 1];
    size_t len;
};

/* Opens the box empty. */
void textbox_open(struct textbox *t);
/* Closes it; the text is dropped. */
void textbox_close(struct textbox *t);
/* Appends what was typed (UTF-8, as SDL_TEXTINPUT gives it): printable ASCII only, up to
 * TEXTBOX_MAX bytes. Returns how many characters were refused (not ASCII, a control
 * character, or past the limit); 0 when all went in. */
int textbox_insert(struct textbox *t, const char *utf8);
/* Deletes the last character. */
void textbox_backspace(struct textbox *t);
/* The text without leading and trailing blanks, into out (at least TEXTBOX_MAX + 1). */
void textbox_command(const struct textbox *t, char *out, size_t cap);

#endif /* GAME_TEXTBOX_H */
