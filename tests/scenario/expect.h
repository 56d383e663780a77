/* expect.h: `expect WHAT ...`, checks that print nothing and fail when false. */
#ifndef SCENARIO_EXPECT_H
#define SCENARIO_EXPECT_H

struct cluster;

int cmd_expect(struct cluster *c, char **tok, int ntok);

#endif
