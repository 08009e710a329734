/* diskfail: files in state_dir that cannot be written, each logged once, then once a minute with a count. */
#ifndef AW_DISKFAIL_H
#define AW_DISKFAIL_H

#include <stdint.h>

#define DISKFAIL_REPEAT_US (60 * 1000000ull)	/* a failure that goes on is logged this often */

/* Across all files: for STATUS= and the counters. */
struct diskfail_stats {
	uint64_t failing;	/* files failing now */
	uint64_t failures;	/* failed writes since start */
	int last_err;		/* errno of the latest failure, 0 when none yet */
};

/*
 * A write of path (a file, or a family such as "DIR/events-*.log") failed with err: logged the
 * first time, then at most once a minute with the number of failures since. Loop thread only.
 */
void diskfail_failed(const char *path, int err);
/* A write of path succeeded: logged once when it was failing. */
void diskfail_ok(const char *path);
/* Forgets every failing file (at exit). */
void diskfail_clear(void);

void diskfail_get_stats(struct diskfail_stats *stats);

#endif
