/* api: the HTTP paths: /, /healthz, /metrics, /api/v1/agents, /api/v1/events and its SSE stream. */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "api.h"
#include "diskfail.h"
#include "http.h"
#include "log.h"
#include "notify.h"
#include "util.h"
#include "wallboard.h"

#define JSON_TYPE "application/json"
#define EVENTS_LIMIT_DEFAULT 100

struct stream {
	struct api *api;
	struct evlog_cursor cursor;
	char *pending;			/* one frame not yet handed over */
	size_t pending_len, pending_off;
	bool ping;
	struct stream *prev, *next;
};

struct api {
	struct http_server *http;
	api_view_fn view_fn;
	void *view_ctx;
	bool agent_metrics;
	sd_event_source *ping_timer;
	sd_event_source *kick_timer;	/* armed while new events wait for the streams */
	struct stream *streams;
};

static void view(struct api *api, struct api_view *v)
{
	memset(v, 0, sizeof *v);
	api->view_fn(api->view_ctx, v);
	v->now_us = util_now_monotonic_us();
}

/* ---- /healthz ---- */

static void get_healthz(struct api *api, struct http_req *req)
{
	struct api_view v;
	char reason[APIVIEW_REASON_MAX + 64];

	view(api, &v);
	if (api_health_problem(&v, reason, sizeof reason))
		http_reply_text(req, 503, "%s", reason);
	else
		http_reply(req, 200, "text/plain; charset=utf-8", xstrdup("ok\n"), 3);
}

/* ---- /metrics ---- */

/* The segment files' bytes: the log's own business, but a directory listing costs little. */
static uint64_t eventlog_bytes(const char *dir)
{
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *e;
	struct stat st;
	uint64_t sum = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)))
		if (strncmp(e->d_name, "events-", 7) == 0 && strstr(e->d_name, ".log") &&
		    fstatat(dirfd(d), e->d_name, &st, 0) == 0)
			sum += (uint64_t)st.st_size;
	closedir(d);
	return sum;
}

static void get_metrics(struct api *api, struct http_req *req)
{
	struct metrics_input in = { .version = PACKAGE_VERSION, .agent_metrics = api->agent_metrics };
	struct metrics_webhook *w;
	struct api_view v;
	size_t len;
	char *text;

	view(api, &v);
	in.counters = v.counters;
	in.sched = sched_get_stats(v.sched);
	in.states = v.states;
	in.nagents = v.nagents;
	output_get_stats(v.output, &in.output);
	evlog_get_stats(v.log, &in.evlog);
	in.evlog_bytes = eventlog_bytes(v.state_dir);
	in.evlog_last_seq = evlog_next_seq(v.log) - 1;
	in.nwebhooks = webhooks_count(v.webhooks);
	in.webhooks = w = xcalloc(in.nwebhooks, sizeof(*w));
	for (size_t i = 0; i < in.nwebhooks; i++)
		w[i].name = webhooks_receiver(v.webhooks, i, &w[i].queue, &w[i].stats);
	http_get_stats(api->http, &in.http);
	in.reload_failed = v.reload_failed;
	in.poller = *v.poller;
	in.cms_in_flight = v.cms_in_flight;
	in.webhooks_in_flight = webhooks_in_flight(v.webhooks);
	in.notify_dropped = notify_dropped();
	diskfail_get_stats(&in.disk);
	text = metrics_render(&in, &len);
	free(w);
	http_reply(req, 200, METRICS_CONTENT_TYPE, text, len);
}

/* ---- /api/v1/agents ---- */

static int compare_key(const void *key, const void *elem)
{
	const struct cfg_agent *a = (*(struct agent_state *const *)elem)->cfg;
	uint64_t k = *(const uint64_t *)key, e = cfg_agent_key(a->cc, a->vdn, a->id);

	return k < e ? -1 : k > e;
}

static void get_agent(struct api *api, struct http_req *req, const char *id_text)
{
	struct agent_state *const *found;
	struct agents_clock now;
	uint32_t cc, vdn, id;
	struct api_view v;
	char *text = NULL;
	uint64_t key;
	size_t len;
	FILE *out;

	if (api_parse_agent_id(id_text, &cc, &vdn, &id) < 0) {
		http_reply_text(req, 400, "'%.64s' is not an agent CC:VDN:ID", id_text);
		return;
	}
	view(api, &v);
	key = cfg_agent_key(cc, vdn, id);
	found = bsearch(&key, v.states, v.nagents, sizeof(v.states[0]), compare_key);
	if (!found) {
		http_reply_text(req, 404, "agent %u:%u:%u is not watched", cc, vdn, id);
		return;
	}
	out = open_memstream(&text, &len);
	if (!out)
		abort();
	agents_clock_read(&now);
	api_agent_write(out, *found, &now);
	fputc('\n', out);
	if (fclose(out) != 0)
		abort();
	http_reply(req, 200, JSON_TYPE, text, len);
}

