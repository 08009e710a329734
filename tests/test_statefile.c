/* test_statefile: agents' state saved and restored, odd call IDs included; a bad file restores nothing. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/cmscodes.h"
#include "../src/statefile.h"
#include "../src/util.h"
#include "check.h"

static char dir[] = "/tmp/test_statefile.XXXXXX";

/* Replays one logged event of type on call (NULL for agent events), first seen at first_us. */
static void replay(struct agent_state *st, enum event_type type, const char *call, uint64_t first_us,
		   const struct agents_clock *now)
{
	struct event ev = { .type = type, .call_id = call, .call_first_seen_us = first_us };

	agents_replay(st, &ev, now);
}
static const struct cfg_agent agents[2] = { { 1, 170, 1099, NULL }, { 1, 170, 1100, NULL } };
static struct agent_state restored[2];
/* Now, on both clocks, as the daemon would read them at start. */
static struct agents_clock now = { .real_us = 1795647662000000ull, .boot_us = 1000000000 };

static struct agent_state *find(void *ctx, uint64_t key)
{
	(void)ctx;
	for (int i = 0; i < 2; i++)
		if (key == cfg_agent_key(agents[i].cc, agents[i].vdn, agents[i].id))
			return &restored[i];
	return NULL;
}

static void test_round_trip(void)
{
	struct agent_state a, b;
	struct agent_state *states[2] = { &a, &b };
	char err[256];
	uint64_t seq = 0;

	agents_state_init(&a, &agents[0]);
	agents_state_init(&b, &agents[1]);
	b.unreachable = true;

	agents_restore_call(&a, "q\"uo\\te-1", 5000000, -7000000, true);
	agents_restore_call(&a, "plain-2", 6000000, 900000000, false);
	CHECK_INT(statefile_save(dir, 42, states, 2), 0);
	restored[0].cfg = &agents[0];
	restored[1].cfg = &agents[1];
	CHECK_INT(statefile_load(dir, &now, &seq, find, NULL, err, sizeof(err)), 0);
	CHECK_INT(seq, 42);
	CHECK_INT(restored[0].ncalls, 2);
	CHECK_STR(restored[0].calls[0].id, "plain-2");
	CHECK_STR(restored[0].calls[1].id, "q\"uo\\te-1");
	CHECK(restored[0].calls[1].long_reported);
	CHECK_INT(restored[0].calls[1].first_seen_us, 5000000);
	/* Saved in this boot: the boot clock is kept as it was, whatever the wall clock says. */
	CHECK_INT(restored[0].calls[1].first_seen_boot_us, -7000000);
	CHECK_INT(restored[0].calls[0].first_seen_boot_us, 900000000);
	CHECK(restored[0].baselined && restored[0].restored);
	/* Never polled successfully, but unreachable: kept, still without a baseline. */
	CHECK(restored[1].unreachable && !restored[1].baselined);
	for (int i = 0; i < 2; i++) {
		agents_state_clear(&restored[i]);
		agents_state_init(&restored[i], &agents[i]);
	}
	agents_state_clear(&a);
}

static void test_bad_files(void)
{
	static const char *const bad[] = { "", "{\"version\":1,\"seq\":1,\"agents\":[", "[]",
					   "{\"version\":2,\"seq\":1,\"agents\":[]}",
					   "{\"version\":1,\"seq\":1,\"agents\":[{\"cc\":1}]}" };
	char path[128], err[256];
	uint64_t seq;

	snprintf(path, sizeof(path), "%s/%s", dir, STATEFILE_NAME);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(util_write_file_atomic(path, bad[i], strlen(bad[i]), false), 0);
		CHECK_INT(statefile_load(dir, &now, &seq, find, NULL, err, sizeof(err)), -1);
		/* Every reason names the file, whatever made it bad ("3" parses as JSON too). */
		CHECK(strncmp(err, path, strlen(path)) == 0);
		CHECK(restored[0].ncalls == 0 && !restored[0].baselined);
	}
	remove(path);
	CHECK_INT(statefile_load(dir, &now, &seq, find, NULL, err, sizeof(err)), 1);
}

