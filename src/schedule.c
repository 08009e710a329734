/* schedule: per-agent poll deadlines on a fixed grid, a stable phase per agent, a rate cap, backoff. */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "schedule.h"
#include "util.h"

struct sched {
	sd_event *event;
	sd_event_source *timer;
	struct sched_callbacks cb;
	void *ctx;
	uint64_t epoch_us;		/* the grid's origin: every deadline is epoch + phase + k*interval */
	uint64_t interval_us;
	uint64_t backoff_max_us;
	double max_rate;
	double tokens;			/* the rate cap's bucket */
	uint64_t tokens_at_us;
	struct sched_entry **heap;	/* a binary min-heap on deadline_us */
	uint32_t nheap;
	uint32_t heap_cap;
	bool stopped;
	struct sched_stats stats;
};

/* splitmix64: a fixed, well-mixed hash, so an agent keeps its phase across restarts and reloads. */
uint64_t sched_hash(uint64_t x)
{
	x += 0x9e3779b97f4a7c15u;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
	return x ^ (x >> 31);
}

uint64_t sched_phase_us(uint64_t key, uint64_t interval_us)
{
	return sched_hash(key) % interval_us;
}

static uint64_t entry_phase_us(const struct sched *s, const struct sched_entry *e)
{
	if (e->phased)
		return (uint64_t)(e->phase * (double)s->interval_us) % s->interval_us;
	return sched_phase_us(e->key, s->interval_us);
}

/* The first slot of entry's phase at or after t. */
static uint64_t slot_at_or_after(const struct sched *s, const struct sched_entry *e, uint64_t t)
{
	uint64_t base = s->epoch_us + entry_phase_us(s, e);

	if (t <= base)
		return base;
	return base + (t - base + s->interval_us - 1) / s->interval_us * s->interval_us;
}

/* ---- heap ---- */

static bool earlier(const struct sched *s, uint32_t a, uint32_t b)
{
	return s->heap[a]->deadline_us < s->heap[b]->deadline_us;
}

static void heap_swap(struct sched *s, uint32_t a, uint32_t b)
{
	struct sched_entry *t = s->heap[a];

	s->heap[a] = s->heap[b];
	s->heap[b] = t;
	s->heap[a]->heap_pos = a;
	s->heap[b]->heap_pos = b;
}

