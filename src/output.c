/* output: every event fanned out to the configured sinks, none of which may block the loop. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "journal.h"
#include "log.h"
#include "output.h"
#include "syslogout.h"
#include "util.h"

/* A reader of stdout may stall; past this much unwritten output new lines are dropped. */
#define STDOUT_BUFFER_MAX (4u << 20)

struct output {
	sd_event *event;
	bool journal;
	bool to_stdout;
	bool stdout_is_journal;	/* fd 1 is the journal stream named by $JOURNAL_STREAM */
	struct syslogout *syslog;
	/* stdout: written directly when it is a file or terminal, through a buffer when a pipe. */
	bool stdout_async;
	sd_event_source *stdout_source;
	char *pending;		/* unwritten: pending_len bytes from pending + pending_off */
	size_t pending_off;
	size_t pending_len;
	size_t pending_cap;
	struct output_stats stats;
};

/*
 * Writes what the pipe takes. The written part is skipped, not moved away: a reader that keeps
 * up with only part of a burst frees a few KiB at a time, and moving the rest (up to 4 MiB)
 * after each of those writes made the loop crawl (50,000 agents' first state answers through a
 * FIFO to a Python reader: poll lateness p99 412 ms, 12 ms once skipped).
 */
static int write_pending(struct output *out)
{
	while (out->pending_len > 0) {
		ssize_t n = write(STDOUT_FILENO, out->pending + out->pending_off, out->pending_len);

		if (n < 0)
			return errno == EINTR ? 0 : -errno;
		out->pending_off += (size_t)n;
		out->pending_len -= (size_t)n;
	}
	out->pending_off = 0;
	return 0;
}

static void drop_pending(struct output *out)
{
	out->pending_off = 0;
	out->pending_len = 0;
}

/*
 * Room for len more bytes after the pending ones. The unwritten part moves to the front only
 * when the end is reached, and the buffer then keeps at least as much free as it holds, so each
 * byte is moved a bounded number of times.
 */
static void make_room(struct output *out, size_t len)
{
	size_t need = out->pending_len + len;

	if (out->pending_off + need <= out->pending_cap)
		return;
	if (out->pending_off) {
		memmove(out->pending, out->pending + out->pending_off, out->pending_len);
		out->pending_off = 0;
	}
	if (2 * need > out->pending_cap) {
		out->pending_cap = 2 * need;
		out->pending = xrealloc(out->pending, out->pending_cap);
	}
}

static void update_stdout_source(struct output *out)
{
	if (out->stdout_source)
		sd_event_source_set_enabled(out->stdout_source,
					    out->pending_len ? SD_EVENT_ON : SD_EVENT_OFF);
}

static int on_stdout_writable(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	struct output *out = userdata;
	int r;

	(void)source;
	(void)fd;
	r = write_pending(out);
	if (r < 0 && r != -EAGAIN) {
		log_warn("stdout: %s; dropping %zu bytes", strerror(-r), out->pending_len);
		drop_pending(out);
		out->stats.stdout_dropped++;
	}
	if (revents & (EPOLLERR | EPOLLHUP))
		drop_pending(out);
	update_stdout_source(out);
	return 0;
}

