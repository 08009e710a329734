/* statefile: the agents' calls and CTI states saved in state_dir, so that a restart repeats nothing. */
#ifndef AW_STATEFILE_H
#define AW_STATEFILE_H

#include <stddef.h>
#include <stdint.h>

#include "agents.h"

#define STATEFILE_NAME "agents.state"
#define STATEFILE_PREVIOUS "agents.state.prev"	/* the save before the last one */

/* Saves every baselined agent and the event-log position seq it reflects, atomically. */
int statefile_save(const char *dir, uint64_t seq, struct agent_state *const *states, size_t n);

/*
 * The same document built a few agents at a time, so that a large one never stalls the loop;
 * the writer thread then writes the text. Replaying the log from seq + 1 over agents added
 * after later events is harmless: replaying an event its agent already reflects changes nothing.
 */
struct statefile_snapshot;
struct statefile_snapshot *statefile_snapshot_begin(uint64_t seq);
void statefile_snapshot_add(struct statefile_snapshot *s, const struct agent_state *st);
/* Ends the document and frees s; returns the text (the caller frees it) and its length. */
char *statefile_snapshot_end(struct statefile_snapshot *s, size_t *len);
/* Drops a snapshot under way (NULL is fine). */
void statefile_snapshot_free(struct statefile_snapshot *s);

/* Finds the state of the configured agent with this key, or NULL when it is not configured. */
typedef struct agent_state *(*statefile_find_fn)(void *ctx, uint64_t key);

/*
 * Restores the saved agents that are still configured, their calls' ages anchored to now: kept
 * on the boot clock when the file is from this boot, else taken from the wall clock and never
 * negative. Returns 1 when there was no file, 0 when it was restored (*seq is the log position it
 * reflects), and -1 with a reason in err when the file is unreadable or corrupt: then nothing at
 * all was restored.
 */
int statefile_load(const char *dir, const struct agents_clock *now, uint64_t *seq,
		   statefile_find_fn find, void *ctx, char *err, size_t errlen);
/* The same for the file name in dir (STATEFILE_NAME or STATEFILE_PREVIOUS). */
int statefile_load_named(const char *dir, const char *name, const struct agents_clock *now,
			 uint64_t *seq, statefile_find_fn find, void *ctx, char *err,
			 size_t errlen);

/*
 * Makes the current state file the previous one (STATEFILE_PREVIOUS), before a new save replaces
 * it: if the new one rots, the previous one plus the event log after it rebuilds the state.
 * Returns 0, or -1 with errno set (ENOENT: there is no state file yet).
 */
int statefile_keep_previous(const char *dir);

/*
 * Renames the unusable file dir/name to "dir/name.corrupt-YYYYMMDDTHHMMSSZ" (UTC), kept for a
 * post-mortem; the new path is written to moved. Returns 0, or -1 with errno set.
 */
int statefile_set_aside(const char *dir, const char *name, char *moved, size_t movedlen);

#endif
