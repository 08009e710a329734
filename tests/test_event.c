/* test_event: each event's JSON, human message and syslog line, exactly; ids unique. */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "../src/cmscodes.h"
#include "../src/event.h"
#include "../src/journal.h"
#include "../src/syslogout.h"
#include "../src/utf8.h"
#include "../src/util.h"
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
	ev.detail = (struct event_call_detail){ CMS_CODE_NONE, CMS_CODE_NONE, CMS_CODE_NONE,
						CMS_CODE_NONE, NULL };
	ev.state = (struct event_agent_state){ .code = CMS_CODE_NONE,
					       .previous_code = CMS_CODE_NONE,
					       .reason = CMS_CODE_NONE };
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

/* A call from a batch answer: talking, inbound, phone (5) over WhatsApp. */
static struct event with_detail(enum event_type type, const struct cfg_agent *agent)
{
	struct event ev = make(type, agent);

	ev.detail = (struct event_call_detail){ .status = 5, .previous_status = CMS_CODE_NONE,
						.direction = 0, .media = 5, .submedia = "WhatsApp" };
	return ev;
}

#define BOB "\"agent\":{\"cc\":2,\"vdn\":5000,\"id\":999999},"
#define DETAIL ",\"call_status\":\"talking\",\"call_status_code\":5,\"direction\":\"inbound\"," \
	"\"media\":\"phone\",\"media_type\":5,\"submedia\":\"WhatsApp\""
/* 2026-11-25T22:46:02.345Z: 15 minutes before T0. */
#define SINCE (T0 - 900000000ull)

static void test_json_detail(void)
{
	struct event ev = with_detail(EVENT_CALL_STARTED, &bob);

	check_json(&ev, HEAD("call.started") BOB CALL DETAIL "}");
	ev = with_detail(EVENT_CALL_ENDED, &bob);
	check_json(&ev, HEAD("call.ended") BOB CALL ",\"duration\":61.500" DETAIL "}");
	ev = with_detail(EVENT_CALL_LONG, &bob);
	check_json(&ev, HEAD("call.long") BOB CALL ",\"duration\":61.500" DETAIL "}");
	/* call.status: the status now, and the one before. */
	ev = with_detail(EVENT_CALL_STATUS, &bob);
	ev.call_id = "1605492949-1447";
	ev.call_first_seen_us = T0 - 61500000;
	ev.detail.status = 6;
	ev.detail.previous_status = 5;
	ev.detail.submedia = NULL;
	check_json(&ev, HEAD("call.status") BOB CALL ",\"call_status\":\"held\",\"call_status_code\":6,"
		   "\"direction\":\"inbound\",\"media\":\"phone\",\"media_type\":5,"
		   "\"previous_call_status\":\"talking\"}");
	/* Codes without a name are the numbers themselves. */
	ev.detail = (struct event_call_detail){ .status = 12, .previous_status = 13, .direction = 3,
						.media = 77 };
	check_json(&ev, HEAD("call.status") BOB CALL ",\"call_status\":12,\"call_status_code\":12,"
		   "\"direction\":3,\"media\":77,\"media_type\":77,\"previous_call_status\":13}");
}

static void test_json_state(void)
{
	struct event ev = make(EVENT_AGENT_STATE, &ann);

	ev.state = (struct event_agent_state){ .code = 8, .previous_code = 1, .reason = 258,
					       .since_us = SINCE };
	check_json(&ev, HEAD("agent.state") ANN ",\"state\":\"rest\",\"state_code\":8,"
		   "\"state_since\":\"2026-11-25T22:46:02.345Z\",\"previous_state\":\"idle\","
		   "\"reason_code\":258}");
	/* The first state poll: no previous state; no reason given. */
	ev.state = (struct event_agent_state){ .code = 6, .previous_code = CMS_CODE_NONE,
					       .reason = CMS_CODE_NONE, .since_us = SINCE };
	ev.initial = true;
	check_json(&ev, HEAD("agent.state") ANN ",\"state\":\"wrap_up\",\"state_code\":6,"
		   "\"state_since\":\"2026-11-25T22:46:02.345Z\",\"initial\":true}");
	ev = make(EVENT_AGENT_LONG_STATE, &bob);
	ev.state = (struct event_agent_state){ .code = 8, .previous_code = CMS_CODE_NONE,
					       .reason = 258, .since_us = SINCE, .threshold = 900,
					       .duration_us = 901234567 };
	check_json(&ev, HEAD("agent.long_state") BOB "\"state\":\"rest\",\"state_code\":8,"
		   "\"state_since\":\"2026-11-25T22:46:02.345Z\",\"threshold\":900.0,"
		   "\"duration\":901.234}");
	ev.state.threshold = 0.5;
	check_json(&ev, HEAD("agent.long_state") BOB "\"state\":\"rest\",\"state_code\":8,"
		   "\"state_since\":\"2026-11-25T22:46:02.345Z\",\"threshold\":0.5,"
		   "\"duration\":901.234}");
}

