/* ctlfmt: agentwatchctl's output: the agents table and event lines (ctlstatus.c: the status). */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctlfmt.h"
#include "util.h"

#define NAME_MAX_COLUMNS 24	/* a longer name is cut in the table */

const char *ctlfmt_reason(long status, const char *body, size_t *len)
{
	char prefix[24];
	size_t n = (size_t)snprintf(prefix, sizeof prefix, "%ld ", status);

	if (strncmp(body, prefix, n) == 0)
		body += n;
	/* The first line, cut at a control character (a peer's escape sequence must not reach the
	 * terminal) and at CTLFMT_REASON_MAX bytes. */
	for (n = 0; n < CTLFMT_REASON_MAX && body[n]; n++)
		if ((unsigned char)body[n] < 0x20 || body[n] == 0x7f)
			break;
	*len = n;
	return body;
}

void ctlfmt_duration(double seconds, char buf[CTLFMT_DURATION_LEN])
{
	unsigned long long s;

	if (!isfinite(seconds) || seconds < 0 || seconds > 1e12) {
		snprintf(buf, CTLFMT_DURATION_LEN, "-");
		return;
	}
	s = (unsigned long long)seconds;
	if (s < 60)
		snprintf(buf, CTLFMT_DURATION_LEN, "%llus", s);
	else if (s < 3600)
		snprintf(buf, CTLFMT_DURATION_LEN, "%llum%02llus", s / 60, s % 60);
	else if (s < 86400)
		snprintf(buf, CTLFMT_DURATION_LEN, "%lluh%02llum", s / 3600, s % 3600 / 60);
	else
		snprintf(buf, CTLFMT_DURATION_LEN, "%llud%02lluh", s / 86400, s % 86400 / 3600);
}

/* ---- small JSON readers: every field may be missing or of another type ---- */

