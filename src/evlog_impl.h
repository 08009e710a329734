/* evlog_impl: the event log's insides, shared by its writing (evlog.c) and reading (evlog_read.c) halves. */
#ifndef AW_EVLOG_IMPL_H
#define AW_EVLOG_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "evlog.h"

struct record {
	uint64_t seq;
	char *json;
	size_t len;
	bool on_disk;
	uint64_t segment;	/* where it was written, when on_disk */
	uint64_t next_offset;	/* the byte after it in that segment */
};

/* The disk reader: its open segment, a window of it, and the record it last returned. */
struct evlog_reader {
	int rfd;
	uint64_t rfd_segment;
	char *rbuf;
	size_t rbuf_cap, rbuf_len;
	uint64_t rbuf_offset;		/* the segment offset of rbuf[0] */
	char *lbuf;			/* the record last returned, NUL-terminated */
	size_t lbuf_cap;
	uint64_t read_seq, read_segment, read_next_offset;
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
	bool dirty;			/* written since the last fdatasync handed out */
	bool dir_dirty;			/* a segment was created since the last directory fsync */
	unsigned syncs_in_flight;
	uint64_t reserved_end;		/* the active segment is preallocated up to here */
	uint64_t retry_after_us;
	/* Records the disk refused, oldest first: written out, in order, once it takes them. */
	struct record *held;
	size_t held_head, held_n, held_cap;
	size_t held_bytes;
	bool dropping;			/* held records are being dropped (logged once) */
	struct writer *writer;		/* NULL: syncs run on the calling thread */
	char *fail_name;		/* "DIR/events-*.log", for diskfail */
	struct evlog_reader rd;
	struct evlog_stats stats;
};

static inline bool evlog_in_ring(const struct evlog *log, uint64_t seq)
{
	return seq >= log->ring_first && seq < log->next_seq;
}

/* state_dir/events-<first, 20 digits>.log; the caller frees it. */
char *evlog_segment_path(const struct evlog *log, uint64_t first);
/* Parses "<seq> " at the start of a line; returns the offset of the JSON or 0 when malformed. */
size_t evlog_parse_seq(const char *line, size_t len, uint64_t *seq);

#endif
