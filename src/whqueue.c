/* whqueue: a receiver's window of events read from the log until acknowledged, and its batches. */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "whqueue.h"

#define BLOCKED SIZE_MAX

static struct whqueue_item *at(const struct whqueue *q, size_t i)
{
	return q->v[(q->head + i) % q->cap];
}

void whqueue_push(struct whqueue *q, struct evlog_cursor pos, uint64_t agent, char *text,
		  char *event, const char *id, size_t limit)
{
	struct whqueue_item *it = xcalloc(1, sizeof(*it));

	if (q->n == q->cap) {
		size_t cap = q->cap ? 2 * q->cap : 64;
		struct whqueue_item **v = xcalloc(cap, sizeof(*v));

		for (size_t i = 0; i < q->n; i++)
			v[i] = at(q, i);
		free(q->v);
		q->v = v;
		q->cap = cap;
		q->head = 0;
	}
	it->pos = pos;
	it->agent = agent;
	it->text = text;
	it->event = event ? event : text;
	it->id = xstrdup(id);
	it->limit = limit;
	it->state = WHQUEUE_QUEUED;
	q->v[(q->head + q->n++) % q->cap] = it;
}

struct whqueue_item *whqueue_front(const struct whqueue *q)
{
	return q->n ? at(q, 0) : NULL;
}

static void item_free(struct whqueue_item *it)
{
	if (it->event != it->text)
		free(it->event);
	free(it->text);
	free(it->id);
	free(it);
}

size_t whqueue_pop_done(struct whqueue *q)
{
	size_t popped = 0;

	while (q->n && at(q, 0)->state == WHQUEUE_DONE) {
		item_free(at(q, 0));
		q->head = (q->head + 1) % q->cap;
		q->n--;
		popped++;
	}
	return popped;
}

void whqueue_clear(struct whqueue *q)
{
	for (size_t i = 0; i < q->n; i++)
		item_free(at(q, i));
	free(q->v);
	free(q->agents);
	free(q->batch_of);
	free(q->stamps);
	memset(q, 0, sizeof(*q));
}

/* FNV-1a over "cc:vdn:id": a collision only makes two agents wait for each other. */
uint64_t whqueue_agent_hash(const char *cc, const char *vdn, const char *id)
{
	const char *parts[] = { cc, vdn, id };
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < ARRAY_SIZE(parts); i++) {
		for (const char *p = parts[i] ? parts[i] : ""; *p; p++)
			h = (h ^ (unsigned char)*p) * 1099511628211ull;
		h = (h ^ ':') * 1099511628211ull;
	}
	return h ? h : 1;
}

static bool used(const struct whqueue *q, size_t i)
{
	return q->stamps[i] == q->stamp;
}

/* The slot of agent in the scratch table: its own, or the empty one where it goes. */
static size_t slot(const struct whqueue *q, uint64_t agent)
{
	size_t i = (size_t)(agent ^ (agent >> 29)) & (q->agents_cap - 1);

	while (used(q, i) && q->agents[i] != agent)
		i = (i + 1) & (q->agents_cap - 1);
	return i;
}

static void set_slot(struct whqueue *q, size_t i, uint64_t agent, size_t batch)
{
	q->agents[i] = agent;
	q->batch_of[i] = batch;
	q->stamps[i] = q->stamp;
}

static void scratch_reset(struct whqueue *q)
{
	size_t want = 64;

	while (want < 2 * q->n)
		want *= 2;
	if (want > q->agents_cap) {
		free(q->agents);
		free(q->batch_of);
		free(q->stamps);
		q->agents = xcalloc(want, sizeof(*q->agents));
		q->batch_of = xcalloc(want, sizeof(*q->batch_of));
		q->stamps = xcalloc(want, sizeof(*q->stamps));
		q->agents_cap = want;
		q->stamp = 0;
	}
	if (++q->stamp == 0) {	/* wrapped: old stamps could look current */
		memset(q->stamps, 0, q->agents_cap * sizeof(*q->stamps));
		q->stamp = 1;
	}
}

/* Marks agent as not sendable in this scan. */
static void block(struct whqueue *q, size_t i, uint64_t agent)
{
	set_slot(q, i, agent, BLOCKED);
}

size_t whqueue_take(struct whqueue *q, size_t nbatch, size_t max, struct whqueue_item **out,
		    size_t *sizes)
{
	size_t nb = 0, cur = 0, total = 0, cur_max = max;

	scratch_reset(q);
	for (size_t i = 0; i < q->n && nb < nbatch; i++) {
		struct whqueue_item *it = at(q, i);
		size_t k = slot(q, it->agent), lim = it->limit < max ? it->limit : max;

		if (it->state == WHQUEUE_DONE)
			continue;
		if (it->state == WHQUEUE_SENDING || (used(q, k) && q->batch_of[k] != nb)) {
			block(q, k, it->agent);
			continue;
		}
		if (cur && (cur + 1 > cur_max || cur + 1 > lim)) {
			sizes[nb++] = cur;
			cur = 0;
			cur_max = max;
			/* Its agent may have been in the batch just closed: then it waits for it. */
			if (nb == nbatch || used(q, k)) {
				if (nb < nbatch)
					block(q, k, it->agent);
				continue;
			}
		}
		out[total++] = it;
		cur++;
		if (lim < cur_max)
			cur_max = lim;
		set_slot(q, k, it->agent, nb);
		if (cur == cur_max) {
			sizes[nb++] = cur;
			cur = 0;
			cur_max = max;
		}
	}
	if (cur && nb < nbatch)
		sizes[nb++] = cur;
	return nb;
}

char *whqueue_body(struct whqueue_item *const *items, size_t n, enum whqueue_form form)
{
	size_t len = 16, o = 0;
	char *body;

	if (form == WHQUEUE_SINGLE)
		return xstrdup(items[0]->text);
	for (size_t i = 0; i < n; i++)
		len += strlen(items[i]->text) + 1;
	body = xmalloc(len);
	if (form == WHQUEUE_EVENTS) {
		memcpy(body, "{\"events\":", 10);
		o = 10;
	}
	body[o++] = '[';
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(items[i]->text);

		if (i)
			body[o++] = ',';
		memcpy(body + o, items[i]->text, l);
		o += l;
	}
	body[o++] = ']';
	if (form == WHQUEUE_EVENTS)
		body[o++] = '}';
	body[o] = '\0';
	return body;
}
