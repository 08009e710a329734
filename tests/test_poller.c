/* test_poller: poll units (grouping, sizes, phases, identity across reloads) and batch answers dispatched by agentId. */
#include "config.h"

#include <math.h>
#include <stdlib.h>

#include "../src/pollunit.h"
#include "check.h"

#define MAX_AGENTS 20000

static struct cfg_agent agents[MAX_AGENTS];

/* agents[at ..] = ids first .. first + n - 1 of (cc, vdn); returns the new count. */
static size_t add_group(size_t at, uint32_t cc, uint32_t vdn, uint32_t first, size_t n)
{
	for (size_t i = 0; i < n; i++)
		agents[at + i] = (struct cfg_agent){ .cc = cc, .vdn = vdn, .id = first + (uint32_t)i };
	return at + n;
}

static struct pollunit_params params(size_t batch_size, bool batch, bool state)
{
	return (struct pollunit_params){ .batch = batch, .batch_size = batch_size, .state = state,
					 .state_size = batch_size };
}

/* Distance between two phases on the circle of one interval. */
static double circle(double a, double b)
{
	double d = fabs(a - b);

	return d > 0.5 ? 1 - d : d;
}

/* Every plan: identity order, each agent in exactly one calls unit and at most one state unit. */
static void check_plan(const struct pollunit_spec *u, size_t nu, size_t nagents, bool state)
{
	static unsigned calls[MAX_AGENTS], states[MAX_AGENTS];

	memset(calls, 0, sizeof(calls));
	memset(states, 0, sizeof(states));
	for (size_t i = 0; i < nu; i++) {
		CHECK(i == 0 || pollunit_compare(&u[i - 1], &u[i]) < 0);
		CHECK(u[i].n >= 1);
		CHECK(u[i].kind != POLLUNIT_BATCH || u[i].n <= REPLYBATCH_CALLS_MAX);
		CHECK(u[i].kind != POLLUNIT_STATE || u[i].n <= REPLYBATCH_STATES_MAX);
		CHECK(u[i].phase >= 0 && u[i].phase < 1);
		for (size_t a = u[i].first; a < u[i].first + u[i].n; a++) {
			CHECK(agents[a].cc == u[i].cc && agents[a].vdn == u[i].vdn);
			(u[i].kind == POLLUNIT_STATE ? states : calls)[a]++;
		}
	}
	for (size_t a = 0; a < nagents; a++) {
		CHECK_INT(calls[a], 1);
		CHECK_INT(states[a], state ? 1 : 0);
	}
}

/* 10,000 agents at 5 s in batches of 1000: 10 requests 0.5 s apart, 10 state requests between. */
static void test_ten_thousand(void)
{
	struct pollunit_params p = params(1000, true, true);
	struct pollunit_spec *u;
	size_t n = add_group(0, 1, 170, 10000, 10000), nu = pollunit_plan(agents, n, &p, &u);
	double offset = pollunit_group_offset(1, 170);

	CHECK_INT(nu, 20);
	check_plan(u, nu, n, true);
	for (size_t i = 0; i < 10; i++) {
		CHECK(u[i].kind == POLLUNIT_BATCH);
		CHECK_INT(u[i].index, i);
		CHECK_INT(u[i].count, 10);
		CHECK_INT(u[i].n, 1000);
		CHECK(circle(u[i].phase, fmod(offset + i / 10.0, 1)) < 1e-9);
		/* Evenly spread: each batch 0.5 s (of 5 s) after the one before. */
		if (i)
			CHECK(circle(u[i].phase, u[i - 1].phase) > 0.1 - 1e-9 &&
			      circle(u[i].phase, u[i - 1].phase) < 0.1 + 1e-9);
	}
	for (size_t i = 10; i < 20; i++) {
		CHECK(u[i].kind == POLLUNIT_STATE);
		CHECK_INT(u[i].n, 1000);
		CHECK_INT(u[i].count, 10);
		CHECK(circle(u[i].phase, fmod(offset + (i - 10 + 0.5) / 10, 1)) < 1e-9);
	}
	free(u);
}

