/* ctlhttp: agentwatchctl's requests to the daemon's HTTP endpoint (libcurl), and its SSE reader. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "ctlhttp.h"
#include "util.h"

#define CONNECT_TIMEOUT 5L	/* seconds */
#define REQUEST_TIMEOUT 60L	/* seconds for a whole answer (10,000 agents are a few MB) */
#define BODY_MAX (256u << 20)	/* bytes: an answer past this is refused, not kept */

static CURL *handle(const struct ctlhttp *c, const char *path, char *err)
{
	CURL *h = curl_easy_init();
	char *url;

	if (!h) {
		snprintf(err, CTLHTTP_ERROR_MAX, "cannot set up libcurl");
		return NULL;
	}
	url = xasprintf("%s%s", c->socket ? "http://localhost" : c->url, path);
	curl_easy_setopt(h, CURLOPT_URL, url);
	free(url);
	if (c->socket)
		curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH, c->socket);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, CONNECT_TIMEOUT);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_USERAGENT, "agentwatchctl/" PACKAGE_VERSION);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, err);
	err[0] = '\0';
	if (c->user) {
		curl_easy_setopt(h, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(h, CURLOPT_USERNAME, c->user);
		curl_easy_setopt(h, CURLOPT_PASSWORD, c->password ? c->password : "");
	}
	if (c->cacert)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->cacert);
	return h;
}

/* err holds libcurl's words when it gave some, else its code's. Over a unix socket its words name
 * a "localhost port 80" that is not there: the code's are plainer. */
static void failed(const struct ctlhttp *c, CURLcode code, char *err)
{
	if (!err[0] || c->socket)
		snprintf(err, CTLHTTP_ERROR_MAX, "%s", curl_easy_strerror(code));
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct ctlhttp_reply *r = ctx;

	n *= size;
	if (r->len + n > BODY_MAX)
		return 0;
	r->body = xrealloc(r->body, r->len + n + 1);
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

int ctlhttp_get(const struct ctlhttp *c, const char *path, struct ctlhttp_reply *reply, char *err)
{
	CURL *h = handle(c, path, err);
	CURLcode code;

	*reply = (struct ctlhttp_reply){ .body = xstrdup("") };
	if (!h)
		return -1;
	curl_easy_setopt(h, CURLOPT_TIMEOUT, REQUEST_TIMEOUT);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, reply);
	code = curl_easy_perform(h);
	if (code == CURLE_OK)
		curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &reply->status);
	else
		failed(c, code, err);
	curl_easy_cleanup(h);
	return code == CURLE_OK ? 0 : -1;
}

/* ---- Server-Sent Events (the subset the daemon sends: id, data, comments) ---- */

void ctlhttp_sse_init(struct ctlhttp_sse *p, const struct ctlhttp_sse_handler *h)
{
	*p = (struct ctlhttp_sse){ .h = h };
}

static void dispatch(struct ctlhttp_sse *p)
{
	if (p->data)
		p->h->event(p->h->ctx, p->id, p->data);
	free(p->data);
	p->data = NULL;
	p->data_len = 0;
	p->id = 0;
}

static void sse_line(struct ctlhttp_sse *p, char *line)
{
	char *value = strchr(line, ':'), *tmp;

	if (!*line) {
		dispatch(p);
		return;
	}
	if (value == line) {
		if (p->h->comment)
			p->h->comment(p->h->ctx, line[1] == ' ' ? line + 2 : line + 1);
		return;
	}
	if (value) {
		*value++ = '\0';
		value += *value == ' ';
	} else {
		value = line + strlen(line);
	}
	if (strcmp(line, "data") == 0) {
		size_t n = strlen(value), at = p->data ? p->data_len + 1 : 0;

		if (at + n > CTLHTTP_SSE_MAX) {
			p->overflow = true;
			return;
		}
		/* Appended in place: a frame of many data lines costs linear time. */
		tmp = xrealloc(p->data, at + n + 1);
		if (at)
			tmp[at - 1] = '\n';
		memcpy(tmp + at, value, n + 1);
		p->data = tmp;
		p->data_len = at + n;
	} else if (strcmp(line, "id") == 0) {
		p->id = strtoull(value, NULL, 10);
	}
}

