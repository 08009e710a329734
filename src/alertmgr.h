/* alertmgr: events turned into Prometheus Alertmanager alerts that fire and resolve. */
#ifndef AW_ALERTMGR_H
#define AW_ALERTMGR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

/* How long Alertmanager keeps a firing alert without hearing of it again; resent well before. */
#define ALERTMGR_HOLD_US (300 * 1000000ull)
#define ALERTMGR_RESEND_US (60 * 1000000ull)

struct alertmgr_alert {
	char *key;			/* alertname and identifying labels */
	struct json_object *alert;	/* labels, annotations, startsAt */
};

/* The alerts firing now: what Alertmanager must keep hearing about, indexed by key. */
struct alertmgr_set {
	struct alertmgr_alert *v;	/* n alerts, in no particular order */
	size_t n, v_cap;
	size_t *index;			/* open addressing: position in v + 1, 0 for empty */
	size_t index_cap;		/* a power of two, at least twice n */
};

/*
 * Adds to out (a JSON array) the alerts one event fires or resolves, updating set: call.long fires
 * AgentLongCall, its call.ended resolves it; agent.unreachable fires AgentUnreachable, agent.reachable
 * resolves it; agent.long_state fires AgentLongState (one per agent, labelled with the state), the
 * agent's next agent.state resolves it. Other events add nothing. Returns how many alerts were added. now_us is
 * CLOCK_REALTIME. endsAt is never before startsAt, whatever the wall clock did: a firing alert
 * ends ALERTMGR_HOLD_US after the later of now and its start; a resolved one ends at the event's
 * time, and starts then too if it had started later.
 */
size_t alertmgr_convert(struct alertmgr_set *set, struct json_object *event,
			struct json_object *out, uint64_t now_us);

/*
 * Drops from set the alert that event fires or resolves: Alertmanager refused it for good, so it
 * is not re-sent (a refused resolve lets Alertmanager end the alert at its endsAt). Returns 1 when
 * one was dropped, else 0.
 */
size_t alertmgr_forget(struct alertmgr_set *set, struct json_object *event);

/* Every firing alert, with endsAt pushed ALERTMGR_HOLD_US past the later of now (CLOCK_REALTIME)
 * and its startsAt. */
struct json_object *alertmgr_firing(const struct alertmgr_set *set, uint64_t now_us);

/* Whether an alert is still true: its agent is watched and in that state (call_id NULL if none). */
typedef bool (*alertmgr_keep_fn)(void *ctx, const char *alertname, uint32_t cc, uint32_t vdn,
				 uint32_t id, const char *call_id);

/*
 * Drops the firing alerts that keep() no longer confirms, so that they are not re-sent. With
 * resolved (a JSON array, borrowed), each dropped alert is appended to it as resolved at now_us
 * (CLOCK_REALTIME), for the caller to send; without, Alertmanager resolves them itself at their
 * endsAt. Returns how many were dropped.
 */
size_t alertmgr_set_prune(struct alertmgr_set *set, alertmgr_keep_fn keep, void *ctx,
			  struct json_object *resolved, uint64_t now_us);

void alertmgr_set_clear(struct alertmgr_set *set);
/* The set as JSON for a state file, and back; from_json ignores malformed entries. */
struct json_object *alertmgr_set_to_json(const struct alertmgr_set *set);
void alertmgr_set_from_json(struct alertmgr_set *set, struct json_object *array);

#endif
