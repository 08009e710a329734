/* persist: the event log and the agents' state file together: restore at start, save as it runs. */
#ifndef AW_PERSIST_H
#define AW_PERSIST_H

#include <stddef.h>
#include <stdint.h>

#include "agents.h"
#include "evlog.h"
#include "statefile.h"

#define PERSIST_SNAPSHOT_US (60 * 1000000ull)	/* state file rewritten at most this often */

struct persist;

/* state_dir NULL, or not usable (logged): the log lives in memory only. */
struct persist *persist_open(const char *state_dir);
void persist_close(struct persist *p);

struct evlog *persist_log(struct persist *p);
/* The state_dir in use, NULL when there is none. */
const char *persist_dir(const struct persist *p);

/* Restores the saved agents, then replays the log after the save; logs what it did. */
void persist_restore(struct persist *p, statefile_find_fn find, void *ctx);

/* Saves the state file when events came since the last save (or always when force), and drops
 * log segments that neither the state file nor any reader (below keep_from) needs. */
void persist_save(struct persist *p, struct agent_state *const *states, size_t n,
		  uint64_t keep_from, bool force);

#endif