struct filter_parse {
	struct api_filter f;
	char *error;
};

static void filter_arg(void *ctx, const char *key, const char *value)
{
	struct filter_parse *p = ctx;
	const char *why;

	if (!p->error && (why = api_filter_add(&p->f, key, value)))
		p->error = xasprintf("%.64s: %s", key, why);
}

static void get_agents(struct api *api, struct http_req *req)
{
	struct filter_parse p = { .error = NULL };
	struct agents_clock now;
	struct api_view v;
	size_t len;
	char *text;

	api_filter_init(&p.f);
	http_query_each(req, filter_arg, &p);
	if (p.error) {
		http_reply_text(req, 400, "%s", p.error);
	} else {
		view(api, &v);
		agents_clock_read(&now);
		text = api_agents_json(v.states, v.nagents, &p.f, &now, &len);
		http_reply(req, 200, JSON_TYPE, text, len);
	}
	free(p.error);
	api_filter_clear(&p.f);
}

/* ---- /api/v1/events ---- */

struct events_args {
	uint64_t after;
	bool after_set;
	size_t limit;
	char *error;
};

static void events_arg(void *ctx, const char *key, const char *value)
{
	struct events_args *a = ctx;
	uint64_t n;

	if (a->error)
		return;
	if (strcmp(key, "after") == 0 && value && api_parse_seq(value, &a->after) == 0)
		a->after_set = true;
	else if (strcmp(key, "limit") == 0 && value && api_parse_seq(value, &n) == 0 && n >= 1 &&
		 n <= API_EVENTS_LIMIT_MAX)
		a->limit = (size_t)n;
	else if (strcmp(key, "after") == 0)
		a->error = xstrdup("after: must be a sequence number");
	else if (strcmp(key, "limit") == 0)
		a->error = xasprintf("limit: must be 1..%d", API_EVENTS_LIMIT_MAX);
	else
		a->error = xasprintf("%.64s: is not a parameter (after, limit)", key);
}

static void get_events(struct api *api, struct http_req *req)
{
	struct events_args a = { .limit = EVENTS_LIMIT_DEFAULT };
	struct api_view v;
	size_t len;
	char *text;

	http_query_each(req, events_arg, &a);
	if (a.error) {
		http_reply_text(req, 400, "%s", a.error);
		free(a.error);
		return;
	}
	view(api, &v);
	text = api_events_json(v.log, a.after, a.limit, &len);
	http_reply(req, 200, JSON_TYPE, text, len);
}

/* ---- /api/v1/events/stream ---- */

static struct evlog *stream_log(struct api *api)
{
	struct api_view v;

	view(api, &v);
	return v.log;
}

/* Formats the next frame into pending; false when there is none yet. */
static bool next_frame(struct stream *s, struct evlog *log)
{
	const char *json;
	size_t len;
	uint64_t seq;
	FILE *out;

	free(s->pending);
	s->pending = NULL;
	s->pending_len = s->pending_off = 0;
	if (evlog_peek(log, &s->cursor, &json, &len, &seq) != 1) {
		if (!s->ping)
			return false;
		s->ping = false;
		s->pending = xstrdup(": ping\n\n");
		s->pending_len = strlen(s->pending);
		return true;
	}
	out = open_memstream(&s->pending, &s->pending_len);
	if (!out)
		abort();
	if (seq > s->cursor.seq)
		fprintf(out, ": %" PRIu64 " events are gone from the log\n", seq - s->cursor.seq);
	fprintf(out, "id: %" PRIu64 "\ndata: ", seq);
	api_event_with_seq(out, seq, json, len);
	fputs("\n\n", out);
	if (fclose(out) != 0)
		abort();
	evlog_advance(log, &s->cursor, seq);
	s->ping = false;
	return true;
}

static ssize_t stream_read(void *ctx, char *buf, size_t size)
{
	struct stream *s = ctx;
	struct evlog *log = stream_log(s->api);
	size_t n = 0, k;

	if (evlog_next_seq(log) - s->cursor.seq > API_STREAM_BACKLOG_MAX) {
		log_info("http: an event stream fell %" PRIu64 " events behind: cut off",
			 evlog_next_seq(log) - s->cursor.seq);
		return -1;
	}
	while (n < size) {
		if (s->pending_off == s->pending_len && !next_frame(s, log))
			break;
		k = s->pending_len - s->pending_off;
		k = k < size - n ? k : size - n;
		memcpy(buf + n, s->pending + s->pending_off, k);
		s->pending_off += k;
		n += k;
	}
	return (ssize_t)n;
}

