/* webhook: each receiver fed from the event log at its own pace, at least once, in order. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "webhook.h"
#include "whsender.h"
#include "writer.h"

static void kick_all(struct webhooks *set);

/* ---- settings ---- */

static void settings_clear(struct sender *s)
{
	free(s->conf.url);
	free(s->shown);
	free(s->name);
	s->name = NULL;
	util_secret_free(s->conf.secret, s->conf.secret_len);
	for (size_t i = 0; i < s->conf.nevents; i++)
		free(s->conf.events[i]);
	free(s->conf.events);
	curl_slist_free_all(s->conf.custom_headers);
	curlev_tls_clear(&s->conf.tls);
}

static void settings_set(struct sender *s, const struct cfg_webhook *w)
{
	settings_clear(s);
	s->conf.url = xstrdup(w->url);
	s->shown = util_url_origin(w->url);
	s->conf.alertmanager = w->format == CFG_WEBHOOK_ALERTMANAGER;
	s->conf.secret = NULL;
	s->conf.secret_len = w->secret_len;
	if (w->secret) {
		s->conf.secret = util_secret_dup(w->secret, w->secret_len);
	}
	s->conf.nevents = w->nevents;
	s->conf.events = xcalloc(w->nevents, sizeof(char *));
	for (size_t i = 0; i < w->nevents; i++)
		s->conf.events[i] = xstrdup(w->events[i]);
	s->conf.timeout_ms = (long)(w->timeout * 1000.0 + 0.5);
	s->conf.batch_max = w->batch_max ? w->batch_max : 1;
	s->conf.max_in_flight = w->max_in_flight ? w->max_in_flight : WEBHOOK_MAX_IN_FLIGHT;
	s->conf.linger_us = (uint64_t)(w->batch_linger * 1e6);
	/* 0 only from a cfg_webhook built by hand (bench/webhook.c): no cap. */
	s->conf.max_backlog = w->max_backlog ? w->max_backlog : SIZE_MAX;
	s->conf.custom_headers = NULL;
	for (size_t i = 0; i < w->nheaders; i++) {
		char *h = xasprintf("%s: %s", w->headers[i].name, w->headers[i].value);

		s->conf.custom_headers = curlev_header(s->conf.custom_headers, h);
		free(h);
	}
	curlev_tls_set(&s->conf.tls, &w->tls);
}

/* ---- the set ---- */

/*
 * Each receiver's metrics label: its scheme://host[:port] (the rest of a URL may hold a token),
 * with "#2", "#3", ... after the second and later receivers of one origin, in configuration order.
 */
static void name_receivers(struct webhooks *set)
{
	for (size_t i = 0; i < set->n; i++) {
		unsigned same = 0;

		for (size_t j = 0; j < i; j++)
			same += strcmp(set->v[j]->shown, set->v[i]->shown) == 0;
		free(set->v[i]->name);
		set->v[i]->name = same ? xasprintf("%s#%u", set->v[i]->shown, same + 1) :
					 xstrdup(set->v[i]->shown);
	}
}

static struct sender *sender_new(struct webhooks *set, const struct cfg_webhook *w)
{
	struct sender *s = xcalloc(1, sizeof(*s));

	s->set = set;
	s->key = whcursor_key(w);
	if (set->state_dir)
		s->cursor_path = whcursor_path(set->state_dir, s->key);
	settings_set(s, w);
	if (sd_event_add_time(set->event, &s->timer, CLOCK_MONOTONIC, 0, 1000, whsend_on_timer,
			      s) < 0) {
		fputs("agentwatchd: cannot set up a webhook\n", stderr);
		abort();
	}
	sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
	s->p.window = 1;
	whcursor_load(s);
	s->read = s->cursor;
	/* A receiver that never acknowledges resumes here after a crash, not at the log's end. */
	whcursor_checkpoint(s);
	/* Alerts restored from the cursor file are told again soon; new ones were just sent. */
	s->p.resend_at_us = util_now_monotonic_us() + (s->firing.n ? 0 : ALERTMGR_RESEND_US);
	return s;
}

/* Ends the requests under way; their events stay queued. */
static void abort_requests(struct sender *s)
{
	for (size_t i = 0; i < s->nreqs; i++) {
		struct whreq *r = s->reqs[i];

		if (!r->busy)
			continue;
		curlev_abort(s->set->curl, &r->transfer);
		r->busy = false;
		for (size_t j = 0; j < r->n && r->items; j++)
			r->items[j]->state = WHQUEUE_QUEUED;
		whreq_release(r);
	}
	s->nflight = 0;
}

static void add_stats(struct webhook_stats *sum, const struct webhook_stats *st)
{
	sum->delivered += st->delivered;
	sum->attempts_failed += st->attempts_failed;
	sum->dead_lettered += st->dead_lettered;
	sum->lost += st->lost;
	sum->dropped += st->dropped;
}

/*
 * keep_cursor false: the receiver is gone from the configuration, so is its cursor file (a
 * receiver added back later starts at the log's end, not at a stale position); removed by the
 * writer thread after the saves it still has queued.
 */
