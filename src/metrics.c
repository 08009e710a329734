/* metrics: the daemon's counters and the agents' activity as Prometheus text exposition 0.0.4. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmscodes.h"
#include "metrics.h"
#include "util.h"

#define P "agentwatchd_"

/* Upper bounds of poll_duration_seconds buckets; the last bucket is +Inf. */
static const double duration_le[METRICS_DURATION_BUCKETS - 1] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};
/* poll_lateness_seconds bounds, in the schedule's whole milliseconds. */
static const unsigned lateness_le_ms[] = { 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000 };

void metrics_count_poll(struct metrics_counters *c, enum metrics_api api, enum cms_status status,
			double seconds)
{
	size_t b = 0;

	if ((unsigned)api < METRICS_API_COUNT && (unsigned)status < METRICS_POLL_RESULTS)
		c->polls[api][status]++;
	while (b < METRICS_DURATION_BUCKETS - 1 && seconds > duration_le[b])
		b++;
	c->duration[b]++;
	c->duration_sum += seconds;
}

void metrics_count_event(struct metrics_counters *c, enum event_type type)
{
	if ((unsigned)type < EVENT_TYPE_COUNT)
		c->events[type]++;
}

void metrics_escape_label(FILE *out, const char *value)
{
	for (; *value; value++) {
		if (*value == '\\')
			fputs("\\\\", out);
		else if (*value == '"')
			fputs("\\\"", out);
		else if (*value == '\n')
			fputs("\\n", out);
		else
			fputc(*value, out);
	}
}

static void head(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP " P "%s %s\n# TYPE " P "%s %s\n", name, help, name, type);
}

/* A whole metric of one unlabelled sample. */
static void single(FILE *out, const char *name, const char *type, const char *help, double v)
{
	head(out, name, type, help);
	fprintf(out, P "%s %.17g\n", name, v);
}

static void sample_u64(FILE *out, const char *name, const char *label, const char *value,
		       uint64_t v)
{
	fprintf(out, P "%s{%s=\"", name, label);
	metrics_escape_label(out, value);
	fprintf(out, "\"} %llu\n", (unsigned long long)v);
}

static void render_polls(FILE *out, const struct metrics_input *in)
{
	static const char *const api_names[METRICS_API_COUNT] = { "agent", "batch", "state" };
	const struct metrics_counters *c = in->counters;
	uint64_t cumulative = 0;

	head(out, "polls_total", "counter", "CMS poll requests completed, by API and result.");
	for (int a = 0; a < METRICS_API_COUNT; a++)
		for (int r = 0; r < METRICS_POLL_RESULTS; r++)
			if (r != CMS_ERR_CANCELLED)
				fprintf(out, P "polls_total{api=\"%s\",result=\"%s\"} %llu\n",
					api_names[a], cms_status_name((enum cms_status)r),
					(unsigned long long)c->polls[a][r]);
	head(out, "poll_duration_seconds", "histogram",
	     "Time from a poll's start to its answer (or failure).");
	for (int b = 0; b < METRICS_DURATION_BUCKETS; b++) {
		cumulative += c->duration[b];
		if (b < METRICS_DURATION_BUCKETS - 1)
			fprintf(out, P "poll_duration_seconds_bucket{le=\"%g\"} %llu\n", duration_le[b],
				(unsigned long long)cumulative);
		else
			fprintf(out, P "poll_duration_seconds_bucket{le=\"+Inf\"} %llu\n",
				(unsigned long long)cumulative);
	}
	fprintf(out, P "poll_duration_seconds_sum %.9g\n" P "poll_duration_seconds_count %llu\n",
		c->duration_sum, (unsigned long long)cumulative);
}

/* Agents' polls by how they ended, as the poller counts them: a batch request counts once per
 * agent it asked, so an agent left out of a successful answer shows here, not in polls_total. */
static void render_agent_polls(FILE *out, const struct metrics_input *in)
{
	static const char *const results[POLLER_RESULT_COUNT] = {
		[POLLER_OK] = "ok", [POLLER_REQUEST_FAILED] = "request_failed",
		[POLLER_ABSENT] = "absent", [POLLER_ENTRY_ERROR] = "entry_error",
	};
	const struct poller_stats *ps = &in->poller;

	head(out, "agent_polls_total", "counter",
	     "Agents' calls and state polls, one per agent asked, by poll and result.");
	for (int r = 0; r < POLLER_RESULT_COUNT; r++)
		fprintf(out, P "agent_polls_total{poll=\"calls\",result=\"%s\"} %llu\n", results[r],
			(unsigned long long)ps->calls_by[r]);
	for (int r = 0; r < POLLER_RESULT_COUNT; r++)
		fprintf(out, P "agent_polls_total{poll=\"state\",result=\"%s\"} %llu\n", results[r],
			(unsigned long long)ps->state_by[r]);
	single(out, "batch_entries_unasked_total", "counter",
	       "Entries of batch answers for agents that were not asked (ignored).",
	       (double)ps->unasked);
	single(out, "cms_requests_in_flight", "gauge", "CMS requests under way.",
	       (double)in->cms_in_flight);
}

