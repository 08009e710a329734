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

static void emit_call(const struct emitter *em, enum event_type type, const struct agent_call *call,
		      bool initial)
{
	struct event ev = {
		.type = type,
		.call_id = call->id,
		.call_first_seen_us = call->first_seen_us,
		.call_duration_us = type == EVENT_CALL_STARTED ? 0 :
				    agents_call_age_us(call, em->now->boot_us),
		.initial = initial,
		.after_restart = type == EVENT_CALL_ENDED && em->state->restored,
	};

	emit_event(em, &ev);
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
 * then call.started for new ones, and builds the new list keeping first-seen times.
 */
static void diff_calls(struct agent_state *state, const struct reply_call *calls, size_t ncalls,
		       const struct emitter *em, bool initial)
{
	struct agent_call *next;
	size_t o = 0, n = 0;

	if (same_calls(state, calls, ncalls))
		return;	/* the common case: nothing changed, nothing to allocate */
	next = xcalloc(ncalls, sizeof(*next));

	while (o < state->ncalls) {
		int cmp = n < ncalls ? strcmp(state->calls[o].id, calls[n].id) : -1;

		if (cmp < 0) {
			emit_call(em, EVENT_CALL_ENDED, &state->calls[o], false);
			free(state->calls[o++].id);
		} else if (cmp == 0) {
			next[n++] = state->calls[o++];
		} else {
			n++;
		}
	}
	for (n = 0; n < ncalls; n++) {
		if (next[n].id)
			continue;
		next[n] = (struct agent_call){ .id = xstrdup(calls[n].id),
					       .first_seen_us = em->now->real_us,
					       .first_seen_boot_us = em->now->boot_us };
		emit_call(em, EVENT_CALL_STARTED, &next[n], initial);
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
			emit_call(em, EVENT_CALL_LONG, call, false);
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

void agents_state_clear(struct agent_state *state)
{
	for (uint32_t i = 0; i < state->ncalls; i++)
		free(state->calls[i].id);
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
						.long_reported = long_reported };
	state->ncalls++;
}

void agents_replay(struct agent_state *state, const struct event *ev,
		   const struct agents_clock *now)
{
	enum event_type type = ev->type;
	const char *call_id = ev->call_id;
	uint64_t first_seen_us = ev->call_first_seen_us;
	bool found;
	uint32_t at;

	/* Reachability alone says nothing of the calls: such an agent still needs its baseline. */
	if (type != EVENT_AGENT_UNREACHABLE && type != EVENT_AGENT_REACHABLE) {
		state->baselined = true;
		state->restored = true;
	}
	switch (type) {
	case EVENT_CALL_STARTED:
	case EVENT_CALL_LONG:
		agents_restore_call(state, call_id, first_seen_us, agents_anchor(first_seen_us, now),
				    type == EVENT_CALL_LONG);
		break;
	case EVENT_CALL_ENDED:
		at = find_call(state, call_id, &found);
		if (!found)
			break;
		free(state->calls[at].id);
		memmove(&state->calls[at], &state->calls[at + 1],
			(state->ncalls - at - 1) * sizeof(state->calls[0]));
		state->ncalls--;
		break;
	case EVENT_AGENT_UNREACHABLE:
	case EVENT_AGENT_REACHABLE:
		state->unreachable = type == EVENT_AGENT_UNREACHABLE;
		break;
	default:
		break;
	}
}
