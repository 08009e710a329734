/* test_agents: poll results in, the exact event stream of product.md out. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/agents.h"
#include "../src/cmscodes.h"
#include "check.h"

#define SEC 1000000ull
#define WALL0 1795647600ull	/* the wall clock, in seconds, when the boot clock reads 0 */

/* Seconds the wall clock has been stepped (negative: back) since WALL0; the boot clock never is. */
static int64_t wall_step;

/* Replays one logged event of type on call (NULL for agent events), first seen at first_us. */
static void replay(struct agent_state *st, enum event_type type, const char *call, uint64_t first_us,
		   const struct agents_clock *now)
{
	struct event ev = { .type = type, .call_id = call, .call_first_seen_us = first_us };

	agents_replay(st, &ev, now);
}

/* Both clocks t seconds into the test. */
static struct agents_clock at(uint64_t t)
{
	return (struct agents_clock){ .real_us = (uint64_t)((int64_t)(WALL0 + t) + wall_step) * SEC,
				      .boot_us = (int64_t)(t * SEC) };
}

static const struct cfg_group alice_group = { .line = 1, .name = "alice" };
static const struct cfg_agent alice = { .cc = 1, .vdn = 170, .id = 1099, .group = &alice_group };
static const struct agents_rules rules = { .failure_threshold = 3, .long_call = 60.0 };

/* The events of one step, as "type call_id flags" strings joined by "; ". */
static char got[4096];
/* The last call event recorded (its numbers only: call_id may be freed by now). */
static struct event last_call;

/* The name of a code, "-" for none. */
static const char *nm(const char *(*name_of)(int), int code)
{
	return code == CMS_CODE_NONE ? "-" : name_of(code) ? name_of(code) : "?";
}

/*
 * The new types' data: "call.status b held<talking", "agent.state rest<idle since=-95",
 * "agent.long_state rest since=-95 900s/900s" (since in seconds relative to the event's time).
 */
static void record_detail(const struct event *ev)
{
	size_t n = strlen(got);
	long long since = ((long long)ev->state.since_us - (long long)ev->time_us) / (long long)SEC;

	if (ev->type == EVENT_CALL_STATUS)
		snprintf(got + n, sizeof(got) - n, " %s<%s",
			 nm(cmscodes_call_status_name, ev->detail.status),
			 nm(cmscodes_call_status_name, ev->detail.previous_status));
	if (ev->type == EVENT_AGENT_STATE)
		snprintf(got + n, sizeof(got) - n, " %s<%s since=%lld reason=%d",
			 nm(cmscodes_state_name, ev->state.code),
			 nm(cmscodes_state_name, ev->state.previous_code), since,
			 (int)ev->state.reason);
	if (ev->type == EVENT_AGENT_LONG_STATE)
		snprintf(got + n, sizeof(got) - n, " %s since=%lld %.0fs/%.0fs",
			 nm(cmscodes_state_name, ev->state.code), since,
			 (double)(ev->state.duration_us / SEC), ev->state.threshold);
}

static void record(void *ctx, struct event *ev)
{
	size_t n = strlen(got);

	(void)ctx;
	if (ev->call_id)
		last_call = *ev;
	CHECK(ev->agent == &alice);
	snprintf(got + n, sizeof(got) - n, "%s%s%s%s%s%s%s", n ? "; " : "",
		 event_type_name(ev->type), ev->call_id ? " " : "", ev->call_id ? ev->call_id : "",
		 ev->initial ? " initial" : "", ev->reason ? " reason" : "",
		 ev->after_restart ? " after_restart" : "");
	if (ev->type == EVENT_CALL_ENDED || ev->type == EVENT_CALL_LONG) {
		n = strlen(got);
		snprintf(got + n, sizeof(got) - n, " %.0fs", event_call_duration(ev));
	}
	record_detail(ev);
}

static void make_reply(struct reply *r, const char *const *ids)
{
	memset(r, 0, sizeof(*r));
	r->status = REPLY_OK;
	for (; ids && *ids; ids++) {
		snprintf(r->ids[r->ncalls], sizeof(r->ids[0]), "%s", *ids);
		r->calls[r->ncalls] = (struct reply_call){ .id = r->ids[r->ncalls],
							 .status = CMS_CODE_NONE,
							 .direction = CMS_CODE_NONE,
							 .media = CMS_CODE_NONE };
		r->ncalls++;
	}
}

