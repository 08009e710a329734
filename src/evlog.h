/* evlog: the numbered log of every event, in a bounded memory ring and, with state_dir, on disk. */
#ifndef AW_EVLOG_H
#define AW_EVLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * Recent records kept in memory. Without state_dir the ring is the whole queue of a receiver that
 * is down, so it is large; with state_dir the disk holds that and the ring only spares readers
 * that keep up a read, so it is small (the daemon's memory target is 1 KiB per agent).
 */
#define EVLOG_RING_MEMORY 16384
#define EVLOG_RING_DISK 1024
#define EVLOG_SEGMENT_MAX (64u << 20)	/* bytes before a new segment file is started */
/* Bytes of records the disk refused that are kept in memory to be written when it takes them. */
#define EVLOG_HELD_MAX (32u << 20)

/* Where a reader is: the next sequence number it wants, and where that record is on disk. */
struct evlog_cursor {
	uint64_t seq;
	uint64_t segment;	/* the first seq of the segment file; 0 when unknown */
	uint64_t offset;	/* byte offset of the record in that segment */
};

struct evlog_stats {
	uint64_t appended;
	uint64_t write_failures;	/* records the disk refused at first (held, then retried) */
	uint64_t syncs;
	uint64_t sync_failures;		/* fdatasync/fsync errors: those records may not be durable */
	uint64_t held;			/* records waiting in memory for the disk now */
	uint64_t lost;			/* held records dropped past EVLOG_HELD_MAX, never on disk */
};

struct evlog;
struct writer;

/*
 * Opens the log in dir (NULL: memory only). Recovers the tail of the last segment after a crash
 * (a torn last line is cut). Returns NULL with a message in err on failure.
 */
struct evlog *evlog_open(const char *dir, char *err, size_t errlen);
void evlog_close(struct evlog *log);

/*
 * Hands the fdatasyncs (the one-second one, the old segment's at rotation, the directory's after
 * a new segment) to w, whose completions must run before evlog_close returns; NULL: inline.
 */
void evlog_set_writer(struct evlog *log, struct writer *w);
/* The writer set above (NULL when none): the other writers of state_dir share it. */
struct writer *evlog_writer(const struct evlog *log);

/*
 * Appends one record (a line of JSON without the newline); returns its sequence number. A record
 * the disk refuses is held in memory (up to EVLOG_HELD_MAX) and written, in order, once it takes
 * records again; the failing file is reported through diskfail.
 */
uint64_t evlog_append(struct evlog *log, const char *json, size_t len);

/* The sequence number the next record will get. */
uint64_t evlog_next_seq(const struct evlog *log);
/*
 * The oldest sequence number the log may still hold (the first of its oldest segment, or of the
 * memory ring): nothing before it can be read back. 1 when nothing was ever trimmed.
 */
uint64_t evlog_first_seq(const struct evlog *log);

/* Numbering goes on from seq when the log ends before it (a state file saved at seq - 1). */
void evlog_raise(struct evlog *log, uint64_t seq);

/* A cursor at the end of the log: it will read only records appended from now on. */
struct evlog_cursor evlog_end(const struct evlog *log);

/*
 * Reads the record at c->seq or, when that one is gone, the first after it. Returns 1 and sets
 * *json (NUL-terminated at *len, valid until the next call), *len and *seq, without moving c; 0
 * when there is none yet.
 */
int evlog_peek(struct evlog *log, const struct evlog_cursor *c, const char **json, size_t *len,
	       uint64_t *seq);
/* Moves c past the record that evlog_peek returned as seq. */
void evlog_advance(struct evlog *log, struct evlog_cursor *c, uint64_t seq);

/*
 * Retries held records, then fdatasyncs the records written since the
 * last sync (and the directory after a new segment), on the writer when there is one. A failed
 * sync keeps them unsynced: counted in sync_failures, reported through diskfail, retried.
 */
void evlog_sync(struct evlog *log);
/* Deletes segment files that hold only records below min_seq (every reader is past them). */
void evlog_trim(struct evlog *log, uint64_t min_seq);

void evlog_get_stats(const struct evlog *log, struct evlog_stats *stats);
/* True while records cannot reach state_dir (the last write failed; retried every 10 s). */
bool evlog_disk_failing(const struct evlog *log);

#endif
