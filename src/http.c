/* http: the HTTP endpoint: libmicrohttpd on the daemon's sd-event loop, TLS, basic auth, limits. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "http.h"
#include "httpauth.h"
#include "httplisten.h"
#include "log.h"
#include "util.h"

#define REALM "agentwatchd"
#define STREAM_BLOCK 8192	/* bytes a stream is asked for at a time */

/* One listening address: its own libmicrohttpd daemon, whose epoll fd is an sd-event source. */
struct listener {
	struct http_server *srv;
	char *name;			/* as configured */
	char *unix_path;		/* removed when the listener stops */
	struct MHD_Daemon *mhd;
	sd_event_source *io;
	sd_event_source *timer;
};

struct http_stream {
	struct http_server *srv;
	struct MHD_Connection *conn;
	http_stream_read_fn read;
	http_stream_free_fn free_fn;
	void *ctx;
	bool suspended;
	bool cut;
	struct http_stream *prev, *next;
};

struct http_req {
	struct http_server *srv;
	struct MHD_Connection *conn;
	const char *path;
	bool answered;
	unsigned status;
	enum MHD_Result result;
	void **con_cls;
};

struct http_server {
	sd_event *event;
	http_handler_fn handler;
	void *ctx;
	struct listener **l;
	size_t nl;
	struct httplisten settings;
	struct httpauth *auth;
	struct http_stream *streams;
	struct http_stats stats;
};

/* Mark *con_cls of an answered request: a streamed one for the completion callback. */
static char answered_marker, stream_marker;

/* ---- answers ---- */

static void queue(struct http_req *req, unsigned status, struct MHD_Response *resp)
{
	req->srv->stats.requests++;
	if (status >= 400 && status < 500)
		req->srv->stats.client_errors++;
	if (status == MHD_HTTP_UNAUTHORIZED) {
		req->srv->stats.unauthorized++;
		req->result = MHD_queue_basic_auth_fail_response(req->conn, REALM, resp);
	} else {
		req->result = MHD_queue_response(req->conn, status, resp);
	}
	MHD_destroy_response(resp);
	req->answered = true;
	req->status = status;
	if (*req->con_cls != &stream_marker)
		*req->con_cls = &answered_marker;
}

void http_reply(struct http_req *req, unsigned status, const char *content_type, char *body,
		size_t len)
{
	struct MHD_Response *resp = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);

	if (!resp) {
		free(body);
		req->answered = true;
		req->result = MHD_NO;	/* closes the connection */
		return;
	}
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	queue(req, status, resp);
}

void http_reply_static(struct http_req *req, unsigned status, const char *content_type,
		       const void *body, size_t len, const char *const *headers)
{
	struct MHD_Response *resp;
	bool cache_set = false;

	/* PERSISTENT: libmicrohttpd neither copies nor frees it, nor writes to it. */
	resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		req->answered = true;
		req->result = MHD_NO;
		return;
	}
	if (content_type)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	for (size_t i = 0; headers && headers[i]; i += 2) {
		MHD_add_response_header(resp, headers[i], headers[i + 1]);
		cache_set |= strcasecmp(headers[i], MHD_HTTP_HEADER_CACHE_CONTROL) == 0;
	}
	if (!cache_set)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	queue(req, status, resp);
}

void http_reply_text(struct http_req *req, unsigned status, const char *fmt, ...)
{
	char *text, *line;
	va_list ap;

	va_start(ap, fmt);
	text = xvasprintf(fmt, ap);
	va_end(ap);
	line = xasprintf("%u %s\n", status, text);
	free(text);
	http_reply(req, status, "text/plain; charset=utf-8", line, strlen(line));
}

/* ---- streams ---- */

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct http_stream *s = cls;
	ssize_t n;

	(void)pos;
	n = s->read(s->ctx, buf, max);
	if (n > 0)
		return n;
	if (n == 0) {
		/* Nothing to send: sleep until http_wake_streams instead of being asked again. */
		MHD_suspend_connection(s->conn);
		s->suspended = true;
		return 0;
	}
	s->cut = true;
	return MHD_CONTENT_READER_END_WITH_ERROR;
}

