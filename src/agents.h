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
	uint64_t first_seen_us;		/* CLOCK_REALTIME: shown as call_first_seen, never subtracted */
	int64_t first_seen_boot_us;	/* CLOCK_BOOTTIME: ages count from it (below 0 when anchored
					   to a wall-clock time from before the boot) */
	bool long_reported;
};

/*
 * One reading of both clocks. The wall clock dates events; the boot clock, which no clock step
 * moves, measures every age and duration (see "Clocks" in DESIGN.md).
 */
struct agents_clock {
	uint64_t real_us;		/* CLOCK_REALTIME */
	int64_t boot_us;		/* CLOCK_BOOTTIME */
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

/* Reads both clocks now. */
void agents_clock_read(struct agents_clock *now);

/* Microseconds the call has been seen at now_boot_us (CLOCK_BOOTTIME); never negative. */
uint64_t agents_call_age_us(const struct agent_call *call, int64_t now_boot_us);

/*
 * Where on the boot clock a call first seen at first_seen_real_us (CLOCK_REALTIME) began, when
 * that wall-clock time is all that is left of it (a reboot, the event log): its age is the wall
 * clock's now minus it, clamped to 0 when the wall clock now reads earlier.
 */
int64_t agents_anchor(uint64_t first_seen_real_us, const struct agents_clock *now);

/* A successful poll: diff against the last successful one and emit, in product order. */
void agents_on_success(struct agent_state *state, const struct reply *reply,
		       const struct agents_clock *now, const struct agents_rules *rules,
		       agents_emit_fn emit, void *ctx);

/* A failed poll: calls stay open; agent.unreachable once the threshold is reached. */
void agents_on_failure(struct agent_state *state, const char *reason,
		       const struct agents_clock *now, const struct agents_rules *rules,
		       agents_emit_fn emit, void *ctx);

void agents_state_clear(struct agent_state *state);

/*
 * After a restart: puts back one call reported before it, first seen at first_seen_us
 * (CLOCK_REALTIME) and first_seen_boot_us (CLOCK_BOOTTIME, see agents_anchor). The agent then
 * needs no baseline; a restored call that is gone at its next successful poll ends with
 * after_restart.
 */
void agents_restore_call(struct agent_state *state, const char *id, uint64_t first_seen_us,
			 int64_t first_seen_boot_us, bool long_reported);

/*
 * After a restart: applies one event read back from the event log, emitting nothing; a call's
 * age is anchored to now by its wall-clock first_seen_us (agents_anchor).
 */
void agents_replay(struct agent_state *state, enum event_type type, const char *call_id,
		   uint64_t first_seen_us, const struct agents_clock *now);

#endif
