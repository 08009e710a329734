/* dgram: a unix datagram socket to a local log daemon that never blocks: it drops and counts. */
#ifndef AW_DGRAM_H
#define AW_DGRAM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct dgram {
	int fd;			/* -1 until connected */
	char *path;
	const char *what;	/* names the sink in the log: "syslog", "journal" */
	uint64_t dropped;	/* datagrams not sent since dgram_open */
	bool warned;		/* a run of drops was logged; cleared by the next send that works */
};

/* Connects now if it can (sends retry later); what must be a static string. */
void dgram_open(struct dgram *d, const char *what, const char *path);
void dgram_close(struct dgram *d);

/*
 * Sends one datagram without blocking. A full socket (the daemon behind it stalled) or an absent
 * one drops it: counted, the first drop of a run logged once, and the recovery logged with the
 * count. A socket whose peer went away is reopened and the datagram sent once more, as syslog(3)
 * does after a log daemon restart. Returns 0, or the errno of the drop.
 */
int dgram_send(struct dgram *d, const struct iovec *iov, int iovcnt);

#endif
