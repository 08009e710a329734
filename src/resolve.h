/* resolve: host names looked up on helper threads, cached, so no resolver can stall the loop. */
#ifndef AW_RESOLVE_H
#define AW_RESOLVE_H

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-event.h>

struct resolver;
struct resolve_wait;

/*
 * addrs: the host's addresses as libcurl's CURLOPT_RESOLVE wants them ("192.0.2.1,[2001:db8::1]"),
 * or NULL with error saying why not (a failed lookup, or one that outlasted the wait's timeout).
 * Both strings belong to the resolver and last only for the call.
 */
typedef void (*resolve_fn)(struct resolve_wait *wait, const char *addrs, const char *error);

/* Embed one per request that may wait; all zero when idle. */
struct resolve_wait {
	resolve_fn done;
	struct resolve_host *host;
	struct resolve_wait *next;
	sd_event_source *timer;
	uint64_t timeout_us;
};

struct resolver *resolver_new(sd_event *event);
/* Lookups still running finish on their own threads and are then discarded. */
void resolver_free(struct resolver *r);

/* True when host is an IP address literal (optionally in [brackets]): nothing to look up. */
bool resolver_is_literal(const char *host);

/*
 * The cached addresses of host, or NULL when there are none yet or the last lookup failed.
 * Addresses older than a minute are still returned while a fresh lookup runs in the background,
 * as a slow resolver is no reason to stop talking to a server that answered a minute ago.
 */
const char *resolver_cached(struct resolver *r, const char *host);

/*
 * Calls wait->done (which the caller sets) from the loop once host has addresses, or with an
 * error when its lookup fails or takes longer than timeout_us. At most one lookup thread runs per
 * host name, however many requests wait on it: a hung resolver costs one thread per name.
 */
void resolver_wait(struct resolver *r, const char *host, uint64_t timeout_us,
		   struct resolve_wait *wait);
/* Forgets a wait without calling it; a no-op when it is not waiting. */
void resolver_cancel(struct resolve_wait *wait);

#endif
