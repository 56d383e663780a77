/* render_prim.h: the shapes the village is drawn with (circles, arcs, rounded boxes,
 * thick lines), built on SDL_RenderGeometry, and the colours they share. */
#ifndef GAME_RENDER_PRIM_H
#define GAME_RENDER_PRIM_H

#include <SDL.h>
#include <stdint.h>

/* Colour of a term, as RaftScope does it: the same term is the same colour on every
 * villager, message and log tile. Term 0 is grey. */
SDL_Color prim_term_color(uint64_t term);
/* c with alpha a (0..1 of its own alpha). */
SDL_Color prim_alpha(SDL_Color c, float a);
/* Mixes a toward b by t (0..1). */
SDL_Color prim_mix(SDL_Color a, SDL_Color b, float t);
SDL_Color prim_rgb(uint32_t rgb);

void prim_fill_circle(SDL_Renderer *r, float cx, float cy, float rad, SDL_Color c);
void prim_fill_ellipse(SDL_Renderer *r, float cx, float cy, float rx, float ry, SDL_Color c);
/* A ring from radius r_in to r_out, from angle a0 to a1 in turns (0 = up, clockwise,
 * 1 = a full circle). */
void prim_arc(SDL_Renderer *r, float cx, float cy, float r_in, float r_out, float a0, float a1,
              SDL_Color c);
void prim_fill_rect(SDL_Renderer *r, float x, float y, float w, float h, SDL_Color c);
void prim_rect_outline(SDL_Renderer *r, float x, float y, float w, float h, float t, SDL_Color c);
void prim_round_rect(SDL_Renderer *r, float x, float y, float w, float h, float rad, SDL_Color c);
void prim_triangle(SDL_Renderer *r, float x1, float y1, float x2, float y2, float x3, float y3,
                   SDL_Color c);
void prim_line(SDL_Renderer *r, float x1, float y1, float x2, float y2, float t, SDL_Color c);
/* A convex polygon of n points (xy pairs), at most 32. */
void prim_polygon(SDL_Renderer *r, const float *xy, int n, SDL_Color c);
/* A vertical gradient from top colour to bottom colour. */
void prim_vgradient(SDL_Renderer *r, float x, float y, float w, float h, SDL_Color top,
                    SDL_Color bottom);

#endif /* GAME_RENDER_PRIM_H */
