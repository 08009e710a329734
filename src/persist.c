/* persist: the event log and the agents' state file together: restore at start, save as it runs. */
#include "config.h"

#include <inttypes.h>
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
static bool replay_one(const char *json, const struct agents_clock *now, statefile_find_fn find,
		       void *ctx)
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
		agents_replay(st, t, field(ev, "call_id"), first_us, now);
out:
	json_object_put(ev);
	return ok;
}

void persist_restore(struct persist *p, statefile_find_fn find, void *ctx)
{
	char err[512];
	uint64_t seq = 0, replayed = 0, bad = 0;
	struct evlog_cursor c = { 0 };
	const char *json;
	size_t len;
	struct agents_clock now;
	int r;

	if (!p->dir)
		return;
	agents_clock_read(&now);
	r = statefile_load(p->dir, &now, &seq, find, ctx, err, sizeof(err));
	if (r < 0) {
		log_warn("%s; starting from a fresh baseline", err);
		return;
	}
	/* Events logged after the save (all of them when there was none) bring the state up to date. */
	c.seq = seq + 1;
	while (evlog_peek(p->log, &c, &json, &len, &c.seq) == 1) {
		if (replay_one(json, &now, find, ctx))
			replayed++;
		else
			bad++;
		evlog_advance(p->log, &c, c.seq);
	}
	p->saved_seq = seq;
	log_notice("restored agent state from %s (%s, %" PRIu64 " events replayed%s)", p->dir,
		   r == 0 ? "state file" : "no state file", replayed, bad ? ", some unreadable" : "");
	if (bad)
		log_warn("%s: %" PRIu64 " logged events could not be read back", p->dir, bad);
}

void persist_save(struct persist *p, struct agent_state *const *states, size_t n,
		  uint64_t keep_from, bool force)
{
	uint64_t last = evlog_next_seq(p->log) - 1;
	uint64_t now = util_now_monotonic_us();

	evlog_sync(p->log);
	if (!p->dir || last == p->saved_seq || (!force && now - p->saved_at_us < PERSIST_SNAPSHOT_US))
		return;
	if (statefile_save(p->dir, last, states, n) < 0) {
		log_warn("%s/%s: cannot save: %m", p->dir, STATEFILE_NAME);
		return;
	}
	p->saved_seq = last;
	p->saved_at_us = now;
	evlog_trim(p->log, keep_from < last + 1 ? keep_from : last + 1);
}
