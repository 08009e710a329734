/* whsend: a webhook receiver's delivery: reading ahead, batches, pacing, answers, backlog. */
#include "config.h"

#include <fnmatch.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "log.h"
#include "util.h"
#include "whsender.h"

#define BACKOFF_FIRST_US 1000000ull
#define BACKOFF_MAX_US (300 * 1000000ull)
#define ALERTMGR_BATCH 100	/* alerts a request, in a backlog, when batch_max is 1 */

/* ---- reading ahead ---- */

static bool wanted(const struct sender *s, const char *type)
{
	if (s->conf.nevents == 0)
		return true;
	for (size_t i = 0; i < s->conf.nevents; i++)
		if (fnmatch(s->conf.events[i], type, 0) == 0)
			return true;
	return false;
}

static const char *event_field(struct json_object *o, const char *key)
{
	struct json_object *f;

	return json_object_object_get_ex(o, key, &f) ? json_object_get_string(f) : "";
}

static uint64_t agent_of(struct json_object *ev)
{
	struct json_object *agent = NULL;

	json_object_object_get_ex(ev, "agent", &agent);
	return whqueue_agent_hash(event_field(agent, "cc"), event_field(agent, "vdn"),
				  event_field(agent, "id"));
}

/*
 * Queues one wanted event at pos: as itself, or as the alert it fires or resolves (if any).
 * Takes ownership of json, the event's text.
 */
static void enqueue(struct sender *s, struct evlog_cursor pos, struct json_object *ev, char *json)
{
	struct json_object *out;

	if (!s->conf.alertmanager) {
		whqueue_push(&s->queue, pos, agent_of(ev), json, NULL, event_field(ev, "id"),
			     SIZE_MAX);
		return;
	}
	out = json_object_new_array();
	if (alertmgr_convert(&s->ahead, ev, out, util_now_realtime_us()))
		whqueue_push(&s->queue, pos, agent_of(ev), whalert_text(out), json,
			     event_field(ev, "id"), SIZE_MAX);
	else
		free(json);
	json_object_put(out);
}

/* Reads the log into the queue, up to WHQUEUE_WINDOW events past the oldest unacknowledged. */
static void read_ahead(struct sender *s)
{
	struct evlog *log = s->set->log;
	const char *json;
	size_t len;
	uint64_t seq;

	while (s->queue.n < WHQUEUE_WINDOW && evlog_peek(log, &s->read, &json, &len, &seq) == 1) {
		struct evlog_cursor pos = s->read;
		char *text = xstrndup(json, len);	/* a record read from disk ends at len */
		struct json_object *ev = json_tokener_parse(text);

		if (seq > s->read.seq) {
			s->stats.lost += seq - s->read.seq;
			log_warn("webhook %s: %" PRIu64 " events were gone from the log before delivery",
				 s->shown, seq - s->read.seq);
		}
		if (ev && wanted(s, event_field(ev, "type")))
			enqueue(s, pos, ev, text);
		else
			free(text);
		evlog_advance(log, &s->read, seq);
		json_object_put(ev);
	}
	whcursor_update(s);
}

/* ---- requests ---- */

static void on_done(struct curlev_transfer *t, CURLcode code);

/* A free request slot, made when every one is busy. */
struct whreq *whsend_request_get(struct sender *s)
{
	for (size_t i = 0; i < s->nreqs; i++)
		if (!s->reqs[i]->busy)
			return s->reqs[i];
	s->reqs = xreallocarray(s->reqs, s->nreqs + 1, sizeof(*s->reqs));
	s->reqs[s->nreqs] = whreq_new(s, on_done);
	return s->reqs[s->nreqs++];
}

/* Sends body (taken over) from slot r to the receiver. */
void whsend_post(struct whreq *r, char *body, const char *key)
{
	struct sender *s = r->s;
	struct whreq_target t = { .url = s->conf.url, .secret = s->conf.secret,
				  .secret_len = s->conf.secret_len,
				  .headers = s->conf.custom_headers, .tls = &s->conf.tls,
				  .timeout_ms = s->conf.timeout_ms };

	s->nflight++;
	whreq_post(r, s->set->curl, &t, body, key);
}

/*
 * The most events in one request. A JSON receiver with batch_max 1 gets each event alone (its
 * backlog goes through max_in_flight requests at once); with more, and for Alertmanager (whose
 * body is always an array), a backlog fills requests up to that.
 */
size_t whsend_batch_limit(const struct sender *s)
{
	return s->conf.alertmanager && s->conf.batch_max == 1 ? ALERTMGR_BATCH : s->conf.batch_max;
}

