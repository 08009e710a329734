/* curlev: a libcurl multi handle driven by sd-event through the multi socket interface. */
#include "config.h"

#include <stddef.h>
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
	sd_event_source *fail;		/* ends the transfers on the failed list */
	CURLM *multi;
	struct resolver *resolver;	/* shared by every curlev: one lookup per name in all */
	struct curlev_transfer *failed;	/* to end with their failed_code, oldest first */
	struct curlev_transfer **failed_tail;
};

/* The transfer's own CURLOPT_RESOLVE entry goes with it: libcurl reads it only at the start. */
static void transfer_end(struct curlev_transfer *t)
{
	if (t->resolve) {
		curl_easy_setopt(t->easy, CURLOPT_RESOLVE, NULL);
		curl_slist_free_all(t->resolve);
		t->resolve = NULL;
	}
}

/* t ends with code at the next loop iteration: its caller may be in the middle of starting it. */
static void fail_later(struct curlev *ev, struct curlev_transfer *t, CURLcode code)
{
	t->failing = true;
	t->failed_code = code;
	t->next_failed = NULL;
	*ev->failed_tail = t;
	ev->failed_tail = &t->next_failed;
	sd_event_source_set_enabled(ev->fail, SD_EVENT_ONESHOT);
}

static void unlink_failed(struct curlev *ev, struct curlev_transfer *t)
{
	struct curlev_transfer **p = &ev->failed;

	while (*p && *p != t)
		p = &(*p)->next_failed;
	if (*p)
		*p = t->next_failed;
	ev->failed_tail = &ev->failed;
	while (*ev->failed_tail)
		ev->failed_tail = &(*ev->failed_tail)->next_failed;
	t->failing = false;
}

static int on_fail(sd_event_source *source, void *userdata)
{
	struct curlev *ev = userdata;

	(void)source;
	while (ev->failed) {	/* one at a time: a callback may start or abort transfers */
		struct curlev_transfer *t = ev->failed;

		unlink_failed(ev, t);
		transfer_end(t);
		t->done(t, t->failed_code);
	}
	return 0;
}

/* A handle libcurl will not take never stays "in flight": it ends like a failed transfer. */
static void add_handle(struct curlev *ev, struct curlev_transfer *t)
{
	CURLMcode m = curl_multi_add_handle(ev->multi, t->easy);

	if (m == CURLM_OK)
		return;
	snprintf(t->errbuf, CURL_ERROR_SIZE, "cannot start the request: %s", curl_multi_strerror(m));
	fail_later(ev, t, CURLE_FAILED_INIT);
}

/*
 * A server may close an idle keep-alive connection just as a request goes out on it. libcurl
 * retries that on another connection, but may pick another stale one from its pool; a transfer
 * that never had a connection of its own (no new connect) and got no byte of an answer is run
 * once more on a fresh connection, within what is left of its timeout.
 */
static bool retry_fresh(struct curlev *ev, struct curlev_transfer *t, CURLcode code)
{
	long connects = -1, header_bytes = -1;
	curl_off_t spent_us = 0;
	long left_ms;

	if (t->retried || (code != CURLE_SEND_ERROR && code != CURLE_RECV_ERROR &&
			   code != CURLE_GOT_NOTHING))
		return false;
	curl_easy_getinfo(t->easy, CURLINFO_NUM_CONNECTS, &connects);
	curl_easy_getinfo(t->easy, CURLINFO_HEADER_SIZE, &header_bytes);
	curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME_T, &spent_us);
	left_ms = t->timeout_ms - (long)(spent_us / 1000);
	if (connects != 0 || header_bytes != 0 || left_ms <= 0)
		return false;
	t->retried = true;
	t->errbuf[0] = '\0';
	curl_easy_setopt(t->easy, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, left_ms);
	add_handle(ev, t);
	return true;
}

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
		if (retry_fresh(ev, t, code))
			continue;
		transfer_end(t);
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

/* The CMS client and the webhooks look up names through one resolver; change: +1 takes, -1 gives. */
static struct resolver *shared_resolver(sd_event *event, int change)
{
	static struct resolver *shared;
	static unsigned users;

