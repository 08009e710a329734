/* util: allocation wrappers that abort, time helpers and small string tools. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "util.h"

static void *check_alloc(void *p)
{
	if (!p) {
		fputs("agentwatchd: out of memory\n", stderr);
		abort();
	}
	return p;
}

void *xmalloc(size_t n)
{
	return check_alloc(malloc(n ? n : 1));
}

void *xcalloc(size_t nmemb, size_t size)
{
	return check_alloc(calloc(nmemb ? nmemb : 1, size ? size : 1));
}

void *xrealloc(void *p, size_t n)
{
	return check_alloc(realloc(p, n ? n : 1));
}

void *xreallocarray(void *p, size_t nmemb, size_t size)
{
	return check_alloc(reallocarray(p, nmemb ? nmemb : 1, size ? size : 1));
}

char *xstrdup(const char *s)
{
	return check_alloc(strdup(s));
}

char *xstrndup(const char *s, size_t n)
{
	return check_alloc(strndup(s, n));
}

char *xvasprintf(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	return check_alloc(s);
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}

/*
 * Secrets live in pages of their own, marked MADV_DONTDUMP so that no core dump carries them
 * (even one written despite PR_SET_DUMPABLE 0, as root's suid_dumpable = 2 allows). The mapping's
 * size sits in a header before the secret, so a free needs no length.
 */
#define SECRET_HEADER 16

char *util_secret_alloc(size_t size)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t total = (SECRET_HEADER + size + page - 1) / page * page;
	char *map = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (map == MAP_FAILED)
		return check_alloc(NULL);
	/* Best effort: a kernel without it still has PR_SET_DUMPABLE 0 from main. */
	(void)madvise(map, total, MADV_DONTDUMP);
	memcpy(map, &total, sizeof(total));
	return map + SECRET_HEADER;
}

char *util_secret_dup(const char *secret, size_t len)
{
	char *copy = util_secret_alloc(len + 1);

	memcpy(copy, secret, len);
	copy[len] = '\0';
	return copy;
}

void util_secret_free(char *secret, size_t len)
{
	char *map;
	size_t total;

	(void)len;
	if (!secret)
		return;
	map = secret - SECRET_HEADER;
	memcpy(&total, map, sizeof(total));
	OPENSSL_cleanse(map, total);
	munmap(map, total);
}

char *util_url_origin(const char *url)
{
	const char *sep = strstr(url, "://");
	const char *host = sep ? sep + 3 : url;
	size_t n = strcspn(host, "/?#");
	const char *at = memrchr(host, '@', n);

	if (at) {
		n -= (size_t)(at + 1 - host);
		host = at + 1;
	}
	return xasprintf("%.*s%.*s", sep ? (int)(sep + 3 - url) : 0, url, (int)n, host);
}

static uint64_t now_us(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t util_now_realtime_us(void)
{
	return now_us(CLOCK_REALTIME);
}

uint64_t util_now_monotonic_us(void)
{
	return now_us(CLOCK_MONOTONIC);
}

uint64_t util_now_boottime_us(void)
{
	return now_us(CLOCK_BOOTTIME);
}

void util_format_time(uint64_t realtime_us, char buf[UTIL_TIME_LEN])
{
	time_t secs = (time_t)(realtime_us / 1000000u);
	unsigned ms = (unsigned)(realtime_us / 1000u % 1000u);
	struct tm tm;
	size_t n;

	gmtime_r(&secs, &tm);
	n = strftime(buf, UTIL_TIME_LEN, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, UTIL_TIME_LEN - n, ".%03uZ", ms);
}

int util_parse_time(const char *text, uint64_t *realtime_us)
{
	struct tm tm = { 0 };
	unsigned ms;
	int used = 0;
	time_t secs;

	if (sscanf(text, "%4d-%2d-%2dT%2d:%2d:%2d.%3uZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
		   &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &ms, &used) != 7 ||
	    used != UTIL_TIME_LEN - 1 || text[used] != '\0')
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	secs = timegm(&tm);
	if (secs < 0)
		return -1;
	*realtime_us = (uint64_t)secs * 1000000u + ms * 1000u;
	return 0;
}

void util_hex_lower(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

char *util_read_file(const char *path, size_t max, size_t *len)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = xmalloc(max + 1);
	n = fread(buf, 1, max + 1, f);
	if (ferror(f) || n > max) {
		int err = ferror(f) ? errno : EFBIG;

		fclose(f);
		free(buf);
		errno = err;
		return NULL;
	}
	fclose(f);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;
}

static int write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int util_write_file_atomic(const char *path, const void *data, size_t len, bool durable)
{
	char *tmp = xasprintf("%s.tmp", path);
	char *dir_copy = xstrdup(path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	int err = 0, dfd;

	if (fd < 0 || write_all(fd, data, len) < 0 || (durable && fsync(fd) < 0))
		err = errno;
	if (fd >= 0 && close(fd) < 0 && !err)
		err = errno;
	if (!err && rename(tmp, path) < 0)
		err = errno;
	if (err) {
		unlink(tmp);
	} else if (durable && (dfd = open(dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
		/* The rename itself is durable only once the directory is synced. */
		fsync(dfd);
		close(dfd);
	}
	free(tmp);
	free(dir_copy);
	errno = err;
	return err ? -1 : 0;
}

/* flock rather than a POSIX record lock: it belongs to the open file, not to the process. */
int util_lock_file(const char *path, long *holder)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOCTTY, 0600);
	char pid[24];
	ssize_t n;

	*holder = 0;
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int err = errno;

		n = pread(fd, pid, sizeof(pid) - 1, 0);
		if (n > 0) {
			pid[n] = '\0';
			*holder = strtol(pid, NULL, 10);
		}
		close(fd);
		errno = err;
		return -1;
	}
	n = snprintf(pid, sizeof(pid), "%ld\n", (long)getpid());
	/* The PID only serves another daemon's message: without it the lock holds all the same. */
	if (ftruncate(fd, 0) == 0)
		n = pwrite(fd, pid, (size_t)n, 0);
	return fd;
}
