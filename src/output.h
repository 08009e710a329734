/* output: every event fanned out to the configured sinks, none of which may block the loop. */
#ifndef AW_OUTPUT_H
#define AW_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "cfg.h"
#include "event.h"

struct output_stats {
	uint64_t events;
	uint64_t stdout_dropped;	/* lines that did not fit the stdout buffer */
	uint64_t journal_failed;	/* entries journald did not take (stalled or absent) */
	uint64_t syslog_dropped;
};

struct output;

struct output *output_new(sd_event *event, const struct cfg_outputs *cfg);
/* Applies a reloaded configuration; what the sinks still hold is not lost. */
void output_configure(struct output *out, const struct cfg_outputs *cfg);
/* json is the event's JSON form (event_to_json), made once for every sink that wants it. */
void output_emit(struct output *out, const struct event *event, const char *json);
/*
 * Events an agent makes at start, when its state is first reported: agent.busy and a call.started
 * per call when busy (two for the usual one call), one agent.unreachable when it cannot be polled.
 */
#define OUTPUT_BASELINE_EVENTS 2
/*
 * Warns when nagents' start-up events can exceed journald's rate limit for the service: the
 * burst in $AGENTWATCHD_LOG_RATE_LIMIT_BURST (the unit sets it next to LogRateLimitBurst=, as a
 * process cannot read its unit's settings), else journald's default 10000 under systemd.
 */
void output_check_rate_limit(const struct output *out, const struct cfg_outputs *cfg,
			     size_t nagents);
/* Writes what is still buffered for stdout, blocking at most timeout_us. */
void output_drain(struct output *out, uint64_t timeout_us);
void output_get_stats(const struct output *out, struct output_stats *stats);
void output_free(struct output *out);

#endif
