/* webhook: each receiver fed from the event log at its own pace, at least once, in order. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "alertmgr.h"
#include "curlev.h"
#include "log.h"
#include "reply.h"
#include "util.h"
#include "webhook.h"

#define BACKOFF_FIRST_US 1000000ull
#define BACKOFF_MAX_US (300 * 1000000ull)
#define RESPONSE_KEEP 512	/* bytes of a refusal kept for the dead-letter file */

struct sender {
	struct webhooks *set;
	struct curlev_transfer transfer;
	char *key;			/* "format url": who this receiver is across reloads */
	char *cursor_path;		/* NULL without state_dir */
	/* Settings, copied from the configuration. */
	char *url;
	char *name;			/* url without credentials or query, for metrics */
	bool alertmanager;
	char *secret;
	size_t secret_len;
	char **events;
	size_t nevents;
	long timeout_ms;
	size_t batch_max;
	uint64_t linger_us;
	struct curl_slist *custom_headers;
	struct curlev_tls tls;
	/* Progress: everything before cursor is delivered; a batch under way ends at batch_end. */
	struct evlog_cursor cursor;
	struct evlog_cursor batch_end;
	size_t batch_events;
	struct alertmgr_set firing;		/* acknowledged by Alertmanager */
	struct alertmgr_set batch_firing;	/* as it will be once the batch is */
	char *body;
	struct curl_slist *headers;
	char *response;
	size_t response_len;
	char errbuf[CURL_ERROR_SIZE];
	bool in_flight;
	bool resending;			/* the request under way is a periodic re-send of alerts */
	unsigned failures;
	uint64_t wait_until_us;		/* backoff after a failure */
	uint64_t linger_until_us;	/* a partial batch waits for more until then */
	uint64_t resend_at_us;
	sd_event_source *timer;
	struct webhook_stats stats;
};

struct webhooks {
	sd_event *event;
	struct evlog *log;
	char *state_dir;
	struct curlev *curl;
	struct sender **v;
	size_t n;
	struct webhook_stats stats;	/* of receivers a reload removed */
};

static void pump(struct sender *s);

/* ---- settings and cursor ---- */

/* The URL as metrics show it: user:password@ and ?query may hold credentials. */
static char *public_name(const char *url)
{
	const char *scheme_end = strstr(url, "://"), *host, *auth_end, *at;

	host = scheme_end ? scheme_end + 3 : url;
	auth_end = host + strcspn(host, "/?#");
	for (at = auth_end; at > host && at[-1] != '@'; at--)
		;
	if (at > host)
		host = at;
	return xasprintf("%.*s%.*s", (int)(scheme_end ? scheme_end + 3 - url : 0), url,
			 (int)strcspn(host, "?#"), host);
}

static void settings_clear(struct sender *s)
{
	free(s->url);
	free(s->name);
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
	s->name = public_name(w->url);
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
	s->linger_us = (uint64_t)(w->batch_linger * 1e6);
	s->custom_headers = NULL;
	for (size_t i = 0; i < w->nheaders; i++) {
		char *h = xasprintf("%s: %s", w->headers[i].name, w->headers[i].value);

		s->custom_headers = curlev_header(s->custom_headers, h);
		free(h);
	}
	curlev_tls_set(&s->tls, &w->tls);
}

static char *sender_key(const struct cfg_webhook *w)
{
	return xasprintf("%s %s", w->format == CFG_WEBHOOK_ALERTMANAGER ? "alertmanager" : "json",
			 w->url);
}

/* webhook-<16 hex digits of SHA-256 of the key>.cursor */
static char *cursor_path(const char *dir, const char *key)
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
	/* Not fsynced: losing the newest cursor only re-sends events, with the same ids. */
	if (util_write_file_atomic(s->cursor_path, text, strlen(text), false) < 0)
		log_warn("%s: %s", s->cursor_path, strerror(errno));
	json_object_put(o);
}

