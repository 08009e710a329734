/* event: one state transition of an agent, its unique id and its JSON form. */
#ifndef AW_EVENT_H
#define AW_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "cfg.h"
#include "reply.h"

enum event_type {
	EVENT_CALL_STARTED,
	EVENT_CALL_ENDED,
	EVENT_CALL_LONG,
	EVENT_AGENT_BUSY,
	EVENT_AGENT_IDLE,
	EVENT_AGENT_UNREACHABLE,
	EVENT_AGENT_REACHABLE,
	EVENT_CALL_STATUS,		/* a call's callStatus changed (batch polling only) */
	EVENT_AGENT_STATE,		/* the agent's CTI state changed, or its first state poll */
	EVENT_AGENT_LONG_STATE,		/* in one CTI state for alerts.long_state.<state> seconds */
	EVENT_TYPE_COUNT
};

/* What the batch answer said of a call; status CMS_CODE_NONE: no detail (per-agent polling). */
struct event_call_detail {
	int16_t status;			/* callStatus (cmscodes.h) */
	int16_t previous_status;	/* call.status: the status before */
	int16_t direction;		/* callInOut */
	int32_t media;			/* mediaType */
	const char *submedia;		/* NULL when absent */
};

/* agent.state and agent.long_state. */
struct event_agent_state {
	int16_t code;			/* CTI state (cmscodes.h) */
	int16_t previous_code;		/* agent.state: CMS_CODE_NONE when initial */
	int32_t reason;			/* currentStateReason, CMS_CODE_NONE when none */
	uint64_t since_us;		/* CLOCK_REALTIME: when the state began (now - currentStateTime) */
	double threshold;		/* agent.long_state: alerts.long_state.<state>, seconds */
	uint64_t duration_us;		/* agent.long_state: time in the state, on the boot clock */
};

#define EVENT_ID_LEN 37		/* a UUID in its 36-character text form, and the NUL */

struct event {
	enum event_type type;
	char id[EVENT_ID_LEN];
	uint64_t time_us;			/* CLOCK_REALTIME */
	const struct cfg_agent *agent;
	const char *call_id;			/* call events; NULL otherwise */
	uint64_t call_first_seen_us;		/* call events: when the call was first seen */
	uint64_t call_duration_us;		/* call.ended, call.long: how long it was seen, on
						   the boot clock, so no clock step changes it */
	bool initial;				/* part of the agent's first successful poll */
	bool after_restart;			/* call.ended observed only after a daemon restart */
	unsigned ncalls;			/* agent.busy: how many calls it has */
	unsigned failures;			/* agent.unreachable: consecutive failed polls */
	const char *reason;			/* agent.unreachable: the last failure */
	struct event_call_detail detail;	/* call events */
	struct event_agent_state state;		/* agent.state, agent.long_state */
};

/* "call.started", ... */
const char *event_type_name(enum event_type type);
/* Looks up a name; returns EVENT_TYPE_COUNT when unknown. */
enum event_type event_type_from_name(const char *name);

/* Fills id with a fresh random UUID, a receiver's idempotency key. */
void event_new_id(struct event *event);

/* Seconds the call has been seen (call_duration_us in whole milliseconds), for call.ended and
 * call.long. */
double event_call_duration(const struct event *event);

/* {"cc":1,"vdn":170,"id":1099,"name":"alice","labels":{...}}; name and labels when set. */
struct json_object *event_agent_json(const struct cfg_agent *agent);

/*
 * Reads back what a restart's replay needs of a logged event (type, call_id, call_first_seen,
 * detail, state): strings point into obj, agent stays NULL. Returns 0, or -1 when obj is not an
 * event of a known type.
 */
int event_from_json(struct json_object *obj, struct event *out);

/* The event as sent to webhooks and stdout; the caller owns the result. */
struct json_object *event_to_json(const struct event *event);

/*
 * A one-line human summary, as journald's MESSAGE and syslog's msg. When it does not fit size
 * bytes it is cut between two UTF-8 characters and ends in UTF8_CUT_MARK.
 */
void event_describe(const struct event *event, char *buf, size_t size);

#endif
