/* bench/replybatch: the batch parsers' time per answer and per entry, and json-c's tree of the same body. */
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

/* Each answer is parsed this many times over, at least MIN_ROUNDS: the median is printed. */
#define ENTRY_ROUNDS 100000
#define MIN_ROUNDS 15

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

/* The i-th agent of the answer: the request's order reversed, as no CMS is known to keep it. */
static uint32_t agent_at(const uint32_t *ids, size_t n, size_t i)
{
	return ids[n - 1 - i];
}

/* 0 to 3 calls per agent (busy), or none (quiet); every third call has a submediaType. */
static void calls_list(char **body, size_t *len, size_t *cap, const uint32_t *ids, size_t n,
		       bool busy)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t id = agent_at(ids, n, i);

		put(body, len, cap, "%s{\"agentId\":%u,\"callList\":[", i ? "," : "", id);
		for (uint32_t c = 0; busy && c < id % 4; c++)
			put(body, len, cap, "%s{\"callId\":\"1605494261-%u%u\",\"callStatus\":%u,"
			    "\"callInOut\":%u,\"mediaType\":%s}", c ? "," : "", id, c, 4 + c,
			    id % 2, c == 2 ? "53,\"submediaType\":\"WhatsApp\"" : "5");
		put(body, len, cap, "]}");
	}
}

/* Huawei's state layout, every field present. */
static void states_list(char **body, size_t *len, size_t *cap, const uint32_t *ids, size_t n,
			bool busy)
{
	(void)busy;
	for (size_t i = 0; i < n; i++)
		put(body, len, cap, "%s{\"prevState\":1,\"agentId\":%u,\"logonTime\":1605494261000,"
		    "\"agentRelease\":0,\"locationId\":65535,\"currentPrivateCallNum\":0,"
		    "\"currentStateTime\":%zu,\"currentStateReason\":258,\"prevStateTime\":4294967295,"
		    "\"currentState\":%zu}", i ? "," : "", agent_at(ids, n, i), i, i % 11);
}

/* The envelope as Huawei's sample and tests/cmsbatch.py have it: resultDatas, then resultDesc. */
static char *answer(void (*list)(char **, size_t *, size_t *, const uint32_t *, size_t, bool),
		    const uint32_t *ids, size_t n, bool busy, size_t *len)
{
	size_t cap = 1 << 16;
	char *body = xmalloc(cap);

	*len = 0;
	put(&body, len, &cap, "{\"result\":\"0\",\"resultCode\":\"0100000\",\"resultDatas\":[");
	list(&body, len, &cap, ids, n, busy);
	put(&body, len, &cap, "],\"resultDesc\":[");
	list(&body, len, &cap, ids, n, busy);
	put(&body, len, &cap, "]}");
	return body;
}

/* The median of t[0..rounds), sorted in place. */
static double median(double *t, int rounds)
{
	qsort(t, (size_t)rounds, sizeof(t[0]), cmp_double);
	return t[rounds / 2];
}

/* json-c's tokener and tree of the same body, and its release: what the parser cost before yajl. */
static double time_json_c(const char *body, size_t len, int rounds, double *t)
{
	for (int r = 0; r < rounds; r++) {
		double start = now();
		struct json_tokener *tok = json_tokener_new();
		struct json_object *root = json_tokener_parse_ex(tok, body, (int)len);

		json_object_put(root);
		json_tokener_free(tok);
		t[r] = now() - start;
	}
	return median(t, rounds);
}

static double time_replybatch(const char *what, const char *body, size_t len, const uint32_t *ids,
			      size_t n, bool states, int rounds, double *t)
{
	struct replybatch b;

	for (int r = 0; r < rounds; r++) {
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
	return median(t, rounds);
}

static void measure(const char *what, const uint32_t *ids, size_t n, bool states, bool busy)
{
	int rounds = (int)(ENTRY_ROUNDS / n) > MIN_ROUNDS ? (int)(ENTRY_ROUNDS / n) : MIN_ROUNDS;
	double *t = xcalloc((size_t)rounds, sizeof(*t)), ours, theirs;
	size_t len;
	char *body = answer(states ? states_list : calls_list, ids, n, busy, &len);

	ours = time_replybatch(what, body, len, ids, n, states, rounds, t);
	theirs = time_json_c(body, len, rounds, t);
	printf("%-26s %5zu %9zu  %5d  %8.3f ms %7.0f ns  %8.3f ms %7.0f ns  %5.1fx\n", what, n, len,
	       rounds, ours * 1e3, ours * 1e9 / (double)n, theirs * 1e3, theirs * 1e9 / (double)n,
	       theirs / ours);
	free(body);
	free(t);
}

int main(void)
{
	uint32_t *ids = xcalloc(REPLYBATCH_STATES_MAX, sizeof(*ids));

	for (size_t i = 0; i < REPLYBATCH_STATES_MAX; i++)
		ids[i] = (uint32_t)(101 + i);
	printf("%-26s %5s %9s  %5s  %-22s  %-22s  %s\n", "answer (medians)", "agents", "bytes", "runs",
	       "replybatch: answer, entry", "json-c tree: answer, entry", "ratio");
	measure("queryagentcalls, quiet", ids, 1000, false, false);
	measure("queryagentcalls, busy", ids, 1000, false, true);
	measure("agentstatusinfobyagentids", ids, 1000, true, false);
	measure("queryagentcalls, busy", ids, REPLYBATCH_CALLS_MAX, false, true);
	measure("agentstatusinfobyagentids", ids, REPLYBATCH_STATES_MAX, true, false);
	free(ids);
	return 0;
}
