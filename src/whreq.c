/* whreq: one HTTP request to a webhook receiver: its body, headers and signature, and the answer. */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "reply.h"
#include "util.h"
#include "whreq.h"

static void add_header(struct whreq *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void add_header(struct whreq *r, const char *fmt, ...)
{
	va_list ap;
	char *h;

	va_start(ap, fmt);
	h = xvasprintf(fmt, ap);
	va_end(ap);
	r->headers = curlev_header(r->headers, h);
	free(h);
}

/* X-Agentwatch-Signature: sha256=HEX(HMAC-SHA256(secret, timestamp "." body)) */
static void add_signature(struct whreq *r, const struct whreq_target *t)
{
	char ts[24], *signed_text, hex[2 * EVP_MAX_MD_SIZE + 1];
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	snprintf(ts, sizeof(ts), "%" PRIu64, util_now_realtime_us() / 1000000u);
	signed_text = xasprintf("%s.%s", ts, r->body);
	HMAC(EVP_sha256(), t->secret, (int)t->secret_len, (const unsigned char *)signed_text,
	     strlen(signed_text), mac, &n);
	util_hex_lower(mac, n, hex);
	add_header(r, "X-Agentwatch-Timestamp: %s", ts);
	add_header(r, "X-Agentwatch-Signature: sha256=%s", hex);
	free(signed_text);
}

static size_t on_response(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct whreq *r = userdata;
	size_t n = size * nmemb, keep = n;

	if (r->response_len + keep > WHREQ_RESPONSE_KEEP)
		keep = WHREQ_RESPONSE_KEEP - r->response_len;
	if (!r->response)
		r->response = xmalloc(WHREQ_RESPONSE_KEEP);
	memcpy(r->response + r->response_len, data, keep);
	r->response_len += keep;
	return n;
}

struct whreq *whreq_new(struct sender *s, curlev_done_fn done)
{
	struct whreq *r = xcalloc(1, sizeof(*r));

	r->s = s;
	r->transfer.easy = curl_easy_init();
	r->transfer.done = done;
	if (!r->transfer.easy) {
		fputs("agentwatchd: cannot set up a webhook request\n", stderr);
		abort();
	}
	return r;
}

void whreq_free(struct whreq *r)
{
	whreq_release(r);
	curl_easy_cleanup(r->transfer.easy);
	free(r->response);
	free(r);
}

void whreq_post(struct whreq *r, struct curlev *curl, const struct whreq_target *t, char *body,
		const char *key)
{
	CURL *e = r->transfer.easy;

	free(r->body);
	r->body = body;
	curl_slist_free_all(r->headers);
	r->headers = NULL;
	add_header(r, "Content-Type: application/json");
	add_header(r, "Expect:");
	if (t->secret)
		add_signature(r, t);
	for (const struct curl_slist *h = t->headers; h; h = h->next)
		add_header(r, "%s", h->data);
	if (key)
		add_header(r, "Idempotency-Key: %s", key);
	r->response_len = 0;
	/* curlev_setup resets the handle, so every option of the request is set after it. */
	curlev_setup(&r->transfer, t->url, t->tls, t->timeout_ms, r->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_response);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
	r->busy = true;
	curlev_start(curl, &r->transfer);
}

void whreq_release(struct whreq *r)
{
	free(r->items);
	r->items = NULL;
	r->n = 0;
	free(r->body);
	r->body = NULL;
	curl_slist_free_all(r->headers);
	r->headers = NULL;
}

void whreq_reason(const struct whreq *r, char *buf, size_t size)
{
	char *text = xstrndup(r->response ? r->response : "", r->response_len);
	struct json_object *doc = json_tokener_parse(text), *f = doc;
	const char *why = text;
	size_t len;

	if (json_object_is_type(doc, json_type_object) &&
	    !json_object_object_get_ex(doc, "error", &f) &&
	    !json_object_object_get_ex(doc, "message", &f))
		f = NULL;
	if (json_object_is_type(f, json_type_string))
		why = json_object_get_string(f);
	len = strlen(why);
	while (len && (why[len - 1] == '\n' || why[len - 1] == '\r' || why[len - 1] == ' '))
		len--;
	reply_sanitize(why, len, buf, size);
	json_object_put(doc);
	free(text);
}
