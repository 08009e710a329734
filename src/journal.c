/* journal: an event as one structured journald entry (MESSAGE_ID per type, fields to filter on). */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <syslog.h>

#include "cmscodes.h"
#include "dgram.h"
#include "journal.h"
#include "util.h"

/* journald's native socket; sd_journal_sendv would block on it whenever journald stalls. */
#define JOURNAL_SOCKET "/run/systemd/journal/socket"

#define FIXED_FIELDS 32	/* every field but the labels, with room to spare */

static const char *const message_ids[EVENT_TYPE_COUNT] = {
	[EVENT_CALL_STARTED] = "aa2dbd8f745a45558d040a20d5bc44ec",
	[EVENT_CALL_ENDED] = "8d46e381926f45c7a365342b3aae3a1c",
	[EVENT_CALL_LONG] = "3ffe0cda3ee0465eb6cb06d22df3ce98",
	[EVENT_AGENT_BUSY] = "7a6b578135a242d281fac03b77b7b863",
	[EVENT_AGENT_IDLE] = "f2a59748efb240998415fcee1aeca5f0",
	[EVENT_AGENT_UNREACHABLE] = "f0cb563ee8d64d4d8f961e8f88e5a2df",
	[EVENT_AGENT_REACHABLE] = "263ae496da014c6ca9cda3a1e4afd5dd",
	[EVENT_CALL_STATUS] = "7db099a187e54d089079b90475ac3246",
	[EVENT_AGENT_STATE] = "b6a34712fd444431b8e1240a84b6a0fb",
	[EVENT_AGENT_LONG_STATE] = "f2e81d8881d54071af422b59e5b02597",
};

const char *journal_message_id(enum event_type type)
{
	return message_ids[type];
}

static int priority_of(enum event_type type)
{
	switch (type) {
	case EVENT_AGENT_UNREACHABLE:
		return LOG_WARNING;
	case EVENT_CALL_LONG:
	case EVENT_AGENT_LONG_STATE:
		return LOG_NOTICE;
	default:
		return LOG_INFO;
	}
}

struct fields {
	struct iovec *iov;
	char **owned;
	int n, cap;
};