static void send_batch(struct sender *s, struct whqueue_item *const *items, size_t n)
{
	struct whreq *r = whsend_request_get(s);
	enum whqueue_form form = s->conf.alertmanager ? WHQUEUE_ARRAY :
				 s->conf.batch_max == 1 ? WHQUEUE_SINGLE : WHQUEUE_EVENTS;
	char *key = NULL;

	r->items = xcalloc(n, sizeof(*r->items));
	r->n = n;
	for (size_t i = 0; i < n; i++) {
		r->items[i] = items[i];
		items[i]->state = WHQUEUE_SENDING;
	}
	if (form == WHQUEUE_SINGLE)
		key = xstrdup(items[0]->id);
	else if (form == WHQUEUE_EVENTS)
		key = xasprintf("batch-%s-%s", items[0]->id, items[n - 1]->id);
	whsend_post(r, whqueue_body(items, n, form), key);
	free(key);
}

/* Fills the free request slots with batches; a partial last batch may linger for more. */
static void send_batches(struct sender *s, uint64_t now)
{
	size_t allowed = s->p.window < s->conf.max_in_flight ? s->p.window : s->conf.max_in_flight;
	size_t slots = allowed > s->nflight ? allowed - s->nflight : 0;
	size_t max = whsend_batch_limit(s), nb, off = 0;
	struct whqueue_item **items;
	size_t *sizes;

	if (!slots || !s->queue.n)
		return;
	/* At most every queued item goes. */
	items = xcalloc(slots * max < s->queue.n ? slots * max : s->queue.n, sizeof(*items));
	sizes = xcalloc(slots, sizeof(*sizes));
	nb = whqueue_take(&s->queue, slots, max, items, sizes);
	for (size_t b = 0; b < nb; off += sizes[b++]) {
		if (b == nb - 1 && sizes[b] < max && s->conf.linger_us && max > 1) {
			if (!s->p.linger_until_us)
				s->p.linger_until_us = now + s->conf.linger_us;
			if (now < s->p.linger_until_us)
				break;
		}
		if (b == nb - 1)
			s->p.linger_until_us = 0;
		send_batch(s, items + off, sizes[b]);
	}
	free(items);
	free(sizes);
}

/* ---- pacing ---- */

static void arm(struct sender *s, uint64_t when_us)
{
	sd_event_source_set_time(s->timer, when_us);
	sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
}

void whsend_wake(struct sender *s)
{
	arm(s, util_now_monotonic_us());
}

static void earliest(uint64_t *next, uint64_t now, uint64_t when)
{
	if (when > now && when < *next)
		*next = when;
}

/* The timer wakes the sender for the next of: backoff over, linger over, re-send, cursor save. */
static void arm_next(struct sender *s, uint64_t now)
{
	uint64_t next = UINT64_MAX;

	earliest(&next, now, s->p.wait_until_us);
	if (s->p.linger_until_us)
		earliest(&next, now, s->p.linger_until_us);
	if (s->conf.alertmanager && s->firing.n)
		earliest(&next, now, s->p.resend_at_us);
	if (s->p.dirty)
		earliest(&next, now, s->p.save_at_us);
	if (next != UINT64_MAX)
		arm(s, next);
}

void whsend_pump(struct sender *s)
{
	uint64_t now = util_now_monotonic_us();

	read_ahead(s);
	if (now >= s->p.wait_until_us) {
		if (whalert_resend_due(s, now))
			whalert_resend_firing(s, now);
		if (!whalert_resend_due(s, now))
			send_batches(s, now);
	}
	if (s->p.dirty && now >= s->p.save_at_us)
		whcursor_checkpoint(s);
	arm_next(s, now);
}

int whsend_on_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
	(void)source;
	(void)usec;
	whsend_pump(userdata);
	return 0;
}

/* ---- outcomes ---- */

/*
 * The receiver has this item for good: delivered, or refused (dead-lettered). Alertmanager's
 * acknowledged alerts follow it; a refused alert is not re-sent.
 */
static void acknowledge(struct sender *s, struct whqueue_item *it, bool refused)
{
	if (s->conf.alertmanager) {
		struct json_object *ev = json_tokener_parse(it->event);
		struct json_object *out = json_object_new_array();

		/* Alerts firing before keep their re-send time; with none, the clock starts now. */
		if (s->firing.n == 0)
			s->p.resend_at_us = util_now_monotonic_us() + ALERTMGR_RESEND_US;
		if (ev && refused)
			alertmgr_forget(&s->firing, ev);
		else if (ev)
			alertmgr_convert(&s->firing, ev, out, util_now_realtime_us());
		json_object_put(out);
		json_object_put(ev);
		s->p.dirty = true;
	}
	it->state = WHQUEUE_DONE;
}

/* Exponential from 1 s, capped at 5 min, with +-50% jitter so receivers are not stormed. */
static uint64_t backoff_us(unsigned failures, double retry_after)
{
	uint64_t base = BACKOFF_FIRST_US << (failures < 10 ? failures - 1 : 9);
	uint16_t r = 0;

	if (base > BACKOFF_MAX_US)
		base = BACKOFF_MAX_US;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) < 0)
		r = (uint16_t)util_now_monotonic_us();
	base = base / 2 + base * r / 65536;
	if (retry_after * 1e6 > (double)base)
		base = (uint64_t)(retry_after * 1e6);
	return base > BACKOFF_MAX_US ? BACKOFF_MAX_US : base;
}

