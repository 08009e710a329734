/* curlev: a libcurl multi handle driven by sd-event through the multi socket interface. */
#ifndef AW_CURLEV_H
#define AW_CURLEV_H

#include <stdbool.h>

#include <curl/curl.h>
#include <systemd/sd-event.h>

#include "cfg.h"

struct curlev_transfer;
typedef void (*curlev_done_fn)(struct curlev_transfer *transfer, CURLcode code);

/* Embed one per transfer; it rides on the easy handle as CURLOPT_PRIVATE. */
struct curlev_transfer {
	CURL *easy;
	curlev_done_fn done;
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

/* What every request of the daemon shares: TLS 1.2 or newer, verification, a timeout, no signals. */
void curlev_setup(CURL *easy, const struct curlev_tls *tls, long timeout_ms, char *errbuf);

/* curl_slist_append that aborts on a failed allocation, like the x* wrappers. */
struct curl_slist *curlev_header(struct curl_slist *list, const char *header);

struct curlev *curlev_new(sd_event *event);
void curlev_free(struct curlev *ev);
CURLM *curlev_multi(struct curlev *ev);

/* Starts t->easy; t->done runs from the loop once it ends, after the handle left the multi. */
void curlev_start(struct curlev *ev, struct curlev_transfer *t);
/* Ends t->easy at once without calling t->done. */
void curlev_abort(struct curlev *ev, struct curlev_transfer *t);

#endif