/* Pipes and sockets get a non-blocking buffered writer; files and terminals are written at once. */
static void setup_stdout(struct output *out)
{
	struct stat st;

	if (fstat(STDOUT_FILENO, &st) < 0 || !(S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
		return;
	if (fcntl(STDOUT_FILENO, F_SETFL, fcntl(STDOUT_FILENO, F_GETFL) | O_NONBLOCK) < 0 ||
	    sd_event_add_io(out->event, &out->stdout_source, STDOUT_FILENO, EPOLLOUT,
			    on_stdout_writable, out) < 0)
		return;
	sd_event_source_set_enabled(out->stdout_source, SD_EVENT_OFF);
	out->stdout_async = true;
}

static void emit_stdout(struct output *out, const char *json)
{
	size_t len = strlen(json);

	if (!out->stdout_async) {
		printf("%s\n", json);
		fflush(stdout);
		return;
	}
	if (out->pending_len + len + 1 > STDOUT_BUFFER_MAX) {
		out->stats.stdout_dropped++;
		return;
	}
	make_room(out, len + 1);
	memcpy(out->pending + out->pending_off + out->pending_len, json, len);
	out->pending[out->pending_off + out->pending_len + len] = '\n';
	out->pending_len += len + 1;
	/* A full pipe is written when it says it is writable, not tried again at every line. */
	if (out->pending_len > len + 1)
		return;
	if (write_pending(out) == -EPIPE)
		drop_pending(out);
	update_stdout_source(out);
}

/* As sd_journal_stream_fd(3) says: $JOURNAL_STREAM is "DEV:INODE" of the stream systemd connected. */
static bool stdout_is_journal_stream(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	return env && sscanf(env, "%llu:%llu", &dev, &ino) == 2 && fstat(STDOUT_FILENO, &st) == 0 &&
	       (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

struct output *output_new(sd_event *event, const struct cfg_outputs *cfg)
{
	struct output *out = xcalloc(1, sizeof(*out));

	out->event = sd_event_ref(event);
	out->stdout_is_journal = stdout_is_journal_stream();
	output_configure(out, cfg);
	return out;
}

/* Under systemd with both outputs on, stdout would put every event in the journal a second time. */
static bool stdout_wanted(const struct output *out)
{
	return out->to_stdout && !(out->stdout_is_journal && out->journal);
}

void output_configure(struct output *out, const struct cfg_outputs *cfg)
{
	bool was_wanted = stdout_wanted(out);

	out->journal = cfg->journal;
	out->to_stdout = cfg->to_stdout;
	if (out->to_stdout && !stdout_wanted(out) && (was_wanted || !out->stats.events))
		log_notice("stdout is the journal stream and outputs.journal is on: events go to the "
			   "journal once, as entries, not also as JSON lines on stdout");
	if (stdout_wanted(out) && !out->stdout_source && !out->stdout_async)
		setup_stdout(out);
	if (out->syslog) {
		out->stats.syslog_dropped += syslogout_dropped(out->syslog);
		syslogout_free(out->syslog);
		out->syslog = NULL;
	}
	if (cfg->syslog.enabled)
		out->syslog = syslogout_new(&cfg->syslog);
}

void output_emit(struct output *out, const struct event *event, const char *json)
{
	char message[512];

	out->stats.events++;
	if (stdout_wanted(out))
		emit_stdout(out, json);
	if (out->journal || out->syslog)	/* the one-line text is theirs alone */
		event_describe(event, message, sizeof(message));
	if (out->journal && journal_send_event(event, message) < 0)
		out->stats.journal_failed++;
	if (out->syslog)
		syslogout_send(out->syslog, event, message);
}

/* journald's default RateLimitBurst= when the unit does not say (journald.conf(5)). */
#define JOURNALD_DEFAULT_BURST 10000ull

/* Journal entries one event makes: native, and syslog when the syslog socket is journald's. */
static unsigned journal_entries_per_event(const struct output *out, const struct cfg_outputs *cfg)
{
	char *real = cfg->syslog.enabled ? realpath(cfg->syslog.socket, NULL) : NULL;
	unsigned n = out->journal + (out->to_stdout && out->stdout_is_journal && !out->journal);

	if (real && strcmp(real, "/run/systemd/journal/dev-log") == 0)
		n++;
	free(real);
	return n;
}

void output_check_rate_limit(const struct output *out, const struct cfg_outputs *cfg,
			     size_t nagents)
{
	const char *env = getenv("AGENTWATCHD_LOG_RATE_LIMIT_BURST");
	unsigned long long burst = JOURNALD_DEFAULT_BURST, need;
	unsigned per_event = journal_entries_per_event(out, cfg);
	char *end = NULL;

	if (env && *env) {
		errno = 0;
		burst = strtoull(env, &end, 10);
		if (errno || *end || burst == 0) {
			log_warn("AGENTWATCHD_LOG_RATE_LIMIT_BURST=%s is not a positive number", env);
			return;
		}
	} else if (!getenv("INVOCATION_ID") && !getenv("JOURNAL_STREAM")) {
		return;		/* not under systemd, and not told of a limit */
	}
	need = (unsigned long long)nagents * OUTPUT_BASELINE_EVENTS * per_event;
	if (need > burst)
		log_warn("start-up can write %llu journal entries at once (%zu agents x %d events x %u "
			 "entries each), more than the journal's rate limit of %llu per interval%s: "
			 "journald would drop the rest; raise LogRateLimitBurst= and "
			 "AGENTWATCHD_LOG_RATE_LIMIT_BURST= in the unit (see agentwatchd(8))", need,
			 nagents, OUTPUT_BASELINE_EVENTS, per_event, burst,
			 env && *env ? "" : " (journald's default)");
}

void output_drain(struct output *out, uint64_t timeout_us)
{
	uint64_t deadline = util_now_monotonic_us() + timeout_us;

	while (out->pending_len > 0) {
		uint64_t now = util_now_monotonic_us();
		struct pollfd pfd = { .fd = STDOUT_FILENO, .events = POLLOUT };
		int r;

		if (now >= deadline || poll(&pfd, 1, (int)((deadline - now) / 1000) + 1) <= 0)
			break;
		r = write_pending(out);
		if (r < 0 && r != -EAGAIN)
			break;
	}
}

void output_get_stats(const struct output *out, struct output_stats *stats)
{
	*stats = out->stats;
	if (out->syslog)
		stats->syslog_dropped += syslogout_dropped(out->syslog);
}

void output_free(struct output *out)
{
	if (!out)
		return;
	syslogout_free(out->syslog);
	journal_close();
	sd_event_source_disable_unref(out->stdout_source);
	sd_event_unref(out->event);
	free(out->pending);
	free(out);
}
