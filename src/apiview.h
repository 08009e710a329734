/* apiview: the HTTP API's answers built from what the daemon knows: health, agents, event pages. */
#ifndef AW_APIVIEW_H
#define AW_APIVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "agents.h"
#include "cfg.h"
#include "cms.h"
#include "evlog.h"
#include "metrics.h"
#include "output.h"
#include "schedule.h"
#include "webhook.h"

#define APIVIEW_REASON_MAX 200

/* Whether the polls reach the CMS, for /healthz. */
struct api_health {
	uint64_t reached_us;		/* CLOCK_MONOTONIC: the last poll the CMS answered; 0 never */
	bool failed;			/* a poll failed to reach it (or was refused) */
	enum cms_status last_failure;
	char reason[APIVIEW_REASON_MAX];
};

/* Records one completed poll at now_us (CLOCK_MONOTONIC). */
void api_health_poll(struct api_health *h, const struct cms_result *res, uint64_t now_us);

/* What the daemon lends the API for one request; the pointers change at a reload. */
struct api_view {
	const struct cfg *cfg;
	struct agent_state *const *states;	/* sorted by key */
	size_t nagents;
	struct evlog *log;
	const char *state_dir;			/* in use; NULL without, or when unusable */
	const struct sched *sched;
	const struct output *output;
	const struct webhooks *webhooks;
	const struct metrics_counters *counters;
	const struct api_health *health;
	bool reload_failed;
	uint64_t now_us;			/* CLOCK_MONOTONIC, when the view was taken */
	const struct poller_stats *poller;
	size_t cms_in_flight;			/* CMS requests under way */
};

/* NULL while healthy; otherwise why not, one line, in buf. */
const char *api_health_problem(const struct api_view *v, char *buf, size_t size);

/*
 * Whether one webhook receiver's backlog (queue events behind, dropped since start) is past its
 * max_backlog (0: no cap): past it, or cut back to it and not caught up since. Writes the reason
 * to buf then; false while it keeps up.
 */
bool api_backlog_problem(const char *name, uint64_t queue, uint64_t dropped, size_t max_backlog,
			 char *buf, size_t size);

/* ?busy=1&unreachable=1&state=rest&label.team=billing: all must hold. */
/*
 * ?state=unknown: agents whose CTI state is not known (no state poll yet, or none for them) or
 * has no name, as agentwatchd_agents{state="unknown"} counts them.
 */
#define API_FILTER_STATE_UNKNOWN (-2)

struct api_filter {
	int busy;			/* -1: either, 0 or 1 */
	int unreachable;
	int state;			/* a CTI state code, API_FILTER_STATE_UNKNOWN, or
					   CMS_CODE_NONE: any */
	const char **label_keys;	/* borrowed from the request */
	const char **label_values;
	size_t nlabels;
	char why[200];			/* api_filter_add's answer when it names the value */
};

void api_filter_init(struct api_filter *f);
/*
 * Adds one query argument; returns NULL, or what is wrong with it (valid until the next call).
 * A key given before (busy, unreachable, state or the same label.NAME) is wrong.
 */
const char *api_filter_add(struct api_filter *f, const char *key, const char *value);
bool api_filter_match(const struct api_filter *f, const struct agent_state *st);
void api_filter_clear(struct api_filter *f);

/* "CC:VDN:ID" in decimal; returns 0 or -1 when it is not of that form. */
int api_parse_agent_id(const char *text, uint32_t *cc, uint32_t *vdn, uint32_t *id);

/*
 * One agent as a JSON object, as /api/v1/agents shows it: a call's since is its wall-clock first
 * sighting, its duration observed time on the boot clock (a clock step changes neither); the
 * same for the CTI state's state_since and state_duration. Codes the CMS gave show by name
 * (cmscodes.h), or as the number itself when they have none.
 */
void api_agent_write(FILE *out, const struct agent_state *st, const struct agents_clock *now);
/* {"agents":[...]} of those f lets through; the caller frees the text, *len its length. */
char *api_agents_json(struct agent_state *const *states, size_t n, const struct api_filter *f,
		      const struct agents_clock *now, size_t *len);

/* Parses a decimal sequence number (after=, Last-Event-ID); returns 0 or -1. */
int api_parse_seq(const char *text, uint64_t *seq);

/*
 * {"events":[{"seq":N,...},...],"next_after":S,"last_seq":L[,"lost":K]}: at most limit events
 * with seq > after, oldest first; lost counts those gone from the log. The caller frees it.
 */
char *api_events_json(struct evlog *log, uint64_t after, size_t limit, size_t *len);

/* An event record as one JSON object with its seq first; false when json is not an object. */
bool api_event_with_seq(FILE *out, uint64_t seq, const char *json, size_t len);

#endif
