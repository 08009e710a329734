/* metrics: the daemon's counters and the agents' activity as Prometheus text exposition 0.0.4. */
#ifndef AW_METRICS_H
#define AW_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "agents.h"
#include "cms.h"
#include "diskfail.h"
#include "event.h"
#include "evlog.h"
#include "http.h"
#include "output.h"
#include "poller.h"
#include "schedule.h"
#include "webhook.h"

#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define METRICS_POLL_RESULTS (CMS_ERR_CANCELLED + 1)
#define METRICS_DURATION_BUCKETS 12	/* poll_duration_seconds le= bounds, and +Inf */

/* Which CMS interface a poll used: the api label of polls_total. */
enum metrics_api {
	METRICS_API_AGENT,	/* agent/queryagentcalls, one agent */
	METRICS_API_BATCH,	/* agentgroup/queryagentcalls */
	METRICS_API_STATE,	/* agentgroup/agentstatusinfobyagentids */
	METRICS_API_COUNT
};

/* What the daemon counts for /metrics alone (the modules keep their own *_stats). */
struct metrics_counters {
	uint64_t polls[METRICS_API_COUNT][METRICS_POLL_RESULTS];	/* completed requests */
	uint64_t duration[METRICS_DURATION_BUCKETS];	/* per bucket, not cumulative */
	double duration_sum;				/* seconds */
	uint64_t events[EVENT_TYPE_COUNT];
};

/* One completed poll request of api that took seconds (monotonic). */
void metrics_count_poll(struct metrics_counters *c, enum metrics_api api, enum cms_status status,
			double seconds);
void metrics_count_event(struct metrics_counters *c, enum event_type type);

struct metrics_webhook {
	const char *name;		/* the receiver's URL without credentials or query */
	uint64_t queue;			/* events it has still to get */
	struct webhook_stats stats;
};

/* Everything one scrape shows; the renderer only reads it. */
struct metrics_input {
	const char *version;
	const struct metrics_counters *counters;
	const struct sched_stats *sched;
	struct agent_state *const *states;
	size_t nagents;
	bool agent_metrics;		/* per-agent series */
	struct output_stats output;
	struct evlog_stats evlog;
	uint64_t evlog_bytes;		/* segment files on disk */
	uint64_t evlog_last_seq;	/* 0 before the first event */
	const struct metrics_webhook *webhooks;
	size_t nwebhooks;
	struct http_stats http;
	bool reload_failed;
	struct poller_stats poller;
	size_t cms_in_flight;		/* CMS requests under way */
	size_t webhooks_in_flight;	/* webhook deliveries under way */
	uint64_t notify_dropped;	/* sd_notify messages the service manager's socket refused */
	struct diskfail_stats disk;	/* writes state_dir refused */
};

/* The exposition text; the caller frees it. *len is its length. */
char *metrics_render(const struct metrics_input *in, size_t *len);

/* Appends value to out with \, " and newline escaped as label values need (for tests too). */
void metrics_escape_label(FILE *out, const char *value);

#endif
