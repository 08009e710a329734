/* notify: sd_notify(3)'s messages to the service manager, sent without ever blocking the loop. */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <systemd/sd-daemon.h>

#include "dgram.h"
#include "log.h"
#include "notify.h"
#include "util.h"

#define RETRY_US 1000000ull	/* a kept state message is sent again this often, at least */

static struct {
	bool on;
	struct dgram sock;
	uint64_t tick_us;	/* a quarter of the watchdog period, or RETRY_US without one */
	bool watchdog;
	char *pending;		/* the last state message the socket did not take */
	sd_event_source *timer;
} n;

static bool is_state_change(const char *msg)
{
	return strstr(msg, "READY=1") || strstr(msg, "RELOADING=1") || strstr(msg, "STOPPING=1");
}

static int send_text(const char *msg)
{
	struct iovec iov = { .iov_base = (void *)msg, .iov_len = strlen(msg) };

	return dgram_send(&n.sock, &iov, 1);
}

static int on_tick(sd_event_source *source, uint64_t usec, void *userdata)
{
	(void)userdata;
	if (n.pending && send_text(n.pending) == 0) {
		free(n.pending);
		n.pending = NULL;
	}
	if (n.watchdog)
		(void)send_text("WATCHDOG=1");
	if (sd_event_source_set_time(source, usec + n.tick_us) < 0)
		log_err("notify: cannot re-arm the timer: no more watchdog pings");
	return 0;
}

int notify_open(sd_event *event)
{
	const char *path = getenv("NOTIFY_SOCKET");
	uint64_t watchdog_usec = 0;
	int r;

	if (!path || !*path)
		return 0;
	n.on = true;
	dgram_open(&n.sock, "service manager", path);
	n.watchdog = sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0;
	n.tick_us = n.watchdog && watchdog_usec / 4 < RETRY_US ? watchdog_usec / 4 : RETRY_US;
	r = sd_event_add_time_relative(event, &n.timer, CLOCK_MONOTONIC, n.tick_us, n.tick_us / 10,
				       on_tick, NULL);
	if (r >= 0)
		r = sd_event_source_set_enabled(n.timer, SD_EVENT_ON);
	return r < 0 ? r : 0;
}

void notify_close(void)
{
	if (!n.on)
		return;
	n.timer = sd_event_source_disable_unref(n.timer);
	free(n.pending);
	n.pending = NULL;
	dgram_close(&n.sock);
	n.on = false;
}

void notify_send(const char *fmt, ...)
{
	va_list ap;
	char *msg;

	if (!n.on)
		return;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (send_text(msg) == 0 || !is_state_change(msg)) {
		free(msg);
		return;
	}
	free(n.pending);
	n.pending = msg;
}

uint64_t notify_dropped(void)
{
	return n.sock.dropped;
}
