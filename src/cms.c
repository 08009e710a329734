/* cms: the CMS requests (per agent, batch calls, batch states) on a shared libcurl multi handle driven by sd-event. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "cms.h"
#include "curlev.h"
#include "log.h"
#include "sign.h"
#include "util.h"

/* What a request needs of the configuration, copied so that a reload can free the old one. */
struct settings {
	char *url;		/* scheme://host:port, the paths appended per request */
	char *host_header;	/* "Host: host:port" */
	char *host;
	char *app_key;
	char *secret;
	size_t secret_len;
	long timeout_ms;
	int max_in_flight;
	struct curlev_tls tls;
};

struct request {
	struct cms_client *client;
	struct curlev_transfer transfer;	/* transfer.easy is this request's handle */
	struct curl_slist *headers;
	enum cms_api api;
	char *url;
	char *body;		/* compact JSON, exactly what is signed */
	size_t body_len;
	size_t body_cap;
	size_t response_max;	/* bytes the answer may take */
	uint32_t *ids;		/* a batch request's agentIds, sorted, for its parser */
	size_t nids;
	char *response;
	size_t response_len;
	size_t response_cap;
	bool response_too_large;
	char errbuf[CURL_ERROR_SIZE];
	char reason[REPLY_REASON_MAX + 160];
	struct reply reply;
	struct replybatch batch;
	cms_done_fn done;
	void *userdata;
	bool active;
	struct request *next_free;
};

struct cms_client {
	struct curlev *curl;
	struct settings settings;
	struct request **requests;	/* every request ever made; at most max_in_flight */
	size_t nrequests;
	struct request *free_requests;
	size_t in_flight;
	bool trace_signing;
};

static void settings_clear(struct settings *s)
{
	free(s->url);
	free(s->host_header);
	free(s->host);
	free(s->app_key);
	util_secret_free(s->secret, s->secret_len);
	curlev_tls_clear(&s->tls);
	memset(s, 0, sizeof(*s));
}

static void settings_set(struct settings *s, const struct cfg_cms *cfg)
{
	settings_clear(s);
	s->url = xstrdup(cfg->url);
	s->host_header = xasprintf("Host: %s", cfg->host);
	s->host = xstrdup(cfg->host);
	s->app_key = xstrdup(cfg->app_key);
	s->secret = util_secret_dup(cfg->app_secret, cfg->app_secret_len);
	s->secret_len = cfg->app_secret_len;
	s->timeout_ms = (long)(cfg->timeout * 1000.0 + 0.5);
	s->max_in_flight = cfg->max_in_flight;
	curlev_tls_set(&s->tls, &cfg->tls);
}

const char *cms_status_name(enum cms_status status)
{
	static const char *const names[] = {
		[CMS_OK] = "ok", [CMS_ERR_AUTH] = "auth", [CMS_ERR_HTTP] = "http",
		[CMS_ERR_BACKOFF] = "backoff", [CMS_ERR_CMS] = "cms", [CMS_ERR_REPLY] = "reply",
		[CMS_ERR_TIMEOUT] = "timeout", [CMS_ERR_TLS] = "tls", [CMS_ERR_CONNECT] = "connect",
		[CMS_ERR_CANCELLED] = "cancelled",
	};
	return names[status];
}

/* ---- one request ---- */

static void on_transfer_done(struct curlev_transfer *t, CURLcode code);

static size_t on_body(char *data, size_t size, size_t nmemb, void *userdata)
{
	struct request *req = userdata;
	size_t n = size * nmemb;

	if (req->response_len + n > req->response_max) {
		req->response_too_large = true;
		return 0;	/* makes libcurl end the transfer with CURLE_WRITE_ERROR */
	}
	if (req->response_len + n + 1 > req->response_cap) {
		req->response_cap = req->response_len + n + 1 < 1024 ? 1024 : 2 * (req->response_len + n + 1);
		req->response = xrealloc(req->response, req->response_cap);
	}
	memcpy(req->response + req->response_len, data, n);
	req->response_len += n;
	req->response[req->response_len] = '\0';
	return n;
}

