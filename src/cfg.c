/* cfg: reads the libconfig file into plain structs and reports every problem as FILE:LINE. */
#include "config.h"

#include <sys/stat.h>

#include <arpa/inet.h>
#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <fnmatch.h>
#include <libconfig.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <syslog.h>
#include <unistd.h>

#include "cfg.h"
#include "cfgcheck.h"
#include "cfgnum.h"
#include "event.h"
#include "log.h"
#include "util.h"

/* More agents than this is a typo in a range, not a contact center. */
#define AGENTS_MAX 1000000
/* A secret, its line ending, and one byte more to tell a longer file apart. */
#define SECRET_BUF (CFG_SECRET_MAX + 3)
/* Setting paths in messages; deeper or longer ones are cut, which only shortens the text. */
#define PATH_BUF 256

#define STR(x) #x
#define XSTR(x) STR(x)

#define LETTERS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define DIGITS "0123456789"

/* Where an agentId may lie; AGENT_ID_RANGES is the same thing as text for the messages. */
static const struct {
	long lo, hi;
} agent_id_ranges[] = { { 101, 59999 }, { 70000, 999999 } };
#define AGENT_ID_RANGES "101..59999, 70000..999999"

struct name_value {
	const char *name;
	int value;
};

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

/* The daemon writes these itself; a receiver must not see two of them. */
/* Headers the daemon sends itself on every webhook request. */
static const char *const reserved_headers[] = {
	"Content-Type", "Content-Length", "Host", "Expect", "User-Agent", "Idempotency-Key",
	"X-Agentwatch-Timestamp", "X-Agentwatch-Signature",
};
/* The daemon adds these to every event's labels. */
static const char *const reserved_labels[] = { "cc", "vdn", "agent", "name", "alertname",
					       "call_id" };

/* One problem, kept until the end so that all of them come out in the order of the file. */
struct message {
	bool main_file;		/* before the included files */
	char *file;
	unsigned line;
	size_t seq;		/* the order found, within a line */
	char *text;
};

/* One load: the file and the problems found in it. */
struct ctx {
	const char *path;
	struct cfg *cfg;	/* what is being filled in */
	char *dir;		/* the file's directory: @include and relative paths start there */
	struct message *msgs;
	size_t nmsgs, msgcap;
	unsigned flags;		/* CFG_LOAD_* */
	struct cfgnum nums;	/* numbers libconfig 1.5 did not keep as written */
};

/*
 * What a value may be. K_SECS is a duration in seconds that the daemon counts in milliseconds
 * or finer, so a value other than 0 must be at least SECS_MIN; K_RATE is a number per second,
 * likewise 0 or at least RATE_MIN, whose inverse the scheduler counts in microseconds. K_FILE
 * is a string naming a readable file, relative to the config.
 */
enum kind { K_BOOL, K_INT, K_SIZE, K_AGENT_ID, K_NUM, K_SECS, K_RATE, K_STR, K_FILE, K_GROUP,
	    K_LIST, K_ARRAY };

#define SECS_MIN 0.001
#define RATE_MIN 0.001

#define T(type) (1u << CONFIG_TYPE_##type)

static const struct {
	unsigned types;		/* the libconfig types that are accepted */
	const char *need;	/* completes "... must be " */
} kinds[] = {
	[K_BOOL] = { T(BOOL), "true or false" },
	[K_INT] = { T(INT) | T(INT64), "an integer" },
	[K_SIZE] = { T(INT) | T(INT64), "an integer" },
	[K_AGENT_ID] = { T(INT) | T(INT64), "an integer" },
	[K_NUM] = { T(INT) | T(INT64) | T(FLOAT), "a number" },
	[K_SECS] = { T(INT) | T(INT64) | T(FLOAT), "a number" },
	[K_RATE] = { T(INT) | T(INT64) | T(FLOAT), "a number" },
	[K_STR] = { T(STRING), "a string" },
	[K_FILE] = { T(STRING), "a string" },
	[K_GROUP] = { T(GROUP), "a group { ... }" },
	[K_LIST] = { T(LIST), "a list ( ... )" },
	[K_ARRAY] = { T(ARRAY) | T(LIST), "an array [ ... ]" },
};

/* One key of a group: its type, its bounds, and where a scalar value is stored. */
struct key {
	const char *name;
	enum kind kind;
	bool required;
	double min, max;	/* numbers: max DBL_MAX is no upper bound; strings: max bytes, 0 for
				 * CFG_TEXT_MAX */
	bool store;
	size_t off;		/* with store: the field's offset in the destination struct */
};

#define AT(type, field) .store = true, .off = offsetof(type, field)

/*
 * Byte and event counts past any disk: a larger value is a typo, and one past 2^63 would not fit
 * what the daemon counts in (a written 18446744073709551615 must not pass as "no limit").
 */
#define DEADLETTER_MAX_MAX 1099511627776.0	/* 1 TiB */
#define MAX_BACKLOG_MAX 1000000000.0		/* events: some 300 to 600 GB of log */

/* A year: longer is a typo, and far longer would not fit the microseconds the daemon counts. */
#define LONG_CALL_MAX 31536000

enum { R_CMS, R_POLL, R_ALERTS, R_AGENTS, R_OUTPUTS, R_STATE_DIR, R_HTTP, R_N };
static const struct key root_keys[] = {
	[R_CMS] = { .name = "cms", .kind = K_GROUP, .required = true },
	[R_POLL] = { .name = "poll", .kind = K_GROUP },
	[R_ALERTS] = { .name = "alerts", .kind = K_GROUP },
	[R_AGENTS] = { .name = "agents", .kind = K_LIST, .required = true },
	[R_OUTPUTS] = { .name = "outputs", .kind = K_GROUP },
	[R_STATE_DIR] = { .name = "state_dir", .kind = K_STR, AT(struct cfg, state_dir) },
	[R_HTTP] = { .name = "http", .kind = K_GROUP },
};

enum { CMS_URL, CMS_APP_KEY, CMS_SECRET_FILE, CMS_TIMEOUT, CMS_MAX_IN_FLIGHT, CMS_MAX_RATE,
       CMS_INSECURE, CMS_TLS, CMS_N };
static const struct key cms_keys[] = {
	[CMS_URL] = { .name = "url", .kind = K_STR, .required = true },
	[CMS_APP_KEY] = { .name = "app_key", .kind = K_STR, .required = true,
			  AT(struct cfg_cms, app_key) },
	[CMS_SECRET_FILE] = { .name = "app_secret_file", .kind = K_STR },
	[CMS_TIMEOUT] = { .name = "timeout", .kind = K_SECS, .min = SECS_MIN, .max = 300,
			  AT(struct cfg_cms, timeout) },
	[CMS_MAX_IN_FLIGHT] = { .name = "max_in_flight", .kind = K_INT, .min = 1, .max = 4096,
				AT(struct cfg_cms, max_in_flight) },
	[CMS_MAX_RATE] = { .name = "max_rate", .kind = K_RATE, .min = 0, .max = DBL_MAX,
			   AT(struct cfg_cms, max_rate) },
	[CMS_INSECURE] = { .name = "allow_insecure_http", .kind = K_BOOL,
			   AT(struct cfg_cms, allow_insecure_http) },
	[CMS_TLS] = { .name = "tls", .kind = K_GROUP },
};

static const struct key tls_keys[] = {
	{ .name = "ca_file", .kind = K_FILE, AT(struct cfg_tls, ca_file) },
	{ .name = "verify", .kind = K_BOOL, AT(struct cfg_tls, verify) },
	{ .name = "client_cert", .kind = K_FILE, AT(struct cfg_tls, client_cert) },
	{ .name = "client_key", .kind = K_FILE, AT(struct cfg_tls, client_key) },
};

