/* cfg: reads the libconfig file into plain structs and reports every problem as FILE:LINE. */
#include "config.h"

#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

#include "cfg_impl.h"
#include "log.h"
#include "util.h"

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

enum { ALERTS_LONG_CALL, ALERTS_LONG_STATE, ALERTS_N };
static const struct key alerts_keys[] = {
	[ALERTS_LONG_CALL] = { .name = "long_call", .kind = K_SECS, .min = 0, .max = LONG_CALL_MAX,
			       AT(struct cfg_alerts, long_call) },
	[ALERTS_LONG_STATE] = { .name = "long_state", .kind = K_GROUP },
};

/* Paths in the file are relative to its directory, like @include, not to the daemon's cwd. */
char *cfg_resolve_path(const struct ctx *c, const char *path)
{
	if (path[0] == '/')
		return xstrdup(path);
	return xasprintf("%s/%s", c->dir, path);
}

/* libconfig names the main file as given and included ones as written in @include. */
char *cfg_source_name(const struct ctx *c, const char *file)
{
	if (!file || strcmp(file, c->path) == 0)
		return xstrdup(c->path);
	return cfg_resolve_path(c, file);
}

/* The setting's name as libconfig paths spell it: "outputs.webhooks[0].url". */
size_t cfg_setting_path(const config_setting_t *s, char *buf, size_t size)
{
	const config_setting_t *parent = config_setting_parent(s);
	size_t n;
	int r;

	buf[0] = '\0';
	if (!parent)
		return 0;
	n = cfg_setting_path(parent, buf, size);
	if (n >= size)
		return n;
	if (config_setting_name(s))
		r = snprintf(buf + n, size - n, "%s%s", n ? "." : "", config_setting_name(s));
	else
		r = snprintf(buf + n, size - n, "[%d]", config_setting_index(s));
	return n + (size_t)r;
}

/* Lines are 1-based; the root group has none and stands for the top of the file. */
unsigned cfg_setting_line(const config_setting_t *s)
{
	return config_setting_source_line(s) ? config_setting_source_line(s) : 1;
}

void *cfg_grow(void *p, size_t *cap, size_t need, size_t size)
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
	c->msgs = cfg_grow(c->msgs, &c->msgcap, c->nmsgs + 1, sizeof *c->msgs);
	m = &c->msgs[c->nmsgs];
	m->file = cfg_source_name(c, file);
	m->main_file = strcmp(m->file, c->path) == 0;
	m->line = line;
	m->seq = c->nmsgs++;
	if (named)
		cfg_setting_path(named, path, sizeof path);
	if (line)
		m->text = xasprintf("%s:%u: %s%s%s", m->file, line, path, *path ? " " : "", body);
	else
		m->text = xasprintf("%s: %s", m->file, body);
	free(body);
}

void __attribute__((format(printf, 4, 5)))
cfg_report(struct ctx *c, const char *file, unsigned line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, file, line, NULL, fmt, ap);
	va_end(ap);
}

/* A problem found at setting at. */
void __attribute__((format(printf, 3, 4)))
cfg_error_at(struct ctx *c, const config_setting_t *at, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, config_setting_source_file(at), cfg_setting_line(at), NULL, fmt, ap);
	va_end(ap);
}

/* A problem with setting s, which the message starts with: "poll.interval must be a number". */
void __attribute__((format(printf, 3, 4)))
cfg_bad(struct ctx *c, const config_setting_t *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(c, config_setting_source_file(s), cfg_setting_line(s), s, fmt, ap);
	va_end(ap);
}

/* alerts.long_state: seconds per CTI state, named as cmscodes names them. */
static void parse_long_state(struct ctx *c, const config_setting_t *group, double *seconds)
{
	char names[160];

	for (int i = 0; i < config_setting_length(group); i++) {
		const config_setting_t *m = config_setting_get_elem(group, (unsigned)i);
		int code = cmscodes_state_from_name(config_setting_name(m));
		const struct key k = { .name = config_setting_name(m), .kind = K_SECS, .min = 0,
				       .max = LONG_CALL_MAX, .store = true,
				       .off = (size_t)code * sizeof(*seconds) };

		if (code != CMS_CODE_NONE) {
			cfg_take(c, m, &k, seconds);
			continue;
		}
		cfg_join_names(names, sizeof(names), cmscodes_state_name, CMS_STATE_COUNT);
		cfg_error_at(c, m, "unknown state '%s' in alerts.long_state (the states are %s)",
			     config_setting_name(m), names);
	}
}

static void parse_alerts(struct ctx *c, const config_setting_t *s, struct cfg_alerts *alerts)
{
	const config_setting_t *f[ALERTS_N];

	cfg_check_group(c, s, alerts_keys, ALERTS_N, alerts, f);
	if (f[ALERTS_LONG_STATE])
		parse_long_state(c, f[ALERTS_LONG_STATE], alerts->long_state);
}

static void parse_root(struct ctx *c, const config_setting_t *root, struct cfg *cfg)
{
	const config_setting_t *f[R_N];

	cfg_check_group(c, root, root_keys, R_N, cfg, f);
	if (f[R_CMS])
		cfg_parse_cms(c, f[R_CMS], &cfg->cms);
	if (f[R_POLL])
		cfg_parse_poll(c, f[R_POLL], &cfg->poll);
	cfg_default_agent_state(f[R_POLL], cfg);
	if (f[R_ALERTS])
		parse_alerts(c, f[R_ALERTS], &cfg->alerts);
	if (f[R_AGENTS])
		cfg_parse_agents(c, f[R_AGENTS], cfg);
	if (f[R_OUTPUTS])
		cfg_parse_outputs(c, f[R_OUTPUTS], &cfg->outputs);
	if (f[R_HTTP])
		cfg_parse_http(c, f[R_HTTP], &cfg->http);
	if (f[R_STATE_DIR] && cfg->state_dir[0] != '/')
		cfg_bad(c, f[R_STATE_DIR], "'%s' must be an absolute path", cfg->state_dir);
}

/* Numbers are read again from the text first: libconfig 1.5 may not have kept them. */
static void check_root(struct ctx *c, const config_setting_t *root, struct cfg *cfg)
{
	cfgnum_scan(&c->nums, root, c->path, c->dir);
	if (c->nums.unmatched) {
		cfg_bad(c, c->nums.unmatched, "is a number whose text could not be found again to check "
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
	cfg->cms.api = CFG_API_AUTO;
	cfg->cms.batch_size = 1000;
	cfg->poll.interval = 5;
	cfg->poll.failure_threshold = 3;
	cfg->poll.backoff_max = 60;
	cfg->poll.agent_state = true;
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
		cfg_report(c, NULL, 0, "cannot read: %s", strerror(err));
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
			cfg_report(c, file, n, "a NUL byte: this is not a text file");
			ok = false;
			break;
		}
		if (!(name = include_name(line)))
			continue;
		/* libconfig 1.5 puts its include directory before every name, even an absolute one. */
		path = xasprintf("%s/%s", c->dir, name);
		if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
			cfg_report(c, file, n, "@include \"%s\": %s is not a regular file", name, path);
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
	cfg_report(c, config_error_file(lc), (unsigned)config_error_line(lc), "syntax error%s%s",
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