static struct request *request_get(struct cms_client *client)
{
	struct request *req = client->free_requests;

	if (req) {
		client->free_requests = req->next_free;
		return req;
	}
	req = xcalloc(1, sizeof(*req));
	req->client = client;
	client->requests = xreallocarray(client->requests, client->nrequests + 1,
					 sizeof(client->requests[0]));
	client->requests[client->nrequests++] = req;
	req->transfer.easy = curl_easy_init();
	req->transfer.done = on_transfer_done;
	if (!req->transfer.easy) {
		fputs("agentwatchd: cannot create a libcurl handle\n", stderr);
		abort();
	}
	return req;
}

static void request_put(struct cms_client *client, struct request *req)
{
	curl_slist_free_all(req->headers);
	req->headers = NULL;
	req->active = false;
	req->next_free = client->free_requests;
	client->free_requests = req;
}

static void request_free(struct request *req)
{
	curl_slist_free_all(req->headers);
	curl_easy_cleanup(req->transfer.easy);
	free(req->response);
	free(req->url);
	free(req->body);
	free(req->ids);
	free(req);
}

/* One log line per canonical line: under systemd each line is its own journal entry anyway. */
static void trace_signing(const char *what, const char *canonical, const char *authorization)
{
	const char *signature = strrchr(authorization, '/');
	const char *line = canonical;

	log_debug("signed request for %s, canonical request:", what);
	for (;;) {
		const char *nl = strchr(line, '\n');
		int len = nl ? (int)(nl - line) : (int)strlen(line);

		log_debug("  | %.*s", len, line);
		if (!nl)
			break;
		line = nl + 1;
	}
	log_debug("Authorization prefix: %.*s/<signature>", (int)(signature - authorization),
		  authorization);
}

static const char *api_path(enum cms_api api)
{
	static const char *const paths[] = {
		[CMS_API_AGENT] = CMS_PATH, [CMS_API_BATCH] = CMS_PATH_BATCH,
		[CMS_API_STATE] = CMS_PATH_STATE,
	};
	return paths[api];
}

/* Appends to the request body, growing it as needed. */
static void body_add(struct request *req, const char *text, size_t len)
{
	if (req->body_len + len + 1 > req->body_cap) {
		req->body_cap = 2 * (req->body_len + len + 1) < 128 ? 128 : 2 * (req->body_len + len + 1);
		req->body = xrealloc(req->body, req->body_cap);
	}
	memcpy(req->body + req->body_len, text, len);
	req->body_len += len;
	req->body[req->body_len] = '\0';
}

/*
 * Writes v in decimal just before end and returns where it starts: up to 3000 agentIds go into a
 * batch body, and snprintf per ID was a measurable part of a batch poll's CPU.
 */
