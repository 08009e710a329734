/* test_agents: poll results in, the exact event stream of product.md out. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "../src/agents.h"
#include "check.h"

#define SEC 1000000ull

static const struct cfg_group alice_group = { .line = 1, .name = "alice" };
static const struct cfg_agent alice = { .cc = 1, .vdn = 170, .id = 1099, .group = &alice_group };
static const struct agents_rules rules = { .failure_threshold = 3, .long_call = 60.0 };

/* The events of one step, as "type call_id flags" strings joined by "; ". */
static char got[4096];

static void record(void *ctx, struct event *ev)
{
	size_t n = strlen(got);

	(void)ctx;
	CHECK(ev->agent == &alice);
	snprintf(got + n, sizeof(got) - n, "%s%s%s%s%s%s%s", n ? "; " : "",
		 event_type_name(ev->type), ev->call_id ? " " : "", ev->call_id ? ev->call_id : "",
		 ev->initial ? " initial" : "", ev->reason ? " reason" : "",
		 ev->after_restart ? " after_restart" : "");
	if (ev->type == EVENT_CALL_ENDED || ev->type == EVENT_CALL_LONG) {
		n = strlen(got);
		snprintf(got + n, sizeof(got) - n, " %.0fs", event_call_duration(ev));
	}
}

static void make_reply(struct reply *r, const char *const *ids)
{
	memset(r, 0, sizeof(*r));
	r->status = REPLY_OK;
	for (; ids && *ids; ids++) {
		snprintf(r->ids[r->ncalls], sizeof(r->ids[0]), "%s", *ids);
		r->calls[r->ncalls] = r->ids[r->ncalls];
		r->ncalls++;
	}
}

static void poll_ok(struct agent_state *st, uint64_t t, const char *const *ids, const char *want)
{
	struct reply r;

	make_reply(&r, ids);
	got[0] = '\0';
	agents_on_success(st, &r, t * SEC, &rules, record, NULL);
	CHECK_STR(got, want);
}

static void poll_fail(struct agent_state *st, uint64_t t, const char *want)
{
	got[0] = '\0';
	agents_on_failure(st, "HTTP 503", t * SEC, &rules, record, NULL);
	CHECK_STR(got, want);
}

#define IDS(...) ((const char *const[]){ __VA_ARGS__, NULL })

static void test_timeline(void)
{
	struct agent_state st = { .cfg = &alice };

	poll_ok(&st, 0, IDS("a-1", "b-2"),
		"call.started a-1 initial; call.started b-2 initial; agent.busy initial");
	poll_ok(&st, 5, IDS("a-1", "b-2"), "");
	poll_ok(&st, 10, IDS("b-2", "c-3"), "call.ended a-1 10s; call.started c-3");
	poll_ok(&st, 15, NULL, "call.ended b-2 15s; call.ended c-3 5s; agent.idle");
	poll_ok(&st, 20, NULL, "");
	poll_ok(&st, 25, IDS("d-4"), "call.started d-4; agent.busy");
	poll_ok(&st, 80, IDS("d-4"), "");
	poll_ok(&st, 85, IDS("d-4"), "call.long d-4 60s");
	agents_state_clear(&st);
}

static void test_idle_baseline_is_silent(void)
{
	struct agent_state st = { .cfg = &alice };

	poll_ok(&st, 0, NULL, "");
	poll_ok(&st, 5, IDS("x"), "call.started x; agent.busy");
	agents_state_clear(&st);
}

/* call.long fires once per call, when it has lasted long_call seconds. */
static void test_long_call(void)
{
	struct agent_state st = { .cfg = &alice };

	poll_ok(&st, 0, NULL, "");
	poll_ok(&st, 10, IDS("x"), "call.started x; agent.busy");
	poll_ok(&st, 65, IDS("x"), "");
	poll_ok(&st, 70, IDS("x"), "call.long x 60s");
	poll_ok(&st, 75, IDS("x"), "");
	poll_ok(&st, 80, IDS("x", "y"), "call.started y");
	poll_ok(&st, 140, IDS("x", "y"), "call.long y 60s");
	poll_ok(&st, 145, NULL, "call.ended x 135s; call.ended y 65s; agent.idle");
	agents_state_clear(&st);
}

/* An outage is not a hang-up: calls stay open and the next success is diffed against the last. */
static void test_outage(void)
{
	struct agent_state st = { .cfg = &alice };

	poll_ok(&st, 0, IDS("a", "b"), "call.started a initial; call.started b initial; agent.busy initial");
	poll_fail(&st, 5, "");
	poll_fail(&st, 10, "");
	poll_fail(&st, 15, "agent.unreachable reason");
	poll_fail(&st, 20, "");
	CHECK_INT(st.ncalls, 2);
	poll_ok(&st, 25, IDS("b", "c"), "agent.reachable; call.ended a 25s; call.started c");
	CHECK_INT(st.failures, 0);
	/* Failures below the threshold are silent and the count restarts after a success. */
	poll_fail(&st, 30, "");
	poll_fail(&st, 35, "");
	poll_ok(&st, 40, IDS("b", "c"), "");
	poll_fail(&st, 45, "");
	poll_fail(&st, 50, "");
	poll_ok(&st, 55, NULL, "call.ended b 55s; call.ended c 30s; agent.idle");
	agents_state_clear(&st);
}

