/* cfg_key: checks each value against its key table entry and stores it; URLs and plain tokens. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg_impl.h"
#include "cfgcheck.h"
#include "util.h"

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

static void replace_string(char **field, char *value)
{
	free(*field);
	*field = value;
}

/* An integer as written: libconfig 1.5 keeps 4294968395 as 1099 (see cfgnum.h). */
long long cfg_integer(const struct ctx *c, const config_setting_t *s)
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
		cfg_bad(c, s, "%s is out of range: it must be at least %.15g", text, k->min);
	else
		cfg_bad(c, s, "%s is out of range %.15g..%.15g", text, k->min, k->max);
	return false;
}

/* Opening the file now says "no such file" at check time rather than at the first request. */
static bool take_file(struct ctx *c, const config_setting_t *s, char **field)
{
	char *path = cfg_resolve_path(c, config_setting_get_string(s));
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0) {
		cfg_bad(c, s, "%s cannot be read: %s", path, strerror(errno));
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
		cfg_bad(c, s, "%s is below 1 ms, which the daemon would count as 0: use 0 or at least %g",
			text, least);
	else
		cfg_bad(c, s, "%s is below %g per second: use 0 for no limit, or at least %g", text, least,
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
		cfg_bad(c, s, "%s", why);
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
		id = cfg_integer(c, s);
		if (cfg_agent_id_valid((long)id))
			return true;
		value_text(c, s, text, sizeof text);
		cfg_bad(c, s, "%s is out of range " AGENT_ID_RANGES, text);
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
		*(int *)field = (int)cfg_integer(c, s);
		break;
	case K_SIZE:
		*(size_t *)field = (size_t)cfg_integer(c, s);
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
bool cfg_take(struct ctx *c, const config_setting_t *s, const struct key *k, void *dst)
{
	char *field = k->store ? (char *)dst + k->off : NULL;

	if (!(kinds[k->kind].types & 1u << config_setting_type(s))) {
		cfg_bad(c, s, "must be %s", kinds[k->kind].need);
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
void cfg_check_group(struct ctx *c, const config_setting_t *group, const struct key *keys,
		     size_t nkeys, void *dst, const config_setting_t **found)
{
	char path[PATH_BUF];
	size_t n = cfg_setting_path(group, path, sizeof path);

	for (size_t i = 0; i < nkeys; i++) {
		if (found)
			found[i] = NULL;
		if (keys[i].required && !config_setting_get_member(group, keys[i].name))
			cfg_error_at(c, group, "%s%s%s is required", path, n ? "." : "", keys[i].name);
	}
	for (int i = 0; i < config_setting_length(group); i++) {
		const config_setting_t *m = config_setting_get_elem(group, (unsigned)i);
		const struct key *k = find_key(keys, nkeys, config_setting_name(m));

		if (!k)
			cfg_error_at(c, m, "unknown key '%s' %s%s", config_setting_name(m),
				     n ? "in " : "at top level", path);
		else if (cfg_take(c, m, k, dst) && found)
			found[k - keys] = m;
	}
}

/* Checks that s holds kind k: the elements of lists and arrays, the members of labels. */
bool cfg_is_kind(struct ctx *c, const config_setting_t *s, enum kind k)
{
	const struct key key = { .name = "element", .kind = k };

	return cfg_take(c, s, &key, NULL);
}

bool cfg_lookup_name(struct ctx *c, const config_setting_t *s, const struct name_value *table,
		     size_t n, const char *choices, int *value)
{
	const char *name = config_setting_get_string(s);

	for (size_t i = 0; i < n; i++) {
		if (strcmp(table[i].name, name) == 0) {
			*value = table[i].value;
			return true;
		}
	}
	cfg_bad(c, s, "'%s' must be %s", name, choices);
	return false;
}

bool cfg_in_list(const char *name, const char *const *list, size_t n,
		 int (*cmp)(const char *, const char *))
{
	for (size_t i = 0; i < n; i++)
		if (cmp(list[i], name) == 0)
			return true;
	return false;
}

void cfg_join_names(char *buf, size_t size, const char *(*name)(int), int count)
{
	size_t n = 0;

	buf[0] = '\0';
	for (int i = 0; i < count && n < size; i++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", i ? ", " : "", name(i));
}

/* Printable ASCII, no spaces, and none of the characters in reject. */
bool cfg_visible_ascii(const char *s, const char *reject)
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
bool cfg_check_url(struct ctx *c, const config_setting_t *s, bool path_ok, bool http_ok,
		   bool *https, char **hostport)
{
	const char *url = config_setting_get_string(s), *host, *end, *p;
	char *shown;
	unsigned long port;
	bool tls;
	size_t n;

	if (!cfg_visible_ascii(url, ""))
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
		cfg_bad(c, s, "'%s' must be only scheme://host[:port]: the daemon adds the path", url);
		return false;
	}
	/* A user@ part stops the host early and lands here too. */
	if ((*p && *p != '/' && *p != '?') || strchr(p, '#'))
		goto invalid;
	if (!tls && !http_ok) {
		cfg_bad(c, s, "'%s' is plain http: set cms.allow_insecure_http = true to allow it", url);
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
	cfg_bad(c, s, "'%s%s' is not a URL of the form %s", shown, strcmp(shown, url) ? "..." : "",
		path_ok ? "http[s]://host[:port][/path]" : "https://host[:port]");
	free(shown);
	return false;
}

/* Checks one member of a group of strings; problem() judges its name and value. */
bool cfg_string_member(struct ctx *c, const config_setting_t *m,
		       const char *(*problem)(const char *name, const char *value, char *buf,
					      size_t size))
{
	const char *why;
	char buf[160];

	if (!cfg_is_kind(c, m, K_STR))
		return false;
	if ((why = problem(config_setting_name(m), config_setting_get_string(m), buf, sizeof buf))) {
		cfg_bad(c, m, "%s", why);
		return false;
	}
	return true;
}
