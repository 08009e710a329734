/* test_evlog: append and read back, crash recovery of a torn tail, ring overflow to disk, trim. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../src/evlog.h"
#include "../src/writer.h"
#include "check.h"

static char dir[] = "/tmp/test_evlog.XXXXXX";

/*
 * Seams: the disk calls evlog makes, defined here so that they win over the C library's, counted
 * per file of dir and made to fail on demand. The real work goes straight to the system call.
 */
static int fail_sync;		/* errno for the next fdatasync of a file in dir, once */
static int fail_write;		/* errno for every write to a file in dir while set */
static unsigned dir_fsyncs, reader_opens, nsynced;
static char synced[16][512];	/* the files fdatasync'd, in order (the last 16) */

/* The path behind fd when it is in dir. */
static bool ours(int fd, char *path, size_t len)
{
	char link[64];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, len - 1);
	if (n < 0)
		return false;
	path[n] = '\0';
	return strncmp(path, dir, strlen(dir)) == 0;
}

int fdatasync(int fd)
{
	char path[512];

	if (ours(fd, path, sizeof(path))) {
		snprintf(synced[nsynced++ % 16], sizeof(synced[0]), "%s", path);
		if (fail_sync) {
			errno = fail_sync;
			fail_sync = 0;
			return -1;
		}
	}
	return (int)syscall(SYS_fdatasync, fd);
}

int fsync(int fd)
{
	char path[512];

	if (ours(fd, path, sizeof(path)) && strcmp(path, dir) == 0)
		dir_fsyncs++;
	return (int)syscall(SYS_fsync, fd);
}

ssize_t write(int fd, const void *buf, size_t n)
{
	char path[512];

	if (fail_write && ours(fd, path, sizeof(path))) {
		errno = fail_write;
		return -1;
	}
	return syscall(SYS_write, fd, buf, n);
}

int open(const char *path, int flags, ...)
{
	va_list ap;
	int mode = 0;

	if (flags & O_CREAT) {
		va_start(ap, flags);
		mode = va_arg(ap, int);
		va_end(ap);
	}
	if ((flags & O_ACCMODE) == O_RDONLY && strstr(path, "/events-"))
		reader_opens++;
	return (int)syscall(SYS_openat, AT_FDCWD, path, flags, mode);
}

static bool was_synced(const char *path)
{
	for (unsigned i = 0; i < nsynced && i < 16; i++)
		if (strcmp(synced[i], path) == 0)
			return true;
	return false;
}

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
		CHECK(json[len] == '\0');	/* callers hand it to json-c as a string */
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
	nsynced = 0;
	for (unsigned i = 0; i < EVLOG_SEGMENT_MAX / PAD + 2; i++)
		evlog_append(log, big, PAD + 10);
	CHECK_INT(count_segments(), 2);
	/* The full segment is synced as it is closed, not left for a sync that never comes. */
	snprintf(cmd, sizeof(cmd), "%s/events-%020d.log", dir, 1);
	CHECK(was_synced(cmd));
	/* The new segment's name is made durable by the next sync of the directory. */
	dir_fsyncs = 0;
	evlog_sync(log);
	CHECK_INT(dir_fsyncs, 1);
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

static struct evlog *fresh_log(void)
{
	char err[256], cmd[600];
	struct evlog *log;

	snprintf(cmd, sizeof(cmd), "rm -f %s/events-* %s/*.tmp", dir, dir);
	CHECK(system(cmd) == 0);
	log = evlog_open(dir, err, sizeof(err));
	CHECK(log != NULL);
	return log;
}

/*
 * The one-second sync: the segment and, once after it was created, the directory. A failed
 * fdatasync leaves the records unsynced (the kernel may report the next one clean): counted, and
 * synced again on the next turn even with nothing new written.
 */
static void test_sync_failure(void)
{
	struct evlog *log = fresh_log();
	struct evlog_stats st;
	unsigned before;

	append_n(log, 3);
	nsynced = 0;
	dir_fsyncs = 0;
	evlog_sync(log);
	CHECK_INT(nsynced, 1);
	CHECK_INT(dir_fsyncs, 1);
	evlog_sync(log);		/* nothing new: nothing to do */
	CHECK_INT(nsynced, 1);
	CHECK_INT(dir_fsyncs, 1);

	append_n(log, 1);
	fail_sync = EIO;
	evlog_sync(log);
	evlog_get_stats(log, &st);
	CHECK_INT(st.sync_failures, 1);
	CHECK_INT(st.syncs, 1);
	before = nsynced;
	evlog_sync(log);
	CHECK_INT(nsynced, before + 1);
	evlog_get_stats(log, &st);
	CHECK_INT(st.sync_failures, 1);
	CHECK_INT(st.syncs, 2);
	evlog_close(log);
}

/* An empty last segment (created, then its first record refused) never numbers backwards. */
static void test_next_seq_never_backwards(void)
{
	char err[256], path[600];
	struct evlog *log = fresh_log();
	int fd;

	append_n(log, 5);
	evlog_close(log);
	snprintf(path, sizeof(path), "%s/events-%020d.log", dir, 3);
	fd = open(path, O_WRONLY | O_CREAT, 0600);
	CHECK(fd >= 0);
	close(fd);
	log = evlog_open(dir, err, sizeof(err));
	CHECK_INT(evlog_next_seq(log), 6);
	/* A state file saved at 99 says the log reached it: numbering goes on from 100. */
	evlog_raise(log, 100);
	append_n(log, 1);
	evlog_close(log);
	log = evlog_open(dir, err, sizeof(err));
	CHECK_INT(evlog_next_seq(log), 101);
	evlog_close(log);
}

