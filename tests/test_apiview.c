/* test_apiview: the API's JSON (agents, filters, event pages), agent ids, sequence numbers, health. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/apiview.h"
#include "../src/cmscodes.h"
#include "../src/event.h"
#include "../src/util.h"
#include "check.h"

#define SEC 1000000ull
#define T0 (1764000000ull * SEC)	/* 2025-11-24T16:00:00Z */
#define BOOT0 (3600 * (int64_t)SEC)	/* the boot clock then */

/* 90.5 s of boot clock after T0; the wall clock reads 10 minutes earlier (stepped back). */
static const struct agents_clock later = { .real_us = T0 - 600 * SEC,
					   .boot_us = BOOT0 + 90 * (int64_t)SEC + 500000 };
static const struct agents_clock start = { .real_us = T0, .boot_us = BOOT0 };

static struct cfg_label billing[] = { { "team", "billing" } };
static const struct cfg_group alice_group = { .name = "alice", .labels = billing, .nlabels = 1 };
static const struct cfg_agent alice = { .cc = 1, .vdn = 170, .id = 1099, .group = &alice_group };
static const struct cfg_agent bob = { .cc = 1, .vdn = 170, .id = 1100 };
static const struct cfg_agent carol = { .cc = 1, .vdn = 171, .id = 2000 };

/* No detail, no state: what per-agent polling and an agent without a state poll leave. */
#define NO_DETAIL .status = CMS_CODE_NONE, .direction = CMS_CODE_NONE, .media = CMS_CODE_NONE
#define NO_STATE .cti = { .code = CMS_CODE_NONE, .reason = CMS_CODE_NONE }

static void test_agent_id(void)
{
	uint32_t cc = 0, vdn = 0, id = 0;

	CHECK_INT(api_parse_agent_id("1:170:1099", &cc, &vdn, &id), 0);
	CHECK_INT(cc, 1);
	CHECK_INT(vdn, 170);
	CHECK_INT(id, 1099);
	CHECK_INT(api_parse_agent_id("65535:5000:999999", &cc, &vdn, &id), 0);
	CHECK_INT(api_parse_agent_id("1:170", &cc, &vdn, &id), -1);
	CHECK_INT(api_parse_agent_id("1:170:", &cc, &vdn, &id), -1);
	CHECK_INT(api_parse_agent_id("1::1099", &cc, &vdn, &id), -1);
	CHECK_INT(api_parse_agent_id("1:170:1099x", &cc, &vdn, &id), -1);
	CHECK_INT(api_parse_agent_id("1:170:1099:1", &cc, &vdn, &id), -1);
	CHECK_INT(api_parse_agent_id("65536:170:1099", &cc, &vdn, &id), -1);
	CHECK_INT(api_parse_agent_id("1:5001:1099", &cc, &vdn, &id), -1);
	CHECK_INT(api_parse_agent_id("-1:170:1099", &cc, &vdn, &id), -1);
	CHECK_INT(api_parse_agent_id("99999999999:1:1", &cc, &vdn, &id), -1);
	CHECK_INT(api_parse_agent_id("", &cc, &vdn, &id), -1);
}

static void test_seq(void)
{
	uint64_t seq = 0;

	CHECK_INT(api_parse_seq("0", &seq), 0);
	CHECK_INT(api_parse_seq("1234", &seq), 0);
	CHECK_INT(seq, 1234);
	CHECK_INT(api_parse_seq("", &seq), -1);
	CHECK_INT(api_parse_seq("12a", &seq), -1);
	CHECK_INT(api_parse_seq("-1", &seq), -1);
	CHECK_INT(api_parse_seq("99999999999999999999", &seq), -1);
}

static char *agents_text(struct agent_state *const *states, size_t n, const char *const *args)
{
	struct api_filter f;
	size_t len;
	char *text;

	api_filter_init(&f);
	for (; args && *args; args += 2)
		CHECK(api_filter_add(&f, args[0], args[1]) == NULL);
	text = api_agents_json(states, n, &f, &later, &len);
	CHECK_INT(len, strlen(text));
	api_filter_clear(&f);
	return text;
}

