/* writer: one thread for the daemon's blocking disk work (fsync, rename), so the loop never waits on the disk. */
#ifndef AW_WRITER_H
#define AW_WRITER_H

#include <stdbool.h>
#include <stddef.h>

#include <systemd/sd-event.h>

#define WRITER_QUEUE_MAX 256	/* jobs queued or awaiting their completion at once */
#define WRITER_HELD_MAX (4u << 20)	/* bytes of refused appends kept to write again */

/*
 * A job's work runs on the writer thread and may touch only its own argument (never daemon state);
 * it returns 0 or an errno value. Its done callback then runs on the loop thread, in submission
 * order, with that result, and owns (frees) the argument.
 */
typedef int (*writer_work_fn)(void *arg);
typedef void (*writer_done_fn)(void *arg, int err);

struct writer;

/* Starts the thread; completions come back to event through an eventfd. NULL on failure (logged). */
struct writer *writer_new(sd_event *event);
/* Runs every queued job and its completion, then stops the thread. NULL is fine. */
void writer_free(struct writer *w);

/*
 * Queues a job. Returns false, with nothing queued and arg still the caller's, when the queue is
 * full: then only once every queued job has run (not their completions), so that the caller may
 * run it at once without overtaking them. With w NULL the job runs at once on the calling thread
 * (tools and unit tests), and true.
 */
bool writer_submit(struct writer *w, writer_work_fn work, writer_done_fn done, void *arg);

/* Waits on the loop thread until every queued job has run, and runs their completions. */
void writer_flush(struct writer *w);

/*
 * Replaces path with a copy of data (util_write_file_atomic) on the thread; a save of the same
 * path still queued takes the new data instead, so a busy file costs one write per turn. Runs
 * at once when the queue is full. Failures and recoveries go to diskfail.
 */
void writer_save_file(struct writer *w, const char *path, const void *data, size_t len,
		      bool durable);
/* Removes path on the thread, after every job queued before it (at once when full). */
void writer_remove_file(struct writer *w, const char *path);
/*
 * Appends a copy of data to path and fdatasyncs it, on the thread (at once when full). One the
 * disk refuses is kept (up to WRITER_HELD_MAX bytes, then dropped and logged) and appended again,
 * in order, before the next append or after the next write that succeeds; lost at writer_free.
 */
void writer_append_file(struct writer *w, const char *path, const void *data, size_t len);

#endif
