/* dgram: a unix datagram socket to a local log daemon that never blocks: it drops and counts. */
#include "config.h"

#include <errno.h>
#include <stddef.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "dgram.h"
#include "log.h"
#include "util.h"

/* Room for large entries, as libsystemd asks for; the kernel caps it at net.core.wmem_max. */
#define SNDBUF_BYTES (8 << 20)

/* Returns 0, or the errno of the failure. */
static int connect_socket(struct dgram *d)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	size_t len = strlen(d->path);
	socklen_t addrlen = sizeof(addr);
	int size = SNDBUF_BYTES, err;

	if (d->fd >= 0)
		return 0;
	if (len >= sizeof(addr.sun_path))
		return ENAMETOOLONG;
	d->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (d->fd < 0)
		return errno;
	(void)setsockopt(d->fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	memcpy(addr.sun_path, d->path, len + 1);
	/* "@name" is name in the abstract namespace, as $NOTIFY_SOCKET may say: no NUL ends it. */
	if (d->path[0] == '@') {
		addr.sun_path[0] = '\0';
		addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
	}
	if (connect(d->fd, (struct sockaddr *)&addr, addrlen) < 0) {
		err = errno;
		close(d->fd);
		d->fd = -1;
		return err;
	}
	return 0;
}

void dgram_open(struct dgram *d, const char *what, const char *path)
{
	memset(d, 0, sizeof(*d));
	d->fd = -1;
	d->what = what;
	d->path = xstrdup(path);
	(void)connect_socket(d);
}

void dgram_close(struct dgram *d)
{
	if (d->fd >= 0)
		close(d->fd);
	free(d->path);
	d->path = NULL;
	d->fd = -1;
}

static int try_send(struct dgram *d, const struct iovec *iov, int iovcnt)
{
	struct msghdr msg = { .msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)iovcnt };
	int err = 0;

	for (int attempt = 0; attempt < 2; attempt++) {
		if ((err = connect_socket(d)) != 0)
			return err;
		if (sendmsg(d->fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
			return 0;
		err = errno;
		if (err == EAGAIN || err == EMSGSIZE)
			return err;	/* busy or too big, not gone: keep the socket */
		close(d->fd);
		d->fd = -1;
	}
	return err;
}

int dgram_send(struct dgram *d, const struct iovec *iov, int iovcnt)
{
	int err = try_send(d, iov, iovcnt);

	if (err) {
		d->dropped++;
		if (!d->warned) {
			d->warned = true;
			log_warn("%s %s: %s; events for %s are dropped until it takes them again",
				 d->what, d->path, strerror(err), d->what);
		}
		return err;
	}
	if (d->warned) {
		d->warned = false;
		log_notice("%s %s takes events again; %" PRIu64 " dropped so far", d->what, d->path,
			   d->dropped);
	}
	return 0;
}