static void poll_ok(struct agent_state *st, uint64_t t, const char *const *ids, const char *want)
{
	struct reply r;

	struct agents_clock now = at(t);

	make_reply(&r, ids);
	got[0] = '\0';
	agents_on_success(st, r.calls, r.ncalls, &now, &rules, record, NULL);
	CHECK_STR(got, want);
}

static void poll_fail(struct agent_state *st, uint64_t t, const char *want)
{
	struct agents_clock now = at(t);

	got[0] = '\0';
	agents_on_failure(st, "HTTP 503", &now, &rules, record, NULL);
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
	struct agents_clock now = at(100);
	struct reply r;

	make_reply(&r, IDS("k"));
	agents_on_success(&st, r.calls, r.ncalls, &now, &rules, keep_last, NULL);
	CHECK_INT(last.type, EVENT_AGENT_BUSY);
	CHECK_INT(last.ncalls, 1);
	make_reply(&r, NULL);
	now = at(130);
	agents_on_success(&st, r.calls, r.ncalls, &now, &rules, keep_last, NULL);
	CHECK_INT(last.type, EVENT_AGENT_IDLE);
	now = at(140);
	for (int i = 0; i < 3; i++)
		agents_on_failure(&st, "timeout", &now, &rules, keep_last, NULL);
	CHECK_INT(last.type, EVENT_AGENT_UNREACHABLE);
	CHECK_INT(last.failures, 3);
	CHECK_STR(last.reason, "timeout");
	CHECK_INT(last.time_us, (WALL0 + 140) * SEC);
	agents_state_clear(&st);
}

/* After a restart: restored calls are not started again; those gone end "after_restart". */
static void test_restart(void)
{
	struct agent_state st = { .cfg = &alice };

	agents_restore_call(&st, "b", (WALL0 + 10) * SEC, 10 * SEC, false);
	agents_restore_call(&st, "a", (WALL0 + 5) * SEC, 5 * SEC, true);
	agents_restore_call(&st, "b", (WALL0 + 10) * SEC, 10 * SEC, false);
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
	struct agents_clock now = at(100);

	replay(&st, EVENT_CALL_STARTED, "x", (WALL0 + 1) * SEC, &now);
	replay(&st, EVENT_CALL_STARTED, "y", (WALL0 + 2) * SEC, &now);
	replay(&st, EVENT_AGENT_BUSY, NULL, 0, &now);
	replay(&st, EVENT_CALL_LONG, "x", (WALL0 + 1) * SEC, &now);
	replay(&st, EVENT_CALL_ENDED, "y", (WALL0 + 2) * SEC, &now);
	replay(&st, EVENT_CALL_ENDED, "never", 0, &now);
	replay(&st, EVENT_AGENT_UNREACHABLE, NULL, 0, &now);
	/* Its age comes from the wall clock: 99 s old at 100 s in. */
	CHECK_INT(agents_call_age_us(&st.calls[0], now.boot_us), 99 * SEC);
	CHECK_INT(st.ncalls, 1);
	CHECK(st.calls[0].long_reported);
	CHECK(st.unreachable);
	/* x already had its call.long: none again; reachable first, and x still open. */
	poll_ok(&st, 200, IDS("x"), "agent.reachable");
	replay(&st, EVENT_AGENT_REACHABLE, NULL, 0, &now);
	CHECK(!st.unreachable);
	agents_state_clear(&st);
}

/* An agent whose log holds only reachability events still gets its baseline after a restart. */
static void test_replay_reachability_only(void)
{
	struct agent_state st = { .cfg = &alice };
	struct agents_clock now = at(1);

	replay(&st, EVENT_AGENT_UNREACHABLE, NULL, 0, &now);
	CHECK(st.unreachable);
	CHECK(!st.baselined);
	poll_ok(&st, 10, IDS("z"), "agent.reachable; call.started z initial; agent.busy initial");
	agents_state_clear(&st);
}

/*
 * The wall clock stepped back 10 minutes 30 s into a call: no call.long until 60 s of observed
 * time, then one, with the observed duration; event times follow the wall clock.
 */
