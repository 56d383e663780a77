/* render_text.c: a two-way set-associative cache of rendered strings. */
#include "visualization/render_text.h"
#include "common/error_message.h"

#include <SDL_ttf.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N_SETS      512
#define WAYS        2
#define KEY_MAX     256 /* longer strings are drawn uncached */
#define MAX_IDLE    180 /* frames (3 s) before an unused texture is freed */
#define BASE_NORMAL 14

static const float size_factor[FONT_COUNT] = {
    [FONT_SMALL] = 11.5f / BASE_NORMAL,
    [FONT_NORMAL] = 1.0f,
    [FONT_BOLD] = 1.0f,
    [FONT_TITLE] = 17.0f / BASE_NORMAL,
    [FONT_BIG] = 26.0f / BASE_NORMAL,
};

/* Where distributions keep DejaVu Sans (fonts-dejavu-core on Debian), then fallbacks. */
static const char *const font_paths[] = {
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu-sans-fonts/DejaVuSans.ttf",
    "/usr/local/share/fonts/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
    "/usr/share/fonts/truetype/freefont/FreeSans.ttf",
};

struct entry {
    uint64_t hash;
    char key[KEY_MAX];
    int font, wrap;
    SDL_Color color;
    SDL_Texture *tex; /* NULL: empty way */
    int w, h;
    unsigned long last_used;
};

struct text_cache {
    SDL_Renderer *r;
    char regular[1024], bold[1024]; /* font files; bold may be "" (styled instead) */
    float scale;
    TTF_Font *fonts[FONT_COUNT];
    struct entry sets[N_SETS][WAYS];
    unsigned long frame;
};

int text_find_font(const char *font_path, char *out, size_t outlen, char *err, size_t errlen)
{
    if (font_path != NULL && font_path[0] != '\0') {
        if (access(font_path, R_OK) != 0) {
            set_err(err, errlen, "font %s cannot be read", font_path);
            return -1;
        }
        snprintf(out, outlen, "%s", font_path);
        return 0;
    }
    for (size_t i = 0; i < sizeof font_paths / sizeof font_paths[0]; i++) {
        if (access(font_paths[i], R_OK) == 0) {
            snprintf(out, outlen, "%s", font_paths[i]);
            return 0;
        }
    }
    set_err(err, errlen,
            "no font found: install fonts-dejavu-core or set font = FILE under [game]");
    return -1;
}

static void close_fonts(struct text_cache *tc)
{
    for (int i = 0; i < FONT_COUNT; i++) {
        if (tc->fonts[i])
            TTF_CloseFont(tc->fonts[i]);
        tc->fonts[i] = NULL;
    }
}

static void clear_entries(struct text_cache *tc)
{
    for (int s = 0; s < N_SETS; s++) {
        for (int w = 0; w < WAYS; w++) {
            if (tc->sets[s][w].tex)
                SDL_DestroyTexture(tc->sets[s][w].tex);
            tc->sets[s][w].tex = NULL;
        }
    }
}

static int open_fonts(struct text_cache *tc, float scale, char *err, size_t errlen)
{
    close_fonts(tc);
    for (int i = 0; i < FONT_COUNT; i++) {
        int pt = (int)(BASE_NORMAL * size_factor[i] * scale + 0.5f);
        bool bold = i == FONT_BOLD || i == FONT_TITLE || i == FONT_BIG;
        const char *file = bold && tc->bold[0] ? tc->bold : tc->regular;
        if (pt < 7)
            pt = 7;
        tc->fonts[i] = TTF_OpenFont(file, pt);
        if (tc->fonts[i] == NULL) {
            set_err(err, errlen, "%s: %s", file, TTF_GetError());
            close_fonts(tc);
            return -1;
        }
        if (bold && file == tc->regular)
            TTF_SetFontStyle(tc->fonts[i], TTF_STYLE_BOLD);
        TTF_SetFontHinting(tc->fonts[i], TTF_HINTING_LIGHT);
    }
    tc->scale = scale;
    return 0;
}

