/* ctl: agentwatchctl, the operator's client of agentwatchd's HTTP endpoint: status, agents, tail. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "cmscodes.h"
#include "ctlfmt.h"
#include "ctlhttp.h"
#include "util.h"

enum { EXIT_UNHEALTHY = 1, EXIT_USAGE = 2 };

#define PASSWORD_MAX 4096		/* bytes of a password file */
#define TAIL_DEFAULT 10			/* events tail shows without --after */
#define PAGE "1000"			/* events a request: the API's maximum */
#define STALL_SECONDS 45L		/* three of the daemon's 15 s pings missed */
#define RECONNECT_MAX 10		/* seconds between attempts, at most */

struct ctl {
	struct ctlhttp http;
	bool json;
	bool color;
	char *password;
	size_t password_len;
	char *url;			/* http.url without a trailing slash */
	char where[300];		/* the daemon's address, for messages */
};

static const char usage_text[] =
	"usage: agentwatchctl [-s SOCKET | -u URL] [-j] [--user USER --password-file FILE]\n"
	"                     [--cacert FILE] COMMAND\n"
	"commands:\n"
	"  status                      health, agents by state, webhooks, last error\n"
	"  agents [--busy | --idle] [--unreachable] [--state NAME] [--label KEY=VALUE]... [CC:VDN:ID]\n"
	"  tail [-f] [--after SEQ | -n COUNT]\n"
	"the default socket is " CTLHTTP_DEFAULT_SOCKET "; see agentwatchctl(8)\n";

static int usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Says what is wrong with the command line (fmt NULL: only the usage), returns EXIT_USAGE. */
static int usage(const char *fmt, ...)
{
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		fputs("agentwatchctl: ", stderr);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		va_end(ap);
	}
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}

static int failure(const struct ctl *ctl, const char *what, const char *why)
{
	fprintf(stderr, "agentwatchctl: %s at %s: %s\n", what, ctl->where, why);
	return EXIT_UNHEALTHY;
}

/* GET path; on an answer other than 200, says why and returns the exit status (else 0). */
static int get(const struct ctl *ctl, const char *path, struct ctlhttp_reply *r)
{
	char err[CTLHTTP_ERROR_MAX];
	const char *reason;
	char *why;
	size_t len;
	int status;

	if (ctlhttp_get(&ctl->http, path, r, err) < 0)
		return failure(ctl, "cannot reach agentwatchd", err);
	if (r->status == 200)
		return 0;
	reason = ctlfmt_reason(r->status, r->body, &len);
	why = xasprintf("HTTP %ld: %.*s", r->status, (int)len, reason);
	/* The daemon checked the request: a 400 is the command line's fault. */
	status = r->status == 400 ? EXIT_USAGE : EXIT_UNHEALTHY;
	failure(ctl, path, why);
	free(why);
	free(r->body);
	r->body = NULL;
	return status;
}

static struct json_object *parse(const struct ctl *ctl, const char *path, const char *text)
{
	struct json_object *o = json_tokener_parse(text);

	if (!o)
		failure(ctl, path, "the answer is not JSON");
	return o;
}

/* ---- status ---- */