/* Groups of their own; near-equal batches; a single agent is a batch of one. */
static void test_groups(void)
{
	struct pollunit_params p = params(1000, true, false);
	struct pollunit_spec *u;
	size_t n = add_group(0, 1, 170, 1000, 2500);
	size_t nu;

	n = add_group(n, 1, 171, 101, 10);
	n = add_group(n, 2, 170, 500, 1);
	nu = pollunit_plan(agents, n, &p, &u);
	CHECK_INT(nu, 5);
	check_plan(u, nu, n, false);
	CHECK_INT(u[0].n, 833);
	CHECK_INT(u[1].n, 833);
	CHECK_INT(u[2].n, 834);
	CHECK(u[3].cc == 1 && u[3].vdn == 171 && u[3].n == 10 && u[3].count == 1);
	CHECK(u[4].cc == 2 && u[4].vdn == 170 && u[4].n == 1 && u[4].first == n - 1);
	CHECK(pollunit_group_offset(1, 170) != pollunit_group_offset(1, 171));
	free(u);

	p.batch_size = 1;
	nu = pollunit_plan(agents, 3, &p, &u);
	CHECK_INT(nu, 3);
	check_plan(u, nu, 3, false);
	free(u);
	CHECK_INT(pollunit_plan(agents, 0, &p, &u), 0);
	free(u);

	/* A size of 0 or past the interface's limit is the limit: 3000 calls, 6000 states. */
	n = add_group(0, 1, 170, 1000, 6001);
	p = params(0, true, true);
	p.state_size = 7000;
	nu = pollunit_plan(agents, n, &p, &u);
	CHECK_INT(nu, 3 + 2);
	check_plan(u, nu, n, true);
	free(u);
}

/* cms.api = "agent": one unit per agent (its phase the hash of its key, as in 1.0). */
static void test_per_agent(void)
{
	struct pollunit_params p = params(1000, false, false);
	struct pollunit_spec *u;
	size_t n = add_group(0, 1, 170, 1099, 3), nu = pollunit_plan(agents, n, &p, &u);

	CHECK_INT(nu, 3);
	check_plan(u, nu, n, false);
	for (size_t i = 0; i < nu; i++) {
		CHECK(u[i].kind == POLLUNIT_AGENT);
		CHECK_INT(u[i].index, 1099 + i);
		CHECK_INT(u[i].count, 0);
		CHECK_INT(u[i].first, i);
	}
	free(u);
}

static bool is_171(void *ctx, uint32_t cc, uint32_t vdn)
{
	(void)ctx;
	return cc == 1 && vdn == 171;
}

static bool is_170(void *ctx, uint32_t cc, uint32_t vdn)
{
	(void)ctx;
	return cc == 1 && vdn == 170;
}

/* auto's fallback: that group per agent, the others in batches; state off for one group. */
static void test_marks(void)
{
	struct pollunit_params p = params(1000, true, true);
	struct pollunit_spec *u;
	size_t n = add_group(0, 1, 170, 1000, 1500), nu;

	n = add_group(n, 1, 171, 101, 4);
	p.per_agent = is_171;
	p.state_off = is_170;
	nu = pollunit_plan(agents, n, &p, &u);
	/* 1:170: 2 batches, no state; 1:171: 4 agents, 1 state batch. */
	CHECK_INT(nu, 7);
	CHECK(u[0].kind == POLLUNIT_BATCH && u[1].kind == POLLUNIT_BATCH);
	for (size_t i = 2; i < 6; i++)
		CHECK(u[i].kind == POLLUNIT_AGENT && u[i].cc == 1 && u[i].vdn == 171);
	CHECK(u[6].kind == POLLUNIT_STATE && u[6].vdn == 171 && u[6].n == 4);
	free(u);
}

/*
 * A reload that adds and removes agents of a group without changing its batch count keeps every
 * unit's identity and phase (so its deadline); one that changes the count changes that group's
 * units only.
 */
