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

int main(void)
{
	char cmd[600];

	CHECK(mkdtemp(dir) != NULL);
	test_failed_save_keeps_previous_reach();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	return check_done("test_persist");
}