static int cmd_status(struct ctl *ctl)
{
	struct ctlhttp_reply health, agents = { 0 }, metrics = { 0 };
	struct json_object *a = NULL, *list = NULL;
	struct ctlfmt_status st;
	char err[CTLHTTP_ERROR_MAX];
	int status;

	if (ctlhttp_get(&ctl->http, "/healthz", &health, err) < 0) {
		free(health.body);
		return failure(ctl, "cannot reach agentwatchd", err);
	}
	/* Any answer but 401 tells of the daemon's health; a 401 tells nothing. */
	status = health.status == 401 ? failure(ctl, "/healthz", "HTTP 401: wrong or no credentials")
				      : get(ctl, "/api/v1/agents", &agents);
	if (!status && !(a = parse(ctl, "/api/v1/agents", agents.body)))
		status = EXIT_UNHEALTHY;
	if (!status)
		status = get(ctl, "/metrics", &metrics);
	if (!status) {
		json_object_object_get_ex(a, "agents", &list);
		ctlfmt_status_collect(&st, health.status, health.body, list, metrics.body);
		if (ctl->json) {
			struct json_object *o = ctlfmt_status_json(&st);

			puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE));
			json_object_put(o);
		} else {
			printf("%-12s %s\n", "daemon", ctl->where);
			ctlfmt_status_print(stdout, &st);
		}
		status = st.healthy ? 0 : EXIT_UNHEALTHY;
		ctlfmt_status_clear(&st);
	}
	json_object_put(a);
	free(health.body);
	free(agents.body);
	free(metrics.body);
	return status;
}

/* ---- agents ---- */

static unsigned terminal_width(void)
{
	struct winsize ws;
	const char *env = getenv("COLUMNS");

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	if (env && atoi(env) > 0)
		return (unsigned)atoi(env);
	return 80;
}

static char *url_escape(const char *s)
{
	char *e = curl_easy_escape(NULL, s, 0);

	if (!e)
		abort();
	return e;
}

/* Whether the query ("?k=v&k=v", keys escaped) has the escaped key already. */
static bool query_has(const char *query, const char *key)
{
	size_t n = strlen(key);

	for (const char *p = query; (p = strstr(p, key)); p++)
		if (p > query && (p[-1] == '?' || p[-1] == '&') && p[n] == '=')
			return true;
	return false;
}

/*
 * Appends key=value (both URL-escaped) to the query for the option opt. A key the query has is a
 * usage error: a filter takes one value, and the server refuses a repeat (--busy --idle would
 * ask for busy=1&busy=0).
 */
static int query_add(char **query, const char *opt, const char *key, const char *value)
{
	char *k = url_escape(key), *v = url_escape(value), *q;
	int status = 0;

	if (query_has(*query, k) && strcmp(key, "busy") == 0) {
		status = usage("agents: %s: one of --busy and --idle, once", opt);
	} else if (query_has(*query, k)) {
		status = usage("agents: %s: %s is filtered already (each filter once)", opt, key);
	} else {
		q = xasprintf("%s%c%s=%s", *query, **query ? '&' : '?', k, v);
		free(*query);
		*query = q;
	}
	curl_free(k);
	curl_free(v);
	return status;
}

static int label_arg(char **query, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char *key, *opt;
	int status;

	if (!eq || eq == arg)
		return usage("--label %s: must be KEY=VALUE", arg);
	key = xasprintf("label.%.*s", (int)(eq - arg), arg);
	opt = xasprintf("--label %s", arg);
	status = query_add(query, opt, key, eq + 1);
	free(opt);
	free(key);
	return status;
}

static int agents_options(int argc, char **argv, char **query)
{
	static const struct option opts[] = {
		{ "busy", no_argument, NULL, 'b' }, { "idle", no_argument, NULL, 'i' },
		{ "unreachable", no_argument, NULL, 'U' }, { "state", required_argument, NULL, 'S' },
		{ "label", required_argument, NULL, 'l' }, { NULL, 0, NULL, 0 },
	};
	int c, status = 0;

	while (!status && (c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 'b' || c == 'i')
			status = query_add(query, c == 'b' ? "--busy" : "--idle", "busy",
					   c == 'b' ? "1" : "0");
		else if (c == 'U')
			status = query_add(query, "--unreachable", "unreachable", "1");
		else if (c == 'S' && cmscodes_state_from_name(optarg) == CMS_CODE_NONE &&
			 strcmp(optarg, CMS_STATE_UNKNOWN) != 0)
			return usage("--state %s: not an agent state (signed_out, idle, preoccupied, "
				     "occupied, answering, talking, wrap_up, busy, rest, study, "
				     "adjusting, unknown)", optarg);
		else if (c == 'S')
			status = query_add(query, "--state", "state", optarg);
		else if (c == 'l')
			status = label_arg(query, optarg);
		else
			return usage(NULL);
	}
	return status;
}