static uint64_t get_u64(struct json_object *o, const char *key)
{
	struct json_object *f;

	return json_object_object_get_ex(o, key, &f) && json_object_is_type(f, json_type_int) &&
	       json_object_get_int64(f) > 0 ? (uint64_t)json_object_get_int64(f) : 0;
}

/* A receiver seen before resumes where it was; a new one gets only events from now on. */
static void load_cursor(struct sender *s)
{
	struct json_object *o = s->cursor_path ? json_object_from_file(s->cursor_path) : NULL;
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
			log_notice("webhook %s: resuming with %" PRIu64 " undelivered events", s->url,
				   next - s->cursor.seq);
	}
	json_object_object_get_ex(o, "firing", &firing);
	alertmgr_set_from_json(&s->firing, firing);
	json_object_put(o);
}

/* ---- building a request ---- */

static bool wanted(const struct sender *s, const char *type)
{
	if (s->nevents == 0)
		return true;
	for (size_t i = 0; i < s->nevents; i++)
		if (fnmatch(s->events[i], type, 0) == 0)
			return true;
	return false;
}

static const char *event_type_of(struct json_object *ev)
{
	struct json_object *t;

	return json_object_object_get_ex(ev, "type", &t) ? json_object_get_string(t) : "";
}

static const char *event_id_of(struct json_object *ev)
{
	struct json_object *t;

	return json_object_object_get_ex(ev, "id", &t) ? json_object_get_string(t) : "";
}

/*
 * Gathers up to batch_max wanted events from the cursor into a JSON array (as events, or as the
 * alerts they turn into). Returns how many; batch_end is where the cursor goes once it is sent.
 */
static size_t gather(struct sender *s, struct json_object *out)
{
	struct evlog *log = s->set->log;
	struct evlog_cursor c = s->cursor;
	size_t n = 0;
	const char *json;
	size_t len;
	uint64_t seq;

	alertmgr_set_copy(&s->batch_firing, &s->firing);
	while (n < s->batch_max && evlog_peek(log, &c, &json, &len, &seq) == 1) {
		struct json_object *ev = json_tokener_parse(json);

		if (seq > c.seq) {
			s->stats.lost += seq - c.seq;
			log_warn("webhook %s: %" PRIu64 " events were gone from the log before delivery",
				 s->url, seq - c.seq);
		}
		evlog_advance(log, &c, seq);
		if (!ev || !wanted(s, event_type_of(ev))) {
			json_object_put(ev);
			continue;
		}
		if (s->alertmanager)
			n += alertmgr_convert(&s->batch_firing, ev, out, util_now_realtime_us()) ? 1 : 0;
		else
			n += json_object_array_add(out, json_object_get(ev)) == 0;
		json_object_put(ev);
	}
	s->batch_end = c;
	return n;
}

static void add_header(struct sender *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_header(struct sender *s, const char *fmt, ...)
{
	va_list ap;
	char *h;

	va_start(ap, fmt);
	h = xvasprintf(fmt, ap);
	va_end(ap);
	s->headers = curlev_header(s->headers, h);
	free(h);
}

/* X-Agentwatch-Signature: sha256=HEX(HMAC-SHA256(secret, timestamp "." body)) */
static void add_signature(struct sender *s)
{
	char ts[24], *signed_text, hex[2 * EVP_MAX_MD_SIZE + 1];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	snprintf(ts, sizeof(ts), "%" PRIu64, util_now_realtime_us() / 1000000u);
	signed_text = xasprintf("%s.%s", ts, s->body);
	HMAC(EVP_sha256(), s->secret, (int)s->secret_len, (const unsigned char *)signed_text,
	     strlen(signed_text), mac, &n);
	util_hex_lower(mac, n, hex);
	add_header(s, "X-Agentwatch-Timestamp: %s", ts);
	add_header(s, "X-Agentwatch-Signature: sha256=%s", hex);
	free(signed_text);
}

static void set_body(struct sender *s, struct json_object *body)
{
	free(s->body);
	s->body = xstrdup(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE));
	curl_slist_free_all(s->headers);
	s->headers = NULL;
	add_header(s, "Content-Type: application/json");
	add_header(s, "Expect:");
	if (s->secret)
		add_signature(s);
	for (struct curl_slist *h = s->custom_headers; h; h = h->next)
		add_header(s, "%s", h->data);
}

