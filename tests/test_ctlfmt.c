/* test_ctlfmt: agentwatchctl's output (durations, agents table, event lines, status) and readers
 * (metric text, Server-Sent Events) as pure functions. */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/ctlfmt.h"
#include "../src/ctlhttp.h"
#include "../src/util.h"
#include "check.h"

/* What fn writes to a FILE, as a string the caller frees. */
#define CAPTURE(text, call) do { \
	size_t len_; \
	FILE *out = open_memstream(&(text), &len_); \
	call; \
	fclose(out); \
} while (0)

static void test_duration(void)
{
	static const struct {
		double s;
		const char *want;
	} cases[] = {
		{ 0, "0s" }, { 59.99, "59s" }, { 60, "1m00s" }, { 3599, "59m59s" }, { 3600, "1h00m" },
		{ 86399, "23h59m" }, { 86400 + 4 * 3600 + 59, "1d04h" }, { -0.5, "-" }, { NAN, "-" },
		{ INFINITY, "-" },
	};
	char buf[CTLFMT_DURATION_LEN];

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		ctlfmt_duration(cases[i].s, buf);
		CHECK_STR(buf, cases[i].want);
	}
}

static void test_reason(void)
{
	size_t len;
	const char *r = ctlfmt_reason(503, "503 CMS unreachable: reset\n", &len);

	CHECK_INT(len, strlen("CMS unreachable: reset"));
	CHECK(strncmp(r, "CMS unreachable: reset", len) == 0);
	r = ctlfmt_reason(400, "no status here", &len);
	CHECK_STR(r, "no status here");
	r = ctlfmt_reason(401, "4010 x", &len);
	CHECK_STR(r, "4010 x");
	/* A peer's terminal escape or endless line is not shown. */
	r = ctlfmt_reason(400, "400 bad \033]0;owned\007 title\n", &len);
	CHECK_INT(len, 4);
	CHECK(strncmp(r, "bad ", len) == 0);
	{
		char *body = xmalloc(100001);

		memset(body, 'x', 100000);
		body[100000] = '\0';
		ctlfmt_reason(500, body, &len);
		CHECK(len <= 300u);
		free(body);
	}
}

/* Two agents as the API gives them: one on calls in rest, one unreachable without a state. */
static const char agents_json[] = "[{\"cc\":1,\"vdn\":170,\"id\":1099,\"name\":\"al\tice\","
	"\"agent\":\"1:170:1099\",\"reachable\":true,\"failures\":0,\"reason\":null,\"polled\":true,"
	"\"state\":\"talking\",\"state_code\":5,\"state_since\":\"2025-11-24T15:59:30.000Z\","
	"\"state_duration\":125.5,\"long_state\":true,\"calls\":["
	"{\"id\":\"c1\",\"since\":\"x\",\"duration\":90.5,\"status\":\"talking\",\"status_code\":5,"
	"\"long\":true},{\"id\":\"c2\",\"since\":\"x\",\"duration\":3,\"status\":42,\"long\":false}]},"
	"{\"cc\":1,\"vdn\":170,\"id\":1100,\"agent\":\"1:170:1100\",\"reachable\":false,\"failures\":4,"
	"\"reason\":\"HTTP 503\",\"polled\":false,\"state\":null,\"state_code\":null,"
	"\"state_since\":null,\"state_duration\":null,\"long_state\":false,\"calls\":[]}]";

static void test_agents(void)
{
	struct json_object *agents = json_tokener_parse(agents_json);
	char *text = NULL;

	CHECK(agents != NULL);
	CAPTURE(text, ctlfmt_agents(out, agents, 0));
	CHECK_STR(text, "1:170:1099\tal ice\ttalking\t125.500\tyes\tc1:talking:90.500,c2:42:3.000\t-\n"
		  "1:170:1100\t-\t-\t-\tno\t-\tHTTP 503\n");
	free(text);
	CAPTURE(text, ctlfmt_agents(out, agents, 100));
	CHECK_STR(text,
		  "AGENT       NAME    STATE    FOR         REACH        CALLS\n"
		  "1:170:1099  al ice  talking  2m05s LONG  ok           c1 talking 1m30s LONG, c2 42 3s\n"
		  "1:170:1100  -       -        -           UNREACHABLE  (HTTP 503)\n");
	free(text);
	/* 60 columns: the calls are cut to what is left, at least 10. */
	CAPTURE(text, ctlfmt_agents(out, agents, 60));
	CHECK(strstr(text, "ok           c1 talk...\n") != NULL);
	free(text);
	CAPTURE(text, ctlfmt_agents(out, agents, 20));
	CHECK(strstr(text, "ok           c1 talk...\n") != NULL);
	free(text);
	CAPTURE(text, ctlfmt_agents(out, NULL, 80));
	CHECK_STR(text, "AGENT  NAME  STATE  FOR  REACH  CALLS\n");
	free(text);
	json_object_put(agents);
}

