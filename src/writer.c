/* writer: one thread for the daemon's blocking disk work (fsync, rename), so the loop never waits on the disk. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "diskfail.h"
#include "log.h"
#include "util.h"
#include "writer.h"

struct job {
	writer_work_fn work;
	writer_done_fn done;
	void *arg;
	int err;
};

/*
 * One FIFO of slots: [head, ran) have run and await their completion on the loop, [ran, tail) are
 * queued. Only the thread moves ran, only the loop moves head and tail, all under the mutex.
 */
struct writer {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;		/* the thread: a job was queued, or stop */
	pthread_cond_t ran_one;		/* writer_flush: a job has run */
	struct job jobs[WRITER_QUEUE_MAX];
	uint64_t head, ran, tail;
	bool stop;
	int efd;
	sd_event_source *source;
	struct file_job *queued_saves;	/* saves not started yet, for writer_save_file to update */
	/* Loop thread only: appends the disk refused, oldest first, to write again. */
	struct file_job *held, **held_tail;
	size_t held_bytes;
	bool retrying, closing;
};

struct file_job {
	struct writer *w;		/* NULL: run at once, never in queued_saves */
	char *path;
	char *data;
	size_t len;
	bool durable, append, remove;
	struct file_job *next;		/* in queued_saves while not started, or in held */
};

static void file_job_free(struct file_job *j)
{
	free(j->path);
	free(j->data);
	free(j);
}

