/* httplisten: the HTTP endpoint's listen settings (addresses, TLS PEMs, limits) and sockets. */
#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <microhttpd.h>
#include <openssl/crypto.h>

#include "httplisten.h"
#include "log.h"
#include "util.h"

#define SEND_BUFFER (64 << 10)	/* kernel send buffer of a connection (the kernel doubles it) */
#define PEM_MAX (1u << 20)

static void describe_bound(int fd, const char *name)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
		return;
	if (ss.ss_family == AF_INET) {
		inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, host, sizeof host);
		port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		log_notice("http: listening on %s:%u", host, port);
	} else if (ss.ss_family == AF_INET6) {
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, host, sizeof host);
		port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		log_notice("http: listening on [%s]:%u", host, port);
	} else {
		log_notice("http: listening on %s", name);
	}
}

/* A bound, listening, non-blocking socket for name; -1 after logging why not. */
int httplisten_open(const char *name, char **unix_path)
{
	struct sockaddr_storage ss;
	struct stat st;
	socklen_t len;
	int fd, one = 1, sndbuf = SEND_BUFFER;

	if (cfg_listen_parse(name, &ss, &len))
		return -1;	/* cfg_load refused it already */
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		log_err("http: %s: socket: %s", name, strerror(errno));
		return -1;
	}
	if (ss.ss_family == AF_UNIX) {
		*unix_path = xstrdup(((struct sockaddr_un *)&ss)->sun_path);
		/* A socket left by a daemon that died; anything else there is not ours to remove. */
		if (lstat(*unix_path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(*unix_path);
	} else {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
		if (ss.ss_family == AF_INET6)
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
	}
	/*
	 * Accepted connections inherit it. Loopback TCP grows a send buffer to 4 MiB by itself: a
	 * client that stops reading would park megabytes of events in the kernel, per connection,
	 * and look like one that keeps up (its stream has nothing left to write, so it is never
	 * timed out). With a small buffer it stops making progress and the timeout cuts it off.
	 */
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, 64) < 0) {
		log_err("http: cannot listen on %s: %s", name, strerror(errno));
		close(fd);
		free(*unix_path);
		*unix_path = NULL;
		return -1;
	}
	describe_bound(fd, name);
	return fd;
}

/* ---- settings ---- */

void httplisten_clear(struct httplisten *s)
{
	for (size_t i = 0; i < s->nlisten; i++)
		free(s->listen[i]);
	free(s->listen);
	if (s->key)
		util_secret_free(s->key, strlen(s->key));
	free(s->cert);
	memset(s, 0, sizeof *s);
}

static bool same_text(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

bool httplisten_equal(const struct httplisten *a, const struct httplisten *b)
{
	if (a->nlisten != b->nlisten || a->max_connections != b->max_connections ||
	    a->timeout != b->timeout || !same_text(a->cert, b->cert) || !same_text(a->key, b->key))
		return false;
	for (size_t i = 0; i < a->nlisten; i++)
		if (strcmp(a->listen[i], b->listen[i]) != 0)
			return false;
	return true;
}

int httplisten_load(struct httplisten *s, const struct cfg_http *cfg)
{
	char *key = NULL;
	size_t len;

	memset(s, 0, sizeof *s);
	s->max_connections = cfg->max_connections;
	s->timeout = (unsigned)(cfg->timeout + 0.5);
	s->nlisten = cfg->nlisten;
	s->listen = xcalloc(cfg->nlisten, sizeof(char *));
	for (size_t i = 0; i < cfg->nlisten; i++)
		s->listen[i] = xstrdup(cfg->listen[i]);
	if (!cfg->cert_file)
		return 0;
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
		log_err("http: this libmicrohttpd has no TLS support: http.tls cannot be used");
		return -1;
	}
	if (!(s->cert = util_read_file(cfg->cert_file, PEM_MAX, &len)) ||
	    !(key = util_read_file(cfg->key_file, PEM_MAX, &len))) {
		log_err("http: cannot read %s: %s", s->cert ? cfg->key_file : cfg->cert_file,
			strerror(errno));
		return -1;
	}
	/* The private key lives in pages kept out of core dumps, as every secret does. */
	s->key = util_secret_dup(key, len);
	OPENSSL_cleanse(key, len);
	free(key);
	return 0;
}
