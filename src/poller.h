/* poller: the watched agents, their poll units on the schedule, the requests, results dispatched to agents. */
#ifndef AW_POLLER_H
#define AW_POLLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "agents.h"
#include "cfg.h"
#include "cms.h"
#include "schedule.h"

struct poller_callbacks {
	agents_emit_fn emit;	/* every event the agents' results make, in order */
	/*
	 * A request ended (CMS_ERR_CANCELLED too), after its results reached the agents: api, its
	 * result and how long it took (seconds, monotonic).
	 */
	void (*done)(void *ctx, enum cms_api api, const struct cms_result *res, double seconds);
	/*
	 * A state answer began new stints silently (agents_on_state returned true) for agents whose
	 * agent.long_state was reported; NULL: nobody needs to know.
	 */
	void (*long_state_ended)(void *ctx);
};

/* How one agent's poll ended: its request failed, or the answer left the agent out or gave an
 * error as its entry. */
enum poller_result {
	POLLER_OK,
	POLLER_REQUEST_FAILED,
	POLLER_ABSENT,
	POLLER_ENTRY_ERROR,
	POLLER_RESULT_COUNT
};

/* Counts since start; requests by enum cms_api. */
struct poller_stats {
	uint64_t calls_by[POLLER_RESULT_COUNT];	/* agents' calls polls (one per agent asked) by
						   how they ended */
	uint64_t requests[3];		/* completed requests per cms_api */
	uint64_t requests_failed[3];
	uint64_t state_by[POLLER_RESULT_COUNT];	/* agents' state polls by how they ended (a failed
						   one never touches reachability) */
	uint64_t unasked;		/* batch entries for agents that were not asked */
};

/* The polls counted in by (calls_by or state_by): all of them, and those that failed. */
static inline uint64_t poller_polls(const uint64_t by[POLLER_RESULT_COUNT])
{
	uint64_t n = 0;

	for (int r = 0; r < POLLER_RESULT_COUNT; r++)
		n += by[r];
	return n;
}

static inline uint64_t poller_failed(const uint64_t by[POLLER_RESULT_COUNT])
{
	return poller_polls(by) - by[POLLER_OK];
}

struct poller;

/* cms and rules stay the caller's and must outlive the poller; cfg comes with poller_configure. */
struct poller *poller_new(sd_event *event, struct cms_client *cms, const struct agents_rules *rules,
			  const struct poller_callbacks *cb, void *ctx);
/*
 * Takes cfg (its agents, poll, cms keys; cfg must live until the next call or poller_free):
 * agents that stay keep their state, new ones get a baseline, removed ones are forgotten (freed
 * once no request names them); units whose identity stays keep their deadlines.
 */
void poller_configure(struct poller *p, const struct cfg *cfg);
/* Starts no more requests (shutting down); those under way finish. */
void poller_stop(struct poller *p);
/* Frees everything: the cms client must have been freed (or its requests cancelled) first. */
void poller_free(struct poller *p);

/* Every watched agent's state, in cfg_agent_key order; valid until the next poller_configure. */
struct agent_state **poller_states(const struct poller *p, size_t *n);
/* The state of the agent of key (cfg_agent_key), or NULL when it is not watched. */
struct agent_state *poller_find_state(const struct poller *p, uint64_t key);

const struct poller_stats *poller_get_stats(const struct poller *p);
struct sched *poller_sched(const struct poller *p);

#endif
