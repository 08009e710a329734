/* agents: one agent's calls and reachability, and the events a poll result turns them into. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "agents.h"
#include "util.h"

struct emitter {
	const struct agent_state *state;
	const struct agents_clock *now;
	agents_emit_fn emit;
	void *ctx;
};

void agents_clock_read(struct agents_clock *now)
{
	now->real_us = util_now_realtime_us();
	now->boot_us = (int64_t)util_now_boottime_us();
}

uint64_t agents_call_age_us(const struct agent_call *call, int64_t now_boot_us)
{
	/* In unsigned arithmetic: the difference fits, even from a first-seen far below 0. */
	return now_boot_us > call->first_seen_boot_us ?
	       (uint64_t)now_boot_us - (uint64_t)call->first_seen_boot_us : 0;
}

int64_t agents_anchor(uint64_t first_seen_real_us, const struct agents_clock *now)
{
	uint64_t age = now->real_us > first_seen_real_us ? now->real_us - first_seen_real_us : 0;

	/* Seen before this boot gives a boot-clock time below 0; the bound only keeps a nonsense
	 * first-seen (the epoch) from overflowing. */
	if (age > (uint64_t)INT64_MAX / 2)
		age = (uint64_t)INT64_MAX / 2;
	return now->boot_us - (int64_t)age;
}

static void emit_event(const struct emitter *em, struct event *ev)
{
	ev->time_us = em->now->real_us;
	ev->agent = em->state->cfg;
	em->emit(em->ctx, ev);
}

static void emit_simple(const struct emitter *em, enum event_type type, bool initial)
{
	struct event ev = { .type = type, .initial = initial };

	emit_event(em, &ev);
}

/* previous_status: call.status's status before, CMS_CODE_NONE for the other call events. */
static void emit_call(const struct emitter *em, enum event_type type, const struct agent_call *call,
		      bool initial, int16_t previous_status)
{
	struct event ev = {
		.type = type,
		.call_id = call->id,
		.call_first_seen_us = call->first_seen_us,
		.call_duration_us = type == EVENT_CALL_STARTED || type == EVENT_CALL_STATUS ? 0 :
				    agents_call_age_us(call, em->now->boot_us),
		.initial = initial,
		.after_restart = type == EVENT_CALL_ENDED && em->state->restored,
		.detail = { .status = call->status, .previous_status = previous_status,
			    .direction = call->direction, .media = call->media,
			    .submedia = call->submedia },
	};

	emit_event(em, &ev);
}

