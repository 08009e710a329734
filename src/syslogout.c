/* syslogout: events as key=value lines to the local syslog daemon, never blocking the loop. */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "cfgcheck.h"
#include "cmscodes.h"
#include "dgram.h"
#include "syslogout.h"
#include "utf8.h"
#include "util.h"

#define LINE_MAX_BYTES 4096
/* The most a name or a reason takes of a line, so that msg still fits after them. */
#define TEXT_SHARE 1024

struct syslogout {
	struct dgram sock;
	int facility;
	char *ident;
};

struct line {
	char *buf;
	size_t size;
	size_t len;
	bool full;		/* a value was cut: nothing more goes on the line */
};

/* Appends n bytes when they fit with the NUL; otherwise nothing. */
static bool put_raw(struct line *l, const char *s, size_t n)
{
	if (l->full || n >= l->size - l->len)
		return false;
	memcpy(l->buf + l->len, s, n);
	l->len += n;
	l->buf[l->len] = '\0';
	return true;
}

/*
 * The text the value's next character takes in the line, in esc or (a whole UTF-8 character)
 * at v itself; returns its length. Control characters and bytes that are not UTF-8 become
 * \xNN, so that a line stays one valid line.
 */
static size_t unit(const char *v, char esc[5], const char **text)
{
	unsigned char c = (unsigned char)*v;
	size_t n = c < 0x80 ? 1 : utf8_char_len(v, strnlen(v, 4));

	*text = esc;
	if (c < 0x20 || c == 0x7f || n == 0) {
		snprintf(esc, 5, "\\x%02x", c);
		return 4;
	}
	if (c == '"' || c == '\\') {
		esc[0] = '\\';
		esc[1] = (char)c;
		return 2;
	}
	*text = v;
	return n;
}

/* The input bytes of the unit at v: one for an escape, the character's length otherwise. */
static size_t unit_input(const char *v)
{
	size_t n = (unsigned char)*v < 0x80 ? 1 : utf8_char_len(v, strnlen(v, 4));

	return n ? n : 1;
}

static size_t escaped_len(const char *value)
{
	const char *text;
	char esc[5];
	size_t n = 0;

	for (const char *v = value; *v; v += unit_input(v))
		n += unit(v, esc, &text);
	return n;
}

static bool needs_quotes(const char *v)
{
	if (!*v || !utf8_valid(v, strlen(v), NULL))
		return true;
	for (; *v; v++)
		if ((unsigned char)*v <= ' ' || *v == '"' || *v == '=' || *v == '\\' || *v == 0x7f)
			return true;
	return false;
}

/*
 * key=value, the value quoted when needed. A value longer than max bytes (as written, escapes
 * included) or than the line has room for is cut between two characters and ends in
 * UTF8_CUT_MARK; when it was the line that was too short, the line ends there.
 */
static void put_text(struct line *l, const char *key, const char *value, size_t max)
{
	bool quote = needs_quotes(value), line_cut, cut;
	size_t head = (l->len ? 1 : 0) + strlen(key) + 1 + quote, room, len = escaped_len(value), n;
	size_t mark = strlen(UTF8_CUT_MARK), want = len < max ? len : max;
	const char *text;
	char esc[5];

	if (l->full || head + mark + quote >= l->size - l->len) {
		l->full = true;
		return;
	}
	room = l->size - l->len - 1 - head - quote;	/* for the value, without the NUL */
	line_cut = want > room;
	cut = line_cut || want < len;
	if (cut)
		room = (want < room ? want : room) - mark;
	if (l->len)
		put_raw(l, " ", 1);
	put_raw(l, key, strlen(key));
	put_raw(l, quote ? "=\"" : "=", quote ? 2 : 1);
	for (const char *v = value; *v; v += unit_input(v)) {
		n = unit(v, esc, &text);
		if (n > room)
			break;
		put_raw(l, text, n);
		room -= n;
	}
	if (cut)
		put_raw(l, UTF8_CUT_MARK, mark);
	if (quote)
		put_raw(l, "\"", 1);
	l->full = line_cut;
}