/* From the schedule's millisecond histogram; the sum counts each poll at its bucket's middle. */
static void render_schedule(FILE *out, const struct sched_stats *st)
{
	uint64_t cumulative = 0;
	double sum = 0;
	size_t ms = 0;

	head(out, "poll_lateness_seconds", "histogram",
	     "How late polls started against their deadlines, to the millisecond.");
	for (size_t b = 0; b < ARRAY_SIZE(lateness_le_ms); b++) {
		for (; ms < lateness_le_ms[b]; ms++) {
			cumulative += st->late_ms[ms];
			sum += ((double)ms + 0.5) / 1000.0 * (double)st->late_ms[ms];
		}
		fprintf(out, P "poll_lateness_seconds_bucket{le=\"%g\"} %llu\n",
			lateness_le_ms[b] / 1000.0, (unsigned long long)cumulative);
	}
	for (; ms < SCHED_LATE_BUCKETS; ms++)
		sum += ((double)ms + 0.5) / 1000.0 * (double)st->late_ms[ms];
	fprintf(out, P "poll_lateness_seconds_bucket{le=\"+Inf\"} %llu\n" P "poll_lateness_seconds_sum "
		"%.9g\n" P "poll_lateness_seconds_count %llu\n", (unsigned long long)st->started, sum,
		(unsigned long long)st->started);
	single(out, "poll_lateness_max_seconds", "gauge", "The latest a poll has started.",
	       (double)st->max_late_us / 1e6);
	single(out, "poll_slots_skipped_total", "counter",
	       "Poll deadlines passed over because the agent's previous poll was still under way.",
	       (double)st->skipped);
}

/* A label value for a CMS code: its name, the number when it has none, "unknown" without. */
static void code_label(FILE *out, int code, const char *(*name)(int))
{
	if (code == CMS_CODE_NONE)
		fputs("unknown", out);
	else if (name(code))
		fputs(name(code), out);
	else
		fprintf(out, "%d", code);
}

/* Agents by CTI state: every state's name, and "unknown" (no state poll yet, or a code the
 * table does not name). */
static void render_states(FILE *out, const struct metrics_input *in)
{
	size_t n[CMS_STATE_COUNT + 1] = { 0 };

	for (size_t i = 0; i < in->nagents; i++) {
		int code = in->states[i]->cti.code;

		n[code >= 0 && code < CMS_STATE_COUNT ? code : CMS_STATE_COUNT]++;
	}
	head(out, "agents", "gauge", "Agents by CTI state (unknown: no state known yet).");
	for (int c = 0; c <= CMS_STATE_COUNT; c++)
		sample_u64(out, "agents", "state", c < CMS_STATE_COUNT ? cmscodes_state_name(c) :
			   CMS_STATE_UNKNOWN, n[c]);
}

struct call_kind {
	int direction, media;		/* codes, CMS_CODE_NONE without detail */
	uint64_t n;
};

/* Calls by direction and media, in code order: only the kinds there are (a handful). */
static void render_calls(FILE *out, const struct metrics_input *in)
{
	struct call_kind *kinds = NULL;
	size_t nkinds = 0, k;

	for (size_t i = 0; i < in->nagents; i++) {
		for (uint32_t j = 0; j < in->states[i]->ncalls; j++) {
			const struct agent_call *c = &in->states[i]->calls[j];

			for (k = 0; k < nkinds; k++)
				if (kinds[k].direction == c->direction && kinds[k].media == c->media)
					break;
			if (k == nkinds) {
				/* Kept sorted: the same calls always render the same text. */
				for (; k > 0 && (kinds[k - 1].direction > c->direction ||
						 (kinds[k - 1].direction == c->direction &&
						  kinds[k - 1].media > c->media)); k--)
					;
				kinds = xreallocarray(kinds, nkinds + 1, sizeof(*kinds));
				memmove(kinds + k + 1, kinds + k, (nkinds - k) * sizeof(*kinds));
				kinds[k] = (struct call_kind){ c->direction, c->media, 0 };
				nkinds++;
			}
			kinds[k].n++;
		}
	}
	head(out, "calls_active", "gauge",
	     "Calls the agents are on, by direction and media (unknown: polled without detail).");
	for (k = 0; k < nkinds; k++) {
		fputs(P "calls_active{direction=\"", out);
		code_label(out, kinds[k].direction, cmscodes_direction_name);
		fputs("\",media=\"", out);
		code_label(out, kinds[k].media, cmscodes_media_name);
		fprintf(out, "\"} %llu\n", (unsigned long long)kinds[k].n);
	}
	free(kinds);
}

