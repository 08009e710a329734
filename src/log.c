/* log: the daemon's own diagnostics on stderr, with sd-daemon priority prefixes under systemd. */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"

static int max_level = LOG_LEVEL_NOTICE;

void log_set_level(int level)
{
	max_level = level;
}

int log_get_level(void)
{
	return max_level;
}

/* Under systemd stderr is a journal stream: a "<N>" prefix sets the entry's priority. */
static int stderr_is_journal(void)
{
	static int cached = -1;

	if (cached < 0)
		cached = getenv("JOURNAL_STREAM") != NULL;
	return cached;
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	if (level > max_level)
		return;
	flockfile(stderr);
	if (stderr_is_journal())
		fprintf(stderr, "<%d>", level);
	else
		fputs("agentwatchd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	funlockfile(stderr);
}
