/* curlev: a libcurl multi handle driven by sd-event through the multi socket interface. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "curlev.h"
#include "util.h"

struct curlev {
	sd_event *event;
	sd_event_source *timer;
	sd_event_source *now;		/* libcurl's "act at once" timeouts, without a kernel timer */
	CURLM *multi;
};

static void process_completed(struct curlev *ev)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(ev->multi, &left))) {
		struct curlev_transfer *t = NULL;
		CURLcode code = msg->data.result;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&t);
		curl_multi_remove_handle(ev->multi, t->easy);
		t->done(t, code);
	}
}

static int on_socket_ready(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	struct curlev *ev = userdata;
	int flags = 0, running;

	(void)source;
	if (revents & EPOLLIN)
		flags |= CURL_CSELECT_IN;
	if (revents & EPOLLOUT)
		flags |= CURL_CSELECT_OUT;
	if (revents & (EPOLLERR | EPOLLHUP))
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(ev->multi, fd, flags, &running);
	process_completed(ev);
	return 0;
}

static int on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp)
{
	struct curlev *ev = userp;
	sd_event_source *source = socketp;
	uint32_t events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (source) {
			sd_event_source_disable_unref(source);
			curl_multi_assign(ev->multi, fd, NULL);
		}
		return 0;
	}
	if (what & CURL_POLL_IN)
		events |= EPOLLIN;
	if (what & CURL_POLL_OUT)
		events |= EPOLLOUT;
	if (source)
		return sd_event_source_set_io_events(source, events) < 0 ? -1 : 0;
	if (sd_event_add_io(ev->event, &source, fd, events, on_socket_ready, ev) < 0)
		return -1;
	curl_multi_assign(ev->multi, fd, source);
	return 0;
}

static int on_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
	struct curlev *ev = userdata;
	int running;

	(void)source;
	(void)usec;
	curl_multi_socket_action(ev->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	process_completed(ev);
	return 0;
}

static int on_now(sd_event_source *source, void *userdata)
{
	return on_timer(source, 0, userdata);
}

/*
 * libcurl asks for a zero timeout on every new transfer; that goes through a defer source (run
 * at the next loop iteration, as libcurl forbids acting from this callback) rather than through
 * the timerfd, whose reprogramming costs a system call each time.
 */
static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct curlev *ev = userp;
	bool at_once = timeout_ms == 0;

	(void)multi;
	if (sd_event_source_set_enabled(ev->now, at_once ? SD_EVENT_ONESHOT : SD_EVENT_OFF) < 0)
		return -1;
	if (timeout_ms <= 0)
		return sd_event_source_set_enabled(ev->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
	if (sd_event_source_set_time_relative(ev->timer, (uint64_t)timeout_ms * 1000) < 0 ||
	    sd_event_source_set_enabled(ev->timer, SD_EVENT_ONESHOT) < 0)
		return -1;
	return 0;
}

struct curlev *curlev_new(sd_event *event)
{
	struct curlev *ev = xcalloc(1, sizeof(*ev));

	ev->event = sd_event_ref(event);
	ev->multi = curl_multi_init();
	if (!ev->multi ||
	    sd_event_add_time(event, &ev->timer, CLOCK_MONOTONIC, 0, 1, on_timer, ev) < 0 ||
	    sd_event_add_defer(event, &ev->now, on_now, ev) < 0) {
		fputs("agentwatchd: cannot set up the HTTP client\n", stderr);
		abort();
	}
	sd_event_source_set_enabled(ev->timer, SD_EVENT_OFF);
	sd_event_source_set_enabled(ev->now, SD_EVENT_OFF);
	curl_multi_setopt(ev->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(ev->multi, CURLMOPT_SOCKETDATA, ev);
	curl_multi_setopt(ev->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(ev->multi, CURLMOPT_TIMERDATA, ev);
	return ev;
}

CURLM *curlev_multi(struct curlev *ev)
{
	return ev->multi;
}

void curlev_start(struct curlev *ev, struct curlev_transfer *t)
{
	curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t);
	curl_multi_add_handle(ev->multi, t->easy);
}

void curlev_abort(struct curlev *ev, struct curlev_transfer *t)
{
	curl_multi_remove_handle(ev->multi, t->easy);
}

void curlev_free(struct curlev *ev)
{
	if (!ev)
		return;
	curl_multi_cleanup(ev->multi);
	sd_event_source_disable_unref(ev->timer);
	sd_event_source_disable_unref(ev->now);
	sd_event_unref(ev->event);
	free(ev);
}

void curlev_tls_clear(struct curlev_tls *tls)
{
	free(tls->ca_file);
	free(tls->client_cert);
	free(tls->client_key);
	memset(tls, 0, sizeof(*tls));
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void curlev_tls_set(struct curlev_tls *dst, const struct cfg_tls *src)
{
	curlev_tls_clear(dst);
	dst->verify = src->verify;
	dst->ca_file = dup_or_null(src->ca_file);
	dst->client_cert = dup_or_null(src->client_cert);
	dst->client_key = dup_or_null(src->client_key);
}

void curlev_setup(CURL *e, const struct curlev_tls *tls, long timeout_ms, char *errbuf)
{
	curl_easy_setopt(e, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, tls->verify ? 1L : 0L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, tls->verify ? 2L : 0L);
	curl_easy_setopt(e, CURLOPT_CAINFO, tls->ca_file);
	curl_easy_setopt(e, CURLOPT_SSLCERT, tls->client_cert);
	curl_easy_setopt(e, CURLOPT_SSLKEY, tls->client_key);
	errbuf[0] = '\0';
}

struct curl_slist *curlev_header(struct curl_slist *list, const char *header)
{
	struct curl_slist *grown = curl_slist_append(list, header);

	if (!grown) {
		fputs("agentwatchd: out of memory\n", stderr);
		abort();
	}
	return grown;
}