static void render_agents(FILE *out, const struct metrics_input *in)
{
	size_t busy = 0, unreachable = 0;

	for (size_t i = 0; i < in->nagents; i++) {
		busy += in->states[i]->ncalls > 0;
		unreachable += in->states[i]->unreachable;
	}
	head(out, "events_total", "counter", "Events emitted, by type.");
	for (int t = 0; t < EVENT_TYPE_COUNT; t++)
		sample_u64(out, "events_total", "type", event_type_name((enum event_type)t),
			   in->counters->events[t]);
	single(out, "agents_watched", "gauge", "Agents in the configuration.", (double)in->nagents);
	single(out, "agents_busy", "gauge", "Agents with at least one call.", (double)busy);
	single(out, "agents_unreachable", "gauge", "Agents reported unreachable.",
	       (double)unreachable);
	render_states(out, in);
	render_calls(out, in);
}

/* cc, vdn, agent, name: the labels of per-agent series. */
static void agent_labels(FILE *out, const struct cfg_agent *a)
{
	fprintf(out, "{cc=\"%u\",vdn=\"%u\",agent=\"%u\",name=\"", a->cc, a->vdn, a->id);
	metrics_escape_label(out, a->group && a->group->name ? a->group->name : "");
	fputs("\"}", out);
}

static void render_per_agent(FILE *out, const struct metrics_input *in)
{
	head(out, "agent_calls", "gauge", "Calls of one agent.");
	for (size_t i = 0; i < in->nagents; i++) {
		fputs(P "agent_calls", out);
		agent_labels(out, in->states[i]->cfg);
		fprintf(out, " %u\n", in->states[i]->ncalls);
	}
	head(out, "agent_reachable", "gauge", "1 while the agent's polls succeed, 0 once unreachable.");
	for (size_t i = 0; i < in->nagents; i++) {
		fputs(P "agent_reachable", out);
		agent_labels(out, in->states[i]->cfg);
		fprintf(out, " %d\n", !in->states[i]->unreachable);
	}
	head(out, "agent_state_code", "gauge",
	     "The agent's CTI state code (cms-api.md 2.2), -1 before its first state poll.");
	for (size_t i = 0; i < in->nagents; i++) {
		fputs(P "agent_state_code", out);
		agent_labels(out, in->states[i]->cfg);
		fprintf(out, " %d\n", in->states[i]->cti.code);
	}
}

static void webhook_sample(FILE *out, const char *name, const struct metrics_webhook *w,
			   const char *result, uint64_t v)
{
	fprintf(out, P "%s{webhook=\"", name);
	metrics_escape_label(out, w->name);
	if (result)
		fprintf(out, "\",result=\"%s", result);
	fprintf(out, "\"} %llu\n", (unsigned long long)v);
}

static void render_webhooks(FILE *out, const struct metrics_input *in)
{
	const struct metrics_webhook *w = in->webhooks;

	head(out, "webhook_queue_events", "gauge", "Events a webhook receiver has still to get.");
	for (size_t i = 0; i < in->nwebhooks; i++)
		webhook_sample(out, "webhook_queue_events", &w[i], NULL, w[i].queue);
	head(out, "webhook_deliveries_total", "counter",
	     "Webhook events delivered, failed attempts, and events dead-lettered (refused for good).");
	for (size_t i = 0; i < in->nwebhooks; i++) {
		webhook_sample(out, "webhook_deliveries_total", &w[i], "delivered", w[i].stats.delivered);
		webhook_sample(out, "webhook_deliveries_total", &w[i], "failed",
			       w[i].stats.attempts_failed);
		webhook_sample(out, "webhook_deliveries_total", &w[i], "dead_lettered",
			       w[i].stats.dead_lettered);
	}
	head(out, "webhook_events_lost_total", "counter",
	     "Events gone from the event log before a receiver got them.");
	for (size_t i = 0; i < in->nwebhooks; i++)
		webhook_sample(out, "webhook_events_lost_total", &w[i], NULL, w[i].stats.lost);
	head(out, "webhook_events_dropped_total", "counter",
	     "Events dropped from a receiver's backlog past its max_backlog.");
	for (size_t i = 0; i < in->nwebhooks; i++)
		webhook_sample(out, "webhook_events_dropped_total", &w[i], NULL, w[i].stats.dropped);
	single(out, "webhook_deliveries_in_flight", "gauge", "Webhook deliveries under way.",
	       (double)in->webhooks_in_flight);
}

