/* bench/webhook.c: events/s through the event log and one webhook, and what the spool costs. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <curl/curl.h>

#include "../src/evlog.h"
#include "../src/event.h"
#include "../src/util.h"
#include "../src/webhook.h"

static const struct cfg_group group = { .line = 1, .name = "bench" };

/*
 * A realistic event as the daemon writes it: a call.ended for "json"; for "alertmanager", agent i
 * unreachable (the first half) then reachable again (the second half): one alert each.
 */
static char *sample_event(uint32_t i, uint32_t n, bool alerts)
{
	struct cfg_agent agent = { .cc = 1, .vdn = 170, .id = 101 + i % 50000, .group = &group };
	struct event ev = { .type = EVENT_CALL_ENDED, .agent = &agent, .call_id = "1605492949-1447",
			    .time_us = util_now_realtime_us(),
			    .call_first_seen_us = util_now_realtime_us() - 42000000,
			    .call_duration_us = 42000000 };
	struct json_object *obj;
	char *json;

	if (alerts) {
		agent.id = 101 + i % (n / 2);
		ev.type = i < n / 2 ? EVENT_AGENT_UNREACHABLE : EVENT_AGENT_REACHABLE;
		ev.call_id = NULL;
		ev.reason = "HTTP 503";
	}
	event_new_id(&ev);
	obj = event_to_json(&ev);
	json = xstrdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
	json_object_put(obj);
	return json;
}

struct run {
	sd_event *event;
	struct webhooks *hooks;
	uint64_t want;		/* events (or alerts) the receiver must have */
};

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct run *r = userdata;
	struct webhook_stats st;

	webhooks_get_stats(r->hooks, &st);
	if (st.delivered + st.dead_lettered >= r->want)
		sd_event_exit(r->event, 0);
	sd_event_source_set_time(s, usec + 1000);
	sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);	/* time sources are one-shot */
	return 0;
}

static double cpu_seconds(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	       ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

int main(int argc, char **argv)
{
	char err[256], secret[] = "bench-secret";
	struct run r = { 0 };
	struct cfg_webhook hook = { .format = CFG_WEBHOOK_JSON, .timeout = 30, .secret = secret,
				    .secret_len = sizeof(secret) - 1, .tls = { .verify = true } };
	struct cfg_outputs outputs = { .webhooks = &hook, .nwebhooks = 1 };
	const char *dir;
	struct evlog *log;
	unsigned n;
	uint64_t t0, t1, t2;
	double c1, c2;

	if (argc < 5 || argc > 7) {
		fprintf(stderr, "usage: webhook EVENTS BATCH_MAX STATE_DIR|- URL [MAX_IN_FLIGHT "
			"[json|alertmanager]]\n");
		return 2;
	}
	n = (unsigned)atoi(argv[1]);
	hook.batch_max = (size_t)atoi(argv[2]);
	dir = strcmp(argv[3], "-") ? argv[3] : NULL;
	hook.url = argv[4];
	hook.max_in_flight = argc > 5 ? (size_t)atoi(argv[5]) : 0;
	if (argc > 6 && strcmp(argv[6], "alertmanager") == 0)
		hook.format = CFG_WEBHOOK_ALERTMANAGER;
	r.want = n;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	sd_event_default(&r.event);
	log = evlog_open(dir, err, sizeof(err));
	if (!log) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	r.hooks = webhooks_new(r.event, log, dir);
	webhooks_configure(r.hooks, &outputs);

	/* The spool: accepting events with the receiver not yet asked (as when it is down). */
	t0 = util_now_monotonic_us();
	for (unsigned i = 0; i < n; i++) {
		char *json = sample_event(i, n, hook.format == CFG_WEBHOOK_ALERTMANAGER);

		evlog_append(log, json, strlen(json));
		free(json);
	}
	evlog_sync(log);
	t1 = util_now_monotonic_us();
	c1 = cpu_seconds();

	/* Delivery: until the receiver has acknowledged every event. */
	sd_event_add_time_relative(r.event, NULL, CLOCK_MONOTONIC, 1000, 1000, on_tick, &r);
	webhooks_kick(r.hooks);
	sd_event_loop(r.event);
	t2 = util_now_monotonic_us();
	c2 = cpu_seconds();

	printf("%s events %u batch_max %zu max_in_flight %s spool %s: accepted %.0f events/s, "
	       "delivered %.0f events/s in %.2f s, CPU %.2f s\n",
	       hook.format == CFG_WEBHOOK_ALERTMANAGER ? "alertmanager" : "json", n, hook.batch_max,
	       argc > 5 ? argv[5] : "default", dir ? "disk" : "memory",
	       n / ((double)(t1 - t0) / 1e6), n / ((double)(t2 - t1) / 1e6),
	       (double)(t2 - t1) / 1e6, c2 - c1);
	webhooks_free(r.hooks);
	evlog_close(log);
	sd_event_unref(r.event);
	curl_global_cleanup();
	return 0;
}
