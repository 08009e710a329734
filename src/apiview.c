/* apiview: the HTTP API's answers built from what the daemon knows: health, agents, event pages. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apiview.h"
#include "cmscodes.h"
#include "util.h"

/* ---- health ---- */

/* Statuses that mean the CMS was not reached, or refused the daemon itself. */
static bool reached(enum cms_status s)
{
	return s != CMS_ERR_AUTH && s != CMS_ERR_TIMEOUT && s != CMS_ERR_TLS && s != CMS_ERR_CONNECT;
}

void api_health_poll(struct api_health *h, const struct cms_result *res, uint64_t now_us)
{
	if (reached(res->status)) {
		h->reached_us = now_us;
		return;
	}
	h->failed = true;
	h->last_failure = res->status;
	snprintf(h->reason, sizeof h->reason, "%s", res->reason);
}

bool api_backlog_problem(const char *name, uint64_t queue, uint64_t dropped, size_t max_backlog,
			 char *buf, size_t size)
{
	/* The receiver drops down to nine tenths of max_backlog (whsend.c): one that dropped and
	 * is still at that mark has not caught up, it only got room to fall behind again. */
	size_t cut = max_backlog - max_backlog / 10;

	if (!max_backlog || (queue <= max_backlog && (!dropped || queue < cut)))
		return false;
	snprintf(buf, size, "webhook %s: backlog past max_backlog = %zu (%" PRIu64 " events behind, "
		 "%" PRIu64 " dropped since start)", name, max_backlog, queue, dropped);
	return true;
}

/* The first webhook receiver past its max_backlog, in buf; NULL when none is. */
static const char *webhook_problem(const struct api_view *v, char *buf, size_t size)
{
	size_t n = v->webhooks ? webhooks_count(v->webhooks) : 0;
	struct webhook_stats st;
	const char *name;
	uint64_t queue;

	/* Receivers are in configuration order (webhooks_configure). */
	for (size_t i = 0; i < n && i < v->cfg->outputs.nwebhooks; i++) {
		name = webhooks_receiver(v->webhooks, i, &queue, &st);
		if (api_backlog_problem(name, queue, st.dropped, v->cfg->outputs.webhooks[i].max_backlog,
					buf, size))
			return buf;
	}
	return NULL;
}

const char *api_health_problem(const struct api_view *v, char *buf, size_t size)
{
	const struct api_health *h = v->health;
	/* One agent's poll per interval is enough to tell; failing ones back off, so allow two. */
	double window = 2 * (v->cfg->poll.interval + v->cfg->cms.timeout) + 1;
	bool fresh = h->reached_us && (double)(v->now_us - h->reached_us) / 1e6 <= window;

	/* Unusable at start, or added by a reload (it takes effect at the next start). */
	if (v->cfg->state_dir && !v->state_dir)
		snprintf(buf, size, "state_dir %s is not in use: events are kept in memory only",
			 v->cfg->state_dir);
	else if (v->state_dir && evlog_disk_failing(v->log))
		snprintf(buf, size, "state_dir %s: the event log cannot be written", v->state_dir);
	else if (webhook_problem(v, buf, size))
		return buf;
	else if (fresh)
		return NULL;
	else if (h->failed && h->last_failure == CMS_ERR_AUTH)
		snprintf(buf, size, "CMS authentication rejected: %s", h->reason);
	else if (h->failed)
		snprintf(buf, size, "CMS unreachable: %s", h->reason);
	else if (h->reached_us)
		snprintf(buf, size, "no poll has reached the CMS for %.0f s",
			 (double)(v->now_us - h->reached_us) / 1e6);
	else
		snprintf(buf, size, "no poll has completed yet");
	return buf;
}

/* ---- agents ---- */

void api_filter_init(struct api_filter *f)
{
	*f = (struct api_filter){ .busy = -1, .unreachable = -1, .state = CMS_CODE_NONE };
}

static int parse_flag(const char *value)
{
	if (!value)
		return -1;
	if (strcmp(value, "1") == 0 || strcmp(value, "true") == 0)
		return 1;
	if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0)
		return 0;
	return -1;
}

/*
 * ?state=NAME: a CTI state name, or "unknown" as agentwatchd_agents{state} names agents with no
 * state known; "unreachable" is none (?unreachable=1 is).
 */
