/* replybatch: the batch interfaces' answers (calls of many agents, states of many agents), keyed by agentId. */
#ifndef AW_REPLYBATCH_H
#define AW_REPLYBATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reply.h"

#define REPLYBATCH_CALLS_MAX 3000	/* agentIds per agentgroup/queryagentcalls request */
#define REPLYBATCH_STATES_MAX 6000	/* agentIds per agentgroup/agentstatusinfobyagentids */

/* One agent's entry of a queryagentcalls batch answer. */
struct replybatch_calls {
	uint32_t agent_id;
	uint32_t ncalls;
	const struct reply_call *calls;	/* sorted by id, unique; owned by the batch */
	const char *error;		/* NULL, or why this entry is unusable (a failed poll of
					   this agent alone), naming the field and its value */
};

/* One agent's entry of an agentstatusinfobyagentids answer; not-set markers read as absent. */
struct replybatch_state {
	uint32_t agent_id;
	int16_t state;			/* currentState 0..10 (cmscodes.h) */
	int16_t prev_state;		/* prevState, or CMS_CODE_NONE */
	int64_t state_seconds;		/* currentStateTime, -1 when absent or not set */
	int32_t reason;			/* currentStateReason, CMS_CODE_NONE when absent or not set */
	int64_t logon_ms;		/* logonTime (Unix ms), -1 when absent or not set */
	const char *error;		/* NULL, or why this entry is unusable */
};

/*
 * A parsed batch answer. status and reason are about the whole answer (the envelope): anything
 * but REPLY_OK fails the poll of every agent asked. Entries are sorted by agent_id; an agent that
 * was asked and has no entry is absent (a failed poll of that agent, never an empty call list).
 */
struct replybatch {
	enum reply_status status;
	char reason[REPLY_REASON_MAX];
	size_t nentries;
	struct replybatch_calls *calls;		/* queryagentcalls answers; NULL otherwise */
	struct replybatch_state *states;	/* agentstatusinfobyagentids answers; NULL otherwise */
	size_t unasked;			/* entries for agentIds not asked, left out */
	uint32_t first_unasked;		/* the first of them, for the log */
	void *arena;			/* private: what the entries point into */
};

/*
 * Parses a queryagentcalls answer to a request for asked[0..nasked) (sorted, unique). An entry
 * with a wrong type, a bad call ID or an unknown shape gets its own error; an agentId listed
 * twice makes both entries errors. An element no agent can own (not an object, agentId missing
 * or not an integer 0..4294967295) and more than 2 * nasked elements make the whole answer
 * REPLY_INVALID, with no entries. out must be released with replybatch_free, which keeps
 * status and reason.
 */
void replybatch_parse_calls(const char *body, size_t len, const uint32_t *asked, size_t nasked,
			    struct replybatch *out);
/* The same for an agentstatusinfobyagentids answer. */
void replybatch_parse_states(const char *body, size_t len, const uint32_t *asked, size_t nasked,
			     struct replybatch *out);
void replybatch_free(struct replybatch *b);

/* The entry of agent_id, or NULL when the answer left it out (binary search). */
const struct replybatch_calls *replybatch_find_calls(const struct replybatch *b, uint32_t agent_id);
const struct replybatch_state *replybatch_find_state(const struct replybatch *b, uint32_t agent_id);

#endif
