/* dumpable.c: an LD_PRELOAD shim for test_secrets.sh: at exit, writes the process's
 * prctl(PR_GET_DUMPABLE) to the file named by $AW_DUMPABLE_OUT. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>

static void record(void)
{
	const char *path = getenv("AW_DUMPABLE_OUT");
	FILE *f = path ? fopen(path, "w") : NULL;

	if (f) {
		fprintf(f, "%d\n", prctl(PR_GET_DUMPABLE, 0, 0, 0, 0));
		fclose(f);
	}
}

__attribute__((constructor)) static void setup(void)
{
	atexit(record);
}
