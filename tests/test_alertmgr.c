/* test_alertmgr: which events fire and resolve which Alertmanager alerts, with what labels. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "../src/alertmgr.h"
#include "../src/util.h"
#include "check.h"

#define AGENT "\"agent\":{\"cc\":1,\"vdn\":170,\"id\":1099,\"name\":\"alice\",\"labels\":{\"team\":\"billing\"}}"

static size_t convert(struct alertmgr_set *set, const char *event, struct json_object **out)
{
	struct json_object *ev = json_tokener_parse(event);
	size_t n;

	*out = json_object_new_array();
	n = alertmgr_convert(set, ev, *out, 1795647662345000ull);
	json_object_put(ev);
	return n;
}

static const char *get(struct json_object *alert, const char *group, const char *key)
{
	struct json_object *g = alert, *v;

	if (group && !json_object_object_get_ex(alert, group, &g))
		return NULL;
	return json_object_object_get_ex(g, key, &v) ? json_object_get_string(v) : NULL;
}

/* The labels of AGENT, which every alert of it has. */
static void check_agent_labels(struct json_object *a)
{
	CHECK_STR(get(a, "labels", "cc"), "1");
	CHECK_STR(get(a, "labels", "vdn"), "170");
	CHECK_STR(get(a, "labels", "agent"), "1099");
	CHECK_STR(get(a, "labels", "name"), "alice");
	CHECK_STR(get(a, "labels", "team"), "billing");
}

static void test_long_call(void)
{
	struct alertmgr_set set = { 0 };
	struct json_object *out, *a;

	CHECK_INT(convert(&set, "{\"type\":\"call.started\",\"time\":\"2026-11-25T23:00:00.000Z\","
			  AGENT ",\"call_id\":\"c-1\"}", &out), 0);
	json_object_put(out);
	CHECK_INT(convert(&set, "{\"type\":\"call.long\",\"time\":\"2026-11-25T23:15:00.000Z\","
			  AGENT ",\"call_id\":\"c-1\",\"duration\":900.000}", &out), 1);
	a = json_object_array_get_idx(out, 0);
	CHECK_STR(get(a, "labels", "alertname"), "AgentLongCall");
	check_agent_labels(a);
	CHECK_STR(get(a, "labels", "call_id"), "c-1");
	CHECK_STR(get(a, "annotations", "summary"),
		  "Call c-1 of agent 1:170:1099 (alice) has lasted 900.000 s");
	CHECK_STR(get(a, NULL, "startsAt"), "2026-11-25T23:15:00.000Z");
	/*
	 * Firing: ends five minutes after now unless it is heard of again; the event is from 23:15
	 * while now is 23:01:02.345 (the wall clock was stepped back), so five minutes after 23:15.
	 */
	CHECK_STR(get(a, NULL, "endsAt"), "2026-11-25T23:20:00.000Z");
	json_object_put(out);
	CHECK_INT(set.n, 1);
	/* Another call's end resolves nothing; this call's end resolves it at the event's time. */
	CHECK_INT(convert(&set, "{\"type\":\"call.ended\",\"time\":\"2026-11-25T23:16:00.000Z\","
			  AGENT ",\"call_id\":\"c-2\"}", &out), 0);
	json_object_put(out);
	CHECK_INT(convert(&set, "{\"type\":\"call.ended\",\"time\":\"2026-11-25T23:17:00.000Z\","
			  AGENT ",\"call_id\":\"c-1\"}", &out), 1);
	CHECK_STR(get(json_object_array_get_idx(out, 0), NULL, "endsAt"), "2026-11-25T23:17:00.000Z");
	json_object_put(out);
	CHECK_INT(set.n, 0);
	alertmgr_set_clear(&set);
}

static void test_unreachable_and_persistence(void)
{
	struct alertmgr_set set = { 0 }, copy = { 0 };
	struct json_object *out, *saved;

	CHECK_INT(convert(&set, "{\"type\":\"agent.unreachable\",\"time\":\"2026-11-25T23:00:00.000Z\","
			  AGENT ",\"reason\":\"HTTP 503: service unavailable\"}", &out), 1);
	CHECK_STR(get(json_object_array_get_idx(out, 0), "annotations", "summary"),
		  "agent 1:170:1099 (alice) cannot be polled: HTTP 503: service unavailable");
	json_object_put(out);
	/* The firing set survives a round trip through the cursor file. */
	saved = alertmgr_set_to_json(&set);
	alertmgr_set_from_json(&copy, saved);
	json_object_put(saved);
	CHECK_INT(copy.n, 1);
	out = alertmgr_firing(&copy, 1795647662345000ull);
	CHECK_INT(json_object_array_length(out), 1);
	CHECK_STR(get(json_object_array_get_idx(out, 0), "labels", "alertname"), "AgentUnreachable");
	json_object_put(out);
	CHECK_INT(convert(&copy, "{\"type\":\"agent.reachable\",\"time\":\"2026-11-25T23:05:00.000Z\","
			  AGENT "}", &out), 1);
	json_object_put(out);
	CHECK_INT(copy.n, 0);
	/* Malformed events add nothing. */
	CHECK_INT(convert(&set, "{\"type\":\"call.long\"}", &out), 0);
	json_object_put(out);
	CHECK_INT(convert(&set, "[1,2]", &out), 0);
	json_object_put(out);
	alertmgr_set_clear(&set);
	alertmgr_set_clear(&copy);
}