/* What a replay needs comes back from the JSON form, whatever its fields. */
static void check_round_trip(const struct event *ev)
{
	struct json_object *obj = event_to_json(ev);
	struct event back;

	CHECK_INT(event_from_json(obj, &back), 0);
	CHECK_INT(back.type, ev->type);
	CHECK_STR(back.call_id ? back.call_id : "", ev->call_id ? ev->call_id : "");
	CHECK_INT(back.call_first_seen_us, ev->call_id ? ev->call_first_seen_us : 0);
	CHECK_INT(back.initial, ev->initial);
	CHECK_INT(back.detail.status, ev->detail.status);
	CHECK_INT(back.detail.direction, ev->detail.direction);
	CHECK_INT(back.detail.media, ev->detail.media);
	CHECK_STR(back.detail.submedia ? back.detail.submedia : "",
		  ev->detail.submedia ? ev->detail.submedia : "");
	if (ev->type == EVENT_CALL_STATUS)
		CHECK_INT(back.detail.previous_status, ev->detail.previous_status);
	if (ev->type == EVENT_AGENT_STATE || ev->type == EVENT_AGENT_LONG_STATE) {
		CHECK_INT(back.state.code, ev->state.code);
		CHECK_INT(back.state.since_us, ev->state.since_us);
	}
	if (ev->type == EVENT_AGENT_STATE) {
		CHECK_INT(back.state.previous_code, ev->state.previous_code);
		CHECK_INT(back.state.reason, ev->state.reason);
	}
	CHECK(back.agent == NULL);
	json_object_put(obj);
}

static void test_from_json(void)
{
	struct event ev = with_detail(EVENT_CALL_STARTED, &ann);
	struct json_object *obj;

	check_round_trip(&ev);
	ev = make(EVENT_CALL_ENDED, &ann);		/* per-agent: no detail */
	check_round_trip(&ev);
	ev = with_detail(EVENT_CALL_STATUS, &ann);
	ev.call_id = "c-1";
	ev.detail.previous_status = 6;
	ev.detail.direction = 1;
	ev.detail.media = 77;
	check_round_trip(&ev);
	ev.detail.status = 11;
	ev.detail.previous_status = 12;
	check_round_trip(&ev);
	ev = make(EVENT_AGENT_STATE, &ann);
	ev.state = (struct event_agent_state){ .code = 8, .previous_code = 1, .reason = 258,
					       .since_us = SINCE };
	check_round_trip(&ev);
	ev.state.previous_code = CMS_CODE_NONE;
	ev.state.reason = CMS_CODE_NONE;
	ev.initial = true;
	check_round_trip(&ev);
	ev = make(EVENT_AGENT_LONG_STATE, &ann);
	ev.state = (struct event_agent_state){ .code = 7, .previous_code = CMS_CODE_NONE,
					       .reason = CMS_CODE_NONE, .since_us = SINCE,
					       .threshold = 600 };
	check_round_trip(&ev);
	/* Not events: an unknown type, a call without its first-seen, a state without its code. */
	obj = json_tokener_parse("{\"type\":\"call.paused\"}");
	CHECK_INT(event_from_json(obj, &ev), -1);
	json_object_put(obj);
	obj = json_tokener_parse("{\"type\":\"call.started\",\"call_id\":\"x\"}");
	CHECK_INT(event_from_json(obj, &ev), -1);
	json_object_put(obj);
	obj = json_tokener_parse("{\"type\":\"agent.state\",\"state\":\"rest\","
				 "\"state_since\":\"2026-11-25T22:46:02.345Z\"}");
	CHECK_INT(event_from_json(obj, &ev), -1);
	json_object_put(obj);
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
	ev = with_detail(EVENT_CALL_STATUS, &bob);
	ev.call_id = "c-1";
	ev.detail.status = 6;
	ev.detail.previous_status = 5;
	check_message(&ev, "agent 2:5000:999999: call c-1 is now held (was talking)");
	ev.detail.status = 12;
	check_message(&ev, "agent 2:5000:999999: call c-1 is now 12 (was talking)");
	ev = make(EVENT_AGENT_STATE, &bob);
	ev.state.code = 8;
	ev.state.previous_code = 1;
	check_message(&ev, "agent 2:5000:999999 is now rest (was idle)");
	ev.state.previous_code = CMS_CODE_NONE;
	check_message(&ev, "agent 2:5000:999999 is rest (first state poll)");
	ev = make(EVENT_AGENT_LONG_STATE, &bob);
	ev.state.code = 6;
	ev.state.threshold = 300;
	ev.state.duration_us = 301900000;
	check_message(&ev, "agent 2:5000:999999 has been wrap_up for 301 s (alert at 300 s)");
}

