/* curlev: a libcurl multi handle driven by sd-event through the multi socket interface. */
#ifndef AW_CURLEV_H
#define AW_CURLEV_H

#include <stdbool.h>

#include <curl/curl.h>
#include <systemd/sd-event.h>

#include "cfg.h"
#include "resolve.h"

struct curlev_transfer;
typedef void (*curlev_done_fn)(struct curlev_transfer *transfer, CURLcode code);

/*
 * Embed one per transfer, zeroed; it rides on the easy handle as CURLOPT_PRIVATE. The caller
 * sets easy and done; curlev_setup and curlev_start fill in the rest.
 */
struct curlev_transfer {
	CURL *easy;
	curlev_done_fn done;
	struct curlev *ev;
	char host[256];			/* the URL's host name; empty for an address literal */
	long port;
	long timeout_ms;
	char *errbuf;			/* CURL_ERROR_SIZE bytes, the caller's */
	struct curl_slist *resolve;	/* CURLOPT_RESOLVE from our own lookup */
	struct resolve_wait wait;	/* while its host name is being looked up */
	struct curlev_transfer *next_failed;
	CURLcode failed_code;
	CURLcode setup_code;		/* an option curlev_setup could not set */
	bool failing;			/* ends with failed_code at the next loop iteration */
	bool retried;			/* a dead reused connection was retried once, fresh */
};

struct curlev;

/* A tls group, copied so that a reload can free the configuration while requests run. */
struct curlev_tls {
	bool verify;
	char *ca_file;
	char *client_cert;
	char *client_key;
};

void curlev_tls_set(struct curlev_tls *dst, const struct cfg_tls *src);
void curlev_tls_clear(struct curlev_tls *tls);

/*
 * Resets t->easy to libcurl's defaults (so no state of its last transfer carries over, such as
 * libcurl's count of dead reused connections, which would otherwise fail every sixth such race)
 * and sets what every request shares: url, TLS 1.2 or newer, verification, timeout_ms for the
 * whole request including its name lookup, no signals, and errbuf (CURL_ERROR_SIZE bytes, which
 * must outlive the transfer). Set the request's own options after this call.
 */
void curlev_setup(struct curlev_transfer *t, const char *url, const struct curlev_tls *tls,
		  long timeout_ms, char *errbuf);

/* curl_slist_append that aborts on a failed allocation, like the x* wrappers. */
struct curl_slist *curlev_header(struct curl_slist *list, const char *header);

struct curlev *curlev_new(sd_event *event);
void curlev_free(struct curlev *ev);
CURLM *curlev_multi(struct curlev *ev);

/*
 * Starts t->easy once its host name is known (looked up off the loop thread); t->done runs from
 * the loop once it ends, after the handle left the multi, never from within this call. A lookup
 * that fails or outlasts the timeout ends it with CURLE_COULDNT_RESOLVE_HOST and errbuf saying so.
 */
void curlev_start(struct curlev *ev, struct curlev_transfer *t);
/* Ends t->easy at once without calling t->done. */
void curlev_abort(struct curlev *ev, struct curlev_transfer *t);

/* libcurl's version, TLS library and resolver kind (threaded, c-ares or synchronous), for the log. */
void curlev_describe(char *buf, size_t size);

#endif
