/* pollunit: which request polls which agents (per-agent, batch and state units), their phases, and a batch answer's outcome per agent. */
#ifndef AW_POLLUNIT_H
#define AW_POLLUNIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfg.h"
#include "replybatch.h"

#define POLLUNIT_ABSENT_REASON "absent from the CMS answer"

/* Units sort by (cc, vdn, kind, index, count): a group's per-agent units, then batches, states. */
enum pollunit_kind {
	POLLUNIT_AGENT,		/* one agent, agent/queryagentcalls, phase from its key as in 1.0 */
	POLLUNIT_BATCH,		/* up to batch_size agents of one (cc, vdn), agentgroup/queryagentcalls */
	POLLUNIT_STATE,		/* up to 6000 agents of one (cc, vdn), agentstatusinfobyagentids */
};

/* One request that recurs every interval, and the agents it asks for. */
struct pollunit_spec {
	enum pollunit_kind kind;
	uint32_t cc, vdn;
	uint32_t index;		/* batch index in its group (0..count-1); AGENT: the agent's id */
	uint32_t count;		/* units of its kind in its group; AGENT: 0 */
	size_t first, n;	/* the agents it polls: agents[first .. first + n) of the plan's input */
	double phase;		/* BATCH, STATE: where in the interval it polls, 0 <= phase < 1 */
};

/* Whether (cc, vdn) is marked (fallen back to per-agent polling; state polling refused). */
typedef bool (*pollunit_group_fn)(void *ctx, uint32_t cc, uint32_t vdn);

struct pollunit_params {
	bool batch;		/* cms.api is not "agent" */
	size_t batch_size;	/* agents per calls batch, 1..3000 (0 or more: 3000) */
	bool state;		/* poll.agent_state */
	size_t state_size;	/* agents per state batch, 1..6000 (0 or more: 6000) */
	pollunit_group_fn per_agent;	/* a batch group polled per agent (auto's 404); may be NULL */
	pollunit_group_fn state_off;	/* no state polling for this group; may be NULL */
	void *ctx;
};

/*
 * The units that poll agents[0..n) (sorted by cfg_agent_key), in identity order. A group of m
 * agents gets ceil(m / size) batches of near-equal size, batch i of c at phase
 * (offset + i / c) mod 1 and state batch i of c at (offset + (i + 0.5) / c) mod 1, offset a hash
 * of (cc, vdn). *out is allocated (the caller frees it); returns the number of units.
 */
size_t pollunit_plan(const struct cfg_agent *agents, size_t n, const struct pollunit_params *p,
		     struct pollunit_spec **out);

/* The identity order: < 0, 0 or > 0. Units of equal identity keep their deadlines on reload. */
int pollunit_compare(const struct pollunit_spec *a, const struct pollunit_spec *b);

/* Where in the interval (0 <= offset < 1) the group (cc, vdn) begins its batches. */
double pollunit_group_offset(uint32_t cc, uint32_t vdn);

/*
 * What a successful calls answer b says of an agent it was asked for: true with *entry its
 * calls, or false with *reason the entry's error or POLLUNIT_ABSENT_REASON (a failed poll).
 */
bool pollunit_calls_of(const struct replybatch *b, uint32_t id,
		       const struct replybatch_calls **entry, const char **reason);
/* The same for a state answer. */
bool pollunit_state_of(const struct replybatch *b, uint32_t id,
		       const struct replybatch_state **entry, const char **reason);

#endif