static void sender_free(struct sender *s, bool keep_cursor)
{
	add_stats(&s->set->stats, &s->stats);
	abort_requests(s);
	if (keep_cursor) {
		whcursor_checkpoint(s);
	} else if (s->cursor_path) {
		writer_remove_file(evlog_writer(s->set->log), s->cursor_path);
		s->set->removed = xreallocarray(s->set->removed, s->set->nremoved + 1,
						sizeof(*s->set->removed));
		s->set->removed[s->set->nremoved++] = xstrdup(s->key);
		log_notice("%s: removed, its receiver (%s) is no longer configured", s->cursor_path,
			   s->shown);
	}
	for (size_t i = 0; i < s->nreqs; i++)
		whreq_free(s->reqs[i]);
	free(s->reqs);
	sd_event_source_disable_unref(s->timer);
	settings_clear(s);
	whqueue_clear(&s->queue);
	json_object_put(s->p.resend);
	json_object_put(s->p.resolves);
	alertmgr_set_clear(&s->firing);
	alertmgr_set_clear(&s->ahead);
	free(s->key);
	free(s->cursor_path);
	free(s);
}

struct webhooks *webhooks_new(sd_event *event, struct evlog *log, const char *state_dir)
{
	struct webhooks *set = xcalloc(1, sizeof(*set));

	set->event = sd_event_ref(event);
	set->log = log;
	set->state_dir = state_dir ? xstrdup(state_dir) : NULL;
	set->curl = curlev_new(event);
	return set;
}

void webhooks_configure(struct webhooks *set, const struct cfg_outputs *cfg)
{
	struct sender **next = xcalloc(cfg->nwebhooks, sizeof(*next));

	for (size_t i = 0; i < cfg->nwebhooks; i++) {
		char *key = whcursor_key(&cfg->webhooks[i]);

		for (size_t j = 0; j < set->n && !next[i]; j++) {
			if (set->v[j] && strcmp(set->v[j]->key, key) == 0) {
				next[i] = set->v[j];
				set->v[j] = NULL;
				settings_set(next[i], &cfg->webhooks[i]);
			}
		}
		if (!next[i])
			next[i] = sender_new(set, &cfg->webhooks[i]);
		free(key);
	}
	for (size_t j = 0; j < set->n; j++)
		if (set->v[j])
			sender_free(set->v[j], false);
	free(set->v);
	set->v = next;
	set->n = cfg->nwebhooks;
	set->deadletter_max = cfg->deadletter_max;
	name_receivers(set);
	/* Not at a reload: the writer still has the removed receivers' saves queued (then removes
	 * their files), and an unlink here would come before them, and log the removal again. */
	if (!set->configured)
		whcursor_prune(set);
	set->configured = true;
	kick_all(set);
}

static void kick_all(struct webhooks *set)
{
	set->kicked_seq = evlog_next_seq(set->log);
	for (size_t i = 0; i < set->n; i++) {
		whsend_enforce_backlog(set->v[i]);
		whsend_pump(set->v[i]);
	}
}

void webhooks_kick(struct webhooks *set)
{
	/* A poll that appended nothing gives no sender anything new: its timers do the rest. */
	if (evlog_next_seq(set->log) != set->kicked_seq)
		kick_all(set);
}

uint64_t webhooks_min_seq(const struct webhooks *set)
{
	uint64_t min = evlog_next_seq(set->log);

	/* The saved cursor, not the newest: a restart resumes there, so the log must keep it. */
	for (size_t i = 0; i < set->n; i++) {
		const struct sender *s = set->v[i];
		uint64_t seq = s->cursor_path ? s->saved.seq : s->cursor.seq;

		if (seq < min)
			min = seq;
	}
	return min;
}

size_t webhooks_in_flight(const struct webhooks *set)
{
	size_t n = 0;

	for (size_t i = 0; i < set->n; i++)
		n += set->v[i]->nflight;
	return n;
}

void webhooks_stop(struct webhooks *set)
{
	for (size_t i = 0; i < set->n; i++) {
		struct sender *s = set->v[i];

		abort_requests(s);
		sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
		whcursor_checkpoint(s);
	}
}

void webhooks_get_stats(const struct webhooks *set, struct webhook_stats *stats)
{
	*stats = set->stats;
	for (size_t i = 0; i < set->n; i++)
		add_stats(stats, &set->v[i]->stats);
}

size_t webhooks_count(const struct webhooks *set)
{
	return set->n;
}

const char *webhooks_receiver(const struct webhooks *set, size_t i, uint64_t *queue,
			      struct webhook_stats *stats)
{
	const struct sender *s = set->v[i];

	*queue = evlog_next_seq(set->log) - s->cursor.seq;
	*stats = s->stats;
	return s->name;
}

void webhooks_free(struct webhooks *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		sender_free(set->v[i], true);
	free(set->v);
	curlev_free(set->curl);
	for (size_t i = 0; i < set->nremoved; i++)
		free(set->removed[i]);
	free(set->removed);
	free(set->state_dir);
	sd_event_unref(set->event);
	free(set);
}
