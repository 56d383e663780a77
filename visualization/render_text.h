/* render_text.h: text with SDL_ttf, through a cache of textures so a frame renders only
 * the strings that changed. */
#ifndef GAME_RENDER_TEXT_H
#define GAME_RENDER_TEXT_H

#include <SDL.h>
#include <stddef.h>

enum text_font {
    FONT_SMALL = 0, /* labels, log numbers */
    FONT_NORMAL,    /* the feed, the status bar */
    FONT_BOLD,      /* names */
    FONT_TITLE,     /* headings */
    FONT_BIG,       /* banners */
    FONT_COUNT,
};

enum text_align {
    TEXT_LEFT = 0,
    TEXT_CENTER,
    TEXT_RIGHT,
};

struct text_cache;

/* Finds a font: font_path when not empty, else the first of a fixed list of places
 * Debian and others keep DejaVu Sans. 0 and the path in out, or -1 with err. */
int text_find_font(const char *font_path, char *out, size_t outlen, char *err, size_t errlen);

/* Opens the fonts at sizes fitting scale. NULL with err on failure. */
struct text_cache *text_cache_new(SDL_Renderer *r, const char *font_path, float scale, char *err,
                                  size_t errlen);
void text_cache_free(struct text_cache *tc);
/* Re-opens the fonts when the window's scale changed noticeably. 0 or -1 with err. */
int text_cache_set_scale(struct text_cache *tc, float scale, char *err, size_t errlen);

/* Draws s with its top at y, aligned on x. Returns the width drawn. */
int text_draw(struct text_cache *tc, enum text_font f, const char *s, float x, float y, SDL_Color c,
              enum text_align align);
/* The same with a dark shadow below-right, readable on grass and at night. */
int text_draw_shadow(struct text_cache *tc, enum text_font f, const char *s, float x, float y,
                     SDL_Color c, enum text_align align);
/* Draws s wrapped to wrap_w pixels. Returns the height drawn. */
int text_draw_wrapped(struct text_cache *tc, enum text_font f, const char *s, float x, float y,
                      SDL_Color c, int wrap_w);
/* Size of s wrapped to wrap_w pixels (0: not wrapped), without drawing. Give the colour
 * it will be drawn in: wrapped text is measured by rendering it, and the texture is
 * kept for the draw. */
void text_measure(struct text_cache *tc, enum text_font f, const char *s, int wrap_w, SDL_Color c,
                  int *w, int *h);
/* Height of a line of font f. */
int text_line_height(struct text_cache *tc, enum text_font f);

/* Call once per frame: textures unused for a while are freed. */
void text_cache_end_frame(struct text_cache *tc);

#endif /* GAME_RENDER_TEXT_H */