static struct json_object *field(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* A string field, or a code field given as a number (the API's rule for unnamed codes). */
static const char *text_of(struct json_object *o, const char *key)
{
	struct json_object *v = field(o, key);

	if (json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_int))
		return json_object_get_string(v);
	return NULL;
}

static bool number_of(struct json_object *o, const char *key, double *d)
{
	struct json_object *v = field(o, key);

	if (!json_object_is_type(v, json_type_double) && !json_object_is_type(v, json_type_int))
		return false;
	*d = json_object_get_double(v);
	return true;
}

static bool true_of(struct json_object *o, const char *key)
{
	struct json_object *v = field(o, key);

	return json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

/* ---- text that goes into columns ---- */

/* Characters (UTF-8 code points) in s: what a terminal shows of it, near enough. */
static size_t columns(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

/* s with control characters as spaces, cut to at most max columns ("..." marks a cut). */
static char *cell(const char *s, size_t max)
{
	char *c = xstrdup(s ? s : "-");
	size_t n = 0;

	for (char *p = c; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	if (columns(c) <= max)
		return c;
	for (char *p = c; *p; p++) {
		if (((unsigned char)*p & 0xc0) != 0x80 && n++ == (max > 3 ? max - 3 : 0)) {
			strcpy(p, max >= 3 ? "..." : "");
			break;
		}
	}
	return c;
}

static void pad(FILE *out, const char *s, size_t width)
{
	fputs(s, out);
	for (size_t n = columns(s); n < width; n++)
		fputc(' ', out);
}

/* ---- the agents table ---- */

#define NCOLS 6
static const char *const headers[NCOLS] = { "AGENT", "NAME", "STATE", "FOR", "REACH", "CALLS" };

/* "c1 talking 2m03s LONG, c2 1s" (table) or "c1:talking:123.456,c2:-:1.000" (plain). */
static char *calls_text(struct json_object *agent, bool plain)
{
	struct json_object *calls = field(agent, "calls");
	size_t n = json_object_is_type(calls, json_type_array) ? json_object_array_length(calls) : 0;
	char *text = xstrdup(""), *next, dur[CTLFMT_DURATION_LEN];

	for (size_t i = 0; i < n; i++) {
		struct json_object *c = json_object_array_get_idx(calls, i);
		const char *id = text_of(c, "id"), *status = text_of(c, "status");
		double d = -1;

		number_of(c, "duration", &d);
		ctlfmt_duration(d, dur);
		if (plain)
			next = xasprintf("%s%s%s:%s:%.3f", text, i ? "," : "", id ? id : "-",
					 status ? status : "-", d);
		else
			next = xasprintf("%s%s%s%s%s %s%s", text, i ? ", " : "", id ? id : "-",
					 status ? " " : "", status ? status : "", dur,
					 true_of(c, "long") ? " LONG" : "");
		free(text);
		text = next;
	}
	return text;
}

/* The six cells of one agent, allocated. */
static void agent_cells(struct json_object *a, char *cells[NCOLS])
{
	const char *reason = text_of(a, "reason");
	bool reachable = true_of(a, "reachable");
	char dur[CTLFMT_DURATION_LEN], *calls = calls_text(a, false);
	double d = -1;

	number_of(a, "state_duration", &d);
	ctlfmt_duration(d, dur);
	cells[0] = cell(text_of(a, "agent"), SIZE_MAX);
	cells[1] = cell(text_of(a, "name"), NAME_MAX_COLUMNS);
	cells[2] = cell(text_of(a, "state"), SIZE_MAX);
	if (true_of(a, "long_state"))
		strcat(dur, " LONG");
	cells[3] = cell(dur, SIZE_MAX);
	cells[4] = cell(reachable ? "ok" : "UNREACHABLE", SIZE_MAX);
	if (!reachable && reason) {
		char *t = xasprintf("%s%s(%s)", calls, *calls ? " " : "", reason);

		free(calls);
		calls = t;
	}
	cells[5] = calls;
}

static void agent_plain(FILE *out, struct json_object *a)
{
	const char *fields[] = { text_of(a, "agent"), text_of(a, "name"), text_of(a, "state") };
	char *calls = calls_text(a, true), *c;
	double d;

	for (size_t i = 0; i < ARRAY_SIZE(fields); i++) {
		c = cell(fields[i], SIZE_MAX);
		fprintf(out, "%s\t", c);
		free(c);
	}
	if (number_of(a, "state_duration", &d))
		fprintf(out, "%.3f\t", d);
	else
		fputs("-\t", out);
	fprintf(out, "%s\t%s\t", true_of(a, "reachable") ? "yes" : "no", *calls ? calls : "-");
	c = cell(true_of(a, "reachable") ? NULL : text_of(a, "reason"), SIZE_MAX);
	fprintf(out, "%s\n", c);
	free(c);
	free(calls);
}

void ctlfmt_agents(FILE *out, struct json_object *agents, unsigned width)
{
	size_t n = json_object_is_type(agents, json_type_array) ? json_object_array_length(agents) : 0;
	char *(*rows)[NCOLS] = xcalloc(n ? n : 1, sizeof(*rows)), *cut;
	size_t w[NCOLS], used = 0;

	if (width == 0) {
		for (size_t i = 0; i < n; i++)
			agent_plain(out, json_object_array_get_idx(agents, i));
		free(rows);
		return;
	}
	for (int c = 0; c < NCOLS; c++)
		w[c] = columns(headers[c]);
	for (size_t i = 0; i < n; i++) {
		agent_cells(json_object_array_get_idx(agents, i), rows[i]);
		for (int c = 0; c < NCOLS - 1; c++)
			if (columns(rows[i][c]) > w[c])
				w[c] = columns(rows[i][c]);
	}
	for (int c = 0; c < NCOLS - 1; c++)
		used += w[c] + 2;
	/* The calls column gets what is left of the line, at least a little. */
	w[NCOLS - 1] = width > used + 10 ? width - used : 10;
	for (size_t i = 0; i <= n; i++) {
		for (int c = 0; c < NCOLS; c++) {
			const char *s = i ? rows[i - 1][c] : headers[c];

			if (c == NCOLS - 1) {
				cut = cell(s, w[c]);
				fprintf(out, "%s\n", cut);
				free(cut);
			} else {
				pad(out, s, w[c] + 2);
			}
		}
	}
	for (size_t i = 0; i < n; i++)
		for (int c = 0; c < NCOLS; c++)
			free(rows[i][c]);
	free(rows);
}

/* ---- events ---- */

static const struct {
	const char *type;
	const char *color;		/* SGR parameters */
} colors[] = {
	{ "call.started", "32" }, { "call.ended", "34" }, { "call.long", "33;1" },
	{ "call.status", "35" }, { "agent.unreachable", "31;1" }, { "agent.reachable", "32" },
	{ "agent.state", "36" }, { "agent.long_state", "33;1" },
};

static const char *color_of(const char *type)
{
	for (size_t i = 0; i < ARRAY_SIZE(colors); i++)
		if (strcmp(colors[i].type, type) == 0)
			return colors[i].color;
	return NULL;
}

/* " inbound phone/WhatsApp talking": the call's detail, when the CMS gave it. */
static void call_detail(FILE *out, struct json_object *ev)
{
	const char *status = text_of(ev, "call_status"), *dir = text_of(ev, "direction");
	const char *media = text_of(ev, "media"), *sub = text_of(ev, "submedia");

	if (status)
		fprintf(out, " %s", status);
	if (dir)
		fprintf(out, " %s", dir);
	if (media)
		fprintf(out, " %s%s%s", media, sub ? "/" : "", sub ? sub : "");
}

static void duration_field(FILE *out, struct json_object *ev, const char *key, const char *before)
{
	char dur[CTLFMT_DURATION_LEN];
	double d;

	if (!number_of(ev, key, &d))
		return;
	ctlfmt_duration(d, dur);
	fprintf(out, "%s%s", before, dur);
}

static void details(FILE *out, const char *type, struct json_object *ev)
{
	const char *call = text_of(ev, "call_id"), *prev, *reason;
	double n;

	if (call)
		fprintf(out, " %s", call);
	if (strcmp(type, "call.started") == 0) {
		call_detail(out, ev);
	} else if (strcmp(type, "call.ended") == 0) {
		duration_field(out, ev, "duration", " after ");
	} else if (strcmp(type, "call.long") == 0) {
		duration_field(out, ev, "duration", " ");
	} else if (strcmp(type, "call.status") == 0) {
		if ((prev = text_of(ev, "previous_call_status")))
			fprintf(out, " %s ->", prev);
		call_detail(out, ev);
	} else if (strcmp(type, "agent.busy") == 0 && number_of(ev, "calls", &n)) {
		fprintf(out, " %.0f call%s", n, n == 1 ? "" : "s");
	} else if (strcmp(type, "agent.unreachable") == 0) {
		if (number_of(ev, "failures", &n))
			fprintf(out, " after %.0f failed polls", n);
		if ((reason = text_of(ev, "reason")))
			fprintf(out, ": %s", reason);
	} else if (strcmp(type, "agent.state") == 0) {
		if ((prev = text_of(ev, "previous_state")))
			fprintf(out, " %s ->", prev);
		if (text_of(ev, "state"))
			fprintf(out, " %s", text_of(ev, "state"));
		if (text_of(ev, "reason_code"))
			fprintf(out, " (reason %s)", text_of(ev, "reason_code"));
	} else if (strcmp(type, "agent.long_state") == 0) {
		if (text_of(ev, "state"))
			fprintf(out, " %s", text_of(ev, "state"));
		duration_field(out, ev, "duration", " for ");
		duration_field(out, ev, "threshold", " (threshold ");
		if (field(ev, "threshold"))
			fputc(')', out);
	}
	if (true_of(ev, "initial"))
		fputs(" (at start)", out);
	if (true_of(ev, "after_restart"))
		fputs(" (seen after a restart)", out);
}

void ctlfmt_event(FILE *out, struct json_object *ev, bool color)
{
	struct json_object *agent = field(ev, "agent");
	const char *type = text_of(ev, "type"), *time = text_of(ev, "time"), *sgr, *name;
	double seq = 0;
	char *text;

	number_of(ev, "seq", &seq);
	fprintf(out, "%s #%.0f", time ? time : "-", seq);
	if (agent)
		fprintf(out, " %s:%s:%s", text_of(agent, "cc") ? text_of(agent, "cc") : "?",
			text_of(agent, "vdn") ? text_of(agent, "vdn") : "?",
			text_of(agent, "id") ? text_of(agent, "id") : "?");
	if ((name = text_of(agent, "name"))) {
		text = cell(name, NAME_MAX_COLUMNS);
		fprintf(out, " (%s)", text);
		free(text);
	}
	type = type ? type : "?";
	sgr = color ? color_of(type) : NULL;
	fprintf(out, sgr ? " \033[%sm%s\033[0m" : " %s%s", sgr ? sgr : "", type);
	details(out, type, ev);
	fputc('\n', out);
}