static char *decimal_u32(char *end, uint32_t v)
{
	do {
		*--end = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	return end;
}

/* {"ccId":1,"vdn":170,"agentId":1099} or {"ccId":1,"vdn":170,"agentIds":[1031,1099]}. */
static void request_body(struct request *req, uint32_t cc, uint32_t vdn, const uint32_t *ids,
			 size_t n)
{
	char num[48];
	int len;

	req->body_len = 0;
	len = snprintf(num, sizeof(num), "{\"ccId\":%u,\"vdn\":%u,\"agentId%s", cc, vdn,
		       req->api == CMS_API_AGENT ? "\":" : "s\":[");
	body_add(req, num, (size_t)len);
	for (size_t i = 0; i < n; i++) {
		char *start = decimal_u32(num + sizeof(num), ids[i]);

		if (i)
			*--start = ',';
		body_add(req, start, (size_t)(num + sizeof(num) - start));
	}
	body_add(req, req->api == CMS_API_AGENT ? "}" : "]}", req->api == CMS_API_AGENT ? 1 : 2);
}

/* The body and headers are exactly what is signed: compact JSON, Host as in the URL. */
static void request_sign(struct cms_client *client, struct request *req, const char *what)
{
	const struct settings *s = &client->settings;
	char timestamp[UTIL_TIME_LEN], *canonical = NULL, *authorization, *header;
	struct sign_request sr;

	util_format_time(util_now_realtime_us(), timestamp);
	sr = (struct sign_request){
		.method = "POST", .path = api_path(req->api), .host = s->host, .body = req->body,
		.body_len = req->body_len, .app_key = s->app_key, .secret = s->secret,
		.secret_len = s->secret_len, .timestamp = timestamp,
	};
	authorization = sign_authorization(&sr, client->trace_signing ? &canonical : NULL);
	if (canonical) {
		trace_signing(what, canonical, authorization);
		free(canonical);
	}
	header = xasprintf("Authorization: %s", authorization);
	req->headers = curlev_header(req->headers, s->host_header);
	req->headers = curlev_header(req->headers, "Content-Type: " SIGN_CONTENT_TYPE);
	req->headers = curlev_header(req->headers, header);
	req->headers = curlev_header(req->headers, "Accept: application/json");
	req->headers = curlev_header(req->headers, "Expect:");
	free(header);
	free(authorization);
}

static void request_setup(struct cms_client *client, struct request *req)
{
	const struct settings *s = &client->settings;
	CURL *e = req->transfer.easy;

	free(req->url);
	req->url = xasprintf("%s%s", s->url, api_path(req->api));
	curlev_setup(&req->transfer, req->url, &s->tls, s->timeout_ms, req->errbuf);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)req->body_len);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, req->headers);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_MAXFILESIZE, (long)req->response_max);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, req);
	req->response_len = 0;
	req->response_too_large = false;
}

static void request_start(struct cms_client *client, struct request *req, const char *what,
			  cms_done_fn done, void *userdata)
{
	req->done = done;
	req->userdata = userdata;
	request_sign(client, req, what);
	request_setup(client, req);
	client->in_flight++;
	req->active = true;
	curlev_start(client->curl, &req->transfer);
}

void cms_poll(struct cms_client *client, const struct cfg_agent *agent, cms_done_fn done,
	      void *userdata)
{
	struct request *req = request_get(client);
	char what[64];

	req->api = CMS_API_AGENT;
	req->response_max = CMS_BODY_MAX;
	req->nids = 0;
	request_body(req, agent->cc, agent->vdn, &agent->id, 1);
	snprintf(what, sizeof(what), "agent %u:%u:%u", agent->cc, agent->vdn, agent->id);
	request_start(client, req, what, done, userdata);
}

void cms_poll_batch(struct cms_client *client, enum cms_api api, uint32_t cc, uint32_t vdn,
		    const uint32_t *ids, size_t n, cms_done_fn done, void *userdata)
{
	struct request *req = request_get(client);
	char what[96];

	req->api = api;
	req->response_max = CMS_BODY_MAX + n * CMS_BODY_PER_AGENT;
	req->ids = xreallocarray(req->ids, n ? n : 1, sizeof(req->ids[0]));
	memcpy(req->ids, ids, n * sizeof(ids[0]));
	req->nids = n;
	request_body(req, cc, vdn, ids, n);
	snprintf(what, sizeof(what), "%s of %u:%u (%zu agents)",
		 api == CMS_API_STATE ? "agent states" : "calls", cc, vdn, n);
	request_start(client, req, what, done, userdata);
}

/* ---- outcomes ---- */

static void reason_for_http(struct request *req, struct cms_result *res)
{
	static const struct {
		long status;
		enum cms_status kind;
		const char *text;
	} known[] = {
		{ 400, CMS_ERR_HTTP, "bad request (refused by the CMS or a gateway in front of it)" },
		{ 401, CMS_ERR_AUTH, "authentication rejected: check cms.app_key, the secret and this "
		  "host's clock (NTP); run with -vv to see the signed canonical request" },
		{ 403, CMS_ERR_HTTP, "forbidden: is this host's address allow-listed on the CMS?" },
		{ 404, CMS_ERR_HTTP, NULL },	/* names the request's path */
		{ 429, CMS_ERR_BACKOFF, "too many requests: backing off" },
		{ 503, CMS_ERR_BACKOFF, "service unavailable: backing off" },
	};
	const char *text = res->http_status >= 500 ? "server error" : "unexpected status";

	res->status = CMS_ERR_HTTP;
	for (size_t i = 0; i < ARRAY_SIZE(known); i++) {
		if (known[i].status == res->http_status) {
			res->status = known[i].kind;
			text = known[i].text;
		}
	}
	if (!text)
		snprintf(req->reason, sizeof(req->reason), "HTTP 404: not found: check cms.url "
			 "(the path %s is fixed)", api_path(req->api));
	else
		snprintf(req->reason, sizeof(req->reason), "HTTP %ld: %s", res->http_status, text);
}