/* The new fields as key=value, names for codes, free text last. */
static void test_syslog_detail(void)
{
	struct event ev = with_detail(EVENT_CALL_STATUS, &bob);
	char line[1024];

	ev.call_id = "c-1";
	ev.detail.previous_status = 6;
	ev.detail.media = 77;
	syslogout_format(&ev, "m", line, sizeof(line));
	CHECK_STR(line, "event=call.status id=0f4e3a52-7c1d-4d1e-9a43-2b2f7e1c9d10 "
		  "time=2026-11-25T23:01:02.345Z cc=2 vdn=5000 agent=999999 call_id=c-1 "
		  "call_status=talking previous_call_status=held direction=inbound media=77 "
		  "submedia=WhatsApp msg=m");
	ev = make(EVENT_AGENT_STATE, &bob);
	ev.state = (struct event_agent_state){ .code = 8, .previous_code = 1, .reason = 258,
					       .since_us = SINCE };
	syslogout_format(&ev, "m", line, sizeof(line));
	CHECK_STR(line, "event=agent.state id=0f4e3a52-7c1d-4d1e-9a43-2b2f7e1c9d10 "
		  "time=2026-11-25T23:01:02.345Z cc=2 vdn=5000 agent=999999 state=rest "
		  "previous_state=idle state_since=2026-11-25T22:46:02.345Z reason_code=258 msg=m");
	ev = make(EVENT_AGENT_LONG_STATE, &bob);
	ev.state = (struct event_agent_state){ .code = 8, .previous_code = CMS_CODE_NONE,
					       .reason = CMS_CODE_NONE, .since_us = SINCE,
					       .threshold = 900, .duration_us = 901234567 };
	syslogout_format(&ev, "m", line, sizeof(line));
	CHECK_STR(line, "event=agent.long_state id=0f4e3a52-7c1d-4d1e-9a43-2b2f7e1c9d10 "
		  "time=2026-11-25T23:01:02.345Z cc=2 vdn=5000 agent=999999 state=rest "
		  "state_since=2026-11-25T22:46:02.345Z threshold=900 duration=901.234 msg=m");
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
		  "time=2026-11-25T23:01:02.345Z cc=1 vdn=170 agent=1099 failures=3 "
		  "reason=\"bad response: \\\"x\\\"\\x0a=y\" name=\"Ann \\\"the\\\" Agent\" "
		  "msg=\"msg\\x09with tab\"");
	/* A line that does not fit is cut, never overrun. */
	syslogout_format(&ev, "m", line, 40);
	CHECK_INT(strlen(line), 39);
}

/* n copies of s. */
static char *repeat(const char *s, size_t n)
{
	size_t len = strlen(s);
	char *out = xmalloc(n * len + 1);

	for (size_t i = 0; i < n; i++)
		memcpy(out + i * len, s, len);
	out[n * len] = '\0';
	return out;
}

static bool valid_text(const char *s)
{
	return utf8_valid(s, strlen(s), NULL);
}

static bool ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), t = strlen(tail);

	return n >= t && strcmp(s + n - t, tail) == 0;
}