static char *event_line(const char *json, bool color)
{
	struct json_object *ev = json_tokener_parse(json);
	char *text = NULL;

	CHECK(ev != NULL);
	CAPTURE(text, ctlfmt_event(out, ev, color));
	json_object_put(ev);
	return text;
}

#define AGENT "\"agent\":{\"cc\":1,\"vdn\":170,\"id\":1099,\"name\":\"alice\"}"
#define T "\"time\":\"2026-11-30T12:00:00.000Z\""

static void test_events(void)
{
	static const struct {
		const char *json, *want;
	} cases[] = {
		{ "{\"seq\":7," T ",\"type\":\"call.started\"," AGENT ",\"call_id\":\"c1\","
		  "\"call_status\":\"talking\",\"direction\":\"inbound\",\"media\":\"chat\","
		  "\"submedia\":\"WhatsApp\",\"initial\":true}",
		  "2026-11-30T12:00:00.000Z #7 1:170:1099 (alice) call.started c1 talking inbound "
		  "chat/WhatsApp (at start)\n" },
		{ "{\"seq\":8," T ",\"type\":\"call.ended\"," AGENT ",\"call_id\":\"c1\","
		  "\"duration\":62.5,\"after_restart\":true}",
		  "2026-11-30T12:00:00.000Z #8 1:170:1099 (alice) call.ended c1 after 1m02s "
		  "(seen after a restart)\n" },
		{ "{\"seq\":9," T ",\"type\":\"call.status\"," AGENT ",\"call_id\":\"c1\","
		  "\"previous_call_status\":\"alerting\",\"call_status\":\"talking\",\"media\":77}",
		  "2026-11-30T12:00:00.000Z #9 1:170:1099 (alice) call.status c1 alerting -> talking 77\n" },
		{ "{\"seq\":10," T ",\"type\":\"agent.busy\"," AGENT ",\"calls\":2}",
		  "2026-11-30T12:00:00.000Z #10 1:170:1099 (alice) agent.busy 2 calls\n" },
		{ "{\"seq\":11," T ",\"type\":\"agent.unreachable\",\"agent\":{\"cc\":1,\"vdn\":170,"
		  "\"id\":1100},\"failures\":3,\"reason\":\"HTTP 503\"}",
		  "2026-11-30T12:00:00.000Z #11 1:170:1100 agent.unreachable after 3 failed polls: "
		  "HTTP 503\n" },
		{ "{\"seq\":12," T ",\"type\":\"agent.state\"," AGENT ",\"state\":\"rest\","
		  "\"state_code\":8,\"previous_state\":\"idle\",\"reason_code\":258}",
		  "2026-11-30T12:00:00.000Z #12 1:170:1099 (alice) agent.state idle -> rest "
		  "(reason 258)\n" },
		{ "{\"seq\":13," T ",\"type\":\"agent.long_state\"," AGENT ",\"state\":\"rest\","
		  "\"threshold\":900.0,\"duration\":901.2}",
		  "2026-11-30T12:00:00.000Z #13 1:170:1099 (alice) agent.long_state rest for 15m01s "
		  "(threshold 15m00s)\n" },
		{ "{\"seq\":14,\"type\":\"something.new\"}", "- #14 something.new\n" },
		{ "[1]", "- #0 ?\n" },
	};
	char *text;

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		text = event_line(cases[i].json, false);
		CHECK_STR(text, cases[i].want);
		free(text);
	}
	text = event_line(cases[0].json, true);
	CHECK(strstr(text, " \033[32mcall.started\033[0m c1 ") != NULL);
	free(text);
	text = event_line(cases[3].json, true);
	CHECK(strstr(text, " agent.busy 2 calls") != NULL);
	free(text);
}

static void collect(void *ctx, const char *name, const char *labels, double value)
{
	char **text = ctx, *next = xasprintf("%s%s|%s|%g\n", *text, name, labels, value);

	free(*text);
	*text = next;
}