/* The JSON form: one event as itself, or {"events":[...]} when batching is configured. */
static struct json_object *json_body(struct sender *s, struct json_object *events)
{
	size_t n = json_object_array_length(events);
	struct json_object *first = json_object_array_get_idx(events, 0);
	struct json_object *last = json_object_array_get_idx(events, n - 1);
	struct json_object *body;

	if (s->batch_max == 1) {
		body = json_object_get(first);
		set_body(s, body);
		add_header(s, "Idempotency-Key: %s", event_id_of(first));
	} else {
		body = json_object_new_object();
		json_object_object_add(body, "events", json_object_get(events));
		set_body(s, body);
		add_header(s, "Idempotency-Key: batch-%s-%s", event_id_of(first), event_id_of(last));
	}
	return body;
}

static void post(struct sender *s)
{
	CURL *e = s->transfer.easy;

	s->response_len = 0;
	curlev_setup(e, &s->tls, s->timeout_ms, s->errbuf);
	curl_easy_setopt(e, CURLOPT_URL, s->url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, s->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(s->body));
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->headers);
	s->in_flight = true;
	curlev_start(s->set->curl, &s->transfer);
}

/* ---- pacing ---- */

static void arm(struct sender *s, uint64_t when_us)
{
	sd_event_source_set_time(s->timer, when_us);
	sd_event_source_set_enabled(s->timer, SD_EVENT_ONESHOT);
}

/* Alertmanager forgets a firing alert it stops hearing about: say it again every minute. */
static void resend_firing(struct sender *s, uint64_t now)
{
	struct json_object *alerts = alertmgr_firing(&s->firing, util_now_realtime_us());

	set_body(s, alerts);
	json_object_put(alerts);
	s->resending = true;
	s->resend_at_us = now + ALERTMGR_RESEND_US;
	post(s);
}

static void pump(struct sender *s)
{
	uint64_t now = util_now_monotonic_us();
	struct json_object *items, *body;
	size_t n;

	if (s->in_flight)
		return;
	if (now < s->wait_until_us) {
		arm(s, s->wait_until_us);
		return;
	}
	items = json_object_new_array();
	n = gather(s, items);
	if (n == 0) {
		/* Only events this receiver does not want: step over them. */
		s->cursor = s->batch_end;
		json_object_put(items);
		if (s->alertmanager && s->firing.n && now >= s->resend_at_us)
			resend_firing(s, now);
		else if (s->alertmanager && s->firing.n)
			arm(s, s->resend_at_us);
		return;
	}
	if (n < s->batch_max && s->linger_us) {
		if (!s->linger_until_us)
			s->linger_until_us = now + s->linger_us;
		if (now < s->linger_until_us) {
			json_object_put(items);
			arm(s, s->linger_until_us);
			return;
		}
	}
	s->linger_until_us = 0;
	s->batch_events = n;
	s->resending = false;
	if (s->alertmanager) {
		set_body(s, items);
		body = json_object_get(items);
	} else {
		body = json_body(s, items);
	}
	json_object_put(body);
	json_object_put(items);
	post(s);
}

static int on_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
	(void)source;
	(void)usec;
	pump(userdata);
	return 0;
}

/* ---- outcomes ---- */

static void acknowledge(struct sender *s)
{
	struct alertmgr_set done = s->batch_firing;

	/*
	 * Alerts firing before this batch keep their re-send time: other alerts acknowledged in
	 * between must not postpone it past Alertmanager's hold. With none, the clock starts now.
	 */
	if (s->firing.n == 0)
		s->resend_at_us = util_now_monotonic_us() + ALERTMGR_RESEND_US;
	s->batch_firing = s->firing;
	s->firing = done;
	s->cursor = s->batch_end;
	s->failures = 0;
	save_cursor(s);
}

