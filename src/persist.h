/* persist: the event log and the agents' state file together: restore at start, save as it runs. */
#ifndef AW_PERSIST_H
#define AW_PERSIST_H

#include <stddef.h>
#include <stdint.h>

#include "agents.h"
#include "evlog.h"
#include "statefile.h"

#define PERSIST_SNAPSHOT_US (60 * 1000000ull)	/* state file rewritten at most this often */
#define PERSIST_SLICE_US 2000u	/* loop time a snapshot may take per turn */

struct persist;
struct writer;

/* state_dir NULL, or not usable (logged): the log lives in memory only. */
struct persist *persist_open(const char *state_dir);
void persist_close(struct persist *p);

/* Hands the disk work to w (NULL: inline); w must outlive p. */
void persist_set_writer(struct persist *p, struct writer *w);

struct evlog *persist_log(struct persist *p);
/* The state_dir in use, NULL when there is none. */
const char *persist_dir(const struct persist *p);

/* Restores the saved agents, then replays the log after the save; logs what it did. */
void persist_restore(struct persist *p, statefile_find_fn find, void *ctx);

/*
 * The one-second turn: syncs the log, and builds the state file when events came since the last
 * save (at most once a minute, or always when force) a slice of agents per call, then hands it to
 * the writer thread; once it is on disk, log segments that neither it nor any reader (below
 * keep_from) needs are dropped. Returns true while a snapshot is under way: call again soon,
 * with the same states array. force builds it whole at once.
 */
bool persist_save(struct persist *p, struct agent_state *const *states, size_t n,
		  uint64_t keep_from, bool force);
/* The states array changed (a reload): a snapshot under way starts again. */
void persist_forget_states(struct persist *p);

#endif
