/* agents: one agent's calls and reachability, and the events a poll result turns them into. */
#ifndef AW_AGENTS_H
#define AW_AGENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "cfg.h"
#include "event.h"
#include "reply.h"

struct agent_call {
	char *id;
	uint64_t first_seen_us;		/* CLOCK_REALTIME */
	bool long_reported;
};

struct agent_state {
	const struct cfg_agent *cfg;
	struct agent_call *calls;	/* sorted by id */
	uint32_t ncalls;
	uint32_t failures;		/* consecutive failed polls */
	char *reason;			/* why the last poll failed, while failures > 0 */
	bool baselined;			/* had a successful poll since start, or restored */
	bool unreachable;		/* agent.unreachable was reported */
	bool restored;			/* calls come from before a restart, not yet re-polled */
};

/* Receives each event in order; time_us is set, id is not (the receiver assigns it). */
typedef void (*agents_emit_fn)(void *ctx, struct event *event);

struct agents_rules {
	unsigned failure_threshold;
	double long_call;		/* seconds, 0 disables call.long */
};

/* A successful poll: diff against the last successful one and emit, in product order. */
void agents_on_success(struct agent_state *state, const struct reply *reply, uint64_t now_us,
		       const struct agents_rules *rules, agents_emit_fn emit, void *ctx);

/* A failed poll: calls stay open; agent.unreachable once the threshold is reached. */
void agents_on_failure(struct agent_state *state, const char *reason, uint64_t now_us,
		       const struct agents_rules *rules, agents_emit_fn emit, void *ctx);

void agents_state_clear(struct agent_state *state);

/*
 * After a restart: puts back one call reported before it. The agent then needs no baseline;
 * a restored call that is gone at its next successful poll ends with after_restart.
 */
void agents_restore_call(struct agent_state *state, const char *id, uint64_t first_seen_us,
			 bool long_reported);

/* After a restart: applies one event read back from the event log, emitting nothing. */
void agents_replay(struct agent_state *state, enum event_type type, const char *call_id,
		   uint64_t first_seen_us);

#endif