static void stream_free(void *cls)
{
	struct http_stream *s = cls;

	if (s->prev)
		s->prev->next = s->next;
	else
		s->srv->streams = s->next;
	if (s->next)
		s->next->prev = s->prev;
	s->srv->stats.streams--;
	s->srv->stats.streams_cut += s->cut;
	s->free_fn(s->ctx);
	free(s);
}

void http_reply_stream(struct http_req *req, const char *content_type, http_stream_read_fn read,
		       http_stream_free_fn free_fn, void *ctx)
{
	struct http_stream *s = xcalloc(1, sizeof(*s));
	struct MHD_Response *resp;

	*s = (struct http_stream){ req->srv, req->conn, read, free_fn, ctx, false, false, NULL,
				   req->srv->streams };
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, STREAM_BLOCK, stream_read, s,
						 stream_free);
	if (!resp) {
		free_fn(ctx);
		free(s);
		req->answered = true;
		req->result = MHD_NO;
		return;
	}
	if (s->next)
		s->next->prev = s;
	req->srv->streams = s;
	req->srv->stats.streams++;
	*req->con_cls = &stream_marker;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	queue(req, MHD_HTTP_OK, resp);
}

void http_wake_streams(struct http_server *srv)
{
	bool resumed = false;

	for (struct http_stream *s = srv->streams; s; s = s->next) {
		if (s->suspended) {
			s->suspended = false;
			MHD_resume_connection(s->conn);
			resumed = true;
		}
	}
	/* libmicrohttpd takes resumed connections back at its next run; its timeout does not say so. */
	for (size_t i = 0; resumed && i < srv->nl; i++) {
		sd_event_source_set_time(srv->l[i]->timer, 1);
		sd_event_source_set_enabled(srv->l[i]->timer, SD_EVENT_ONESHOT);
	}
}

/* A stream whose client stopped reading is closed by the connection timeout: that is a cut. */
static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct listener *l = cls;

	(void)conn;
	if (*con_cls == &stream_marker && toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED)
		l->srv->stats.streams_cut++;
	*con_cls = NULL;
}

/* ---- requests ---- */

const char *http_path(const struct http_req *req)
{
	return req->path;
}

const char *http_query(const struct http_req *req, const char *key)
{
	return MHD_lookup_connection_value(req->conn, MHD_GET_ARGUMENT_KIND, key);
}