enum { POLL_INTERVAL, POLL_FAILURE_THRESHOLD, POLL_BACKOFF_MAX, POLL_N };
static const struct key poll_keys[] = {
	[POLL_INTERVAL] = { .name = "interval", .kind = K_SECS, .min = 0.1, .max = 86400,
			    AT(struct cfg_poll, interval) },
	[POLL_FAILURE_THRESHOLD] = { .name = "failure_threshold", .kind = K_INT, .min = 1, .max = 1000,
				     AT(struct cfg_poll, failure_threshold) },
	[POLL_BACKOFF_MAX] = { .name = "backoff_max", .kind = K_SECS, .min = 0.1, .max = 86400,
			       AT(struct cfg_poll, backoff_max) },
};

static const struct key alerts_keys[] = {
	{ .name = "long_call", .kind = K_SECS, .min = 0, .max = LONG_CALL_MAX,
	  AT(struct cfg_alerts, long_call) },
};

enum { AG_CC, AG_VDN, AG_ID, AG_IDS, AG_RANGE, AG_NAME, AG_LABELS, AG_N };
static const struct key agent_keys[] = {
	[AG_CC] = { .name = "cc", .kind = K_INT, .required = true,
		    .min = CFG_CC_MIN, .max = CFG_CC_MAX },
	[AG_VDN] = { .name = "vdn", .kind = K_INT, .required = true,
		     .min = CFG_VDN_MIN, .max = CFG_VDN_MAX },
	[AG_ID] = { .name = "id", .kind = K_AGENT_ID },
	[AG_IDS] = { .name = "ids", .kind = K_ARRAY },
	[AG_RANGE] = { .name = "range", .kind = K_ARRAY },
	[AG_NAME] = { .name = "name", .kind = K_STR, .max = CFG_NAME_MAX, AT(struct cfg_group, name) },
	[AG_LABELS] = { .name = "labels", .kind = K_GROUP },
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

enum { HTTP_LISTEN, HTTP_TLS, HTTP_USERS_FILE, HTTP_AGENT_METRICS, HTTP_MAX_CONNECTIONS,
       HTTP_TIMEOUT, HTTP_N };
static const struct key http_keys[] = {
	[HTTP_LISTEN] = { .name = "listen", .kind = K_ARRAY },
	[HTTP_TLS] = { .name = "tls", .kind = K_GROUP },
	[HTTP_USERS_FILE] = { .name = "users_file", .kind = K_STR },
	[HTTP_AGENT_METRICS] = { .name = "agent_metrics", .kind = K_BOOL,
				 AT(struct cfg_http, agent_metrics) },
	[HTTP_MAX_CONNECTIONS] = { .name = "max_connections", .kind = K_INT, .min = 1, .max = 10000,
				   AT(struct cfg_http, max_connections) },
	[HTTP_TIMEOUT] = { .name = "timeout", .kind = K_SECS, .min = 1, .max = 3600,
			   AT(struct cfg_http, timeout) },
};

static const struct key http_tls_keys[] = {
	{ .name = "cert_file", .kind = K_FILE, .required = true, AT(struct cfg_http, cert_file) },
	{ .name = "key_file", .kind = K_FILE, .required = true, AT(struct cfg_http, key_file) },
};

bool cfg_agent_id_valid(long id)
{
	for (size_t i = 0; i < ARRAY_SIZE(agent_id_ranges); i++)
		if (id >= agent_id_ranges[i].lo && id <= agent_id_ranges[i].hi)
			return true;
	return false;
}

/* A range is valid when one interval holds both ends, so it cannot straddle the gap. */
static bool agent_range_valid(long lo, long hi)
{
	for (size_t i = 0; i < ARRAY_SIZE(agent_id_ranges); i++)
		if (lo >= agent_id_ranges[i].lo && hi <= agent_id_ranges[i].hi)
			return true;
	return false;
}

/* Paths in the file are relative to its directory, like @include, not to the daemon's cwd. */
static char *resolve_path(const struct ctx *c, const char *path)
{
	if (path[0] == '/')
		return xstrdup(path);
	return xasprintf("%s/%s", c->dir, path);
}

/* libconfig names the main file as given and included ones as written in @include. */
static char *source_name(const struct ctx *c, const char *file)
{
	if (!file || strcmp(file, c->path) == 0)
		return xstrdup(c->path);
	return resolve_path(c, file);
}

/* The setting's name as libconfig paths spell it: "outputs.webhooks[0].url". */
static size_t setting_path(const config_setting_t *s, char *buf, size_t size)
{
	const config_setting_t *parent = config_setting_parent(s);
	size_t n;
	int r;

	buf[0] = '\0';
	if (!parent)
		return 0;
	n = setting_path(parent, buf, size);
	if (n >= size)
		return n;
	if (config_setting_name(s))
		r = snprintf(buf + n, size - n, "%s%s", n ? "." : "", config_setting_name(s));
	else
		r = snprintf(buf + n, size - n, "[%d]", config_setting_index(s));
	return n + (size_t)r;
}

/* Lines are 1-based; the root group has none and stands for the top of the file. */
static unsigned setting_line(const config_setting_t *s)
{
	return config_setting_source_line(s) ? config_setting_source_line(s) : 1;
}

static void *grow(void *p, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return p;
	*cap = need > 2 * *cap ? need : 2 * *cap;
	return xreallocarray(p, *cap, size);
}

/* Records "FILE:LINE: [PATH ]message", or "FILE: message" for line 0, the file as a whole. */
static void __attribute__((format(printf, 5, 0)))
vreport(struct ctx *c, const char *file, unsigned line, const config_setting_t *named,
	const char *fmt, va_list ap)
{
	struct message *m;
	char path[PATH_BUF] = "", *body;

	body = xvasprintf(fmt, ap);
	c->msgs = grow(c->msgs, &c->msgcap, c->nmsgs + 1, sizeof *c->msgs);
	m = &c->msgs[c->nmsgs];
	m->file = source_name(c, file);
	m->main_file = strcmp(m->file, c->path) == 0;
	m->line = line;
	m->seq = c->nmsgs++;
	if (named)
		setting_path(named, path, sizeof path);
	if (line)
		m->text = xasprintf("%s:%u: %s%s%s", m->file, line, path, *path ? " " : "", body);
	else
		m->text = xasprintf("%s: %s", m->file, body);
	free(body);
}

static void __attribute__((format(printf, 4, 5)))
report(struct ctx *c, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, file, line, NULL, fmt, ap);
	va_end(ap);
}

/* A problem found at setting at. */
static void __attribute__((format(printf, 3, 4)))
error_at(struct ctx *c, const config_setting_t *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, config_setting_source_file(at), setting_line(at), NULL, fmt, ap);
	va_end(ap);
}

/* A problem with setting s, which the message starts with: "poll.interval must be a number". */
static void __attribute__((format(printf, 3, 4)))
bad(struct ctx *c, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, config_setting_source_file(s), setting_line(s), s, fmt, ap);
	va_end(ap);
}

static void replace_string(char **field, char *value)
{
	free(*field);
	*field = value;
}

/* An integer as written: libconfig 1.5 keeps 4294968395 as 1099 (see cfgnum.h). */
static long long integer(const struct ctx *c, const config_setting_t *s)
{
	const struct cfgnum_literal *lit = cfgnum_find(&c->nums, s);

	return lit ? lit->value : config_setting_get_int64(s);
}

/* libconfig 1.5 does not convert an integer to a float, and ints are accepted as numbers. */
static double number(const struct ctx *c, const config_setting_t *s)
{
	const struct cfgnum_literal *lit = cfgnum_find(&c->nums, s);

	if (lit)
		return lit->number;
	if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
		return config_setting_get_float(s);
	return (double)config_setting_get_int64(s);
}

/* The value as messages show it: as written when libconfig lost it, a float as %g. */
static void value_text(const struct ctx *c, const config_setting_t *s, char *buf, size_t size)
{
	const struct cfgnum_literal *lit = cfgnum_find(&c->nums, s);

	if (lit)
		snprintf(buf, size, "%s", lit->text);
	else if (config_setting_type(s) == CONFIG_TYPE_FLOAT)
		snprintf(buf, size, "%g", config_setting_get_float(s));
	else
		snprintf(buf, size, "%lld", config_setting_get_int64(s));
}