/* An alert Alertmanager accepts: endsAt (when set) not before startsAt; prints both. */
static void check_order(struct json_object *alert, const char *starts, const char *ends)
{
	CHECK_STR(get(alert, NULL, "startsAt"), starts);
	CHECK_STR(get(alert, NULL, "endsAt"), ends);
	CHECK(strcmp(get(alert, NULL, "endsAt"), get(alert, NULL, "startsAt")) >= 0);
}

/*
 * AgentUnreachable fired at 23:10; the wall clock was then stepped back (now is 23:01:02.345).
 * Re-sends end five minutes after the start, not before it; the resolve at 23:01:30 is
 * accepted and takes effect at once: it starts and ends then.
 */
static void test_clock_step_back(void)
{
	struct alertmgr_set set = { 0 };
	struct json_object *out;

	CHECK_INT(convert(&set, "{\"type\":\"agent.unreachable\",\"time\":\"2026-11-25T23:10:00.000Z\","
			  AGENT ",\"reason\":\"timeout\"}", &out), 1);
	check_order(json_object_array_get_idx(out, 0), "2026-11-25T23:10:00.000Z",
		    "2026-11-25T23:15:00.000Z");
	json_object_put(out);
	out = alertmgr_firing(&set, 1795647662345000ull);
	check_order(json_object_array_get_idx(out, 0), "2026-11-25T23:10:00.000Z",
		    "2026-11-25T23:15:00.000Z");
	json_object_put(out);
	/* Once the wall clock is past the start again, five minutes after now. */
	out = alertmgr_firing(&set, 1795648322000000ull);
	check_order(json_object_array_get_idx(out, 0), "2026-11-25T23:10:00.000Z",
		    "2026-11-25T23:17:02.000Z");
	json_object_put(out);
	CHECK_INT(convert(&set, "{\"type\":\"agent.reachable\",\"time\":\"2026-11-25T23:01:30.000Z\","
			  AGENT "}", &out), 1);
	check_order(json_object_array_get_idx(out, 0), "2026-11-25T23:01:30.000Z",
		    "2026-11-25T23:01:30.000Z");
	json_object_put(out);
	/* A resolve after the start keeps the start. */
	convert(&set, "{\"type\":\"agent.unreachable\",\"time\":\"2026-11-25T23:00:00.000Z\","
		AGENT ",\"reason\":\"timeout\"}", &out);
	json_object_put(out);
	convert(&set, "{\"type\":\"agent.reachable\",\"time\":\"2026-11-25T23:01:00.000Z\","
		AGENT "}", &out);
	check_order(json_object_array_get_idx(out, 0), "2026-11-25T23:00:00.000Z",
		    "2026-11-25T23:01:00.000Z");
	json_object_put(out);
	alertmgr_set_clear(&set);
}

static bool keep_only_c2(void *ctx, const char *alertname, uint32_t cc, uint32_t vdn, uint32_t id,
			 const char *call_id)
{
	(void)ctx;
	CHECK_STR(alertname, "AgentLongCall");
	CHECK(cc == 1 && vdn == 170 && id == 1099);
	return call_id && strcmp(call_id, "c-2") == 0;
}

/* Alerts whose call or agent is gone stop being re-sent. */
static void test_prune(void)
{
	struct alertmgr_set set = { 0 };
	struct json_object *out;

	convert(&set, "{\"type\":\"call.long\",\"time\":\"2026-11-25T23:15:00.000Z\"," AGENT
		",\"call_id\":\"c-1\",\"duration\":900.000}", &out);
	json_object_put(out);
	convert(&set, "{\"type\":\"call.long\",\"time\":\"2026-11-25T23:16:00.000Z\"," AGENT
		",\"call_id\":\"c-2\",\"duration\":900.000}", &out);
	json_object_put(out);
	CHECK_INT(alertmgr_set_prune(&set, keep_only_c2, NULL, NULL, 0), 1);
	CHECK_INT(set.n, 1);
	CHECK(strstr(set.v[0].key, "c-2") != NULL);
	alertmgr_set_clear(&set);
}