const char *http_header(const struct http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

struct each {
	void (*fn)(void *ctx, const char *key, const char *value);
	void *ctx;
};

static enum MHD_Result each_value(void *cls, enum MHD_ValueKind kind, const char *key,
				  const char *value)
{
	struct each *e = cls;

	(void)kind;
	e->fn(e->ctx, key, value);
	return MHD_YES;
}

void http_query_each(const struct http_req *req,
		     void (*fn)(void *ctx, const char *key, const char *value), void *ctx)
{
	struct each e = { fn, ctx };

	MHD_get_connection_values(req->conn, MHD_GET_ARGUMENT_KIND, each_value, &e);
}

/* ---- basic auth ---- */

/* True when the request may go on; otherwise it has been answered. */
static bool authorized(struct http_req *req)
{
	struct http_server *srv = req->srv;
	char *pass = NULL, *user;
	enum httpauth_result r = HTTPAUTH_REFUSED;

	if (!httpauth_required(srv->auth))
		return true;
	user = MHD_basic_auth_get_username_password(req->conn, &pass);
	if (user && pass)
		r = httpauth_check(srv->auth, user, pass);
	if (pass)
		explicit_bzero(pass, strlen(pass));
	MHD_free(user);
	MHD_free(pass);
	if (r == HTTPAUTH_BUSY)
		http_reply_text(req, MHD_HTTP_SERVICE_UNAVAILABLE, "too many password checks, retry later");
	else if (r == HTTPAUTH_REFUSED)
		http_reply_text(req, MHD_HTTP_UNAUTHORIZED, "user name or password not accepted");
	return r == HTTPAUTH_OK;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_size, void **con_cls)
{
	struct listener *l = cls;
	struct http_req req = { l->srv, conn, url, false, 0, MHD_NO, con_cls };
	uint64_t start = util_now_monotonic_us();

	(void)version;
	(void)upload_data;
	/* Answered already: a request body (not expected on GET) is read and dropped. */
	if (*con_cls) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		http_reply_text(&req, MHD_HTTP_METHOD_NOT_ALLOWED, "%.32s: only GET and HEAD are served",
				method);
	else if (authorized(&req))
		l->srv->handler(l->srv->ctx, &req);
	if (!req.answered)
		http_reply_text(&req, MHD_HTTP_INTERNAL_SERVER_ERROR, "no answer");
	log_debug("http: %.16s %.200s: %u in %.3f ms", method, url, req.status,
		  (double)(util_now_monotonic_us() - start) / 1000.0);
	*upload_size = 0;
	return req.result;
}

/* ---- listeners on the loop ---- */

static unsigned connections(const struct listener *l)
{
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

	return info ? info->num_connections : 0;
}

static void run_listener(struct listener *l)
{
	unsigned before = connections(l);
	MHD_UNSIGNED_LONG_LONG ms;

	MHD_run(l->mhd);
	/*
	 * At its connection limit libmicrohttpd takes the listening socket out of its epoll set, and
	 * puts it back only at the start of a run: after a run that closed connections, one more, or
	 * clients waiting in the accept queue would never wake the loop again.
	 */
	if (connections(l) < before)
		MHD_run(l->mhd);
	if (MHD_get_timeout(l->mhd, &ms) == MHD_YES) {
		sd_event_source_set_time(l->timer, util_now_monotonic_us() + (uint64_t)ms * 1000);
		sd_event_source_set_enabled(l->timer, SD_EVENT_ONESHOT);
	} else {
		sd_event_source_set_enabled(l->timer, SD_EVENT_OFF);
	}
}

static int on_io(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	(void)source;
	(void)fd;
	(void)revents;
	run_listener(userdata);
	return 0;
}

static int on_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
	(void)source;
	(void)usec;
	run_listener(userdata);
	return 0;
}

static void __attribute__((format(printf, 2, 0))) on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[256];

	(void)cls;
	vsnprintf(buf, sizeof buf, fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_debug("http: %s", buf);
}

static void listener_free(struct listener *l)
{
	struct http_stream *s;

	if (!l)
		return;
	/* libmicrohttpd must not be stopped with suspended connections. */
	for (s = l->srv->streams; s; s = s->next)
		if (s->suspended && MHD_get_connection_info(s->conn, MHD_CONNECTION_INFO_DAEMON)->daemon == l->mhd) {
			s->suspended = false;
			MHD_resume_connection(s->conn);
		}
	sd_event_source_disable_unref(l->io);
	sd_event_source_disable_unref(l->timer);
	if (l->mhd)
		MHD_stop_daemon(l->mhd);	/* closes the listening socket too */
	if (l->unix_path)
		unlink(l->unix_path);
	free(l->unix_path);
	free(l->name);
	free(l);
}

static struct MHD_Daemon *start_mhd(struct listener *l, int fd, const struct httplisten *s)
{
	unsigned flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	struct MHD_OptionItem tls[] = {
		{ MHD_OPTION_HTTPS_MEM_KEY, 0, s->key },
		{ MHD_OPTION_HTTPS_MEM_CERT, 0, s->cert },
		{ MHD_OPTION_END, 0, NULL },
	};