/* resultCodes that say the interface is not for this client (cms-api.md §1's table). */
static bool refusal_code(const char *body, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *root = json_tokener_parse_ex(tok, body, (int)len), *code = NULL;
	bool refused = json_object_object_get_ex(root, "resultCode", &code) &&
		       json_object_is_type(code, json_type_string) &&
		       (strcmp(json_object_get_string(code), "0101003") == 0 ||
			strcmp(json_object_get_string(code), "0100003") == 0);

	json_object_put(root);
	json_tokener_free(tok);
	return refused;
}

/* The answer's status and reason, whichever parser read it. */
static void parse_body(struct request *req, struct cms_result *res, enum reply_status *status,
		       const char **reason)
{
	const char *body = req->response ? req->response : "";

	if (req->api == CMS_API_AGENT) {
		reply_parse(body, req->response_len, &req->reply);
		res->reply = &req->reply;
		*status = req->reply.status;
		*reason = req->reply.reason;
		return;
	}
	if (req->api == CMS_API_BATCH)
		replybatch_parse_calls(body, req->response_len, req->ids, req->nids, &req->batch);
	else
		replybatch_parse_states(body, req->response_len, req->ids, req->nids, &req->batch);
	res->batch = &req->batch;
	*status = req->batch.status;
	*reason = req->batch.reason;
	res->refused = *status == REPLY_CMS_ERROR && refusal_code(body, req->response_len);
}

static void reason_for_body(struct request *req, struct cms_result *res)
{
	enum reply_status status;
	const char *reason;

	parse_body(req, res, &status, &reason);
	switch (status) {
	case REPLY_OK:
		res->status = CMS_OK;
		req->reason[0] = '\0';
		return;
	case REPLY_CMS_BUSY:
		res->status = CMS_ERR_BACKOFF;
		break;
	case REPLY_CMS_ERROR:
		res->status = CMS_ERR_CMS;
		break;
	case REPLY_INVALID:
		res->status = CMS_ERR_REPLY;
		snprintf(req->reason, sizeof(req->reason), "bad response: %s", reason);
		return;
	}
	snprintf(req->reason, sizeof(req->reason), "%s", reason);
}

static enum cms_status transport_kind(CURLcode code)
{
	switch (code) {
	case CURLE_OPERATION_TIMEDOUT:
		return CMS_ERR_TIMEOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ENGINE_NOTFOUND:
	case CURLE_SSL_ENGINE_SETFAILED:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_USE_SSL_FAILED:
		return CMS_ERR_TLS;
	default:
		return CMS_ERR_CONNECT;
	}
}

static void reason_for_transport(struct request *req, CURLcode code, struct cms_result *res)
{
	const char *detail = req->errbuf[0] ? req->errbuf : curl_easy_strerror(code);

	if (req->response_too_large || code == CURLE_FILESIZE_EXCEEDED) {
		res->status = CMS_ERR_REPLY;
		snprintf(req->reason, sizeof(req->reason),
			 "bad response: the body is larger than %zu bytes", req->response_max);
		return;
	}
	/* The connection worked and an answer began: what arrived is a body cut short. */
	if (code == CURLE_PARTIAL_FILE) {
		res->status = CMS_ERR_REPLY;
		snprintf(req->reason, sizeof(req->reason),
			 "bad response: the connection closed before the whole body arrived (%s)",
			 detail);
		return;
	}
	res->status = transport_kind(code);
	if (code == CURLE_COULDNT_RESOLVE_HOST)
		snprintf(req->reason, sizeof(req->reason), "name lookup failed: %s", detail);
	else if (res->status == CMS_ERR_TIMEOUT)
		snprintf(req->reason, sizeof(req->reason), "no answer within %.1f s (cms.timeout)",
			 (double)req->client->settings.timeout_ms / 1000.0);
	else if (res->status == CMS_ERR_TLS)
		snprintf(req->reason, sizeof(req->reason), "TLS error with %s: %s",
			 req->client->settings.host, detail);
	else
		snprintf(req->reason, sizeof(req->reason), "connection to %s failed: %s",
			 req->client->settings.host, detail);
}

