/* journal: an event as one structured journald entry (MESSAGE_ID per type, fields to filter on). */
#ifndef AW_JOURNAL_H
#define AW_JOURNAL_H

#include "event.h"

/* Returns 0, or a negative errno when journald did not take the entry. */
int journal_send_event(const struct event *event, const char *message);

/* The fixed MESSAGE_ID of an event type, 32 hex digits, as in the man page's catalog. */
const char *journal_message_id(enum event_type type);

#endif
