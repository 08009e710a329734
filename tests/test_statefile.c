/* test_statefile: agents' state saved and restored, odd call IDs included; a bad file restores nothing. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../src/statefile.h"
#include "../src/util.h"
#include "check.h"

static char dir[] = "/tmp/test_statefile.XXXXXX";
static const struct cfg_agent agents[2] = { { 1, 170, 1099, NULL }, { 1, 170, 1100, NULL } };
static struct agent_state restored[2];

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
	struct agent_state a = { .cfg = &agents[0] }, b = { .cfg = &agents[1], .unreachable = true };
	struct agent_state *states[2] = { &a, &b };
	char err[256];
	uint64_t seq = 0;

	agents_restore_call(&a, "q\"uo\\te-1", 5000000, true);
	agents_restore_call(&a, "plain-2", 6000000, false);
	CHECK_INT(statefile_save(dir, 42, states, 2), 0);
	restored[0].cfg = &agents[0];
	restored[1].cfg = &agents[1];
	CHECK_INT(statefile_load(dir, &seq, find, NULL, err, sizeof(err)), 0);
	CHECK_INT(seq, 42);
	CHECK_INT(restored[0].ncalls, 2);
	CHECK_STR(restored[0].calls[0].id, "plain-2");
	CHECK_STR(restored[0].calls[1].id, "q\"uo\\te-1");
	CHECK(restored[0].calls[1].long_reported);
	CHECK_INT(restored[0].calls[1].first_seen_us, 5000000);
	CHECK(restored[0].baselined && restored[0].restored);
	/* Never polled successfully, but unreachable: kept, still without a baseline. */
	CHECK(restored[1].unreachable && !restored[1].baselined);
	for (int i = 0; i < 2; i++) {
		agents_state_clear(&restored[i]);
		restored[i] = (struct agent_state){ .cfg = &agents[i] };
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
		CHECK_INT(statefile_load(dir, &seq, find, NULL, err, sizeof(err)), -1);
		CHECK(restored[0].ncalls == 0 && !restored[0].baselined);
	}
	remove(path);
	CHECK_INT(statefile_load(dir, &seq, find, NULL, err, sizeof(err)), 1);
}

/* The previous save is kept beside the state file; a bad file is moved aside, not deleted. */
static void test_previous_and_aside(void)
{
	struct agent_state a = { .cfg = &agents[0] };
	struct agent_state *states[1] = { &a };
	char err[256], moved[256], path[128];
	uint64_t seq = 0;

	errno = 0;
	CHECK_INT(statefile_keep_previous(dir), -1);
	CHECK_INT(errno, ENOENT);
	CHECK_INT(statefile_save(dir, 7, states, 1), 0);
	CHECK_INT(statefile_keep_previous(dir), 0);
	CHECK_INT(statefile_save(dir, 9, states, 1), 0);
	CHECK_INT(statefile_load_named(dir, STATEFILE_PREVIOUS, &seq, find, NULL, err, sizeof(err)), 0);
	CHECK_INT(seq, 7);
	CHECK_INT(statefile_load(dir, &seq, find, NULL, err, sizeof(err)), 0);
	CHECK_INT(seq, 9);
	CHECK_INT(statefile_set_aside(dir, STATEFILE_NAME, moved, sizeof(moved)), 0);
	snprintf(path, sizeof(path), "%s/%s.corrupt-", dir, STATEFILE_NAME);
	CHECK(strncmp(moved, path, strlen(path)) == 0 && strlen(moved) == strlen(path) + 16);
	CHECK(access(moved, F_OK) == 0);
	CHECK_INT(statefile_load(dir, &seq, find, NULL, err, sizeof(err)), 1);
	remove(moved);
	snprintf(path, sizeof(path), "%s/%s", dir, STATEFILE_PREVIOUS);
	remove(path);
	agents_state_clear(&restored[0]);
	restored[0] = (struct agent_state){ .cfg = &agents[0] };
}

int main(void)
{
	CHECK(mkdtemp(dir) != NULL);
	test_round_trip();
	test_bad_files();
	test_previous_and_aside();
	rmdir(dir);
	return check_done("test_statefile");
}