/* Many alerts fired and resolved in mixed order: the hashed set finds each one, and forgets. */
static void test_many(void)
{
	struct alertmgr_set set = { 0 };
	struct json_object *out;
	char ev[256];
	size_t live = 0;

	for (int i = 0; i < 5000; i++) {
		snprintf(ev, sizeof(ev), "{\"type\":\"agent.unreachable\",\"time\":\"2026-11-25T23:00:00.000Z\","
			 "\"agent\":{\"cc\":1,\"vdn\":170,\"id\":%d}}", 1000 + i);
		CHECK_INT(convert(&set, ev, &out), 1);
		json_object_put(out);
	}
	CHECK_INT(set.n, 5000);
	/* Resolve every third, in reverse, and one that does not fire (nothing). */
	for (int i = 4999; i >= -1; i--) {
		if (i >= 0 && i % 3 != 0)
			continue;
		snprintf(ev, sizeof(ev), "{\"type\":\"agent.reachable\",\"time\":\"2026-11-25T23:01:00.000Z\","
			 "\"agent\":{\"cc\":1,\"vdn\":170,\"id\":%d}}", 1000 + i);
		CHECK_INT(convert(&set, ev, &out), i >= 0);
		json_object_put(out);
	}
	for (int i = 0; i < 5000; i++)
		live += i % 3 != 0;
	CHECK_INT(set.n, live);
	/* A refused alert is forgotten: its resolve then adds nothing. */
	snprintf(ev, sizeof(ev), "{\"type\":\"agent.unreachable\",\"time\":\"2026-11-25T23:00:00.000Z\","
		 "\"agent\":{\"cc\":1,\"vdn\":170,\"id\":%d}}", 1001);
	{
		struct json_object *e = json_tokener_parse(ev);

		CHECK_INT(alertmgr_forget(&set, e), 1);
		CHECK_INT(alertmgr_forget(&set, e), 0);
		json_object_put(e);
	}
	CHECK_INT(set.n, live - 1);
	snprintf(ev, sizeof(ev), "{\"type\":\"agent.reachable\",\"time\":\"2026-11-25T23:01:00.000Z\","
		 "\"agent\":{\"cc\":1,\"vdn\":170,\"id\":%d}}", 1001);
	CHECK_INT(convert(&set, ev, &out), 0);
	json_object_put(out);
	snprintf(ev, sizeof(ev), "{\"type\":\"agent.reachable\",\"time\":\"2026-11-25T23:01:00.000Z\","
		 "\"agent\":{\"cc\":1,\"vdn\":170,\"id\":%d}}", 1002);
	CHECK_INT(convert(&set, ev, &out), 1);
	json_object_put(out);
	CHECK_INT(set.n, live - 2);
	alertmgr_set_clear(&set);
}

/* AgentLongState: fired by agent.long_state with the state as a label, resolved by agent.state. */
static void test_long_state(void)
{
	struct alertmgr_set set = { 0 };
	struct json_object *out, *a;

	CHECK_INT(convert(&set, "{\"type\":\"agent.state\",\"time\":\"2026-11-25T23:00:00.000Z\","
			  AGENT ",\"state\":\"rest\",\"state_code\":8,\"initial\":true}", &out), 0);
	json_object_put(out);
	CHECK_INT(convert(&set, "{\"type\":\"agent.long_state\",\"time\":\"2026-11-25T23:15:00.000Z\","
			  AGENT ",\"state\":\"rest\",\"state_code\":8,"
			  "\"state_since\":\"2026-11-25T23:00:00.000Z\",\"threshold\":900.0,"
			  "\"duration\":900.250}", &out), 1);
	a = json_object_array_get_idx(out, 0);
	CHECK_STR(get(a, "labels", "alertname"), "AgentLongState");
	check_agent_labels(a);
	CHECK_STR(get(a, "labels", "state"), "rest");
	CHECK(get(a, "labels", "call_id") == NULL);
	CHECK_STR(get(a, "annotations", "summary"),
		  "agent 1:170:1099 (alice) has been rest for 900.250 s");
	CHECK_STR(get(a, NULL, "startsAt"), "2026-11-25T23:15:00.000Z");
	json_object_put(out);
	/* Other agents' changes and other alerts' ends leave it firing. */
	CHECK_INT(convert(&set, "{\"type\":\"agent.state\",\"time\":\"2026-11-25T23:16:00.000Z\","
			  "\"agent\":{\"cc\":1,\"vdn\":170,\"id\":1100},\"state\":\"idle\"}", &out), 0);
	json_object_put(out);
	CHECK_INT(convert(&set, "{\"type\":\"agent.reachable\",\"time\":\"2026-11-25T23:16:00.000Z\","
			  AGENT "}", &out), 0);
	json_object_put(out);
	CHECK_INT(set.n, 1);
	/* The agent's next state, whichever, resolves it at its time. */
	CHECK_INT(convert(&set, "{\"type\":\"agent.state\",\"time\":\"2026-11-25T23:17:00.000Z\","
			  AGENT ",\"state\":\"idle\",\"state_code\":1,\"previous_state\":\"rest\"}",
			  &out), 1);
	a = json_object_array_get_idx(out, 0);
	CHECK_STR(get(a, "labels", "state"), "rest");
	CHECK_STR(get(a, NULL, "endsAt"), "2026-11-25T23:17:00.000Z");
	json_object_put(out);
	CHECK_INT(set.n, 0);
	/* A state without a name is labelled with its number. */
	CHECK_INT(convert(&set, "{\"type\":\"agent.long_state\",\"time\":\"2026-11-25T23:15:00.000Z\","
			  AGENT ",\"state\":12,\"state_code\":12,\"duration\":900.000}", &out), 1);
	CHECK_STR(get(json_object_array_get_idx(out, 0), "labels", "state"), "12");
	json_object_put(out);
	alertmgr_set_clear(&set);
}

