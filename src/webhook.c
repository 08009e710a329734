/* webhook: each receiver fed from the event log at its own pace, at least once, in order. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "alertmgr.h"
#include "curlev.h"
#include "log.h"
#include "reply.h"
#include "util.h"
#include "webhook.h"
#include "whqueue.h"
#include "whreq.h"
#include "writer.h"

#define BACKOFF_FIRST_US 1000000ull
#define BACKOFF_MAX_US (300 * 1000000ull)
#define RESPONSE_KEEP WHREQ_RESPONSE_KEEP	/* bytes of a refusal kept for dead letters */
#define REASON_MAX 200		/* bytes of a receiver's answer quoted in a log line */
#define SAVE_PERIOD_US 1000000ull	/* a moving cursor is saved at most this often */
#define ALERTMGR_BATCH 100	/* alerts a request, in a backlog, when batch_max is 1 */

struct sender {
	struct webhooks *set;
	char *key;			/* "format url": who this receiver is across reloads */
	char *cursor_path;		/* NULL without state_dir */
	/* Settings, copied from the configuration. */
	char *url;
	char *shown;			/* url as logged: scheme://host[:port], no token */
	char *name;			/* shown, made unique among receivers: the metrics label */
	bool alertmanager;
	char *secret;
	size_t secret_len;
	char **events;
	size_t nevents;
	long timeout_ms;
	size_t batch_max;
	size_t max_in_flight;
	size_t max_backlog;		/* log records it may fall behind before the oldest go */
	uint64_t dropped;		/* ... and how many went since start */
	uint64_t linger_us;
	struct curl_slist *custom_headers;
	struct curlev_tls tls;
	/*
	 * Progress: everything before cursor is acknowledged (the oldest item of queue is at it);
	 * read is where reading goes on; saved is what the cursor file says.
	 */
	struct evlog_cursor cursor;
	struct evlog_cursor read;
	struct evlog_cursor saved;
	struct whqueue queue;
	struct alertmgr_set firing;	/* acknowledged by Alertmanager */
	struct alertmgr_set ahead;	/* as it will be once everything read is */
	struct whreq **reqs;		/* nreqs slots, nflight of them busy */
	size_t nreqs, nflight;
	struct pacing {
		size_t window;		/* requests allowed under way: 1 after a failure */
		unsigned failures;
		uint64_t wait_until_us;		/* backoff after a failure */
		uint64_t linger_until_us;	/* a partial batch waits for more until then */
		uint64_t resend_at_us;
		struct json_object *resend;	/* the alerts of a re-send under way, or NULL */
		size_t resend_pos;		/* how many of them went */
		uint64_t save_at_us;		/* the next cursor save, when dirty */
		bool dirty;			/* cursor or firing moved since saved */
	} p;
	struct webhook_stats stats;
	sd_event_source *timer;
};

struct webhooks {
	sd_event *event;
	struct evlog *log;
	char *state_dir;
	struct curlev *curl;
	struct sender **v;
	size_t n;
	uint64_t kicked_seq;	/* the log's next seq at the last kick */
	uint64_t deadletter_max;	/* bytes before deadletter.jsonl is rotated */
	alertmgr_keep_fn keep;		/* whether a firing alert still holds (NULL: not known yet) */
	void *keep_ctx;
	bool configured;		/* once: later configurations remove cursors in sender_free */
	char **removed;			/* keys of receivers a reload removed (their files may linger) */
	size_t nremoved;
	struct webhook_stats stats;	/* of receivers a reload removed */
};

static void whsend_pump(struct sender *s);
static void kick_all(struct webhooks *set);
static void whalert_prune(struct sender *s);
static void prune_long_states(struct sender *s);

/* ---- settings and cursor ---- */

static void settings_clear(struct sender *s)
{
	free(s->url);
	free(s->shown);
	free(s->name);
	s->name = NULL;
	util_secret_free(s->secret, s->secret_len);
	for (size_t i = 0; i < s->nevents; i++)
		free(s->events[i]);
	free(s->events);
	curl_slist_free_all(s->custom_headers);
	curlev_tls_clear(&s->tls);
}