static void field(struct fields *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void field(struct fields *f, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (f->n == f->cap)	/* sized up front; cannot happen, but never overrun */
		return;
	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	f->owned[f->n] = s;
	f->iov[f->n].iov_base = s;
	f->iov[f->n].iov_len = strlen(s);
	f->n++;
}

/* Label keys are [a-zA-Z_][a-zA-Z0-9_]*: upper-cased they are valid journal field names. */
static void label_fields(struct fields *f, const struct cfg_group *group)
{
	for (size_t i = 0; group && i < group->nlabels; i++) {
		char key[128];
		size_t k;

		for (k = 0; group->labels[i].key[k] && k + 1 < sizeof(key); k++)
			key[k] = (char)toupper((unsigned char)group->labels[i].key[k]);
		key[k] = '\0';
		field(f, "AGENT_LABEL_%s=%s", key, group->labels[i].value);
	}
}

/* A code as its name, or the number itself (product.md). */
static void code_field(struct fields *f, const char *key, const char *(*name_of)(int), int code)
{
	const char *name = name_of(code);

	if (name)
		field(f, "%s=%s", key, name);
	else
		field(f, "%s=%d", key, code);
}

/* What a batch answer said of the call, and the agent's CTI state. */
static void detail_fields(struct fields *f, const struct event *ev)
{
	const struct event_call_detail *d = &ev->detail;
	const struct event_agent_state *st = &ev->state;
	char since[UTIL_TIME_LEN];

	if (ev->call_id && d->status != CMS_CODE_NONE)
		code_field(f, "CALL_STATUS", cmscodes_call_status_name, d->status);
	if (ev->type == EVENT_CALL_STATUS && d->previous_status != CMS_CODE_NONE)
		code_field(f, "CALL_PREVIOUS_STATUS", cmscodes_call_status_name, d->previous_status);
	if (ev->call_id && d->direction != CMS_CODE_NONE)
		code_field(f, "CALL_DIRECTION", cmscodes_direction_name, d->direction);
	if (ev->call_id && d->media != CMS_CODE_NONE) {
		code_field(f, "CALL_MEDIA", cmscodes_media_name, d->media);
		field(f, "CALL_MEDIA_TYPE=%d", (int)d->media);
	}
	if (ev->call_id && d->submedia)
		field(f, "CALL_SUBMEDIA=%s", d->submedia);
	if (ev->type != EVENT_AGENT_STATE && ev->type != EVENT_AGENT_LONG_STATE)
		return;
	code_field(f, "AGENT_STATE", cmscodes_state_name, st->code);
	field(f, "AGENT_STATE_CODE=%d", (int)st->code);
	util_format_time(st->since_us, since);
	field(f, "AGENT_STATE_SINCE=%s", since);
	if (st->previous_code != CMS_CODE_NONE)
		code_field(f, "AGENT_PREVIOUS_STATE", cmscodes_state_name, st->previous_code);
	if (ev->type == EVENT_AGENT_STATE && st->reason != CMS_CODE_NONE)
		field(f, "AGENT_STATE_REASON=%d", (int)st->reason);
	if (ev->type == EVENT_AGENT_LONG_STATE) {
		field(f, "STATE_THRESHOLD=%g", st->threshold);
		field(f, "STATE_DURATION=%.3f", (double)(st->duration_us / 1000u) / 1000.0);
	}
}

static struct dgram journal_sock = { .fd = -1 };

/*
 * journald's native protocol: "NAME=value\n" per field, or, for a value holding a newline,
 * "NAME\n", its length as 64-bit little endian, the value and "\n".
 */
static char *serialize(const struct iovec *iov, int n, size_t *len)
{
	size_t cap = 0, at = 0;
	char *buf;

	for (int i = 0; i < n; i++)
		cap += iov[i].iov_len + 9;
	buf = xmalloc(cap + 1);
	for (int i = 0; i < n; i++) {
		const char *field = iov[i].iov_base;
		const char *eq = memchr(field, '=', iov[i].iov_len);
		size_t name_len, value_len;

		if (!eq)
			continue;	/* not a field: every caller's has NAME= */
		name_len = (size_t)(eq - field);
		value_len = iov[i].iov_len - name_len - 1;
		if (!memchr(eq + 1, '\n', value_len)) {
			memcpy(buf + at, field, iov[i].iov_len);
			at += iov[i].iov_len;
		} else {
			memcpy(buf + at, field, name_len);
			at += name_len;
			buf[at++] = '\n';
			for (int b = 0; b < 8; b++)
				buf[at++] = (char)(((uint64_t)value_len >> (8 * b)) & 0xff);
			memcpy(buf + at, eq + 1, value_len);
			at += value_len;
		}
		buf[at++] = '\n';
	}
	*len = at;
	return buf;
}

static int send_entry(const struct iovec *fields, int n)
{
	struct iovec iov;
	int err;

	if (!journal_sock.path)
		dgram_open(&journal_sock, "journal", JOURNAL_SOCKET);
	iov.iov_base = serialize(fields, n, &iov.iov_len);
	err = dgram_send(&journal_sock, &iov, 1);
	free(iov.iov_base);
	return -err;
}

void journal_close(void)
{
	dgram_close(&journal_sock);
}

int journal_send_event(const struct event *ev, const char *message)
{
	const struct cfg_agent *a = ev->agent;
	char when[UTIL_TIME_LEN];
	size_t nlabels = a->group ? a->group->nlabels : 0;
	struct fields f = { .cap = (int)(FIXED_FIELDS + nlabels) };
	int r;

	f.iov = xcalloc((size_t)f.cap, sizeof(f.iov[0]));
	f.owned = xcalloc((size_t)f.cap, sizeof(f.owned[0]));
	util_format_time(ev->time_us, when);
	field(&f, "MESSAGE=%s", message);
	field(&f, "MESSAGE_ID=%s", message_ids[ev->type]);
	field(&f, "PRIORITY=%d", priority_of(ev->type));
	field(&f, "SYSLOG_IDENTIFIER=agentwatchd");
	field(&f, "AGENTWATCH_EVENT=%s", event_type_name(ev->type));
	field(&f, "EVENT_ID=%s", ev->id);
	field(&f, "EVENT_TIME=%s", when);
	field(&f, "AGENT_CC=%u", a->cc);
	field(&f, "AGENT_VDN=%u", a->vdn);
	field(&f, "AGENT_ID=%u", a->id);
	if (a->group && a->group->name)
		field(&f, "AGENT_NAME=%s", a->group->name);
	label_fields(&f, a->group);
	if (ev->call_id)
		field(&f, "CALL_ID=%s", ev->call_id);
	if (ev->type == EVENT_CALL_ENDED || ev->type == EVENT_CALL_LONG)
		field(&f, "CALL_DURATION=%.3f", event_call_duration(ev));
	if (ev->type == EVENT_AGENT_BUSY)
		field(&f, "CALLS=%u", ev->ncalls);
	if (ev->type == EVENT_AGENT_UNREACHABLE) {
		field(&f, "REASON=%s", ev->reason ? ev->reason : "");
		field(&f, "FAILURES=%u", ev->failures);
	}
	detail_fields(&f, ev);
	if (ev->initial)
		field(&f, "INITIAL=1");
	if (ev->after_restart)
		field(&f, "AFTER_RESTART=1");
	r = send_entry(f.iov, f.n);
	for (int i = 0; i < f.n; i++)
		free(f.owned[i]);
	free(f.owned);
	free(f.iov);
	return r;
}
