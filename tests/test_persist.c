/* test_persist: the state file's saves, and the log segments a save lets go. */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "../src/cmscodes.h"
#include "../src/persist.h"
#include "check.h"

static char dir[] = "/tmp/test_persist.XXXXXX";

/*
 * Seams: a disk that refuses a log record and cannot cut it back off either, so that the next
 * record starts a new segment. The real work goes straight to the system call.
 */
static bool fail_log;

static bool log_fd(int fd)
{
	char link[64], path[512];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, path, sizeof(path) - 1);
	if (n < 0)
		return false;
	path[n] = '\0';
	return strncmp(path, dir, strlen(dir)) == 0 && strstr(path, "/events-");
}

ssize_t write(int fd, const void *buf, size_t n)
{
	if (fail_log && log_fd(fd)) {
		errno = ENOSPC;
		return -1;
	}
	return syscall(SYS_write, fd, buf, n);
}

int ftruncate(int fd, off_t len)
{
	if (fail_log && log_fd(fd)) {
		errno = ENOSPC;
		return -1;
	}
	return (int)syscall(SYS_ftruncate, fd, len);
}

static void append(struct persist *p, unsigned n)
{
	struct evlog *log = persist_log(p);

	for (unsigned i = 0; i < n; i++)
		evlog_append(log, "{}", 2);
}

/* The seq the state file name in dir was saved at: the first field of its first line. */
static uint64_t file_seq(const char *name)
{
	char path[600], line[256];
	unsigned long long seq = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "r");
	if (f && fgets(line, sizeof(line), f)) {
		const char *s = strstr(line, "\"seq\":");

		if (s)
			seq = strtoull(s + 6, NULL, 10);
	}
	if (f)
		fclose(f);
	return seq;
}

/*
 * A save that fails leaves the file it would have replaced in place: the log keeps what a replay
 * from the previous file needs, not what one from the failed save would.
 */
static void test_failed_save_keeps_previous_reach(void)
{
	struct persist *p = persist_open(dir);
	char tmp[600];

	snprintf(tmp, sizeof(tmp), "%s/%s.tmp", dir, STATEFILE_NAME);
	append(p, 3);
	CHECK(!persist_save(p, NULL, 0, UINT64_MAX, true));		/* saved at 3 */
	append(p, 3);
	CHECK(mkdir(tmp, 0700) == 0);		/* the next save cannot be written */
	CHECK(!persist_save(p, NULL, 0, UINT64_MAX, true));		/* fails at 6 */
	CHECK(rmdir(tmp) == 0);
	fail_log = true;
	append(p, 1);				/* held: the segment is closed */
	fail_log = false;
	append(p, 1);				/* a new segment from 7 */
	CHECK(!persist_save(p, NULL, 0, UINT64_MAX, true));		/* saved at 8 */
	CHECK_INT(file_seq(STATEFILE_NAME), 8);
	CHECK_INT(file_seq(STATEFILE_PREVIOUS), 3);
	/* Should agents.state rot, agents.state.prev plus events 4 on rebuild the state. */
	CHECK(evlog_first_seq(persist_log(p)) <= 4);
	persist_close(p);
}

/* ---- restore: the state file, then the log after it ---- */

static const struct cfg_group alice_group = { .line = 1, .name = "alice" };
static const struct cfg_agent alice = { .cc = 1, .vdn = 170, .id = 1099, .group = &alice_group };
static struct agents_rules rules = { .failure_threshold = 3, .long_call = 0 };
static struct agents_clock base;	/* the clocks at the test's start */
static char got[1024];

static struct agents_clock at(int64_t t)
{
	return (struct agents_clock){ .real_us = base.real_us - 1000000000ull + (uint64_t)t * 1000000u,
				      .boot_us = base.boot_us - 1000000000 + t * 1000000 };
}

/* Logs the event as the daemon does, and notes its type. */
static void log_event(void *ctx, struct event *ev)
{
	struct json_object *obj;
	const char *text;
	size_t n = strlen(got);

	event_new_id(ev);
	obj = event_to_json(ev);
	text = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);
	if (ctx)
		evlog_append(ctx, text, strlen(text));
	snprintf(got + n, sizeof(got) - n, "%s%s", n ? "; " : "", event_type_name(ev->type));
	json_object_put(obj);
}