static void dead_letter(struct sender *s, long status)
{
	char shown[RESPONSE_KEEP + 8] = "";
	char when[UTIL_TIME_LEN];
	struct json_object *entry = json_object_new_object();
	char *path;
	int fd;

	reply_sanitize(s->response ? s->response : "", s->response_len, shown, sizeof(shown));
	log_err("webhook %s: HTTP %ld refuses %zu event%s for good; %s", s->url, status,
		s->batch_events, s->batch_events == 1 ? "" : "s",
		s->set->state_dir ? "kept in " WEBHOOK_DEADLETTER : "dropped (no state_dir)");
	s->stats.dead_lettered += s->batch_events;
	if (!s->set->state_dir) {
		json_object_put(entry);
		return;
	}
	util_format_time(util_now_realtime_us(), when);
	json_object_object_add(entry, "time", json_object_new_string(when));
	json_object_object_add(entry, "webhook", json_object_new_string(s->url));
	json_object_object_add(entry, "http_status", json_object_new_int64(status));
	json_object_object_add(entry, "response", json_object_new_string(shown));
	json_object_object_add(entry, "payload", json_tokener_parse(s->body));
	path = xasprintf("%s/%s", s->set->state_dir, WEBHOOK_DEADLETTER);
	fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0 || dprintf(fd, "%s\n", json_object_to_json_string_ext(entry,
			      JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)) < 0 ||
	    fdatasync(fd) < 0)
		log_err("%s: %s", path, strerror(errno));
	if (fd >= 0)
		close(fd);
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

static void retry_later(struct sender *s, long status, CURLcode code)
{
	curl_off_t retry_after = 0;
	uint64_t delay;

	curl_easy_getinfo(s->transfer.easy, CURLINFO_RETRY_AFTER, &retry_after);
	s->failures++;
	s->stats.attempts_failed++;
	delay = backoff_us(s->failures, (double)retry_after);
	if (s->failures == 1 || s->failures % 10 == 0) {
		if (code != CURLE_OK)
			log_warn("webhook %s: %s; retry %u in %.1f s", s->url,
				 s->errbuf[0] ? s->errbuf : curl_easy_strerror(code), s->failures,
				 (double)delay / 1e6);
		else
			log_warn("webhook %s: HTTP %ld; retry %u in %.1f s", s->url, status,
				 s->failures, (double)delay / 1e6);
	}
	s->wait_until_us = util_now_monotonic_us() + delay;
}

static void on_done(struct curlev_transfer *t, CURLcode code)
{
	struct sender *s = (struct sender *)((char *)t - offsetof(struct sender, transfer));
	long status = 0;

	s->in_flight = false;
	curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
	if (s->resending) {
		s->resending = false;	/* best effort: the next one comes in a minute anyway */
	} else if (code == CURLE_OK && status >= 200 && status < 300) {
		s->stats.delivered += s->batch_events;
		acknowledge(s);
	} else if (code == CURLE_OK && status != 408 && status != 429 && status < 500) {
		dead_letter(s, status);
		acknowledge(s);
	} else {
		retry_later(s, status, code);
	}
	pump(s);
}

static size_t on_response(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct sender *s = userdata;
	size_t n = size * nmemb, keep = n;

	if (s->response_len + keep > RESPONSE_KEEP)
		keep = RESPONSE_KEEP - s->response_len;
	if (!s->response)
		s->response = xmalloc(RESPONSE_KEEP);
	memcpy(s->response + s->response_len, data, keep);
	s->response_len += keep;
	return n;
}

/* ---- the set ---- */

static struct sender *sender_new(struct webhooks *set, const struct cfg_webhook *w)
{
	struct sender *s = xcalloc(1, sizeof(*s));