static bool in_range(struct ctx *c, const config_setting_t *s, const struct key *k)
{
	double v = number(c, s);
	char text[CFGNUM_TEXT_MAX + 8];

	if (v >= k->min && v <= k->max)
		return true;
	value_text(c, s, text, sizeof text);
	if (k->max == DBL_MAX)
		bad(c, s, "%s is out of range: it must be at least %.15g", text, k->min);
	else
		bad(c, s, "%s is out of range %.15g..%.15g", text, k->min, k->max);
	return false;
}

/* Opening the file now says "no such file" at check time rather than at the first request. */
static bool take_file(struct ctx *c, const config_setting_t *s, char **field)
{
	char *path = resolve_path(c, config_setting_get_string(s));
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		bad(c, s, "%s cannot be read: %s", path, strerror(errno));
		free(path);
		return false;
	}
	close(fd);
	replace_string(field, path);
	return true;
}

/*
 * A duration other than 0 that the daemon's milliseconds would turn into 0, "no timeout", or
 * a rate so small that the wait between two requests overflows the scheduler's microseconds.
 */
static bool nonzero_ok(struct ctx *c, const config_setting_t *s, const struct key *k)
{
	double v = number(c, s), least = k->kind == K_SECS ? SECS_MIN : RATE_MIN;
	char text[CFGNUM_TEXT_MAX + 8];

	if (!in_range(c, s, k))
		return false;
	if (v == 0 || v >= least)
		return true;
	value_text(c, s, text, sizeof text);
	if (k->kind == K_SECS)
		bad(c, s, "%s is below 1 ms, which the daemon would count as 0: use 0 or at least %g",
		    text, least);
	else
		bad(c, s, "%s is below %g per second: use 0 for no limit, or at least %g", text, least,
		    least);
	return false;
}

/* Strings: valid UTF-8 without control characters, at most the key's max bytes. */
static bool text_ok(struct ctx *c, const config_setting_t *s, const struct key *k)
{
	char buf[128];
	const char *why = cfgcheck_text(config_setting_get_string(s),
					k->max > 0 ? (size_t)k->max : CFG_TEXT_MAX, buf, sizeof buf);

	if (why)
		bad(c, s, "%s", why);
	return !why;
}

static bool value_ok(struct ctx *c, const config_setting_t *s, const struct key *k)
{
	char text[CFGNUM_TEXT_MAX + 8];
	long long id;

	switch (k->kind) {
	case K_INT:
	case K_SIZE:
	case K_NUM:
		return in_range(c, s, k);
	case K_SECS:
	case K_RATE:
		return nonzero_ok(c, s, k);
	case K_AGENT_ID:
		id = integer(c, s);
		if (cfg_agent_id_valid((long)id))
			return true;
		value_text(c, s, text, sizeof text);
		bad(c, s, "%s is out of range " AGENT_ID_RANGES, text);
		return false;
	case K_STR:
	case K_FILE:
		return text_ok(c, s, k);
	default:
		return true;
	}
}

static void store(const struct ctx *c, const config_setting_t *s, enum kind kind, void *field)
{
	switch (kind) {
	case K_BOOL:
		*(bool *)field = config_setting_get_bool(s);
		break;
	case K_INT:
		*(int *)field = (int)integer(c, s);
		break;
	case K_SIZE:
		*(size_t *)field = (size_t)integer(c, s);
		break;
	case K_NUM:
	case K_SECS:
	case K_RATE:
		*(double *)field = number(c, s);
		break;
	case K_STR:
		replace_string(field, xstrdup(config_setting_get_string(s)));
		break;
	default:
		break;
	}
}

/*
 * Checks one value against its key and, when the key says so, stores it at dst + key->off.
 * Returns false when the value was reported as wrong.
 */
static bool take(struct ctx *c, const config_setting_t *s, const struct key *k, void *dst)
{
	char *field = k->store ? (char *)dst + k->off : NULL;

	if (!(kinds[k->kind].types & 1u << config_setting_type(s))) {
		bad(c, s, "must be %s", kinds[k->kind].need);
		return false;
	}
	if (!value_ok(c, s, k))
		return false;
	/* K_FILE keys are always stored: the resolved path is their value. */
	if (k->kind == K_FILE)
		return take_file(c, s, (char **)field);
	if (field)
		store(c, s, k->kind, field);
	return true;
}