/* Cutting only between characters, with the mark; rejecting what is not UTF-8. */
static void test_utf8(void)
{
	char buf[8];

	CHECK(utf8_valid("a\xc3\xa9\xe7\x8e\x8b\xf0\x9f\x98\x80", 10, NULL));
	CHECK(!utf8_valid("bad\xffname", 8, NULL));
	CHECK(!utf8_valid("a\xc3", 2, NULL));			/* cut short */
	CHECK(!utf8_valid("\xc0\xaf", 2, NULL));		/* overlong '/' */
	CHECK(!utf8_valid("\xe0\x80\xaf", 3, NULL));		/* overlong, 3 bytes */
	CHECK(!utf8_valid("\xed\xa0\x80", 3, NULL));		/* a UTF-16 surrogate */
	CHECK(!utf8_valid("\xf4\x90\x80\x80", 4, NULL));	/* past U+10FFFF */
	CHECK_INT(utf8_cut("\xe7\x8e\x8b\xe7\x8e\x8b", 6, 4), 3);
	CHECK_INT(utf8_cut("\xe7\x8e\x8b\xe7\x8e\x8b", 6, 2), 0);
	CHECK_INT(utf8_cut("abc", 3, 5), 3);
	CHECK(utf8_copy(buf, sizeof buf, "\xe7\x8e\x8b\xe7\x8e\x8b\xe7\x8e\x8b"));
	CHECK_STR(buf, "\xe7\x8e\x8b...");
	CHECK(!utf8_copy(buf, sizeof buf, "1234567"));
	CHECK_STR(buf, "1234567");
	CHECK(utf8_copy(buf, 3, "\xc3\xa9\xc3\xa9"));
	CHECK_STR(buf, "\xc3\xa9");
}

/* A 26-character Chinese name is 78 bytes: all of it in the message, none of it cut. */
static void test_long_names(void)
{
	char *wang = repeat("\xe7\x8e\x8b", 26), *want, buf[512], small[40];
	struct cfg_group g = { .line = 3, .name = wang };
	struct cfg_agent agent = { .cc = 65535, .vdn = 5000, .id = 999999, .group = &g };
	struct event ev = make(EVENT_CALL_ENDED, &agent);

	event_describe(&ev, buf, sizeof(buf));
	want = xasprintf("agent 65535:5000:999999 (%s): call 1605492949-1447 ended after 61.5 s", wang);
	CHECK_STR(buf, want);
	CHECK(valid_text(buf));
	/* Too long for the buffer: cut between two characters, and marked. */
	event_describe(&ev, small, sizeof(small));
	CHECK(valid_text(small));
	CHECK(ends_with(small, UTF8_CUT_MARK));
	CHECK(strlen(small) >= sizeof(small) - 1 - 2 - strlen(UTF8_CUT_MARK));
	CHECK(strncmp(small, "agent 65535:5000:999999 (\xe7\x8e\x8b", 28) == 0);
	free(want);
	free(wang);
}

/* A 9,000-byte name: the syslog line keeps call_id, duration and msg, and stays valid UTF-8. */
#define FIXED "event=call.ended id=0f4e3a52-7c1d-4d1e-9a43-2b2f7e1c9d10 " \
	"time=2026-11-25T23:01:02.345Z cc=1 vdn=170 agent=1099 call_id=1605492949-1447 " \
	"duration=61.500 name=\xc3\xa9"

static void test_syslog_long_name(void)
{
	char *name = repeat("\xc3\xa9", 4500), line[4096 - 40], message[512], *at;
	struct cfg_group g = { .line = 3, .name = name };
	struct cfg_agent agent = { .cc = 1, .vdn = 170, .id = 1099, .group = &g };
	struct event ev = make(EVENT_CALL_ENDED, &agent);

	event_describe(&ev, message, sizeof(message));
	syslogout_format(&ev, message, line, sizeof(line));
	CHECK(valid_text(line));
	CHECK(strncmp(line, FIXED, strlen(FIXED)) == 0);
	/* The name is cut at its share of the line, between two characters, and marked; msg follows. */
	at = strstr(line, " msg=\"agent 1:170:1099 (\xc3\xa9");
	CHECK(at != NULL);
	if (at) {
		*at = '\0';
		CHECK(ends_with(line, "\xc3\xa9..."));
		CHECK(strlen(line) - (strlen(FIXED) - strlen("\xc3\xa9")) <= 1024);
		CHECK(strlen(line) - (strlen(FIXED) - strlen("\xc3\xa9")) >= 1024 - 4);
		CHECK(ends_with(at + 1, UTF8_CUT_MARK "\""));
	}
	/* Bytes that are not UTF-8 in a reason from the network are escaped, not passed on. */
	ev = make(EVENT_AGENT_UNREACHABLE, &bob);
	ev.reason = "bad\xff\xc3";
	syslogout_format(&ev, "m", line, sizeof(line));
	CHECK(valid_text(line));
	CHECK(strstr(line, " reason=\"bad\\xff\\xc3\" ") != NULL);
	free(name);
}