/* One call "c-1" in status (talking 5, held 6), then the agent's CTI state code. */
static void poll_both(struct agent_state *st, struct evlog *log, int64_t t, int status, int code,
		      int64_t seconds, const char *want)
{
	struct reply_call call = { .id = "c-1", .status = (int16_t)status, .direction = 0,
				   .media = 5 };
	struct replybatch_state cti = { .agent_id = alice.id, .state = (int16_t)code,
					.prev_state = CMS_CODE_NONE, .state_seconds = seconds,
					.reason = CMS_CODE_NONE, .logon_ms = -1 };
	struct agents_clock now = at(t);

	got[0] = '\0';
	agents_on_success(st, &call, 1, &now, &rules, log_event, log);
	agents_on_state(st, &cti, &now, &rules, log_event, log);
	CHECK_STR(got, want);
}

static struct agent_state restored;

static struct agent_state *find_alice(void *ctx, uint64_t key)
{
	(void)ctx;
	return key == cfg_agent_key(alice.cc, alice.vdn, alice.id) ? &restored : NULL;
}

/*
 * Saved while talking and idle; then held, rest, and rest for long enough, logged after the
 * save. After a restart, none of that is reported again, and the next change is diffed against it.
 */
static void test_restore_detail_and_state(void)
{
	char sub[600], cmd[700];
	struct agent_state live, *states[1] = { &live };
	struct persist *p;

	snprintf(sub, sizeof(sub), "%s/restore", dir);
	CHECK(mkdir(sub, 0700) == 0);
	agents_clock_read(&base);
	rules.long_state[8] = 60;
	agents_state_init(&live, &alice);
	agents_state_init(&restored, &alice);
	p = persist_open(sub);
	poll_both(&live, persist_log(p), 0, 5, 1, 10, "call.started; agent.busy; agent.state");
	CHECK(!persist_save(p, states, 1, UINT64_MAX, true));
	poll_both(&live, persist_log(p), 5, 6, 8, 2, "call.status; agent.state");
	poll_both(&live, persist_log(p), 70, 6, 8, 67, "agent.long_state");
	persist_close(p);
	agents_state_clear(&live);
	CHECK_INT(file_seq("restore/" STATEFILE_NAME), 3);	/* three events after it */

	p = persist_open(sub);
	persist_restore(p, find_alice, NULL);
	CHECK_INT(restored.ncalls, 1);
	CHECK_INT(restored.calls[0].status, 6);
	CHECK_INT(restored.calls[0].media, 5);
	CHECK_INT(restored.cti.code, 8);
	CHECK(restored.cti.long_reported);
	CHECK_INT(restored.cti.since_us / 1000, at(3).real_us / 1000);
	/* The same answers: nothing again; then a change, from what the log said last. */
	poll_both(&restored, NULL, 80, 6, 8, 77, "");
	poll_both(&restored, NULL, 85, 5, 1, 1, "call.status; agent.state");
	persist_close(p);
	agents_state_clear(&restored);
	memset(rules.long_state, 0, sizeof(rules.long_state));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", sub);
	CHECK(system(cmd) == 0);
}

/*
 * A detail that changed silently after the call's last event (per-agent polling, then batch) is
 * in the state file only: events logged before the save must not be replayed over it, or the
 * next status change would be lost.
 */
static void test_replay_starts_after_save(void)
{
	char sub[600], cmd[700];
	struct agent_state live, *states[1] = { &live };
	struct persist *p;

	snprintf(sub, sizeof(sub), "%s/after", dir);
	CHECK(mkdir(sub, 0700) == 0);
	agents_clock_read(&base);
	agents_state_init(&live, &alice);
	agents_state_init(&restored, &alice);
	p = persist_open(sub);
	poll_both(&live, persist_log(p), 0, CMS_CODE_NONE, 1, 10,
		  "call.started; agent.busy; agent.state");
	poll_both(&live, persist_log(p), 5, 5, 1, 15, "");
	CHECK(!persist_save(p, states, 1, UINT64_MAX, true));
	poll_both(&live, persist_log(p), 7, 5, 8, 1, "agent.state");
	persist_close(p);
	agents_state_clear(&live);

	p = persist_open(sub);
	persist_restore(p, find_alice, NULL);
	CHECK_INT(restored.calls[0].status, 5);
	poll_both(&restored, NULL, 10, 6, 8, 4, "call.status");
	persist_close(p);
	agents_state_clear(&restored);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", sub);
	CHECK(system(cmd) == 0);
}

int main(void)
{
	char cmd[600];

	CHECK(mkdtemp(dir) != NULL);
	test_failed_save_keeps_previous_reach();
	test_restore_detail_and_state();
	test_replay_starts_after_save();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	return check_done("test_persist");
}
