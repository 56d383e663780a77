/* invariants.h: Figure 3's Election Safety and State Machine Safety, across the run. */
#ifndef SCENARIO_INVARIANTS_H
#define SCENARIO_INVARIANTS_H

struct cluster;

/* 0, or -1 with the broken property in c->err. */
int check_invariants(struct cluster *c);

#endif