static const char *state_filter(struct api_filter *f, const char *value)
{
	size_t n;

	if (value && strcmp(value, CMS_STATE_UNKNOWN) == 0) {
		f->state = API_FILTER_STATE_UNKNOWN;
		return NULL;
	}
	if (value && (f->state = cmscodes_state_from_name(value)) != CMS_CODE_NONE)
		return NULL;
	n = (size_t)snprintf(f->why, sizeof f->why, "'%.32s' is not an agent state (",
			     value ? value : "");
	for (int c = 0; c < CMS_STATE_COUNT && n < sizeof f->why; c++)
		n += (size_t)snprintf(f->why + n, sizeof f->why - n, "%s%s", c ? ", " : "",
				      cmscodes_state_name(c));
	if (n < sizeof f->why)
		snprintf(f->why + n, sizeof f->why - n, ", " CMS_STATE_UNKNOWN ")");
	return f->why;
}

/* Whether key has a value already: busy=1&busy=0 asks for both, so a repeat is refused. */
static bool filter_given(const struct api_filter *f, const char *key)
{
	if (strcmp(key, "busy") == 0)
		return f->busy >= 0;
	if (strcmp(key, "unreachable") == 0)
		return f->unreachable >= 0;
	if (strcmp(key, "state") == 0)
		return f->state != CMS_CODE_NONE;
	for (size_t i = 0; i < f->nlabels && strncmp(key, "label.", 6) == 0; i++)
		if (strcmp(f->label_keys[i], key + 6) == 0)
			return true;
	return false;
}

const char *api_filter_add(struct api_filter *f, const char *key, const char *value)
{
	if (filter_given(f, key))
		return "given more than once (each filter takes one value)";
	if (strcmp(key, "busy") == 0 && (f->busy = parse_flag(value)) >= 0)
		return NULL;
	if (strcmp(key, "unreachable") == 0 && (f->unreachable = parse_flag(value)) >= 0)
		return NULL;
	if (strcmp(key, "busy") == 0 || strcmp(key, "unreachable") == 0)
		return "must be 1, 0, true or false";
	if (strcmp(key, "state") == 0)
		return state_filter(f, value);
	if (strncmp(key, "label.", 6) != 0)
		return "is not a filter (busy, unreachable, state, label.NAME)";
	if (!key[6] || !value)
		return "needs a label name and a value: label.NAME=VALUE";
	f->label_keys = xreallocarray(f->label_keys, f->nlabels + 1, sizeof(char *));
	f->label_values = xreallocarray(f->label_values, f->nlabels + 1, sizeof(char *));
	f->label_keys[f->nlabels] = key + 6;
	f->label_values[f->nlabels++] = value;
	return NULL;
}

static const char *label_of(const struct cfg_agent *a, const char *key)
{
	const struct cfg_group *g = a->group;

	for (size_t i = 0; g && i < g->nlabels; i++)
		if (strcmp(g->labels[i].key, key) == 0)
			return g->labels[i].value;
	return NULL;
}

bool api_filter_match(const struct api_filter *f, const struct agent_state *st)
{
	const char *v;

	if (f->busy >= 0 && (st->ncalls > 0) != f->busy)
		return false;
	if (f->unreachable >= 0 && st->unreachable != f->unreachable)
		return false;
	if (f->state == API_FILTER_STATE_UNKNOWN ? cmscodes_state_name(st->cti.code) != NULL :
	    f->state != CMS_CODE_NONE && st->cti.code != f->state)
		return false;
	for (size_t i = 0; i < f->nlabels; i++)
		if (!(v = label_of(st->cfg, f->label_keys[i])) || strcmp(v, f->label_values[i]) != 0)
			return false;
	return true;
}

void api_filter_clear(struct api_filter *f)
{
	free(f->label_keys);
	free(f->label_values);
	api_filter_init(f);
}

static int parse_u32(const char *text, char end, uint32_t max, uint32_t *v, const char **rest)
{
	unsigned long n;
	size_t digits = strspn(text, "0123456789");

	if (digits == 0 || digits > 10 || text[digits] != end)
		return -1;
	errno = 0;
	n = strtoul(text, NULL, 10);
	if (errno || n > max)
		return -1;
	*v = (uint32_t)n;
	*rest = text + digits + (end != '\0');
	return 0;
}