struct text_cache *text_cache_new(SDL_Renderer *r, const char *font_path, float scale, char *err,
                                  size_t errlen)
{
    struct text_cache *tc;
    size_t n;

    if (!TTF_WasInit() && TTF_Init() < 0) {
        set_err(err, errlen, "TTF_Init: %s", TTF_GetError());
        return NULL;
    }
    tc = calloc(1, sizeof *tc);
    if (tc == NULL) {
        set_err(err, errlen, "out of memory");
        return NULL;
    }
    tc->r = r;
    snprintf(tc->regular, sizeof tc->regular, "%s", font_path);
    /* DejaVuSans.ttf has a DejaVuSans-Bold.ttf beside it; other fonts get a styled bold. */
    n = strlen(font_path);
    if (n > 4 && strcmp(font_path + n - 4, ".ttf") == 0 && n + 8 < sizeof tc->bold) {
        snprintf(tc->bold, sizeof tc->bold, "%.*s-Bold.ttf", (int)(n - 4), font_path);
        if (access(tc->bold, R_OK) != 0)
            tc->bold[0] = '\0';
    }
    if (open_fonts(tc, scale, err, errlen) < 0) {
        free(tc);
        return NULL;
    }
    return tc;
}

void text_cache_free(struct text_cache *tc)
{
    if (tc == NULL)
        return;
    clear_entries(tc);
    close_fonts(tc);
    free(tc);
}

int text_cache_set_scale(struct text_cache *tc, float scale, char *err, size_t errlen)
{
    if (scale > tc->scale * 0.97f && scale < tc->scale * 1.03f)
        return 0;
    clear_entries(tc);
    return open_fonts(tc, scale, err, errlen);
}

int text_line_height(struct text_cache *tc, enum text_font f)
{
    return TTF_FontLineSkip(tc->fonts[f]);
}

static uint64_t hash_key(const char *s, int font, int wrap, SDL_Color c)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    h = (h ^ (uint64_t)font) * 1099511628211ull;
    h = (h ^ (uint64_t)(unsigned)wrap) * 1099511628211ull;
    h = (h ^ ((uint64_t)c.r << 24 | (uint64_t)c.g << 16 | (uint64_t)c.b << 8 | c.a)) *
        1099511628211ull;
    return h;
}

static SDL_Texture *render_texture(struct text_cache *tc, enum text_font f, const char *s,
                                   SDL_Color c, int wrap, int *w, int *h)
{
    SDL_Surface *surf;
    SDL_Texture *tex;
    SDL_Color opaque = {c.r, c.g, c.b, 255};

    if (wrap > 0)
        surf = TTF_RenderUTF8_Blended_Wrapped(tc->fonts[f], s, opaque, (Uint32)wrap);
    else
        surf = TTF_RenderUTF8_Blended(tc->fonts[f], s, opaque);
    if (surf == NULL)
        return NULL;
    tex = SDL_CreateTextureFromSurface(tc->r, surf);
    *w = surf->w;
    *h = surf->h;
    SDL_FreeSurface(surf);
    if (tex) {
        SDL_SetTextureBlendMode(tex, SDL_BLENDMODE_BLEND);
        SDL_SetTextureAlphaMod(tex, c.a);
    }
    return tex;
}

/* The cached texture for s, rendering it when new. NULL for empty or unrenderable text;
 * *owned is set when the caller must destroy the texture (too long to cache). */
