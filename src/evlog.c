/* evlog: the numbered log of every event, in a bounded memory ring and, with state_dir, on disk. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diskfail.h"
#include "evlog.h"
#include "evlog_impl.h"
#include "log.h"
#include "util.h"
#include "writer.h"

#define RETRY_PAUSE_US 1000000u	/* between tries to write what the disk refused */
#define RESERVE_BYTES (1u << 20)	/* preallocated ahead, so a full disk still takes that much */
#define TAIL_MAX (1u << 20)		/* bytes read back from a segment's end to find its last seq */

char *evlog_segment_path(const struct evlog *log, uint64_t first)
{
	return xasprintf("%s/events-%020" PRIu64 ".log", log->dir, first);
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static void list_segments(struct evlog *log)
{
	DIR *d = opendir(log->dir);
	struct dirent *e;

	log->nsegments = 0;
	if (!d)
		return;
	while ((e = readdir(d))) {
		uint64_t first;
		char tail;

		if (sscanf(e->d_name, "events-%20" SCNu64 ".lo%c", &first, &tail) == 2 && tail == 'g' &&
		    strlen(e->d_name) == 31) {
			log->segments = xreallocarray(log->segments, log->nsegments + 1, sizeof(uint64_t));
			log->segments[log->nsegments++] = first;
		}
	}
	closedir(d);
	if (log->nsegments)
		qsort(log->segments, log->nsegments, sizeof(uint64_t), compare_u64);
}

/* The seq of the last complete line in buf[0, end), or 0. */
static uint64_t last_seq(const char *buf, size_t end)
{
	size_t start = end > 0 ? end - 1 : 0;
	uint64_t seq;

	while (start > 0 && buf[start - 1] != '\n')
		start--;
	return end > 0 && evlog_parse_seq(buf + start, end - start, &seq) ? seq : 0;
}

/* A crash can leave a torn last line: cut the segment after its last complete record. */
static void recover_tail(struct evlog *log, int fd, uint64_t first)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t end;
	uint64_t seq;

	if (log->next_seq < first)
		log->next_seq = first;
	if (fstat(fd, &st) < 0 || st.st_size == 0)
		return;
	buf = xmalloc((size_t)st.st_size);
	n = pread(fd, buf, (size_t)st.st_size, 0);
	if (n != (ssize_t)st.st_size) {
		/* Unreadable is not torn: keep every byte and start a new segment after it. */
		log_warn("%s: cannot read segment %" PRIu64 " back: %s", log->dir, first,
			 n < 0 ? strerror(errno) : "short read");
		free(buf);
		return;
	}
	end = (size_t)n;
	while (end > 0 && buf[end - 1] != '\n')
		end--;
	if (end < (size_t)st.st_size) {
		log_warn("%s: cutting a torn record of %zu bytes at the end of segment %" PRIu64,
			 log->dir, (size_t)st.st_size - end, first);
		if (ftruncate(fd, (off_t)end) < 0)
			log_warn("%s: %s", log->dir, strerror(errno));
	}
	log->active_size = end;
	if ((seq = last_seq(buf, end)) >= log->next_seq)
		log->next_seq = seq + 1;
	free(buf);
}

/* The last seq held by an earlier segment (read from its tail), or 0. */
static uint64_t segment_last_seq(const struct evlog *log, uint64_t first)
{
	char *path = evlog_segment_path(log, first);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	uint64_t seq = 0;

	free(path);
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) == 0 && st.st_size > 0) {
		size_t len = st.st_size > TAIL_MAX ? TAIL_MAX : (size_t)st.st_size;
		char *buf = xmalloc(len);
		ssize_t n = pread(fd, buf, len, st.st_size - (off_t)len);

		if (n > 0)
			seq = last_seq(buf, (size_t)n);
		free(buf);
	}
	close(fd);
	return seq;
}

static int open_segment(struct evlog *log, uint64_t first, bool recover)
{
	char *path = evlog_segment_path(log, first);
	/* Read-write: recovery reads the tail back before appending. */
	int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	free(path);
	if (fd < 0)
		return -1;
	log->fd = fd;
	log->active = first;
	log->active_size = 0;
	log->reserved_end = 0;
	if (recover)
		recover_tail(log, fd, first);
	else
		log->dir_dirty = true;
	return 0;
}

static void add_segment(struct evlog *log, uint64_t first)
{
	if (log->nsegments && log->segments[log->nsegments - 1] == first)
		return;
	log->segments = xreallocarray(log->segments, log->nsegments + 1, sizeof(uint64_t));
	log->segments[log->nsegments++] = first;
}