int api_parse_agent_id(const char *text, uint32_t *cc, uint32_t *vdn, uint32_t *id)
{
	if (parse_u32(text, ':', CFG_CC_MAX, cc, &text) < 0 ||
	    parse_u32(text, ':', CFG_VDN_MAX, vdn, &text) < 0 ||
	    parse_u32(text, '\0', 999999, id, &text) < 0)
		return -1;
	return 0;
}

/* A JSON string, escaped as json-c writes it with JSON_C_TO_STRING_NOSLASHESCAPE. */
static void json_string(FILE *out, const char *s)
{
	static const char special[] = "\"\\\b\f\n\r\t";
	size_t n;

	fputc('"', out);
	while (*s) {
		for (n = 0; s[n] && (unsigned char)s[n] >= 0x20 && s[n] != '"' && s[n] != '\\'; n++)
			;
		fwrite(s, 1, n, out);
		s += n;
		if (!*s)
			break;
		if (strchr(special, *s))
			fprintf(out, "\\%c", "\"\\bfnrt"[strchr(special, *s) - special]);
		else
			fprintf(out, "\\u%04x", (unsigned char)*s);
		s++;
	}
	fputc('"', out);
}

/* The agent's identity, the same fields as event_agent_json: written directly, because json-c
 * objects for 10,000 agents cost the loop tens of milliseconds. */
static void identity(FILE *out, const struct cfg_agent *a)
{
	const struct cfg_group *g = a->group;

	fprintf(out, "{\"cc\":%u,\"vdn\":%u,\"id\":%u", a->cc, a->vdn, a->id);
	if (g && g->name) {
		fputs(",\"name\":", out);
		json_string(out, g->name);
	}
	if (g && g->nlabels) {
		fputs(",\"labels\":{", out);
		for (size_t i = 0; i < g->nlabels; i++) {
			if (i)
				fputc(',', out);
			json_string(out, g->labels[i].key);
			fputc(':', out);
			json_string(out, g->labels[i].value);
		}
		fputc('}', out);
	}
}

/* ,"key":"name" for a code with a name, ,"key":N for one without: the events' naming rule. */
static void code_name(FILE *out, const char *key, int code, const char *(*name)(int))
{
	const char *text = name(code);

	if (text)
		fprintf(out, ",\"%s\":\"%s\"", key, text);
	else
		fprintf(out, ",\"%s\":%d", key, code);
}

/* Seconds from since_boot_us to now on the boot clock, in whole milliseconds, never below 0. */
static double age_seconds(int64_t since_boot_us, int64_t now_boot_us)
{
	int64_t us = now_boot_us - since_boot_us;

	return us > 0 ? (double)(us / 1000) / 1000.0 : 0.0;
}

/* What the batch interface tells of a call; nothing when the agent is polled one by one. */
static void call_detail(FILE *out, const struct agent_call *call)
{
	if (call->status != CMS_CODE_NONE) {
		code_name(out, "status", call->status, cmscodes_call_status_name);
		fprintf(out, ",\"status_code\":%d", call->status);
	}
	if (call->direction != CMS_CODE_NONE)
		code_name(out, "direction", call->direction, cmscodes_direction_name);
	if (call->media != CMS_CODE_NONE) {
		code_name(out, "media", call->media, cmscodes_media_name);
		fprintf(out, ",\"media_type\":%d", (int)call->media);
	}
	if (call->submedia) {
		fputs(",\"submedia\":", out);
		json_string(out, call->submedia);
	}
}

static void calls(FILE *out, const struct agent_state *st, const struct agents_clock *now)
{
	char since[UTIL_TIME_LEN];

	fputs(",\"calls\":[", out);
	for (uint32_t i = 0; i < st->ncalls; i++) {
		const struct agent_call *call = &st->calls[i];

		util_format_time(call->first_seen_us, since);
		fprintf(out, "%s{\"id\":", i ? "," : "");
		json_string(out, call->id);
		/* Whole milliseconds, as the event's durations. */
		fprintf(out, ",\"since\":\"%s\",\"duration\":%.3f", since,
			(double)(agents_call_age_us(call, now->boot_us) / 1000u) / 1000.0);
		call_detail(out, call);
		fprintf(out, ",\"long\":%s}", call->long_reported ? "true" : "false");
	}
	fputc(']', out);
}

