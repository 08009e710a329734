/* resolve: host names looked up on helper threads, cached, so no resolver can stall the loop. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "resolve.h"
#include "util.h"

#define FRESH_US (60 * 1000000ull)	/* as long as libcurl's own DNS cache keeps an answer */
#define FAILED_US (5 * 1000000ull)	/* a failed lookup is not repeated for every request */
#define MAX_ADDRS 8

struct resolve_host {
	struct resolver *r;
	char *name;
	char *addrs;		/* NULL when the last lookup failed or none finished yet */
	char error[200];	/* why the last lookup failed */
	uint64_t expires_us;	/* CLOCK_MONOTONIC: addrs or error stand until then */
	bool looking;		/* a lookup thread runs for this name */
	struct resolve_wait *waiters;
	struct resolve_host *next;
};

struct resolver {
	sd_event *event;
	int read_fd;		/* finished jobs arrive here, as pointers */
	int write_fd;		/* each job writes to its own dup of this */
	sd_event_source *source;
	struct resolve_host *hosts;
};

/* One lookup, owned by its thread until its pointer is written to the pipe. */
struct job {
	struct resolve_host *host;	/* only a token to the thread, never dereferenced there */
	char *name;
	int fd;
	int gai_error;
	int sys_error;
	char *addrs;
};

static void job_free(struct job *job)
{
	free(job->name);
	free(job->addrs);
	free(job);
}

bool resolver_is_literal(const char *host)
{
	unsigned char buf[sizeof(struct in6_addr)];
	char inner[INET6_ADDRSTRLEN];
	size_t len = strlen(host);

	if (inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1)
		return true;
	if (len < 3 || host[0] != '[' || host[len - 1] != ']' || len - 2 >= sizeof(inner))
		return false;
	memcpy(inner, host + 1, len - 2);
	inner[len - 2] = '\0';
	return inet_pton(AF_INET6, inner, buf) == 1;
}

/* "a,b,[c]": IPv6 in brackets, as CURLOPT_RESOLVE reads them; NULL when none is usable. */
static char *format_addrs(const struct addrinfo *res)
{
	char *out = xcalloc(MAX_ADDRS, INET6_ADDRSTRLEN + 3);
	size_t len = 0;
	int n = 0;

	for (const struct addrinfo *ai = res; ai && n < MAX_ADDRS; ai = ai->ai_next) {
		char text[INET6_ADDRSTRLEN];
		const void *addr;

		if (ai->ai_family == AF_INET)
			addr = &((const struct sockaddr_in *)ai->ai_addr)->sin_addr;
		else if (ai->ai_family == AF_INET6)
			addr = &((const struct sockaddr_in6 *)ai->ai_addr)->sin6_addr;
		else
			continue;
		if (!inet_ntop(ai->ai_family, addr, text, sizeof(text)))
			continue;
		len += (size_t)sprintf(out + len, ai->ai_family == AF_INET6 ? "%s[%s]" : "%s%s",
				       n ? "," : "", text);
		n++;
	}
	if (n == 0) {
		free(out);
		return NULL;
	}
	return out;
}

static void *lookup_thread(void *arg)
{
	struct job *job = arg;
	/* As libcurl asks: no AI_ADDRCONFIG, which hides "localhost" on a loopback-only host. */
	struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
	struct addrinfo *res = NULL;
	int fd = job->fd;

	job->gai_error = getaddrinfo(job->name, NULL, &hints, &res);
	job->sys_error = errno;
	if (job->gai_error == 0) {
		job->addrs = format_addrs(res);
		if (!job->addrs)
			job->gai_error = EAI_NONAME;
		freeaddrinfo(res);
	}
	/* Once written the job is the loop's; a closed pipe means the resolver is gone. */
	if (write(fd, &job, sizeof(job)) != (ssize_t)sizeof(job))
		job_free(job);
	close(fd);
	return NULL;
}

/* what: "cannot resolve" or "cannot look up"; detail: why. */
static void set_failed(struct resolve_host *host, const char *what, const char *detail)
{
	free(host->addrs);
	host->addrs = NULL;
	snprintf(host->error, sizeof(host->error), "%s %s: %s", what, host->name, detail);
	host->expires_us = util_now_monotonic_us() + FAILED_US;
}

/* Threads start with every signal blocked: signals are the loop's, through signalfd. */
static void start_lookup(struct resolve_host *host)
{
	struct job *job = xcalloc(1, sizeof(*job));
	sigset_t all, old;
	pthread_attr_t attr;
	pthread_t thread;
	int err;

	job->host = host;
	job->name = xstrdup(host->name);
	job->fd = fcntl(host->r->write_fd, F_DUPFD_CLOEXEC, 0);
	if (job->fd < 0) {
		set_failed(host, "cannot look up", strerror(errno));
		job_free(job);
		return;
	}
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	err = pthread_create(&thread, &attr, lookup_thread, job);
	pthread_attr_destroy(&attr);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		set_failed(host, "cannot look up", strerror(err));
		close(job->fd);
		job_free(job);
		return;
	}
	host->looking = true;
}

