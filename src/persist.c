/* persist: the event log and the agents' state file together: restore at start, save as it runs. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "diskfail.h"
#include "log.h"
#include "persist.h"
#include "util.h"
#include "writer.h"

struct persist {
	char *dir;
	struct evlog *log;
	uint64_t saved_seq;	/* the last event the state file reflects */
	uint64_t saved_at_us;	/* when the last snapshot began */
	struct writer *writer;
	/* A snapshot under way: built a slice per turn, then written by the writer thread. */
	struct statefile_snapshot *snap;
	uint64_t snap_seq;
	size_t snap_next;		/* the next agent to add */
	struct agent_state *const *snap_states;	/* the array it began with: a new one restarts it */
	size_t snap_n;
	unsigned saves_in_flight;
};

/* What the writer thread gets: the text and where it goes; the rest is for the completion. */
struct save_job {
	struct persist *p;
	char *dir;
	char *path;
	char *text;
	size_t len;
	uint64_t seq;
	uint64_t keep_from;	/* the oldest event a webhook receiver still needs */
};

struct persist *persist_open(const char *state_dir)
{
	struct persist *p = xcalloc(1, sizeof(*p));
	char err[512];

	if (state_dir) {
		p->log = evlog_open(state_dir, err, sizeof(err));
		if (p->log)
			p->dir = xstrdup(state_dir);
		else
			log_err("state_dir %s is not usable (%s): events are kept in memory only, "
				"and a restart will report calls again", state_dir, err);
	}
	if (!p->log)
		p->log = evlog_open(NULL, err, sizeof(err));
	p->saved_seq = evlog_next_seq(p->log) - 1;
	return p;
}

void persist_set_writer(struct persist *p, struct writer *w)
{
	p->writer = w;
	evlog_set_writer(p->log, w);
}

void persist_close(struct persist *p)
{
	if (!p)
		return;
	/* The completions of saves under way touch p. */
	writer_flush(p->writer);
	statefile_snapshot_free(p->snap);
	evlog_close(p->log);
	free(p->dir);
	free(p);
}

struct evlog *persist_log(struct persist *p)
{
	return p->log;
}

const char *persist_dir(const struct persist *p)
{
	return p->dir;
}

static const char *field(struct json_object *o, const char *key)
{
	struct json_object *f;

	return json_object_object_get_ex(o, key, &f) ? json_object_get_string(f) : NULL;
}

/* One logged event back into its agent's state; events of agents no longer configured are skipped. */
static bool replay_one(const char *json, const struct agents_clock *now, statefile_find_fn find,
		       void *ctx)
{
	struct json_object *obj = json_tokener_parse(json), *agent;
	struct agent_state *st;
	struct event ev;
	bool ok = false;

	if (!obj || !json_object_object_get_ex(obj, "agent", &agent) ||
	    event_from_json(obj, &ev) < 0)
		goto out;
	ok = true;
	st = find(ctx, cfg_agent_key((uint32_t)atol(field(agent, "cc") ?: "0"),
				     (uint32_t)atol(field(agent, "vdn") ?: "0"),
				     (uint32_t)atol(field(agent, "id") ?: "0")));
	/* ev's strings point into obj: replayed before it goes. */
	if (st)
		agents_replay(st, &ev, now);
out:
	json_object_put(obj);
	return ok;
}

/* The log brings a state saved at seq up to date only while it holds every event after seq. */
static bool log_reaches(const struct persist *p, uint64_t seq)
{
	return evlog_first_seq(p->log) <= seq + 1 || evlog_next_seq(p->log) <= seq + 1;
}

/*
 * Loads dir/name: 0 when it was restored, 1 when there is none to use. A corrupt or unreadable
 * file is moved aside (kept for a post-mortem) and logged, then treated as missing.
 */
static int load_named(struct persist *p, const char *name, const struct agents_clock *now,
		      uint64_t *seq, statefile_find_fn find, void *ctx)
{
	char err[512], moved[PATH_MAX + 64];
	int r = statefile_load_named(p->dir, name, now, seq, find, ctx, err, sizeof(err));

	if (r >= 0)
		return r;
	if (statefile_set_aside(p->dir, name, moved, sizeof(moved)) == 0)
		log_err("%s; moved aside to %s", err, moved);
	else
		log_err("%s; cannot move it aside (%s)", err, strerror(errno));
	return 1;
}

/* Replays the logged events after seq into the agents' state. */
static void replay_after(struct persist *p, uint64_t seq, const struct agents_clock *now,
			 statefile_find_fn find, void *ctx, const char *from)
{
	uint64_t replayed = 0, bad = 0, at;
	struct evlog_cursor c = { .seq = seq + 1 };
	const char *json;
	size_t len;

	/* Not into c.seq: evlog_peek reads the cursor while it writes the seq it found, and the
	 * events before seq + 1 (older than the state file) would be replayed over it. */
	while (evlog_peek(p->log, &c, &json, &len, &at) == 1) {
		if (replay_one(json, now, find, ctx))
			replayed++;
		else
			bad++;
		evlog_advance(p->log, &c, at);
	}
	log_notice("restored agent state from %s (%s, %" PRIu64 " events replayed%s)", p->dir,
		   from, replayed, bad ? ", some unreadable" : "");
	if (bad)
		log_warn("%s: %" PRIu64 " logged events could not be read back", p->dir, bad);
}