static void clear_restored(void)
{
	for (int i = 0; i < 2; i++) {
		agents_state_clear(&restored[i]);
		agents_state_init(&restored[i], &agents[i]);
	}
}

/*
 * A file from another boot, or from a version without boot-clock times: ages come from the wall
 * clock (now minus the saved first-seen) and are never negative, even when the wall clock now
 * reads earlier than the saved time.
 */
static void test_anchor_after_reboot(void)
{
	static const char *const files[] = {
		"{\"version\":1,\"seq\":7,\"boot_id\":\"00000000000000000000000000000000\","
		"\"agents\":[{\"cc\":1,\"vdn\":170,\"id\":1099,\"baselined\":true,"
		"\"unreachable\":false,\"calls\":[{\"id\":\"old\",\"first_seen_us\":1795647602000000,"
		"\"first_seen_boot_us\":5,\"long\":false},{\"id\":\"future\","
		"\"first_seen_us\":1795648262000000,\"first_seen_boot_us\":6,\"long\":false}]}]}",
		/* As the version before boot-clock times wrote it. */
		"{\"version\":1,\"seq\":7,\"agents\":[{\"cc\":1,\"vdn\":170,\"id\":1099,"
		"\"baselined\":true,\"unreachable\":false,\"calls\":[{\"id\":\"old\","
		"\"first_seen_us\":1795647602000000,\"long\":false},{\"id\":\"future\","
		"\"first_seen_us\":1795648262000000,\"long\":false}]}]}",
	};
	char path[128], err[256];
	uint64_t seq;

	snprintf(path, sizeof(path), "%s/%s", dir, STATEFILE_NAME);
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		CHECK_INT(util_write_file_atomic(path, files[i], strlen(files[i]), false), 0);
		CHECK_INT(statefile_load(dir, &now, &seq, find, NULL, err, sizeof(err)), 0);
		CHECK_INT(restored[0].ncalls, 2);
		CHECK_STR(restored[0].calls[1].id, "old");
		CHECK_INT(agents_call_age_us(&restored[0].calls[1], now.boot_us), 60000000);
		/* Seen 10 min "later" than now: the wall clock was stepped back; age 0, not -600 s. */
		CHECK_STR(restored[0].calls[0].id, "future");
		CHECK_INT(agents_call_age_us(&restored[0].calls[0], now.boot_us), 0);
		CHECK_INT(restored[0].calls[0].first_seen_us, 1795648262000000ull);
		/* Files from before call detail and agent state: none of either. */
		CHECK_INT(restored[0].calls[0].status, CMS_CODE_NONE);
		CHECK_INT(restored[0].calls[0].direction, CMS_CODE_NONE);
		CHECK_INT(restored[0].calls[0].media, CMS_CODE_NONE);
		CHECK(restored[0].calls[0].submedia == NULL);
		CHECK_INT(restored[0].cti.code, CMS_CODE_NONE);
		clear_restored();
	}
	remove(path);
}

/*
 * A snapshot built a slice at a time while events keep coming: an agent added after later events
 * already reflects them, and replaying the events after the snapshot's seq (as a restart does)
 * applies them again harmlessly, so the restored state is the state at the last event.
 */
