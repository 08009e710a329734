/* whalert: a webhook receiver in Alertmanager format: re-sending, refreshing and pruning alerts. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"
#include "whsender.h"

static void prune_long_states(struct sender *s);

/* The text of the one alert in out. */
char *whalert_text(struct json_object *out)
{
	return xstrdup(json_object_to_json_string_ext(json_object_array_get_idx(out, 0),
						      JSON_C_TO_STRING_PLAIN |
						      JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* Ends the re-send of the firing alerts under way; the next is due at when_us. */
void whalert_resend_end(struct sender *s, uint64_t when_us)
{
	json_object_put(s->p.resend);
	s->p.resend = NULL;
	s->p.resend_at_us = when_us;
}

/* Resolves of pruned alerts wait to be sent. */
static bool resolves_pending(const struct sender *s)
{
	return s->p.resolves && json_object_array_length(s->p.resolves);
}

/* Whether the every-minute re-send of the firing alerts is due. */
static bool full_resend_due(const struct sender *s, uint64_t now)
{
	return s->firing.n && now >= s->p.resend_at_us;
}

/* The alerts to send now: every firing one when due, and the pruned ones' resolves. */
static struct json_object *resend_alerts(struct sender *s, uint64_t now)
{
	struct json_object *alerts;

	prune_long_states(s);
	s->p.resend_full = full_resend_due(s, now);
	alerts = s->p.resend_full ? alertmgr_firing(&s->firing, util_now_realtime_us()) :
		 json_object_new_array();
	for (size_t i = 0; s->p.resolves && i < json_object_array_length(s->p.resolves); i++)
		json_object_array_add(alerts, json_object_get(json_object_array_get_idx(
			s->p.resolves, i)));
	json_object_put(s->p.resolves);
	s->p.resolves = NULL;
	return alerts;
}

/*
 * Alertmanager forgets a firing alert it stops hearing about: say it again every minute, in
 * requests of whsend_batch_limit() alerts; the resolves of pruned alerts go the same way, at
 * once. A re-send starts once the requests under way are answered and no batch goes until it
 * ends, so that it never overtakes a resolve (nor a pruned alert's resolve a later fire).
 */
void whalert_resend_firing(struct sender *s, uint64_t now)
{
	size_t allowed = s->p.window < s->conf.max_in_flight ? s->p.window : s->conf.max_in_flight;
	size_t max = whsend_batch_limit(s), n;

	if (!s->p.resend) {
		if (s->nflight)
			return;
		s->p.resend = resend_alerts(s, now);
		s->p.resend_pos = 0;
	}
	n = json_object_array_length(s->p.resend);
	while (s->nflight < allowed && s->p.resend_pos < n) {
		struct whreq *r = whsend_request_get(s);
		struct json_object *chunk = json_object_new_array();

		for (r->n = 0; r->n < max && s->p.resend_pos < n; r->n++)
			json_object_array_add(chunk, json_object_get(json_object_array_get_idx(
				s->p.resend, s->p.resend_pos++)));
		whsend_post(r, xstrdup(json_object_to_json_string_ext(chunk, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE)), NULL);
		json_object_put(chunk);
	}
	if (s->p.resend_pos == n && s->nflight == 0)
		whalert_resend_end(s, s->p.resend_full ? now + ALERTMGR_RESEND_US : s->p.resend_at_us);
}

/*
 * A re-send of the firing alerts, or of pruned alerts' resolves, is under way, or waits for the
 * requests under way to end.
 */
bool whalert_resend_due(const struct sender *s, uint64_t now)
{
	return s->conf.alertmanager && (s->p.resend || full_resend_due(s, now) ||
					resolves_pending(s));
}

/*
 * Alertmanager drops an alert at its endsAt, which a fire got when it was read: one sent again
 * after a failure is made anew, with endsAt from now (a resolve keeps its own).
 */
void whalert_refresh_fires(struct whreq *r)
{
	for (size_t i = 0; i < r->n; i++) {
		struct json_object *ev = json_tokener_parse(r->items[i]->event);
		struct json_object *out = json_object_new_array();
		struct alertmgr_set scratch = { 0 };

		if (ev && alertmgr_convert(&scratch, ev, out, util_now_realtime_us()) == 1) {
			free(r->items[i]->text);
			r->items[i]->text = whalert_text(out);
		}
		alertmgr_set_clear(&scratch);
		json_object_put(out);
		json_object_put(ev);
	}
}

/*
 * A re-send that failed goes again, whole, after the backoff, as a batch would; one refused for
 * good is said, and the next comes in a minute.
 */
void whalert_resend_done(struct whreq *r, long status, CURLcode code)
{
	char why[REASON_MAX + 8];

	if (code == CURLE_OK && status >= 200 && status < 300)
		return;
	if (code != CURLE_OK || status == 408 || status == 429 || status >= 500) {
		whalert_resend_end(r->s, 0);
		whsend_retry_later(r, status, code);
		return;
	}
	whreq_reason(r, why, sizeof(why));
	log_warn("webhook %s: HTTP %ld refuses the re-send of %zu firing alerts (%s)", r->s->shown,
		 status, r->n, why);
}

/*
 * Forgets the firing alerts that keep no longer confirms, and queues their resolves (as of now).
 * What is read but not yet acknowledged follows the acknowledged: both sets are pruned, and a
 * fire still in flight that lands later is pruned at the next re-send.
 */
static size_t prune(struct sender *s, alertmgr_keep_fn keep, void *ctx)
{
	uint64_t now = util_now_realtime_us();
	size_t n;

	if (!s->p.resolves)
		s->p.resolves = json_object_new_array();
	n = alertmgr_set_prune(&s->firing, keep, ctx, s->p.resolves, now);
	alertmgr_set_prune(&s->ahead, keep, ctx, NULL, now);
	return n;
}

/* Forgets the firing alerts that set->keep no longer confirms; they are resolved at once. */
void whalert_prune(struct sender *s)
{
	size_t n;

	if (!s->conf.alertmanager || !s->set->keep)
		return;
	n = prune(s, s->set->keep, s->set->keep_ctx);
	if (n) {
		log_notice("webhook %s: %zu firing alerts no longer hold (agent removed, its state "
			   "lost, or its resolve dropped); resolving them", s->shown, n);
		whcursor_checkpoint(s);
	}
}

/* set->keep for AgentLongState alerts; every other alert holds. */
static bool long_state_holds(void *ctx, const char *alertname, uint32_t cc, uint32_t vdn,
			     uint32_t id, const char *call_id)
{
	const struct webhooks *set = ctx;

	return strcmp(alertname, "AgentLongState") != 0 ||
	       set->keep(set->keep_ctx, alertname, cc, vdn, id, call_id);
}

/*
 * A new stint of the same state (the agent left it and came back between two polls) ends an
 * AgentLongState without any event: checked before each re-send and whenever the poller saw
 * such a stint (webhooks_recheck_long_states), so that it stops being sent and is resolved.
 */
static void prune_long_states(struct sender *s)
{
	size_t n;

	if (!s->set->keep)
		return;
	n = prune(s, long_state_holds, s->set);
	if (n) {
		log_info("webhook %s: %zu AgentLongState alerts no longer hold (a new stint); "
			 "resolving them", s->shown, n);
		whcursor_checkpoint(s);
	}
}

/* Pruned alerts' resolves go on the loop's next turn, not a minute later with the re-send. */
static void wake_for_resolves(struct sender *s)
{
	if (resolves_pending(s))
		whsend_wake(s);
}

void webhooks_recheck_long_states(struct webhooks *set)
{
	for (size_t i = 0; i < set->n; i++) {
		struct sender *s = set->v[i];

		if (!s->conf.alertmanager)
			continue;
		prune_long_states(s);
		wake_for_resolves(s);
	}
}

void webhooks_prune_alerts(struct webhooks *set, alertmgr_keep_fn keep, void *ctx)
{
	set->keep = keep;
	set->keep_ctx = ctx;
	for (size_t i = 0; i < set->n; i++) {
		whalert_prune(set->v[i]);
		wake_for_resolves(set->v[i]);
	}
}
