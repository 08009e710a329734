/*
 * baseline: the naive reference for the CPU benchmark (bench/run.sh), not part of the daemon.
 *
 * A bare libcurl multi loop: N agents polled every INTERVAL seconds for DURATION seconds, each
 * request signed with the project's signer (src/sign.c) and sent exactly like src/cms.c sends it
 * (same URL, body, headers, TLS options, keep-alive, at most MAX_IN_FLIGHT at once); the answers
 * are read and thrown away, nothing is parsed. At the end it prints the polls done and the CPU
 * seconds this process used (getrusage) per 1,000 polls, as key=value pairs on one line.
 *
 * usage: baseline -u URL -k AK -s SECRET_FILE [-c CA_FILE] [-n AGENTS] [-i INTERVAL]
 *                 [-d DURATION] [-m MAX_IN_FLIGHT] [-f FIRST_ID] [--cc CC] [--vdn VDN]
 *
 * Agents are CC:VDN:FIRST_ID.. FIRST_ID+N-1 (defaults 1:1:101). Agent k is due at
 * start + k*INTERVAL/N + j*INTERVAL: an even spread, the best case for a fixed grid.
 */
#include "config.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <curl/curl.h>

#include "../src/sign.h"
#include "../src/util.h"

#define CMS_PATH "/rest/cmsapp/v1/openapi/agent/queryagentcalls"
#define LATE_BUCKETS 10000	/* milliseconds; the last one holds everything later */

struct slot {
	CURL *easy;
	struct curl_slist *headers;
	char body[80];
	bool busy;
};

static struct {
	const char *url;
	const char *app_key;
	const char *secret_file;
	const char *ca_file;
	long agents;
	double interval;
	double duration;
	long max_in_flight;
	long first_id;
	long cc;
	long vdn;
} opt = { .agents = 1000, .interval = 1.0, .duration = 60.0, .max_in_flight = 32,
	  .first_id = 101, .cc = 1, .vdn = 1 };

static char *full_url, *host, *host_header, *secret;
static size_t secret_len;
static uint64_t late_ms[LATE_BUCKETS], late_max_us, started;

static void usage(void)
{
	fputs("usage: baseline -u URL -k AK -s SECRET_FILE [-c CA_FILE] [-n AGENTS] [-i INTERVAL]\n"
	      "                [-d DURATION] [-m MAX_IN_FLIGHT] [-f FIRST_ID] [--cc CC] [--vdn VDN]\n",
	      stderr);
	exit(2);
}

static void parse_args(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "cc", required_argument, NULL, 'C' },
		{ "vdn", required_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "u:k:s:c:n:i:d:m:f:", longopts, NULL)) != -1) {
		switch (c) {
		case 'u': opt.url = optarg; break;
		case 'k': opt.app_key = optarg; break;
		case 's': opt.secret_file = optarg; break;
		case 'c': opt.ca_file = optarg; break;
		case 'n': opt.agents = strtol(optarg, NULL, 10); break;
		case 'i': opt.interval = strtod(optarg, NULL); break;
		case 'd': opt.duration = strtod(optarg, NULL); break;
		case 'm': opt.max_in_flight = strtol(optarg, NULL, 10); break;
		case 'f': opt.first_id = strtol(optarg, NULL, 10); break;
		case 'C': opt.cc = strtol(optarg, NULL, 10); break;
		case 'V': opt.vdn = strtol(optarg, NULL, 10); break;
		default: usage();
		}
	}
	if (!opt.url || !opt.app_key || !opt.secret_file || opt.agents < 1 || opt.interval <= 0 ||
	    opt.duration <= 0 || opt.max_in_flight < 1)
		usage();
}