void whsend_retry_later(struct whreq *r, long status, CURLcode code)
{
	struct sender *s = r->s;
	curl_off_t retry_after = 0;
	uint64_t delay, now = util_now_monotonic_us();
	char why[REASON_MAX + 8];

	for (size_t i = 0; i < r->n && r->items; i++)
		r->items[i]->state = WHQUEUE_QUEUED;
	if (s->conf.alertmanager && r->items)
		whalert_refresh_fires(r);
	s->stats.attempts_failed++;
	s->p.window = 1;
	/* The other requests that were under way when the receiver failed are one failure. */
	if (now < s->p.wait_until_us)
		return;
	curl_easy_getinfo(r->transfer.easy, CURLINFO_RETRY_AFTER, &retry_after);
	s->p.failures++;
	delay = backoff_us(s->p.failures, (double)retry_after);
	if (s->p.failures == 1 || s->p.failures % 10 == 0) {
		if (code != CURLE_OK) {
			log_warn("webhook %s: %s; retry %u in %.1f s", s->shown,
				 r->errbuf[0] ? r->errbuf : curl_easy_strerror(code), s->p.failures,
				 (double)delay / 1e6);
		} else {
			whreq_reason(r, why, sizeof(why));
			log_warn("webhook %s: HTTP %ld (%s); retry %u in %.1f s", s->shown, status,
				 why, s->p.failures, (double)delay / 1e6);
		}
	}
	s->p.wait_until_us = now + delay;
}

/*
 * A permanent refusal. A batch is split in halves that are sent again (a 413, or Alertmanager's
 * 400 for one bad alert among good ones, refuses the whole); a single event goes to the
 * dead-letter file.
 */
static void refused(struct whreq *r, long status)
{
	struct sender *s = r->s;
	char why[REASON_MAX + 8];

	whreq_reason(r, why, sizeof(why));
	if (r->n > 1) {
		log_notice("webhook %s: HTTP %ld refuses a batch of %zu (%s); sending it in halves",
			   s->shown, status, r->n, why);
		for (size_t i = 0; i < r->n; i++) {
			r->items[i]->limit = (r->n + 1) / 2;
			r->items[i]->state = WHQUEUE_QUEUED;
		}
		return;
	}
	whdead_letter(s, r, status, why);
	acknowledge(s, r->items[0], true);
}

static void on_done(struct curlev_transfer *t, CURLcode code)
{
	struct whreq *r = (struct whreq *)((char *)t - offsetof(struct whreq, transfer));
	struct sender *s = r->s;
	long status = 0;
	bool ok;

	r->busy = false;
	s->nflight--;
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	ok = code == CURLE_OK && status >= 200 && status < 300;
	if (ok) {
		s->p.failures = 0;
		/* Slow start: a receiver that failed is probed by one request, then more. */
		if (s->p.window < s->conf.max_in_flight)
			s->p.window *= 2;
	}
	if (!r->items) {
		whalert_resend_done(r, status, code);
	} else if (ok) {
		s->stats.delivered += r->n;
		for (size_t i = 0; i < r->n; i++)
			acknowledge(s, r->items[i], false);
	} else if (code == CURLE_OK && status != 408 && status != 429 && status < 500) {
		refused(r, status);
	} else {
		whsend_retry_later(r, status, code);
	}
	whreq_release(r);
	whsend_pump(s);
}

/* ---- retention ---- */

/*
 * A receiver more than max_backlog log records behind loses the oldest of them, counted and
 * logged, so that the segments it holds can go. Reading restarts a tenth below the cap, so
 * that a receiver staying down drops (and logs) once per tenth of the cap, not once per event.
 * Never while a request is under way: its items are what the cursor waits on. Records are
 * counted whatever their type, so for a receiver with an events filter the count includes
 * events it would not have been sent.
 */
void whsend_enforce_backlog(struct sender *s)
{
	uint64_t next = evlog_next_seq(s->set->log), keep, dropped;
	struct json_object *firing;

	if (s->nflight || s->p.resend || next - s->cursor.seq <= s->conf.max_backlog)
		return;
	keep = s->conf.max_backlog - s->conf.max_backlog / 10;
	dropped = next - keep - s->cursor.seq;
	s->stats.dropped += dropped;
	log_err("webhook %s: %" PRIu64 " undelivered events dropped, the oldest of a backlog past "
		"max_backlog = %zu (%" PRIu64 " dropped since start)", s->shown, dropped,
		s->conf.max_backlog, s->stats.dropped);
	/*
	 * What was read ahead goes too: the alerts it would fire or resolve are as acknowledged,
	 * less those a dropped resolve would have ended (else re-sent every minute for ever).
	 */
	whqueue_clear(&s->queue);
	whalert_prune(s);
	firing = alertmgr_set_to_json(&s->firing);
	alertmgr_set_clear(&s->ahead);
	alertmgr_set_from_json(&s->ahead, firing);
	json_object_put(firing);
	s->cursor = s->read = (struct evlog_cursor){ .seq = next - keep };
	s->p.linger_until_us = 0;
	whcursor_checkpoint(s);
}
