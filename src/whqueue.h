/* whqueue: a receiver's window of events read from the log until acknowledged, and its batches. */
#ifndef AW_WHQUEUE_H
#define AW_WHQUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "evlog.h"

/* Most events one receiver reads ahead of its oldest unacknowledged one. */
#define WHQUEUE_WINDOW 4096

enum whqueue_state { WHQUEUE_QUEUED, WHQUEUE_SENDING, WHQUEUE_DONE };

/* One event a receiver has to get, from its reading until its acknowledgement. */
struct whqueue_item {
	struct evlog_cursor pos;	/* the cursor that reads this record again */
	uint64_t agent;		/* hash of the event's agent: its events never overtake */
	char *text;		/* what goes into a request: the event, or its alert */
	char *event;		/* the event as logged (the same string as text for json) */
	char *id;		/* the event's id */
	size_t limit;		/* the most items of a request it may go in; halved on refusal */
	enum whqueue_state state;
};

struct whqueue {
	struct whqueue_item **v;	/* a ring of cap entries, n of them from head */
	size_t head, n, cap;
	/*
	 * Scratch for whqueue_take: agent hash -> batch it joined (open addressing). A slot is in
	 * use when its stamp is the scan's, so a scan starts without clearing the table.
	 */
	uint64_t *agents;
	size_t *batch_of;
	uint32_t *stamps;
	uint32_t stamp;
	size_t agents_cap;
};

/* Takes ownership of text and event (event NULL: the same as text) and copies id. */
void whqueue_push(struct whqueue *q, struct evlog_cursor pos, uint64_t agent, char *text,
		  char *event, const char *id, size_t limit);
/* The oldest item, NULL when empty. */
struct whqueue_item *whqueue_front(const struct whqueue *q);
/* Frees the acknowledged items at the front; returns how many. */
size_t whqueue_pop_done(struct whqueue *q);
void whqueue_clear(struct whqueue *q);

/*
 * Chooses up to nbatch batches of queued items, each of at most max items (and no more than any
 * item's limit), in log order, such that no item goes while an earlier item of its agent is being
 * sent or left behind. Fills out[] with the items, batch after batch, sizes[] with each batch's
 * size, and returns the number of batches. Marks nothing: the caller sends them.
 */
size_t whqueue_take(struct whqueue *q, size_t nbatch, size_t max, struct whqueue_item **out,
		    size_t *sizes);

/* The hash of an event's agent "cc:vdn:id" (0 when it names none). */
uint64_t whqueue_agent_hash(const char *cc, const char *vdn, const char *id);

enum whqueue_form {
	WHQUEUE_SINGLE,	/* the one item's text */
	WHQUEUE_EVENTS,	/* {"events":[...]} */
	WHQUEUE_ARRAY,	/* [...] (Alertmanager) */
};

/* The body of a request holding items[0..n-1]; the caller frees it. */
char *whqueue_body(struct whqueue_item *const *items, size_t n, enum whqueue_form form);

#endif
