/* log: the daemon's own diagnostics on stderr, with sd-daemon priority prefixes under systemd. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* What a stalled stderr socket may hold back before new lines are dropped. */
#define PENDING_MAX (64u << 10)

static int max_level = LOG_LEVEL_NOTICE;

/* Lines a stderr socket did not take yet, and those dropped since; under flockfile(stderr). */
static char *pending;
static size_t pending_len;
static unsigned long long dropped;

void log_set_level(int level)
{
	max_level = level;
}

/* Under systemd stderr is a journal stream: a "<N>" prefix sets the entry's priority. */
static int stderr_is_journal(void)
{
	static int cached = -1;

	if (cached < 0)
		cached = getenv("JOURNAL_STREAM") != NULL;
	return cached;
}

/* A socket (journald's stream under systemd) is written without blocking; files and pipes not. */
static int stderr_is_socket(void)
{
	static int cached = -1;
	struct stat st;

	if (cached < 0)
		cached = fstat(STDERR_FILENO, &st) == 0 && S_ISSOCK(st.st_mode);
	return cached;
}

static void flush_pending(void)
{
	while (pending_len > 0) {
		ssize_t n = send(STDERR_FILENO, pending, pending_len,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN)
			pending_len = 0;	/* the reader is gone: nothing to keep it for */
		if (n <= 0)
			return;
		memmove(pending, pending + n, pending_len - (size_t)n);
		pending_len -= (size_t)n;
	}
}

static bool queue(const char *text, size_t len)
{
	if (pending_len + len > PENDING_MAX)
		return false;
	if (!pending)
		pending = xmalloc(PENDING_MAX);
	memcpy(pending + pending_len, text, len);
	pending_len += len;
	return true;
}

static char *format_line(int level, const char *fmt, va_list ap)
{
	char *body = xvasprintf(fmt, ap);
	char *line = stderr_is_journal() ? xasprintf("<%d>%s\n", level, body) :
					   xasprintf("agentwatchd: %s\n", body);

	free(body);
	return line;
}

/*
 * journald stopped or busy must not stop the daemon: a socket stderr gets the line without
 * waiting, held back up to PENDING_MAX, dropped past that and the drops told once it drains.
 */
static void write_socket(const char *line)
{
	flush_pending();
	if (dropped && pending_len == 0) {
		char *note = xasprintf("%s%llu diagnostics dropped: standard error did not take them\n",
				       stderr_is_journal() ? "<4>" : "agentwatchd: ", dropped);

		if (queue(note, strlen(note)))
			dropped = 0;
		free(note);
	}
	if (!queue(line, strlen(line)))
		dropped++;
	flush_pending();
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;
	char *line;

	if (level > max_level)
		return;
	va_start(ap, fmt);
	line = format_line(level, fmt, ap);
	va_end(ap);
	flockfile(stderr);
	if (stderr_is_socket())
		write_socket(line);
	else
		fputs(line, stderr);
	funlockfile(stderr);
	free(line);
}
