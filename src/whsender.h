/* whsender: a webhook receiver (struct sender) and the set, shared inside webhook.c and wh*.c. */
#ifndef AW_WHSENDER_H
#define AW_WHSENDER_H

#include <stdbool.h>
#include <stdint.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <systemd/sd-event.h>

#include "alertmgr.h"
#include "cfg.h"
#include "curlev.h"
#include "evlog.h"
#include "webhook.h"
#include "whqueue.h"
#include "whreq.h"

#define REASON_MAX 200		/* bytes of a receiver's answer quoted in a log line */

/* A receiver's settings, copied from the configuration (again at each reload). */
struct sender_conf {
	char *url;
	bool alertmanager;
	char *secret;
	size_t secret_len;
	char **events;
	size_t nevents;
	long timeout_ms;
	size_t batch_max;
	size_t max_in_flight;
	size_t max_backlog;		/* log records it may fall behind before the oldest go */
	uint64_t linger_us;
	struct curl_slist *custom_headers;
	struct curlev_tls tls;
};

struct sender {
	struct webhooks *set;
	char *key;			/* "format url": who this receiver is across reloads */
	char *cursor_path;		/* NULL without state_dir */
	char *shown;			/* url as logged: scheme://host[:port], no token */
	char *name;			/* shown, made unique among receivers: the metrics label */
	struct sender_conf conf;
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
		bool resend_full;		/* it holds every firing alert, not only resolves */
		struct json_object *resolves;	/* pruned alerts, resolved, to send next */
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
/* whcursor.c: the receiver's cursor file (none without state_dir). */
/* "FORMAT URL": who a receiver is across reloads (allocated). */
char *whcursor_key(const struct cfg_webhook *w);
/* The cursor file of key in dir (allocated). */
char *whcursor_path(const char *dir, const char *key);
/* Sets s->cursor (and the firing alerts) from its file, or to the log's end. */
void whcursor_load(struct sender *s);
/* Saves the cursor and the firing alerts now (through the writer thread). */
void whcursor_checkpoint(struct sender *s);
/* Moves the cursor to the oldest unacknowledged item, or to where reading is. */
void whcursor_update(struct sender *s);
/* At start: removes the cursor files of receivers no longer configured (logged). */
void whcursor_prune(struct webhooks *set);

/* whsend.c: delivery. */
/* Reads ahead, sends what it may, saves the cursor when due, arms the timer. */
void whsend_pump(struct sender *s);
/* Makes the sender pump on the loop's next turn. */
void whsend_wake(struct sender *s);
/* The sender's timer (userdata: the sender): pumps. */
int whsend_on_timer(sd_event_source *source, uint64_t usec, void *userdata);
/* Drops the oldest of a backlog past max_backlog (counted, logged). */
void whsend_enforce_backlog(struct sender *s);
/* A free request slot of s (made when all are busy); s owns it. */
struct whreq *whsend_request_get(struct sender *s);
/* Sends body (taken over) from slot r; key: the idempotency key, or NULL. */
void whsend_post(struct whreq *r, char *body, const char *key);
/* The most events (or alerts) in one request. */
size_t whsend_batch_limit(const struct sender *s);
/* r failed (status, or code): its items queued again, the sender backs off. */
void whsend_retry_later(struct whreq *r, long status, CURLcode code);

/* whalert.c: Alertmanager receivers. */
/* The text of the one alert in out (allocated). */
char *whalert_text(struct json_object *out);
/* Ends the re-send under way; the next is due at when_us (monotonic). */
void whalert_resend_end(struct sender *s, uint64_t when_us);
/* Starts or goes on with the re-send of the firing alerts (now: monotonic us). */
void whalert_resend_firing(struct sender *s, uint64_t now);
/* A re-send is under way, or due at now (monotonic us). */
bool whalert_resend_due(const struct sender *s, uint64_t now);
/* The fires r carries made anew, with endsAt from now, before they go again. */
void whalert_refresh_fires(struct whreq *r);
/* The answer to a re-send request r. */
void whalert_resend_done(struct whreq *r, long status, CURLcode code);
/* Forgets the firing alerts that set->keep no longer confirms. */
void whalert_prune(struct sender *s);

/* whdead.c: r's items refused for good (status, why) go to the dead-letter file. */
void whdead_letter(struct sender *s, struct whreq *r, long status, const char *why);

#endif