static void sift_up(struct sched *s, uint32_t i)
{
	while (i > 0 && earlier(s, i, (i - 1) / 2)) {
		heap_swap(s, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void sift_down(struct sched *s, uint32_t i)
{
	for (;;) {
		uint32_t l = 2 * i + 1, r = l + 1, min = i;

		if (l < s->nheap && earlier(s, l, min))
			min = l;
		if (r < s->nheap && earlier(s, r, min))
			min = r;
		if (min == i)
			return;
		heap_swap(s, i, min);
		i = min;
	}
}

static void heap_push(struct sched *s, struct sched_entry *e)
{
	if (s->nheap == s->heap_cap) {
		s->heap_cap = s->heap_cap ? 2 * s->heap_cap : 64;
		s->heap = xreallocarray(s->heap, s->heap_cap, sizeof(s->heap[0]));
	}
	e->heap_pos = s->nheap;
	s->heap[s->nheap++] = e;
	sift_up(s, e->heap_pos);
}

static void heap_delete(struct sched *s, uint32_t i)
{
	struct sched_entry *e = s->heap[i];

	s->nheap--;
	if (i != s->nheap) {
		s->heap[i] = s->heap[s->nheap];
		s->heap[i]->heap_pos = i;
		sift_down(s, i);
		sift_up(s, i);
	}
	e->heap_pos = SCHED_NOT_QUEUED;
}

/* ---- dispatch ---- */

/*
 * Wake-ups are rounded up to a 10 ms tick: the polls due within one tick share a wake-up, and
 * the kernel timer is reprogrammed once per tick rather than once per poll (measured: that
 * reprogramming was the daemon's largest cost over a bare libcurl loop).
 */
#define WAKE_TICK_US 10000u

static void arm_timer(struct sched *s, uint64_t when_us)
{
	when_us = (when_us + WAKE_TICK_US - 1) / WAKE_TICK_US * WAKE_TICK_US;
	sd_event_source_set_time(s->timer, when_us);
	sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
}

/* True when the rate cap allows one more poll now; otherwise *when_us says when it will. */
static bool take_token(struct sched *s, uint64_t now_us, uint64_t *when_us)
{
	double burst = fmax(1.0, s->max_rate / 20.0);

	if (s->max_rate <= 0)
		return true;
	s->tokens = fmin(burst, s->tokens + (double)(now_us - s->tokens_at_us) / 1e6 * s->max_rate);
	s->tokens_at_us = now_us;
	if (s->tokens >= 1.0) {
		s->tokens -= 1.0;
		return true;
	}
	*when_us = now_us + (uint64_t)ceil((1.0 - s->tokens) / s->max_rate * 1e6);
	return false;
}

static void record_lateness(struct sched_stats *st, uint64_t late_us)
{
	uint64_t ms = late_us / 1000;

	st->started++;
	st->late_ms[ms < SCHED_LATE_BUCKETS ? ms : SCHED_LATE_BUCKETS - 1]++;
	if (late_us > st->max_late_us)
		st->max_late_us = late_us;
}

static void dispatch(struct sched *s)
{
	uint64_t now = util_now_monotonic_us();

	while (!s->stopped && s->nheap > 0 && s->heap[0]->deadline_us <= now) {
		struct sched_entry *e = s->heap[0];
		uint64_t token_at;

		if (!s->cb.can_start(s->ctx)) {
			/* sched_kick() resumes when a poll finishes. */
			sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
			return;
		}
		if (!take_token(s, now, &token_at)) {
			arm_timer(s, token_at);
			return;
		}
		heap_delete(s, 0);
		record_lateness(&s->stats, now - e->deadline_us);
		s->cb.start(s->ctx, e, now - e->deadline_us);
	}
	if (!s->stopped && s->nheap > 0)
		arm_timer(s, s->heap[0]->deadline_us);
	else
		sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
}

static int on_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
	(void)source;
	(void)usec;
	dispatch(userdata);
	return 0;
}

/* ---- public ---- */

struct sched *sched_new(sd_event *event, const struct sched_settings *settings,
			const struct sched_callbacks *callbacks, void *ctx)
{
	struct sched *s = xcalloc(1, sizeof(*s));

	s->event = sd_event_ref(event);
	s->cb = *callbacks;
	s->ctx = ctx;
	s->epoch_us = util_now_monotonic_us();
	s->tokens_at_us = s->epoch_us;
	/* Accuracy 1 us on top of the 10 ms tick: sd-event's default 250 ms would be lateness. */
	if (sd_event_add_time(event, &s->timer, CLOCK_MONOTONIC, 0, 1, on_timer, s) < 0) {
		log_err("cannot create the poll timer");
		abort();
	}
	sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
	sched_configure(s, settings);
	return s;
}

void sched_configure(struct sched *s, const struct sched_settings *settings)
{
	uint64_t interval_us = (uint64_t)(settings->interval * 1e6);

	s->backoff_max_us = (uint64_t)(settings->backoff_max * 1e6);
	s->max_rate = settings->max_rate;
	s->tokens = fmax(1.0, s->max_rate / 20.0);
	if (interval_us == s->interval_us)
		return;
	s->interval_us = interval_us;
	/* A new interval means new phases: move every queued agent to its next slot. */
	for (uint32_t i = 0; i < s->nheap; i++)
		s->heap[i]->deadline_us = slot_at_or_after(s, s->heap[i], util_now_monotonic_us());
	for (uint32_t i = s->nheap / 2; i-- > 0;)
		sift_down(s, i);
	if (s->nheap)
		arm_timer(s, s->heap[0]->deadline_us);
}

void sched_add(struct sched *s, struct sched_entry *e)
{
	e->backoff_steps = 0;
	e->deadline_us = slot_at_or_after(s, e, util_now_monotonic_us());
	heap_push(s, e);
	if (e->heap_pos == 0 && !s->stopped)
		arm_timer(s, e->deadline_us);
}

void sched_remove(struct sched *s, struct sched_entry *e)
{
	if (e->heap_pos != SCHED_NOT_QUEUED)
		heap_delete(s, e->heap_pos);
}

void sched_done(struct sched *s, struct sched_entry *e, bool ok, double retry_after)
{
	uint64_t now = util_now_monotonic_us();
	uint64_t from = e->deadline_us + 1 > now ? e->deadline_us + 1 : now;
	uint64_t pause = 0;

	if (ok) {
		e->backoff_steps = 0;
	} else {
		/* Exponential in whole intervals, so a failing agent stays on its phase. */
		if (e->backoff_steps < 32)
			e->backoff_steps++;
		pause = (s->interval_us << (e->backoff_steps - 1 < 20 ? e->backoff_steps - 1 : 20)) -
			s->interval_us;
		/* backoff_max bounds the whole gap between two polls (the config keeps it >= interval). */
		if (pause + s->interval_us > s->backoff_max_us)
			pause = s->backoff_max_us > s->interval_us ? s->backoff_max_us - s->interval_us : 0;
	}
	/* Retry-After counts after a failure only, and never past backoff_max. */
	if (!ok && retry_after > 0) {
		uint64_t wait = retry_after * 1e6 < (double)s->backoff_max_us ?
				(uint64_t)(retry_after * 1e6) : s->backoff_max_us;

		if (now + wait > from + pause)
			pause = now + wait - from;
	}
	if (e->deadline_us + s->interval_us < now)
		s->stats.skipped += (now - e->deadline_us) / s->interval_us;
	e->deadline_us = slot_at_or_after(s, e, from + pause);
	heap_push(s, e);
	if (e->heap_pos == 0 && !s->stopped)
		arm_timer(s, e->deadline_us);
}

void sched_kick(struct sched *s)
{
	dispatch(s);
}

void sched_stop(struct sched *s)
{
	s->stopped = true;
	sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
}

const struct sched_stats *sched_get_stats(const struct sched *s)
{
	return &s->stats;
}

double sched_late_quantile(const struct sched_stats *st, double q)
{
	uint64_t want = (uint64_t)ceil(q * (double)st->started), seen = 0;

	if (st->started == 0)
		return 0.0;
	for (size_t ms = 0; ms < SCHED_LATE_BUCKETS; ms++) {
		seen += st->late_ms[ms];
		if (seen >= want && seen > 0)
			return (double)ms;
	}
	return (double)(SCHED_LATE_BUCKETS - 1);
}

void sched_free(struct sched *s)
{
	if (!s)
		return;
	sd_event_source_disable_unref(s->timer);
	sd_event_unref(s->event);
	free(s->heap);
	free(s);
}