static void test_wall_step_back(void)
{
	struct agent_state st = { .cfg = &alice };

	poll_ok(&st, 0, NULL, "");
	poll_ok(&st, 10, IDS("x"), "call.started x; agent.busy");
	wall_step = -600;
	poll_ok(&st, 40, IDS("x"), "");
	poll_ok(&st, 69, IDS("x"), "");
	poll_ok(&st, 70, IDS("x"), "call.long x 60s");
	CHECK_INT(last_call.call_duration_us, 60 * SEC);
	CHECK_INT(last_call.time_us, (WALL0 + 70 - 600) * SEC);
	CHECK_INT(last_call.call_first_seen_us, (WALL0 + 10) * SEC);
	poll_ok(&st, 75, IDS("x"), "");
	poll_ok(&st, 100, NULL, "call.ended x 90s; agent.idle");
	wall_step = 0;
	agents_state_clear(&st);
}

/* The wall clock stepped 2 h forward during calls seen 10 to 55 s: durations stay observed time. */
static void test_wall_step_forward(void)
{
	struct agent_state st = { .cfg = &alice };

	poll_ok(&st, 0, NULL, "");
	poll_ok(&st, 5, IDS("a", "b"), "call.started a; call.started b; agent.busy");
	wall_step = 7200;
	poll_ok(&st, 15, IDS("b"), "call.ended a 10s");
	CHECK_INT(last_call.time_us, (WALL0 + 15 + 7200) * SEC);
	poll_ok(&st, 59, IDS("b"), "");
	poll_ok(&st, 60, NULL, "call.ended b 55s; agent.idle");
	CHECK_INT(last_call.call_duration_us, 55 * SEC);
	CHECK_INT(last_call.call_first_seen_us, (WALL0 + 5) * SEC);
	wall_step = 0;
	agents_state_clear(&st);
}

/* Ages are never negative; a wall-clock anchor clamps at 0 and keeps older ages exact. */
static void test_anchor(void)
{
	struct agents_clock now = { .real_us = (WALL0 + 100) * SEC, .boot_us = 30 * SEC };
	struct agent_call call = { .first_seen_boot_us = agents_anchor((WALL0 + 40) * SEC, &now) };

	/* Seen 60 s ago by the wall clock, before this boot began: a negative boot-clock time. */
	CHECK_INT(call.first_seen_boot_us, -30 * (int64_t)SEC);
	CHECK_INT(agents_call_age_us(&call, now.boot_us), 60 * SEC);
	/* Saved at a wall-clock time later than now (stepped back since): age 0, not negative. */
	call.first_seen_boot_us = agents_anchor((WALL0 + 700) * SEC, &now);
	CHECK_INT(call.first_seen_boot_us, 30 * SEC);
	CHECK_INT(agents_call_age_us(&call, now.boot_us), 0);
	CHECK_INT(agents_call_age_us(&call, now.boot_us - 5 * (int64_t)SEC), 0);
	/* A wall-clock time near the epoch still gives a finite, positive age. */
	call.first_seen_boot_us = agents_anchor(0, &now);
	CHECK(agents_call_age_us(&call, now.boot_us) >= (WALL0 + 100) * SEC);
	/* Whatever a state file holds, the age does not overflow. */
	call.first_seen_boot_us = INT64_MIN;
	CHECK(agents_call_age_us(&call, 5) == (uint64_t)INT64_MAX + 6);
}

/* ---- call detail (batch answers) ---- */

/* A call of a batch answer: "id:status:direction:media[:submedia]", codes as numbers, - for none. */
static struct reply_call parse_call(char *spec)
{
	char *id = strtok(spec, ":"), *status = strtok(NULL, ":"), *dir = strtok(NULL, ":");
	char *media = strtok(NULL, ":"), *sub = strtok(NULL, ":");

	return (struct reply_call){
		.id = id,
		.status = (int16_t)(status && *status != '-' ? atoi(status) : CMS_CODE_NONE),
		.direction = (int16_t)(dir && *dir != '-' ? atoi(dir) : CMS_CODE_NONE),
		.media = media && *media != '-' ? atoi(media) : CMS_CODE_NONE,
		.submedia = sub,
	};
}

static void poll_calls(struct agent_state *st, uint64_t t, const char *const *specs,
		       const char *want)
{
	char buf[REPLY_MAX_CALLS][128];
	struct reply_call calls[REPLY_MAX_CALLS];
	struct agents_clock now = at(t);
	size_t n = 0;

	for (; specs && *specs; specs++, n++) {
		snprintf(buf[n], sizeof(buf[n]), "%s", *specs);
		calls[n] = parse_call(buf[n]);
	}
	got[0] = '\0';
	agents_on_success(st, calls, n, &now, &rules, record, NULL);
	CHECK_STR(got, want);
}

