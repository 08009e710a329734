/* test_output: events on stdout through a pipe whose reader lags: every byte arrives, once, in order. */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/output.h"
#include "check.h"

#define LINES 12000
#define STALLED 2000	/* lines emitted before the reader reads at all */

static char *want, *got;
static size_t want_len, got_len;

/* Line i: a JSON object of 40 to 2,000 bytes whose text says which line it is. */
static void make_line(size_t i, char *buf, size_t size)
{
	size_t pad = 30 + (i * 7919) % 1960;
	int n = snprintf(buf, size, "{\"line\":%zu,\"pad\":\"", i);

	memset(buf + n, 'a' + (char)(i % 26), pad);
	snprintf(buf + n + pad, size - (size_t)n - pad, "\"}");
}

/* Reads up to max bytes the pipe holds (it is non-blocking). */
static void take(int fd, size_t max)
{
	while (max > 0) {
		ssize_t n = read(fd, got + got_len, max);

		if (n <= 0)
			return;
		got_len += (size_t)n;
		max -= (size_t)n;
	}
}

/*
 * The reader takes nothing while STALLED lines go out (they are buffered: 2 MB), then as much as
 * one line a line, so the buffer stays as full while its unwritten part moves towards its end,
 * is moved back to the front and moves on again, then everything.
 */
static void test_lagging_reader(void)
{
	struct cfg_outputs cfg = { .to_stdout = true };
	struct output_stats stats;
	struct cfg_agent agent = { .cc = 1, .vdn = 170, .id = 1099 };
	struct event ev = { .type = EVENT_CALL_STARTED, .agent = &agent, .call_id = "c-1" };
	struct output *out;
	sd_event *loop;
	int p[2], saved = dup(STDOUT_FILENO);
	char line[2100];

	CHECK(pipe2(p, O_CLOEXEC) == 0);
	fcntl(p[1], F_SETPIPE_SZ, 4096);
	CHECK(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0);
	CHECK(dup2(p[1], STDOUT_FILENO) == STDOUT_FILENO);
	close(p[1]);
	CHECK(sd_event_new(&loop) >= 0);
	out = output_new(loop, &cfg);
	want = malloc((size_t)LINES * 2100);
	got = malloc((size_t)LINES * 2100);
	for (size_t i = 0; i < LINES; i++) {
		size_t len;

		make_line(i, line, sizeof(line));
		len = strlen(line);
		output_emit(out, &ev, line);
		memcpy(want + want_len, line, len);
		want[want_len + len] = '\n';
		want_len += len + 1;
		if (i >= STALLED)
			take(p[0], len + 1);
		sd_event_run(loop, 0);
	}
	for (int i = 0; i < 100000 && got_len < want_len; i++) {
		take(p[0], 65536);
		sd_event_run(loop, 0);
	}
	output_get_stats(out, &stats);
	CHECK_INT(stats.stdout_dropped, 0);
	CHECK_INT(got_len, want_len);
	CHECK(memcmp(got, want, want_len < got_len ? want_len : got_len) == 0);
	output_free(out);
	sd_event_unref(loop);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(p[0]);
	free(want);
	free(got);
}

int main(void)
{
	test_lagging_reader();
	return check_done("test_output");
}
