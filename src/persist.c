/* persist: the event log and the agents' state file together: restore at start, save as it runs. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "persist.h"
#include "util.h"

struct persist {
	char *dir;
	struct evlog *log;
	uint64_t saved_seq;	/* the last event the state file reflects */
	uint64_t prev_seq;	/* ... and the previous state file: the log is kept from here on */
	uint64_t saved_at_us;
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

void persist_close(struct persist *p)
{
	if (!p)
		return;
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
static bool replay_one(const char *json, statefile_find_fn find, void *ctx)
{
	struct json_object *ev = json_tokener_parse(json), *agent;
	const char *type, *first = NULL;
	uint64_t first_us = 0;
	struct agent_state *st = NULL;
	enum event_type t;
	bool ok = false;

	if (!ev || !json_object_object_get_ex(ev, "agent", &agent) || !(type = field(ev, "type")) ||
	    (t = event_type_from_name(type)) == EVENT_TYPE_COUNT)
		goto out;
	if (field(ev, "call_id") && (!(first = field(ev, "call_first_seen")) ||
				     util_parse_time(first, &first_us) < 0))
		goto out;
	ok = true;
	st = find(ctx, cfg_agent_key((uint32_t)atol(field(agent, "cc") ?: "0"),
				     (uint32_t)atol(field(agent, "vdn") ?: "0"),
				     (uint32_t)atol(field(agent, "id") ?: "0")));
	if (st)
		agents_replay(st, t, field(ev, "call_id"), first_us);
out:
	json_object_put(ev);
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
static int load_named(struct persist *p, const char *name, uint64_t *seq, statefile_find_fn find,
		      void *ctx)
{
	char err[512], moved[PATH_MAX + 64];
	int r = statefile_load_named(p->dir, name, seq, find, ctx, err, sizeof(err));

	if (r >= 0)
		return r;
	if (statefile_set_aside(p->dir, name, moved, sizeof(moved)) == 0)
		log_err("%s; moved aside to %s", err, moved);
	else
		log_err("%s; cannot move it aside (%s)", err, strerror(errno));
	return 1;
}

/* Replays the logged events after seq into the agents' state. */
static void replay_after(struct persist *p, uint64_t seq, statefile_find_fn find, void *ctx,
			 const char *from)
{
	uint64_t replayed = 0, bad = 0;
	struct evlog_cursor c = { .seq = seq + 1 };
	const char *json;
	size_t len;

	while (evlog_peek(p->log, &c, &json, &len, &c.seq) == 1) {
		if (replay_one(json, find, ctx))
			replayed++;
		else
			bad++;
		evlog_advance(p->log, &c, c.seq);
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
	uint64_t seq = 0;
	int r;

	if (!p->dir)
		return;
	r = load_named(p, STATEFILE_NAME, &seq, find, ctx);
	if (r == 1) {
		from = "previous state file " STATEFILE_PREVIOUS;
		r = load_named(p, STATEFILE_PREVIOUS, &seq, find, ctx);
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
	} else if (!log_reaches(p, seq)) {
		log_warn("%s: the event log lacks events %" PRIu64 " to %" PRIu64 " after the %s; "
			 "calls that changed then may be reported again", p->dir, seq + 1,
			 evlog_first_seq(p->log) - 1, from);
	}
	replay_after(p, seq, find, ctx, from);
	p->saved_seq = seq;
}

void persist_save(struct persist *p, struct agent_state *const *states, size_t n,
		  uint64_t keep_from, bool force)
{
	uint64_t last = evlog_next_seq(p->log) - 1;
	uint64_t now = util_now_monotonic_us();

	evlog_sync(p->log);
	if (!p->dir || last == p->saved_seq || (!force && now - p->saved_at_us < PERSIST_SNAPSHOT_US))
		return;
	if (statefile_keep_previous(p->dir) < 0 && errno != ENOENT)
		log_warn("%s/%s: %m", p->dir, STATEFILE_PREVIOUS);
	/* Whatever the previous file now holds, the log keeps what a replay from it needs. */
	p->prev_seq = p->saved_seq;
	if (statefile_save(p->dir, last, states, n) < 0) {
		log_warn("%s/%s: cannot save: %m", p->dir, STATEFILE_NAME);
		return;
	}
	p->saved_seq = last;
	p->saved_at_us = now;
	evlog_trim(p->log, keep_from < p->prev_seq + 1 ? keep_from : p->prev_seq + 1);
}