/* The order within one poll: call.ended, call.status, call.started, agent.busy/idle, call.long. */
static void test_call_status_order(void)
{
	struct agent_state st;

	agents_state_init(&st, &alice);
	poll_calls(&st, 0, IDS("a:5:0:5", "b:5:0:5"),
		   "call.started a initial; call.started b initial; agent.busy initial");
	CHECK_INT(last_call.detail.status, 5);
	CHECK_INT(last_call.detail.media, 5);
	CHECK_INT(last_call.detail.previous_status, CMS_CODE_NONE);
	poll_calls(&st, 5, IDS("a:5:0:5", "b:5:0:5"), "");
	/* b has lasted 60 s at 60: its call.long comes last, after what the poll changed. */
	poll_calls(&st, 60, IDS("b:6:0:5", "c:4:1:1:WhatsApp"),
		   "call.ended a 60s; call.status b held<talking; call.started c; call.long b 60s");
	/* call.long carries the detail as it is now. */
	CHECK_INT(last_call.detail.status, 6);
	poll_calls(&st, 65, IDS("b:5:0:5", "c:5:1:1:WhatsApp"),
		   "call.status b talking<held; call.status c talking<alerting");
	CHECK_STR(last_call.detail.submedia, "WhatsApp");
	CHECK_INT(last_call.detail.direction, 1);
	CHECK_INT(last_call.detail.media, 1);
	poll_calls(&st, 70, NULL, "call.ended b 70s; call.ended c 10s; agent.idle");
	CHECK_INT(last_call.detail.status, 5);
	agents_state_clear(&st);
}

/* call.status only from one known status to another; the rest of the detail changes silently. */
static void test_call_status_silent(void)
{
	struct agent_state st;
	struct agent_call *calls;
	char *sub;

	agents_state_init(&st, &alice);
	poll_calls(&st, 0, IDS("a:-:-:-"), "call.started a initial; agent.busy initial");
	CHECK_INT(last_call.detail.status, CMS_CODE_NONE);
	/* Detail appearing (per-agent polling, then batch): no transition seen. */
	poll_calls(&st, 5, IDS("a:5:0:5"), "");
	CHECK_INT(st.calls[0].status, 5);
	/* Direction, media and submedia change: no event, but kept. */
	poll_calls(&st, 10, IDS("a:5:1:53:Facebook"), "");
	CHECK_INT(st.calls[0].direction, 1);
	CHECK_INT(st.calls[0].media, 53);
	CHECK_STR(st.calls[0].submedia, "Facebook");
	/* An unchanged poll allocates nothing: the list and its strings stay where they are. */
	calls = st.calls;
	sub = st.calls[0].submedia;
	poll_calls(&st, 15, IDS("a:5:1:53:Facebook"), "");
	CHECK(st.calls == calls);
	CHECK(st.calls[0].submedia == sub);
	poll_calls(&st, 20, IDS("a:5:1:53"), "");
	CHECK(st.calls[0].submedia == NULL);
	/* Detail vanishing (fallback to per-agent polling), then coming back changed: silent. */
	poll_calls(&st, 25, IDS("a:-:-:-"), "");
	CHECK_INT(st.calls[0].status, CMS_CODE_NONE);
	poll_calls(&st, 30, IDS("a:6:1:53"), "");
	/* Codes without a name still change. */
	poll_calls(&st, 35, IDS("a:12:1:53"), "call.status a ?<held");
	agents_state_clear(&st);
}

/* ---- agent state ---- */

static struct agents_rules state_rules = { .failure_threshold = 3, .long_call = 60.0 };

static bool long_state_ended;	/* what the last poll_state's agents_on_state returned */

/* A state poll at t: currentState code, currentStateTime seconds (-1: not set), reason. */
static void poll_state(struct agent_state *st, uint64_t t, int code, int64_t seconds, int reason,
		       const char *want)
{
	struct replybatch_state cti = { .agent_id = alice.id, .state = (int16_t)code,
					.prev_state = CMS_CODE_NONE, .state_seconds = seconds,
					.reason = reason, .logon_ms = -1 };
	struct agents_clock now = at(t);

	got[0] = '\0';
	long_state_ended = agents_on_state(st, &cti, &now, &state_rules, record, NULL);
	CHECK_STR(got, want);
}