static void test_reload_identity(void)
{
	struct pollunit_params p = params(1000, true, true);
	struct pollunit_spec *a, *b, *c;
	size_t n = add_group(0, 1, 170, 1000, 2500), na, nb, nc;

	n = add_group(n, 1, 171, 101, 50);
	na = pollunit_plan(agents, n, &p, &a);
	/* 100 agents of 1:170 leave, 150 others join it; 1:171 loses one. */
	n = add_group(0, 1, 170, 1100, 2550);
	n = add_group(n, 1, 171, 102, 49);
	nb = pollunit_plan(agents, n, &p, &b);
	CHECK_INT(nb, na);
	for (size_t i = 0; i < na && i < nb; i++) {
		CHECK(pollunit_compare(&a[i], &b[i]) == 0);
		CHECK(a[i].phase == b[i].phase);
	}
	/* 1:170 grows past 3000: a fourth batch and a fourth state batch (state batches are
	 * batch_size too), new identities there; 1:171 as it was. */
	n = add_group(0, 1, 170, 1100, 3100);
	n = add_group(n, 1, 171, 102, 49);
	nc = pollunit_plan(agents, n, &p, &c);
	CHECK_INT(nc, nb + 2);
	for (size_t i = 0; i < 4; i++)
		CHECK(c[i].kind == POLLUNIT_BATCH && c[i].count == 4);
	CHECK(pollunit_compare(&c[nc - 2], &b[nb - 2]) == 0 && c[nc - 2].phase == b[nb - 2].phase);
	CHECK(pollunit_compare(&c[nc - 1], &b[nb - 1]) == 0);
	free(a);
	free(b);
	free(c);
}

/* Entries are found by agentId, never by position: absent, an entry's error, duplicates. */
static void test_dispatch(void)
{
	static const struct reply_call call = { "1605494261-1449", 5, 0, 5, NULL };
	/* The parser's output: sorted by agentId; 104 was listed twice (both entries errors); an
	 * entry for 105, not asked, is counted in unasked and left out. */
	struct replybatch_calls entries[] = {
		{ 101, 1, &call, NULL },
		{ 103, 0, NULL, "resultDesc[2].callList is int, not an array" },
		{ 104, 0, NULL, "agentId 104 appears twice" },
		{ 106, 0, NULL, NULL },
	};
	struct replybatch b = { .status = REPLY_OK, .nentries = 4, .calls = entries, .unasked = 1,
				.first_unasked = 105 };
	struct replybatch_state st[] = { { 101, 8, 1, 100, 258, -1, NULL } };
	struct replybatch bs = { .status = REPLY_OK, .nentries = 1, .states = st };
	const struct replybatch_calls *e;
	const struct replybatch_state *se;
	const char *reason;

	CHECK(pollunit_calls_of(&b, 101, &e, &reason));
	CHECK(e == &entries[0] && e->ncalls == 1 && reason == NULL);
	CHECK(!pollunit_calls_of(&b, 102, &e, &reason));
	CHECK_STR(reason, POLLUNIT_ABSENT_REASON);
	CHECK_STR(POLLUNIT_ABSENT_REASON, "absent from the CMS answer");
	CHECK(!pollunit_calls_of(&b, 103, &e, &reason));
	CHECK_STR(reason, "resultDesc[2].callList is int, not an array");
	CHECK(!pollunit_calls_of(&b, 104, &e, &reason));
	CHECK_STR(reason, "agentId 104 appears twice");
	CHECK(!pollunit_calls_of(&b, 105, &e, &reason));	/* unasked: never a result */
	CHECK(pollunit_calls_of(&b, 106, &e, &reason) && e->ncalls == 0);

	CHECK(pollunit_state_of(&bs, 101, &se, &reason) && se->state == 8);
	CHECK(!pollunit_state_of(&bs, 102, &se, &reason));
	CHECK_STR(reason, POLLUNIT_ABSENT_REASON);
}

int main(void)
{
	test_ten_thousand();
	test_groups();
	test_per_agent();
	test_marks();
	test_reload_identity();
	test_dispatch();
	return check_done("test_poller");
}