/* The test's own syslog socket, bound at path; -1 when it cannot be made. */
static int bind_socket(const char *path)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || strlen(path) >= sizeof(addr.sun_path))
		return -1;
	memcpy(addr.sun_path, path, strlen(path) + 1);
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* What arrived on fd, or "" when nothing did. */
static char *receive(int fd)
{
	char *buf = xcalloc(1, 65536);
	ssize_t n = recv(fd, buf, 65535, MSG_DONTWAIT);

	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/*
 * The writer bounds what cfg already bounds: a 4,070-byte ident overran the line on the stack,
 * and a socket path longer than sun_path was cut to name another socket.
 */
static void test_syslog_send_bounds(void)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *dir = xasprintf("%s/test_event.XXXXXX", tmp), *path, *longer, *ident, *got, *want;
	char *pad_name, *i64 = repeat("i", 64), *i65 = repeat("i", 65);
	struct cfg_syslog cfg = { .enabled = true, .facility = LOG_DAEMON };
	struct event ev = make(EVENT_CALL_STARTED, &ann);
	struct syslogout *out;
	size_t pad;
	int fd;

	if (!mkdtemp(dir)) {
		CHECK(!"a temporary directory");
		return;
	}
	/* A path of exactly 107 bytes, the longest sun_path holds. */
	pad = 107 - strlen(dir) - 1;
	pad_name = repeat("s", pad);
	path = xasprintf("%s/%s", dir, pad_name);
	CHECK_INT(strlen(path), 107);
	fd = bind_socket(path);
	CHECK(fd >= 0);
	cfg.socket = path;
	cfg.ident = ident = repeat("i", 4070);
	out = syslogout_new(&cfg);
	syslogout_send(out, &ev, "agent 1:170:1099 (Ann) call started");
	got = receive(fd);
	want = xasprintf("%s[%d]: event=call.started id=0f4e3a52-7c1d-4d1e-9a43-2b2f7e1c9d10 ", i64,
			 (int)getpid());
	CHECK(strstr(got, want) != NULL);
	CHECK(strstr(got, i64) != NULL && strstr(got, i65) == NULL);
	CHECK(ends_with(got, " msg=\"agent 1:170:1099 (Ann) call started\""));
	CHECK(strlen(got) < 4096);
	CHECK_INT(syslogout_dropped(out), 0);
	syslogout_free(out);
	free(got);
	/* One byte more than sun_path holds: refused and counted, never sent to the cut name. */
	cfg.ident = "aw";
	cfg.socket = longer = xasprintf("%sX", path);
	out = syslogout_new(&cfg);
	syslogout_send(out, &ev, "m");
	got = receive(fd);
	CHECK_STR(got, "");
	CHECK_INT(syslogout_dropped(out), 1);
	syslogout_free(out);
	close(fd);
	unlink(path);
	rmdir(dir);
	free(got);
	free(want);
	free(longer);
	free(ident);
	free(path);
	free(pad_name);
	free(i64);
	free(i65);
	free(dir);
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

/* Event ids: random (version 4, RFC 4122 variant) UUIDs in lowercase 8-4-4-4-12 form, each new. */
static void test_new_id(void)
{
	struct event a = { 0 }, b = { 0 };

	event_new_id(&a);
	event_new_id(&b);
	CHECK_INT(strlen(a.id), 36);
	for (int i = 0; i < 36; i++)
		CHECK(i == 8 || i == 13 || i == 18 || i == 23 ? a.id[i] == '-' :
		      strchr("0123456789abcdef", a.id[i]) != NULL);
	CHECK(a.id[14] == '4');
	CHECK(strchr("89ab", a.id[19]) != NULL);
	CHECK(strcmp(a.id, b.id) != 0);
}

int main(void)
{
	test_new_id();
	test_json();
	test_messages();
	test_json_detail();
	test_json_state();
	test_from_json();
	test_syslog_detail();
	test_syslog_line();
	test_utf8();
	test_long_names();
	test_syslog_long_name();
	test_syslog_send_bounds();
	test_ids_and_names();
	return check_done("test_event");
}
