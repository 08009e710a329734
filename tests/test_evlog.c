/* test_evlog: append and read back, crash recovery of a torn tail, ring overflow to disk, trim. */
#include "config.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/evlog.h"
#include "check.h"

static char dir[] = "/tmp/test_evlog.XXXXXX";

/* Reads every record from c on, checking they are "{"n":SEQ}" in order; returns how many. */
static unsigned read_all(struct evlog *log, struct evlog_cursor *c, uint64_t first)
{
	const char *json;
	size_t len;
	uint64_t seq, want = first;
	unsigned n = 0;

	while (evlog_peek(log, c, &json, &len, &seq) == 1) {
		char expect[64];

		snprintf(expect, sizeof(expect), "{\"n\":%llu}", (unsigned long long)seq);
		CHECK_INT(seq, want);
		CHECK_INT(len, strlen(expect));
		CHECK(strncmp(json, expect, len) == 0);
		evlog_advance(log, c, seq);
		want = seq + 1;
		n++;
	}
	return n;
}

static void append_n(struct evlog *log, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		char json[64];
		uint64_t next = evlog_next_seq(log);

		snprintf(json, sizeof(json), "{\"n\":%llu}", (unsigned long long)next);
		CHECK_INT(evlog_append(log, json, strlen(json)), next);
	}
}

static void test_memory_only(void)
{
	char err[256];
	struct evlog *log = evlog_open(NULL, err, sizeof(err));
	struct evlog_cursor c = evlog_end(log);
	const char *json;
	size_t len;
	uint64_t seq;

	CHECK_INT(evlog_peek(log, &c, &json, &len, &seq), 0);
	append_n(log, 10);
	CHECK_INT(read_all(log, &c, 1), 10);
	/* A reader left behind by more than the ring loses the oldest, and sees where it resumes. */
	append_n(log, EVLOG_RING_MEMORY + 5);
	CHECK_INT(evlog_peek(log, &c, &json, &len, &seq), 1);
	CHECK_INT(seq, 16);
	evlog_close(log);
}

static void test_disk_and_recovery(void)
{
	char err[256], path[512];
	struct evlog *log = evlog_open(dir, err, sizeof(err));
	struct evlog_cursor start = { .seq = 1 }, c;
	int fd;

	CHECK(log != NULL);
	append_n(log, EVLOG_RING_DISK + 100);
	/* Records older than the ring come back from the disk, in order. */
	c = start;
	CHECK_INT(read_all(log, &c, 1), EVLOG_RING_DISK + 100);
	evlog_sync(log);
	evlog_close(log);

	/* A crash in the middle of a write leaves a torn line: it is cut, numbering continues. */
	snprintf(path, sizeof(path), "%s/events-%020d.log", dir, 1);
	fd = open(path, O_WRONLY | O_APPEND);
	CHECK(fd >= 0 && write(fd, "16485 {\"n\":164", 14) == 14);
	close(fd);
	log = evlog_open(dir, err, sizeof(err));
	CHECK(log != NULL);
	CHECK_INT(evlog_next_seq(log), EVLOG_RING_DISK + 101);
	append_n(log, 3);
	c = start;
	CHECK_INT(read_all(log, &c, 1), EVLOG_RING_DISK + 103);
	/* A reader that resumes from a saved position reads only what follows it. */
	c = evlog_end(log);
	append_n(log, 2);
	CHECK_INT(read_all(log, &c, EVLOG_RING_DISK + 104), 2);
	evlog_close(log);
}

static unsigned count_segments(void)
{
	char cmd[600];
	FILE *p;
	unsigned n = 0;

	snprintf(cmd, sizeof(cmd), "ls %s | grep -c '^events-'", dir);
	p = popen(cmd, "r");
	if (p && fscanf(p, "%u", &n) != 1)
		n = 0;
	if (p)
		pclose(p);
	return n;
}

/* Past EVLOG_SEGMENT_MAX a new segment starts; trim drops the ones every reader is past. */
static void test_segments_and_trim(void)
{
	enum { PAD = 60000 };
	char err[256], cmd[600];
	char *big = malloc(PAD + 16);
	struct evlog *log;
	uint64_t second = 0;

	snprintf(cmd, sizeof(cmd), "rm -f %s/events-*", dir);
	CHECK(system(cmd) == 0);
	memset(big, 'x', PAD + 16);
	memcpy(big, "{\"pad\":\"", 8);
	memcpy(big + PAD + 8, "\"}", 2);
	log = evlog_open(dir, err, sizeof(err));
	CHECK(log != NULL);
	for (unsigned i = 0; i < EVLOG_SEGMENT_MAX / PAD + 2; i++)
		evlog_append(log, big, PAD + 10);
	CHECK_INT(count_segments(), 2);
	CHECK_INT(evlog_first_seq(log), 1);	/* nothing trimmed: a replay can start at event 1 */
	second = EVLOG_SEGMENT_MAX / PAD + 2;
	evlog_trim(log, second - 1);		/* a reader still needs the first segment */
	CHECK_INT(count_segments(), 2);
	evlog_trim(log, second + 1);
	CHECK_INT(count_segments(), 1);
	CHECK(evlog_first_seq(log) > 1 && evlog_first_seq(log) <= second + 1);
	evlog_trim(log, 1000000);		/* the active segment always stays */
	CHECK_INT(count_segments(), 1);
	evlog_close(log);
	/* Numbering continues from the remaining segment after a restart. */
	log = evlog_open(dir, err, sizeof(err));
	CHECK_INT(evlog_next_seq(log), EVLOG_SEGMENT_MAX / PAD + 3);
	evlog_close(log);
	free(big);
}

int main(void)
{
	char cmd[600];

	CHECK(mkdtemp(dir) != NULL);
	test_memory_only();
	test_disk_and_recovery();
	test_segments_and_trim();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	return check_done("test_evlog");
}