static void test_agents(void)
{
	struct agent_call calls[] = { { .id = "c1", .first_seen_us = T0 + 500000,
					.first_seen_boot_us = BOOT0 + 500000, NO_DETAIL } };
	struct agent_state a = { .cfg = &alice, .calls = calls, .ncalls = 1, .baselined = true,
				 NO_STATE };
	struct agent_state b = { .cfg = &bob, .failures = 4, .unreachable = true, .reason = "HTTP 503",
				 NO_STATE };
	struct agent_state *states[] = { &a, &b };
	static const char *const busy[] = { "busy", "1", NULL };
	static const char *const unreachable[] = { "unreachable", "true", NULL };
	static const char *const team[] = { "label.team", "billing", NULL };
	static const char *const other_team[] = { "label.team", "sales", NULL };
	static const char *const idle_billing[] = { "busy", "0", "label.team", "billing", NULL };
	struct api_filter f;
	char *text;

	text = agents_text(states, 2, NULL);
	CHECK_STR(text, "{\"agents\":["
		  "{\"cc\":1,\"vdn\":170,\"id\":1099,\"name\":\"alice\",\"labels\":{\"team\":\"billing\"},"
		  "\"agent\":\"1:170:1099\",\"reachable\":true,\"failures\":0,\"reason\":null,"
		  "\"polled\":true,\"state\":null,\"state_code\":null,\"state_since\":null,"
		  "\"state_duration\":null,\"long_state\":false,"
		  "\"calls\":[{\"id\":\"c1\",\"since\":\"2025-11-24T16:00:00.500Z\","
		  "\"duration\":90.000,\"long\":false}]},"
		  "{\"cc\":1,\"vdn\":170,\"id\":1100,\"agent\":\"1:170:1100\",\"reachable\":false,"
		  "\"failures\":4,\"reason\":\"HTTP 503\",\"polled\":false,\"state\":null,"
		  "\"state_code\":null,\"state_since\":null,\"state_duration\":null,"
		  "\"long_state\":false,\"calls\":[]}]}\n");
	free(text);
	text = agents_text(states, 2, busy);
	CHECK(strstr(text, "1:170:1099") && !strstr(text, "1:170:1100"));
	free(text);
	text = agents_text(states, 2, unreachable);
	CHECK(!strstr(text, "1:170:1099") && strstr(text, "1:170:1100"));
	free(text);
	text = agents_text(states, 2, team);
	CHECK(strstr(text, "1:170:1099") && !strstr(text, "1:170:1100"));
	free(text);
	text = agents_text(states, 2, other_team);
	CHECK_STR(text, "{\"agents\":[]}\n");
	free(text);
	text = agents_text(states, 2, idle_billing);
	CHECK_STR(text, "{\"agents\":[]}\n");
	free(text);

	api_filter_init(&f);
	CHECK(api_filter_add(&f, "busy", "yes") != NULL);
	CHECK(api_filter_add(&f, "busy", NULL) != NULL);
	CHECK(api_filter_add(&f, "state", "unreachable") != NULL);
	CHECK(api_filter_add(&f, "stat", "idle") != NULL);
	CHECK(api_filter_add(&f, "label.", "x") != NULL);
	CHECK(api_filter_add(&f, "label.team", NULL) != NULL);
	api_filter_clear(&f);

	/* A filter given twice is refused, whatever the values: busy=1&busy=0 would ask for both. */
	api_filter_init(&f);
	CHECK(api_filter_add(&f, "busy", "1") == NULL);
	CHECK_STR(api_filter_add(&f, "busy", "0"), "given more than once (each filter takes one value)");
	CHECK(api_filter_add(&f, "busy", "1") != NULL);
	CHECK(api_filter_add(&f, "unreachable", "0") == NULL);
	CHECK(api_filter_add(&f, "unreachable", "0") != NULL);
	CHECK(api_filter_add(&f, "state", "rest") == NULL);
	CHECK(api_filter_add(&f, "state", "idle") != NULL);
	CHECK(api_filter_add(&f, "label.team", "billing") == NULL);
	CHECK(api_filter_add(&f, "label.site", "paris") == NULL);
	CHECK(api_filter_add(&f, "label.team", "billing") != NULL);
	CHECK_INT(f.busy, 1);
	CHECK_INT(f.unreachable, 0);
	CHECK_INT(f.state, 8);
	CHECK_INT(f.nlabels, 2);
	api_filter_clear(&f);
}

