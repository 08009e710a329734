/* ctlfmt: agentwatchctl's output: agents table, event lines (ctlfmt.c); status, metric text (ctlstatus.c). */
#ifndef AW_CTLFMT_H
#define AW_CTLFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <json-c/json.h>

#include "cmscodes.h"

#define CTLFMT_REASON_MAX 300	/* bytes of an error answer's reason shown */

/*
 * The reason in an error answer's body: the daemon writes "503 CMS unreachable: ...\n". Returns
 * a pointer into body and its length: the first line, up to any control character, at most
 * CTLFMT_REASON_MAX bytes.
 */
const char *ctlfmt_reason(long status, const char *body, size_t *len);

/* "45s", "12m03s", "3h02m", "2d04h"; "-" for a negative or non-finite number. */
#define CTLFMT_DURATION_LEN 48
void ctlfmt_duration(double seconds, char buf[CTLFMT_DURATION_LEN]);

/*
 * The /api/v1/agents answer's agents as a table on a terminal of width columns: a header, the
 * columns aligned, the last (calls and the reason an agent is unreachable) cut to fit. With
 * width 0 (not a terminal): one tab-separated line per agent, nothing cut, no header: agent, name,
 * state, seconds in it, reachable (yes/no), calls (id:status:seconds, comma-separated), reason;
 * "-" for what is not known.
 */
void ctlfmt_agents(FILE *out, struct json_object *agents, unsigned width);

/*
 * One event (as /api/v1/events and the stream give it, with its seq) as one readable line:
 * "TIME #SEQ CC:VDN:ID (NAME) TYPE DETAILS", the type in colour when color is set.
 */
void ctlfmt_event(FILE *out, struct json_object *event, bool color);

/*
 * Prometheus text exposition: calls fn for each sample line with its metric name, its labels'
 * text (between the braces, "" when none) and its value. Comments and malformed lines are skipped.
 */
typedef void (*ctlfmt_sample_fn)(void *ctx, const char *name, const char *labels, double value);
void ctlfmt_metrics_each(const char *text, ctlfmt_sample_fn fn, void *ctx);
/* The value of label key in a sample's labels text, unescaped, into buf; false when absent. */
bool ctlfmt_metric_label(const char *labels, const char *key, char *buf, size_t size);

struct ctlfmt_webhook {
	char *name;
	double queue, delivered, failed, dead_lettered;
};

/* What `agentwatchctl status` shows, gathered from /healthz, /api/v1/agents and /metrics. */
struct ctlfmt_status {
	bool healthy;
	char *health;				/* "ok", or /healthz's reason */
	char *version;				/* build_info; NULL when not known */
	size_t watched, busy, unreachable, calls;
	size_t states[CMS_STATE_COUNT + 1];	/* by CTI state code; the last: unknown */
	double polls_ok, polls_failed;		/* agents' calls polls, one per agent asked */
	double polls_request_failed, polls_absent, polls_entry_error;	/* why polls_failed */
	double state_polls_ok, state_polls_failed;
	struct ctlfmt_webhook *webhooks;
	size_t nwebhooks;
	char *last_error;			/* NULL: none */
};

/*
 * Fills st from /healthz's status and body, the /api/v1/agents answer (NULL: not known) and the
 * /metrics text (NULL: not known). Free with ctlfmt_status_clear.
 */
void ctlfmt_status_collect(struct ctlfmt_status *st, long health_status, const char *health_body,
			   struct json_object *agents, const char *metrics);
void ctlfmt_status_print(FILE *out, const struct ctlfmt_status *st);
/* The same as one JSON object; the caller puts it. */
struct json_object *ctlfmt_status_json(const struct ctlfmt_status *st);
void ctlfmt_status_clear(struct ctlfmt_status *st);

#endif