static void test_metrics(void)
{
	const char *m = "# HELP x y\n# TYPE x counter\nx 1\ny{a=\"b\",c=\"d}\\\"e\\\\\\n\"} 2.5\n"
			"bad line\nz{unclosed 3\nnovalue{a=\"b\"}\nw{} 4\nv 5 1700000000000\nu NaN";
	char *text = xstrdup(""), buf[32];

	ctlfmt_metrics_each(m, collect, &text);
	CHECK_STR(text, "x||1\ny|a=\"b\",c=\"d}\\\"e\\\\\\n\"|2.5\nw||4\nv||5\nu||nan\n");
	free(text);
	CHECK(ctlfmt_metric_label("a=\"b\",c=\"d}\\\"e\\\\\\n\"", "c", buf, sizeof buf));
	CHECK_STR(buf, "d}\"e\\\n");
	CHECK(ctlfmt_metric_label("a=\"b\",c=\"d\"", "a", buf, sizeof buf));
	CHECK_STR(buf, "b");
	CHECK(!ctlfmt_metric_label("a=\"b\",c=\"d\"", "b", buf, sizeof buf));
	CHECK(!ctlfmt_metric_label("ca=\"b\"", "a", buf, sizeof buf));
	CHECK(!ctlfmt_metric_label("a=\"unclosed", "b", buf, sizeof buf));
	CHECK(ctlfmt_metric_label("a=\"0123456789012345678901234567890123456789\"", "a", buf, 8));
	CHECK_STR(buf, "0123456");
}

static const char metrics_text[] =
	"agentwatchd_build_info{version=\"1.2.3\"} 1\n"
	"agentwatchd_polls_total{api=\"agent\",result=\"ok\"} 10\n"
	"agentwatchd_polls_total{api=\"batch\",result=\"ok\"} 5\n"
	"agentwatchd_polls_total{api=\"agent\",result=\"timeout\"} 2\n"
	"agentwatchd_polls_total{api=\"state\",result=\"http_error\"} 1\n"
	/* Per agent asked: the batch requests above were ok, yet one agent was left out. */
	"agentwatchd_agent_polls_total{poll=\"calls\",result=\"ok\"} 1392\n"
	"agentwatchd_agent_polls_total{poll=\"calls\",result=\"request_failed\"} 2\n"
	"agentwatchd_agent_polls_total{poll=\"calls\",result=\"absent\"} 1\n"
	"agentwatchd_agent_polls_total{poll=\"calls\",result=\"entry_error\"} 0\n"
	"agentwatchd_agent_polls_total{poll=\"state\",result=\"ok\"} 700\n"
	"agentwatchd_agent_polls_total{poll=\"state\",result=\"request_failed\"} 0\n"
	"agentwatchd_agent_polls_total{poll=\"state\",result=\"absent\"} 1\n"
	"agentwatchd_webhook_queue_events{webhook=\"https://h.example\"} 7\n"
	"agentwatchd_webhook_deliveries_total{webhook=\"https://h.example\",result=\"delivered\"} 5\n"
	"agentwatchd_webhook_deliveries_total{webhook=\"https://h.example\",result=\"failed\"} 1\n"
	"agentwatchd_webhook_deliveries_total{webhook=\"https://h.example\",result=\"dead_lettered\"} 2\n"
	"agentwatchd_webhook_events_lost_total{webhook=\"https://h.example\"} 0\n"
	"other_metric{webhook=\"x\"} 1\n";

static void test_status(void)
{
	struct json_object *agents = json_tokener_parse(agents_json), *o;
	struct ctlfmt_status st;
	char *text = NULL;

	ctlfmt_status_collect(&st, 200, "ok\n", agents, metrics_text);
	CAPTURE(text, ctlfmt_status_print(out, &st));
	CHECK_STR(text,
		  "health       ok\n"
		  "version      1.2.3\n"
		  "agents       2 watched, 1 busy, 1 unreachable, 2 calls\n"
		  "states       talking 1, unknown 1\n"
		  "polls        1392 ok, 3 failed (2 request failed, 1 absent, 0 entry errors)\n"
		  "state polls  700 ok, 1 failed\n"
		  "webhook      https://h.example: 7 queued, 5 delivered, 1 failed, 2 dead-lettered\n"
		  "last error   1:170:1100: HTTP 503\n");
	free(text);
	o = ctlfmt_status_json(&st);
	CHECK_STR(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						  JSON_C_TO_STRING_NOSLASHESCAPE),
		  "{\"healthy\":true,\"health\":\"ok\",\"version\":\"1.2.3\",\"watched\":2,\"busy\":1,"
		  "\"unreachable\":1,\"calls\":2,\"states\":{\"signed_out\":0,\"idle\":0,"
		  "\"preoccupied\":0,\"occupied\":0,\"answering\":0,\"talking\":1,\"wrap_up\":0,"
		  "\"busy\":0,\"rest\":0,\"study\":0,\"adjusting\":0,\"unknown\":1},\"polls_ok\":1392,"
		  "\"polls_failed\":3,\"polls_request_failed\":2,\"polls_absent\":1,"
		  "\"polls_entry_error\":0,\"state_polls_ok\":700,\"state_polls_failed\":1,\"webhooks\":[{\"name\":\"https://h.example\",\"queue\":7,"
		  "\"delivered\":5,\"failed\":1,\"dead_lettered\":2}],"
		  "\"last_error\":\"1:170:1100: HTTP 503\"}");
	json_object_put(o);
	ctlfmt_status_clear(&st);

	/* Unhealthy, nothing else known: the reason is the last error. */
	ctlfmt_status_collect(&st, 503, "503 CMS unreachable: reset\n", NULL, NULL);
	CAPTURE(text, ctlfmt_status_print(out, &st));
	CHECK_STR(text,
		  "health       UNHEALTHY: CMS unreachable: reset\n"
		  "agents       0 watched, 0 busy, 0 unreachable, 0 calls\n"
		  "states       none\n"
		  "polls        0 ok, 0 failed\n"
		  "state polls  0 ok, 0 failed\n"
		  "webhooks     none\n"
		  "last error   CMS unreachable: reset\n");
	free(text);
	CHECK(!st.healthy);
	ctlfmt_status_clear(&st);
	ctlfmt_status_collect(&st, 503, "", NULL, NULL);
	CHECK_STR(st.health, "HTTP 503");
	ctlfmt_status_clear(&st);
	json_object_put(agents);
}

