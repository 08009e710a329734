/* curlev: a libcurl multi handle driven by sd-event through the multi socket interface. */
#ifndef AW_CURLEV_H
#define AW_CURLEV_H

#include <curl/curl.h>
#include <systemd/sd-event.h>

struct curlev_transfer;
typedef void (*curlev_done_fn)(struct curlev_transfer *transfer, CURLcode code);

/* Embed one per transfer; it rides on the easy handle as CURLOPT_PRIVATE. */
struct curlev_transfer {
	CURL *easy;
	curlev_done_fn done;
};

struct curlev;

struct curlev *curlev_new(sd_event *event);
void curlev_free(struct curlev *ev);
CURLM *curlev_multi(struct curlev *ev);

/* Starts t->easy; t->done runs from the loop once it ends, after the handle left the multi. */
void curlev_start(struct curlev *ev, struct curlev_transfer *t);
/* Ends t->easy at once without calling t->done. */
void curlev_abort(struct curlev *ev, struct curlev_transfer *t);

#endif