/* "https://host:port" -> host "host:port" (the Host header and the signed host, as cms.c does). */
static void setup_target(void)
{
	const char *p = strstr(opt.url, "://");
	size_t len;

	p = p ? p + 3 : opt.url;
	len = strcspn(p, "/");
	host = xstrndup(p, len);
	host_header = xasprintf("Host: %s", host);
	full_url = xasprintf("%.*s%s", (int)(p + len - opt.url), opt.url, CMS_PATH);
	secret = util_read_file(opt.secret_file, 4096, &secret_len);
	if (!secret) {
		perror(opt.secret_file);
		exit(1);
	}
	while (secret_len > 0 && (secret[secret_len - 1] == '\n' || secret[secret_len - 1] == '\r'))
		secret[--secret_len] = '\0';
}

static size_t discard(char *data, size_t size, size_t nmemb, void *userdata)
{
	(void)data;
	(void)userdata;
	return size * nmemb;
}

static void slot_init(struct slot *s)
{
	CURL *e = curl_easy_init();

	if (!e) {
		fputs("baseline: curl_easy_init failed\n", stderr);
		exit(1);
	}
	/* The options src/cms.c sets, minus the ones that only serve its bookkeeping. */
	curl_easy_setopt(e, CURLOPT_URL, full_url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_1_1);
	curl_easy_setopt(e, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 5000L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(e, CURLOPT_PRIVATE, s);
	curl_easy_setopt(e, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (opt.ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, opt.ca_file);
	s->easy = e;
}

/* Sign and send one poll of agent k on a free slot. */
static void start_poll(CURLM *multi, struct slot *s, long k)
{
	char timestamp[UTIL_TIME_LEN], *authorization, *header;
	struct sign_request sr;
	size_t body_len;

	body_len = (size_t)snprintf(s->body, sizeof(s->body), "{\"ccId\":%ld,\"vdn\":%ld,\"agentId\":%ld}",
				    opt.cc, opt.vdn, opt.first_id + k);
	util_format_time(util_now_realtime_us(), timestamp);
	sr = (struct sign_request){
		.method = "POST", .path = CMS_PATH, .host = host, .body = s->body,
		.body_len = body_len, .app_key = opt.app_key, .secret = secret,
		.secret_len = secret_len, .timestamp = timestamp,
	};
	authorization = sign_authorization(&sr, NULL);
	header = xasprintf("Authorization: %s", authorization);
	curl_slist_free_all(s->headers);
	s->headers = NULL;
	s->headers = curl_slist_append(s->headers, host_header);
	s->headers = curl_slist_append(s->headers, "Content-Type: " SIGN_CONTENT_TYPE);
	s->headers = curl_slist_append(s->headers, header);
	s->headers = curl_slist_append(s->headers, "Accept: application/json");
	s->headers = curl_slist_append(s->headers, "Expect:");
	free(header);
	free(authorization);
	if (!s->headers) {
		fputs("baseline: out of memory\n", stderr);
		exit(1);
	}
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDS, s->body);
	curl_easy_setopt(s->easy, CURLOPT_POSTFIELDSIZE, (long)body_len);
	curl_easy_setopt(s->easy, CURLOPT_HTTPHEADER, s->headers);
	s->busy = true;
	curl_multi_add_handle(multi, s->easy);
}

static void record_late(uint64_t late_us)
{
	uint64_t ms = late_us / 1000;

	started++;
	late_ms[ms < LATE_BUCKETS ? ms : LATE_BUCKETS - 1]++;
	if (late_us > late_max_us)
		late_max_us = late_us;
}

static double late_quantile(double q)
{
	uint64_t want = (uint64_t)(q * (double)started + 0.999999), seen = 0;

	for (size_t ms = 0; ms < LATE_BUCKETS; ms++) {
		seen += late_ms[ms];
		if (seen >= want && seen > 0)
			return (double)ms;
	}
	return started ? LATE_BUCKETS - 1 : 0;
}

int main(int argc, char **argv)
{
	struct slot *slots;
	CURLM *multi;
	uint64_t t0, end, interval_us, done = 0, failed = 0, k_next = 0;
	long in_flight = 0;
	struct rusage ru;
	double cpu_user, cpu_sys;

	parse_args(argc, argv);
	setup_target();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	multi = curl_multi_init();
	curl_multi_setopt(multi, CURLMOPT_MAXCONNECTS, opt.max_in_flight);
	slots = xcalloc((size_t)opt.max_in_flight, sizeof(*slots));
	for (long i = 0; i < opt.max_in_flight; i++)
		slot_init(&slots[i]);

	interval_us = (uint64_t)(opt.interval * 1e6);
	t0 = util_now_monotonic_us();
	end = t0 + (uint64_t)(opt.duration * 1e6);
	for (;;) {
		uint64_t now = util_now_monotonic_us(), due;
		long wait_ms;
		int running, left;
		CURLMsg *msg;

		/* Poll number j (over all agents) is agent j % N in round j / N. */
		due = t0 + k_next / (uint64_t)opt.agents * interval_us +
		      k_next % (uint64_t)opt.agents * interval_us / (uint64_t)opt.agents;
		while (due <= now && due < end && in_flight < opt.max_in_flight) {
			struct slot *s = NULL;

			for (long i = 0; i < opt.max_in_flight && !s; i++)
				if (!slots[i].busy)
					s = &slots[i];
			record_late(now - due);
			start_poll(multi, s, (long)(k_next % (uint64_t)opt.agents));
			in_flight++;
			k_next++;
			due = t0 + k_next / (uint64_t)opt.agents * interval_us +
			      k_next % (uint64_t)opt.agents * interval_us / (uint64_t)opt.agents;
		}
		if (due >= end && in_flight == 0)
			break;
		curl_multi_perform(multi, &running);
		while ((msg = curl_multi_info_read(multi, &left))) {
			struct slot *s;
			long status = 0;

			if (msg->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&s);
			curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
			done++;
			if (msg->data.result != CURLE_OK || status != 200) {
				if (failed++ < 5)
					fprintf(stderr, "baseline: poll failed: %s, HTTP %ld\n",
						curl_easy_strerror(msg->data.result), status);
			}
			curl_multi_remove_handle(multi, s->easy);
			s->busy = false;
			in_flight--;
		}
		/* Sleep until the next poll is due (or a socket is ready); 1 ms resolution. */
		now = util_now_monotonic_us();
		if (in_flight >= opt.max_in_flight || due >= end)
			wait_ms = 1000;
		else
			wait_ms = due > now ? (long)((due - now + 999) / 1000) : 0;
		if (wait_ms > 0)
			curl_multi_poll(multi, NULL, 0, (int)wait_ms, NULL);
	}

	getrusage(RUSAGE_SELF, &ru);
	cpu_user = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6;
	cpu_sys = (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	printf("baseline polls_done=%llu polls_failed=%llu cpu_user_s=%.3f cpu_sys_s=%.3f "
	       "cpu_s_per_1000=%.4f late_p50_ms=%.0f late_p99_ms=%.0f late_max_ms=%.3f "
	       "maxrss_kib=%ld wall_s=%.3f\n",
	       (unsigned long long)done, (unsigned long long)failed, cpu_user, cpu_sys,
	       done ? (cpu_user + cpu_sys) * 1000.0 / (double)done : 0.0, late_quantile(0.50),
	       late_quantile(0.99), (double)late_max_us / 1000.0, ru.ru_maxrss,
	       (double)(util_now_monotonic_us() - t0) / 1e6);

	for (long i = 0; i < opt.max_in_flight; i++) {
		curl_multi_remove_handle(multi, slots[i].easy);
		curl_easy_cleanup(slots[i].easy);
		curl_slist_free_all(slots[i].headers);
	}
	free(slots);
	curl_multi_cleanup(multi);
	curl_global_cleanup();
	free(full_url);
	free(host);
	free(host_header);
	free(secret);
	return failed ? 1 : 0;
}