static int cmd_agents(struct ctl *ctl, int argc, char **argv)
{
	struct json_object *o = NULL, *list = NULL, *one = NULL;
	struct ctlhttp_reply r;
	char *query = xstrdup(""), *path;
	int status = agents_options(argc, argv, &query);

	if (!status && optind < argc - 1)
		status = usage("agents: one agent at most, not '%s'", argv[optind + 1]);
	if (!status && optind < argc && *query)
		status = usage("agents: %s names one agent: no filters with it", argv[optind]);
	if (status) {
		free(query);
		return status;
	}
	path = optind < argc ? xasprintf("/api/v1/agents/%s", argv[optind]) :
			       xasprintf("/api/v1/agents%s", query);
	free(query);
	status = get(ctl, path, &r);
	if (!status && ctl->json)
		fwrite(r.body, 1, r.len, stdout);
	else if (!status && !(o = parse(ctl, path, r.body)))
		status = EXIT_UNHEALTHY;
	if (!status && !ctl->json) {
		/* One agent is shown as a table of one. */
		if (optind < argc)
			json_object_array_add(list = one = json_object_new_array(), json_object_get(o));
		else
			json_object_object_get_ex(o, "agents", &list);
		ctlfmt_agents(stdout, list, isatty(STDOUT_FILENO) ? terminal_width() : 0);
	}
	json_object_put(one);
	json_object_put(o);
	free(r.body);
	free(path);
	return status;
}

/* ---- tail ---- */

