/* cfg_secret: secrets and other files only their owner may read, named by the configuration. */
#include "config.h"

#include <sys/stat.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg_impl.h"
#include "util.h"

/* A secret, its line ending, and one byte more to tell a longer file apart. */
#define SECRET_BUF (CFG_SECRET_MAX + 3)

#define STR(x) #x
#define XSTR(x) STR(x)

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
int cfg_open_private(struct ctx *c, const config_setting_t *at, const char *what,
		     const char *path)
{
	struct stat st;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0 || fstat(fd, &st) < 0)
		cfg_error_at(c, at, "%s %s cannot be read: %s", what, path, strerror(errno));
	else if (!S_ISREG(st.st_mode))
		cfg_error_at(c, at, "%s %s is not a regular file", what, path);
	else if (st.st_mode & 077)
		cfg_error_at(c, at,
			     "%s %s has mode %04o: it must not be readable by group or others (chmod 600)",
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
char *cfg_read_secret(struct ctx *c, const config_setting_t *at, const char *what,
		      const char *path, size_t *len)
{
	const char *problem;
	char *buf = NULL;
	ssize_t n;
	int fd;

	if ((fd = cfg_open_private(c, at, what, path)) < 0)
		goto fail;
	buf = util_secret_alloc(SECRET_BUF);
	if ((n = read_full(fd, buf, SECRET_BUF)) < 0) {
		cfg_error_at(c, at, "%s %s cannot be read: %s", what, path, strerror(errno));
		goto fail;
	}
	*len = (size_t)n;
	if (*len > 0 && buf[*len - 1] == '\n' && --*len > 0 && buf[*len - 1] == '\r')
		--*len;
	if ((problem = secret_problem(buf, *len))) {
		cfg_error_at(c, at, "%s %s %s", what, path, problem);
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
char *cfg_secret_file(struct ctx *c, const config_setting_t *s, size_t *len)
{
	char *path = cfg_resolve_path(c, config_setting_get_string(s));
	char what[PATH_BUF], *secret;

	cfg_setting_path(s, what, sizeof what);
	secret = cfg_read_secret(c, s, what, path, len);
	free(path);
	return secret;
}
