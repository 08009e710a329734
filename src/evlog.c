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

#include "evlog.h"
#include "log.h"
#include "util.h"

#define REOPEN_PAUSE_US (10 * 1000000u)

struct record {
	uint64_t seq;
	char *json;
	size_t len;
	bool on_disk;
	uint64_t segment;	/* where it was written, when on_disk */
	uint64_t next_offset;	/* the byte after it in that segment */
};

struct evlog {
	char *dir;			/* NULL: memory only */
	int fd;				/* the active segment, -1 when the disk is not writable */
	uint64_t active;		/* the active segment's first seq */
	uint64_t active_size;
	uint64_t *segments;		/* first seqs of the segment files, ascending */
	size_t nsegments;
	uint64_t next_seq;
	struct record *ring;		/* ring[seq % ring_size] */
	uint64_t ring_size;
	uint64_t ring_first;		/* the oldest seq still in the ring */
	bool dirty;
	uint64_t reopen_after_us;
	/* The disk reader's buffer and the position after the record it last returned. */
	char *rbuf;
	size_t rbuf_cap;
	uint64_t read_seq, read_segment, read_next_offset;
	struct evlog_stats stats;
};

static char *segment_path(const struct evlog *log, uint64_t first)
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

/* Parses "<seq> " at the start of a line; returns the offset of the JSON or 0 when malformed. */
static size_t parse_seq(const char *line, size_t len, uint64_t *seq)
{
	size_t i = 0;

	*seq = 0;
	while (i < len && i < 20 && line[i] >= '0' && line[i] <= '9')
		*seq = *seq * 10 + (uint64_t)(line[i++] - '0');
	return i > 0 && i < len && line[i] == ' ' ? i + 1 : 0;
}

/* A crash can leave a torn last line: cut the segment after its last complete record. */
static void recover_tail(struct evlog *log, int fd, uint64_t first)
{
	struct stat st;
	char *buf;
	ssize_t n;
	size_t end, start;
	uint64_t seq;

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
	start = end > 0 ? end - 1 : 0;
	while (start > 0 && buf[start - 1] != '\n')
		start--;
	if (end > 0 && parse_seq(buf + start, end - start, &seq))
		log->next_seq = seq + 1;
	free(buf);
}

static int open_segment(struct evlog *log, uint64_t first, bool recover)
{
	char *path = segment_path(log, first);
	/* Read-write: recovery reads the tail back before appending. */
	int fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	free(path);
	if (fd < 0)
		return -1;
	log->fd = fd;
	log->active = first;
	log->active_size = 0;
	if (recover)
		recover_tail(log, fd, first);
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
	log->next_seq = 1;
	log->ring_first = 1;
	log->ring_size = dir ? EVLOG_RING_DISK : EVLOG_RING_MEMORY;
	log->ring = xcalloc(log->ring_size, sizeof(log->ring[0]));
	if (dir) {
		log->dir = xstrdup(dir);
		if (open_disk(log) < 0) {
			snprintf(err, errlen, "%s: %s", dir, strerror(errno));
			evlog_close(log);
			return NULL;
		}
		log->ring_first = log->next_seq;
	}
	return log;
}

void evlog_close(struct evlog *log)
{
	if (!log)
		return;
	evlog_sync(log);
	if (log->fd >= 0)
		close(log->fd);
	for (size_t i = 0; i < log->ring_size; i++)
		free(log->ring[i].json);
	free(log->ring);
	free(log->segments);
	free(log->rbuf);
	free(log->dir);
	free(log);
}

/* Starts a new segment file whose first record is first: when one is full, or after a failure. */
static void start_segment(struct evlog *log, uint64_t first)
{
	if (log->fd >= 0)
		close(log->fd);
	log->fd = -1;
	if (open_segment(log, first, false) == 0)
		add_segment(log, first);
}

/* One write(2) per record, so a crash tears at most the last line, which recovery cuts. */
static bool write_record(struct evlog *log, struct record *r)
{
	char *line;
	size_t n;
	ssize_t w;

	if (log->fd < 0 && util_now_monotonic_us() >= log->reopen_after_us) {
		/* A fresh segment: the records that failed leave a gap readers step over. */
		start_segment(log, r->seq);
		if (log->fd < 0)
			log->reopen_after_us = util_now_monotonic_us() + REOPEN_PAUSE_US;
		else
			log_notice("%s: writable again from event %" PRIu64, log->dir, r->seq);
	}
	if (log->fd < 0)
		return false;
	if (log->active_size >= EVLOG_SEGMENT_MAX)
		start_segment(log, r->seq);
	if (log->fd < 0)
		return false;
	line = xasprintf("%" PRIu64 " %.*s\n", r->seq, (int)r->len, r->json);
	n = strlen(line);
	w = write(log->fd, line, n);
	free(line);
	if (w == (ssize_t)n) {
		log->active_size += n;
		r->on_disk = true;
		r->segment = log->active;
		r->next_offset = log->active_size;
		log->dirty = true;
		return true;
	}
	if (w >= 0 && ftruncate(log->fd, (off_t)log->active_size) < 0)
		w = -1;
	log_warn("%s: cannot write event %" PRIu64 ": %s; it is kept in memory only", log->dir,
		 r->seq, w < 0 ? strerror(errno) : "short write");
	close(log->fd);
	log->fd = -1;
	log->reopen_after_us = util_now_monotonic_us() + REOPEN_PAUSE_US;
	return false;
}