/* An agent's own label named "state" (a region, say) never hides AgentLongState's CTI state. */
static void test_label_named_state(void)
{
	struct alertmgr_set set = { 0 };
	struct json_object *out, *a;

	CHECK_INT(convert(&set, "{\"type\":\"agent.long_state\",\"time\":\"2026-11-25T23:15:00.000Z\","
			  "\"agent\":{\"cc\":1,\"vdn\":170,\"id\":1099,\"labels\":{\"state\":\"CA\"}},"
			  "\"state\":\"rest\",\"state_code\":8,\"duration\":900.000}", &out), 1);
	a = json_object_array_get_idx(out, 0);
	CHECK_STR(get(a, "labels", "state"), "rest");
	json_object_put(out);
	/* Other alerts keep it as a label of the agent. */
	CHECK_INT(convert(&set, "{\"type\":\"agent.unreachable\",\"time\":\"2026-11-25T23:16:00.000Z\","
			  "\"agent\":{\"cc\":1,\"vdn\":170,\"id\":1099,\"labels\":{\"state\":\"CA\"}},"
			  "\"failures\":3,\"reason\":\"timeout\"}", &out), 1);
	CHECK_STR(get(json_object_array_get_idx(out, 0), "labels", "state"), "CA");
	json_object_put(out);
	alertmgr_set_clear(&set);
}

static bool keep_none(void *ctx, const char *alertname, uint32_t cc, uint32_t vdn, uint32_t id,
		      const char *call_id)
{
	(void)ctx;
	CHECK_STR(alertname, "AgentLongState");
	CHECK(cc == 1 && vdn == 170 && id == 1099 && call_id == NULL);
	return false;
}

/*
 * A removed agent's (or a new stint's) AgentLongState is no longer re-sent, and is handed back
 * resolved as of the prune, labels unchanged, for the sender to tell Alertmanager at once.
 */
static void test_long_state_prune(void)
{
	struct alertmgr_set set = { 0 };
	struct json_object *out, *resolved = json_object_new_array(), *alert, *labels, *v;
	uint64_t now_us;

	convert(&set, "{\"type\":\"agent.long_state\",\"time\":\"2026-11-25T23:15:00.000Z\","
		AGENT ",\"state\":\"busy\",\"state_code\":7,\"duration\":600.000}", &out);
	json_object_put(out);
	CHECK_INT(util_parse_time("2026-11-25T23:17:30.250Z", &now_us), 0);
	CHECK_INT(alertmgr_set_prune(&set, keep_none, NULL, resolved, now_us), 1);
	CHECK_INT(set.n, 0);
	CHECK_INT(json_object_array_length(resolved), 1);
	alert = json_object_array_get_idx(resolved, 0);
	CHECK(json_object_object_get_ex(alert, "endsAt", &v));
	CHECK_STR(json_object_get_string(v), "2026-11-25T23:17:30.250Z");
	CHECK(json_object_object_get_ex(alert, "startsAt", &v));
	CHECK_STR(json_object_get_string(v), "2026-11-25T23:15:00.000Z");
	CHECK(json_object_object_get_ex(alert, "labels", &labels));
	CHECK(json_object_object_get_ex(labels, "alertname", &v));
	CHECK_STR(json_object_get_string(v), "AgentLongState");
	CHECK(json_object_object_get_ex(labels, "state", &v));
	CHECK_STR(json_object_get_string(v), "busy");
	json_object_put(resolved);
	alertmgr_set_clear(&set);
}

int main(void)
{
	test_long_state();
	test_long_state_prune();
	test_label_named_state();
	test_many();
	test_prune();
	test_long_call();
	test_unreachable_and_persistence();
	test_clock_step_back();
	return check_done("test_alertmgr");
}
