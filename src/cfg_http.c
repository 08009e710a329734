/* cfg_http: the http group: listen addresses (cfg_listen_parse), tls, users file. */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <arpa/inet.h>
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg_impl.h"
#include "util.h"

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
		if (!cfg_is_kind(c, e, K_STR))
			continue;
		if ((why = cfg_listen_parse(config_setting_get_string(e), &addr, &len)))
			cfg_bad(c, e, "'%s' %s", config_setting_get_string(e), why);
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
		cfg_report(c, path, n, "is not a user:crypt-hash line");
		return false;
	}
	*hash++ = '\0';
	if (!cfg_visible_ascii(line, "")) {
		cfg_report(c, path, n, "the user name must be printable ASCII without spaces");
		return false;
	}
	if (crypt_checksalt(hash) != CRYPT_SALT_OK) {
		cfg_report(c, path, n, "user %s: the hash is not one crypt(3) accepts as strong "
			   "(htpasswd -B or mkpasswd -m yescrypt make one)", line);
		return false;
	}
	*user = (struct cfg_http_user){ xstrdup(line), util_secret_dup(hash, strlen(hash)) };
	return true;
}

/* http.users_file: owner-only like a secret; '#' comments and blank lines are skipped. */
static void parse_users(struct ctx *c, const config_setting_t *s, struct cfg_http *http)
{
	char *path = cfg_resolve_path(c, config_setting_get_string(s)), *line = NULL;
	size_t size = 0, cap = 0;
	unsigned n = 0;
	ssize_t len;
	FILE *f;
	int fd;

	http->users_file = path;
	if ((fd = cfg_open_private(c, s, "http.users_file", path)) < 0)
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
		http->users = cfg_grow(http->users, &cap, http->nusers + 1, sizeof *http->users);
		http->nusers += parse_user(c, path, n, line, &http->users[http->nusers]);
	}
	if (http->nusers == 0)
		cfg_error_at(c, s, "http.users_file %s lists no user", path);
	free(line);
	fclose(f);
}

void cfg_parse_http(struct ctx *c, const config_setting_t *s, struct cfg_http *http)
{
	const config_setting_t *f[HTTP_N];

	cfg_check_group(c, s, http_keys, HTTP_N, http, f);
	if (f[HTTP_LISTEN])
		parse_listen(c, f[HTTP_LISTEN], http);
	if (f[HTTP_TLS])
		cfg_check_group(c, f[HTTP_TLS], http_tls_keys, ARRAY_SIZE(http_tls_keys), http, NULL);
	if (f[HTTP_USERS_FILE])
		parse_users(c, f[HTTP_USERS_FILE], http);
}