static void put_pair(struct line *l, const char *key, const char *value)
{
	put_text(l, key, value, SIZE_MAX);
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

/* A code as its name, or the number itself (product.md). */
static void put_code(struct line *l, const char *key, const char *(*name_of)(int), int code)
{
	if (name_of(code))
		put_pair(l, key, name_of(code));
	else
		put_number(l, key, "%d", code);
}

/* What a batch answer said of the call, and the agent's CTI state. */
static void put_detail(struct line *l, const struct event *ev)
{
	const struct event_call_detail *d = &ev->detail;
	const struct event_agent_state *st = &ev->state;
	char since[UTIL_TIME_LEN];

	if (ev->call_id && d->status != CMS_CODE_NONE)
		put_code(l, "call_status", cmscodes_call_status_name, d->status);
	if (ev->type == EVENT_CALL_STATUS && d->previous_status != CMS_CODE_NONE)
		put_code(l, "previous_call_status", cmscodes_call_status_name, d->previous_status);
	if (ev->call_id && d->direction != CMS_CODE_NONE)
		put_code(l, "direction", cmscodes_direction_name, d->direction);
	if (ev->call_id && d->media != CMS_CODE_NONE)
		put_code(l, "media", cmscodes_media_name, d->media);
	if (ev->type != EVENT_AGENT_STATE && ev->type != EVENT_AGENT_LONG_STATE)
		return;
	put_code(l, "state", cmscodes_state_name, st->code);
	if (st->previous_code != CMS_CODE_NONE)
		put_code(l, "previous_state", cmscodes_state_name, st->previous_code);
	util_format_time(st->since_us, since);
	put_pair(l, "state_since", since);
	if (ev->type == EVENT_AGENT_STATE && st->reason != CMS_CODE_NONE)
		put_number(l, "reason_code", "%d", (int)st->reason);
	if (ev->type == EVENT_AGENT_LONG_STATE) {
		put_number(l, "threshold", "%g", st->threshold);
		put_number(l, "duration", "%.3f", (double)(st->duration_us / 1000u) / 1000.0);
	}
}

void syslogout_format(const struct event *ev, const char *message, char *buf, size_t size)
{
	struct line l = { buf, size, 0, false };
	const struct cfg_agent *a = ev->agent;
	char when[UTIL_TIME_LEN];

	buf[0] = '\0';
	util_format_time(ev->time_us, when);
	/* The fixed fields first, the free text last: a cut never loses an id or a number. */
	put_pair(&l, "event", event_type_name(ev->type));
	put_pair(&l, "id", ev->id);
	put_pair(&l, "time", when);
	put_number(&l, "cc", "%u", a->cc);
	put_number(&l, "vdn", "%u", a->vdn);
	put_number(&l, "agent", "%u", a->id);
	if (ev->call_id)
		put_pair(&l, "call_id", ev->call_id);
	if (ev->type == EVENT_CALL_ENDED || ev->type == EVENT_CALL_LONG)
		put_number(&l, "duration", "%.3f", event_call_duration(ev));
	if (ev->type == EVENT_AGENT_UNREACHABLE)
		put_number(&l, "failures", "%u", ev->failures);
	put_detail(&l, ev);
	if (ev->initial)
		put_pair(&l, "initial", "true");
	if (ev->after_restart)
		put_pair(&l, "after_restart", "true");
	if (ev->type == EVENT_AGENT_UNREACHABLE)
		put_text(&l, "reason", ev->reason ? ev->reason : "", TEXT_SHARE);
	if (ev->call_id && ev->detail.submedia)
		put_text(&l, "submedia", ev->detail.submedia, TEXT_SHARE);
	if (a->group && a->group->name)
		put_text(&l, "name", a->group->name, TEXT_SHARE);
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
	       type == EVENT_CALL_LONG || type == EVENT_AGENT_LONG_STATE ? LOG_NOTICE : LOG_INFO;
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
	/* cfg bounds the ident; it is clamped here too, so the header never fills the line. */
	n = snprintf(line, sizeof(line), "<%d>%s %.*s[%d]: ", out->facility | severity_of(ev->type),
		     stamp, CFG_IDENT_MAX, out->ident, (int)getpid());
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	syslogout_format(ev, message, line + n, sizeof(line) - (size_t)n);
	iov.iov_base = line;
	iov.iov_len = strlen(line);
	(void)dgram_send(&out->sock, &iov, 1);
}

uint64_t syslogout_dropped(const struct syslogout *out)
{
	return out->sock.dropped;
}
