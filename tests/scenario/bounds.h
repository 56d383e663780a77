/* bounds.h: the harness's limits. A scenario is hand-written and small; these bounds
 * turn a runaway file or core into a clean failure instead of a hang or a huge alloc. */
#ifndef SCENARIO_BOUNDS_H
#define SCENARIO_BOUNDS_H

#define SC_MAX_FILE          (1u << 20) /* a scenario file is hand-written: 1 MiB is plenty */
#define SC_MAX_TOKENS        64
#define SC_MAX_LOG           100000      /* entries in one log, on disk or in a message */
#define SC_MAX_READS         64          /* read requests remembered per peer */
#define SC_GUARD             100000      /* bound on loops that wait for the core to settle */
#define SC_MAX_MS            1000000000u /* a bound on any duration, so clocks cannot overflow */
#define SC_DEFAULT_ELECTION  1000
#define SC_DEFAULT_HEARTBEAT 100

#endif