/* An agent unreachable from the start gets reachable, then its baseline. */
static void test_unreachable_from_start(void)
{
	struct agent_state st = { .cfg = &alice };

	poll_fail(&st, 0, "");
	poll_fail(&st, 5, "");
	poll_fail(&st, 10, "agent.unreachable reason");
	poll_ok(&st, 15, IDS("q"), "agent.reachable; call.started q initial; agent.busy initial");
	agents_state_clear(&st);
}

/* Events carry the agent, the call's first-seen time and the failure count. */
static struct event last;
static void keep_last(void *ctx, struct event *ev)
{
	(void)ctx;
	last = *ev;
}

static void test_event_fields(void)
{
	struct agent_state st = { .cfg = &alice };
	struct reply r;

	make_reply(&r, IDS("k"));
	agents_on_success(&st, &r, 100 * SEC, &rules, keep_last, NULL);
	CHECK_INT(last.type, EVENT_AGENT_BUSY);
	CHECK_INT(last.ncalls, 1);
	make_reply(&r, NULL);
	agents_on_success(&st, &r, 130 * SEC + 250000, &rules, keep_last, NULL);
	CHECK_INT(last.type, EVENT_AGENT_IDLE);
	for (int i = 0; i < 3; i++)
		agents_on_failure(&st, "timeout", 140 * SEC, &rules, keep_last, NULL);
	CHECK_INT(last.type, EVENT_AGENT_UNREACHABLE);
	CHECK_INT(last.failures, 3);
	CHECK_STR(last.reason, "timeout");
	CHECK_INT(last.time_us, 140 * SEC);
	agents_state_clear(&st);
}

/* After a restart: restored calls are not started again; those gone end "after_restart". */
static void test_restart(void)
{
	struct agent_state st = { .cfg = &alice };

	agents_restore_call(&st, "b", 10 * SEC, false);
	agents_restore_call(&st, "a", 5 * SEC, true);
	agents_restore_call(&st, "b", 10 * SEC, false);
	CHECK_INT(st.ncalls, 2);
	CHECK_STR(st.calls[0].id, "a");
	poll_ok(&st, 100, IDS("b", "c"),
		"call.ended a after_restart 95s; call.started c; call.long b 90s");
	/* Only the first poll after the restart marks endings. */
	poll_ok(&st, 105, IDS("c"), "call.ended b 95s");
	agents_state_clear(&st);
}

/* Replaying the event log rebuilds the call set and reachability, emitting nothing. */
static void test_replay(void)
{
	struct agent_state st = { .cfg = &alice };

	agents_replay(&st, EVENT_CALL_STARTED, "x", 1 * SEC);
	agents_replay(&st, EVENT_CALL_STARTED, "y", 2 * SEC);
	agents_replay(&st, EVENT_AGENT_BUSY, NULL, 0);
	agents_replay(&st, EVENT_CALL_LONG, "x", 1 * SEC);
	agents_replay(&st, EVENT_CALL_ENDED, "y", 2 * SEC);
	agents_replay(&st, EVENT_CALL_ENDED, "never", 0);
	agents_replay(&st, EVENT_AGENT_UNREACHABLE, NULL, 0);
	CHECK_INT(st.ncalls, 1);
	CHECK(st.calls[0].long_reported);
	CHECK(st.unreachable);
	/* x already had its call.long: none again; reachable first, and x still open. */
	poll_ok(&st, 200, IDS("x"), "agent.reachable");
	agents_replay(&st, EVENT_AGENT_REACHABLE, NULL, 0);
	CHECK(!st.unreachable);
	agents_state_clear(&st);
}

/* An agent whose log holds only reachability events still gets its baseline after a restart. */
static void test_replay_reachability_only(void)
{
	struct agent_state st = { .cfg = &alice };

	agents_replay(&st, EVENT_AGENT_UNREACHABLE, NULL, 0);
	CHECK(st.unreachable);
	CHECK(!st.baselined);
	poll_ok(&st, 10, IDS("z"), "agent.reachable; call.started z initial; agent.busy initial");
	agents_state_clear(&st);
}

int main(void)
{
	test_restart();
	test_replay();
	test_replay_reachability_only();
	test_timeline();
	test_idle_baseline_is_silent();
	test_long_call();
	test_outage();
	test_unreachable_from_start();
	test_event_fields();
	return check_done("test_agents");
}