bool ctlhttp_sse_feed(struct ctlhttp_sse *p, const char *buf, size_t len)
{
	while (len && !p->overflow) {
		const char *nl = memchr(buf, '\n', len);
		size_t n = nl ? (size_t)(nl - buf) : len;

		if (p->len + n > CTLHTTP_SSE_MAX) {
			p->overflow = true;
			break;
		}
		p->line = xrealloc(p->line, p->len + n + 1);
		memcpy(p->line + p->len, buf, n);
		p->len += n;
		p->line[p->len] = '\0';
		if (!nl)
			break;
		if (p->len && p->line[p->len - 1] == '\r')
			p->line[--p->len] = '\0';
		sse_line(p, p->line);
		p->len = 0;
		buf = nl + 1;
		len -= n + 1;
	}
	return !p->overflow;
}

void ctlhttp_sse_clear(struct ctlhttp_sse *p)
{
	free(p->line);
	free(p->data);
	*p = (struct ctlhttp_sse){ .h = p->h };
}

struct stream {
	struct ctlhttp_sse sse;
	CURL *h;
	bool ok;			/* the answer is 200 */
	struct ctlhttp_reply error;	/* otherwise its body */
};

static size_t on_stream(char *data, size_t size, size_t n, void *ctx)
{
	struct stream *s = ctx;
	long status = 0;

	n *= size;
	if (!s->ok) {
		curl_easy_getinfo(s->h, CURLINFO_RESPONSE_CODE, &status);
		s->ok = status == 200;
	}
	if (s->ok) {
		if (!ctlhttp_sse_feed(&s->sse, data, n))
			return 0;	/* ends the transfer: see ctlhttp_stream */
	} else if (s->error.len < 1024)
		on_body(data, 1, n, &s->error);
	return n;
}

int ctlhttp_stream(const struct ctlhttp *c, const char *path, uint64_t last_id,
		   long stall_seconds, const struct ctlhttp_sse_handler *h, char *err)
{
	struct stream s = { .error = { .body = xstrdup("") } };
	struct curl_slist *headers = NULL;
	char header[64];
	CURLcode code;
	long status = 0;

	s.h = handle(c, path, err);
	if (!s.h) {
		free(s.error.body);
		return -1;
	}
	ctlhttp_sse_init(&s.sse, h);
	snprintf(header, sizeof header, "Last-Event-ID: %" PRIu64, last_id);
	headers = curl_slist_append(headers, header);
	curl_easy_setopt(s.h, CURLOPT_HTTPHEADER, headers);
	/* The daemon pings idle streams every 15 s: silence past stall_seconds is a dead link. */
	curl_easy_setopt(s.h, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(s.h, CURLOPT_LOW_SPEED_TIME, stall_seconds);
	curl_easy_setopt(s.h, CURLOPT_WRITEFUNCTION, on_stream);
	curl_easy_setopt(s.h, CURLOPT_WRITEDATA, &s);
	code = curl_easy_perform(s.h);
	curl_easy_getinfo(s.h, CURLINFO_RESPONSE_CODE, &status);
	if (s.sse.overflow)
		snprintf(err, CTLHTTP_ERROR_MAX, "the stream sent a line or event longer than %u "
			 "bytes: is this agentwatchd?", CTLHTTP_SSE_MAX);
	else if (code != CURLE_OK)
		failed(c, code, err);
	else if (status != 200)
		snprintf(err, CTLHTTP_ERROR_MAX, "HTTP %ld: %.*s", status,
			 (int)strcspn(s.error.body, "\n"), s.error.body);
	ctlhttp_sse_clear(&s.sse);
	free(s.error.body);
	curl_slist_free_all(headers);
	curl_easy_cleanup(s.h);
	return code == CURLE_OK && status == 200 ? 0 : -1;
}
