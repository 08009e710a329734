/* test_metrics: the Prometheus exposition text, its names, escaping, histograms; promtool agrees. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/cmscodes.h"
#include "../src/metrics.h"
#include "../src/util.h"
#include "check.h"

static const struct cfg_group alice_group = { .name = "al\"i\\ce\nX" };
static const struct cfg_agent alice = { .cc = 1, .vdn = 170, .id = 1099, .group = &alice_group };
static const struct cfg_agent bob = { .cc = 2, .vdn = 5000, .id = 70000 };
static const struct cfg_agent carol = { .cc = 2, .vdn = 5000, .id = 70001 };
static const struct cfg_agent dave = { .cc = 2, .vdn = 5000, .id = 70002 };

static bool has_line(const char *text, const char *line)
{
	size_t n = strlen(line);

	for (const char *p = text; (p = strstr(p, line)); p++)
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return true;
	return false;
}

#define CHECK_LINE(text, line) do { \
	check_count++; \
	if (!has_line((text), (line))) { \
		check_failures++; \
		fprintf(stderr, "%s:%d: no line \"%s\"\n", __FILE__, __LINE__, (line)); \
	} \
} while (0)

/* Every sample's family was announced with HELP and TYPE before it. */
static void check_families(const char *text)
{
	char *copy = xstrdup(text), *save = NULL, *announced = xstrdup("");

	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char name[128], *tmp;

		if (sscanf(line, "# TYPE %127s", name) == 1) {
			tmp = xasprintf("%s|%s|", announced, name);
			free(announced);
			announced = tmp;
			continue;
		}
		if (line[0] == '#')
			continue;
		sscanf(line, "%127[a-zA-Z0-9_:]", name);
		tmp = xasprintf("|%s|", name);
		for (const char *suffix = "_bucket\0_sum\0_count\0"; !strstr(announced, tmp) && *suffix;
		     suffix += strlen(suffix) + 1) {
			char *base = xstrdup(name);
			size_t n = strlen(base), k = strlen(suffix);

			if (n > k && strcmp(base + n - k, suffix) == 0) {
				base[n - k] = '\0';
				free(tmp);
				tmp = xasprintf("|%s|", base);
			}
			free(base);
		}
		check_count++;
		if (!strstr(announced, tmp)) {
			check_failures++;
			fprintf(stderr, "sample before its TYPE: %s\n", line);
		}
		free(tmp);
	}
	free(copy);
	free(announced);
}

static void check_promtool(const char *text)
{
	FILE *p = popen("promtool check metrics", "w");

	CHECK(p != NULL);
	if (!p)
		return;
	fputs(text, p);
	CHECK_INT(pclose(p), 0);
}

static void test_escape(void)
{
	char *out = NULL;
	size_t len;
	FILE *f = open_memstream(&out, &len);

	metrics_escape_label(f, "a\"b\\c\nd");
	fclose(f);
	CHECK_STR(out, "a\\\"b\\\\c\\nd");
	free(out);
}