static void sse_event(void *ctx, uint64_t id, const char *data)
{
	collect(ctx, "event", data, (double)id);
}

static void sse_comment(void *ctx, const char *text)
{
	collect(ctx, "comment", text, 0);
}

static void test_sse(void)
{
	static const char stream[] = ": agentwatchd events\n\nid: 5\ndata: {\"seq\":5}\n\n"
		": 3 events are gone from the log\r\nid: 9\r\ndata: a\r\ndata:b\r\n\r\n"
		"data: no id\n\nid: 10\nevent: x\nretry: 5\n\nid: 11\ndata: {\"seq\":11}\n\nid: 12\ndata: cut";
	char *text = xstrdup("");
	struct ctlhttp_sse_handler h = { sse_event, sse_comment, &text };
	struct ctlhttp_sse p;

	/* Byte by byte and all at once read alike. */
	for (int pass = 0; pass < 2; pass++) {
		ctlhttp_sse_init(&p, &h);
		if (pass == 0)
			for (size_t i = 0; i < sizeof stream - 1; i++)
				ctlhttp_sse_feed(&p, stream + i, 1);
		else
			ctlhttp_sse_feed(&p, stream, sizeof stream - 1);
		ctlhttp_sse_clear(&p);
		CHECK_STR(text, "comment|agentwatchd events|0\nevent|{\"seq\":5}|5\n"
			  "comment|3 events are gone from the log|0\nevent|a\nb|9\nevent|no id|0\n"
			  "event|{\"seq\":11}|11\n");
		free(text);
		text = xstrdup("");
	}
	free(text);
}

/* A peer that never ends a line, or sends one frame of endless data lines: memory stays bounded. */
static void test_sse_bounded(void)
{
	static const char frame_head[] = "id: 1\n";
	char *text = xstrdup("");
	struct ctlhttp_sse_handler h = { sse_event, sse_comment, &text };
	struct ctlhttp_sse p;
	size_t chunk = 64 * 1024;
	char *junk = xmalloc(chunk);
	bool ok = true;

	memset(junk, 'x', chunk);
	ctlhttp_sse_init(&p, &h);
	for (int i = 0; i < 128 && ok; i++)	/* 8 MiB without a newline */
		ok = ctlhttp_sse_feed(&p, junk, chunk);
	CHECK(!ok);
	CHECK(p.len <= 2u << 20);
	CHECK(!ctlhttp_sse_feed(&p, "\n\n", 2));	/* a bad stream stays bad */
	ctlhttp_sse_clear(&p);

	ctlhttp_sse_init(&p, &h);
	ctlhttp_sse_feed(&p, frame_head, sizeof frame_head - 1);
	memcpy(junk, "data: ", 6);
	junk[chunk - 1] = '\n';
	ok = true;
	for (int i = 0; i < 128 && ok; i++)	/* 8 MiB of data lines, no blank line */
		ok = ctlhttp_sse_feed(&p, junk, chunk);
	CHECK(!ok);
	CHECK(p.data && strlen(p.data) <= 2u << 20);
	ctlhttp_sse_clear(&p);
	CHECK_STR(text, "");
	free(text);
	free(junk);
}

int main(void)
{
	test_duration();
	test_reason();
	test_agents();
	test_events();
	test_metrics();
	test_status();
	test_sse();
	test_sse_bounded();
	return check_done("test_ctlfmt");
}
