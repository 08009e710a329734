/* notify: sd_notify(3)'s messages to the service manager, sent without ever blocking the loop. */
#ifndef AW_NOTIFY_H
#define AW_NOTIFY_H

#include <stdint.h>

#include <systemd/sd-event.h>

/*
 * Opens $NOTIFY_SOCKET (a path, or "@name" in the abstract namespace); without it every call
 * here does nothing. When $WATCHDOG_USEC and $WATCHDOG_PID name this process
 * (sd_watchdog_enabled(3)), a timer on event sends WATCHDOG=1 every quarter of that period, from
 * the loop itself: a stuck loop stops the pings. Returns 0, or a negative errno of sd-event.
 */
int notify_open(sd_event *event);
void notify_close(void);

/*
 * Sends one message ("READY=1", "STATUS=...") and never waits: libsystemd's sd_notify blocks
 * while the manager does not read its socket. A message the socket cannot take now is dropped,
 * counted and logged once (dgram.c); one that changes the service's state (READY, RELOADING,
 * STOPPING) is kept, the latest only, and sent again at each tick of the timer until it goes.
 */
void notify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Messages dropped since notify_open. */
uint64_t notify_dropped(void);

#endif