/* Opens (or re-opens after a failure) the active segment: the last one, or a first one. */
static int open_disk(struct evlog *log)
{
	if (mkdir(log->dir, 0700) < 0 && errno != EEXIST)
		return -1;
	list_segments(log);
	/*
	 * The last segment can be empty (created, then the disk refused its first record): then the
	 * numbering goes on from the newest record of the segments before it, never backwards.
	 */
	for (size_t i = log->nsegments; i-- > 1;) {
		uint64_t seq = segment_last_seq(log, log->segments[i - 1]);

		if (seq) {
			log->next_seq = seq + 1;
			break;
		}
	}
	if (log->nsegments)
		return open_segment(log, log->segments[log->nsegments - 1], true);
	if (open_segment(log, log->next_seq, false) < 0)
		return -1;
	add_segment(log, log->next_seq);
	return 0;
}

struct evlog *evlog_open(const char *dir, char *err, size_t errlen)
{
	struct evlog *log = xcalloc(1, sizeof(*log));

	log->fd = -1;
	log->rd.rfd = -1;
	log->next_seq = 1;
	log->ring_first = 1;
	log->ring_size = dir ? EVLOG_RING_DISK : EVLOG_RING_MEMORY;
	log->ring = xcalloc(log->ring_size, sizeof(log->ring[0]));
	if (dir) {
		log->dir = xstrdup(dir);
		log->fail_name = xasprintf("%s/events-*.log", dir);
		if (open_disk(log) < 0) {
			snprintf(err, errlen, "%s: %s", dir, strerror(errno));
			evlog_close(log);
			return NULL;
		}
		log->ring_first = log->next_seq;
	}
	return log;
}

/* ---- syncing, on the writer thread when there is one ---- */

/* What a sync job may touch: its own copy of the fd and of the directory's path. */
struct sync_job {
	struct evlog *log;		/* for the completion only, on the loop thread */
	int fd;				/* closed by the job; -1: none */
	char *dir;			/* fsync'd too when not NULL */
};