static const struct key *find_key(const struct key *keys, size_t nkeys, const char *name)
{
	for (size_t i = 0; i < nkeys; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/*
 * Checks every member of group against keys: unknown names, missing required keys, wrong
 * types and values out of range are reported, and valid scalars are stored into dst.
 * When found is not NULL, found[i] is the member for keys[i] if it is present and valid.
 */
static void check_group(struct ctx *c, const config_setting_t *group, const struct key *keys,
			size_t nkeys, void *dst, const config_setting_t **found)
{
	char path[PATH_BUF];
	size_t n = setting_path(group, path, sizeof path);

	for (size_t i = 0; i < nkeys; i++) {
		if (found)
			found[i] = NULL;
		if (keys[i].required && !config_setting_get_member(group, keys[i].name))
			error_at(c, group, "%s%s%s is required", path, n ? "." : "", keys[i].name);
	}
	for (int i = 0; i < config_setting_length(group); i++) {
		const config_setting_t *m = config_setting_get_elem(group, (unsigned)i);
		const struct key *k = find_key(keys, nkeys, config_setting_name(m));

		if (!k)
			error_at(c, m, "unknown key '%s' %s%s", config_setting_name(m),
				 n ? "in " : "at top level", path);
		else if (take(c, m, k, dst) && found)
			found[k - keys] = m;
	}
}

/* Checks that s holds kind k: the elements of lists and arrays, the members of labels. */
static bool is_kind(struct ctx *c, const config_setting_t *s, enum kind k)
{
	const struct key key = { .name = "element", .kind = k };

	return take(c, s, &key, NULL);
}

static bool lookup_name(struct ctx *c, const config_setting_t *s, const struct name_value *table,
			size_t n, const char *choices, int *value)
{
	const char *name = config_setting_get_string(s);

	for (size_t i = 0; i < n; i++) {
		if (strcmp(table[i].name, name) == 0) {
			*value = table[i].value;
			return true;
		}
	}
	bad(c, s, "'%s' must be %s", name, choices);
	return false;
}

static bool in_list(const char *name, const char *const *list, size_t n,
		    int (*cmp)(const char *, const char *))
{
	for (size_t i = 0; i < n; i++)
		if (cmp(list[i], name) == 0)
			return true;
	return false;
}

/* Printable ASCII, no spaces, and none of the characters in reject. */
static bool visible_ascii(const char *s, const char *reject)
{
	for (; *s; s++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f || strchr(reject, *s))
			return false;
	return true;
}

/* The end of a host name or of a bracketed IPv6 address; NULL when there is none. */
static const char *host_end(const char *host)
{
	char addr[INET6_ADDRSTRLEN];
	struct in6_addr in6;
	const char *end;
	size_t n;

	if (*host != '[') {
		n = strspn(host, LETTERS DIGITS "-._");
		return n ? host + n : NULL;
	}
	end = strchr(host, ']');
	if (!end || (size_t)(end - host - 1) >= sizeof addr)
		return NULL;
	memcpy(addr, host + 1, (size_t)(end - host - 1));
	addr[end - host - 1] = '\0';
	return inet_pton(AF_INET6, addr, &in6) == 1 ? end + 1 : NULL;
}

/*
 * Checks scheme://host[:port], followed by a path or query where path_ok, and stores
 * "host:port" into *hostport when it is not NULL, the scheme's port when none is written.
 */
static bool check_url(struct ctx *c, const config_setting_t *s, bool path_ok, bool http_ok,
		      bool *https, char **hostport)
{
	const char *url = config_setting_get_string(s), *host, *end, *p;
	char *shown;
	unsigned long port;
	bool tls;
	size_t n;

	if (!visible_ascii(url, ""))
		goto invalid;
	tls = strncmp(url, "https://", 8) == 0;
	if (!tls && strncmp(url, "http://", 7) != 0)
		goto invalid;
	host = url + (tls ? 8 : 7);
	if (!(end = host_end(host)))
		goto invalid;
	p = end;
	port = tls ? 443 : 80;
	if (*p == ':') {
		n = strspn(++p, DIGITS);
		port = n > 0 && n <= 5 ? strtoul(p, NULL, 10) : 0;
		if (port < 1 || port > 65535)
			goto invalid;
		p += n;
	}
	if (!path_ok && *p && strcmp(p, "/") != 0) {
		bad(c, s, "'%s' must be only scheme://host[:port]: the daemon adds the path", url);
		return false;
	}
	/* A user@ part stops the host early and lands here too. */
	if ((*p && *p != '/' && *p != '?') || strchr(p, '#'))
		goto invalid;
	if (!tls && !http_ok) {
		bad(c, s, "'%s' is plain http: set cms.allow_insecure_http = true to allow it", url);
		return false;
	}
	if (https)
		*https = tls;
	if (hostport)
		*hostport = xasprintf("%.*s:%lu", (int)(end - host), host, port);
	return true;
invalid:
	/* A webhook's path and query may hold its token: only the part before them is shown. */
	shown = path_ok ? util_url_origin(url) : xstrdup(url);
	bad(c, s, "'%s%s' is not a URL of the form %s", shown, strcmp(shown, url) ? "..." : "",
	    path_ok ? "http[s]://host[:port][/path]" : "https://host[:port]");
	free(shown);
	return false;
}

static ssize_t read_full(int fd, char *buf, size_t size)
{
	size_t n = 0;
	ssize_t r;

	while (n < size) {
		r = read(fd, buf + n, size - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -1;
		if (r == 0)
			break;
		n += (size_t)r;
	}
	return (ssize_t)n;
}

static const char *secret_problem(const char *secret, size_t len)
{
	if (len == 0)
		return "is empty";
	if (len > CFG_SECRET_MAX)
		return "is longer than " XSTR(CFG_SECRET_MAX) " bytes";
	if (memchr(secret, '\0', len))
		return "contains a NUL byte";
	if (memchr(secret, '\n', len) || memchr(secret, '\r', len))
		return "has more than one line";
	return NULL;
}

/* Opens a regular file that only its owner may access; -1 when it is not one (reported). */
static int open_private(struct ctx *c, const config_setting_t *at, const char *what,
			const char *path)
{
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0 || fstat(fd, &st) < 0)
		error_at(c, at, "%s %s cannot be read: %s", what, path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		error_at(c, at, "%s %s is not a regular file", what, path);
	else if (st.st_mode & 077)
		error_at(c, at, "%s %s has mode %04o: it must not be readable by group or others (chmod 600)",
			 what, path, (unsigned)(st.st_mode & 07777));
	else
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

/*
 * Reads a secret from a regular file that only its owner may access: one line of at most
 * CFG_SECRET_MAX bytes, one trailing "\n" or "\r\n" dropped. Messages name the file as
 * "what path" and never show its content.
 */
static char *read_secret(struct ctx *c, const config_setting_t *at, const char *what,
			 const char *path, size_t *len)
{
	const char *problem;
	char *buf = NULL;
	ssize_t n;
	int fd;

	if ((fd = open_private(c, at, what, path)) < 0)
		goto fail;
	buf = util_secret_alloc(SECRET_BUF);
	if ((n = read_full(fd, buf, SECRET_BUF)) < 0) {
		error_at(c, at, "%s %s cannot be read: %s", what, path, strerror(errno));
		goto fail;
	}
	*len = (size_t)n;
	if (*len > 0 && buf[*len - 1] == '\n' && --*len > 0 && buf[*len - 1] == '\r')
		--*len;
	if ((problem = secret_problem(buf, *len))) {
		error_at(c, at, "%s %s %s", what, path, problem);
		goto fail;
	}
	close(fd);
	buf[*len] = '\0';
	return buf;
fail:
	if (fd >= 0)
		close(fd);
	util_secret_free(buf, SECRET_BUF);
	return NULL;
}

/* The secret named by setting s, a path relative to the configuration's directory. */
static char *secret_file(struct ctx *c, const config_setting_t *s, size_t *len)
{
	char *path = resolve_path(c, config_setting_get_string(s));
	char what[PATH_BUF], *secret;

	setting_path(s, what, sizeof what);
	secret = read_secret(c, s, what, path, len);
	free(path);
	return secret;
}

/* Without app_secret_file, systemd's LoadCredential=cms.secret:... supplies the secret. */
static void cms_credential(struct ctx *c, const config_setting_t *cms, struct cfg_cms *out)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char *path = dir ? xasprintf("%s/cms.secret", dir) : NULL;

	if (path && access(path, F_OK) == 0)
		out->app_secret = read_secret(c, cms, "systemd credential cms.secret", path,
					      &out->app_secret_len);
	else if (!dir && (c->flags & CFG_LOAD_DEFER_CREDENTIAL))
		out->secret_deferred = true;
	else
		error_at(c, cms, "cms.app_secret_file is not set and there is no systemd credential cms.secret");
	free(path);
}

static void parse_tls(struct ctx *c, const config_setting_t *s, struct cfg_tls *tls)
{
	check_group(c, s, tls_keys, ARRAY_SIZE(tls_keys), tls, NULL);
	if (!config_setting_get_member(s, "client_cert") != !config_setting_get_member(s, "client_key"))
		bad(c, s, "needs both client_cert and client_key, or neither");
}

/* The key goes into a '/'-separated Authorization header, so it must be one plain token. */
static void check_app_key(struct ctx *c, const config_setting_t *s)
{
	const char *key = config_setting_get_string(s);

	if (!*key)
		bad(c, s, "is empty");
	else if (!visible_ascii(key, "/"))
		bad(c, s, "must be printable ASCII without spaces or '/'");
}

static void parse_cms(struct ctx *c, const config_setting_t *s, struct cfg_cms *cms)
{
	const config_setting_t *f[CMS_N];
	const char *url;

	check_group(c, s, cms_keys, CMS_N, cms, f);
	if (f[CMS_URL] && check_url(c, f[CMS_URL], false, cms->allow_insecure_http, &cms->https,
				    &cms->host)) {
		url = config_setting_get_string(f[CMS_URL]);
		cms->url = xstrndup(url, strlen(url) - (url[strlen(url) - 1] == '/'));
	}
	if (f[CMS_APP_KEY])
		check_app_key(c, f[CMS_APP_KEY]);
	if (f[CMS_SECRET_FILE])
		cms->app_secret = secret_file(c, f[CMS_SECRET_FILE], &cms->app_secret_len);
	else if (!config_setting_get_member(s, "app_secret_file"))
		cms_credential(c, s, cms);
	if (f[CMS_TLS])
		parse_tls(c, f[CMS_TLS], &cms->tls);
}

static void parse_poll(struct ctx *c, const config_setting_t *s, struct cfg_poll *poll)
{
	const config_setting_t *f[POLL_N];

	check_group(c, s, poll_keys, POLL_N, poll, f);
	if (!config_setting_get_member(s, "backoff_max"))
		poll->backoff_max = poll->interval > 60 ? poll->interval : 60;
	else if (f[POLL_BACKOFF_MAX] && (f[POLL_INTERVAL] || !config_setting_get_member(s, "interval")) &&
		 poll->backoff_max < poll->interval)
		bad(c, f[POLL_BACKOFF_MAX], "%g must not be below poll.interval %g",
		    poll->backoff_max, poll->interval);
}

/* Checks one member of a group of strings; problem() judges its name and value. */
static bool string_member(struct ctx *c, const config_setting_t *m,
			  const char *(*problem)(const char *name, const char *value, char *buf,
						 size_t size))
{
	const char *why;
	char buf[160];

	if (!is_kind(c, m, K_STR))
		return false;
	if ((why = problem(config_setting_name(m), config_setting_get_string(m), buf, sizeof buf))) {
		bad(c, m, "%s", why);
		return false;
	}
	return true;
}

/* Prometheus label names (libconfig names also allow '-' and '*') that journald takes too. */
static const char *label_problem(const char *name, const char *value, char *buf, size_t size)
{
	const char *why;

	if ((why = cfgcheck_label_name(name, buf, size)))
		return why;
	if (in_list(name, reserved_labels, ARRAY_SIZE(reserved_labels), strcmp))
		return "is reserved: the daemon sets cc, vdn, agent, name, alertname and call_id itself";
	if (strlen(value) > CFG_NAME_MAX) {
		snprintf(buf, size, "is %zu bytes long: label values are at most %d bytes",
			 strlen(value), CFG_NAME_MAX);
		return buf;
	}
	return NULL;
}

/* libconfig names, [A-Za-z*][-A-Za-z0-9_*]*, are all HTTP tokens already; take() refused line
 * breaks and other control characters in the value. */
static const char *header_problem(const char *name, const char *value, char *buf, size_t size)
{
	(void)buf;
	(void)size;
	if (in_list(name, reserved_headers, ARRAY_SIZE(reserved_headers), strcasecmp))
		return "is set by the daemon and cannot be overridden";
	/* libcurl takes "Name:" with nothing after it as "do not send Name". */
	if (!value[strspn(value, " \t")])
		return "is empty: libcurl would not send the header at all";
	return NULL;
}

/* The journal upper-cases label names: TEAM and team would be one field twice. */
static bool label_unique(struct ctx *c, const config_setting_t *m, const struct cfg_group *g)
{
	const char *name = config_setting_name(m);
	char field[CFG_LABEL_NAME_MAX + 1];
	size_t n;

	for (size_t i = 0; i < g->nlabels; i++) {
		if (strcasecmp(g->labels[i].key, name) != 0)
			continue;
		for (n = 0; name[n] && n + 1 < sizeof field; n++)
			field[n] = (char)toupper((unsigned char)name[n]);
		field[n] = '\0';
		bad(c, m, "and labels.%s are both the journal field " CFG_LABEL_PREFIX "%s: label "
		    "names must differ in more than case", g->labels[i].key, field);
		return false;
	}
	return true;
}

static void parse_labels(struct ctx *c, const config_setting_t *s, struct cfg_group *g)
{
	const config_setting_t *m;

	g->labels = xcalloc((size_t)config_setting_length(s), sizeof *g->labels);
	for (int i = 0; i < config_setting_length(s); i++) {
		m = config_setting_get_elem(s, (unsigned)i);
		if (string_member(c, m, label_problem) && label_unique(c, m, g))
			g->labels[g->nlabels++] = (struct cfg_label){
				xstrdup(config_setting_name(m)), xstrdup(config_setting_get_string(m)) };
	}
}

/*
 * Header values are often credentials (Authorization, API keys): say so when the file that holds
 * them is readable by more than its owner. A warning, not an error: the file may be shared on
 * purpose, and the daemon's user must be able to read it.
 */
static void warn_exposed_headers(struct ctx *c, const config_setting_t *s)
{
	char *file = source_name(c, config_setting_source_file(s));
	char path[PATH_BUF] = "";
	struct cfg *cfg = c->cfg;
	struct stat st;

	if (stat(file, &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH))) {
		setting_path(s, path, sizeof path);
		cfg->warnings = xreallocarray(cfg->warnings, cfg->nwarnings + 1, sizeof(char *));
		cfg->warnings[cfg->nwarnings++] = xasprintf(
			"%s:%u: warning: %s holds header values, often credentials, and the file is "
			"readable by %s (mode %04o): make it readable by the daemon's user only",
			file, setting_line(s), path, st.st_mode & S_IROTH ? "all users" : "its group",
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
		if (string_member(c, m, header_problem))
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

/* "call.started, call.ended, ...", for messages. */
static void list_event_types(char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int t = 0; t < EVENT_TYPE_COUNT && n < size; t++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", t ? ", " : "",
				      event_type_name((enum event_type)t));
}

static void parse_events(struct ctx *c, const config_setting_t *s, struct cfg_webhook *w)
{
	const config_setting_t *e;
	const char *pattern;
	char types[160];

	if (config_setting_length(s) == 0) {
		bad(c, s, "is empty: leave it out to send every event");
		return;
	}
	w->events = xcalloc((size_t)config_setting_length(s), sizeof *w->events);
	for (int i = 0; i < config_setting_length(s); i++) {
		e = config_setting_get_elem(s, (unsigned)i);
		if (!is_kind(c, e, K_STR))
			continue;
		pattern = config_setting_get_string(e);
		if (matches_event(pattern)) {
			w->events[w->nevents++] = xstrdup(pattern);
			continue;
		}
		list_event_types(types, sizeof types);
		bad(c, e, "'%s' matches no event type (%s)", pattern, types);
	}
}

static void parse_webhook(struct ctx *c, const config_setting_t *s, struct cfg_webhook *w)
{
	const config_setting_t *f[WH_N];
	int format;

	w->line = (int)setting_line(s);
	w->timeout = 10;
	w->batch_max = 1;
	w->max_backlog = CFG_MAX_BACKLOG_DEFAULT;
	w->max_in_flight = 32;
	w->tls.verify = true;
	check_group(c, s, webhook_keys, WH_N, w, f);
	if (f[WH_URL])
		check_url(c, f[WH_URL], true, true, NULL, NULL);
	if (f[WH_FORMAT] && lookup_name(c, f[WH_FORMAT], formats, ARRAY_SIZE(formats),
					"json or alertmanager", &format))
		w->format = format;
	if (f[WH_SECRET_FILE])
		w->secret = secret_file(c, f[WH_SECRET_FILE], &w->secret_len);
	if (f[WH_EVENTS])
		parse_events(c, f[WH_EVENTS], w);
	if (f[WH_HEADERS])
		parse_headers(c, f[WH_HEADERS], w);
	if (f[WH_TLS])
		parse_tls(c, f[WH_TLS], &w->tls);
}

static void parse_syslog(struct ctx *c, const config_setting_t *s, struct cfg_syslog *sl)
{
	const config_setting_t *f[SYSLOG_N];
	const char *why;

	check_group(c, s, syslog_keys, SYSLOG_N, sl, f);
	if (f[SYSLOG_IDENT] && (why = cfgcheck_ident(sl->ident)))
		bad(c, f[SYSLOG_IDENT], "%s", why);
	if (f[SYSLOG_SOCKET] && !sl->socket[0])
		bad(c, f[SYSLOG_SOCKET], "is empty");
	if (f[SYSLOG_FACILITY])
		lookup_name(c, f[SYSLOG_FACILITY], facilities, ARRAY_SIZE(facilities),
			    "one of kern, user, mail, daemon, auth, syslog, lpr, news, uucp, cron, "
			    "authpriv, ftp, local0 to local7", &sl->facility);
}

static void parse_outputs(struct ctx *c, const config_setting_t *s, struct cfg_outputs *out)
{
	const config_setting_t *f[OUT_N], *list, *w;

	check_group(c, s, outputs_keys, OUT_N, out, f);
	if (f[OUT_SYSLOG])
		parse_syslog(c, f[OUT_SYSLOG], &out->syslog);
	if (!(list = f[OUT_WEBHOOKS]))
		return;
	out->webhooks = xcalloc((size_t)config_setting_length(list), sizeof *out->webhooks);
	for (int i = 0; i < config_setting_length(list); i++) {
		w = config_setting_get_elem(list, (unsigned)i);
		if (is_kind(c, w, K_GROUP))
			parse_webhook(c, w, &out->webhooks[out->nwebhooks++]);
	}
}

/* A place that lists agents: an id, one element of ids, or a range. */
struct source {
	const config_setting_t *s;
	size_t group;
};

/* One agent as listed; the same agent may be listed by several sources. */
struct listing {
	uint64_t key;
	size_t src;		/* sources are numbered in file order, which breaks ties */
};

/* A later listing of an agent that first appears at source first. */
struct dup {
	size_t later, first, first_group;
	uint64_t key;
};

struct expansion {
	struct source *src;
	size_t nsrc, srccap;
	struct listing *list;
	size_t nlist, listcap;
	struct dup *dups;
	size_t ndups, dupcap;
	bool full;		/* AGENTS_MAX was passed and reported */
};

/* Records that setting s of group g lists agents base|lo .. base|hi. */
static void list_ids(struct ctx *c, struct expansion *x, const config_setting_t *s, size_t g,
		     uint64_t base, long lo, long hi)
{
	size_t n = (size_t)(hi - lo + 1);

	if (x->full || x->nlist + n > AGENTS_MAX) {
		if (!x->full)
			bad(c, s, "brings the number of agents over %d", AGENTS_MAX);
		x->full = true;
		return;
	}
	x->src = grow(x->src, &x->srccap, x->nsrc + 1, sizeof *x->src);
	x->src[x->nsrc] = (struct source){ s, g };
	x->list = grow(x->list, &x->listcap, x->nlist + n, sizeof *x->list);
	for (long id = lo; id <= hi; id++)
		x->list[x->nlist++] = (struct listing){ base | (uint64_t)id, x->nsrc };
	x->nsrc++;
}

/* The ends of a range = [first, last], or false when they were reported as wrong. */
static bool range_ends(struct ctx *c, const config_setting_t *s, long *lo, long *hi)
{
	const config_setting_t *first, *last;
	bool ok;

	if (config_setting_length(s) != 2) {
		bad(c, s, "must be [first, last]");
		return false;
	}
	first = config_setting_get_elem(s, 0);
	last = config_setting_get_elem(s, 1);
	/* Both ends are checked, to report both when both are wrong. */
	ok = take(c, first, &agent_keys[AG_ID], NULL);
	if (!take(c, last, &agent_keys[AG_ID], NULL) || !ok)
		return false;
	*lo = (long)integer(c, first);
	*hi = (long)integer(c, last);
	if (*lo > *hi) {
		bad(c, s, "[%ld, %ld] is reversed: its first id must not exceed its last", *lo, *hi);
		return false;
	}
	if (!agent_range_valid(*lo, *hi)) {
		bad(c, s, "[%ld, %ld] includes ids out of range " AGENT_ID_RANGES, *lo, *hi);
		return false;
	}
	return true;
}

static size_t count_present(const config_setting_t *s, const char *const *names, size_t n)
{
	size_t count = 0;

	for (size_t i = 0; i < n; i++)
		count += config_setting_get_member(s, names[i]) != NULL;
	return count;
}

/* ids = [ ... ]: each element is a source of its own; base is NULL when cc or vdn is wrong. */
static void list_each_id(struct ctx *c, const config_setting_t *ids, size_t gi,
			 const uint64_t *base, struct expansion *x)
{
	const config_setting_t *e;
	long id;

	if (config_setting_length(ids) == 0)
		bad(c, ids, "is empty");
	for (int i = 0; i < config_setting_length(ids); i++) {
		e = config_setting_get_elem(ids, (unsigned)i);
		if (take(c, e, &agent_keys[AG_ID], NULL) && base) {
			id = (long)integer(c, e);
			list_ids(c, x, e, gi, *base, id, id);
		}
	}
}

/* One entry of the agents list; its agents are listed in x when cc, vdn and ids are valid. */
static void parse_group(struct ctx *c, const config_setting_t *s, size_t gi, struct cfg_group *g,
			struct expansion *x)
{
	static const char *const ways[] = { "id", "ids", "range" };
	const config_setting_t *f[AG_N], *e;
	size_t ways_given = count_present(s, ways, ARRAY_SIZE(ways));
	uint64_t base = 0;
	bool listable;
	long lo, hi;

	g->line = (int)setting_line(s);
	check_group(c, s, agent_keys, AG_N, g, f);
	if (ways_given != 1)
		bad(c, s, ways_given ? "must have only one of id, ids and range"
				     : "needs one of id, ids or range");
	if ((e = config_setting_get_member(s, "name")) && !config_setting_get_member(s, "id"))
		bad(c, e, "is only allowed with a single id");
	if (f[AG_LABELS])
		parse_labels(c, f[AG_LABELS], g);
	listable = ways_given == 1 && f[AG_CC] && f[AG_VDN];
	if (listable)
		base = cfg_agent_key((uint32_t)integer(c, f[AG_CC]), (uint32_t)integer(c, f[AG_VDN]), 0);
	if (f[AG_ID] && listable) {
		lo = (long)integer(c, f[AG_ID]);
		list_ids(c, x, f[AG_ID], gi, base, lo, lo);
	}
	if (f[AG_IDS])
		list_each_id(c, f[AG_IDS], gi, listable ? &base : NULL, x);
	if (f[AG_RANGE] && range_ends(c, f[AG_RANGE], &lo, &hi) && listable)
		list_ids(c, x, f[AG_RANGE], gi, base, lo, hi);
}

static int listing_cmp(const void *a, const void *b)
{
	const struct listing *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (x->src > y->src) - (x->src < y->src);
}

/* Duplicates of one source against one earlier group are reported together, lowest id first. */
static int dup_cmp(const void *a, const void *b)
{
	const struct dup *x = a, *y = b;

	if (x->later != y->later)
		return x->later < y->later ? -1 : 1;
	if (x->first_group != y->first_group)
		return x->first_group < y->first_group ? -1 : 1;
	return (x->key > y->key) - (x->key < y->key);
}

static struct cfg_agent agent_of(uint64_t key, const struct cfg_group *group)
{
	return (struct cfg_agent){ (uint32_t)(key >> 40), (uint32_t)(key >> 24 & 0xffff),
				   (uint32_t)(key & 0xffffff), group };
}

static void report_dups(struct ctx *c, const struct expansion *x, const struct dup *d, size_t more)
{
	const config_setting_t *later = x->src[d->later].s, *first = x->src[d->first].s;
	struct cfg_agent a = agent_of(d->key, NULL);
	const char *lf = config_setting_source_file(later), *ff = config_setting_source_file(first);
	char *file = NULL, extra[48] = "";

	/* The earlier line is enough when both are in the same file. */
	if (lf != ff && (!lf || !ff || strcmp(lf, ff) != 0))
		file = source_name(c, ff);
	if (more)
		snprintf(extra, sizeof extra, " and %zu more", more);
	error_at(c, later, "agent %u:%u:%u is listed twice (first at %s%s%u)%s", a.cc, a.vdn, a.id,
		 file ? file : "line ", file ? ":" : "", setting_line(first), extra);
	free(file);
}

static void add_dup(struct expansion *x, const struct listing *later, const struct listing *first)
{
	x->dups = grow(x->dups, &x->dupcap, x->ndups + 1, sizeof *x->dups);
	x->dups[x->ndups++] = (struct dup){ later->src, first->src, x->src[first->src].group,
					    first->key };
}

/* Sorts the listings, keeps the first listing of each agent and reports the others. */
static void finish_agents(struct ctx *c, struct expansion *x, struct cfg *cfg)
{
	const struct listing *l = x->list;
	size_t i, j;

	if (x->nlist)
		qsort(x->list, x->nlist, sizeof *x->list, listing_cmp);
	cfg->agents = xcalloc(x->nlist, sizeof *cfg->agents);
	for (i = 0; i < x->nlist; i = j) {
		/* A group that lists an agent more than once is told so once. */
		for (j = i + 1; j < x->nlist && l[j].key == l[i].key; j++)
			if (j == i + 1 || x->src[l[j].src].group != x->src[l[j - 1].src].group)
				add_dup(x, &l[j], &l[i]);
		cfg->agents[cfg->nagents++] = agent_of(l[i].key, &cfg->groups[x->src[l[i].src].group]);
	}
	/* Overlapping ranges would otherwise give one line per agent. */
	if (x->ndups)
		qsort(x->dups, x->ndups, sizeof *x->dups, dup_cmp);
	for (i = 0; i < x->ndups; i = j) {
		for (j = i + 1; j < x->ndups && x->dups[j].later == x->dups[i].later &&
		     x->dups[j].first_group == x->dups[i].first_group; j++)
			;
		report_dups(c, x, &x->dups[i], j - i - 1);
	}
}

static void parse_agents(struct ctx *c, const config_setting_t *list, struct cfg *cfg)
{
	struct expansion x = { 0 };
	const config_setting_t *g;
	int n = config_setting_length(list);

	if (n == 0) {
		bad(c, list, "is empty: list at least one agent");
		return;
	}
	cfg->groups = xcalloc((size_t)n, sizeof *cfg->groups);
	for (int i = 0; i < n; i++) {
		g = config_setting_get_elem(list, (unsigned)i);
		if (is_kind(c, g, K_GROUP)) {
			parse_group(c, g, cfg->ngroups, &cfg->groups[cfg->ngroups], &x);
			cfg->ngroups++;
		}
	}
	finish_agents(c, &x, cfg);
	free(x.src);
	free(x.list);
	free(x.dups);
}

/* ---- http ---- */

const char *cfg_listen_parse(const char *text, struct sockaddr_storage *addr, socklen_t *len)
{
	struct sockaddr_in *in = (struct sockaddr_in *)addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)addr;
	struct sockaddr_un *un = (struct sockaddr_un *)addr;
	char host[INET6_ADDRSTRLEN];
	bool bracketed = text[0] == '[';
	const char *colon, *end;
	unsigned long port;
	size_t n;

	memset(addr, 0, sizeof *addr);
	if (strncmp(text, "unix:", 5) == 0) {
		if (text[5] != '/')
			return "a unix socket needs an absolute path: unix:/path";
		if (strlen(text + 5) >= sizeof un->sun_path)
			return "the unix socket path is too long";
		un->sun_family = AF_UNIX;
		strcpy(un->sun_path, text + 5);
		*len = (socklen_t)sizeof *un;
		return NULL;
	}
	if (bracketed) {
		end = strchr(text, ']');
		colon = end && end[1] == ':' ? end + 1 : NULL;
		text++;
	} else {
		colon = strrchr(text, ':');
		end = colon;
	}
	if (!colon)
		return "is not IP:port, [IPv6]:port or unix:/path";
	n = strspn(colon + 1, DIGITS);
	port = n > 0 && n <= 5 && !colon[1 + n] ? strtoul(colon + 1, NULL, 10) : 65536;
	if (port > 65535)
		return "needs a port 0..65535 after the last ':'";
	if ((size_t)(end - text) >= sizeof host)
		return "is not an IP address literal";
	memcpy(host, text, (size_t)(end - text));
	host[end - text] = '\0';
	if (!bracketed && inet_pton(AF_INET, host, &in->sin_addr) == 1) {
		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		*len = (socklen_t)sizeof *in;
	} else if (bracketed && inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = (socklen_t)sizeof *in6;
	} else {
		return "is not an IP address literal (IPv6 in brackets: [::1]:9477)";
	}
	return NULL;
}

static void parse_listen(struct ctx *c, const config_setting_t *s, struct cfg_http *http)
{
	struct sockaddr_storage addr;
	const config_setting_t *e;
	const char *why;
	socklen_t len;

	http->listen = xcalloc((size_t)config_setting_length(s), sizeof *http->listen);
	for (int i = 0; i < config_setting_length(s); i++) {
		e = config_setting_get_elem(s, (unsigned)i);
		if (!is_kind(c, e, K_STR))
			continue;
		if ((why = cfg_listen_parse(config_setting_get_string(e), &addr, &len)))
			bad(c, e, "'%s' %s", config_setting_get_string(e), why);
		else
			http->listen[http->nlisten++] = xstrdup(config_setting_get_string(e));
	}
}

/* One "user:hash" line; false when it was reported as wrong. */
static bool parse_user(struct ctx *c, const char *path, unsigned n, char *line,
		       struct cfg_http_user *user)
{
	char *hash = strchr(line, ':');

	if (!hash || hash == line) {
		report(c, path, n, "is not a user:crypt-hash line");
		return false;
	}
	*hash++ = '\0';
	if (!visible_ascii(line, "")) {
		report(c, path, n, "the user name must be printable ASCII without spaces");
		return false;
	}
	if (crypt_checksalt(hash) != CRYPT_SALT_OK) {
		report(c, path, n, "user %s: the hash is not one crypt(3) accepts as strong "
		       "(htpasswd -B or mkpasswd -m yescrypt make one)", line);
		return false;
	}
	*user = (struct cfg_http_user){ xstrdup(line), util_secret_dup(hash, strlen(hash)) };
	return true;
}

/* http.users_file: owner-only like a secret; '#' comments and blank lines are skipped. */
static void parse_users(struct ctx *c, const config_setting_t *s, struct cfg_http *http)
{
	char *path = resolve_path(c, config_setting_get_string(s)), *line = NULL;
	size_t size = 0, cap = 0;
	unsigned n = 0;
	ssize_t len;
	FILE *f;
	int fd;

	http->users_file = path;
	if ((fd = open_private(c, s, "http.users_file", path)) < 0)
		return;
	if (!(f = fdopen(fd, "r"))) {
		close(fd);
		return;
	}
	while ((len = getline(&line, &size, f)) >= 0) {
		n++;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (len == 0 || line[0] == '#')
			continue;
		http->users = grow(http->users, &cap, http->nusers + 1, sizeof *http->users);
		http->nusers += parse_user(c, path, n, line, &http->users[http->nusers]);
	}
	if (http->nusers == 0)
		error_at(c, s, "http.users_file %s lists no user", path);
	free(line);
	fclose(f);
}

static void parse_http(struct ctx *c, const config_setting_t *s, struct cfg_http *http)
{
	const config_setting_t *f[HTTP_N];

	check_group(c, s, http_keys, HTTP_N, http, f);
	if (f[HTTP_LISTEN])
		parse_listen(c, f[HTTP_LISTEN], http);
	if (f[HTTP_TLS])
		check_group(c, f[HTTP_TLS], http_tls_keys, ARRAY_SIZE(http_tls_keys), http, NULL);
	if (f[HTTP_USERS_FILE])
		parse_users(c, f[HTTP_USERS_FILE], http);
}

static void parse_root(struct ctx *c, const config_setting_t *root, struct cfg *cfg)
{
	const config_setting_t *f[R_N];

	check_group(c, root, root_keys, R_N, cfg, f);
	if (f[R_CMS])
		parse_cms(c, f[R_CMS], &cfg->cms);
	if (f[R_POLL])
		parse_poll(c, f[R_POLL], &cfg->poll);
	if (f[R_ALERTS])
		check_group(c, f[R_ALERTS], alerts_keys, ARRAY_SIZE(alerts_keys), &cfg->alerts, NULL);
	if (f[R_AGENTS])
		parse_agents(c, f[R_AGENTS], cfg);
	if (f[R_OUTPUTS])
		parse_outputs(c, f[R_OUTPUTS], &cfg->outputs);
	if (f[R_HTTP])
		parse_http(c, f[R_HTTP], &cfg->http);
	if (f[R_STATE_DIR] && cfg->state_dir[0] != '/')
		bad(c, f[R_STATE_DIR], "'%s' must be an absolute path", cfg->state_dir);
}

/* Numbers are read again from the text first: libconfig 1.5 may not have kept them. */
static void check_root(struct ctx *c, const config_setting_t *root, struct cfg *cfg)
{
	cfgnum_scan(&c->nums, root, c->path, c->dir);
	if (c->nums.unmatched) {
		bad(c, c->nums.unmatched, "is a number whose text could not be found again to check "
		    "that libconfig kept it (was the file changed while it was read?)");
		return;
	}
	parse_root(c, root, cfg);
}

static void set_defaults(struct cfg *cfg)
{
	cfg->cms.timeout = 5;
	cfg->cms.max_in_flight = 32;
	cfg->cms.tls.verify = true;
	cfg->poll.interval = 5;
	cfg->poll.failure_threshold = 3;
	cfg->poll.backoff_max = 60;
	cfg->alerts.long_call = 900;
	cfg->outputs.journal = true;
	cfg->outputs.deadletter_max = CFG_DEADLETTER_MAX_DEFAULT;
	cfg->outputs.syslog.facility = LOG_DAEMON;
	cfg->outputs.syslog.ident = xstrdup("agentwatchd");
	cfg->outputs.syslog.socket = xstrdup("/dev/log");
	cfg->http.max_connections = 64;
	cfg->http.timeout = 30;
}

/* Absolute, so that relative paths in the file stay right if the daemon changes directory. */
static char *config_dir(const char *path)
{
	char *copy = xstrdup(path), *dir;
	const char *parent = dirname(copy);

	if (!(dir = realpath(parent, NULL)))
		dir = xstrdup(parent);
	free(copy);
	return dir;
}

/* libconfig would say only "file I/O error". */
static bool config_readable(struct ctx *c)
{
	struct stat st;
	int fd = open(c->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	int err = 0;

	if (fd < 0 || fstat(fd, &st) < 0)
		err = errno;
	else if (S_ISDIR(st.st_mode))
		err = EISDIR;
	if (fd >= 0)
		close(fd);
	if (err)
		report(c, NULL, 0, "cannot read: %s", strerror(err));
	return err == 0;
}

/* The quoted name of a line's "@include", as libconfig's scanner finds it; NULL for others. */
static char *include_name(char *line)
{
	char *name = line + strspn(line, " \t"), *end;

	if (strncmp(name, "@include", 8) != 0 || !strchr(" \t", name[8]))
		return NULL;
	name += 8 + strspn(name + 8, " \t");
	if (*name++ != '"' || !(end = strchr(name, '"')))
		return NULL;
	*end = '\0';
	return name;
}

/*
 * libconfig 1.5's scanner exits the process when an @include names a directory, or on some
 * lines holding a NUL byte, so the file and those it includes are checked first, as deep as
 * libconfig would follow them.
 */
static bool includes_ok(struct ctx *c, const char *file, int depth)
{
	FILE *f = fopen(file, "re");
	char *line = NULL, *name, *path;
	size_t size = 0;
	ssize_t len;
	unsigned n = 0;
	struct stat st;
	bool ok = true;

	/* An unreadable file is libconfig's to report. */
	if (!f)
		return true;
	while ((len = getline(&line, &size, f)) > 0) {
		n++;
		if (memchr(line, '\0', (size_t)len)) {
			report(c, file, n, "a NUL byte: this is not a text file");
			ok = false;
			break;
		}
		if (!(name = include_name(line)))
			continue;
		/* libconfig 1.5 puts its include directory before every name, even an absolute one. */
		path = xasprintf("%s/%s", c->dir, name);
		if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
			report(c, file, n, "@include \"%s\": %s is not a regular file", name, path);
			ok = false;
		} else if (depth < 10) {
			ok = includes_ok(c, path, depth + 1) && ok;
		}
		free(path);
	}
	free(line);
	fclose(f);
	return ok;
}

static void report_syntax(struct ctx *c, const config_t *lc)
{
	const char *text = config_error_text(lc) ? config_error_text(lc) : "";

	/* libconfig's plainest text is "syntax error" itself. */
	if (strcmp(text, "syntax error") == 0)
		text = "";
	report(c, config_error_file(lc), (unsigned)config_error_line(lc), "syntax error%s%s",
	       *text ? ": " : "", text);
}

static int message_cmp(const void *a, const void *b)
{
	const struct message *x = a, *y = b;
	int r = y->main_file - x->main_file;

	if (r == 0)
		r = strcmp(x->file, y->file);
	if (r == 0)
		r = (x->line > y->line) - (x->line < y->line);
	if (r == 0)
		r = (x->seq > y->seq) - (x->seq < y->seq);
	return r;
}

static void write_messages(struct ctx *c, FILE *errors)
{
	if (c->nmsgs)
		qsort(c->msgs, c->nmsgs, sizeof *c->msgs, message_cmp);
	for (size_t i = 0; i < c->nmsgs; i++) {
		fprintf(errors, "%s\n", c->msgs[i].text);
		free(c->msgs[i].file);
		free(c->msgs[i].text);
	}
	free(c->msgs);
}

struct cfg *cfg_load(const char *path, FILE *errors, int *nerrors)
{
	return cfg_load_flags(path, errors, nerrors, 0);
}

struct cfg *cfg_load_flags(const char *path, FILE *errors, int *nerrors, unsigned flags)
{
	struct ctx c = { .path = path, .flags = flags };
	struct cfg *cfg = xcalloc(1, sizeof *cfg);
	config_t lc;

	c.cfg = cfg;
	cfg->path = xstrdup(path);
	set_defaults(cfg);
	c.dir = config_dir(path);
	config_init(&lc);
	config_set_include_dir(&lc, c.dir);
	if (config_readable(&c) && includes_ok(&c, path, 0)) {
		if (config_read_file(&lc, path))
			check_root(&c, config_root_setting(&lc), cfg);
		else
			report_syntax(&c, &lc);
	}
	config_destroy(&lc);
	cfgnum_free(&c.nums);
	free(c.dir);
	write_messages(&c, errors);
	if (nerrors)
		*nerrors = (int)c.nmsgs;
	if (c.nmsgs) {
		cfg_free(cfg);
		return NULL;
	}
	return cfg;
}

static void free_tls(struct cfg_tls *tls)
{
	free(tls->ca_file);
	free(tls->client_cert);
	free(tls->client_key);
}

static void free_webhook(struct cfg_webhook *w)
{
	free(w->url);
	util_secret_free(w->secret, w->secret_len);
	for (size_t i = 0; i < w->nevents; i++)
		free(w->events[i]);
	free(w->events);
	for (size_t i = 0; i < w->nheaders; i++) {
		free(w->headers[i].name);
		free(w->headers[i].value);
	}
	free(w->headers);
	free_tls(&w->tls);
}

static void free_group(struct cfg_group *g)
{
	free(g->name);
	for (size_t i = 0; i < g->nlabels; i++) {
		free(g->labels[i].key);
		free(g->labels[i].value);
	}
	free(g->labels);
}

static void free_http(struct cfg_http *http)
{
	for (size_t i = 0; i < http->nlisten; i++)
		free(http->listen[i]);
	free(http->listen);
	free(http->cert_file);
	free(http->key_file);
	free(http->users_file);
	for (size_t i = 0; i < http->nusers; i++) {
		free(http->users[i].name);
		util_secret_free(http->users[i].hash, strlen(http->users[i].hash));
	}
	free(http->users);
}

void cfg_free(struct cfg *cfg)
{
	if (!cfg)
		return;
	free(cfg->path);
	free(cfg->cms.url);
	free(cfg->cms.host);
	free(cfg->cms.app_key);
	util_secret_free(cfg->cms.app_secret, cfg->cms.app_secret_len);
	free_tls(&cfg->cms.tls);
	free(cfg->outputs.syslog.ident);
	free(cfg->outputs.syslog.socket);
	for (size_t i = 0; i < cfg->outputs.nwebhooks; i++)
		free_webhook(&cfg->outputs.webhooks[i]);
	free(cfg->outputs.webhooks);
	free(cfg->state_dir);
	free_http(&cfg->http);
	for (size_t i = 0; i < cfg->ngroups; i++)
		free_group(&cfg->groups[i]);
	free(cfg->groups);
	free(cfg->agents);
	for (size_t i = 0; i < cfg->nwarnings; i++)
		free(cfg->warnings[i]);
	free(cfg->warnings);
	free(cfg);
}

void cfg_log_warnings(const struct cfg *cfg)
{
	for (size_t i = 0; i < cfg->nwarnings; i++)
		log_warn("%s", cfg->warnings[i]);
}

static int agent_key_cmp(const void *key, const void *elem)
{
	const struct cfg_agent *a = elem;
	uint64_t k = *(const uint64_t *)key, ak = cfg_agent_key(a->cc, a->vdn, a->id);

	return (k > ak) - (k < ak);
}

const struct cfg_agent *cfg_find_agent(const struct cfg *cfg, uint32_t cc, uint32_t vdn, uint32_t id)
{
	uint64_t key;

	/* Out-of-range parts would spill into each other's bits of the key. */
	if (cc > CFG_CC_MAX || vdn > CFG_VDN_MAX || !cfg_agent_id_valid(id))
		return NULL;
	key = cfg_agent_key(cc, vdn, id);
	return bsearch(&key, cfg->agents, cfg->nagents, sizeof *cfg->agents, agent_key_cmp);
}