	if (s->cert)
		flags |= MHD_USE_TLS;
	return MHD_start_daemon(flags, 0, NULL, NULL, on_request, l,
				MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, NULL,
				MHD_OPTION_LISTEN_SOCKET, fd,
				MHD_OPTION_STRICT_FOR_CLIENT, 1,	/* HTTP/1.1 without Host: 400 */
				MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->max_connections,
				MHD_OPTION_CONNECTION_TIMEOUT, s->timeout,
				MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MEMORY_PER_CONNECTION,
				MHD_OPTION_NOTIFY_COMPLETED, on_completed, l,
				MHD_OPTION_ARRAY, s->cert ? tls : tls + 2,
				MHD_OPTION_END);
}

static struct listener *listener_new(struct http_server *srv, const char *name,
				     const struct httplisten *s)
{
	struct listener *l = xcalloc(1, sizeof(*l));
	const union MHD_DaemonInfo *info;
	int fd;

	l->srv = srv;
	l->name = xstrdup(name);
	if ((fd = httplisten_open(name, &l->unix_path)) < 0)
		goto fail;
	if (!(l->mhd = start_mhd(l, fd, s))) {
		log_err("http: %s: libmicrohttpd refused to start%s", name,
			s->cert ? " (is the TLS key the certificate's, both PEM?)" : "");
		close(fd);
		goto fail;
	}
	info = MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info || sd_event_add_io(srv->event, &l->io, info->epoll_fd, EPOLLIN, on_io, l) < 0 ||
	    sd_event_add_time(srv->event, &l->timer, CLOCK_MONOTONIC, 0, 1000, on_timer, l) < 0) {
		log_err("http: %s: cannot watch libmicrohttpd's epoll fd", name);
		goto fail;
	}
	/* The timer at 0 runs it once the loop does, when the daemon is all set up. */
	return l;
fail:
	listener_free(l);
	return NULL;
}

/* ---- configuration ---- */

static void listeners_stop(struct http_server *srv)
{
	for (size_t i = 0; i < srv->nl; i++)
		listener_free(srv->l[i]);
	free(srv->l);
	srv->l = NULL;
	srv->nl = 0;
}

static int listeners_start(struct http_server *srv, const struct httplisten *s)
{
	srv->l = xcalloc(s->nlisten, sizeof(*srv->l));
	for (size_t i = 0; i < s->nlisten; i++) {
		if (!(srv->l[i] = listener_new(srv, s->listen[i], s))) {
			listeners_stop(srv);
			return -1;
		}
		srv->nl++;
	}
	return 0;
}

int http_configure(struct http_server *srv, const struct cfg_http *cfg)
{
	struct httplisten next;

	httpauth_set_users(srv->auth, cfg);
	if (httplisten_load(&next, cfg) < 0) {
		httplisten_clear(&next);
		return -1;
	}
	if (srv->nl == srv->settings.nlisten && httplisten_equal(&next, &srv->settings)) {
		httplisten_clear(&next);
		return 0;
	}
	/* Unchanged addresses must be free again before they are bound anew. */
	listeners_stop(srv);
	if (listeners_start(srv, &next) == 0) {
		httplisten_clear(&srv->settings);
		srv->settings = next;
		return 0;
	}
	httplisten_clear(&next);
	if (srv->settings.nlisten && listeners_start(srv, &srv->settings) == 0)
		log_warn("http: kept the previous listen addresses");
	return -1;
}

struct http_server *http_new(sd_event *event, http_handler_fn handler, void *ctx)
{
	struct http_server *srv = xcalloc(1, sizeof(*srv));

	srv->event = sd_event_ref(event);
	srv->handler = handler;
	srv->ctx = ctx;
	srv->auth = httpauth_new();
	return srv;
}

void http_free(struct http_server *srv)
{
	if (!srv)
		return;
	listeners_stop(srv);
	httplisten_clear(&srv->settings);
	httpauth_free(srv->auth);
	sd_event_unref(srv->event);
	free(srv);
}

void http_get_stats(const struct http_server *srv, struct http_stats *stats)
{
	*stats = srv->stats;
}
