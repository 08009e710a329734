/* evlog_read: readers of the event log: memory first, else the disk through a kept fd and a window. */
#include "config.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evlog.h"
#include "evlog_impl.h"
#include "util.h"

size_t evlog_parse_seq(const char *line, size_t len, uint64_t *seq)
{
	size_t i = 0;

	*seq = 0;
	while (i < len && i < 20 && line[i] >= '0' && line[i] <= '9')
		*seq = *seq * 10 + (uint64_t)(line[i++] - '0');
	return i > 0 && i < len && line[i] == ' ' ? i + 1 : 0;
}

/* The oldest seq held in memory, in the ring or held for the disk: memory has [it, next_seq). */
static uint64_t memory_first(const struct evlog *log)
{
	uint64_t held = log->held_n ? log->held[log->held_head].seq : log->next_seq;

	return held < log->ring_first ? held : log->ring_first;
}

static const struct record *memory_record(const struct evlog *log, uint64_t seq)
{
	if (evlog_in_ring(log, seq))
		return &log->ring[seq % log->ring_size];
	return &log->held[(log->held_head + (seq - log->held[log->held_head].seq)) % log->held_cap];
}

/* Keeps the segment open between reads: a reader far behind reads it front to back. */
static int reader_fd(struct evlog *log, uint64_t segment)
{
	char *path;

	if (log->rd.rfd >= 0 && log->rd.rfd_segment == segment)
		return log->rd.rfd;
	if (log->rd.rfd >= 0)
		close(log->rd.rfd);
	path = evlog_segment_path(log, segment);
	log->rd.rfd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	log->rd.rfd_segment = segment;
	log->rd.rbuf_len = 0;
	return log->rd.rfd;
}

/*
 * The line at offset of segment, from the read window, refilled from the file when the line is
 * not whole in it. Returns its start and sets *n to its length with the newline; NULL at EOF.
 */
static const char *read_line(struct evlog *log, uint64_t segment, uint64_t offset, size_t *n)
{
	int fd = reader_fd(log, segment);
	size_t have;

	if (fd < 0)
		return NULL;
	if (offset >= log->rd.rbuf_offset && offset < log->rd.rbuf_offset + log->rd.rbuf_len) {
		const char *at = log->rd.rbuf + (offset - log->rd.rbuf_offset);
		const char *nl = memchr(at, '\n',
					log->rd.rbuf_len - (offset - log->rd.rbuf_offset));

		if (nl) {
			*n = (size_t)(nl - at) + 1;
			return at;
		}
	}
	log->rd.rbuf_offset = offset;
	log->rd.rbuf_len = 0;
	for (;;) {
		ssize_t got;
		char *nl;

		if (log->rd.rbuf_cap - log->rd.rbuf_len < 4096) {
			log->rd.rbuf_cap = log->rd.rbuf_cap ? 2 * log->rd.rbuf_cap : 65536;
			log->rd.rbuf = xrealloc(log->rd.rbuf, log->rd.rbuf_cap);
		}
		have = log->rd.rbuf_len;
		got = pread(fd, log->rd.rbuf + have, log->rd.rbuf_cap - have,
			    (off_t)(offset + have));
		if (got <= 0)
			return NULL;
		log->rd.rbuf_len += (size_t)got;
		nl = memchr(log->rd.rbuf + have, '\n', (size_t)got);
		if (nl) {
			*n = (size_t)(nl - log->rd.rbuf) + 1;
			return log->rd.rbuf;
		}
	}
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
		size_t n;
		const char *line = read_line(log, log->segments[si], offset, &n);
		size_t at;

		if (!line) {
			si++;
			offset = 0;
			continue;
		}
		at = evlog_parse_seq(line, n, seq);
		offset += n;
		if (at && *seq >= c->seq) {
			*len = n - at - 1;
			/* Out of the window, which goes on past the line, to end it with a NUL. */
			if (log->rd.lbuf_cap < *len + 1) {
				log->rd.lbuf_cap = *len + 1;
				log->rd.lbuf = xrealloc(log->rd.lbuf, log->rd.lbuf_cap);
			}
			memcpy(log->rd.lbuf, line + at, *len);
			log->rd.lbuf[*len] = '\0';
			*json = log->rd.lbuf;
			log->rd.read_seq = *seq;
			log->rd.read_segment = log->segments[si];
			log->rd.read_next_offset = offset;
			return 1;
		}
	}
	return 0;
}

int evlog_peek(struct evlog *log, const struct evlog_cursor *c, const char **json, size_t *len,
	       uint64_t *seq)
{
	uint64_t first = memory_first(log);
	const struct record *r;

	if (c->seq >= log->next_seq)
		return 0;
	if (c->seq < first && peek_disk(log, c, json, len, seq) == 1 && *seq < first)
		return 1;
	/* Opened after a write failure: the disk ends in a gap and memory holds nothing yet. */
	if (first == log->next_seq)
		return 0;
	/* In memory, or gone from the disk too: the oldest record memory still has. */
	r = memory_record(log, c->seq >= first ? c->seq : first);
	*json = r->json;
	*len = r->len;
	*seq = r->seq;
	return 1;
}

void evlog_advance(struct evlog *log, struct evlog_cursor *c, uint64_t seq)
{
	const struct record *r = &log->ring[seq % log->ring_size];

	c->seq = seq + 1;
	if (evlog_in_ring(log, seq) && r->seq == seq) {
		if (r->on_disk) {
			c->segment = r->segment;
			c->offset = r->next_offset;
		}
	} else if (log->rd.read_seq == seq) {
		c->segment = log->rd.read_segment;
		c->offset = log->rd.read_next_offset;
	}
}