static SDL_Texture *lookup(struct text_cache *tc, enum text_font f, const char *s, SDL_Color c,
                           int wrap, int *w, int *h, bool *owned)
{
    uint64_t hash;
    struct entry *set, *victim;

    *owned = false;
    if (s == NULL || s[0] == '\0')
        return NULL;
    if (strlen(s) >= KEY_MAX) {
        *owned = true;
        return render_texture(tc, f, s, c, wrap, w, h);
    }
    hash = hash_key(s, (int)f, wrap, c);
    set = tc->sets[hash % N_SETS];
    for (int i = 0; i < WAYS; i++) {
        struct entry *e = &set[i];
        if (e->tex && e->hash == hash && e->font == (int)f && e->wrap == wrap &&
            memcmp(&e->color, &c, sizeof c) == 0 && strcmp(e->key, s) == 0) {
            e->last_used = tc->frame;
            *w = e->w;
            *h = e->h;
            return e->tex;
        }
    }
    victim = &set[0];
    for (int i = 0; i < WAYS; i++) {
        if (set[i].tex == NULL) {
            victim = &set[i];
            break;
        }
        if (set[i].last_used < victim->last_used)
            victim = &set[i];
    }
    if (victim->tex)
        SDL_DestroyTexture(victim->tex);
    victim->tex = render_texture(tc, f, s, c, wrap, &victim->w, &victim->h);
    if (victim->tex == NULL)
        return NULL;
    victim->hash = hash;
    snprintf(victim->key, sizeof victim->key, "%s", s);
    victim->font = (int)f;
    victim->wrap = wrap;
    victim->color = c;
    victim->last_used = tc->frame;
    *w = victim->w;
    *h = victim->h;
    return victim->tex;
}

static int draw(struct text_cache *tc, enum text_font f, const char *s, float x, float y,
                SDL_Color c, enum text_align align, int wrap, int *out_h)
{
    int w = 0, h = 0;
    bool owned;
    SDL_Texture *tex = lookup(tc, f, s, c, wrap, &w, &h, &owned);
    SDL_FRect dst;

    if (out_h)
        *out_h = 0;
    if (tex == NULL)
        return 0;
    if (align == TEXT_CENTER)
        x -= (float)w / 2;
    else if (align == TEXT_RIGHT)
        x -= (float)w;
    /* Whole pixels keep glyphs crisp. */
    dst = (SDL_FRect){(float)(int)x, (float)(int)y, (float)w, (float)h};
    SDL_RenderCopyF(tc->r, tex, NULL, &dst);
    if (owned)
        SDL_DestroyTexture(tex);
    if (out_h)
        *out_h = h;
    return w;
}

int text_draw(struct text_cache *tc, enum text_font f, const char *s, float x, float y, SDL_Color c,
              enum text_align align)
{
    return draw(tc, f, s, x, y, c, align, 0, NULL);
}

int text_draw_shadow(struct text_cache *tc, enum text_font f, const char *s, float x, float y,
                     SDL_Color c, enum text_align align)
{
    SDL_Color shadow = {12, 16, 10, (Uint8)(c.a * 0.7f)};

    draw(tc, f, s, x + 1, y + 1, shadow, align, 0, NULL);
    return draw(tc, f, s, x, y, c, align, 0, NULL);
}

int text_draw_wrapped(struct text_cache *tc, enum text_font f, const char *s, float x, float y,
                      SDL_Color c, int wrap_w)
{
    int h;

    draw(tc, f, s, x, y, c, TEXT_LEFT, wrap_w > 0 ? wrap_w : 1, &h);
    return h;
}

void text_measure(struct text_cache *tc, enum text_font f, const char *s, int wrap_w, SDL_Color c,
                  int *w, int *h)
{
    bool owned;
    SDL_Texture *tex;

    *w = *h = 0;
    if (wrap_w <= 0) {
        if (s && s[0])
            TTF_SizeUTF8(tc->fonts[f], s, w, h);
        return;
    }
    tex = lookup(tc, f, s, c, wrap_w, w, h, &owned);
    if (tex && owned)
        SDL_DestroyTexture(tex);
}

void text_cache_end_frame(struct text_cache *tc)
{
    tc->frame++;
    if (tc->frame % 60 != 0)
        return;
    for (int s = 0; s < N_SETS; s++) {
        for (int w = 0; w < WAYS; w++) {
            struct entry *e = &tc->sets[s][w];
            if (e->tex && tc->frame - e->last_used > MAX_IDLE) {
                SDL_DestroyTexture(e->tex);
                e->tex = NULL;
            }
        }
    }
}
