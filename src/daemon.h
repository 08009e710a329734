/* daemon: the long-running service: the event loop, polls, state, outputs, signals, sd_notify. */
#ifndef AW_DAEMON_H
#define AW_DAEMON_H

#include <stdbool.h>

#include "cfg.h"

/* Runs until SIGTERM or SIGINT; takes ownership of cfg. Returns the exit status. */
int daemon_run(const char *config_path, struct cfg *cfg, bool trace_signing);

#endif