static void show_event(struct ctl *ctl, struct json_object *ev, const char *text)
{
	if (ctl->json)
		puts(text ? text : json_object_to_json_string_ext(ev, JSON_C_TO_STRING_PLAIN |
							       JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		ctlfmt_event(stdout, ev, ctl->color);
}

static uint64_t u64_field(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	json_object_object_get_ex(o, key, &v);
	return json_object_is_type(v, json_type_int) ? json_object_get_uint64(v) : 0;
}

/* One page of /api/v1/events after *after; moves *after on. Returns 1 (more), 0 (done) or an
 * exit status above 0 as a negative number. */
static int events_page(struct ctl *ctl, uint64_t *after, uint64_t *last)
{
	struct json_object *o, *events = NULL;
	struct ctlhttp_reply r;
	uint64_t before = *after;
	char *path = xasprintf("/api/v1/events?after=%" PRIu64 "&limit=" PAGE, *after);
	int status = get(ctl, path, &r);
	size_t n = 0;

	if (status || !(o = parse(ctl, path, r.body))) {
		free(r.body);
		free(path);
		return -(status ? status : EXIT_UNHEALTHY);
	}
	json_object_object_get_ex(o, "events", &events);
	if (json_object_is_type(events, json_type_array))
		n = json_object_array_length(events);
	if (u64_field(o, "lost"))
		fprintf(stderr, "agentwatchctl: %" PRIu64 " events after %" PRIu64 " are gone from "
			"the daemon's log\n", u64_field(o, "lost"), *after);
	for (size_t i = 0; i < n; i++)
		show_event(ctl, json_object_array_get_idx(events, i), NULL);
	*after = u64_field(o, "next_after");
	*last = u64_field(o, "last_seq");
	json_object_put(o);
	free(r.body);
	free(path);
	/* Only a page that moved forward asks for another: a peer that answers the same page
	 * again (or goes back) must not keep tail printing it for ever. */
	return n > 0 && *after > before && *after < *last;
}

static void on_sse_event(void *ctx, uint64_t id, const char *data)
{
	struct ctl *ctl = ctx;
	struct json_object *ev = json_tokener_parse(data);

	if (!ev) {
		fprintf(stderr, "agentwatchctl: event %" PRIu64 " is not JSON\n", id);
	} else {
		show_event(ctl, ev, data);
		json_object_put(ev);
	}
	/* Line by line to a pipe too: tail -f | grep sees each event as it comes. */
	fflush(stdout);
}

struct follow {
	struct ctl *ctl;
	uint64_t last;			/* the newest seq shown */
	bool got;			/* an event came on this connection */
};

static void follow_event(void *ctx, uint64_t id, const char *data)
{
	struct follow *f = ctx;

	on_sse_event(f->ctl, id, data);
	if (id > f->last)
		f->last = id;
	f->got = true;
}

static void follow_comment(void *ctx, const char *text)
{
	(void)ctx;
	/* The daemon says so when a reader asked for events its log no longer has. */
	if (strstr(text, "gone from the log"))
		fprintf(stderr, "agentwatchctl: %s\n", text);
}

/* Follows the stream for ever, reconnecting with Last-Event-ID: no event twice, none missed. */
static void follow(struct ctl *ctl, uint64_t after) __attribute__((noreturn));
static void follow(struct ctl *ctl, uint64_t after)
{
	struct follow f = { .ctl = ctl, .last = after };
	struct ctlhttp_sse_handler h = { follow_event, follow_comment, &f };
	char err[CTLHTTP_ERROR_MAX];
	unsigned wait = 1;

	for (;;) {
		f.got = false;
		if (ctlhttp_stream(&ctl->http, "/api/v1/events/stream", f.last, STALL_SECONDS, &h,
				   err) == 0)
			snprintf(err, sizeof err, "the stream ended");
		wait = f.got ? 1 : (wait * 2 > RECONNECT_MAX ? RECONNECT_MAX : wait * 2);
		fprintf(stderr, "agentwatchctl: %s at %s; again in %u s after event %" PRIu64 "\n",
			err, ctl->where, wait, f.last);
		sleep(wait);
	}
}

static int cmd_tail(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "follow", no_argument, NULL, 'f' }, { "after", required_argument, NULL, 'a' },
		{ "lines", required_argument, NULL, 'n' }, { NULL, 0, NULL, 0 },
	};
	uint64_t after = 0, last = 0, count = TAIL_DEFAULT;
	bool follow_on = false, after_set = false;
	char *end;
	int c, more;

	while ((c = getopt_long(argc, argv, "fn:", opts, NULL)) != -1) {
		if (c == 'f') {
			follow_on = true;
			continue;
		}
		if (c != 'a' && c != 'n')
			return usage(NULL);
		errno = 0;
		*(c == 'a' ? &after : &count) = strtoull(optarg, &end, 10);
		if (errno || end == optarg || *end || *optarg == '-')
			return usage("not a number: %s", optarg);
		after_set |= c == 'a';
	}
	if (optind < argc)
		return usage("tail: unexpected '%s'", argv[optind]);
	if (!after_set) {
		/* The newest seq first, then the last count events before it. */
		after = UINT64_MAX / 2;
		if ((more = events_page(ctl, &after, &last)) < 0)
			return -more;
		after = last > count ? last - count : 0;
	}
	if (follow_on)
		follow(ctl, after);
	while ((more = events_page(ctl, &after, &last)) == 1)
		;
	return more < 0 ? -more : 0;
}

/* ---- options ---- */

/* util_read_file's copy of a secret: wiped before it is freed. */
static void forget(char *text, size_t len)
{
	explicit_bzero(text, len);
	free(text);
}

