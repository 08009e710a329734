/* test_sched: phases, the deadline grid, the in-flight cap, the rate cap and backoff, on sd-event. */
#include "config.h"

#include <stdlib.h>

#include "../src/cfg.h"
#include "../src/schedule.h"
#include "../src/util.h"
#include "check.h"

#define NAGENTS 40
#define MAX_STARTS 64
#define INTERVAL_US 200000ull

/* The entry comes first so that a sched_entry pointer is the agent's. */
struct fake_agent {
	struct sched_entry entry;
	bool failing;
	unsigned starts;
	uint64_t deadlines[MAX_STARTS];
};

struct world {
	sd_event *event;
	struct sched *sched;
	struct fake_agent agents[NAGENTS];
	unsigned in_flight, max_in_flight, cap;
	uint64_t start_times[4096];
	unsigned nstarts;
	bool stopping;
};

struct pending {
	struct world *w;
	struct fake_agent *a;
};

static bool can_start(void *ctx)
{
	struct world *w = ctx;

	return w->in_flight < w->cap;
}

static int finish_poll(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct pending *p = userdata;

	(void)usec;
	sd_event_source_disable_unref(s);
	p->w->in_flight--;
	if (!p->w->stopping)
		sched_done(p->w->sched, &p->a->entry, !p->a->failing, 0);
	else if (p->w->in_flight == 0)
		sd_event_exit(p->w->event, 0);
	sched_kick(p->w->sched);
	free(p);
	return 0;
}

/* Each poll "takes" 30 ms, then finishes through sched_done like a real one. */
static void start(void *ctx, struct sched_entry *entry, uint64_t late_us)
{
	struct world *w = ctx;
	struct fake_agent *a = (struct fake_agent *)entry;
	struct pending *p = malloc(sizeof(*p));
	uint64_t now = util_now_monotonic_us();

	CHECK(entry->heap_pos == SCHED_NOT_QUEUED);
	CHECK(now >= entry->deadline_us);
	CHECK(late_us <= now - entry->deadline_us);
	if (a->starts < MAX_STARTS)
		a->deadlines[a->starts] = entry->deadline_us;
	a->starts++;
	if (w->nstarts < ARRAY_SIZE(w->start_times))
		w->start_times[w->nstarts++] = now;
	if (++w->in_flight > w->max_in_flight)
		w->max_in_flight = w->in_flight;
	p->w = w;
	p->a = a;
	sd_event_add_time_relative(w->event, NULL, CLOCK_MONOTONIC, 30000, 1, finish_poll, p);
}

static int on_end(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct world *w = userdata;

	(void)s;
	(void)usec;
	/* Polls still "in flight" finish first, so nothing leaks. */
	w->stopping = true;
	sched_stop(w->sched);
	if (w->in_flight == 0)
		sd_event_exit(w->event, 0);
	return 0;
}

static void run_world(struct world *w, double max_rate, uint64_t run_us)
{
	static const struct sched_callbacks cb = { can_start, start };
	struct sched_settings s = { INTERVAL_US / 1e6, 1.6, max_rate };

	sd_event_new(&w->event);
	w->sched = sched_new(w->event, &s, &cb, w);
	for (uint32_t i = 0; i < NAGENTS; i++) {
		w->agents[i].entry.key = cfg_agent_key(1, 170, 1000 + i);
		sched_add(w->sched, &w->agents[i].entry);
	}
	sd_event_add_time_relative(w->event, NULL, CLOCK_MONOTONIC, run_us, 1, on_end, w);
	sd_event_loop(w->event);
	sched_free(w->sched);
	sd_event_unref(w->event);
}

