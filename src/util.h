/* util: allocation wrappers that abort, time helpers and small string tools. */
#ifndef AW_UTIL_H
#define AW_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Out of memory is not recoverable for a daemon of this size: abort with a message. */
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/*
 * Secrets: a zeroed buffer of size bytes, or a NUL-terminated copy of len bytes, in pages that
 * core dumps leave out (MADV_DONTDUMP); and a free that wipes them first (NULL is fine; len may
 * be any length up to the allocation's, the whole allocation is wiped). Abort when out of memory.
 */
char *util_secret_alloc(size_t size);
char *util_secret_dup(const char *secret, size_t len);
void util_secret_free(char *secret, size_t len);

/*
 * "scheme://host[:port]" of url, without user info, path, query or fragment, which may carry
 * credentials (Slack- and Teams-style webhook URLs hold their token in the path): the form in
 * which a URL may be logged. Allocated; the caller frees it.
 */
char *util_url_origin(const char *url);

/* Microseconds on CLOCK_REALTIME, CLOCK_MONOTONIC and CLOCK_BOOTTIME. */
uint64_t util_now_realtime_us(void);
uint64_t util_now_monotonic_us(void);
uint64_t util_now_boottime_us(void);

/* RFC 3339 UTC with milliseconds, "2026-11-25T23:01:02.345Z"; buf must hold UTIL_TIME_LEN bytes. */
#define UTIL_TIME_LEN 25
void util_format_time(uint64_t realtime_us, char buf[UTIL_TIME_LEN]);

/* Parses util_format_time's form back; returns 0, or -1 when text is not in that form. */
int util_parse_time(const char *text, uint64_t *realtime_us);

/* Lower-case hex of n bytes into out, which must hold 2n+1 bytes. */
void util_hex_lower(const unsigned char *in, size_t n, char *out);

/* Reads a whole small file; NULL with errno set on failure or when larger than max bytes. */
char *util_read_file(const char *path, size_t max, size_t *len);

/*
 * Replaces path with data atomically: a temporary file, rename; with durable, fsync of both the
 * file and its directory too. Returns 0, or -1 with errno set; path is never left half-written.
 */
int util_write_file_atomic(const char *path, const void *data, size_t len, bool durable);

/*
 * Takes an exclusive flock(2) on path (created 0600) and writes our PID into it. Returns the
 * descriptor, which holds the lock until it is closed (the caller owns it). Returns -1 with errno
 * set on failure; EWOULDBLOCK when another process holds it, with *holder set to the PID that
 * process wrote (0 when it cannot be read).
 */
int util_lock_file(const char *path, long *holder);

#endif