static void stream_free(void *ctx)
{
	struct stream *s = ctx;

	if (s->prev)
		s->prev->next = s->next;
	else
		s->api->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	free(s->pending);
	free(s);
}

static void get_stream(struct api *api, struct http_req *req)
{
	const char *last = http_header(req, "Last-Event-ID"), *after = http_query(req, "after");
	struct evlog *log = stream_log(api);
	struct stream *s;
	uint64_t seq = 0;

	if ((after && api_parse_seq(after, &seq) < 0) || (last && api_parse_seq(last, &seq) < 0)) {
		http_reply_text(req, 400, "%s: must be a sequence number",
				last ? "Last-Event-ID" : "after");
		return;
	}
	s = xcalloc(1, sizeof(*s));
	s->api = api;
	/* Last-Event-ID wins: it is where a reconnecting EventSource really is. */
	if (last || after)
		s->cursor = (struct evlog_cursor){ .seq = seq + 1 };
	else
		s->cursor = evlog_end(log);
	s->pending = xstrdup(": agentwatchd events\n\n");	/* headers go out at once */
	s->pending_len = strlen(s->pending);
	s->next = api->streams;
	if (s->next)
		s->next->prev = s;
	api->streams = s;
	http_reply_stream(req, "text/event-stream", stream_read, stream_free, s);
}

/* ---- routing ---- */

static void handle(void *ctx, struct http_req *req)
{
	struct api *api = ctx;
	const char *path = http_path(req);

	if (strcmp(path, "/healthz") == 0)
		get_healthz(api, req);
	else if (strcmp(path, "/metrics") == 0)
		get_metrics(api, req);
	else if (strcmp(path, "/api/v1/agents") == 0)
		get_agents(api, req);
	else if (strncmp(path, "/api/v1/agents/", 15) == 0)
		get_agent(api, req, path + 15);
	else if (strcmp(path, "/api/v1/events") == 0)
		get_events(api, req);
	else if (strcmp(path, "/api/v1/events/stream") == 0)
		get_stream(api, req);
	else if (!wallboard_serve(req, path))
		http_reply_text(req, 404, "no such path (try /, /healthz, /metrics, /api/v1/agents, "
				"/api/v1/events, /api/v1/events/stream)");
}

/* Idle streams get a comment now and then: proxies and clients see the connection alive. */
static int on_ping(sd_event_source *source, uint64_t usec, void *userdata)
{
	struct api *api = userdata;

	for (struct stream *s = api->streams; s; s = s->next)
		s->ping = true;
	http_wake_streams(api->http);
	sd_event_source_set_time(source, usec + API_STREAM_PING_US);
	sd_event_source_set_enabled(source, SD_EVENT_ONESHOT);
	return 0;
}

static int on_kick(sd_event_source *source, uint64_t usec, void *userdata)
{
	struct api *api = userdata;

	(void)source;
	(void)usec;
	http_wake_streams(api->http);
	return 0;
}

struct api *api_new(sd_event *event, api_view_fn view_fn, void *ctx)
{
	struct api *api = xcalloc(1, sizeof(*api));

	api->view_fn = view_fn;
	api->view_ctx = ctx;
	api->http = http_new(event, handle, api);
	sd_event_add_time_relative(event, &api->ping_timer, CLOCK_MONOTONIC, API_STREAM_PING_US,
				   100000, on_ping, api);
	sd_event_add_time(event, &api->kick_timer, CLOCK_MONOTONIC, 0, 10000, on_kick, api);
	sd_event_source_set_enabled(api->kick_timer, SD_EVENT_OFF);
	return api;
}

int api_configure(struct api *api, const struct cfg_http *cfg)
{
	api->agent_metrics = cfg->agent_metrics;
	return http_configure(api->http, cfg);
}

/* Every poll that emits events kicks: waking 50 streams each time would cost a send per stream
 * per poll, so the wake-ups are gathered. */
void api_kick(struct api *api)
{
	int enabled = SD_EVENT_OFF;

	if (!api->streams || !api->kick_timer)
		return;
	sd_event_source_get_enabled(api->kick_timer, &enabled);
	if (enabled != SD_EVENT_OFF)
		return;
	sd_event_source_set_time(api->kick_timer, util_now_monotonic_us() + API_STREAM_BATCH_US);
	sd_event_source_set_enabled(api->kick_timer, SD_EVENT_ONESHOT);
}

void api_free(struct api *api)
{
	if (!api)
		return;
	http_free(api->http);
	sd_event_source_disable_unref(api->ping_timer);
	sd_event_source_disable_unref(api->kick_timer);
	free(api);
}