static void test_render(void)
{
	struct metrics_counters counters = { 0 }, *cp = &counters;
	struct sched_stats *st = xcalloc(1, sizeof(*st));
	/* Two calls from the batch interface (inbound phone, outbound media 77), one without. */
	struct agent_call acalls[] = { { .id = "1", .direction = 0, .media = 5 },
				       { .id = "2", .direction = 1, .media = 77 } };
	struct agent_call ccalls[] = { { .id = "3", .direction = 0, .media = 5 },
				       { .id = "4", .direction = CMS_CODE_NONE, .media = CMS_CODE_NONE } };
	struct agent_state a = { .cfg = &alice, .calls = acalls, .ncalls = 2, .cti = { .code = 5 } };
	struct agent_state b = { .cfg = &bob, .unreachable = true, .cti = { .code = CMS_CODE_NONE } };
	struct agent_state c = { .cfg = &carol, .calls = ccalls, .ncalls = 2, .cti = { .code = 5 } };
	struct agent_state d = { .cfg = &dave, .cti = { .code = 42 } };
	struct agent_state *states[] = { &a, &b, &c, &d };
	struct metrics_webhook hooks[] = {
		{ "https://hooks.example/x", 7, { .delivered = 5, .attempts_failed = 1,
						  .dead_lettered = 2, .lost = 3, .dropped = 11 } },
	};
	struct metrics_input in = {
		.version = "1.2.3", .counters = cp, .sched = st, .states = states, .nagents = 4,
		.webhooks = hooks, .nwebhooks = 1, .evlog_bytes = 4096, .evlog_last_seq = 42,
		.output = { .events = 9, .stdout_dropped = 4, .journal_failed = 1, .syslog_dropped = 6 },
		.evlog = { .appended = 42, .write_failures = 8, .syncs = 3, .sync_failures = 2,
			   .held = 6, .lost = 7 },
		.http = { .requests = 10, .streams = 2, .streams_cut = 1 },
		.poller = { .calls_by = { 20, 2, 1, 1 }, .state_by = { 9, 3, 0, 1 }, .unasked = 4 },
		.cms_in_flight = 3, .webhooks_in_flight = 1, .notify_dropped = 12,
		.disk = { .failing = 1, .failures = 5 },
	};
	size_t len;
	char *text;

	metrics_count_poll(cp, METRICS_API_AGENT, CMS_OK, 0.004);
	metrics_count_poll(cp, METRICS_API_AGENT, CMS_OK, 0.2);
	metrics_count_poll(cp, METRICS_API_AGENT, CMS_ERR_TIMEOUT, 30);
	metrics_count_event(cp, EVENT_CALL_STARTED);
	metrics_count_event(cp, EVENT_CALL_STARTED);
	st->started = 3;
	st->late_ms[0] = 2;
	st->late_ms[7] = 1;
	st->skipped = 5;

	text = metrics_render(&in, &len);
	CHECK_INT(len, strlen(text));
	CHECK_LINE(text, "# TYPE agentwatchd_polls_total counter");
	CHECK_LINE(text, "agentwatchd_polls_total{api=\"agent\",result=\"ok\"} 2");
	CHECK_LINE(text, "agentwatchd_polls_total{api=\"agent\",result=\"timeout\"} 1");
	CHECK(!strstr(text, "result=\"cancelled\""));
	CHECK_LINE(text, "# TYPE agentwatchd_poll_duration_seconds histogram");
	CHECK_LINE(text, "agentwatchd_poll_duration_seconds_bucket{le=\"0.005\"} 1");
	CHECK_LINE(text, "agentwatchd_poll_duration_seconds_bucket{le=\"0.1\"} 1");
	CHECK_LINE(text, "agentwatchd_poll_duration_seconds_bucket{le=\"0.25\"} 2");
	CHECK_LINE(text, "agentwatchd_poll_duration_seconds_bucket{le=\"10\"} 2");
	CHECK_LINE(text, "agentwatchd_poll_duration_seconds_bucket{le=\"+Inf\"} 3");
	CHECK_LINE(text, "agentwatchd_poll_duration_seconds_count 3");
	CHECK_LINE(text, "agentwatchd_poll_duration_seconds_sum 30.204");
	CHECK_LINE(text, "agentwatchd_poll_lateness_seconds_bucket{le=\"0.001\"} 2");
	CHECK_LINE(text, "agentwatchd_poll_lateness_seconds_bucket{le=\"0.005\"} 2");
	CHECK_LINE(text, "agentwatchd_poll_lateness_seconds_bucket{le=\"0.01\"} 3");
	CHECK_LINE(text, "agentwatchd_poll_lateness_seconds_count 3");
	CHECK_LINE(text, "agentwatchd_poll_slots_skipped_total 5");
	CHECK_LINE(text, "agentwatchd_events_total{type=\"call.started\"} 2");
	CHECK_LINE(text, "agentwatchd_events_total{type=\"agent.reachable\"} 0");
	CHECK_LINE(text, "agentwatchd_agents_watched 4");
	CHECK_LINE(text, "agentwatchd_agents_busy 2");
	CHECK_LINE(text, "agentwatchd_agents_unreachable 1");
	CHECK_LINE(text, "# TYPE agentwatchd_agents gauge");
	CHECK_LINE(text, "agentwatchd_agents{state=\"talking\"} 2");
	CHECK_LINE(text, "agentwatchd_agents{state=\"unknown\"} 2");
	CHECK_LINE(text, "agentwatchd_agents{state=\"signed_out\"} 0");
	CHECK_LINE(text, "agentwatchd_agents{state=\"adjusting\"} 0");
	CHECK_LINE(text, "agentwatchd_agents{state=\"rest\"} 0");
	CHECK_LINE(text, "# TYPE agentwatchd_calls_active gauge");
	CHECK(strstr(text, "agentwatchd_calls_active{direction=\"unknown\",media=\"unknown\"} 1\n"
		  "agentwatchd_calls_active{direction=\"inbound\",media=\"phone\"} 2\n"
		  "agentwatchd_calls_active{direction=\"outbound\",media=\"77\"} 1\n# HELP") != NULL);
	CHECK(!strstr(text, "agentwatchd_agent_state_code"));
	CHECK_LINE(text, "agentwatchd_webhook_queue_events{webhook=\"https://hooks.example/x\"} 7");
	CHECK_LINE(text, "agentwatchd_webhook_deliveries_total{webhook=\"https://hooks.example/x\","
			 "result=\"delivered\"} 5");
	CHECK_LINE(text, "agentwatchd_webhook_deliveries_total{webhook=\"https://hooks.example/x\","
			 "result=\"failed\"} 1");
	CHECK_LINE(text, "agentwatchd_webhook_deliveries_total{webhook=\"https://hooks.example/x\","
			 "result=\"dead_lettered\"} 2");
	CHECK_LINE(text, "agentwatchd_webhook_events_lost_total{webhook=\"https://hooks.example/x\"} 3");
	CHECK_LINE(text, "agentwatchd_output_dropped_total{output=\"stdout\"} 4");
	CHECK_LINE(text, "agentwatchd_output_dropped_total{output=\"syslog\"} 6");
	CHECK_LINE(text, "agentwatchd_output_dropped_total{output=\"journal\"} 1");
	CHECK_LINE(text, "agentwatchd_eventlog_bytes 4096");
	CHECK_LINE(text, "agentwatchd_eventlog_write_failures_total 8");
	CHECK_LINE(text, "agentwatchd_eventlog_records_total 42");
	CHECK_LINE(text, "agentwatchd_build_info{version=\"1.2.3\"} 1");
	CHECK_LINE(text, "agentwatchd_http_streams_cut_total 1");
	/* Every counter SIGUSR1 logs is here too. */
	CHECK_LINE(text, "# TYPE agentwatchd_agent_polls_total counter");
	CHECK_LINE(text, "agentwatchd_agent_polls_total{poll=\"calls\",result=\"ok\"} 20");
	CHECK_LINE(text, "agentwatchd_agent_polls_total{poll=\"calls\",result=\"request_failed\"} 2");
	CHECK_LINE(text, "agentwatchd_agent_polls_total{poll=\"calls\",result=\"absent\"} 1");
	CHECK_LINE(text, "agentwatchd_agent_polls_total{poll=\"calls\",result=\"entry_error\"} 1");
	CHECK_LINE(text, "agentwatchd_agent_polls_total{poll=\"state\",result=\"ok\"} 9");
	CHECK_LINE(text, "agentwatchd_agent_polls_total{poll=\"state\",result=\"request_failed\"} 3");
	CHECK_LINE(text, "agentwatchd_agent_polls_total{poll=\"state\",result=\"absent\"} 0");
	CHECK_LINE(text, "agentwatchd_agent_polls_total{poll=\"state\",result=\"entry_error\"} 1");
	CHECK_LINE(text, "agentwatchd_batch_entries_unasked_total 4");
	CHECK_LINE(text, "# TYPE agentwatchd_cms_requests_in_flight gauge");
	CHECK_LINE(text, "agentwatchd_cms_requests_in_flight 3");
	CHECK_LINE(text, "agentwatchd_webhook_events_dropped_total{webhook=\"https://hooks.example/x\"} 11");
	CHECK_LINE(text, "agentwatchd_webhook_deliveries_in_flight 1");
	CHECK_LINE(text, "agentwatchd_sd_notify_dropped_total 12");
	CHECK_LINE(text, "agentwatchd_eventlog_sync_failures_total 2");
	CHECK_LINE(text, "# TYPE agentwatchd_eventlog_records_held gauge");
	CHECK_LINE(text, "agentwatchd_eventlog_records_held 6");
	CHECK_LINE(text, "agentwatchd_eventlog_records_lost_total 7");
	CHECK_LINE(text, "agentwatchd_state_dir_write_failures_total 5");
	CHECK_LINE(text, "# TYPE agentwatchd_state_dir_files_failing gauge");
	CHECK_LINE(text, "agentwatchd_state_dir_files_failing 1");
	CHECK(!strstr(text, "agentwatchd_agent_calls"));
	check_families(text);
	check_promtool(text);
	free(text);

	in.agent_metrics = true;
	text = metrics_render(&in, &len);
	CHECK_LINE(text, "agentwatchd_agent_calls{cc=\"1\",vdn=\"170\",agent=\"1099\","
			 "name=\"al\\\"i\\\\ce\\nX\"} 2");
	CHECK_LINE(text, "agentwatchd_agent_calls{cc=\"2\",vdn=\"5000\",agent=\"70000\",name=\"\"} 0");
	CHECK_LINE(text, "agentwatchd_agent_reachable{cc=\"2\",vdn=\"5000\",agent=\"70000\",name=\"\"} 0");
	CHECK_LINE(text, "agentwatchd_agent_reachable{cc=\"1\",vdn=\"170\",agent=\"1099\","
			 "name=\"al\\\"i\\\\ce\\nX\"} 1");
	CHECK_LINE(text, "# TYPE agentwatchd_agent_state_code gauge");
	CHECK_LINE(text, "agentwatchd_agent_state_code{cc=\"1\",vdn=\"170\",agent=\"1099\","
			 "name=\"al\\\"i\\\\ce\\nX\"} 5");
	CHECK_LINE(text, "agentwatchd_agent_state_code{cc=\"2\",vdn=\"5000\",agent=\"70000\",name=\"\"} -1");
	CHECK_LINE(text, "agentwatchd_agent_state_code{cc=\"2\",vdn=\"5000\",agent=\"70002\",name=\"\"} 42");
	check_families(text);
	check_promtool(text);
	free(text);
	free(st);
}

int main(void)
{
	test_escape();
	test_render();
	return check_done("test_metrics");
}