static int sync_work(void *arg)
{
	struct sync_job *j = arg;
	int err = 0, dfd;

	if (j->fd >= 0 && fdatasync(j->fd) < 0)
		err = errno;
	if (j->fd >= 0)
		close(j->fd);
	if (j->dir) {
		dfd = open(j->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if ((dfd < 0 || fsync(dfd) < 0) && !err)
			err = errno;
		if (dfd >= 0)
			close(dfd);
	}
	return err;
}

/*
 * After a failed fdatasync the kernel may have dropped the pages and report the next one clean:
 * the records stay unsynced, so the failure is counted and logged, and the next turn tries again.
 */
static void sync_done(void *arg, int err)
{
	struct sync_job *j = arg;
	struct evlog *log = j->log;

	log->syncs_in_flight--;
	if (err) {
		log->dirty = true;
		log->dir_dirty |= j->dir != NULL;
		log->stats.sync_failures++;
		diskfail_failed(log->fail_name, err);
	} else {
		log->stats.syncs++;
		if (log->held_n == 0)
			diskfail_ok(log->fail_name);
	}
	free(j->dir);
	free(j);
}

/* Hands fd (closed once synced) and, with dir, the directory to the writer; at once when full. */
static void submit_sync(struct evlog *log, int fd, bool dir)
{
	struct sync_job *j = xmalloc(sizeof(*j));

	*j = (struct sync_job){ log, fd, dir ? xstrdup(log->dir) : NULL };
	log->syncs_in_flight++;
	if (!writer_submit(log->writer, sync_work, sync_done, j))
		sync_done(j, sync_work(j));
}

void evlog_set_writer(struct evlog *log, struct writer *w)
{
	log->writer = w;
}

struct writer *evlog_writer(const struct evlog *log)
{
	return log->writer;
}

/* ---- writing ---- */

static void free_held(struct evlog *log)
{
	for (size_t i = 0; i < log->held_n; i++)
		free(log->held[(log->held_head + i) % log->held_cap].json);
	free(log->held);
}

void evlog_close(struct evlog *log)
{
	if (!log)
		return;
	evlog_sync(log);
	/* The completions of this log's jobs must run while it still exists. */
	writer_flush(log->writer);
	if (log->held_n)
		log_err("%s: %zu events could not be written and are lost", log->dir, log->held_n);
	if (log->fd >= 0)
		close(log->fd);
	if (log->rd.rfd >= 0)
		close(log->rd.rfd);
	for (size_t i = 0; i < log->ring_size; i++)
		free(log->ring[i].json);
	free_held(log);
	free(log->ring);
	free(log->segments);
	free(log->rd.rbuf);
	free(log->rd.lbuf);
	free(log->fail_name);
	free(log->dir);
	free(log);
}

/*
 * Starts a new segment file whose first record is first: when one is full, or after a failure.
 * The old one is synced before it is closed, so rotation never leaves a second unsynced.
 */
static void start_segment(struct evlog *log, uint64_t first)
{
	if (log->fd >= 0) {
		bool dirty = log->dirty;

		log->dirty = false;
		if (dirty)
			submit_sync(log, log->fd, false);
		else
			close(log->fd);
	}
	log->fd = -1;
	if (open_segment(log, first, false) == 0)
		add_segment(log, first);
}

/*
 * Keeps up to RESERVE_BYTES preallocated past the end (a sixteenth on a disk too small for it),
 * so that a disk that fills still takes that much of the log before records are held in memory.
 */
static void reserve(struct evlog *log)
{
	off_t at = (off_t)log->active_size;

	if (log->active_size + RESERVE_BYTES / 32 < log->reserved_end)
		return;
	if (fallocate(log->fd, FALLOC_FL_KEEP_SIZE, at, RESERVE_BYTES) == 0)
		log->reserved_end = log->active_size + RESERVE_BYTES;
	else if (fallocate(log->fd, FALLOC_FL_KEEP_SIZE, at, RESERVE_BYTES / 16) == 0)
		log->reserved_end = log->active_size + RESERVE_BYTES / 16;
	else	/* Not supported, or the disk is full: try again a little later. */
		log->reserved_end = log->active_size + RESERVE_BYTES / 16;
}

/*
 * One write(2) per record, so a crash tears at most the last line, which recovery cuts. A record
 * the disk refuses is cut back off, and the segment stays open to take it later: a full disk
 * creates no new file per try. Returns 0, or an errno.
 */
static int write_record(struct evlog *log, uint64_t seq, const char *json, size_t len)
{
	struct record *r = &log->ring[seq % log->ring_size];
	char *line;
	size_t n;
	ssize_t w;
	int err;

	if (log->fd >= 0 && log->active_size >= EVLOG_SEGMENT_MAX)
		start_segment(log, seq);
	if (log->fd < 0)
		start_segment(log, seq);
	if (log->fd < 0)
		return errno;
	line = xasprintf("%" PRIu64 " %.*s\n", seq, (int)len, json);
	n = strlen(line);
	w = write(log->fd, line, n);
	err = w < 0 ? errno : ENOSPC;
	free(line);
	if (w == (ssize_t)n) {
		log->active_size += n;
		log->dirty = true;
		if (evlog_in_ring(log, seq) && r->seq == seq) {
			r->on_disk = true;
			r->segment = log->active;
			r->next_offset = log->active_size;
		}
		reserve(log);
		return 0;
	}
	if (ftruncate(log->fd, (off_t)log->active_size) < 0) {
		/* A torn line may remain: the next try starts a new segment, recovery cuts it. */
		close(log->fd);
		log->fd = -1;
	}
	return err;
}

static void hold(struct evlog *log, uint64_t seq, const char *json, size_t len)
{
	struct record *h;

	/* Past the bound, the oldest held records are lost: counted, and logged once per episode. */
	if (log->held_n && log->held_bytes + len > EVLOG_HELD_MAX && !log->dropping) {
		log_err("%s: more than %u MiB of events wait for the disk: the oldest are dropped",
			log->dir, EVLOG_HELD_MAX >> 20);
		log->dropping = true;
	}
	while (log->held_n && log->held_bytes + len > EVLOG_HELD_MAX) {
		h = &log->held[log->held_head];
		log->held_bytes -= h->len;
		free(h->json);
		log->held_head = (log->held_head + 1) % log->held_cap;
		log->held_n--;
		log->stats.lost++;
	}
	if (log->held_n == log->held_cap) {
		size_t cap = log->held_cap ? 2 * log->held_cap : 64;
		struct record *v = xcalloc(cap, sizeof(*v));

		for (size_t i = 0; i < log->held_n; i++)
			v[i] = log->held[(log->held_head + i) % log->held_cap];
		free(log->held);
		log->held = v;
		log->held_cap = cap;
		log->held_head = 0;
	}
	h = &log->held[(log->held_head + log->held_n) % log->held_cap];
	*h = (struct record){ .seq = seq, .json = xstrndup(json, len), .len = len };
	log->held_n++;
	log->held_bytes += len;
}

/* Writes the held records out, oldest first, until the disk refuses one again. */
static void write_held(struct evlog *log)
{
	int err = 0;

	log->retry_after_us = util_now_monotonic_us() + RETRY_PAUSE_US;
	while (log->held_n) {
		struct record *h = &log->held[log->held_head];

		if ((err = write_record(log, h->seq, h->json, h->len)))
			break;
		log->held_bytes -= h->len;
		free(h->json);
		log->held_head = (log->held_head + 1) % log->held_cap;
		log->held_n--;
	}
	if (err) {
		diskfail_failed(log->fail_name, err);
	} else {
		diskfail_ok(log->fail_name);
		log->dropping = false;
	}
}

uint64_t evlog_append(struct evlog *log, const char *json, size_t len)
{
	struct record *r = &log->ring[log->next_seq % log->ring_size];
	int err;

	free(r->json);
	*r = (struct record){ .seq = log->next_seq, .json = xstrndup(json, len), .len = len };
	if (log->next_seq - log->ring_first >= log->ring_size)
		log->ring_first++;
	log->next_seq++;
	log->stats.appended++;
	if (!log->dir)
		return r->seq;
	if (log->held_n) {
		/* Behind records the disk refused: in order after them. */
		hold(log, r->seq, json, len);
		log->stats.write_failures++;
		if (util_now_monotonic_us() >= log->retry_after_us)
			write_held(log);
	} else if ((err = write_record(log, r->seq, json, len))) {
		hold(log, r->seq, json, len);
		log->stats.write_failures++;
		log->retry_after_us = util_now_monotonic_us() + RETRY_PAUSE_US;
		diskfail_failed(log->fail_name, err);
	}
	return r->seq;
}

void evlog_raise(struct evlog *log, uint64_t seq)
{
	if (seq <= log->next_seq)
		return;
	log_warn("%s: the event log ends before event %" PRIu64 "; numbering goes on from there",
		 log->dir ? log->dir : "memory", seq);
	log->next_seq = seq;
	log->ring_first = seq;
	if (log->dir && !log->held_n)
		start_segment(log, seq);
}

uint64_t evlog_next_seq(const struct evlog *log)
{
	return log->next_seq;
}

uint64_t evlog_first_seq(const struct evlog *log)
{
	if (log->dir)
		return log->nsegments ? log->segments[0] : log->next_seq;
	return log->ring_first;
}

struct evlog_cursor evlog_end(const struct evlog *log)
{
	struct evlog_cursor c = { .seq = log->next_seq, .segment = log->active,
				  .offset = log->active_size };

	return c;
}

/* ---- the one-second turn ---- */

void evlog_sync(struct evlog *log)
{
	bool dir;
	int fd;

	if (!log->dir)
		return;
	if (log->held_n)
		write_held(log);
	/* One sync at a time: a slow disk gets the next one when it is done with this one. */
	if (log->syncs_in_flight || log->fd < 0 || (!log->dirty && !log->dir_dirty))
		return;
	fd = log->dirty ? fcntl(log->fd, F_DUPFD_CLOEXEC, 0) : -1;
	if (log->dirty && fd < 0)
		return;
	dir = log->dir_dirty;
	/* Cleared first: a failure (inline, without a writer) sets them again. */
	log->dirty = false;
	log->dir_dirty = false;
	submit_sync(log, fd, dir);
}

static int unlink_work(void *arg)
{
	return unlink(arg) < 0 && errno != ENOENT ? errno : 0;
}

static void unlink_done(void *arg, int err)
{
	if (err)
		log_warn("%s: %s", (char *)arg, strerror(err));
	free(arg);
}

void evlog_trim(struct evlog *log, uint64_t min_seq)
{
	size_t keep = 0;

	/* Segment i holds seqs below segments[i + 1]; the active one always stays. */
	while (keep + 1 < log->nsegments && log->segments[keep + 1] <= min_seq) {
		char *path = evlog_segment_path(log, log->segments[keep]);

		if (log->rd.rfd >= 0 && log->rd.rfd_segment == log->segments[keep]) {
			close(log->rd.rfd);
			log->rd.rfd = -1;
		}
		/* Freeing 64 MiB can wait on the disk's journal: the writer does it. */
		if (!writer_submit(log->writer, unlink_work, unlink_done, path))
			unlink_done(path, unlink_work(path));
		keep++;
	}
	memmove(log->segments, log->segments + keep, (log->nsegments - keep) * sizeof(uint64_t));
	log->nsegments -= keep;
}

void evlog_get_stats(const struct evlog *log, struct evlog_stats *stats)
{
	*stats = log->stats;
	stats->held = log->held_n;
}

bool evlog_disk_failing(const struct evlog *log)
{
	return log->dir && log->fd < 0;
}
