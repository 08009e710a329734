/* once: --once, every configured agent (or one) polled a single time, one JSON object each. */
#ifndef AW_ONCE_H
#define AW_ONCE_H

#include "cfg.h"

/* Returns the exit status: 0 when every poll succeeded, 1 otherwise. only may be NULL. */
int once_run(const struct cfg *cfg, const struct cfg_agent *only, bool trace_signing);

#endif