static void settings_set(struct sender *s, const struct cfg_webhook *w)
{
	settings_clear(s);
	s->url = xstrdup(w->url);
	s->shown = util_url_origin(w->url);
	s->alertmanager = w->format == CFG_WEBHOOK_ALERTMANAGER;
	s->secret = NULL;
	s->secret_len = w->secret_len;
	if (w->secret) {
		s->secret = util_secret_dup(w->secret, w->secret_len);
	}
	s->nevents = w->nevents;
	s->events = xcalloc(w->nevents, sizeof(char *));
	for (size_t i = 0; i < w->nevents; i++)
		s->events[i] = xstrdup(w->events[i]);
	s->timeout_ms = (long)(w->timeout * 1000.0 + 0.5);
	s->batch_max = w->batch_max ? w->batch_max : 1;
	s->max_in_flight = w->max_in_flight ? w->max_in_flight : WEBHOOK_MAX_IN_FLIGHT;
	s->linger_us = (uint64_t)(w->batch_linger * 1e6);
	/* 0 only from a cfg_webhook built by hand (bench/webhook.c): no cap. */
	s->max_backlog = w->max_backlog ? w->max_backlog : SIZE_MAX;
	s->custom_headers = NULL;
	for (size_t i = 0; i < w->nheaders; i++) {
		char *h = xasprintf("%s: %s", w->headers[i].name, w->headers[i].value);

		s->custom_headers = curlev_header(s->custom_headers, h);
		free(h);
	}
	curlev_tls_set(&s->tls, &w->tls);
}

static char *whcursor_key(const struct cfg_webhook *w)
{
	return xasprintf("%s %s", w->format == CFG_WEBHOOK_ALERTMANAGER ? "alertmanager" : "json",
			 w->url);
}

/* webhook-<16 hex digits of SHA-256 of the key>.cursor */
static char *whcursor_path(const char *dir, const char *key)
{
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];

	EVP_Digest(key, strlen(key), digest, &n, EVP_sha256(), NULL);
	util_hex_lower(digest, 8, hex);
	return xasprintf("%s/webhook-%s.cursor", dir, hex);
}

static void save_cursor(struct sender *s)
{
	struct json_object *o;
	const char *text;

	if (!s->cursor_path)
		return;
	o = json_object_new_object();
	json_object_object_add(o, "receiver", json_object_new_string(s->key));
	json_object_object_add(o, "seq", json_object_new_int64((int64_t)s->cursor.seq));
	json_object_object_add(o, "segment", json_object_new_int64((int64_t)s->cursor.segment));
	json_object_object_add(o, "offset", json_object_new_int64((int64_t)s->cursor.offset));
	json_object_object_add(o, "firing", alertmgr_set_to_json(&s->firing));
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	/*
	 * Not fsynced: losing the newest cursor only re-sends events, with the same ids. Renamed
	 * into place by the writer thread, which keeps only the newest of a burst.
	 */
	writer_save_file(evlog_writer(s->set->log), s->cursor_path, text, strlen(text), false);
	json_object_put(o);
}

static uint64_t get_u64(struct json_object *o, const char *key)
{
	struct json_object *f;

	return json_object_object_get_ex(o, key, &f) && json_object_is_type(f, json_type_int) &&
	       json_object_get_int64(f) > 0 ? (uint64_t)json_object_get_int64(f) : 0;
}

/*
 * Whether a reload removed this receiver before: its cursor file is stale, and may still be there
 * while the writer has its removal queued. Forgets it: the receiver is back.
 */
static bool was_removed(struct webhooks *set, const char *key)
{
	for (size_t i = 0; i < set->nremoved; i++) {
		if (strcmp(set->removed[i], key) == 0) {
			free(set->removed[i]);
			set->removed[i] = set->removed[--set->nremoved];
			return true;
		}
	}
	return false;
}

/*
 * A receiver seen before resumes where it was; a new one, or one a reload removed and another
 * added back, gets only events from now on.
 */
static void whcursor_load(struct sender *s)
{
	struct json_object *o = s->cursor_path && !was_removed(s->set, s->key) ?
				json_object_from_file(s->cursor_path) : NULL;
	struct json_object *firing = NULL;
	uint64_t next = evlog_next_seq(s->set->log);

	s->cursor = evlog_end(s->set->log);
	if (!o)
		return;
	if (get_u64(o, "seq") && get_u64(o, "seq") <= next) {
		s->cursor.seq = get_u64(o, "seq");
		s->cursor.segment = get_u64(o, "segment");
		s->cursor.offset = get_u64(o, "offset");
		if (s->cursor.seq < next)
			log_notice("webhook %s: resuming with %" PRIu64 " undelivered events", s->shown,
				   next - s->cursor.seq);
	}
	json_object_object_get_ex(o, "firing", &firing);
	alertmgr_set_from_json(&s->firing, firing);
	alertmgr_set_from_json(&s->ahead, firing);
	json_object_put(o);
}

