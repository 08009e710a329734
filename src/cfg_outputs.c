/* cfg_outputs: the outputs group: syslog, and webhooks with their events, headers and format. */
#include "config.h"

#include <sys/stat.h>
#include <fnmatch.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "cfg_impl.h"
#include "cfgcheck.h"
#include "event.h"
#include "util.h"

/*
 * Byte and event counts past any disk: a larger value is a typo, and one past 2^63 would not fit
 * what the daemon counts in (a written 18446744073709551615 must not pass as "no limit").
 */
#define DEADLETTER_MAX_MAX 1099511627776.0	/* 1 TiB */
#define MAX_BACKLOG_MAX 1000000000.0		/* events: some 300 to 600 GB of log */

static const struct name_value facilities[] = {
	{ "kern", LOG_KERN }, { "user", LOG_USER }, { "mail", LOG_MAIL },
	{ "daemon", LOG_DAEMON }, { "auth", LOG_AUTH }, { "syslog", LOG_SYSLOG },
	{ "lpr", LOG_LPR }, { "news", LOG_NEWS }, { "uucp", LOG_UUCP },
	{ "cron", LOG_CRON }, { "authpriv", LOG_AUTHPRIV }, { "ftp", LOG_FTP },
	{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 }, { "local2", LOG_LOCAL2 },
	{ "local3", LOG_LOCAL3 }, { "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
	{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
};

static const struct name_value formats[] = {
	{ "json", CFG_WEBHOOK_JSON }, { "alertmanager", CFG_WEBHOOK_ALERTMANAGER },
};

/* Headers the daemon sends itself on every webhook request. */
static const char *const reserved_headers[] = {
	"Content-Type", "Content-Length", "Host", "Expect", "User-Agent", "Idempotency-Key",
	"X-Agentwatch-Timestamp", "X-Agentwatch-Signature",
};

enum { OUT_JOURNAL, OUT_SYSLOG, OUT_STDOUT, OUT_WEBHOOKS, OUT_DEADLETTER_MAX, OUT_N };
static const struct key outputs_keys[] = {
	[OUT_JOURNAL] = { .name = "journal", .kind = K_BOOL, AT(struct cfg_outputs, journal) },
	[OUT_SYSLOG] = { .name = "syslog", .kind = K_GROUP },
	[OUT_STDOUT] = { .name = "stdout", .kind = K_BOOL, AT(struct cfg_outputs, to_stdout) },
	[OUT_WEBHOOKS] = { .name = "webhooks", .kind = K_LIST },
	[OUT_DEADLETTER_MAX] = { .name = "deadletter_max", .kind = K_SIZE, .min = 4096,
				 .max = DEADLETTER_MAX_MAX, AT(struct cfg_outputs, deadletter_max) },
};

enum { SYSLOG_ENABLED, SYSLOG_FACILITY, SYSLOG_IDENT, SYSLOG_SOCKET, SYSLOG_N };
static const struct key syslog_keys[] = {
	[SYSLOG_ENABLED] = { .name = "enabled", .kind = K_BOOL, AT(struct cfg_syslog, enabled) },
	[SYSLOG_FACILITY] = { .name = "facility", .kind = K_STR },
	[SYSLOG_IDENT] = { .name = "ident", .kind = K_STR, AT(struct cfg_syslog, ident) },
	[SYSLOG_SOCKET] = { .name = "socket", .kind = K_STR, .max = CFG_SOCKET_MAX,
			    AT(struct cfg_syslog, socket) },
};

enum { WH_URL, WH_FORMAT, WH_SECRET_FILE, WH_EVENTS, WH_TIMEOUT, WH_BATCH_MAX, WH_BATCH_LINGER,
       WH_MAX_IN_FLIGHT, WH_HEADERS, WH_TLS, WH_MAX_BACKLOG, WH_N };
static const struct key webhook_keys[] = {
	[WH_URL] = { .name = "url", .kind = K_STR, .required = true, AT(struct cfg_webhook, url) },
	[WH_FORMAT] = { .name = "format", .kind = K_STR },
	[WH_SECRET_FILE] = { .name = "secret_file", .kind = K_STR },
	[WH_EVENTS] = { .name = "events", .kind = K_ARRAY },
	[WH_TIMEOUT] = { .name = "timeout", .kind = K_SECS, .min = SECS_MIN, .max = 300,
			 AT(struct cfg_webhook, timeout) },
	[WH_BATCH_MAX] = { .name = "batch_max", .kind = K_SIZE, .min = 1, .max = 1000,
			   AT(struct cfg_webhook, batch_max) },
	[WH_BATCH_LINGER] = { .name = "batch_linger", .kind = K_SECS, .min = 0, .max = 60,
			      AT(struct cfg_webhook, batch_linger) },
	[WH_MAX_IN_FLIGHT] = { .name = "max_in_flight", .kind = K_SIZE, .min = 1, .max = 256,
			       AT(struct cfg_webhook, max_in_flight) },
	[WH_HEADERS] = { .name = "headers", .kind = K_GROUP },
	[WH_TLS] = { .name = "tls", .kind = K_GROUP },
	[WH_MAX_BACKLOG] = { .name = "max_backlog", .kind = K_SIZE, .min = 10, .max = MAX_BACKLOG_MAX,
			     AT(struct cfg_webhook, max_backlog) },
};

/* libconfig names, [A-Za-z*][-A-Za-z0-9_*]*, are all HTTP tokens already; cfg_take() refused line
 * breaks and other control characters in the value. */
static const char *header_problem(const char *name, const char *value, char *buf, size_t size)
{
	(void)buf;
	(void)size;
	if (cfg_in_list(name, reserved_headers, ARRAY_SIZE(reserved_headers), strcasecmp))
		return "is set by the daemon and cannot be overridden";
	/* libcurl takes "Name:" with nothing after it as "do not send Name". */
	if (!value[strspn(value, " \t")])
		return "is empty: libcurl would not send the header at all";
	return NULL;
}

/*
 * Header values are often credentials (Authorization, API keys): say so when the file that holds
 * them is readable by more than its owner. A warning, not an error: the file may be shared on
 * purpose, and the daemon's user must be able to read it.
 */
static void warn_exposed_headers(struct ctx *c, const config_setting_t *s)
{
	char *file = cfg_source_name(c, config_setting_source_file(s));
	char path[PATH_BUF] = "";
	struct cfg *cfg = c->cfg;
	struct stat st;

	if (stat(file, &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH))) {
		cfg_setting_path(s, path, sizeof path);
		cfg->warnings = xreallocarray(cfg->warnings, cfg->nwarnings + 1, sizeof(char *));
		cfg->warnings[cfg->nwarnings++] = xasprintf(
			"%s:%u: warning: %s holds header values, often credentials, and the file is "
			"readable by %s (mode %04o): make it readable by the daemon's user only",
			file, cfg_setting_line(s), path, st.st_mode & S_IROTH ? "all users" : "its group",
			(unsigned)(st.st_mode & 07777));
	}
	free(file);
}

static void parse_headers(struct ctx *c, const config_setting_t *s, struct cfg_webhook *w)
{
	const config_setting_t *m;

	w->headers = xcalloc((size_t)config_setting_length(s), sizeof *w->headers);
	for (int i = 0; i < config_setting_length(s); i++) {
		m = config_setting_get_elem(s, (unsigned)i);
		if (cfg_string_member(c, m, header_problem))
			w->headers[w->nheaders++] = (struct cfg_header){
				xstrdup(config_setting_name(m)), xstrdup(config_setting_get_string(m)) };
	}
	if (w->nheaders)
		warn_exposed_headers(c, s);
}

static bool matches_event(const char *pattern)
{
	for (int t = 0; t < EVENT_TYPE_COUNT; t++)
		if (fnmatch(pattern, event_type_name((enum event_type)t), 0) == 0)
			return true;
	return false;
}

static const char *event_name(int type)
{
	return event_type_name((enum event_type)type);
}

static void parse_events(struct ctx *c, const config_setting_t *s, struct cfg_webhook *w)
{
	const config_setting_t *e;
	const char *pattern;
	char types[256];	/* every event type's name */

	if (config_setting_length(s) == 0) {
		cfg_bad(c, s, "is empty: leave it out to send every event");
		return;
	}
	w->events = xcalloc((size_t)config_setting_length(s), sizeof *w->events);
	for (int i = 0; i < config_setting_length(s); i++) {
		e = config_setting_get_elem(s, (unsigned)i);
		if (!cfg_is_kind(c, e, K_STR))
			continue;
		pattern = config_setting_get_string(e);
		if (matches_event(pattern)) {
			w->events[w->nevents++] = xstrdup(pattern);
			continue;
		}
		cfg_join_names(types, sizeof types, event_name, EVENT_TYPE_COUNT);
		cfg_bad(c, e, "'%s' matches no event type (%s)", pattern, types);
	}
}

static void parse_webhook(struct ctx *c, const config_setting_t *s, struct cfg_webhook *w)
{
	const config_setting_t *f[WH_N];
	int format;

	w->line = (int)cfg_setting_line(s);
	w->timeout = 10;
	w->batch_max = 1;
	w->max_backlog = CFG_MAX_BACKLOG_DEFAULT;
	w->max_in_flight = 32;
	w->tls.verify = true;
	cfg_check_group(c, s, webhook_keys, WH_N, w, f);
	if (f[WH_URL])
		cfg_check_url(c, f[WH_URL], true, true, NULL, NULL);
	if (f[WH_FORMAT] && cfg_lookup_name(c, f[WH_FORMAT], formats, ARRAY_SIZE(formats),
					    "json or alertmanager", &format))
		w->format = format;
	if (f[WH_SECRET_FILE])
		w->secret = cfg_secret_file(c, f[WH_SECRET_FILE], &w->secret_len);
	if (f[WH_EVENTS])
		parse_events(c, f[WH_EVENTS], w);
	if (f[WH_HEADERS])
		parse_headers(c, f[WH_HEADERS], w);
	if (f[WH_TLS])
		cfg_parse_tls(c, f[WH_TLS], &w->tls);
}

static void parse_syslog(struct ctx *c, const config_setting_t *s, struct cfg_syslog *sl)
{
	const config_setting_t *f[SYSLOG_N];
	const char *why;

	cfg_check_group(c, s, syslog_keys, SYSLOG_N, sl, f);
	if (f[SYSLOG_IDENT] && (why = cfgcheck_ident(sl->ident)))
		cfg_bad(c, f[SYSLOG_IDENT], "%s", why);
	if (f[SYSLOG_SOCKET] && !sl->socket[0])
		cfg_bad(c, f[SYSLOG_SOCKET], "is empty");
	if (f[SYSLOG_FACILITY])
		cfg_lookup_name(c, f[SYSLOG_FACILITY], facilities, ARRAY_SIZE(facilities),
				"one of kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, "
				"authpriv, ftp, local0 to local7", &sl->facility);
}

void cfg_parse_outputs(struct ctx *c, const config_setting_t *s, struct cfg_outputs *out)
{
	const config_setting_t *f[OUT_N], *list, *w;

	cfg_check_group(c, s, outputs_keys, OUT_N, out, f);
	if (f[OUT_SYSLOG])
		parse_syslog(c, f[OUT_SYSLOG], &out->syslog);
	if (!(list = f[OUT_WEBHOOKS]))
		return;
	out->webhooks = xcalloc((size_t)config_setting_length(list), sizeof *out->webhooks);
	for (int i = 0; i < config_setting_length(list); i++) {
		w = config_setting_get_elem(list, (unsigned)i);
		if (cfg_is_kind(c, w, K_GROUP))
			parse_webhook(c, w, &out->webhooks[out->nwebhooks++]);
	}
}
