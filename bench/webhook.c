/* bench/webhook.c: events/s through the event log and one webhook, and what the spool costs. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "../src/evlog.h"
#include "../src/event.h"
#include "../src/util.h"
#include "../src/webhook.h"

static const struct cfg_group group = { .line = 1, .name = "bench" };

/* A realistic event: the JSON of a call.ended, as the daemon writes it. */
static char *sample_event(uint32_t i)
{
	struct cfg_agent agent = { .cc = 1, .vdn = 170, .id = 101 + i % 50000, .group = &group };
	struct event ev = { .type = EVENT_CALL_ENDED, .agent = &agent, .call_id = "1605492949-1447",
			    .time_us = util_now_realtime_us(),
			    .call_first_seen_us = util_now_realtime_us() - 42000000,
			    .call_duration_us = 42000000 };
	struct json_object *obj;
	char *json;

	event_new_id(&ev);
	obj = event_to_json(&ev);
	json = xstrdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN));
	json_object_put(obj);
	return json;
}

struct run {
	sd_event *event;
	struct evlog *log;
	struct webhooks *hooks;
};

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct run *r = userdata;

	if (webhooks_min_seq(r->hooks) == evlog_next_seq(r->log))
		sd_event_exit(r->event, 0);
	sd_event_source_set_time(s, usec + 1000);
	sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);	/* time sources are one-shot */
	return 0;
}

int main(int argc, char **argv)
{
	char err[256], secret[] = "bench-secret";
	struct run r = { 0 };
	struct cfg_webhook hook = { .format = CFG_WEBHOOK_JSON, .timeout = 10, .secret = secret,
				    .secret_len = sizeof(secret) - 1, .tls = { .verify = true } };
	struct cfg_outputs outputs = { .webhooks = &hook, .nwebhooks = 1 };
	unsigned n;
	uint64_t t0, t1, t2;

	if (argc != 5) {
		fprintf(stderr, "usage: webhook EVENTS BATCH_MAX STATE_DIR|- URL\n");
		return 2;
	}
	n = (unsigned)atoi(argv[1]);
	hook.batch_max = (size_t)atoi(argv[2]);
	hook.url = argv[4];
	curl_global_init(CURL_GLOBAL_DEFAULT);
	sd_event_default(&r.event);
	r.log = evlog_open(strcmp(argv[3], "-") ? argv[3] : NULL, err, sizeof(err));
	if (!r.log) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	r.hooks = webhooks_new(r.event, r.log, strcmp(argv[3], "-") ? argv[3] : NULL);
	webhooks_configure(r.hooks, &outputs);

	/* The spool: accepting events with the receiver not yet asked (as when it is down). */
	t0 = util_now_monotonic_us();
	for (unsigned i = 0; i < n; i++) {
		char *json = sample_event(i);

		evlog_append(r.log, json, strlen(json));
		free(json);
	}
	evlog_sync(r.log);
	t1 = util_now_monotonic_us();

	/* Delivery: until the receiver has acknowledged every event. */
	sd_event_add_time_relative(r.event, NULL, CLOCK_MONOTONIC, 1000, 1000, on_tick, &r);
	webhooks_kick(r.hooks);
	sd_event_loop(r.event);
	t2 = util_now_monotonic_us();

	printf("events %u batch_max %zu spool %s: accepted %.0f events/s, delivered %.0f events/s\n",
	       n, hook.batch_max, strcmp(argv[3], "-") ? "disk" : "memory",
	       n / ((double)(t1 - t0) / 1e6), n / ((double)(t2 - t1) / 1e6));
	webhooks_free(r.hooks);
	evlog_close(r.log);
	sd_event_unref(r.event);
	curl_global_cleanup();
	return 0;
}