static void render_outputs(FILE *out, const struct metrics_input *in)
{
	single(out, "output_events_total", "counter", "Events handed to the local outputs.",
	       (double)in->output.events);
	head(out, "output_dropped_total", "counter",
	     "Events an output could not take: stdout buffer full, syslog socket full, journal error.");
	sample_u64(out, "output_dropped_total", "output", "stdout", in->output.stdout_dropped);
	sample_u64(out, "output_dropped_total", "output", "syslog", in->output.syslog_dropped);
	sample_u64(out, "output_dropped_total", "output", "journal", in->output.journal_failed);
}

static void render_eventlog(FILE *out, const struct metrics_input *in)
{
	single(out, "eventlog_bytes", "gauge", "Bytes of event log segment files in state_dir.",
	       (double)in->evlog_bytes);
	single(out, "eventlog_last_seq", "gauge", "Sequence number of the newest event.",
	       (double)in->evlog_last_seq);
	single(out, "eventlog_records_total", "counter", "Events appended to the event log.",
	       (double)in->evlog.appended);
	single(out, "eventlog_write_failures_total", "counter",
	       "Events that could not be written to state_dir (kept in memory only).",
	       (double)in->evlog.write_failures);
	single(out, "eventlog_syncs_total", "counter", "fdatasync calls on the event log.",
	       (double)in->evlog.syncs);
	single(out, "eventlog_sync_failures_total", "counter",
	       "fdatasync calls on the event log that failed (those events may not be durable).",
	       (double)in->evlog.sync_failures);
	single(out, "eventlog_records_held", "gauge",
	       "Events waiting in memory for state_dir to take them.", (double)in->evlog.held);
	single(out, "eventlog_records_lost_total", "counter",
	       "Events dropped from memory, past the held limit, before state_dir took them.",
	       (double)in->evlog.lost);
	single(out, "state_dir_write_failures_total", "counter",
	       "Writes of files in state_dir that failed.", (double)in->disk.failures);
	single(out, "state_dir_files_failing", "gauge",
	       "Files in state_dir whose last write failed.", (double)in->disk.failing);
}

static void render_self(FILE *out, const struct metrics_input *in)
{
	head(out, "build_info", "gauge", "The daemon's version, as a label; always 1.");
	sample_u64(out, "build_info", "version", in->version, 1);
	single(out, "config_last_reload_successful", "gauge",
	       "0 when the last reload was refused and the previous configuration still runs.",
	       !in->reload_failed);
	single(out, "http_requests_total", "counter", "HTTP requests answered.",
	       (double)in->http.requests);
	single(out, "http_client_errors_total", "counter", "HTTP requests answered with a 4xx status.",
	       (double)in->http.client_errors);
	single(out, "http_unauthorized_total", "counter", "HTTP requests refused with 401.",
	       (double)in->http.unauthorized);
	single(out, "http_streams", "gauge", "Server-Sent Events clients connected.",
	       (double)in->http.streams);
	single(out, "http_streams_cut_total", "counter",
	       "Server-Sent Events clients cut off for being too slow or stuck.",
	       (double)in->http.streams_cut);
	single(out, "sd_notify_dropped_total", "counter",
	       "sd_notify messages the service manager's socket did not take.",
	       (double)in->notify_dropped);
}

char *metrics_render(const struct metrics_input *in, size_t *len)
{
	char *text = NULL;
	FILE *out = open_memstream(&text, len);

	if (!out)
		abort();
	render_self(out, in);
	render_polls(out, in);
	render_agent_polls(out, in);
	render_schedule(out, in->sched);
	render_agents(out, in);
	if (in->agent_metrics)
		render_per_agent(out, in);
	render_webhooks(out, in);
	render_outputs(out, in);
	render_eventlog(out, in);
	if (fclose(out) != 0 || !text)
		abort();
	return text;
}