/* Call detail and CTI state from the batch and state interfaces; ?state=NAME. */
static void test_state(void)
{
	struct agent_call calls[] = {
		{ .id = "d1", .first_seen_us = T0, .first_seen_boot_us = BOOT0, .status = 5,
		  .direction = 0, .media = 5, .long_reported = true },
		{ .id = "d2", .first_seen_us = T0 + 1000, .first_seen_boot_us = BOOT0 + 1000,
		  .status = 42, .direction = 7, .media = 77, .submedia = "Wh\"atsApp" },
	};
	/* In rest since 30 s before start (wall), 30 s of boot clock before it too. */
	struct agent_state c = { .cfg = &carol, .calls = calls, .ncalls = 2, .baselined = true,
				 .cti = { .code = 8, .reason = 258, .since_us = T0 - 30 * SEC,
					  .since_boot_us = BOOT0 - 30 * (int64_t)SEC } };
	struct agent_state d = { .cfg = &bob, .baselined = true,
				 .cti = { .code = 1, .reason = CMS_CODE_NONE, .since_us = T0,
					  .since_boot_us = BOOT0 + 200 * (int64_t)SEC,
					  .long_reported = true } };
	struct agent_state e = { .cfg = &alice, .baselined = true, .cti = { .code = 99, .reason = 0 } };
	struct agent_state *states[] = { &c, &d, &e };
	static const char *const rest[] = { "state", "rest", NULL };
	static const char *const idle[] = { "state", "idle", NULL };
	static const char *const talking[] = { "state", "talking", NULL };
	static const char *const unknown[] = { "state", "unknown", NULL };
	struct api_filter f;
	char *text;

	text = agents_text(states, 1, NULL);
	CHECK_STR(text, "{\"agents\":[{\"cc\":1,\"vdn\":171,\"id\":2000,\"agent\":\"1:171:2000\","
		  "\"reachable\":true,\"failures\":0,\"reason\":null,\"polled\":true,"
		  "\"state\":\"rest\",\"state_code\":8,\"state_since\":\"2025-11-24T15:59:30.000Z\","
		  "\"state_duration\":120.500,\"state_reason\":258,\"long_state\":false,"
		  "\"calls\":[{\"id\":\"d1\",\"since\":\"2025-11-24T16:00:00.000Z\",\"duration\":90.500,"
		  "\"status\":\"talking\",\"status_code\":5,\"direction\":\"inbound\","
		  "\"media\":\"phone\",\"media_type\":5,\"long\":true},"
		  "{\"id\":\"d2\",\"since\":\"2025-11-24T16:00:00.001Z\",\"duration\":90.499,"
		  "\"status\":42,\"status_code\":42,\"direction\":7,\"media\":77,\"media_type\":77,"
		  "\"submedia\":\"Wh\\\"atsApp\",\"long\":false}]}]}\n");
	free(text);
	/* A stint that began after now on the boot clock lasts 0 s, not less; a code without a
	 * name shows as itself; reason 0 is a reason. */
	text = agents_text(states + 1, 2, NULL);
	CHECK(strstr(text, "\"state\":\"idle\",\"state_code\":1,\"state_since\":"
		  "\"2025-11-24T16:00:00.000Z\",\"state_duration\":0.000,\"long_state\":true,"));
	CHECK(strstr(text, "\"state\":99,\"state_code\":99,"));
	CHECK(strstr(text, "\"state_reason\":0,"));
	free(text);

	text = agents_text(states, 3, rest);
	CHECK(strstr(text, "1:171:2000") && !strstr(text, "1:170:1100") && !strstr(text, "1:170:1099"));
	free(text);
	text = agents_text(states, 3, idle);
	CHECK(!strstr(text, "1:171:2000") && strstr(text, "1:170:1100"));
	free(text);
	text = agents_text(states, 3, talking);
	CHECK_STR(text, "{\"agents\":[]}\n");
	free(text);
	/* unknown: as agentwatchd_agents{state="unknown"} counts, no state or a code without a name. */
	text = agents_text(states, 3, unknown);
	CHECK(strstr(text, "1:170:1099") && !strstr(text, "1:171:2000") && !strstr(text, "1:170:1100"));
	free(text);

	api_filter_init(&f);
	CHECK_STR(api_filter_add(&f, "state", "lunch"), "'lunch' is not an agent state (signed_out, "
		  "idle, preoccupied, occupied, answering, talking, wrap_up, busy, rest, study, "
		  "adjusting, unknown)");
	CHECK(api_filter_add(&f, "state", NULL) != NULL);
	CHECK(api_filter_add(&f, "state", "8") != NULL);
	CHECK_STR(api_filter_add(&f, "nope", "1"), "is not a filter (busy, unreachable, state, "
		  "label.NAME)");
	api_filter_clear(&f);
}

