/*
 * clockshift: an LD_PRELOAD shim that steps the wall clock of one process while it runs.
 *
 * CLOCK_REALTIME and CLOCK_REALTIME_COARSE (clock_gettime), gettimeofday() and time() return the
 * real time plus an offset in seconds (a decimal, may be negative) read from the file named by
 * $AW_CLOCKSHIFT_FILE; every other clock, and so every timer, is left alone. The file is read
 * again on every call, so a test steps the clock by rewriting it (write a temp file and rename
 * it over, so that no call sees it half written). A missing or unreadable file means no shift.
 * Unlike libfaketime, nothing else is faked: the event loop's timers keep running.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

static clock_gettime_fn real_clock_gettime(void)
{
	static clock_gettime_fn fn;

	if (!fn)
		fn = (clock_gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
	return fn;
}

/* The offset now, in nanoseconds: one open and read per call, no stdio, no allocation. */
static int64_t offset_ns(void)
{
	const char *path = getenv("AW_CLOCKSHIFT_FILE");
	char buf[64];
	ssize_t n;
	int fd;

	if (!path || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	return (int64_t)(strtod(buf, NULL) * 1e9);
}

static void shift(struct timespec *ts)
{
	int64_t ns = (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec + offset_ns();

	ts->tv_sec = (time_t)(ns / 1000000000);
	ts->tv_nsec = (long)(ns % 1000000000);
	if (ts->tv_nsec < 0) {
		ts->tv_nsec += 1000000000;
		ts->tv_sec--;
	}
}

int clock_gettime(clockid_t clock, struct timespec *ts)
{
	int r = real_clock_gettime()(clock, ts);

	if (r == 0 && (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE))
		shift(ts);
	return r;
}

int gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec ts;

	(void)tz;
	clock_gettime(CLOCK_REALTIME, &ts);
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}

time_t time(time_t *t)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	if (t)
		*t = ts.tv_sec;
	return ts.tv_sec;
}