static void *thread_main(void *data)
{
	struct writer *w = data;
	static const uint64_t one = 1;

	pthread_mutex_lock(&w->lock);
	for (;;) {
		struct job *j;

		while (w->ran == w->tail && !w->stop)
			pthread_cond_wait(&w->wake, &w->lock);
		if (w->ran == w->tail)
			break;
		j = &w->jobs[w->ran % WRITER_QUEUE_MAX];
		pthread_mutex_unlock(&w->lock);
		j->err = j->work(j->arg);
		pthread_mutex_lock(&w->lock);
		w->ran++;
		pthread_cond_broadcast(&w->ran_one);
		/* EAGAIN: the counter is full, so the loop is woken anyway. Nothing else can fail
		 * on an open eventfd, and without the wake-up the loop would wait for ever. */
		if (write(w->efd, &one, sizeof(one)) < 0 && errno != EAGAIN)
			abort();
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

/* Runs the completions of the jobs that have run, in order, outside the lock. */
static void complete(struct writer *w)
{
	for (;;) {
		struct job j;

		pthread_mutex_lock(&w->lock);
		if (w->head == w->ran) {
			pthread_mutex_unlock(&w->lock);
			return;
		}
		j = w->jobs[w->head % WRITER_QUEUE_MAX];
		w->head++;
		pthread_mutex_unlock(&w->lock);
		j.done(j.arg, j.err);
	}
}

static int on_eventfd(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	uint64_t n;

	(void)source;
	(void)revents;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("writer: eventfd: %s", strerror(errno));
	complete(userdata);
	return 0;
}

struct writer *writer_new(sd_event *event)
{
	struct writer *w = xcalloc(1, sizeof(*w));
	sigset_t all, old;
	int r;

	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	pthread_cond_init(&w->ran_one, NULL);
	w->held_tail = &w->held;
	w->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (w->efd < 0 || sd_event_add_io(event, &w->source, w->efd, EPOLLIN, on_eventfd, w) < 0) {
		log_err("writer: cannot set up its eventfd: %s", strerror(errno));
		goto fail;
	}
	/* Signals stay with the loop's signalfd: the thread blocks them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	r = pthread_create(&w->thread, NULL, thread_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (r != 0) {
		log_err("writer: cannot start its thread: %s", strerror(r));
		goto fail;
	}
	return w;
fail:
	sd_event_source_disable_unref(w->source);
	if (w->efd >= 0)
		close(w->efd);
	free(w);
	return NULL;
}

void writer_flush(struct writer *w)
{
	if (!w)
		return;
	pthread_mutex_lock(&w->lock);
	while (w->ran != w->tail)
		pthread_cond_wait(&w->ran_one, &w->lock);
	pthread_mutex_unlock(&w->lock);
	complete(w);
}

void writer_free(struct writer *w)
{
	if (!w)
		return;
	w->closing = true;
	writer_flush(w);
	pthread_mutex_lock(&w->lock);
	w->stop = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	complete(w);
	if (w->held)
		log_err("%s: %zu bytes refused by the disk are lost", w->held->path, w->held_bytes);
	for (struct file_job *j = w->held, *next; j; j = next) {
		next = j->next;
		file_job_free(j);
	}
	sd_event_source_disable_unref(w->source);
	close(w->efd);
	pthread_cond_destroy(&w->ran_one);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
	free(w);
}

bool writer_submit(struct writer *w, writer_work_fn work, writer_done_fn done, void *arg)
{
	if (!w) {
		done(arg, work(arg));
		return true;
	}
	pthread_mutex_lock(&w->lock);
	if (w->tail - w->head >= WRITER_QUEUE_MAX) {
		/*
		 * The caller runs it at once: only after every queued job has run, or it would
		 * overtake them (a removal undone by an older save, two saves of one file at once).
		 */
		while (w->ran != w->tail)
			pthread_cond_wait(&w->ran_one, &w->lock);
		pthread_mutex_unlock(&w->lock);
		return false;
	}
	w->jobs[w->tail % WRITER_QUEUE_MAX] = (struct job){ work, done, arg, 0 };
	w->tail++;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	return true;
}

static void unlist(struct writer *w, struct file_job *j)
{
	pthread_mutex_lock(&w->lock);
	for (struct file_job **p = &w->queued_saves; *p; p = &(*p)->next) {
		if (*p == j) {
			*p = j->next;
			break;
		}
	}
	pthread_mutex_unlock(&w->lock);
}

/* Takes a queued save out of queued_saves when it starts: from then on it is no longer updated. */
static int file_work(void *arg)
{
	struct file_job *j = arg;
	int fd, err = 0;

	if (j->w && !j->append && !j->remove)
		unlist(j->w, j);
	if (j->remove)
		return unlink(j->path) < 0 && errno != ENOENT ? errno : 0;
	if (!j->append)
		return util_write_file_atomic(j->path, j->data, j->len, j->durable) < 0 ? errno : 0;
	fd = open(j->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno;
	if (write(fd, j->data, j->len) != (ssize_t)j->len || fdatasync(fd) < 0)
		err = errno ? errno : EIO;
	close(fd);
	return err;
}

static void submit_file(struct writer *w, struct file_job *j);

/* An append the disk refused (a dead letter) waits for the next write that succeeds. */
static void hold_append(struct writer *w, struct file_job *j)
{
	if (w->held_bytes + j->len > WRITER_HELD_MAX) {
		log_err("%s: %zu bytes refused by the disk are lost (%zu bytes are held already)",
			j->path, j->len, w->held_bytes);
		file_job_free(j);
		return;
	}
	j->next = NULL;
	*w->held_tail = j;
	w->held_tail = &j->next;
	w->held_bytes += j->len;
}

/* Queues the held appends again, in order, ahead of whatever comes after. */
static void retry_held(struct writer *w)
{
	struct file_job *j = w->held;

	if (w->retrying || w->closing)
		return;
	w->retrying = true;
	w->held = NULL;
	w->held_tail = &w->held;
	w->held_bytes = 0;
	while (j) {
		struct file_job *next = j->next;

		submit_file(w, j);
		j = next;
	}
	w->retrying = false;
}

static void file_done(void *arg, int err)
{
	struct file_job *j = arg;
	struct writer *w = j->w;

	if (err)
		diskfail_failed(j->path, err);
	else
		diskfail_ok(j->path);
	if (err && j->append && w) {
		hold_append(w, j);
		return;
	}
	file_job_free(j);
	if (!err && w && w->held)
		retry_held(w);
}

static void submit_file(struct writer *w, struct file_job *j)
{
	j->w = w;
	if (w && !j->append && !j->remove) {
		pthread_mutex_lock(&w->lock);
		j->next = w->queued_saves;
		w->queued_saves = j;
		pthread_mutex_unlock(&w->lock);
	}
	if (!writer_submit(w, file_work, file_done, j)) {
		/* The disk is far behind: wait for it here rather than lose the write. */
		unlist(w, j);
		if (!j->append)
			j->w = NULL;
		file_done(j, file_work(j));
	}
}

/* A job on path holding a copy of data (len bytes; data NULL: none). */
static struct file_job *file_job_new(const char *path, const void *data, size_t len)
{
	struct file_job *j = xcalloc(1, sizeof(*j));

	j->path = xstrdup(path);
	if (data) {
		j->data = xmalloc(len);
		memcpy(j->data, data, len);
		j->len = len;
	}
	return j;
}

void writer_save_file(struct writer *w, const char *path, const void *data, size_t len,
		      bool durable)
{
	struct file_job *j;

	if (w) {
		pthread_mutex_lock(&w->lock);
		for (j = w->queued_saves; j; j = j->next) {
			if (strcmp(j->path, path) == 0 && j->durable == durable) {
				free(j->data);
				j->data = xmalloc(len);
				memcpy(j->data, data, len);
				j->len = len;
				pthread_mutex_unlock(&w->lock);
				return;
			}
		}
		pthread_mutex_unlock(&w->lock);
	}
	j = file_job_new(path, data, len);
	j->durable = durable;
	submit_file(w, j);
}

void writer_remove_file(struct writer *w, const char *path)
{
	struct file_job *j, *q;

	/* Saves queued before it still run first; a later save must not join them and be removed. */
	if (w) {
		pthread_mutex_lock(&w->lock);
		while ((q = w->queued_saves) && strcmp(q->path, path) == 0)
			w->queued_saves = q->next;
		for (q = w->queued_saves; q && q->next; ) {
			if (strcmp(q->next->path, path) == 0)
				q->next = q->next->next;
			else
				q = q->next;
		}
		pthread_mutex_unlock(&w->lock);
	}
	j = file_job_new(path, NULL, 0);
	j->remove = true;
	submit_file(w, j);
}

void writer_append_file(struct writer *w, const char *path, const void *data, size_t len)
{
	struct file_job *j = file_job_new(path, data, len);

	if (w && w->held)
		retry_held(w);
	j->append = true;
	submit_file(w, j);
}