/* Strings are escaped as json-c escapes them, identity fields as event_agent_json has them. */
static void test_escaping(void)
{
	struct cfg_label tricky_labels[] = { { "k", "tab\there \"q\" back\\slash /" } };
	struct cfg_group g = { .name = "a\"b\\c/d\n\x01\x1f\x7f é\r\b\f", .labels = tricky_labels,
			       .nlabels = 1 };
	struct cfg_agent agent = { .cc = 3, .vdn = 4, .id = 70001, .group = &g };
	struct agent_call call = { .id = "id\"1\\", NO_DETAIL, .submedia = "sub\"\n" };
	struct agent_state st = { .cfg = &agent, .calls = &call, .ncalls = 1, .failures = 1,
				  .reason = "HTTP 503: \"busy\"\n", NO_STATE };
	struct json_object *ident = event_agent_json(&agent), *parsed;
	const char *want = json_object_to_json_string_ext(ident, JSON_C_TO_STRING_PLAIN |
							  JSON_C_TO_STRING_NOSLASHESCAPE);
	char *text = NULL;
	size_t len;
	FILE *out = open_memstream(&text, &len);

	api_agent_write(out, &st, &start);
	fclose(out);
	CHECK(strncmp(text, want, strlen(want) - 1) == 0);
	CHECK(text[strlen(want) - 1] == ',');
	parsed = json_tokener_parse(text);
	CHECK(parsed != NULL);
	if (parsed) {
		struct json_object *v;

		CHECK(json_object_object_get_ex(parsed, "reason", &v));
		CHECK_STR(json_object_get_string(v), st.reason);
		CHECK(json_object_object_get_ex(parsed, "name", &v));
		CHECK_STR(json_object_get_string(v), g.name);
		CHECK(json_object_object_get_ex(parsed, "calls", &v));
		CHECK_STR(json_object_get_string(json_object_object_get(json_object_array_get_idx(v, 0),
			  "id")), call.id);
		CHECK_STR(json_object_get_string(json_object_object_get(json_object_array_get_idx(v, 0),
			  "submedia")), call.submedia);
		json_object_put(parsed);
	}
	json_object_put(ident);
	free(text);
}

static void append(struct evlog *log, int n)
{
	for (int i = 0; i < n; i++) {
		char *json = xasprintf("{\"type\":\"call.started\",\"n\":%d}", i);

		evlog_append(log, json, strlen(json));
		free(json);
	}
}

static void test_events(void)
{
	char err[128];
	struct evlog *log = evlog_open(NULL, err, sizeof err);
	size_t len;
	char *text;

	text = api_events_json(log, 0, 10, &len);
	CHECK_STR(text, "{\"events\":[],\"next_after\":0,\"last_seq\":0}\n");
	free(text);
	append(log, 5);
	text = api_events_json(log, 2, 2, &len);
	CHECK_STR(text, "{\"events\":[{\"seq\":3,\"type\":\"call.started\",\"n\":2},"
		  "{\"seq\":4,\"type\":\"call.started\",\"n\":3}],\"next_after\":4,\"last_seq\":5}\n");
	free(text);
	text = api_events_json(log, 5, 10, &len);
	CHECK_STR(text, "{\"events\":[],\"next_after\":5,\"last_seq\":5}\n");
	free(text);
	text = api_events_json(log, 99, 10, &len);
	CHECK_STR(text, "{\"events\":[],\"next_after\":99,\"last_seq\":5}\n");
	free(text);
	/* The memory ring forgets the oldest: a reader behind it is told how many it lost. */
	append(log, EVLOG_RING_MEMORY);
	text = api_events_json(log, 0, 1, &len);
	CHECK_STR(text, "{\"events\":[{\"seq\":6,\"type\":\"call.started\",\"n\":0}],"
		  "\"next_after\":6,\"last_seq\":16389,\"lost\":5}\n");
	free(text);
	evlog_close(log);
}