/* Saves the cursor and the firing alerts now; every save goes through save_cursor. */
static void whcursor_checkpoint(struct sender *s)
{
	save_cursor(s);
	s->saved = s->cursor;
	s->p.dirty = false;
	s->p.save_at_us = util_now_monotonic_us() + SAVE_PERIOD_US;
}

/* The cursor goes to the oldest unacknowledged item, or where reading is when there is none. */
static void whcursor_update(struct sender *s)
{
	struct whqueue_item *front;

	whqueue_pop_done(&s->queue);
	front = whqueue_front(&s->queue);
	if (front ? front->pos.seq != s->cursor.seq : s->read.seq != s->cursor.seq)
		s->p.dirty = true;
	s->cursor = front ? front->pos : s->read;
}

/* ---- reading ahead ---- */

static bool wanted(const struct sender *s, const char *type)
{
	if (s->nevents == 0)
		return true;
	for (size_t i = 0; i < s->nevents; i++)
		if (fnmatch(s->events[i], type, 0) == 0)
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

/* The text of the one alert in out. */
static char *whalert_text(struct json_object *out)
{
	return xstrdup(json_object_to_json_string_ext(json_object_array_get_idx(out, 0),
						      JSON_C_TO_STRING_PLAIN |
						      JSON_C_TO_STRING_NOSLASHESCAPE));
}

/*
 * Queues one wanted event at pos: as itself, or as the alert it fires or resolves (if any).
 * Takes ownership of json, the event's text.
 */
static void enqueue(struct sender *s, struct evlog_cursor pos, struct json_object *ev, char *json)
{
	struct json_object *out;

	if (!s->alertmanager) {
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

/* Ends the re-send of the firing alerts under way; the next is due at when_us. */
static void whalert_resend_end(struct sender *s, uint64_t when_us)
{
	json_object_put(s->p.resend);
	s->p.resend = NULL;
	s->p.resend_at_us = when_us;
}

static void on_done(struct curlev_transfer *t, CURLcode code);

/* A free request slot, made when every one is busy. */
static struct whreq *whsend_request_get(struct sender *s)
{
	for (size_t i = 0; i < s->nreqs; i++)
		if (!s->reqs[i]->busy)
			return s->reqs[i];
	s->reqs = xreallocarray(s->reqs, s->nreqs + 1, sizeof(*s->reqs));
	s->reqs[s->nreqs] = whreq_new(s, on_done);
	return s->reqs[s->nreqs++];
}

/* Sends body (taken over) from slot r to the receiver. */
static void whsend_post(struct whreq *r, char *body, const char *key)
{
	struct sender *s = r->s;
	struct whreq_target t = { .url = s->url, .secret = s->secret, .secret_len = s->secret_len,
				  .headers = s->custom_headers, .tls = &s->tls,
				  .timeout_ms = s->timeout_ms };

	s->nflight++;
	whreq_post(r, s->set->curl, &t, body, key);
}

/*
 * The most events in one request. A JSON receiver with batch_max 1 gets each event alone (its
 * backlog goes through max_in_flight requests at once); with more, and for Alertmanager (whose
 * body is always an array), a backlog fills requests up to that.
 */
static size_t whsend_batch_limit(const struct sender *s)
{
	return s->alertmanager && s->batch_max == 1 ? ALERTMGR_BATCH : s->batch_max;
}

static void send_batch(struct sender *s, struct whqueue_item *const *items, size_t n)
{
	struct whreq *r = whsend_request_get(s);
	enum whqueue_form form = s->alertmanager ? WHQUEUE_ARRAY :
				 s->batch_max == 1 ? WHQUEUE_SINGLE : WHQUEUE_EVENTS;
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
	size_t allowed = s->p.window < s->max_in_flight ? s->p.window : s->max_in_flight;
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
		if (b == nb - 1 && sizes[b] < max && s->linger_us && max > 1) {
			if (!s->p.linger_until_us)
				s->p.linger_until_us = now + s->linger_us;
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

/*
 * Alertmanager forgets a firing alert it stops hearing about: say it again every minute, in
 * requests of whsend_batch_limit() alerts. A re-send starts once the requests under way are
 * answered and no batch goes until it ends, so that it never overtakes a resolve.
 */
static void whalert_resend_firing(struct sender *s, uint64_t now)
{
	size_t allowed = s->p.window < s->max_in_flight ? s->p.window : s->max_in_flight;
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

/* ---- pacing ---- */

static void arm(struct sender *s, uint64_t when_us)
{
	sd_event_source_set_time(s->timer, when_us);
	sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
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
	if (s->alertmanager && s->firing.n)
		earliest(&next, now, s->p.resend_at_us);
	if (s->p.dirty)
		earliest(&next, now, s->p.save_at_us);
	if (next != UINT64_MAX)
		arm(s, next);
}

/* A re-send of the firing alerts is under way, or waits for the requests under way to end. */
static bool whalert_resend_due(const struct sender *s, uint64_t now)
{
	return s->alertmanager && (s->p.resend || (s->firing.n && now >= s->p.resend_at_us));
}

static void whsend_pump(struct sender *s)
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

static int whsend_on_timer(sd_event_source *source, uint64_t usec, void *userdata)
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
	if (s->alertmanager) {
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

/* "webhook-HHHHHHHHHHHHHHHH": the name of the receiver's cursor file without ".cursor". */
static struct json_object *receiver_name(const struct sender *s)
{
	const char *base = strrchr(s->cursor_path, '/') + 1;

	return json_object_new_string_len(base, (int)strcspn(base, "."));
}

/*
 * Once deadletter.jsonl has reached deadletter_max bytes it becomes deadletter.jsonl.1 and the
 * older ones move up by one; the one past WEBHOOK_DEADLETTER_KEEP is overwritten, so the files
 * stay within about (KEEP + 1) * deadletter_max bytes. Done by the writer thread, in order with
 * the appends.
 */
struct rotate_job {
	char *path;
	uint64_t max;
	off_t size;		/* the size it had when it was rotated; 0 when it was not */
	unsigned failed;	/* the rename that failed, if one did */
};

static int rotate_work(void *arg)
{
	struct rotate_job *j = arg;
	struct stat st;
	int err = 0;

	if (stat(j->path, &st) < 0 || (uint64_t)st.st_size < j->max)
		return 0;
	j->size = st.st_size;
	for (unsigned i = WEBHOOK_DEADLETTER_KEEP; i > 0; i--) {
		char *from = i > 1 ? xasprintf("%s.%u", j->path, i - 1) : xstrdup(j->path);
		char *to = xasprintf("%s.%u", j->path, i);

		if (rename(from, to) < 0 && errno != ENOENT && !err) {
			err = errno;
			j->failed = i;
		}
		free(from);
		free(to);
	}
	return err;
}

static void rotate_done(void *arg, int err)
{
	struct rotate_job *j = arg;

	if (err)
		log_err("%s: cannot rotate to %s.%u: %s", j->path, j->path, j->failed,
			strerror(err));
	else if (j->size)
		log_notice("%s: %lld bytes, rotated to %s.1 (%u older files kept, the oldest dropped)",
			   j->path, (long long)j->size, j->path, WEBHOOK_DEADLETTER_KEEP);
	free(j->path);
	free(j);
}

static void rotate_deadletter(struct webhooks *set, const char *path)
{
	struct rotate_job *j;

	if (!set->deadletter_max)
		return;
	j = xcalloc(1, sizeof(*j));
	j->path = xstrdup(path);
	j->max = set->deadletter_max;
	if (!writer_submit(evlog_writer(set->log), rotate_work, rotate_done, j))
		rotate_done(j, rotate_work(j));
}

static void whdead_letter(struct sender *s, struct whreq *r, long status, const char *why)
{
	char shown[RESPONSE_KEEP + 8] = "";
	char when[UTIL_TIME_LEN];
	struct json_object *entry = json_object_new_object();
	char *path, *line;

	reply_sanitize(r->response ? r->response : "", r->response_len, shown, sizeof(shown));
	log_err("webhook %s: HTTP %ld refuses %zu event%s for good (%s); %s", s->shown, status,
		r->n, r->n == 1 ? "" : "s", why,
		s->set->state_dir ? "kept in " WEBHOOK_DEADLETTER : "dropped (no state_dir)");
	s->stats.dead_lettered += r->n;
	if (!s->set->state_dir) {
		json_object_put(entry);
		return;
	}
	util_format_time(util_now_realtime_us(), when);
	json_object_object_add(entry, "time", json_object_new_string(when));
	json_object_object_add(entry, "webhook", json_object_new_string(s->shown));
	/* Receivers on one host (hooks.slack.com) differ in the token: tell them apart by the
	 * name of their cursor file instead. */
	json_object_object_add(entry, "receiver", receiver_name(s));
	json_object_object_add(entry, "http_status", json_object_new_int64(status));
	json_object_object_add(entry, "response", json_object_new_string(shown));
	json_object_object_add(entry, "payload", json_tokener_parse(r->body));
	path = xasprintf("%s/%s", s->set->state_dir, WEBHOOK_DEADLETTER);
	line = xasprintf("%s\n", json_object_to_json_string_ext(entry, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
	/* Rotated, appended and fdatasync'd by the writer thread, in order with the other disk work. */
	rotate_deadletter(s->set, path);
	writer_append_file(evlog_writer(s->set->log), path, line, strlen(line));
	free(line);
	free(path);
	json_object_put(entry);
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

/*
 * Alertmanager drops an alert at its endsAt, which a fire got when it was read: one sent again
 * after a failure is made anew, with endsAt from now (a resolve keeps its own).
 */
static void whalert_refresh_fires(struct whreq *r)
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

static void whsend_retry_later(struct whreq *r, long status, CURLcode code)
{
	struct sender *s = r->s;
	curl_off_t retry_after = 0;
	uint64_t delay, now = util_now_monotonic_us();
	char why[REASON_MAX + 8];

	for (size_t i = 0; i < r->n && r->items; i++)
		r->items[i]->state = WHQUEUE_QUEUED;
	if (s->alertmanager && r->items)
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

/*
 * A re-send that failed goes again, whole, after the backoff, as a batch would; one refused for
 * good is said, and the next comes in a minute.
 */
static void whalert_resend_done(struct whreq *r, long status, CURLcode code)
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
		if (s->p.window < s->max_in_flight)
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
static void whsend_enforce_backlog(struct sender *s)
{
	uint64_t next = evlog_next_seq(s->set->log), keep, dropped;
	struct json_object *firing;

	if (s->nflight || s->p.resend || next - s->cursor.seq <= s->max_backlog)
		return;
	keep = s->max_backlog - s->max_backlog / 10;
	dropped = next - keep - s->cursor.seq;
	s->dropped += dropped;
	s->stats.dropped += dropped;
	log_err("webhook %s: %" PRIu64 " undelivered events dropped, the oldest of a backlog past "
		"max_backlog = %zu (%" PRIu64 " dropped since start)", s->shown, dropped,
		s->max_backlog, s->dropped);
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

static bool cursor_in_use(const struct webhooks *set, const char *path)
{
	for (size_t i = 0; i < set->n; i++)
		if (set->v[i]->cursor_path && strcmp(set->v[i]->cursor_path, path) == 0)
			return true;
	return false;
}

/* The receiver a cursor file was for, as it may be logged: its key is "FORMAT URL". */
static char *cursor_receiver(const char *path)
{
	struct json_object *o = json_object_from_file(path), *key;
	const char *url = NULL;
	char *shown;

	if (o && json_object_object_get_ex(o, "receiver", &key) &&
	    (url = strchr(json_object_get_string(key), ' ')))
		url++;
	shown = util_url_origin(url ? url : "?");
	json_object_put(o);
	return shown;
}

/*
 * At start: removes the cursor files of receivers no longer configured, so that one added again
 * later starts at the log's end like any new receiver, not at a stale position. (A receiver a
 * reload removes has its file removed by sender_free.)
 */
static void whcursor_prune(struct webhooks *set)
{
	DIR *d = set->state_dir ? opendir(set->state_dir) : NULL;
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char *path, *shown;

		if (fnmatch("webhook-*.cursor", e->d_name, FNM_PERIOD) != 0)
			continue;
		path = xasprintf("%s/%s", set->state_dir, e->d_name);
		if (!cursor_in_use(set, path)) {
			shown = cursor_receiver(path);
			if (unlink(path) == 0)
				log_notice("%s: removed, its receiver (%s) is no longer configured",
					   path, shown);
			else
				log_warn("%s: %s", path, strerror(errno));
			free(shown);
		}
		free(path);
	}
	if (d)
		closedir(d);
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

/*
 * keep_cursor false: the receiver is gone from the configuration, so is its cursor file (a
 * receiver added back later starts at the log's end, not at a stale position); removed by the
 * writer thread after the saves it still has queued.
 */
static void add_stats(struct webhook_stats *sum, const struct webhook_stats *st)
{
	sum->delivered += st->delivered;
	sum->attempts_failed += st->attempts_failed;
	sum->dead_lettered += st->dead_lettered;
	sum->lost += st->lost;
	sum->dropped += st->dropped;
}

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

/* Forgets the firing alerts that set->keep no longer confirms. */
static void whalert_prune(struct sender *s)
{
	size_t n;

	if (!s->alertmanager || !s->set->keep)
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