	if (change > 0 && users++ == 0)
		shared = resolver_new(event);
	if (change < 0 && --users == 0) {
		resolver_free(shared);
		shared = NULL;
	}
	return shared;
}

struct curlev *curlev_new(sd_event *event)
{
	struct curlev *ev = xcalloc(1, sizeof(*ev));

	ev->event = sd_event_ref(event);
	ev->multi = curl_multi_init();
	ev->failed_tail = &ev->failed;
	if (!ev->multi ||
	    sd_event_add_time(event, &ev->timer, CLOCK_MONOTONIC, 0, 1, on_timer, ev) < 0 ||
	    sd_event_add_defer(event, &ev->now, on_now, ev) < 0 ||
	    sd_event_add_defer(event, &ev->fail, on_fail, ev) < 0 ||
	    sd_event_source_set_enabled(ev->timer, SD_EVENT_OFF) < 0 ||
	    sd_event_source_set_enabled(ev->now, SD_EVENT_OFF) < 0 ||
	    sd_event_source_set_enabled(ev->fail, SD_EVENT_OFF) < 0 ||
	    curl_multi_setopt(ev->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket) != CURLM_OK ||
	    curl_multi_setopt(ev->multi, CURLMOPT_SOCKETDATA, ev) != CURLM_OK ||
	    curl_multi_setopt(ev->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer) != CURLM_OK ||
	    curl_multi_setopt(ev->multi, CURLMOPT_TIMERDATA, ev) != CURLM_OK) {
		fputs("agentwatchd: cannot set up the HTTP client\n", stderr);
		abort();
	}
	ev->resolver = shared_resolver(event, +1);
	return ev;
}

CURLM *curlev_multi(struct curlev *ev)
{
	return ev->multi;
}

/* libcurl connects to what our own lookup found, and never runs its resolver for this host. */
static void use_addrs(struct curlev *ev, struct curlev_transfer *t, const char *addrs)
{
	char *entry = xasprintf("%s:%ld:%s", t->host, t->port, addrs);

	t->resolve = curlev_header(NULL, entry);
	free(entry);
	if (curl_easy_setopt(t->easy, CURLOPT_RESOLVE, t->resolve) != CURLE_OK) {
		snprintf(t->errbuf, CURL_ERROR_SIZE, "cannot hand over the addresses of %.200s",
			 t->host);
		fail_later(ev, t, CURLE_COULDNT_RESOLVE_HOST);
		return;
	}
	add_handle(ev, t);
}

static void on_resolved(struct resolve_wait *w, const char *addrs, const char *error)
{
	struct curlev_transfer *t = (struct curlev_transfer *)
		((char *)w - offsetof(struct curlev_transfer, wait));

	if (addrs) {
		use_addrs(t->ev, t, addrs);
		return;
	}
	snprintf(t->errbuf, CURL_ERROR_SIZE, "%s", error);
	t->done(t, CURLE_COULDNT_RESOLVE_HOST);
}

void curlev_start(struct curlev *ev, struct curlev_transfer *t)
{
	const char *addrs;
	/* No timeout (0) means none for the lookup either; a day stands in for "never". */
	uint64_t timeout_us = (uint64_t)(t->timeout_ms > 0 ? t->timeout_ms : 86400000) * 1000;

	t->ev = ev;
	if (t->setup_code != CURLE_OK) {
		fail_later(ev, t, t->setup_code);
		return;
	}
	if (curl_easy_setopt(t->easy, CURLOPT_PRIVATE, t) != CURLE_OK) {
		snprintf(t->errbuf, CURL_ERROR_SIZE, "cannot set CURLOPT_PRIVATE");
		fail_later(ev, t, CURLE_FAILED_INIT);
		return;
	}
	if (!t->host[0]) {
		add_handle(ev, t);
	} else if ((addrs = resolver_cached(ev->resolver, t->host))) {
		use_addrs(ev, t, addrs);
	} else {
		t->wait.done = on_resolved;
		resolver_wait(ev->resolver, t->host, timeout_us, &t->wait);
	}
}