static const char *health(struct api_health *h, uint64_t now_us, const char *state_dir_cfg,
			  char *buf, size_t size)
{
	struct cfg cfg = { .poll = { .interval = 5 }, .cms = { .timeout = 5 },
			   .state_dir = (char *)state_dir_cfg };
	char err[128];
	struct evlog *log = evlog_open(NULL, err, sizeof err);
	struct api_view v = { .cfg = &cfg, .log = log, .health = h, .now_us = now_us };
	const char *r = api_health_problem(&v, buf, size);

	evlog_close(log);
	return r;
}

static void test_health(void)
{
	struct api_health h = { 0 };
	struct cms_result ok = { .status = CMS_OK, .reason = "" };
	struct cms_result http = { .status = CMS_ERR_HTTP, .http_status = 500, .reason = "HTTP 500" };
	struct cms_result auth = { .status = CMS_ERR_AUTH, .http_status = 401, .reason = "HTTP 401" };
	struct cms_result conn = { .status = CMS_ERR_CONNECT, .reason = "connection refused" };
	char buf[256];

	CHECK_STR(health(&h, 10 * SEC, NULL, buf, sizeof buf), "no poll has completed yet");
	api_health_poll(&h, &ok, 10 * SEC);
	CHECK(health(&h, 11 * SEC, NULL, buf, sizeof buf) == NULL);
	CHECK_STR(health(&h, 11 * SEC, "/var/lib/x", buf, sizeof buf),
		  "state_dir /var/lib/x is not in use: events are kept in memory only");
	/* An HTTP error is an answer: the CMS was reached. */
	api_health_poll(&h, &http, 12 * SEC);
	CHECK(health(&h, 13 * SEC, NULL, buf, sizeof buf) == NULL);
	api_health_poll(&h, &auth, 14 * SEC);
	CHECK(health(&h, 15 * SEC, NULL, buf, sizeof buf) == NULL);
	CHECK_STR(health(&h, 40 * SEC, NULL, buf, sizeof buf), "CMS authentication rejected: HTTP 401");
	api_health_poll(&h, &conn, 41 * SEC);
	CHECK_STR(health(&h, 42 * SEC, NULL, buf, sizeof buf), "CMS unreachable: connection refused");
	api_health_poll(&h, &ok, 43 * SEC);
	CHECK(health(&h, 44 * SEC, NULL, buf, sizeof buf) == NULL);
}

/* A webhook receiver past its max_backlog, or cut back to it and not caught up since. */
static void test_backlog(void)
{
	char buf[256];

	CHECK(!api_backlog_problem("https://h", 100, 0, 100, buf, sizeof buf));
	CHECK(api_backlog_problem("https://h", 101, 0, 100, buf, sizeof buf));
	CHECK_STR(buf, "webhook https://h: backlog past max_backlog = 100 (101 events behind, "
		  "0 dropped since start)");
	/* Cut back to 90 after a drop: still falling behind until it gets below that. */
	CHECK(api_backlog_problem("https://h#2", 90, 21, 100, buf, sizeof buf));
	CHECK_STR(buf, "webhook https://h#2: backlog past max_backlog = 100 (90 events behind, "
		  "21 dropped since start)");
	CHECK(!api_backlog_problem("https://h", 89, 21, 100, buf, sizeof buf));
	CHECK(!api_backlog_problem("https://h", 95, 0, 100, buf, sizeof buf));
	CHECK(!api_backlog_problem("https://h", 1000000, 5, 0, buf, sizeof buf));
}

int main(void)
{
	test_agent_id();
	test_seq();
	test_agents();
	test_state();
	test_escaping();
	test_events();
	test_health();
	test_backlog();
	return check_done("test_apiview");
}
