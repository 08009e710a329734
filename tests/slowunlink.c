/*
 * slowunlink: an LD_PRELOAD shim for test_retention.sh: removing a webhook cursor file
 * (*.cursor) off the main thread (the writer's, a slow disk) takes half a second, so that the
 * loop surely goes on before it is done.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <string.h>
#include <unistd.h>

int unlink(const char *path)
{
	static int (*real)(const char *);
	size_t n = strlen(path);

	if (!real)
		real = (int (*)(const char *))dlsym(RTLD_NEXT, "unlink");
	if (n > 7 && strcmp(path + n - 7, ".cursor") == 0 && gettid() != getpid())
		usleep(500000);
	return real(path);
}
