/* webhook: each receiver fed from the event log at its own pace, at least once, in order. */
#ifndef AW_WEBHOOK_H
#define AW_WEBHOOK_H

#include <stdint.h>

#include <systemd/sd-event.h>

#include "alertmgr.h"
#include "cfg.h"
#include "evlog.h"

#define WEBHOOK_DEADLETTER "deadletter.jsonl"
#define WEBHOOK_DEADLETTER_KEEP 4	/* rotated dead-letter files kept: .1 (newest) to .4 */
/* Requests under way at once to one receiver when the configuration says nothing (cfg.c's too). */
#define WEBHOOK_MAX_IN_FLIGHT 32

struct webhook_stats {
	uint64_t delivered;	/* events acknowledged by receivers */
	uint64_t attempts_failed;
	uint64_t dead_lettered;	/* events refused for good (4xx) */
	uint64_t lost;		/* events gone from the log before a receiver got them */
	uint64_t dropped;	/* log records dropped from a backlog past max_backlog */
};

struct webhooks;

/* state_dir NULL: cursors and alert state live in memory only. */
struct webhooks *webhooks_new(sd_event *event, struct evlog *log, const char *state_dir);
/*
 * Keeps the queue of every receiver whose url and format stay; a new one starts at the log's end.
 * Cursor files in state_dir that no configured receiver uses are removed (logged).
 */
void webhooks_configure(struct webhooks *set, const struct cfg_outputs *cfg);
/*
 * Stops re-sending Alertmanager alerts that keep() no longer confirms (after a restart or reload)
 * and resolves them at Alertmanager (as of now; a resolve that fails leaves them to their
 * endsAt); keep and ctx are kept for the same after a max_backlog drop, so must outlive set.
 */
void webhooks_prune_alerts(struct webhooks *set, alertmgr_keep_fn keep, void *ctx);
/*
 * Resolves, at once, the AgentLongState alerts that keep no longer confirms: the poller saw an
 * agent leave a state and come back between two polls, a new stint with no event to resolve
 * the old one's alert.
 */
void webhooks_recheck_long_states(struct webhooks *set);
/* New records are in the log: receivers past their max_backlog drop their oldest, then send. */
void webhooks_kick(struct webhooks *set);
/* The lowest sequence number some receiver still needs (the log's next when none does). */
uint64_t webhooks_min_seq(const struct webhooks *set);
/* Number of deliveries under way. */
size_t webhooks_in_flight(const struct webhooks *set);
/* Saves every cursor; then ends what is under way (its events stay in the log). */
void webhooks_stop(struct webhooks *set);
/* Totals over every receiver, those a reload removed included. */
void webhooks_get_stats(const struct webhooks *set, struct webhook_stats *stats);
/*
 * The number of receivers; receiver i's name (its scheme://host[:port], with "#N" after the
 * second and later receivers of one origin; valid until the next reload), the events it has still
 * to get, and its own counters.
 */
size_t webhooks_count(const struct webhooks *set);
const char *webhooks_receiver(const struct webhooks *set, size_t i, uint64_t *queue,
			      struct webhook_stats *stats);
void webhooks_free(struct webhooks *set);

#endif