static void test_snapshot_in_slices(void)
{
	struct agent_state a, b;
	struct {
		struct agent_state *live;
		int restored;
		enum event_type type;
		const char *call;
	} later[] = {
		{ &a, 0, EVENT_CALL_STARTED, "c2" },
		{ &b, 1, EVENT_CALL_STARTED, "d1" },
		{ &a, 0, EVENT_CALL_ENDED, "c1" },
	};
	struct statefile_snapshot *snap;
	char path[128], err[256], *text;
	size_t len;
	uint64_t seq = 0;

	agents_state_init(&a, &agents[0]);
	agents_state_init(&b, &agents[1]);
	agents_restore_call(&a, "c1", 1000000, 1000000, false);
	agents_restore_call(&b, "d0", 1000000, 1000000, false);
	snap = statefile_snapshot_begin(10);
	statefile_snapshot_add(snap, &a);
	/* Events 11 to 13 happen between the two slices. */
	for (size_t i = 0; i < 3; i++)
		replay(later[i].live, later[i].type, later[i].call, 2000000, &now);
	statefile_snapshot_add(snap, &b);
	text = statefile_snapshot_end(snap, &len);
	snprintf(path, sizeof(path), "%s/%s", dir, STATEFILE_NAME);
	CHECK_INT(util_write_file_atomic(path, text, len, false), 0);
	free(text);
	CHECK_INT(statefile_load(dir, &now, &seq, find, NULL, err, sizeof(err)), 0);
	CHECK_INT(seq, 10);
	for (size_t i = 0; i < 3; i++)
		replay(&restored[later[i].restored], later[i].type, later[i].call, 2000000,
			      &now);
	CHECK_INT(restored[0].ncalls, 1);
	CHECK_STR(restored[0].calls[0].id, "c2");
	CHECK_INT(restored[1].ncalls, 2);
	CHECK_STR(restored[1].calls[0].id, "d0");
	CHECK_STR(restored[1].calls[1].id, "d1");
	clear_restored();
	agents_state_clear(&a);
	agents_state_clear(&b);
	remove(path);
}

/* The previous save is kept beside the state file; a bad file is moved aside, not deleted. */
static void test_previous_and_aside(void)
{
	struct agent_state a;
	struct agent_state *states[1] = { &a };
	char err[256], moved[256], path[128];
	uint64_t seq = 0;

	agents_state_init(&a, &agents[0]);

	errno = 0;
	CHECK_INT(statefile_keep_previous(dir), -1);
	CHECK_INT(errno, ENOENT);
	CHECK_INT(statefile_save(dir, 7, states, 1), 0);
	CHECK_INT(statefile_keep_previous(dir), 0);
	CHECK_INT(statefile_save(dir, 9, states, 1), 0);
	CHECK_INT(statefile_load_named(dir, STATEFILE_PREVIOUS, &now, &seq, find, NULL, err,
				       sizeof(err)), 0);
	CHECK_INT(seq, 7);
	CHECK_INT(statefile_load(dir, &now, &seq, find, NULL, err, sizeof(err)), 0);
	CHECK_INT(seq, 9);
	CHECK_INT(statefile_set_aside(dir, STATEFILE_NAME, moved, sizeof(moved)), 0);
	snprintf(path, sizeof(path), "%s/%s.corrupt-", dir, STATEFILE_NAME);
	CHECK(strncmp(moved, path, strlen(path)) == 0 && strlen(moved) == strlen(path) + 16);
	CHECK(access(moved, F_OK) == 0);
	CHECK_INT(statefile_load(dir, &now, &seq, find, NULL, err, sizeof(err)), 1);
	/* A second bad file within the same second is kept beside the first, not over it. */
	CHECK_INT(statefile_save(dir, 11, states, 1), 0);
	CHECK_INT(statefile_set_aside(dir, STATEFILE_NAME, path, sizeof(path)), 0);
	CHECK(strcmp(path, moved) != 0 && access(moved, F_OK) == 0 && access(path, F_OK) == 0);
	remove(path);
	remove(moved);
	snprintf(path, sizeof(path), "%s/%s", dir, STATEFILE_PREVIOUS);
	remove(path);
	clear_restored();
}

