/* test_resolve: address literals, a lookup on the helper thread, the cache, cancel and free. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "../src/resolve.h"
#include "../src/util.h"

struct outcome {
	struct resolve_wait wait;
	int calls;
	char addrs[256];
	char error[256];
};

static void on_done(struct resolve_wait *w, const char *addrs, const char *error)
{
	struct outcome *o = (struct outcome *)w;

	o->calls++;
	snprintf(o->addrs, sizeof(o->addrs), "%s", addrs ? addrs : "");
	snprintf(o->error, sizeof(o->error), "%s", error ? error : "");
}

static void run_until(sd_event *event, const int *calls, int want)
{
	uint64_t end = util_now_monotonic_us() + 10 * 1000000u;

	while (*calls < want && util_now_monotonic_us() < end)
		sd_event_run(event, 100000);
}

static void test_literals(void)
{
	CHECK(resolver_is_literal("127.0.0.1"));
	CHECK(resolver_is_literal("::1"));
	CHECK(resolver_is_literal("[::1]"));
	CHECK(resolver_is_literal("[2001:db8::1]"));
	CHECK(!resolver_is_literal("localhost"));
	CHECK(!resolver_is_literal("cms.example.com"));
	CHECK(!resolver_is_literal("[cms.example.com]"));
	CHECK(!resolver_is_literal("[]"));
	CHECK(!resolver_is_literal("1.2.3"));
}

static void test_lookup(sd_event *event)
{
	struct resolver *r = resolver_new(event);
	struct outcome a = { .wait.done = on_done }, b = { .wait.done = on_done };
	struct outcome c = { .wait.done = on_done };

	CHECK(resolver_cached(r, "localhost") == NULL);
	/* Two waits on one name share one lookup; both hear of it, once each. */
	resolver_wait(r, "localhost", 5000000, &a.wait);
	resolver_wait(r, "localhost", 5000000, &b.wait);
	run_until(event, &b.calls, 1);
	run_until(event, &a.calls, 1);
	CHECK_INT(a.calls, 1);
	CHECK_INT(b.calls, 1);
	CHECK(strstr(a.addrs, "127.0.0.1") != NULL || strstr(a.addrs, "[::1]") != NULL);
	CHECK_STR(b.addrs, a.addrs);
	CHECK_STR(a.error, "");
	CHECK_STR(resolver_cached(r, "localhost"), a.addrs);
	/* A cancelled wait is never called. */
	resolver_wait(r, "cancelled.invalid", 5000000, &c.wait);
	resolver_cancel(&c.wait);
	resolver_cancel(&c.wait);
	for (int i = 0; i < 5; i++)
		sd_event_run(event, 10000);
	CHECK_INT(c.calls, 0);
	resolver_free(r);
}

int main(void)
{
	sd_event *event = NULL;

	test_literals();
	if (sd_event_new(&event) < 0)
		return 99;
	test_lookup(event);
	sd_event_unref(event);
	return check_done("test_resolve");
}