	s->set = set;
	s->key = sender_key(w);
	if (set->state_dir)
		s->cursor_path = cursor_path(set->state_dir, s->key);
	settings_set(s, w);
	s->transfer.easy = curl_easy_init();
	s->transfer.done = on_done;
	if (!s->transfer.easy ||
	    sd_event_add_time(set->event, &s->timer, CLOCK_MONOTONIC, 0, 1000, on_timer, s) < 0) {
		fputs("agentwatchd: cannot set up a webhook\n", stderr);
		abort();
	}
	sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
	curl_easy_setopt(s->transfer.easy, CURLOPT_WRITEFUNCTION, on_response);
	curl_easy_setopt(s->transfer.easy, CURLOPT_WRITEDATA, s);
	load_cursor(s);
	/* A receiver that never acknowledges resumes here after a crash, not at the log's end. */
	save_cursor(s);
	/* Alerts restored from the cursor file are told again soon; new ones were just sent. */
	s->resend_at_us = util_now_monotonic_us() + (s->firing.n ? 0 : ALERTMGR_RESEND_US);
	return s;
}

static void add_stats(struct webhook_stats *sum, const struct webhook_stats *st)
{
	sum->delivered += st->delivered;
	sum->attempts_failed += st->attempts_failed;
	sum->dead_lettered += st->dead_lettered;
	sum->lost += st->lost;
}

static void sender_free(struct sender *s)
{
	add_stats(&s->set->stats, &s->stats);
	if (s->in_flight)
		curlev_abort(s->set->curl, &s->transfer);
	save_cursor(s);
	curl_easy_cleanup(s->transfer.easy);
	sd_event_source_disable_unref(s->timer);
	settings_clear(s);
	alertmgr_set_clear(&s->firing);
	alertmgr_set_clear(&s->batch_firing);
	curl_slist_free_all(s->headers);
	free(s->body);
	free(s->response);
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
		char *key = sender_key(&cfg->webhooks[i]);

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
			sender_free(set->v[j]);
	free(set->v);
	set->v = next;
	set->n = cfg->nwebhooks;
	webhooks_kick(set);
}

void webhooks_prune_alerts(struct webhooks *set, alertmgr_keep_fn keep, void *ctx)
{
	for (size_t i = 0; i < set->n; i++) {
		struct sender *s = set->v[i];
		size_t n;

		if (!s->alertmanager)
			continue;
		/* A batch under way swaps its set in when acknowledged: prune both. */
		n = alertmgr_set_prune(&s->firing, keep, ctx);
		alertmgr_set_prune(&s->batch_firing, keep, ctx);
		if (n) {
			log_notice("webhook %s: %zu firing alerts no longer hold (agent removed or its "
				   "state lost); Alertmanager resolves them at their endsAt", s->url, n);
			save_cursor(s);
		}
	}
}

void webhooks_kick(struct webhooks *set)
{
	for (size_t i = 0; i < set->n; i++)
		pump(set->v[i]);
}

uint64_t webhooks_min_seq(const struct webhooks *set)
{
	uint64_t min = evlog_next_seq(set->log);

	for (size_t i = 0; i < set->n; i++)
		if (set->v[i]->cursor.seq < min)
			min = set->v[i]->cursor.seq;
	return min;
}

size_t webhooks_in_flight(const struct webhooks *set)
{
	size_t n = 0;

	for (size_t i = 0; i < set->n; i++)
		n += set->v[i]->in_flight;
	return n;
}

void webhooks_stop(struct webhooks *set)
{
	for (size_t i = 0; i < set->n; i++) {
		struct sender *s = set->v[i];

		if (s->in_flight) {
			curlev_abort(set->curl, &s->transfer);
			s->in_flight = false;
		}
		sd_event_source_set_enabled(s->timer, SD_EVENT_OFF);
		save_cursor(s);
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
		sender_free(set->v[i]);
	free(set->v);
	curlev_free(set->curl);
	free(set->state_dir);
	sd_event_unref(set->event);
	free(set);
}
