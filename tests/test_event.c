/* test_event: each event's JSON, human message and syslog line, exactly; ids unique. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "../src/event.h"
#include "../src/journal.h"
#include "../src/syslogout.h"
#include "check.h"

/* 2026-11-25T23:01:02.345Z */
#define T0 1795647662345000ull

static struct cfg_label team = { "team", "billing" };
static const struct cfg_group named = { .line = 3, .name = "Ann \"the\" Agent", .labels = &team,
					.nlabels = 1 };
static const struct cfg_agent ann = { .cc = 1, .vdn = 170, .id = 1099, .group = &named };
static const struct cfg_group plain = { .line = 4 };
static const struct cfg_agent bob = { .cc = 2, .vdn = 5000, .id = 999999, .group = &plain };

static struct event make(enum event_type type, const struct cfg_agent *agent)
{
	struct event ev = { .type = type, .time_us = T0, .agent = agent };

	strcpy(ev.id, "0f4e3a52-7c1d-4d1e-9a43-2b2f7e1c9d10");
	if (type == EVENT_CALL_STARTED || type == EVENT_CALL_ENDED || type == EVENT_CALL_LONG) {
		ev.call_id = "1605492949-1447";
		ev.call_first_seen_us = T0 - 61500000;
		if (type != EVENT_CALL_STARTED)
			ev.call_duration_us = 61500999;	/* shown in whole milliseconds */
	}
	return ev;
}

static void check_json(const struct event *ev, const char *want)
{
	struct json_object *obj = event_to_json(ev);

	CHECK_STR(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
						JSON_C_TO_STRING_NOSLASHESCAPE), want);
	json_object_put(obj);
}

#define ANN "\"agent\":{\"cc\":1,\"vdn\":170,\"id\":1099,\"name\":\"Ann \\\"the\\\" Agent\"," \
	"\"labels\":{\"team\":\"billing\"}}"
#define HEAD(type) "{\"id\":\"0f4e3a52-7c1d-4d1e-9a43-2b2f7e1c9d10\",\"type\":\"" type "\"," \
	"\"time\":\"2026-11-25T23:01:02.345Z\","
#define CALL "\"call_id\":\"1605492949-1447\",\"call_first_seen\":\"2026-11-25T23:00:00.845Z\""

static void test_json(void)
{
	struct event ev = make(EVENT_CALL_STARTED, &ann);

	ev.initial = true;
	check_json(&ev, HEAD("call.started") ANN "," CALL ",\"initial\":true}");
	ev = make(EVENT_CALL_ENDED, &ann);
	ev.after_restart = true;
	check_json(&ev, HEAD("call.ended") ANN "," CALL ",\"duration\":61.500,\"after_restart\":true}");
	ev = make(EVENT_CALL_LONG, &bob);
	check_json(&ev, HEAD("call.long") "\"agent\":{\"cc\":2,\"vdn\":5000,\"id\":999999}," CALL
		   ",\"duration\":61.500}");
	ev = make(EVENT_AGENT_BUSY, &bob);
	ev.ncalls = 2;
	check_json(&ev, HEAD("agent.busy") "\"agent\":{\"cc\":2,\"vdn\":5000,\"id\":999999},\"calls\":2}");
	ev = make(EVENT_AGENT_UNREACHABLE, &bob);
	ev.failures = 3;
	ev.reason = "HTTP 503: service unavailable";
	check_json(&ev, HEAD("agent.unreachable") "\"agent\":{\"cc\":2,\"vdn\":5000,\"id\":999999},"
		   "\"failures\":3,\"reason\":\"HTTP 503: service unavailable\"}");
}

static void check_message(const struct event *ev, const char *want)
{
	char buf[256];

	event_describe(ev, buf, sizeof(buf));
	CHECK_STR(buf, want);
}

static void test_messages(void)
{
	struct event ev = make(EVENT_CALL_ENDED, &bob);

	check_message(&ev, "agent 2:5000:999999: call 1605492949-1447 ended after 61.5 s");
	ev = make(EVENT_AGENT_IDLE, &ann);
	check_message(&ev, "agent 1:170:1099 (Ann \"the\" Agent) is idle");
	ev = make(EVENT_AGENT_REACHABLE, &bob);
	check_message(&ev, "agent 2:5000:999999 is reachable again");
}

/* key=value pairs; values with spaces, quotes or control characters quoted and escaped. */
static void test_syslog_line(void)
{
	struct event ev = make(EVENT_AGENT_UNREACHABLE, &ann);
	char line[1024];

	ev.failures = 3;
	ev.reason = "bad response: \"x\"\n=y";
	syslogout_format(&ev, "msg\twith tab", line, sizeof(line));
	CHECK_STR(line, "event=agent.unreachable id=0f4e3a52-7c1d-4d1e-9a43-2b2f7e1c9d10 "
		  "time=2026-11-25T23:01:02.345Z cc=1 vdn=170 agent=1099 name=\"Ann \\\"the\\\" Agent\" "
		  "failures=3 reason=\"bad response: \\\"x\\\"\\x0a=y\" msg=\"msg\\x09with tab\"");
	/* A line that does not fit is cut, never overrun. */
	syslogout_format(&ev, "m", line, 40);
	CHECK_INT(strlen(line), 39);
}

static void test_ids_and_names(void)
{
	struct event a = { 0 }, b = { 0 };

	event_new_id(&a);
	event_new_id(&b);
	CHECK_INT(strlen(a.id), 36);
	CHECK(a.id[14] == '4');		/* a version 4 UUID */
	CHECK(strcmp(a.id, b.id) != 0);
	for (int t = 0; t < EVENT_TYPE_COUNT; t++) {
		CHECK_INT(event_type_from_name(event_type_name((enum event_type)t)), t);
		CHECK_INT(strlen(journal_message_id((enum event_type)t)), 32);
		for (int u = 0; u < t; u++)
			CHECK(strcmp(journal_message_id((enum event_type)t),
				     journal_message_id((enum event_type)u)) != 0);
	}
	CHECK_INT(event_type_from_name("call.*"), EVENT_TYPE_COUNT);
}

int main(void)
{
	test_json();
	test_messages();
	test_syslog_line();
	test_ids_and_names();
	return check_done("test_event");
}