static int read_password(struct ctl *ctl, const char *path)
{
	struct stat st;
	size_t len;
	char *text;

	if (stat(path, &st) < 0 || !(text = util_read_file(path, PASSWORD_MAX, &len))) {
		fprintf(stderr, "agentwatchctl: %s: %s\n", path, strerror(errno));
		return EXIT_USAGE;
	}
	if (st.st_mode & S_IROTH) {
		fprintf(stderr, "agentwatchctl: %s has mode %04o: a password file must not be "
			"readable by others\n", path, (unsigned)(st.st_mode & 07777));
		forget(text, len);
		return EXIT_USAGE;
	}
	/* The first line is the password. */
	ctl->password_len = strcspn(text, "\r\n");
	ctl->password = util_secret_dup(text, ctl->password_len);
	forget(text, len);
	ctl->http.password = ctl->password;
	return 0;
}

static int options(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' }, { "url", required_argument, NULL, 'u' },
		{ "json", no_argument, NULL, 'j' }, { "user", required_argument, NULL, 'U' },
		{ "password-file", required_argument, NULL, 'P' },
		{ "cacert", required_argument, NULL, 'C' }, { "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' }, { NULL, 0, NULL, 0 },
	};
	const char *password_file = NULL, *no_color = getenv("NO_COLOR");
	int c;

	while ((c = getopt_long(argc, argv, "+s:u:jhV", opts, NULL)) != -1) {
		switch (c) {
		case 's': ctl->http.socket = optarg; ctl->http.url = NULL; break;
		case 'u': ctl->http.url = optarg; ctl->http.socket = NULL; break;
		case 'j': ctl->json = true; break;
		case 'U': ctl->http.user = optarg; break;
		case 'P': password_file = optarg; break;
		case 'C': ctl->http.cacert = optarg; break;
		case 'h': fputs(usage_text, stdout); exit(0);
		case 'V': puts("agentwatchctl " PACKAGE_VERSION); exit(0);
		default: return usage(NULL);
		}
	}
	if (ctl->http.url && strncmp(ctl->http.url, "http://", 7) != 0 &&
	    strncmp(ctl->http.url, "https://", 8) != 0)
		return usage("-u %s: must be http://HOST:PORT or https://HOST:PORT", ctl->http.url);
	if (!ctl->http.user != !password_file)
		return usage("--user and --password-file go together");
	if (password_file && read_password(ctl, password_file))
		return EXIT_USAGE;
	if (ctl->http.url) {
		snprintf(ctl->where, sizeof ctl->where, "%s", ctl->http.url);
		/* "http://host:port/" and "http://host:port" are the same place. */
		ctl->http.url = ctl->url = xstrndup(ctl->where, strlen(ctl->where) -
						    (ctl->where[strlen(ctl->where) - 1] == '/'));
	} else {
		snprintf(ctl->where, sizeof ctl->where, "unix:%s", ctl->http.socket);
	}
	ctl->color = isatty(STDOUT_FILENO) && !(no_color && *no_color);
	return 0;
}

int main(int argc, char **argv)
{
	struct ctl ctl = { .http = { .socket = CTLHTTP_DEFAULT_SOCKET } };
	const char *cmd;
	int status;

	if ((status = options(&ctl, argc, argv)))
		return status;
	if (optind >= argc)
		return usage("a command is needed");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fputs("agentwatchctl: cannot set up libcurl\n", stderr);
		return EXIT_UNHEALTHY;
	}
	cmd = argv[optind];
	/* Each command parses its own options from its name on. */
	argc -= optind;
	argv += optind;
	optind = 0;	/* glibc: start afresh on the new argv */
	if (strcmp(cmd, "status") == 0 && argc == 1)
		status = cmd_status(&ctl);
	else if (strcmp(cmd, "status") == 0)
		status = usage("status: unexpected '%s'", argv[1]);
	else if (strcmp(cmd, "agents") == 0)
		status = cmd_agents(&ctl, argc, argv);
	else if (strcmp(cmd, "tail") == 0)
		status = cmd_tail(&ctl, argc, argv);
	else
		status = usage("unknown command '%s'", cmd);
	util_secret_free(ctl.password, ctl.password_len);
	free(ctl.url);
	curl_global_cleanup();
	return status;
}