void curlev_abort(struct curlev *ev, struct curlev_transfer *t)
{
	if (t->wait.host)
		resolver_cancel(&t->wait);
	else if (t->failing)
		unlink_failed(ev, t);
	else
		curl_multi_remove_handle(ev->multi, t->easy);
	transfer_end(t);
}

void curlev_free(struct curlev *ev)
{
	if (!ev)
		return;
	curl_multi_cleanup(ev->multi);
	shared_resolver(ev->event, -1);
	sd_event_source_disable_unref(ev->timer);
	sd_event_source_disable_unref(ev->now);
	sd_event_source_disable_unref(ev->fail);
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

/* The first failure to set an option ends the transfer before it starts, with errbuf saying so. */
static void must(struct curlev_transfer *t, const char *option, CURLcode r)
{
	if (r == CURLE_OK || t->setup_code != CURLE_OK)
		return;
	t->setup_code = r;
	snprintf(t->errbuf, CURL_ERROR_SIZE, "cannot set %s: %s", option, curl_easy_strerror(r));
}
#define MUST(t, option, value) must((t), #option, curl_easy_setopt((t)->easy, option, value))

/* The host name to look up ourselves (none for an address literal) and the port for it. */
static void parse_url(struct curlev_transfer *t, const char *url, char *scheme, size_t size)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, *sch = NULL;

	t->host[0] = '\0';
	t->port = 0;
	scheme[0] = '\0';
	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &sch, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
		snprintf(scheme, size, "%s", sch);
		t->port = strtol(port, NULL, 10);
		if (strlen(host) >= sizeof(t->host))
			must(t, "CURLOPT_URL", CURLE_URL_MALFORMAT);
		else if (!resolver_is_literal(host))
			snprintf(t->host, sizeof(t->host), "%s", host);
	} else {
		must(t, "CURLOPT_URL", CURLE_URL_MALFORMAT);
	}
	curl_free(host);
	curl_free(port);
	curl_free(sch);
	curl_url_cleanup(u);
}

void curlev_setup(struct curlev_transfer *t, const char *url, const struct curlev_tls *tls,
		  long timeout_ms, char *errbuf)
{
	CURL *e = t->easy;
	char scheme[16];

	curl_easy_reset(e);
	errbuf[0] = '\0';
	t->errbuf = errbuf;
	t->timeout_ms = timeout_ms;
	t->setup_code = CURLE_OK;
	t->retried = false;
	parse_url(t, url, scheme, sizeof(scheme));
	curl_easy_setopt(e, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	MUST(t, CURLOPT_ERRORBUFFER, errbuf);
	MUST(t, CURLOPT_URL, url);
	/* Only the URL's own scheme: no redirect or typo turns https into something weaker. */
	MUST(t, CURLOPT_PROTOCOLS_STR, strcmp(scheme, "http") == 0 ? "http" : "https");
	MUST(t, CURLOPT_TIMEOUT_MS, timeout_ms);
	MUST(t, CURLOPT_NOSIGNAL, 1L);
	MUST(t, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	MUST(t, CURLOPT_SSL_VERIFYPEER, tls->verify ? 1L : 0L);
	MUST(t, CURLOPT_SSL_VERIFYHOST, tls->verify ? 2L : 0L);
	MUST(t, CURLOPT_CAINFO, tls->ca_file);
	MUST(t, CURLOPT_SSLCERT, tls->client_cert);
	MUST(t, CURLOPT_SSLKEY, tls->client_key);
}

void curlev_describe(char *buf, size_t size)
{
	const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
	const char *kind = v->ares ? "c-ares" :
			   (v->features & CURL_VERSION_ASYNCHDNS) ? "threaded" : "synchronous";

	snprintf(buf, size, "libcurl %s (%s), its resolver %s; host names are looked up on "
		 "agentwatchd's own threads", v->version, v->ssl_version ? v->ssl_version : "no TLS",
		 kind);
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
