/* http: the HTTP endpoint: libmicrohttpd on the daemon's sd-event loop, TLS, basic auth, limits. */
#ifndef AW_HTTP_H
#define AW_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <systemd/sd-event.h>

#include "cfg.h"

#define HTTP_MEMORY_PER_CONNECTION (64 * 1024)	/* bytes: request headers plus output buffer */

struct http_server;
/* One request being answered; valid only during the handler call. */
struct http_req;
/* A streamed answer (Server-Sent Events), alive until the client goes or the server stops. */
struct http_stream;

/*
 * Answers a GET or HEAD (other methods get 405 before it is called, and 401 when basic auth is
 * on and fails). It must answer with exactly one http_reply or http_reply_stream.
 */
typedef void (*http_handler_fn)(void *ctx, struct http_req *req);

/*
 * Fills buf with at most size bytes of the stream; returns how many, 0 when nothing is ready
 * (the stream sleeps until http_wake_streams), -1 to cut the client off.
 */
typedef ssize_t (*http_stream_read_fn)(void *ctx, char *buf, size_t size);
/* The stream ended (client gone, cut off, timeout or server stopped); frees ctx. */
typedef void (*http_stream_free_fn)(void *ctx);

struct http_stats {
	uint64_t requests;		/* requests answered, any status */
	uint64_t client_errors;		/* 4xx answers, 401 included */
	uint64_t unauthorized;		/* 401: missing or wrong credentials */
	uint64_t streams;		/* streams open now */
	uint64_t streams_cut;		/* streams ended by the server: too slow, timeout */
};

struct http_server *http_new(sd_event *event, http_handler_fn handler, void *ctx);
/*
 * Applies cfg: listens on every http.listen address (none: off), with TLS and users as set.
 * Listeners are rebuilt only when the addresses or TLS files changed; users apply at once.
 * Returns 0, or -1 after logging why, keeping the previous listeners.
 */
int http_configure(struct http_server *srv, const struct cfg_http *cfg);
/* Ends every connection and stream and removes unix sockets. NULL is fine. */
void http_free(struct http_server *srv);

/* New data for streams: every sleeping stream reads again. */
void http_wake_streams(struct http_server *srv);
void http_get_stats(const struct http_server *srv, struct http_stats *stats);

/* The request's path without the query, its query arguments and headers (NULL when absent). */
const char *http_path(const struct http_req *req);
const char *http_query(const struct http_req *req, const char *key);
const char *http_header(const struct http_req *req, const char *name);
/* Calls fn for each query argument in order; value is NULL for "?key" without "=". */
void http_query_each(const struct http_req *req,
		     void (*fn)(void *ctx, const char *key, const char *value), void *ctx);

/* Answers with body (len bytes, taken over and freed by the server) of content_type. */
void http_reply(struct http_req *req, unsigned status, const char *content_type, char *body,
		size_t len);
/*
 * Answers with body (len bytes of static data that outlives the server, never freed) and extra
 * headers: name, value pairs ending with NULL. A Cache-Control among them replaces "no-store";
 * content_type NULL sends none (a 304).
 */
void http_reply_static(struct http_req *req, unsigned status, const char *content_type,
		       const void *body, size_t len, const char *const *headers);
/* A text/plain answer of one line, for errors: "400 after: not a number\n". */
void http_reply_text(struct http_req *req, unsigned status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Answers 200 with a stream of unknown length; read and free get ctx (see above). */
void http_reply_stream(struct http_req *req, const char *content_type, http_stream_read_fn read,
		       http_stream_free_fn free_fn, void *ctx);

#endif
