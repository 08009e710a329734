/* syslogout: events as key=value lines to the local syslog daemon, never blocking the loop. */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "dgram.h"
#include "syslogout.h"
#include "util.h"

#define LINE_MAX_BYTES 4096

struct syslogout {
	struct dgram sock;
	int facility;
	char *ident;
};

struct line {
	char *buf;
	size_t size;
	size_t len;
};

static void put_raw(struct line *l, const char *s, size_t n)
{
	if (l->len + n >= l->size)
		n = l->size - 1 - l->len;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	l->buf[l->len] = '\0';
}

static bool needs_quotes(const char *v)
{
	if (!*v)
		return true;
	for (; *v; v++)
		if ((unsigned char)*v <= ' ' || *v == '"' || *v == '=' || *v == '\\' || *v == 0x7f)
			return true;
	return false;
}

/* key=value, the value quoted when needed; control characters as \xNN so a line stays a line. */
static void put_pair(struct line *l, const char *key, const char *value)
{
	bool quote = needs_quotes(value);

	if (l->len)
		put_raw(l, " ", 1);
	put_raw(l, key, strlen(key));
	put_raw(l, quote ? "=\"" : "=", quote ? 2 : 1);
	for (const char *v = value; *v; v++) {
		unsigned char c = (unsigned char)*v;
		char esc[5];

		if (c < 0x20 || c == 0x7f) {
			snprintf(esc, sizeof(esc), "\\x%02x", c);
			put_raw(l, esc, 4);
		} else if (c == '"' || c == '\\') {
			esc[0] = '\\';
			esc[1] = (char)c;
			put_raw(l, esc, 2);
		} else {
			put_raw(l, v, 1);
		}
	}
	if (quote)
		put_raw(l, "\"", 1);
}

static void put_number(struct line *l, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void put_number(struct line *l, const char *key, const char *fmt, ...)
{
	char value[32];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	put_pair(l, key, value);
}

void syslogout_format(const struct event *ev, const char *message, char *buf, size_t size)
{
	struct line l = { buf, size, 0 };
	const struct cfg_agent *a = ev->agent;
	char when[UTIL_TIME_LEN];

	buf[0] = '\0';
	util_format_time(ev->time_us, when);
	put_pair(&l, "event", event_type_name(ev->type));
	put_pair(&l, "id", ev->id);
	put_pair(&l, "time", when);
	put_number(&l, "cc", "%u", a->cc);
	put_number(&l, "vdn", "%u", a->vdn);
	put_number(&l, "agent", "%u", a->id);
	if (a->group && a->group->name)
		put_pair(&l, "name", a->group->name);
	if (ev->call_id)
		put_pair(&l, "call_id", ev->call_id);
	if (ev->type == EVENT_CALL_ENDED || ev->type == EVENT_CALL_LONG)
		put_number(&l, "duration", "%.3f", event_call_duration(ev));
	if (ev->type == EVENT_AGENT_UNREACHABLE) {
		put_number(&l, "failures", "%u", ev->failures);
		put_pair(&l, "reason", ev->reason ? ev->reason : "");
	}
	if (ev->initial)
		put_pair(&l, "initial", "true");
	if (ev->after_restart)
		put_pair(&l, "after_restart", "true");
	put_pair(&l, "msg", message);
}

struct syslogout *syslogout_new(const struct cfg_syslog *cfg)
{
	struct syslogout *out = xcalloc(1, sizeof(*out));

	dgram_open(&out->sock, "syslog", cfg->socket);
	out->facility = cfg->facility;
	out->ident = xstrdup(cfg->ident);
	return out;
}

void syslogout_free(struct syslogout *out)
{
	if (!out)
		return;
	dgram_close(&out->sock);
	free(out->ident);
	free(out);
}

static int severity_of(enum event_type type)
{
	return type == EVENT_AGENT_UNREACHABLE ? LOG_WARNING :
	       type == EVENT_CALL_LONG ? LOG_NOTICE : LOG_INFO;
}

void syslogout_send(struct syslogout *out, const struct event *ev, const char *message)
{
	char line[LINE_MAX_BYTES];
	char stamp[32];
	time_t secs = (time_t)(ev->time_us / 1000000u);
	struct tm tm;
	struct iovec iov;
	int n;

	localtime_r(&secs, &tm);
	strftime(stamp, sizeof(stamp), "%b %e %H:%M:%S", &tm);
	/* The RFC 3164 form that glibc's syslog(3) sends to /dev/log. */
	n = snprintf(line, sizeof(line), "<%d>%s %s[%d]: ", out->facility | severity_of(ev->type),
		     stamp, out->ident, (int)getpid());
	syslogout_format(ev, message, line + n, sizeof(line) - (size_t)n);
	iov.iov_base = line;
	iov.iov_len = strlen(line);
	(void)dgram_send(&out->sock, &iov, 1);
}

uint64_t syslogout_dropped(const struct syslogout *out)
{
	return out->sock.dropped;
}