/* The CTI state: nulls until the first successful state poll. */
static void cti_state(FILE *out, const struct agent_cti *cti, const struct agents_clock *now)
{
	char since[UTIL_TIME_LEN];

	if (cti->code == CMS_CODE_NONE) {
		fputs(",\"state\":null,\"state_code\":null,\"state_since\":null,"
		      "\"state_duration\":null,\"long_state\":false", out);
		return;
	}
	util_format_time(cti->since_us, since);
	code_name(out, "state", cti->code, cmscodes_state_name);
	fprintf(out, ",\"state_code\":%d,\"state_since\":\"%s\",\"state_duration\":%.3f",
		cti->code, since, age_seconds(cti->since_boot_us, now->boot_us));
	if (cti->reason != CMS_CODE_NONE)
		fprintf(out, ",\"state_reason\":%d", (int)cti->reason);
	fprintf(out, ",\"long_state\":%s", cti->long_reported ? "true" : "false");
}

void api_agent_write(FILE *out, const struct agent_state *st, const struct agents_clock *now)
{
	const struct cfg_agent *a = st->cfg;

	identity(out, a);
	fprintf(out, ",\"agent\":\"%u:%u:%u\",\"reachable\":%s,\"failures\":%u,\"reason\":",
		a->cc, a->vdn, a->id, st->unreachable ? "false" : "true", st->failures);
	if (st->reason)
		json_string(out, st->reason);
	else
		fputs("null", out);
	fprintf(out, ",\"polled\":%s", st->baselined ? "true" : "false");
	cti_state(out, &st->cti, now);
	calls(out, st, now);
	fputc('}', out);
}

char *api_agents_json(struct agent_state *const *states, size_t n, const struct api_filter *f,
		      const struct agents_clock *now, size_t *len)
{
	char *text = NULL;
	FILE *out = open_memstream(&text, len);
	bool first = true;

	if (!out)
		abort();
	fputs("{\"agents\":[", out);
	for (size_t i = 0; i < n; i++) {
		if (!api_filter_match(f, states[i]))
			continue;
		if (!first)
			fputc(',', out);
		api_agent_write(out, states[i], now);
		first = false;
	}
	fputs("]}\n", out);
	if (fclose(out) != 0 || !text)
		abort();
	return text;
}

/* ---- events ---- */

int api_parse_seq(const char *text, uint64_t *seq)
{
	size_t digits = strspn(text, "0123456789");

	if (digits == 0 || digits > 19 || text[digits])
		return -1;
	*seq = strtoull(text, NULL, 10);
	return 0;
}

bool api_event_with_seq(FILE *out, uint64_t seq, const char *json, size_t len)
{
	if (len < 2 || json[0] != '{')
		return false;
	fprintf(out, "{\"seq\":%" PRIu64 "%s%.*s", seq, len > 2 ? "," : "", (int)(len - 1), json + 1);
	return true;
}

char *api_events_json(struct evlog *log, uint64_t after, size_t limit, size_t *len)
{
	struct evlog_cursor c = { .seq = after + 1 };
	uint64_t seq, lost = 0, last = evlog_next_seq(log) - 1;
	const char *json;
	size_t n = 0, jlen;
	char *text = NULL;
	FILE *out = open_memstream(&text, len);

	if (!out)
		abort();
	fputs("{\"events\":[", out);
	while (n < limit && evlog_peek(log, &c, &json, &jlen, &seq) == 1) {
		lost += seq - c.seq;
		if (n > 0 && jlen >= 2 && json[0] == '{')
			fputc(',', out);
		n += api_event_with_seq(out, seq, json, jlen);
		evlog_advance(log, &c, seq);
	}
	fprintf(out, "],\"next_after\":%" PRIu64 ",\"last_seq\":%" PRIu64, c.seq - 1, last);
	if (lost)
		fprintf(out, ",\"lost\":%" PRIu64, lost);
	fputs("}\n", out);
	if (fclose(out) != 0 || !text)
		abort();
	return text;
}