static bool same_text(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/*
 * Brings a call's detail to what the answer says; allocates only when submedia changed. Returns
 * the status before when the status went from one known code to another (a call.status), else
 * CMS_CODE_NONE: a detail appearing, vanishing (a fallback to per-agent polling) or changing
 * otherwise is taken silently.
 */
static int16_t update_detail(struct agent_call *call, const struct reply_call *now)
{
	int16_t before = call->status;

	call->status = now->status;
	call->direction = now->direction;
	call->media = now->media;
	if (!same_text(call->submedia, now->submedia)) {
		free(call->submedia);
		call->submedia = now->submedia ? xstrdup(now->submedia) : NULL;
	}
	return before != CMS_CODE_NONE && now->status != CMS_CODE_NONE && before != now->status ?
	       before : CMS_CODE_NONE;
}

/* call.status for each kept call (same index in calls and list) whose status changed. */
static void update_details(struct agent_call *list, const struct reply_call *calls, size_t ncalls,
			   const struct emitter *em)
{
	for (size_t i = 0; i < ncalls; i++) {
		int16_t before;

		if (!list[i].id)
			continue;	/* a new call: call.started carries its detail */
		before = update_detail(&list[i], &calls[i]);
		if (before != CMS_CODE_NONE)
			emit_call(em, EVENT_CALL_STATUS, &list[i], false, before);
	}
}

static void free_call(struct agent_call *call)
{
	free(call->id);
	free(call->submedia);
}

static bool same_calls(const struct agent_state *state, const struct reply_call *calls,
		       size_t ncalls)
{
	if (state->ncalls != ncalls)
		return false;
	for (uint32_t i = 0; i < state->ncalls; i++)
		if (strcmp(state->calls[i].id, calls[i].id) != 0)
			return false;
	return true;
}

/*
 * Walks the old and new sorted call lists once: emits call.ended for calls that are gone,
 * call.status for kept ones whose status changed, then call.started for new ones, and builds the
 * new list keeping first-seen times.
 */
static void diff_calls(struct agent_state *state, const struct reply_call *calls, size_t ncalls,
		       const struct emitter *em, bool initial)
{
	struct agent_call *next;
	size_t o = 0, n = 0;

	if (same_calls(state, calls, ncalls)) {
		/* The common case: nothing to allocate unless a submedia changed. */
		update_details(state->calls, calls, ncalls, em);
		return;
	}
	next = xcalloc(ncalls, sizeof(*next));

	while (o < state->ncalls) {
		int cmp = n < ncalls ? strcmp(state->calls[o].id, calls[n].id) : -1;

		if (cmp < 0) {
			emit_call(em, EVENT_CALL_ENDED, &state->calls[o], false, CMS_CODE_NONE);
			free_call(&state->calls[o++]);
		} else if (cmp == 0) {
			next[n++] = state->calls[o++];
		} else {
			n++;
		}
	}
	update_details(next, calls, ncalls, em);
	for (n = 0; n < ncalls; n++) {
		if (next[n].id)
			continue;
		next[n] = (struct agent_call){ .id = xstrdup(calls[n].id),
					       .first_seen_us = em->now->real_us,
					       .first_seen_boot_us = em->now->boot_us,
					       .status = CMS_CODE_NONE };
		update_detail(&next[n], &calls[n]);
		emit_call(em, EVENT_CALL_STARTED, &next[n], initial, CMS_CODE_NONE);
	}
	free(state->calls);
	state->calls = next;
	state->ncalls = (uint32_t)ncalls;
}

static void check_long_calls(struct agent_state *state, const struct emitter *em, double long_call)
{
	uint64_t limit_us = (uint64_t)(long_call * 1e6);

	if (long_call <= 0)
		return;
	for (uint32_t i = 0; i < state->ncalls; i++) {
		struct agent_call *call = &state->calls[i];

		if (!call->long_reported &&
		    agents_call_age_us(call, em->now->boot_us) >= limit_us) {
			call->long_reported = true;
			emit_call(em, EVENT_CALL_LONG, call, false, CMS_CODE_NONE);
		}
	}
}

void agents_on_success(struct agent_state *state, const struct reply_call *calls, size_t ncalls,
		       const struct agents_clock *now, const struct agents_rules *rules,
		       agents_emit_fn emit, void *ctx)
{
	struct emitter em = { state, now, emit, ctx };
	bool initial = !state->baselined;
	bool was_busy = state->ncalls > 0;

	if (state->unreachable)
		emit_simple(&em, EVENT_AGENT_REACHABLE, false);
	state->unreachable = false;
	state->failures = 0;
	free(state->reason);
	state->reason = NULL;
	state->baselined = true;
	diff_calls(state, calls, ncalls, &em, initial);
	state->restored = false;
	if (state->ncalls > 0 && !was_busy) {
		struct event ev = { .type = EVENT_AGENT_BUSY, .initial = initial,
				    .ncalls = state->ncalls };

		emit_event(&em, &ev);
	} else if (state->ncalls == 0 && was_busy) {
		emit_simple(&em, EVENT_AGENT_IDLE, false);
	}
	check_long_calls(state, &em, rules->long_call);
}

void agents_on_failure(struct agent_state *state, const char *reason,
		       const struct agents_clock *now, const struct agents_rules *rules,
		       agents_emit_fn emit, void *ctx)
{
	struct emitter em = { state, now, emit, ctx };

	if (state->failures < UINT32_MAX)
		state->failures++;
	if (!state->reason || strcmp(state->reason, reason) != 0) {
		free(state->reason);
		state->reason = xstrdup(reason);
	}
	if (!state->unreachable && state->failures >= rules->failure_threshold) {
		struct event ev = { .type = EVENT_AGENT_UNREACHABLE, .failures = state->failures,
				    .reason = reason };

		state->unreachable = true;
		emit_event(&em, &ev);
	}
}

void agents_state_init(struct agent_state *state, const struct cfg_agent *cfg)
{
	*state = (struct agent_state){ .cfg = cfg };
	state->cti = (struct agent_cti){ .code = CMS_CODE_NONE, .reason = CMS_CODE_NONE,
					 .seconds = -1 };
}

void agents_state_clear(struct agent_state *state)
{
	for (uint32_t i = 0; i < state->ncalls; i++)
		free_call(&state->calls[i]);
	free(state->calls);
	state->calls = NULL;
	state->ncalls = 0;
	free(state->reason);
	state->reason = NULL;
}

/* Finds id in the sorted call list; returns its index, or where it would go with *found false. */
static uint32_t find_call(const struct agent_state *state, const char *id, bool *found)
{
	uint32_t lo = 0, hi = state->ncalls;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		int cmp = strcmp(state->calls[mid].id, id);

		if (cmp == 0) {
			*found = true;
			return mid;
		}
		if (cmp < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

void agents_restore_call(struct agent_state *state, const char *id, uint64_t first_seen_us,
			 int64_t first_seen_boot_us, bool long_reported)
{
	bool found;
	uint32_t at = find_call(state, id, &found);

	state->baselined = true;
	state->restored = true;
	if (found) {
		state->calls[at].long_reported |= long_reported;
		return;
	}
	state->calls = xreallocarray(state->calls, state->ncalls + 1, sizeof(state->calls[0]));
	memmove(&state->calls[at + 1], &state->calls[at],
		(state->ncalls - at) * sizeof(state->calls[0]));
	state->calls[at] = (struct agent_call){ .id = xstrdup(id), .first_seen_us = first_seen_us,
						.first_seen_boot_us = first_seen_boot_us,
						.long_reported = long_reported,
						.status = CMS_CODE_NONE,
						.direction = CMS_CODE_NONE,
						.media = CMS_CODE_NONE };
	state->ncalls++;
}

/* Removes the call at index at, freeing it. */
static void drop_call(struct agent_state *state, uint32_t at)
{
	free_call(&state->calls[at]);
	memmove(&state->calls[at], &state->calls[at + 1],
		(state->ncalls - at - 1) * sizeof(state->calls[0]));
	state->ncalls--;
}

void agents_restore_detail(struct agent_state *state, const struct reply_call *detail)
{
	bool found;
	uint32_t at = find_call(state, detail->id, &found);

	if (found)
		(void)update_detail(&state->calls[at], detail);
}

void agents_restore_cti(struct agent_state *state, const struct agent_cti *cti)
{
	state->cti = *cti;
	/* The counter of the last poll is unknown: the next poll compares with since instead. */
	state->cti.seconds = -1;
	state->cti.polled_boot_us = 0;
}

/* ---- agent state ---- */

static void emit_state(const struct emitter *em, enum event_type type, int16_t previous,
		       bool initial, double threshold)
{
	const struct agent_cti *cti = &em->state->cti;
	struct event ev = {
		.type = type,
		.initial = initial,
		.state = { .code = cti->code, .previous_code = previous, .reason = cti->reason,
			   .since_us = cti->since_us, .threshold = threshold,
			   .duration_us = em->now->boot_us > cti->since_boot_us ?
					  (uint64_t)(em->now->boot_us - cti->since_boot_us) : 0 },
	};

	emit_event(em, &ev);
}

/* A stint begins now: it began seconds ago (now when unknown). */
static void begin_stint(struct agent_cti *cti, int64_t seconds, const struct agents_clock *now)
{
	uint64_t ago = seconds > 0 ? (uint64_t)seconds * 1000000u : 0;

	/* A counter past the wall clock (a CMS bug, or 4294967294 one short of the not-set marker)
	 * says nothing true: read as not set, not as a stint begun in 1970 and long at once. */
	if (ago > now->real_us)
		ago = 0;
	cti->since_us = now->real_us - ago;
	cti->since_boot_us = now->boot_us - (int64_t)ago;
	cti->long_reported = false;
}

/*
 * Same code as before, yet the agent left it and came back between two polls: the state's
 * counter went back by more than the time since the last poll, plus 2 s for the CMS's rounding
 * and the request's own time. Without the last poll's counter (after a restart) the stint's
 * own age stands in for it.
 */
static bool left_and_came_back(const struct agent_cti *cti, int64_t seconds,
			       const struct agents_clock *now)
{
	int64_t before, elapsed_s;

	if (seconds < 0)
		return false;
	if (cti->seconds >= 0) {
		before = cti->seconds;
		elapsed_s = (now->boot_us - cti->polled_boot_us) / 1000000;
	} else {
		before = (now->boot_us - cti->since_boot_us) / 1000000;
		elapsed_s = 0;
	}
	return before - seconds > elapsed_s + 2;
}

bool agents_on_state(struct agent_state *state, const struct replybatch_state *cti,
		     const struct agents_clock *now, const struct agents_rules *rules,
		     agents_emit_fn emit, void *ctx)
{
	struct emitter em = { state, now, emit, ctx };
	struct agent_cti *c = &state->cti;
	int16_t before = c->code;
	bool silent_end = false;
	double threshold;

	if (cti->error || cti->state < 0 || cti->state >= CMS_STATE_COUNT)
		return false;	/* the parser's to say; nothing to tell of it */
	if (before != cti->state) {
		c->code = cti->state;
		c->reason = cti->reason;
		begin_stint(c, cti->state_seconds, now);
		emit_state(&em, EVENT_AGENT_STATE, before, before == CMS_CODE_NONE, 0);
	} else {
		/* A reason changing within one state is no transition. */
		c->reason = cti->reason;
		if (left_and_came_back(c, cti->state_seconds, now)) {
			silent_end = c->long_reported;
			begin_stint(c, cti->state_seconds, now);
		}
	}
	c->seconds = cti->state_seconds;
	c->polled_boot_us = now->boot_us;
	threshold = rules->long_state[c->code];
	if (threshold > 0 && !c->long_reported &&
	    now->boot_us - c->since_boot_us >= (int64_t)(threshold * 1e6)) {
		c->long_reported = true;
		emit_state(&em, EVENT_AGENT_LONG_STATE, CMS_CODE_NONE, false, threshold);
	}
	return silent_end;
}

/* An agent.state or agent.long_state read back: the stint it was about, anchored to now. */
static void replay_state(struct agent_state *state, const struct event *ev,
			 const struct agents_clock *now)
{
	struct agent_cti *c = &state->cti;
	/* The log has since in milliseconds, the state file in microseconds. */
	bool same_stint = c->code == ev->state.code && c->since_us / 1000 == ev->state.since_us / 1000;

	if (ev->state.code < 0 || ev->state.code >= CMS_STATE_COUNT)
		return;
	if (ev->type == EVENT_AGENT_STATE || !same_stint) {
		agents_restore_cti(state, &(struct agent_cti){
			.code = ev->state.code, .reason = ev->state.reason,
			.since_us = ev->state.since_us,
			.since_boot_us = agents_anchor(ev->state.since_us, now) });
	}
	if (ev->type == EVENT_AGENT_LONG_STATE)
		c->long_reported = true;
}

void agents_replay(struct agent_state *state, const struct event *ev,
		   const struct agents_clock *now)
{
	enum event_type type = ev->type;
	const char *call_id = ev->call_id;
	uint64_t first_seen_us = ev->call_first_seen_us;
	bool found;
	uint32_t at;

	/* Only these say the calls were polled: an agent known by its reachability or its CTI
	 * state alone still needs its baseline. */
	if (type == EVENT_CALL_STARTED || type == EVENT_CALL_ENDED || type == EVENT_CALL_LONG ||
	    type == EVENT_CALL_STATUS || type == EVENT_AGENT_BUSY || type == EVENT_AGENT_IDLE) {
		state->baselined = true;
		state->restored = true;
	}
	switch (type) {
	case EVENT_CALL_STARTED:
	case EVENT_CALL_LONG:
	case EVENT_CALL_STATUS:
		if (!call_id)
			break;
		if (type != EVENT_CALL_STATUS)
			agents_restore_call(state, call_id, first_seen_us,
					    agents_anchor(first_seen_us, now), type == EVENT_CALL_LONG);
		agents_restore_detail(state, &(struct reply_call){
			.id = call_id, .status = ev->detail.status, .direction = ev->detail.direction,
			.media = ev->detail.media, .submedia = ev->detail.submedia });
		break;
	case EVENT_CALL_ENDED:
		if (!call_id)
			break;
		at = find_call(state, call_id, &found);
		if (found)
			drop_call(state, at);
		break;
	case EVENT_AGENT_UNREACHABLE:
	case EVENT_AGENT_REACHABLE:
		state->unreachable = type == EVENT_AGENT_UNREACHABLE;
		break;
	case EVENT_AGENT_STATE:
	case EVENT_AGENT_LONG_STATE:
		replay_state(state, ev, now);
		break;
	default:
		break;
	}
}