static void test_agent_state(void)
{
	struct agent_state st;

	agents_state_init(&st, &alice);
	state_rules.long_state[8] = 900;	/* rest */
	state_rules.long_state[6] = 300;	/* wrap_up */
	/* The first state poll: initial, since now - currentStateTime. */
	poll_state(&st, 100, 1, 40, CMS_CODE_NONE, "agent.state initial idle<- since=-40 reason=-1");
	poll_state(&st, 105, 1, 45, CMS_CODE_NONE, "");
	/* A change: since from this poll's counter, the reason when given. */
	poll_state(&st, 110, 8, 3, 258, "agent.state rest<idle since=-3 reason=258");
	CHECK_INT(st.cti.since_us, (WALL0 + 107) * SEC);
	CHECK_INT(st.cti.since_boot_us, 107 * (int64_t)SEC);
	/* since is kept, not recomputed from each poll's counter (which drifts by its rounding). */
	poll_state(&st, 115, 8, 9, 258, "");
	CHECK_INT(st.cti.since_us, (WALL0 + 107) * SEC);
	/* A reason changing within a state is no transition. */
	poll_state(&st, 120, 8, 13, 259, "");
	CHECK_INT(st.cti.reason, 259);
	/* agent.long_state once, when 900 s have passed on the boot clock. */
	wall_step = -3600;
	poll_state(&st, 1006, 8, 899, 259, "");
	poll_state(&st, 1007, 8, 900, 259, "agent.long_state rest since=2700 900s/900s");
	wall_step = 0;
	poll_state(&st, 1012, 8, 905, 259, "");
	CHECK(st.cti.long_reported);
	/* The not-set marker: no counter means the state began now; no reason. */
	poll_state(&st, 1020, 6, -1, CMS_CODE_NONE, "agent.state wrap_up<rest since=0 reason=-1");
	CHECK(!st.cti.long_reported);
	poll_state(&st, 1320, 6, -1, CMS_CODE_NONE, "agent.long_state wrap_up since=-300 300s/300s");
	/* A state without a threshold never fires. */
	poll_state(&st, 1330, 7, 1, CMS_CODE_NONE, "agent.state busy<wrap_up since=-1 reason=-1");
	poll_state(&st, 9000, 7, 7671, CMS_CODE_NONE, "");
	/* Unusable entries change nothing. */
	poll_state(&st, 9005, 42, 1, CMS_CODE_NONE, "");
	CHECK_INT(st.cti.code, 7);
	/* A counter from before the epoch (one short of the marker) is no counter: since now, no
	 * agent.long_state at once, no date in 1970. */
	poll_state(&st, 9010, 8, 4294967294LL, CMS_CODE_NONE, "agent.state rest<busy since=0 reason=-1");
	CHECK_INT(st.cti.since_us, (WALL0 + 9010) * SEC);
	poll_state(&st, 9015, 8, 4294967294LL, CMS_CODE_NONE, "");
	CHECK(!st.cti.long_reported);
	agents_state_clear(&st);
	memset(state_rules.long_state, 0, sizeof(state_rules.long_state));
}

/*
 * Same state, yet the counter went back by more than the time since the last poll + 2 s: the
 * agent left it and came back in between. A new stint (since, long_state again), no agent.state.
 */
static void test_state_new_stint(void)
{
	struct agent_state st;

	agents_state_init(&st, &alice);
	state_rules.long_state[8] = 60;
	poll_state(&st, 0, 8, 10, 258, "agent.state initial rest<- since=-10 reason=258");
	poll_state(&st, 50, 8, 60, 258, "agent.long_state rest since=-60 60s/60s");
	/* Back by 8 s over 5 s: within the 2 s slack, the same stint (a CMS rounding, late reply). */
	poll_state(&st, 55, 8, 58, 258, "");
	poll_state(&st, 60, 8, 70, 258, "");
	CHECK(!long_state_ended);
	/* Back by 30 s over 5 s: a new stint, silently; it ends a reported one, told to the caller. */
	poll_state(&st, 65, 8, 40, 258, "");
	CHECK(long_state_ended);
	CHECK(!st.cti.long_reported);
	CHECK_INT(st.cti.since_us, (WALL0 + 25) * SEC);
	poll_state(&st, 84, 8, 59, 258, "");
	poll_state(&st, 85, 8, 60, 258, "agent.long_state rest since=-60 60s/60s");
	/* A counter not set says nothing of stints; the next one is compared with the stint's age. */
	poll_state(&st, 90, 8, -1, 258, "");
	poll_state(&st, 95, 8, 69, 258, "");
	CHECK(st.cti.long_reported);
	poll_state(&st, 100, 8, -1, 258, "");
	poll_state(&st, 105, 8, 4, 258, "");
	CHECK(long_state_ended);
	CHECK(!st.cti.long_reported);
	CHECK_INT(st.cti.since_us, (WALL0 + 101) * SEC);
	/* A silent new stint of one never reported: nothing to resolve. */
	poll_state(&st, 106, 8, 0, 258, "");
	CHECK(!long_state_ended);
	CHECK_INT(st.cti.since_us, (WALL0 + 106) * SEC);
	agents_state_clear(&st);
	memset(state_rules.long_state, 0, sizeof(state_rules.long_state));
}

