/*
 * slowunlink: an LD_PRELOAD shim for test_retention.sh, a slow disk: off the main thread (on the
 * writer's), removing a webhook cursor file (*.cursor) waits while the file named by
 * $SLOWUNLINK_HOLD exists (30 s at most), so that the test decides when it is done.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int unlink(const char *path)
{
	static int (*real)(const char *);
	const char *hold = getenv("SLOWUNLINK_HOLD");
	size_t n = strlen(path);

	if (!real)
		real = (int (*)(const char *))dlsym(RTLD_NEXT, "unlink");
	if (hold && n > 7 && strcmp(path + n - 7, ".cursor") == 0 && gettid() != getpid())
		for (int i = 0; i < 3000 && access(hold, F_OK) == 0; i++)
			usleep(10000);
	return real(path);
}
