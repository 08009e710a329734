/* bench/replybatch: the batch parsers' time on full answers (3000 agents' calls, 6000 states). */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

#include "../src/replybatch.h"
#include "../src/util.h"

#define ROUNDS 50

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Appends to the growing body. */
static void put(char **body, size_t *len, size_t *cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void put(char **body, size_t *len, size_t *cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(*body + *len, *cap - *len, fmt, ap);
		va_end(ap);
		if ((size_t)n < *cap - *len)
			break;
		*cap *= 2;
		*body = xrealloc(*body, *cap);
	}
	*len += (size_t)n;
}

/* 0..3 calls per agent, as a busy contact center has them; answered in reverse order. */
static char *calls_answer(const uint32_t *ids, size_t n, size_t *len)
{
	size_t cap = 1 << 16;
	char *body = xmalloc(cap);

	*len = 0;
	put(&body, len, &cap, "{\"result\":\"0\",\"resultCode\":\"0100000\",\"resultDesc\":[");
	for (size_t i = 0; i < n; i++) {
		uint32_t id = ids[n - 1 - i];

		put(&body, len, &cap, "%s{\"agentId\":%u,\"callList\":[", i ? "," : "", id);
		for (uint32_t c = 0; c < id % 4; c++)
			put(&body, len, &cap, "%s{\"callId\":\"1605494261-%u%u\",\"callStatus\":%u,"
			    "\"callInOut\":%u,\"mediaType\":%s}", c ? "," : "", id, c, 4 + c,
			    id % 2, c == 2 ? "53,\"submediaType\":\"WhatsApp\"" : "5");
		put(&body, len, &cap, "]}");
	}
	put(&body, len, &cap, "]}");
	return body;
}

/* Huawei's state layout, every field present. */
static char *states_answer(const uint32_t *ids, size_t n, size_t *len)
{
	size_t cap = 1 << 16;
	char *body = xmalloc(cap);

	*len = 0;
	put(&body, len, &cap, "{\"result\":\"0\",\"resultCode\":\"0100000\",\"resultDesc\":[");
	for (size_t i = 0; i < n; i++)
		put(&body, len, &cap, "%s{\"prevState\":1,\"agentId\":%u,\"logonTime\":1605494261000,"
		    "\"agentRelease\":0,\"locationId\":65535,\"currentPrivateCallNum\":0,"
		    "\"currentStateTime\":%zu,\"currentStateReason\":258,\"prevStateTime\":4294967295,"
		    "\"currentState\":%zu}", i ? "," : "", ids[i], i, i % 11);
	put(&body, len, &cap, "]}");
	return body;
}

static void report(const char *what, double *t, size_t n, size_t len)
{
	qsort(t, ROUNDS, sizeof(t[0]), cmp_double);
	printf("%-28s %6zu agents %8zu bytes  median %7.2f ms  min %7.2f ms  %5.2f us/agent\n",
	       what, n, len, t[ROUNDS / 2] * 1e3, t[0] * 1e3, t[ROUNDS / 2] * 1e6 / (double)n);
}

/* json-c's tokener and tree alone: the floor under any parser built on it. */
static void measure_json(const char *what, const char *body, size_t len, size_t n)
{
	double t[ROUNDS];

	for (int r = 0; r < ROUNDS; r++) {
		double start = now();
		struct json_tokener *tok = json_tokener_new();
		struct json_object *root = json_tokener_parse_ex(tok, body, (int)len);

		json_object_put(root);
		json_tokener_free(tok);
		t[r] = now() - start;
	}
	report(what, t, n, len);
}

static void measure(const char *what, const char *body, size_t len, const uint32_t *ids, size_t n,
		    bool states)
{
	double t[ROUNDS];
	struct replybatch b;

	for (int r = 0; r < ROUNDS; r++) {
		double start = now();

		if (states)
			replybatch_parse_states(body, len, ids, n, &b);
		else
			replybatch_parse_calls(body, len, ids, n, &b);
		t[r] = now() - start;
		if (b.status != REPLY_OK || b.nentries != n) {
			fprintf(stderr, "%s: %s (%zu entries)\n", what, b.reason, b.nentries);
			exit(1);
		}
		replybatch_free(&b);
	}
	report(what, t, n, len);
}

int main(void)
{
	uint32_t *ids = xcalloc(REPLYBATCH_STATES_MAX, sizeof(*ids));
	size_t len;
	char *body;

	for (size_t i = 0; i < REPLYBATCH_STATES_MAX; i++)
		ids[i] = (uint32_t)(101 + i);
	body = calls_answer(ids, REPLYBATCH_CALLS_MAX, &len);
	measure("queryagentcalls", body, len, ids, REPLYBATCH_CALLS_MAX, false);
	measure_json("  json-c alone", body, len, REPLYBATCH_CALLS_MAX);
	free(body);
	body = states_answer(ids, REPLYBATCH_STATES_MAX, &len);
	measure("agentstatusinfobyagentids", body, len, ids, REPLYBATCH_STATES_MAX, true);
	measure_json("  json-c alone", body, len, REPLYBATCH_STATES_MAX);
	free(body);
	free(ids);
	return 0;
}