/*
 * The state file, else the previous one, else the whole log from its first event: each is
 * brought up to date by the events logged after it. Only when neither file is usable and the log
 * no longer starts at event 1 (its oldest segments were trimmed, which happens once both files
 * are past them) is there nothing to rebuild the state from: then a fresh baseline, said so.
 */
void persist_restore(struct persist *p, statefile_find_fn find, void *ctx)
{
	const char *from = "state file";
	struct agents_clock now;
	uint64_t seq = 0;
	int r;

	if (!p->dir)
		return;
	agents_clock_read(&now);
	r = load_named(p, STATEFILE_NAME, &now, &seq, find, ctx);
	if (r == 1) {
		from = "previous state file " STATEFILE_PREVIOUS;
		r = load_named(p, STATEFILE_PREVIOUS, &now, &seq, find, ctx);
	}
	if (r == 1) {
		from = "no state file";
		seq = 0;
		if (!log_reaches(p, 0)) {
			log_err("%s: no usable state file, and the event log holds events from %" PRIu64
				" on only: it cannot rebuild the agents' state; starting from a fresh "
				"baseline (calls present now are reported again, as initial)", p->dir,
				evlog_first_seq(p->log));
			return;
		}
	} else {
		/* The log may have lost its newest segments: numbering never goes back below the save. */
		evlog_raise(p->log, seq + 1);
		if (!log_reaches(p, seq))
			log_warn("%s: the event log lacks events %" PRIu64 " to %" PRIu64 " after the "
				 "%s; calls that changed then may be reported again", p->dir, seq + 1,
				 evlog_first_seq(p->log) - 1, from);
	}
	replay_after(p, seq, &now, find, ctx, from);
	p->saved_seq = seq;
}

/*
 * On the writer thread: the file being replaced becomes the previous one first, so that if the
 * new one rots, the previous one plus the log after it still rebuilds the state.
 */
static int save_work(void *arg)
{
	struct save_job *j = arg;

	if (statefile_keep_previous(j->dir) < 0 && errno != ENOENT)
		return errno;
	return util_write_file_atomic(j->path, j->text, j->len, true) < 0 ? errno : 0;
}

/*
 * Segments are dropped only once the state file that makes them unneeded is on disk, and only
 * those that a replay from the file it replaced (now the previous one) does not need either:
 * that is the last save that succeeded, not the last one tried (a failed one replaced nothing).
 */
static void save_done(void *arg, int err)
{
	struct save_job *j = arg;
	struct persist *p = j->p;

	p->saves_in_flight--;
	if (err) {
		diskfail_failed(j->path, err);
	} else {
		diskfail_ok(j->path);
		evlog_trim(p->log, j->keep_from < p->saved_seq + 1 ? j->keep_from : p->saved_seq + 1);
		if (j->seq > p->saved_seq)
			p->saved_seq = j->seq;
	}
	free(j->dir);
	free(j->path);
	free(j->text);
	free(j);
}

static void submit_save(struct persist *p, uint64_t keep_from)
{
	struct save_job *j = xcalloc(1, sizeof(*j));

	j->p = p;
	j->dir = xstrdup(p->dir);
	j->path = xasprintf("%s/%s", p->dir, STATEFILE_NAME);
	j->seq = p->snap_seq;
	j->keep_from = keep_from;
	j->text = statefile_snapshot_end(p->snap, &j->len);
	p->snap = NULL;
	p->saves_in_flight++;
	if (!writer_submit(p->writer, save_work, save_done, j))
		save_done(j, save_work(j));
}

void persist_forget_states(struct persist *p)
{
	statefile_snapshot_free(p->snap);
	p->snap = NULL;
}

/* Adds agents to the snapshot for at most PERSIST_SLICE_US (all of them when force). */
static bool add_slice(struct persist *p, bool force)
{
	uint64_t until = util_now_monotonic_us() + PERSIST_SLICE_US;

	while (p->snap_next < p->snap_n) {
		statefile_snapshot_add(p->snap, p->snap_states[p->snap_next++]);
		if (!force && p->snap_next % 256 == 0 && util_now_monotonic_us() >= until)
			return false;
	}
	return true;
}

bool persist_save(struct persist *p, struct agent_state *const *states, size_t n,
		  uint64_t keep_from, bool force)
{
	uint64_t last = evlog_next_seq(p->log) - 1;
	uint64_t now = util_now_monotonic_us();

	evlog_sync(p->log);
	if (!p->dir)
		return false;
	if (p->snap && (states != p->snap_states || n != p->snap_n))
		persist_forget_states(p);
	if (!p->snap) {
		/* A slow disk still writing the last one: the next turn after it is done. */
		if (last == p->saved_seq || (!force && (p->saves_in_flight ||
							now - p->saved_at_us < PERSIST_SNAPSHOT_US)))
			return false;
		p->snap = statefile_snapshot_begin(last);
		p->snap_seq = last;
		p->snap_next = 0;
		p->snap_states = states;
		p->snap_n = n;
		p->saved_at_us = now;
	}
	if (!add_slice(p, force))
		return true;
	submit_save(p, keep_from);
	return false;
}
