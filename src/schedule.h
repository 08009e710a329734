/* schedule: per-agent poll deadlines on a fixed grid, a stable phase per agent, a rate cap, backoff. */
#ifndef AW_SCHEDULE_H
#define AW_SCHEDULE_H

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#define SCHED_NOT_QUEUED UINT32_MAX

struct sched_entry {
	uint64_t key;		/* the agent's identity; decides its phase unless phased */
	bool phased;		/* phase below is the entry's phase, not the hash of key */
	double phase;		/* with phased: where in the interval it polls, 0 <= phase < 1 */
	uint64_t deadline_us;	/* CLOCK_MONOTONIC: when it is due (or was, while in flight) */
	uint32_t heap_pos;	/* SCHED_NOT_QUEUED while a poll is in flight or it is removed */
	uint32_t backoff_steps;	/* failures in a row, capped by backoff_max */
};

struct sched_callbacks {
	/* May the next poll start now (e.g. a free in-flight slot)? */
	bool (*can_start)(void *ctx);
	/* Start the poll of entry; it stays out of the queue until sched_done(). */
	void (*start)(void *ctx, struct sched_entry *entry, uint64_t late_us);
};

struct sched_settings {
	double interval;	/* seconds between two polls of one agent */
	double backoff_max;	/* seconds, the longest pause of a failing agent */
	double max_rate;	/* polls per second, 0 = unlimited */
};

/* Lateness of poll starts against their deadlines, in milliseconds. */
#define SCHED_LATE_BUCKETS 10000
struct sched_stats {
	uint64_t started;
	uint64_t late_ms[SCHED_LATE_BUCKETS];	/* the last bucket holds everything later */
	uint64_t max_late_us;
	uint64_t skipped;	/* deadlines passed over because the poll could not start in time */
};

struct sched;

struct sched *sched_new(sd_event *event, const struct sched_settings *settings,
			const struct sched_callbacks *callbacks, void *ctx);
void sched_free(struct sched *sched);

/* New settings apply from each agent's next deadline; phases stay where they are. */
void sched_configure(struct sched *sched, const struct sched_settings *settings);

/* Queues a new agent at the next slot of its phase at or after now. Entries must not move. */
void sched_add(struct sched *sched, struct sched_entry *entry);
/* Takes an agent out of the queue (a no-op while it is in flight). */
void sched_remove(struct sched *sched, struct sched_entry *entry);

/* The poll of entry finished; retry_after is what the server asked for (0 if nothing). */
void sched_done(struct sched *sched, struct sched_entry *entry, bool ok, double retry_after);

/* Capacity came back (a poll finished): start what is due. */
void sched_kick(struct sched *sched);

/* Stop starting polls (shutting down). */
void sched_stop(struct sched *sched);

const struct sched_stats *sched_get_stats(const struct sched *sched);
/* The lateness at quantile q (0..1) in milliseconds, from the histogram. */
double sched_late_quantile(const struct sched_stats *stats, double q);

/* For tests: the phase offset of key within an interval, in microseconds. */
uint64_t sched_phase_us(uint64_t key, uint64_t interval_us);
/* The fixed hash phases come from (splitmix64), for callers that derive phases of their own. */
uint64_t sched_hash(uint64_t key);

#endif