/*
 * A disk that refuses writes: records are held in memory, readable in order, and written out in
 * order once it takes them again, into the same segment (no new, empty file per try).
 */
static void test_held_records(void)
{
	char err[256];
	struct evlog *log = fresh_log();
	struct evlog_cursor c = { .seq = 1 };
	struct evlog_stats st;

	append_n(log, 3);
	fail_write = ENOSPC;
	append_n(log, 5);
	for (int i = 0; i < 3; i++)
		evlog_sync(log);
	evlog_get_stats(log, &st);
	CHECK_INT(st.held, 5);
	CHECK_INT(st.write_failures, 5);
	CHECK_INT(read_all(log, &c, 1), 8);
	CHECK_INT(count_segments(), 1);
	fail_write = 0;
	evlog_sync(log);
	evlog_get_stats(log, &st);
	CHECK_INT(st.held, 0);
	evlog_close(log);
	log = evlog_open(dir, err, sizeof(err));
	CHECK_INT(evlog_next_seq(log), 9);
	c = (struct evlog_cursor){ .seq = 1 };
	CHECK_INT(read_all(log, &c, 1), 8);
	CHECK_INT(count_segments(), 1);
	evlog_close(log);
}

/* A reader far behind the ring keeps its segment open and reads it through a window. */
static void test_reader_keeps_fd(void)
{
	char err[256];
	struct evlog *log = fresh_log();
	struct evlog_cursor c = { .seq = 1 };

	append_n(log, EVLOG_RING_DISK + 500);
	evlog_close(log);
	log = evlog_open(dir, err, sizeof(err));
	reader_opens = 0;
	CHECK_INT(read_all(log, &c, 1), EVLOG_RING_DISK + 500);
	CHECK(reader_opens <= 2);
	evlog_close(log);
}

static int slow_work(void *arg)
{
	(void)arg;
	usleep(200000);
	return 0;
}

static int no_work(void *arg)
{
	(void)arg;
	return 0;
}

static void no_done(void *arg, int err)
{
	(void)arg;
	(void)err;
}

/*
 * A job the full queue runs at once still comes after those queued before it: a receiver's
 * cursor removed while the disk is far behind is not written back by a save queued before.
 */
static void test_writer_full_keeps_order(void)
{
	sd_event *event = NULL;
	struct writer *w;
	char path[600];
	unsigned queued = 0;

	CHECK(sd_event_new(&event) >= 0);
	w = writer_new(event);
	CHECK(w != NULL);
	snprintf(path, sizeof(path), "%s/webhook-full.cursor", dir);
	CHECK(writer_submit(w, slow_work, no_done, NULL));
	writer_save_file(w, path, "{}", 2, false);
	while (queued < WRITER_QUEUE_MAX && writer_submit(w, no_work, no_done, NULL))
		queued++;
	CHECK_INT(queued, WRITER_QUEUE_MAX - 2);
	writer_remove_file(w, path);
	writer_flush(w);
	CHECK(access(path, F_OK) < 0 && errno == ENOENT);
	writer_free(w);
	sd_event_unref(event);
}

/* The contents of path, "" when it cannot be read. */
static const char *contents(const char *path)
{
	static char buf[256];
	FILE *f = fopen(path, "r");
	size_t n = f ? fread(buf, 1, sizeof(buf) - 1, f) : 0;

	if (f)
		fclose(f);
	buf[n] = '\0';
	return buf;
}

/*
 * An append the disk refuses (a dead letter on a full state_dir) is kept and written once the
 * disk takes writes again, before the appends that came after it: it is not lost.
 */
static void test_writer_append_held(void)
{
	sd_event *event = NULL;
	struct writer *w;
	char path[600], other[600];

	CHECK(sd_event_new(&event) >= 0);
	w = writer_new(event);
	snprintf(path, sizeof(path), "%s/deadletter.jsonl", dir);
	snprintf(other, sizeof(other), "%s/webhook-held.cursor", dir);
	CHECK(mkdir(path, 0700) == 0);		/* appends to it fail */
	writer_append_file(w, path, "a\n", 2);
	writer_flush(w);
	CHECK(rmdir(path) == 0);
	writer_append_file(w, path, "b\n", 2);
	writer_flush(w);
	CHECK_STR(contents(path), "a\nb\n");

	/* With no append after it, the next write that succeeds brings it out. */
	CHECK(unlink(path) == 0 && mkdir(path, 0700) == 0);
	writer_append_file(w, path, "c\n", 2);
	writer_flush(w);
	CHECK(rmdir(path) == 0);
	writer_save_file(w, other, "{}", 2, false);
	writer_flush(w);
	writer_flush(w);
	CHECK_STR(contents(path), "c\n");
	writer_free(w);
	sd_event_unref(event);
}

int main(void)
{
	char cmd[600];

	CHECK(mkdtemp(dir) != NULL);
	test_memory_only();
	test_disk_and_recovery();
	test_segments_and_trim();
	test_sync_failure();
	test_next_seq_never_backwards();
	test_held_records();
	test_reader_keeps_fd();
	test_writer_full_keeps_order();
	test_writer_append_held();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	return check_done("test_evlog");
}
