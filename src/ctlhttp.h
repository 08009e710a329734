/* ctlhttp: agentwatchctl's requests to the daemon's HTTP endpoint (libcurl), and its SSE reader. */
#ifndef AW_CTLHTTP_H
#define AW_CTLHTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CTLHTTP_DEFAULT_SOCKET "/run/agentwatchd/http.sock"
#define CTLHTTP_ERROR_MAX 256

/* Where the daemon is and how to log in; the strings are borrowed. */
struct ctlhttp {
	const char *socket;		/* a unix socket path, or NULL to use url */
	const char *url;		/* http[s]://host:port without a trailing slash */
	const char *user;		/* basic auth, or NULL */
	const char *password;
	const char *cacert;		/* a CA file for https, or NULL for the system's */
};

struct ctlhttp_reply {
	long status;			/* the HTTP status */
	char *body;			/* NUL-terminated; the caller frees it */
	size_t len;
};

/*
 * GET path (with its query). Returns 0 with reply filled when the daemon answered (any status),
 * or -1 with why in err (CTLHTTP_ERROR_MAX bytes) when it could not be reached.
 */
int ctlhttp_get(const struct ctlhttp *c, const char *path, struct ctlhttp_reply *reply, char *err);

/* What a Server-Sent Events stream carries, as it comes. */
struct ctlhttp_sse_handler {
	void (*event)(void *ctx, uint64_t id, const char *data);	/* id 0: the frame had none */
	void (*comment)(void *ctx, const char *text);
	void *ctx;
};

/* Bytes of one SSE line, and of one frame's data: the daemon's events are a few KiB. */
#define CTLHTTP_SSE_MAX (1u << 20)

/* An SSE parser fed any pieces of the stream (exposed for the tests). */
struct ctlhttp_sse {
	char *line;			/* the line not yet ended */
	size_t len;
	char *data;			/* the frame's data lines so far, NULL when none */
	size_t data_len;
	uint64_t id;
	bool overflow;			/* a line or frame passed CTLHTTP_SSE_MAX: the stream is bad */
	const struct ctlhttp_sse_handler *h;
};

void ctlhttp_sse_init(struct ctlhttp_sse *p, const struct ctlhttp_sse_handler *h);
/*
 * Feeds len bytes of the stream. Returns false, and ignores any more input, once a line or a
 * frame's data passed CTLHTTP_SSE_MAX bytes (a peer that is no agentwatchd, or a broken one):
 * memory stays bounded whatever the peer sends.
 */
bool ctlhttp_sse_feed(struct ctlhttp_sse *p, const char *buf, size_t len);
void ctlhttp_sse_clear(struct ctlhttp_sse *p);

/*
 * Follows path as an SSE stream, from after last_id (sent as Last-Event-ID), until the
 * connection ends or goes silent for stall_seconds. Returns 0 when it ended after an answer of
 * 200, or -1 with why in err.
 */
int ctlhttp_stream(const struct ctlhttp *c, const char *path, uint64_t last_id,
		   long stall_seconds, const struct ctlhttp_sse_handler *h, char *err);

#endif
