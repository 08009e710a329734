/* whreq: one HTTP request to a webhook receiver: its body, headers and signature, and the answer. */
#ifndef AW_WHREQ_H
#define AW_WHREQ_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

#include "curlev.h"
#include "whqueue.h"

#define WHREQ_RESPONSE_KEEP 512	/* bytes of an answer kept (for the dead-letter file, the log) */

struct sender;

/* Where and how a request goes: the receiver's settings, borrowed for the call. */
struct whreq_target {
	const char *url;
	const char *secret;		/* NULL: not signed */
	size_t secret_len;
	const struct curl_slist *headers;	/* configured extra headers */
	const struct curlev_tls *tls;
	long timeout_ms;
};

/* A request slot of a receiver: reused from one request to the next. */
struct whreq {
	struct curlev_transfer transfer;
	struct sender *s;		/* the receiver it belongs to */
	struct whqueue_item **items;	/* what it carries (owned array); NULL for a re-send */
	size_t n;			/* items, or alerts re-sent */
	char *body;
	struct curl_slist *headers;
	char *response;			/* the start of the answer, response_len bytes */
	size_t response_len;
	char errbuf[CURL_ERROR_SIZE];
	bool busy;
};

/* A slot whose transfer calls done when it ends; aborts when libcurl cannot make a handle. */
struct whreq *whreq_new(struct sender *s, curlev_done_fn done);
/* Frees the slot; it must not be busy. */
void whreq_free(struct whreq *r);

/*
 * Starts a POST of body (taken over) to t, signed when t has a secret, with Idempotency-Key key
 * unless NULL. r->items and r->n are the caller's to set.
 */
void whreq_post(struct whreq *r, struct curlev *curl, const struct whreq_target *t, char *body,
		const char *key);
/* Frees what a finished or aborted request held (body, headers, items); the slot stays. */
void whreq_release(struct whreq *r);

/*
 * The receiver's reason for a log line: its answer (the string, when the answer is a JSON string
 * or an object with "error" or "message"), escaped, valid UTF-8, cut to fit size bytes.
 */
void whreq_reason(const struct whreq *r, char *buf, size_t size);

#endif