/* A call's detail and the agent's CTI state come back as they were saved. */
static void test_detail_and_cti(void)
{
	struct agent_state a, b;
	struct agent_state *states[2] = { &a, &b };
	struct reply_call detail = { .id = "c-1", .status = 6, .direction = 1, .media = 53,
				     .submedia = "Face\"book\n" };
	char err[256], path[128];
	uint64_t seq = 0;

	agents_state_init(&a, &agents[0]);
	agents_state_init(&b, &agents[1]);
	agents_restore_call(&a, "c-1", 5000000, -7000000, false);
	agents_restore_call(&a, "c-2", 6000000, 1000, false);
	agents_restore_detail(&a, &detail);
	agents_restore_cti(&a, &(struct agent_cti){ .code = 8, .reason = 258,
						    .since_us = 1795647000000000ull,
						    .since_boot_us = -5000000, .long_reported = true });
	/* No calls poll yet, but a state: saved, so that its state is no initial one again. */
	agents_restore_cti(&b, &(struct agent_cti){ .code = 6, .reason = CMS_CODE_NONE,
						    .since_us = 1795647600000000ull,
						    .since_boot_us = 900000000 });
	CHECK_INT(statefile_save(dir, 5, states, 2), 0);
	CHECK_INT(statefile_load(dir, &now, &seq, find, NULL, err, sizeof(err)), 0);
	CHECK_INT(restored[0].calls[0].status, 6);
	CHECK_INT(restored[0].calls[0].direction, 1);
	CHECK_INT(restored[0].calls[0].media, 53);
	CHECK_STR(restored[0].calls[0].submedia, "Face\"book\n");
	CHECK_INT(restored[0].calls[1].status, CMS_CODE_NONE);
	CHECK(restored[0].calls[1].submedia == NULL);
	CHECK_INT(restored[0].cti.code, 8);
	CHECK_INT(restored[0].cti.reason, 258);
	CHECK_INT(restored[0].cti.since_us, 1795647000000000ull);
	CHECK_INT(restored[0].cti.since_boot_us, -5000000);
	CHECK(restored[0].cti.long_reported);
	CHECK_INT(restored[1].cti.code, 6);
	CHECK_INT(restored[1].cti.reason, CMS_CODE_NONE);
	CHECK(!restored[1].cti.long_reported);
	CHECK(!restored[1].baselined);
	clear_restored();
	agents_state_clear(&a);
	agents_state_clear(&b);
	/* From another boot: the stint's age from the wall clock (62 s before now). */
	snprintf(path, sizeof(path), "%s/%s", dir, STATEFILE_NAME);
	{
		static const char file[] = "{\"version\":1,\"seq\":7,\"boot_id\":\"0\",\"agents\":["
			"{\"cc\":1,\"vdn\":170,\"id\":1099,\"baselined\":false,\"unreachable\":false,"
			"\"calls\":[],\"cti\":{\"code\":7,\"since_us\":1795647600000000,"
			"\"since_boot_us\":5,\"long\":false}}]}";

		CHECK_INT(util_write_file_atomic(path, file, strlen(file), false), 0);
		CHECK_INT(statefile_load(dir, &now, &seq, find, NULL, err, sizeof(err)), 0);
		CHECK_INT(restored[0].cti.code, 7);
		CHECK_INT(restored[0].cti.since_boot_us, now.boot_us - 62000000);
		clear_restored();
	}
	/* A malformed state or detail makes the whole file bad. */
	{
		static const char *const bad[] = {
			"{\"version\":1,\"seq\":7,\"agents\":[{\"cc\":1,\"vdn\":170,\"id\":1099,"
			"\"unreachable\":false,\"calls\":[],\"cti\":{\"code\":11,\"since_us\":1,"
			"\"since_boot_us\":5,\"long\":false}}]}",
			"{\"version\":1,\"seq\":7,\"agents\":[{\"cc\":1,\"vdn\":170,\"id\":1099,"
			"\"unreachable\":false,\"calls\":[],\"cti\":{\"code\":1}}]}",
			"{\"version\":1,\"seq\":7,\"agents\":[{\"cc\":1,\"vdn\":170,\"id\":1099,"
			"\"unreachable\":false,\"calls\":[{\"id\":\"x\",\"first_seen_us\":1,"
			"\"long\":false,\"status\":\"talking\"}]}]}",
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			CHECK_INT(util_write_file_atomic(path, bad[i], strlen(bad[i]), false), 0);
			CHECK_INT(statefile_load(dir, &now, &seq, find, NULL, err, sizeof(err)), -1);
			CHECK_INT(restored[0].cti.code, CMS_CODE_NONE);
		}
	}
	remove(path);
}

int main(void)
{
	CHECK(mkdtemp(dir) != NULL);
	for (int i = 0; i < 2; i++)
		agents_state_init(&restored[i], &agents[i]);
	test_detail_and_cti();
	test_round_trip();
	test_bad_files();
	test_anchor_after_reboot();
	test_snapshot_in_slices();
	test_previous_and_aside();
	rmdir(dir);
	return check_done("test_statefile");
}