/* State polls never touch reachability or calls; call polls never touch the state. */
static void test_state_apart(void)
{
	struct agent_state st;

	agents_state_init(&st, &alice);
	poll_fail(&st, 0, "");
	poll_fail(&st, 5, "");
	poll_fail(&st, 10, "agent.unreachable reason");
	poll_state(&st, 12, 5, 2, CMS_CODE_NONE, "agent.state initial talking<- since=-2 reason=-1");
	CHECK(st.unreachable);
	CHECK(!st.baselined);
	poll_ok(&st, 15, NULL, "agent.reachable");
	CHECK_INT(st.cti.code, 5);
	agents_state_clear(&st);
}

/*
 * After a restart the log's call.status, agent.state and agent.long_state are replayed: no
 * call.status or agent.state is repeated, none lost, no second agent.long_state.
 */
static void test_replay_detail_and_state(void)
{
	struct agent_state st;
	struct agents_clock now = at(1000);
	struct event ev = { .type = EVENT_CALL_STARTED, .call_id = "a",
			    .call_first_seen_us = (WALL0 + 900) * SEC,
			    .detail = { 4, CMS_CODE_NONE, 0, 5, NULL } };

	agents_state_init(&st, &alice);
	state_rules.long_state[8] = 60;
	agents_replay(&st, &ev, &now);
	ev.type = EVENT_CALL_STATUS;
	ev.detail = (struct event_call_detail){ 5, 4, 0, 5, "x" };
	agents_replay(&st, &ev, &now);
	CHECK_INT(st.calls[0].status, 5);
	CHECK_STR(st.calls[0].submedia, "x");
	ev = (struct event){ .type = EVENT_AGENT_STATE,
			     .state = { 8, 1, 258, (WALL0 + 930) * SEC, 0, 0 } };
	agents_replay(&st, &ev, &now);
	CHECK_INT(st.cti.code, 8);
	CHECK_INT(st.cti.since_boot_us, 930 * (int64_t)SEC);
	CHECK(!st.cti.long_reported);
	ev.type = EVENT_AGENT_LONG_STATE;
	ev.state.reason = CMS_CODE_NONE;
	agents_replay(&st, &ev, &now);
	CHECK(st.cti.long_reported);
	CHECK_INT(st.cti.reason, 258);
	CHECK(st.baselined);
	/* The status it had last is the one compared; the state is no initial one. */
	poll_calls(&st, 1010, IDS("a:6:0:5:x"), "call.status a held<talking; call.long a 110s");
	poll_state(&st, 1010, 8, 80, 258, "");
	poll_state(&st, 1015, 1, 1, CMS_CODE_NONE, "agent.state idle<rest since=-1 reason=-1");
	agents_state_clear(&st);

	/* Only the state was logged: the calls still need their baseline. */
	agents_state_init(&st, &alice);
	ev.type = EVENT_AGENT_STATE;
	agents_replay(&st, &ev, &now);
	CHECK(!st.baselined);
	poll_calls(&st, 1020, IDS("b:5:0:5"), "call.started b initial; agent.busy initial");
	/* Restored without the last counter: a stint's own age stands in for it. */
	poll_state(&st, 1020, 8, 20, 258, "");
	CHECK(!st.cti.long_reported);
	CHECK_INT(st.cti.since_boot_us, 1000 * (int64_t)SEC);
	agents_state_clear(&st);
	memset(state_rules.long_state, 0, sizeof(state_rules.long_state));
}

int main(void)
{
	test_call_status_order();
	test_call_status_silent();
	test_agent_state();
	test_state_new_stint();
	test_state_apart();
	test_replay_detail_and_state();
	test_wall_step_back();
	test_wall_step_forward();
	test_anchor();
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
