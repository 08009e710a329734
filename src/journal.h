/* journal: an event as one structured journald entry (MESSAGE_ID per type, fields to filter on). */
#ifndef AW_JOURNAL_H
#define AW_JOURNAL_H

#include "event.h"

/*
 * Sends the entry to journald without ever blocking: when journald stalls (its socket is full) or
 * is absent the entry is dropped and counted, the first drop of a run logged. Returns 0, or the
 * negative errno of the drop (counted by the caller, as output_stats.journal_failed).
 */
int journal_send_event(const struct event *event, const char *message);
/* Closes the socket (at exit); the next entry opens it again. */
void journal_close(void);

/* The fixed MESSAGE_ID of an event type, 32 hex digits, as in the man page's catalog. */
const char *journal_message_id(enum event_type type);

#endif