uint64_t evlog_append(struct evlog *log, const char *json, size_t len)
{
	struct record *r = &log->ring[log->next_seq % log->ring_size];

	free(r->json);
	*r = (struct record){ .seq = log->next_seq, .json = xstrndup(json, len), .len = len };
	if (log->next_seq - log->ring_first >= log->ring_size)
		log->ring_first++;
	log->next_seq++;
	log->stats.appended++;
	if (log->dir && !write_record(log, r))
		log->stats.write_failures++;
	return r->seq;
}

uint64_t evlog_next_seq(const struct evlog *log)
{
	return log->next_seq;
}

struct evlog_cursor evlog_end(const struct evlog *log)
{
	struct evlog_cursor c = { .seq = log->next_seq, .segment = log->active,
				  .offset = log->active_size };

	return c;
}

static bool in_ring(const struct evlog *log, uint64_t seq)
{
	return seq >= log->ring_first && seq < log->next_seq;
}

/* Reads the line at offset of segment into rbuf; returns its length with the newline, 0 at EOF. */
static size_t read_line(struct evlog *log, uint64_t segment, uint64_t offset)
{
	char *path = segment_path(log, segment);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t have = 0;

	free(path);
	if (fd < 0)
		return 0;
	for (;;) {
		ssize_t n;
		char *nl;

		if (log->rbuf_cap - have < 4096) {
			log->rbuf_cap = log->rbuf_cap ? 2 * log->rbuf_cap : 65536;
			log->rbuf = xrealloc(log->rbuf, log->rbuf_cap);
		}
		n = pread(fd, log->rbuf + have, log->rbuf_cap - have, (off_t)(offset + have));
		if (n <= 0)
			break;
		nl = memchr(log->rbuf + have, '\n', (size_t)n);
		have += (size_t)n;
		if (nl) {
			close(fd);
			return (size_t)(nl - log->rbuf) + 1;
		}
	}
	close(fd);
	return 0;
}

/* The index of the segment that holds seq (the last one starting at or before it). */
static size_t segment_for(const struct evlog *log, uint64_t seq)
{
	size_t i = 0;

	while (i + 1 < log->nsegments && log->segments[i + 1] <= seq)
		i++;
	return i;
}

/* Scans the disk from the cursor (or the segment holding c->seq) to the first record >= c->seq. */
static int peek_disk(struct evlog *log, const struct evlog_cursor *c, const char **json,
		     size_t *len, uint64_t *seq)
{
	size_t si;
	uint64_t offset;

	if (!log->dir || !log->nsegments)
		return 0;
	if (c->segment) {
		si = segment_for(log, c->segment);
		offset = log->segments[si] == c->segment ? c->offset : 0;
	} else {
		si = segment_for(log, c->seq);
		offset = 0;
	}
	while (si < log->nsegments) {
		size_t n = read_line(log, log->segments[si], offset);
		size_t at;

		if (n == 0) {
			si++;
			offset = 0;
			continue;
		}
		at = parse_seq(log->rbuf, n, seq);
		offset += n;
		if (at && *seq >= c->seq) {
			*json = log->rbuf + at;
			*len = n - at - 1;
			log->read_seq = *seq;
			log->read_segment = log->segments[si];
			log->read_next_offset = offset;
			return 1;
		}
	}
	return 0;
}

int evlog_peek(struct evlog *log, const struct evlog_cursor *c, const char **json, size_t *len,
	       uint64_t *seq)
{
	const struct record *r;

	if (c->seq >= log->next_seq)
		return 0;
	if (!in_ring(log, c->seq) && peek_disk(log, c, json, len, seq) == 1 &&
	    *seq < log->ring_first)
		return 1;
	/* Opened after a write failure: the disk ends in a gap and memory holds nothing yet. */
	if (log->ring_first == log->next_seq)
		return 0;
	/* In the ring, or gone from the disk too: the oldest record the ring still has. */
	r = &log->ring[(in_ring(log, c->seq) ? c->seq : log->ring_first) % log->ring_size];
	*json = r->json;
	*len = r->len;
	*seq = r->seq;
	return 1;
}

void evlog_advance(struct evlog *log, struct evlog_cursor *c, uint64_t seq)
{
	const struct record *r = &log->ring[seq % log->ring_size];

	c->seq = seq + 1;
	if (in_ring(log, seq) && r->seq == seq) {
		if (r->on_disk) {
			c->segment = r->segment;
			c->offset = r->next_offset;
		}
	} else if (log->read_seq == seq) {
		c->segment = log->read_segment;
		c->offset = log->read_next_offset;
	}
}

void evlog_sync(struct evlog *log)
{
	if (!log->dirty || log->fd < 0)
		return;
	if (fdatasync(log->fd) < 0)
		log_warn("%s: fdatasync: %s", log->dir, strerror(errno));
	log->dirty = false;
	log->stats.syncs++;
}

void evlog_trim(struct evlog *log, uint64_t min_seq)
{
	size_t keep = 0;

	/* Segment i holds seqs below segments[i + 1]; the active one always stays. */
	while (keep + 1 < log->nsegments && log->segments[keep + 1] <= min_seq) {
		char *path = segment_path(log, log->segments[keep]);

		if (unlink(path) < 0 && errno != ENOENT)
			log_warn("%s: %s", path, strerror(errno));
		free(path);
		keep++;
	}
	memmove(log->segments, log->segments + keep, (log->nsegments - keep) * sizeof(uint64_t));
	log->nsegments -= keep;
}

void evlog_get_stats(const struct evlog *log, struct evlog_stats *stats)
{
	*stats = log->stats;
}

bool evlog_disk_failing(const struct evlog *log)
{
	return log->dir && log->fd < 0;
}
