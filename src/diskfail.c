/* diskfail: files in state_dir that cannot be written, each logged once, then once a minute with a count. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "diskfail.h"
#include "log.h"
#include "util.h"

/* Only the failing files are listed, so the list stays short. */
struct failing {
	char *path;
	uint64_t count;		/* failures since the last line logged */
	uint64_t logged_at_us;	/* monotonic */
	struct failing *next;
};

static struct failing *list;
static struct diskfail_stats totals;

static struct failing **find(const char *path)
{
	struct failing **f = &list;

	while (*f && strcmp((*f)->path, path) != 0)
		f = &(*f)->next;
	return f;
}

void diskfail_failed(const char *path, int err)
{
	struct failing **at = find(path), *f = *at;
	uint64_t now = util_now_monotonic_us();

	totals.failures++;
	totals.last_err = err;
	if (!f) {
		f = xcalloc(1, sizeof(*f));
		f->path = xstrdup(path);
		*at = f;
		totals.failing++;
		log_err("%s: cannot write: %s", path, strerror(err));
	} else if (now - f->logged_at_us >= DISKFAIL_REPEAT_US) {
		log_err("%s: still cannot write: %s (%llu more failures)", path, strerror(err),
			(unsigned long long)f->count + 1);
	} else {
		f->count++;
		return;
	}
	f->count = 0;
	f->logged_at_us = now;
}

void diskfail_ok(const char *path)
{
	struct failing **at = find(path), *f = *at;

	if (!f)
		return;
	log_notice("%s: writable again", path);
	*at = f->next;
	totals.failing--;
	free(f->path);
	free(f);
}

void diskfail_clear(void)
{
	while (list) {
		struct failing *f = list;

		list = f->next;
		free(f->path);
		free(f);
	}
	totals.failing = 0;
}

void diskfail_get_stats(struct diskfail_stats *stats)
{
	*stats = totals;
}
