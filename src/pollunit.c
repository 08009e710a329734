/* pollunit: which request polls which agents (per-agent, batch and state units), their phases, and a batch answer's outcome per agent. */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "pollunit.h"
#include "schedule.h"
#include "util.h"

double pollunit_group_offset(uint32_t cc, uint32_t vdn)
{
	/* The top 53 bits of the agents' hash of (cc, vdn, 0): exact in a double, below 1. */
	return (double)(sched_hash(cfg_agent_key(cc, vdn, 0)) >> 11) * 0x1p-53;
}

int pollunit_compare(const struct pollunit_spec *a, const struct pollunit_spec *b)
{
	uint64_t ka = (uint64_t)a->cc << 32 | a->vdn, kb = (uint64_t)b->cc << 32 | b->vdn;

	if (ka != kb)
		return ka < kb ? -1 : 1;
	if (a->kind != b->kind)
		return a->kind < b->kind ? -1 : 1;
	if (a->index != b->index)
		return a->index < b->index ? -1 : 1;
	return a->count < b->count ? -1 : a->count > b->count;
}

struct plan {
	struct pollunit_spec *units;
	size_t n, cap;
};

static struct pollunit_spec *plan_add(struct plan *pl)
{
	if (pl->n == pl->cap) {
		pl->cap = pl->cap ? 2 * pl->cap : 16;
		pl->units = xreallocarray(pl->units, pl->cap, sizeof(pl->units[0]));
	}
	return &pl->units[pl->n++];
}

/* agents[first .. first + m) of one group in ceil(m / size) near-equal batches of kind. */
static void plan_batches(struct plan *pl, enum pollunit_kind kind, const struct cfg_agent *a,
			 size_t first, size_t m, size_t size)
{
	uint32_t count = (uint32_t)((m + size - 1) / size);
	double offset = pollunit_group_offset(a->cc, a->vdn), shift = kind == POLLUNIT_STATE ? 0.5 : 0;

	for (uint32_t i = 0; i < count; i++) {
		struct pollunit_spec *u = plan_add(pl);
		size_t lo = m * i / count, hi = m * (i + 1) / count;

		*u = (struct pollunit_spec){ kind, a->cc, a->vdn, i, count, first + lo, hi - lo,
					     fmod(offset + (i + shift) / count, 1.0) };
	}
}

/* cfg keeps sizes within the interface's limit; anything else (0 too) is taken as the limit. */
static size_t clamp_size(size_t size, size_t max)
{
	return size == 0 || size > max ? max : size;
}

static bool marked(pollunit_group_fn fn, void *ctx, const struct cfg_agent *a)
{
	return fn && fn(ctx, a->cc, a->vdn);
}

size_t pollunit_plan(const struct cfg_agent *agents, size_t n, const struct pollunit_params *p,
		     struct pollunit_spec **out)
{
	struct plan pl = { NULL, 0, 0 };
	size_t calls = clamp_size(p->batch_size, REPLYBATCH_CALLS_MAX);
	size_t states = clamp_size(p->state_size, REPLYBATCH_STATES_MAX);

	for (size_t first = 0, end; first < n; first = end) {
		const struct cfg_agent *a = &agents[first];

		for (end = first + 1; end < n && agents[end].cc == a->cc && agents[end].vdn == a->vdn;)
			end++;
		if (!p->batch || marked(p->per_agent, p->ctx, a)) {
			for (size_t i = first; i < end; i++)
				*plan_add(&pl) = (struct pollunit_spec){ POLLUNIT_AGENT, a->cc, a->vdn,
									 agents[i].id, 0, i, 1, 0 };
		} else {
			plan_batches(&pl, POLLUNIT_BATCH, a, first, end - first, calls);
		}
		if (p->state && !marked(p->state_off, p->ctx, a))
			plan_batches(&pl, POLLUNIT_STATE, a, first, end - first, states);
	}
	*out = pl.units;
	return pl.n;
}

bool pollunit_calls_of(const struct replybatch *b, uint32_t id,
		       const struct replybatch_calls **entry, const char **reason)
{
	*entry = replybatch_find_calls(b, id);
	*reason = !*entry ? POLLUNIT_ABSENT_REASON : (*entry)->error;
	return *reason == NULL;
}

bool pollunit_state_of(const struct replybatch *b, uint32_t id,
		       const struct replybatch_state **entry, const char **reason)
{
	*entry = replybatch_find_state(b, id);
	*reason = !*entry ? POLLUNIT_ABSENT_REASON : (*entry)->error;
	return *reason == NULL;
}