/* Phases are a pure function of the key, inside the interval, and spread evenly. */
static void test_phase(void)
{
	enum { N = 10000, WINDOWS = 50 };
	unsigned count[WINDOWS] = { 0 }, max = 0;
	uint64_t interval = 5000000;

	for (uint32_t i = 0; i < N; i++) {
		uint64_t key = cfg_agent_key(1 + i % 3, 170, 101 + i);
		uint64_t phase = sched_phase_us(key, interval);

		CHECK(phase < interval);
		CHECK(phase == sched_phase_us(key, interval));
		count[phase * WINDOWS / interval]++;
	}
	for (int i = 0; i < WINDOWS; i++)
		max = count[i] > max ? count[i] : max;
	CHECK(max < 2 * N / WINDOWS);
}

/* Every deadline of an agent sits on its grid: one phase, whole intervals apart. */
static void check_grid(const struct fake_agent *a)
{
	unsigned n = a->starts < MAX_STARTS ? a->starts : MAX_STARTS;

	for (unsigned i = 1; i < n; i++) {
		uint64_t gap = a->deadlines[i] - a->deadlines[i - 1];

		CHECK(a->deadlines[i] > a->deadlines[i - 1]);
		CHECK(gap % INTERVAL_US == 0);
	}
}

static void test_grid_cap_and_backoff(void)
{
	static struct world w = { .cap = 4 };
	const struct fake_agent *f = &w.agents[7];

	w.agents[7].failing = true;
	run_world(&w, 0, 3300000);
	CHECK(w.max_in_flight <= 4);
	CHECK(w.max_in_flight >= 1);
	for (int i = 0; i < NAGENTS; i++) {
		CHECK(w.agents[i].starts >= 1);
		check_grid(&w.agents[i]);
	}
	/* The failing agent waits 1, 2, 4, then 8 intervals, the cap (1.6 s), between polls. */
	CHECK(f->starts >= 4);
	for (unsigned i = 1; i < f->starts && i < 6; i++) {
		uint64_t want = INTERVAL_US << (i - 1 < 3 ? i - 1 : 3);

		CHECK(f->deadlines[i] - f->deadlines[i - 1] >= want);
	}
	CHECK(f->starts < w.agents[8].starts);
}

/* With a rate cap, no stretch of time holds more starts than the token bucket allows. */
static void test_rate_cap(void)
{
	static struct world w = { .cap = 100 };
	double rate = 50.0, burst = 2.5;

	run_world(&w, rate, 1000000);
	CHECK(w.nstarts >= 10);
	for (unsigned i = 0; i < w.nstarts; i++)
		for (unsigned j = i; j < w.nstarts; j++)
			CHECK((double)(j - i + 1) <=
			      burst + rate * (double)(w.start_times[j] - w.start_times[i]) / 1e6 + 1);
}

/*
 * An entry with an explicit phase polls there, the others at the hash of their key: every
 * first deadline minus its intended phase lands on one grid origin (mod the interval).
 */
static void test_explicit_phase(void)
{
	static struct world w = { .cap = 100 };
	uint64_t origin = 0;

	for (int i = 0; i < 10; i++) {
		w.agents[i].entry.phased = true;
		w.agents[i].entry.phase = i / 10.0;
	}
	w.agents[3].entry.phase = 0.999999;	/* the last microsecond of the interval */
	run_world(&w, 0, 2 * INTERVAL_US + 50000);
	for (uint32_t i = 0; i < NAGENTS; i++) {
		const struct fake_agent *a = &w.agents[i];
		uint64_t want = i >= 10 ? sched_phase_us(cfg_agent_key(1, 170, 1000 + i), INTERVAL_US) :
				i == 3 ? INTERVAL_US - 1 : i * INTERVAL_US / 10;
		uint64_t o = (a->deadlines[0] - want) % INTERVAL_US;

		CHECK(a->starts >= 2);
		check_grid(a);
		if (i == 0)
			origin = o;
		CHECK(o == origin);
	}
}

int main(void)
{
	test_phase();
	test_explicit_phase();
	test_grid_cap_and_backoff();
	test_rate_cap();
	return check_done("test_sched");
}
