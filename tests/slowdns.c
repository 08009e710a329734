/* slowdns: an LD_PRELOAD shim whose getaddrinfo takes SLOWDNS_DELAY seconds for one host name. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/*
 * The name SLOWDNS_HOST (default "slow.invalid") resolves to 127.0.0.1 after SLOWDNS_DELAY seconds
 * (default 30); every other name goes to the real getaddrinfo at once. Each slow lookup appends
 * "start" and "end" lines to SLOWDNS_LOG when set, so a test can count lookups in flight.
 */
typedef int (*gai_fn)(const char *, const char *, const struct addrinfo *, struct addrinfo **);

static void note(const char *what)
{
	const char *path = getenv("SLOWDNS_LOG");
	int fd;

	if (!path || (fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644)) < 0)
		return;
	if (write(fd, what, strlen(what)) < 0) {
		/* a test log line lost: the test's count shows it */
	}
	close(fd);
}

int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
		struct addrinfo **res)
{
	gai_fn real = (gai_fn)dlsym(RTLD_NEXT, "getaddrinfo");
	const char *slow = getenv("SLOWDNS_HOST");
	const char *delay = getenv("SLOWDNS_DELAY");
	struct timespec ts = { .tv_sec = delay ? atoi(delay) : 30 };

	if (!node || strcmp(node, slow ? slow : "slow.invalid") != 0)
		return real(node, service, hints, res);
	note("start\n");
	while (nanosleep(&ts, &ts) != 0)
		;
	note("end\n");
	return real("127.0.0.1", service, hints, res);
}