static void request_finish(struct request *req, CURLcode code, struct cms_result *res)
{
	curl_off_t retry_after = 0;

	memset(res, 0, sizeof(*res));
	res->reason = req->reason;
	memset(&req->batch, 0, sizeof(req->batch));
	curl_easy_getinfo(req->transfer.easy, CURLINFO_RESPONSE_CODE, &res->http_status);
	if (code != CURLE_OK)
		reason_for_transport(req, code, res);
	else if (res->http_status != 200)
		reason_for_http(req, res);
	else
		reason_for_body(req, res);
	if (curl_easy_getinfo(req->transfer.easy, CURLINFO_RETRY_AFTER, &retry_after) == CURLE_OK)
		res->retry_after = (double)retry_after;
}

/* cancelled: ended by cms_client_cancel_all rather than by libcurl. */
static void complete(struct cms_client *client, struct request *req, CURLcode code, bool cancelled)
{
	struct cms_result res;
	struct replybatch batch;

	client->in_flight--;
	if (cancelled) {
		memset(&res, 0, sizeof(res));
		res.status = CMS_ERR_CANCELLED;
		res.reason = "cancelled: the daemon is stopping";
	} else {
		request_finish(req, code, &res);
	}
	/*
	 * The request goes back first: the callback may start the next poll at once, on this very
	 * request, so the batch answer it reads moves out of it (the per-agent reply is read before
	 * any next poll starts).
	 */
	batch = req->batch;
	if (res.batch)
		res.batch = &batch;
	memset(&req->batch, 0, sizeof(req->batch));
	request_put(client, req);
	req->done(req->userdata, &res);
	if (res.batch)
		replybatch_free(&batch);
}

static void on_transfer_done(struct curlev_transfer *t, CURLcode code)
{
	struct request *req = (struct request *)((char *)t - offsetof(struct request, transfer));

	complete(req->client, req, code, false);
}

/* ---- the client ---- */

struct cms_client *cms_client_new(sd_event *event, const struct cfg_cms *cfg)
{
	struct cms_client *client = xcalloc(1, sizeof(*client));

	client->curl = curlev_new(event);
	cms_client_configure(client, cfg);
	return client;
}

void cms_client_configure(struct cms_client *client, const struct cfg_cms *cfg)
{
	settings_set(&client->settings, cfg);
	/* Keep one idle keep-alive connection per concurrent request, so polls reuse them. */
	curl_multi_setopt(curlev_multi(client->curl), CURLMOPT_MAXCONNECTS, (long)cfg->max_in_flight);
}

void cms_client_trace_signing(struct cms_client *client, bool on)
{
	client->trace_signing = on;
}

bool cms_client_has_capacity(const struct cms_client *client)
{
	return client->in_flight < (size_t)client->settings.max_in_flight;
}

size_t cms_client_in_flight(const struct cms_client *client)
{
	return client->in_flight;
}

void cms_client_cancel_all(struct cms_client *client)
{
	for (size_t i = 0; i < client->nrequests; i++) {
		struct request *req = client->requests[i];

		if (req->active) {
			curlev_abort(client->curl, &req->transfer);
			complete(client, req, CURLE_OK, true);
		}
	}
}

void cms_client_free(struct cms_client *client)
{
	if (!client)
		return;
	cms_client_cancel_all(client);
	for (size_t i = 0; i < client->nrequests; i++)
		request_free(client->requests[i]);
	free(client->requests);
	curlev_free(client->curl);
	settings_clear(&client->settings);
	free(client);
}
