/* test_whqueue: which queued events go in which batch: log order, per-agent order, limits. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/util.h"
#include "../src/whqueue.h"
#include "check.h"

/* Queues one event per letter of agents ('a' is one agent, 'b' another...), ids "0", "1"... */
static void fill(struct whqueue *q, const char *agents)
{
	for (size_t i = 0; agents[i]; i++) {
		char id[24], a[2] = { agents[i], 0 };
		struct evlog_cursor pos = { .seq = i + 1 };

		snprintf(id, sizeof(id), "%zu", i);
		whqueue_push(q, pos, whqueue_agent_hash("1", "170", a), xasprintf("{\"id\":\"%s\"}", id),
			     NULL, id, SIZE_MAX);
	}
}

/* The batches whqueue_take chooses, as "0,1|2|..." (ids, batches apart). */
static char *take(struct whqueue *q, size_t nbatch, size_t max)
{
	struct whqueue_item *items[64];
	size_t sizes[16], nb = whqueue_take(q, nbatch, max, items, sizes), k = 0;
	static char out[256];

	out[0] = '\0';
	for (size_t b = 0; b < nb; b++) {
		for (size_t i = 0; i < sizes[b]; i++, k++) {
			strcat(out, items[k]->id);
			strcat(out, i + 1 < sizes[b] ? "," : "");
		}
		strcat(out, b + 1 < nb ? "|" : "");
	}
	return out;
}

static void mark(struct whqueue *q, size_t i, enum whqueue_state st)
{
	q->v[(q->head + i) % q->cap]->state = st;
}

static void test_single_events(void)
{
	struct whqueue q = { 0 };

	/* One event per request: an agent's second event waits for its first. */
	fill(&q, "abacb");
	CHECK_STR(take(&q, 8, 1), "0|1|3");
	/* 0 is under way: a's later events wait, b's and c's go. */
	mark(&q, 0, WHQUEUE_SENDING);
	CHECK_STR(take(&q, 8, 1), "1|3");
	mark(&q, 0, WHQUEUE_DONE);
	CHECK_INT(whqueue_pop_done(&q), 1);
	CHECK_STR(whqueue_front(&q)->id, "1");
	CHECK_STR(take(&q, 8, 1), "1|2|3");
	CHECK_STR(take(&q, 2, 1), "1|2");
	whqueue_clear(&q);
}

static void test_batches(void)
{
	struct whqueue q = { 0 };
	char *body;

	/* Batches of 3 in log order; an agent in a closed batch waits for it. */
	fill(&q, "abacbd");
	CHECK_STR(take(&q, 4, 3), "0,1,2|3,5");
	/* Halved after a refusal: the first three may go only two by two. */
	for (size_t i = 0; i < 3; i++)
		q.v[i]->limit = 2;
	CHECK_STR(take(&q, 4, 3), "0,1|3,5");
	{
		struct whqueue_item *items[2] = { q.v[0], q.v[1] };

		body = whqueue_body(items, 2, WHQUEUE_EVENTS);
		CHECK_STR(body, "{\"events\":[{\"id\":\"0\"},{\"id\":\"1\"}]}");
		free(body);
		body = whqueue_body(items, 2, WHQUEUE_ARRAY);
		CHECK_STR(body, "[{\"id\":\"0\"},{\"id\":\"1\"}]");
		free(body);
		body = whqueue_body(items, 1, WHQUEUE_SINGLE);
		CHECK_STR(body, "{\"id\":\"0\"}");
		free(body);
	}
	whqueue_clear(&q);
}

/* The ring grows and wraps without losing order. */
static void test_ring(void)
{
	struct whqueue q = { 0 };
	char agents[201];

	memset(agents, 'a', 200);
	agents[200] = '\0';
	fill(&q, agents);
	for (size_t i = 0; i < 150; i++)
		mark(&q, i, WHQUEUE_DONE);
	CHECK_INT(whqueue_pop_done(&q), 150);
	fill(&q, "bb");
	CHECK_INT(q.n, 52);
	CHECK_STR(whqueue_front(&q)->id, "150");
	CHECK_STR(take(&q, 2, 1), "150|0");
	whqueue_clear(&q);
}

int main(void)
{
	test_single_events();
	test_batches();
	test_ring();
	return check_done("test_whqueue");
}
