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

/*
 * Alertmanager forgets a firing alert it stops hearing about: say it again every minute, in
 * requests of whsend_batch_limit() alerts. A re-send starts once the requests under way are
 * answered and no batch goes until it ends, so that it never overtakes a resolve.
 */
void whalert_resend_firing(struct sender *s, uint64_t now)
{
	size_t allowed = s->p.window < s->conf.max_in_flight ? s->p.window : s->conf.max_in_flight;
	size_t max = whsend_batch_limit(s), n;

	if (!s->p.resend) {
		if (s->nflight)
			return;
		prune_long_states(s);
		s->p.resend = alertmgr_firing(&s->firing, util_now_realtime_us());
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
		whalert_resend_end(s, now + ALERTMGR_RESEND_US);
}

/* A re-send of the firing alerts is under way, or waits for the requests under way to end. */
bool whalert_resend_due(const struct sender *s, uint64_t now)
{
	return s->conf.alertmanager && (s->p.resend || (s->firing.n && now >= s->p.resend_at_us));
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

/* Forgets the firing alerts that set->keep no longer confirms. */
void whalert_prune(struct sender *s)
{
	size_t n;

	if (!s->conf.alertmanager || !s->set->keep)
		return;
	/* What is read but not yet acknowledged follows the acknowledged: prune both. */
	n = alertmgr_set_prune(&s->firing, s->set->keep, s->set->keep_ctx);
	alertmgr_set_prune(&s->ahead, s->set->keep, s->set->keep_ctx);
	if (n) {
		log_notice("webhook %s: %zu firing alerts no longer hold (agent removed, its state "
			   "lost, or its resolve dropped); Alertmanager resolves them at their endsAt",
			   s->shown, n);
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
 * AgentLongState without any event: checked before each re-send, so that it stops being sent
 * and Alertmanager resolves it at its endsAt.
 */
static void prune_long_states(struct sender *s)
{
	size_t n;

	if (!s->set->keep)
		return;
	n = alertmgr_set_prune(&s->firing, long_state_holds, s->set);
	alertmgr_set_prune(&s->ahead, long_state_holds, s->set);
	if (n) {
		log_info("webhook %s: %zu AgentLongState alerts no longer hold (a new stint); "
			 "Alertmanager resolves them at their endsAt", s->shown, n);
		whcursor_checkpoint(s);
	}
}

void webhooks_prune_alerts(struct webhooks *set, alertmgr_keep_fn keep, void *ctx)
{
	set->keep = keep;
	set->keep_ctx = ctx;
	for (size_t i = 0; i < set->n; i++)
		whalert_prune(set->v[i]);
}
