/* agents: one agent's calls and reachability, and the events a poll result turns them into. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "agents.h"
#include "util.h"

struct emitter {
	const struct agent_state *state;
	uint64_t now_us;
	agents_emit_fn emit;
	void *ctx;
};

static void emit_event(const struct emitter *em, struct event *ev)
{
	ev->time_us = em->now_us;
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
		.initial = initial,
	};

	emit_event(em, &ev);
}

static bool same_calls(const struct agent_state *state, const struct reply *reply)
{
	if (state->ncalls != reply->ncalls)
		return false;
	for (uint32_t i = 0; i < state->ncalls; i++)
		if (strcmp(state->calls[i].id, reply->calls[i]) != 0)
			return false;
	return true;
}

/*
 * Walks the old and new sorted call lists once: emits call.ended for calls that are gone,
 * then call.started for new ones, and builds the new list keeping first-seen times.
 */
static void diff_calls(struct agent_state *state, const struct reply *reply,
		       const struct emitter *em, bool initial)
{
	struct agent_call *next;
	size_t o = 0, n = 0;

	if (same_calls(state, reply))
		return;	/* the common case: nothing changed, nothing to allocate */
	next = xcalloc(reply->ncalls, sizeof(*next));

	while (o < state->ncalls) {
		int cmp = n < reply->ncalls ? strcmp(state->calls[o].id, reply->calls[n]) : -1;

		if (cmp < 0) {
			emit_call(em, EVENT_CALL_ENDED, &state->calls[o], false);
			free(state->calls[o++].id);
		} else if (cmp == 0) {
			next[n++] = state->calls[o++];
		} else {
			n++;
		}
	}
	for (n = 0; n < reply->ncalls; n++) {
		if (next[n].id)
			continue;
		next[n] = (struct agent_call){ .id = xstrdup(reply->calls[n]),
					       .first_seen_us = em->now_us };
		emit_call(em, EVENT_CALL_STARTED, &next[n], initial);
	}
	free(state->calls);
	state->calls = next;
	state->ncalls = (uint32_t)reply->ncalls;
}

static void check_long_calls(struct agent_state *state, const struct emitter *em, double long_call)
{
	uint64_t limit_us = (uint64_t)(long_call * 1e6);

	if (long_call <= 0)
		return;
	for (uint32_t i = 0; i < state->ncalls; i++) {
		struct agent_call *call = &state->calls[i];

		if (!call->long_reported && em->now_us - call->first_seen_us >= limit_us) {
			call->long_reported = true;
			emit_call(em, EVENT_CALL_LONG, call, false);
		}
	}
}

void agents_on_success(struct agent_state *state, const struct reply *reply, uint64_t now_us,
		       const struct agents_rules *rules, agents_emit_fn emit, void *ctx)
{
	struct emitter em = { state, now_us, emit, ctx };
	bool initial = !state->baselined;
	bool was_busy = state->ncalls > 0;

	if (state->unreachable)
		emit_simple(&em, EVENT_AGENT_REACHABLE, false);
	state->unreachable = false;
	state->failures = 0;
	state->baselined = true;
	diff_calls(state, reply, &em, initial);
	if (state->ncalls > 0 && !was_busy) {
		struct event ev = { .type = EVENT_AGENT_BUSY, .initial = initial,
				    .ncalls = state->ncalls };

		emit_event(&em, &ev);
	} else if (state->ncalls == 0 && was_busy) {
		emit_simple(&em, EVENT_AGENT_IDLE, false);
	}
	check_long_calls(state, &em, rules->long_call);
}

void agents_on_failure(struct agent_state *state, const char *reason, uint64_t now_us,
		       const struct agents_rules *rules, agents_emit_fn emit, void *ctx)
{
	struct emitter em = { state, now_us, emit, ctx };

	if (state->failures < UINT32_MAX)
		state->failures++;
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
}
