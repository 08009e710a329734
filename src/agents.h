/* agents: one agent's calls and reachability, and the events a poll result turns them into. */
#ifndef AW_AGENTS_H
#define AW_AGENTS_H

#include <stdbool.h>
#include <stdint.h>

#include "cfg.h"
#include "event.h"
#include "reply.h"
#include "replybatch.h"

struct agent_call {
	char *id;
	uint64_t first_seen_us;		/* CLOCK_REALTIME: shown as call_first_seen, never subtracted */
	int64_t first_seen_boot_us;	/* CLOCK_BOOTTIME: ages count from it (below 0 when anchored
					   to a wall-clock time from before the boot) */
	bool long_reported;
	int16_t status;			/* callStatus from the batch answer, or CMS_CODE_NONE */
	int16_t direction;		/* callInOut, or CMS_CODE_NONE */
	int32_t media;			/* mediaType, or CMS_CODE_NONE */
	char *submedia;			/* submediaType, NULL when absent; owned */
};

/* The agent's CTI state, from the state interface (cms-api.md §2.2). */
struct agent_cti {
	int16_t code;			/* CMS_CODE_NONE until the first successful state poll */
	int32_t reason;			/* currentStateReason, CMS_CODE_NONE when none */
	uint64_t since_us;		/* CLOCK_REALTIME: when this stint began (now - currentStateTime
					   at the poll that saw it begin); shown, never subtracted */
	int64_t since_boot_us;		/* CLOCK_BOOTTIME: the same instant; the stint's age counts
					   from it (agent.long_state) */
	bool long_reported;		/* agent.long_state was reported for this stint */
	int64_t seconds;		/* currentStateTime at the last state poll, -1 unknown (none
					   given, or restored after a restart) */
	int64_t polled_boot_us;		/* CLOCK_BOOTTIME of that poll */
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
	struct agent_cti cti;
};

/* Receives each event in order; time_us is set, id is not (the receiver assigns it). */
typedef void (*agents_emit_fn)(void *ctx, struct event *event);

struct agents_rules {
	unsigned failure_threshold;
	double long_call;		/* seconds, 0 disables call.long */
	double long_state[CMS_STATE_COUNT];	/* seconds per CTI state, 0 disables */
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

/*
 * A successful calls poll: calls[0..ncalls) sorted by id, unique (a reply's or a batch entry's).
 * Diffs against the last successful one and emits, in product order: call.ended, call.status,
 * call.started, agent.busy/idle, call.long. Calls without detail (CMS_CODE_NONE) never make a
 * call.status.
 */
void agents_on_success(struct agent_state *state, const struct reply_call *calls, size_t ncalls,
		       const struct agents_clock *now, const struct agents_rules *rules,
		       agents_emit_fn emit, void *ctx);

/*
 * A successful state poll: agent.state (with initial at the first one), then agent.long_state
 * once per stint when rules->long_state says so. Never touches reachability or calls. A stint
 * begins when the code changes, since now - currentStateTime; with the same code, a
 * currentStateTime that went back by more than the time since the last poll + 2 s begins a new
 * stint silently (no agent.state). An entry with an error or a code outside 0..10 is ignored.
 * Returns true when such a silent new stint ended one whose agent.long_state was reported: no
 * event resolves that alert, the caller must (webhooks_recheck_long_states).
 */
bool agents_on_state(struct agent_state *state, const struct replybatch_state *cti,
		     const struct agents_clock *now, const struct agents_rules *rules,
		     agents_emit_fn emit, void *ctx);

/* A failed poll: calls stay open; agent.unreachable once the threshold is reached. */
void agents_on_failure(struct agent_state *state, const char *reason,
		       const struct agents_clock *now, const struct agents_rules *rules,
		       agents_emit_fn emit, void *ctx);

void agents_state_clear(struct agent_state *state);

/* A fresh agent's state: no calls, no CTI state yet. */
void agents_state_init(struct agent_state *state, const struct cfg_agent *cfg);

/*
 * After a restart: puts back one call reported before it, first seen at first_seen_us
 * (CLOCK_REALTIME) and first_seen_boot_us (CLOCK_BOOTTIME, see agents_anchor). The agent then
 * needs no baseline; a restored call that is gone at its next successful poll ends with
 * after_restart.
 */
void agents_restore_call(struct agent_state *state, const char *id, uint64_t first_seen_us,
			 int64_t first_seen_boot_us, bool long_reported);

/*
 * After a restart: sets the detail of the call detail->id (a restored one) to detail's codes;
 * submedia is copied. Nothing when there is no such call.
 */
void agents_restore_detail(struct agent_state *state, const struct reply_call *detail);

/*
 * After a restart: puts back the agent's CTI state (code, reason, since on both clocks as
 * agents_restore_call's first-seen, and whether its agent.long_state was reported). Its next
 * state poll is then no initial one.
 */
void agents_restore_cti(struct agent_state *state, const struct agent_cti *cti);

/*
 * After a restart: applies one event read back from the event log (its type, call_id,
 * call_first_seen_us, detail and state as event_from_json gives them), emitting nothing; a
 * call's or state's age is anchored to now by its wall-clock time (agents_anchor).
 */
void agents_replay(struct agent_state *state, const struct event *ev,
		   const struct agents_clock *now);

#endif