static void unlink_wait(struct resolve_wait *w)
{
	for (struct resolve_wait **p = &w->host->waiters; *p; p = &(*p)->next) {
		if (*p == w) {
			*p = w->next;
			break;
		}
	}
	w->timer = sd_event_source_disable_unref(w->timer);
	w->host = NULL;
	w->next = NULL;
}

/* What a wait gets now: the addresses, the cached failure, or that its time ran out. */
static void finish_wait(struct resolve_wait *w)
{
	struct resolve_host *host = w->host;
	char timed_out[sizeof(host->error)];

	unlink_wait(w);
	if (host->addrs) {
		w->done(w, host->addrs, NULL);
	} else if (!host->looking) {
		w->done(w, NULL, host->error);
	} else {
		snprintf(timed_out, sizeof(timed_out), "name lookup of %s took longer than %.1f s",
			 host->name, (double)w->timeout_us / 1e6);
		w->done(w, NULL, timed_out);
	}
}

static int on_wait_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
	struct resolve_wait *w = userdata;

	(void)source;
	(void)usec;
	finish_wait(w);
	return 0;
}

static void on_job(struct resolver *r, struct job *job)
{
	struct resolve_host *host = job->host;

	(void)r;
	host->looking = false;
	if (job->gai_error == 0) {
		free(host->addrs);
		host->addrs = job->addrs;
		job->addrs = NULL;
		host->error[0] = '\0';
		host->expires_us = util_now_monotonic_us() + FRESH_US;
	} else if (host->addrs && (job->gai_error == EAI_AGAIN || job->gai_error == EAI_SYSTEM)) {
		/* A resolver that fails for now is no news about the name: the old answer serves. */
		host->expires_us = util_now_monotonic_us() + FAILED_US;
	} else {
		set_failed(host, "cannot resolve", job->gai_error == EAI_SYSTEM ?
			   strerror(job->sys_error) : gai_strerror(job->gai_error));
	}
	job_free(job);
	/* One at a time from the head: a callback may cancel or add waits. */
	while (host->waiters)
		finish_wait(host->waiters);
}

static int on_pipe(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	struct job *job;

	(void)source;
	(void)revents;
	while (read(fd, &job, sizeof(job)) == (ssize_t)sizeof(job))
		on_job(userdata, job);
	return 0;
}

struct resolver *resolver_new(sd_event *event)
{
	struct resolver *r = xcalloc(1, sizeof(*r));
	int fds[2];

	if (pipe2(fds, O_CLOEXEC) < 0 || fcntl(fds[0], F_SETFL, O_NONBLOCK) < 0 ||
	    sd_event_add_io(event, &r->source, fds[0], EPOLLIN, on_pipe, r) < 0) {
		fputs("agentwatchd: cannot set up the name resolver\n", stderr);
		abort();
	}
	r->event = sd_event_ref(event);
	r->read_fd = fds[0];
	r->write_fd = fds[1];
	return r;
}

void resolver_free(struct resolver *r)
{
	struct job *job;

	if (!r)
		return;
	sd_event_source_disable_unref(r->source);
	while (read(r->read_fd, &job, sizeof(job)) == (ssize_t)sizeof(job))
		job_free(job);
	close(r->read_fd);
	close(r->write_fd);
	while (r->hosts) {
		struct resolve_host *host = r->hosts;

		r->hosts = host->next;
		while (host->waiters)
			unlink_wait(host->waiters);
		free(host->name);
		free(host->addrs);
		free(host);
	}
	sd_event_unref(r->event);
	free(r);
}

static struct resolve_host *find_host(struct resolver *r, const char *name)
{
	for (struct resolve_host *h = r->hosts; h; h = h->next)
		if (strcmp(h->name, name) == 0)
			return h;
	return NULL;
}

const char *resolver_cached(struct resolver *r, const char *name)
{
	struct resolve_host *host = find_host(r, name);

	if (!host || !host->addrs)
		return NULL;
	if (!host->looking && util_now_monotonic_us() >= host->expires_us)
		start_lookup(host);	/* refreshes in the background; the old answer serves */
	return host->addrs;
}

void resolver_wait(struct resolver *r, const char *name, uint64_t timeout_us,
		   struct resolve_wait *w)
{
	struct resolve_host *host = find_host(r, name);
	uint64_t delay;

	if (!host) {
		host = xcalloc(1, sizeof(*host));
		host->r = r;
		host->name = xstrdup(name);
		host->next = r->hosts;
		r->hosts = host;
	}
	if (!host->looking && util_now_monotonic_us() >= host->expires_us)
		start_lookup(host);
	/* Nothing to wait for with addresses, or with a failure and no lookup: at once, then. */
	delay = host->addrs || !host->looking ? 0 : timeout_us;
	w->timeout_us = timeout_us;
	w->host = host;
	w->next = host->waiters;
	host->waiters = w;
	if (sd_event_add_time_relative(r->event, &w->timer, CLOCK_MONOTONIC, delay, 1000,
				       on_wait_timer, w) < 0) {
		fputs("agentwatchd: cannot add a timer\n", stderr);
		abort();
	}
}

void resolver_cancel(struct resolve_wait *w)
{
	if (w->host)
		unlink_wait(w);
}
