/* poller: the watched agents, their poll units on the schedule, the requests, results dispatched to agents. */
#include "config.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "pollunit.h"
#include "poller.h"
#include "util.h"

/* Things a batch answer says again at every poll are logged at most this often. */
#define UNASKED_LOG_PERIOD_US (60 * 1000000ull)

/* One agent; a heap object, so that a request under way can name it across a reload. */
struct watched {
	struct agent_state state;
	uint32_t refs;		/* requests under way that name it */
	bool calls_busy;	/* named by a calls request under way: no second one until it ends */
	bool state_busy;	/* the same for state requests */
	bool removed;		/* dropped by a reload; freed when refs comes to 0 */
};

struct request;

/* One recurring request; its agents are agents[spec.first ..] of the current configuration. */
struct unit {
	struct poller *p;
	struct pollunit_spec spec;
	struct sched_entry entry;
	struct request *req;	/* under way, or NULL */
};

/* A request under way, with its own list of agents: a reload may rebuild the units meanwhile. */
struct request {
	struct poller *p;
	struct unit *unit;	/* NULL once a reload or fallback dropped it */
	enum cms_api api;
	uint32_t cc, vdn;
	struct watched **agents;
	uint32_t *ids;
	size_t n;
	uint64_t started_us;	/* CLOCK_MONOTONIC */
};

/* A set of (cc, vdn) groups, sorted. */
struct groups {
	uint64_t *keys;
	size_t n;
};

struct poller {
	struct cms_client *cms;
	struct sched *sched;
	const struct agents_rules *rules;
	struct poller_callbacks cb;
	void *ctx;
	const struct cfg *cfg;
	struct watched **agents;	/* in cfg->agents order, sorted by key */
	struct agent_state **states;	/* the same order, for the state file and the API */
	size_t nagents;
	struct unit **units;		/* in pollunit identity order */
	size_t nunits;
	struct groups fallen_back;	/* auto: batch path 404, polled per agent (kept across reloads) */
	struct groups state_off;	/* state path refused */
	bool stopping;
	uint64_t unasked_logged_us;
	uint64_t entries_logged_us;	/* the last summary of failed entries */
	struct poller_stats stats;
};

/* ---- groups ---- */

static uint64_t group_key(uint32_t cc, uint32_t vdn)
{
	return (uint64_t)cc << 32 | vdn;
}

static int compare_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static bool groups_has(const struct groups *g, uint32_t cc, uint32_t vdn)
{
	uint64_t k = group_key(cc, vdn);

	return g->n && bsearch(&k, g->keys, g->n, sizeof(k), compare_u64);
}

/* Adds (cc, vdn); false when it was there already. */
static bool groups_add(struct groups *g, uint32_t cc, uint32_t vdn)
{
	if (groups_has(g, cc, vdn))
		return false;
	g->keys = xreallocarray(g->keys, g->n + 1, sizeof(g->keys[0]));
	g->keys[g->n++] = group_key(cc, vdn);
	qsort(g->keys, g->n, sizeof(g->keys[0]), compare_u64);
	return true;
}

static bool is_fallen_back(void *ctx, uint32_t cc, uint32_t vdn)
{
	return groups_has(&((struct poller *)ctx)->fallen_back, cc, vdn);
}

static bool is_state_off(void *ctx, uint32_t cc, uint32_t vdn)
{
	return groups_has(&((struct poller *)ctx)->state_off, cc, vdn);
}

/* ---- agents ---- */

static uint64_t watched_key(const struct watched *w)
{
	return cfg_agent_key(w->state.cfg->cc, w->state.cfg->vdn, w->state.cfg->id);
}

static void watched_unref(struct watched *w)
{
	if (--w->refs == 0 && w->removed) {
		agents_state_clear(&w->state);
		free(w);
	}
}

static void watched_drop(struct watched *w)
{
	w->removed = true;
	w->refs++;
	watched_unref(w);
}

/* ---- units ---- */

static void unit_drop(struct poller *p, struct unit *u)
{
	sched_remove(p->sched, &u->entry);
	if (u->req)
		u->req->unit = NULL;	/* its request ends without a next deadline */
	free(u);
}

static struct unit *unit_new(struct poller *p, const struct pollunit_spec *spec)
{
	struct unit *u = xcalloc(1, sizeof(*u));

	u->p = p;
	u->spec = *spec;
	/* A per-agent unit keeps 1.0's phase, the hash of the agent's key. */
	u->entry.key = cfg_agent_key(spec->cc, spec->vdn, spec->kind == POLLUNIT_AGENT ? spec->index : 0);
	u->entry.phased = spec->kind != POLLUNIT_AGENT;
	u->entry.phase = spec->phase;
	u->entry.heap_pos = SCHED_NOT_QUEUED;
	sched_add(p->sched, &u->entry);
	return u;
}

/*
 * The units the configuration and the groups' marks call for, merged with the current ones in
 * one walk: a unit of the same identity stays with its deadline (and any request under way),
 * others go, new ones start at the next slot of their phase, so nothing bursts.
 */
static void rebuild_units(struct poller *p)
{
	struct pollunit_params params = {
		.batch = p->cfg->cms.api != CFG_API_AGENT, .batch_size = (size_t)p->cfg->cms.batch_size,
		/* batch_size caps state requests too: one 6000-agent answer held the loop for
		   60 ms (bench/README.md, "Batch polling with agent state"). */
		.state = p->cfg->poll.agent_state, .state_size = (size_t)p->cfg->cms.batch_size,
		/* Remembered in any mode, used in auto only: "batch" means batch. */
		.per_agent = p->cfg->cms.api == CFG_API_AUTO ? is_fallen_back : NULL,
		.state_off = is_state_off, .ctx = p,
	};
	struct pollunit_spec *specs;
	size_t nspecs = pollunit_plan(p->cfg->agents, p->cfg->nagents, &params, &specs), o = 0;
	struct unit **next = xcalloc(nspecs ? nspecs : 1, sizeof(*next));

	for (size_t n = 0; n < nspecs; n++) {
		while (o < p->nunits && pollunit_compare(&p->units[o]->spec, &specs[n]) < 0)
			unit_drop(p, p->units[o++]);
		if (o < p->nunits && pollunit_compare(&p->units[o]->spec, &specs[n]) == 0) {
			next[n] = p->units[o++];
			next[n]->spec = specs[n];
		} else {
			next[n] = unit_new(p, &specs[n]);
		}
	}
	while (o < p->nunits)
		unit_drop(p, p->units[o++]);
	free(p->units);
	free(specs);
	p->units = next;
	p->nunits = nspecs;
}

/* Both agent lists are sorted by key: one merge walk keeps the state of agents that stay. */
static void rebind_agents(struct poller *p, const struct cfg *cfg)
{
	struct watched **next = xcalloc(cfg->nagents ? cfg->nagents : 1, sizeof(*next));
	size_t o = 0;

	for (size_t n = 0; n < cfg->nagents; n++) {
		const struct cfg_agent *a = &cfg->agents[n];
		uint64_t key = cfg_agent_key(a->cc, a->vdn, a->id);

		while (o < p->nagents && watched_key(p->agents[o]) < key)
			watched_drop(p->agents[o++]);
		if (o < p->nagents && watched_key(p->agents[o]) == key) {
			next[n] = p->agents[o++];
			next[n]->state.cfg = a;
		} else {
			next[n] = xcalloc(1, sizeof(*next[n]));
			agents_state_init(&next[n]->state, a);
		}
	}
	while (o < p->nagents)
		watched_drop(p->agents[o++]);
	free(p->agents);
	p->agents = next;
	p->nagents = cfg->nagents;
	p->states = xreallocarray(p->states, p->nagents ? p->nagents : 1, sizeof(p->states[0]));
	for (size_t i = 0; i < p->nagents; i++)
		p->states[i] = &p->agents[i]->state;
}

/* ---- requests ---- */

static bool *busy_flag(struct watched *w, enum cms_api api)
{
	return api == CMS_API_STATE ? &w->state_busy : &w->calls_busy;
}

static enum cms_api unit_api(const struct unit *u)
{
	static const enum cms_api apis[] = {
		[POLLUNIT_AGENT] = CMS_API_AGENT, [POLLUNIT_BATCH] = CMS_API_BATCH,
		[POLLUNIT_STATE] = CMS_API_STATE,
	};
	return apis[u->spec.kind];
}

static void request_free(struct request *req)
{
	for (size_t i = 0; i < req->n; i++) {
		*busy_flag(req->agents[i], req->api) = false;
		watched_unref(req->agents[i]);
	}
	free(req->agents);
	free(req->ids);
	free(req);
}

/* Whether a line rate-limited by *last_us may go out now; if so, now is its time. */
static bool log_due(uint64_t *last_us)
{
	uint64_t now = util_now_monotonic_us();

	if (*last_us && now - *last_us < UNASKED_LOG_PERIOD_US)
		return false;
	*last_us = now;
	return true;
}

static void log_unasked(struct poller *p, const struct request *req, const struct replybatch *b)
{
	p->stats.unasked += b->unasked;
	if (!b->unasked || !log_due(&p->unasked_logged_us))
		return;
	log_warn("%s of %u:%u: the CMS answered for %zu agent%s not asked (agentId %u first); "
		 "ignored (%llu so far, said at most once a minute)",
		 req->api == CMS_API_STATE ? "agent states" : "calls", req->cc, req->vdn, b->unasked,
		 b->unasked == 1 ? "" : "s", b->first_unasked, (unsigned long long)p->stats.unasked);
}

/* A failed entry of a successful batch answer: none at all, or an error in its place. */
static enum poller_result entry_failure(const void *entry)
{
	return entry ? POLLER_ENTRY_ERROR : POLLER_ABSENT;
}

/*
 * The entries of one batch answer that failed (absent, or an error of their own): a CMS that
 * leaves out or garbles thousands of agents at every poll must not write thousands of lines an
 * interval, so one answer's failures make one line, at most once a minute; the agents' own
 * agent.unreachable events carry each reason.
 */
struct bad_entries {
	size_t n;
	uint32_t first;
	const char *reason;	/* the first's; borrowed from the answer */
};

static void bad_entry(struct bad_entries *bad, uint32_t id, const char *reason)
{
	if (bad->n++ == 0) {
		bad->first = id;
		bad->reason = reason;
	}
}

static void log_bad_entries(struct poller *p, const struct request *req,
			    const struct bad_entries *bad)
{
	if (!bad->n || !log_due(&p->entries_logged_us))
		return;
	log_info("%s of %u:%u: %zu of the %zu agents asked failed in the answer (agent %u first: "
		 "%s); said at most once a minute", req->api == CMS_API_STATE ? "agent states" : "calls",
		 req->cc, req->vdn, bad->n, req->n, bad->first, bad->reason);
}

static void agent_failed(struct poller *p, struct watched *w, enum poller_result result,
			 const char *reason, const struct agents_clock *now, bool log)
{
	const struct cfg_agent *a = w->state.cfg;

	p->stats.calls_by[result]++;
	if (log)
		log_info("agent %u:%u:%u: %s", a->cc, a->vdn, a->id, reason);
	agents_on_failure(&w->state, reason, now, p->rules, p->cb.emit, p->ctx);
}

static void agent_succeeded(struct poller *p, struct watched *w, const struct reply_call *calls,
			    size_t ncalls, const struct agents_clock *now)
{
	p->stats.calls_by[POLLER_OK]++;
	agents_on_success(&w->state, calls, ncalls, now, p->rules, p->cb.emit, p->ctx);
}

/* A calls answer (per agent or batch) to every agent asked that is still watched. */
static void dispatch_calls(struct poller *p, struct request *req, const struct cms_result *res,
			   const struct agents_clock *now)
{
	bool ok = res->status == CMS_OK;
	struct bad_entries bad = { 0 };

	if (!ok && req->api == CMS_API_BATCH)
		log_info("calls of %u:%u (%zu agents): %s", req->cc, req->vdn, req->n, res->reason);
	if (ok && res->batch)
		log_unasked(p, req, res->batch);
	for (size_t i = 0; i < req->n; i++) {
		struct watched *w = req->agents[i];
		const struct replybatch_calls *entry;
		const char *reason;

		if (w->removed)
			continue;
		if (!ok) {
			agent_failed(p, w, POLLER_REQUEST_FAILED, res->reason, now,
				     req->api == CMS_API_AGENT);
		} else if (!res->batch) {
			agent_succeeded(p, w, res->reply->calls, res->reply->ncalls, now);
		} else if (pollunit_calls_of(res->batch, req->ids[i], &entry, &reason)) {
			agent_succeeded(p, w, entry->calls, entry->ncalls, now);
		} else {
			agent_failed(p, w, entry_failure(entry), reason, now, false);
			bad_entry(&bad, req->ids[i], reason);
		}
	}
	log_bad_entries(p, req, &bad);
}

/* A state answer: only agents.on_state; a failure is logged and counted, never unreachable. */
static void dispatch_states(struct poller *p, struct request *req, const struct cms_result *res,
			    const struct agents_clock *now)
{
	struct bad_entries bad = { 0 };
	bool long_state_ended = false;

	if (res->status != CMS_OK) {
		p->stats.state_by[POLLER_REQUEST_FAILED] += req->n;
		log_info("agent states of %u:%u (%zu agents): %s", req->cc, req->vdn, req->n,
			 res->reason);
		return;
	}
	log_unasked(p, req, res->batch);
	for (size_t i = 0; i < req->n; i++) {
		struct watched *w = req->agents[i];
		const struct replybatch_state *entry;
		const char *reason;

		if (w->removed)
			continue;
		if (pollunit_state_of(res->batch, req->ids[i], &entry, &reason)) {
			p->stats.state_by[POLLER_OK]++;
			long_state_ended |= agents_on_state(&w->state, entry, now, p->rules,
							    p->cb.emit, p->ctx);
		} else {
			p->stats.state_by[entry_failure(entry)]++;
			bad_entry(&bad, req->ids[i], reason);
		}
	}
	log_bad_entries(p, req, &bad);
	if (long_state_ended && p->cb.long_state_ended)
		p->cb.long_state_ended(p->ctx);
}

/*
 * auto: a 404 on the batch path means this CMS has no batch interface for the group: it goes
 * per agent, said once; the 404 is no failed poll of its agents. A state path answered with 404
 * or a refusing resultCode turns state polling off for the group. Returns true when the units
 * must be rebuilt.
 */
static bool refused(struct poller *p, const struct request *req, const struct cms_result *res)
{
	if (req->api == CMS_API_BATCH && res->http_status == 404 &&
	    p->cfg->cms.api == CFG_API_AUTO) {
		if (groups_add(&p->fallen_back, req->cc, req->vdn))
			log_notice("%u:%u: the CMS has no batch interface (HTTP 404 on %s); polling "
				   "its agents one request each", req->cc, req->vdn, CMS_PATH_BATCH);
		return true;
	}
	if (req->api == CMS_API_STATE && (res->http_status == 404 || res->refused)) {
		if (groups_add(&p->state_off, req->cc, req->vdn))
			log_notice("%u:%u: the CMS refuses the agent state interface (%s); agent state "
				   "polling is off for it", req->cc, req->vdn, res->reason);
		return true;
	}
	return false;
}

static void on_request_done(void *userdata, const struct cms_result *res)
{
	struct request *req = userdata;
	struct poller *p = req->p;
	uint64_t mono = util_now_monotonic_us();
	bool rebuild = false;

	if (res->status != CMS_ERR_CANCELLED) {
		struct agents_clock now;

		agents_clock_read(&now);
		p->stats.requests[req->api]++;
		p->stats.requests_failed[req->api] += res->status != CMS_OK;
		rebuild = refused(p, req, res);
		if (req->api == CMS_API_STATE)
			dispatch_states(p, req, res, &now);
		else if (!rebuild)
			dispatch_calls(p, req, res, &now);
		if (req->unit && !p->stopping)
			sched_done(p->sched, &req->unit->entry, res->status == CMS_OK, res->retry_after);
	}
	if (req->unit)
		req->unit->req = NULL;
	if (rebuild)
		rebuild_units(p);
	p->cb.done(p->ctx, req->api, res, (double)(mono - req->started_us) / 1e6);
	request_free(req);
	sched_kick(p->sched);
}

static bool can_start(void *ctx)
{
	struct poller *p = ctx;

	return cms_client_has_capacity(p->cms);
}

/*
 * The unit's agents that are not in a request of the same kind already (a reload may have moved
 * one from a batch under way): a slot with none left is skipped.
 */
static void start_unit(void *ctx, struct sched_entry *entry, uint64_t late_us)
{
	struct poller *p = ctx;
	struct unit *u = (struct unit *)((char *)entry - offsetof(struct unit, entry));
	struct request *req = xcalloc(1, sizeof(*req));

	(void)late_us;
	req->p = p;
	req->unit = u;
	req->api = unit_api(u);
	req->cc = u->spec.cc;
	req->vdn = u->spec.vdn;
	req->agents = xcalloc(u->spec.n, sizeof(req->agents[0]));
	req->ids = xcalloc(u->spec.n, sizeof(req->ids[0]));
	for (size_t i = 0; i < u->spec.n; i++) {
		struct watched *w = p->agents[u->spec.first + i];

		if (*busy_flag(w, req->api))
			continue;
		*busy_flag(w, req->api) = true;
		w->refs++;
		req->ids[req->n] = w->state.cfg->id;
		req->agents[req->n++] = w;
	}
	if (req->n == 0) {
		request_free(req);
		sched_done(p->sched, entry, true, 0);
		return;
	}
	u->req = req;
	req->started_us = util_now_monotonic_us();
	if (req->api == CMS_API_AGENT)
		cms_poll(p->cms, req->agents[0]->state.cfg, on_request_done, req);
	else
		cms_poll_batch(p->cms, req->api, req->cc, req->vdn, req->ids, req->n,
			       on_request_done, req);
}

/* ---- public ---- */

struct poller *poller_new(sd_event *event, struct cms_client *cms, const struct agents_rules *rules,
			  const struct poller_callbacks *cb, void *ctx)
{
	static const struct sched_callbacks callbacks = { can_start, start_unit };
	struct sched_settings s = { 5, 60, 0 };	/* until poller_configure */
	struct poller *p = xcalloc(1, sizeof(*p));

	p->cms = cms;
	p->rules = rules;
	p->cb = *cb;
	p->ctx = ctx;
	p->sched = sched_new(event, &s, &callbacks, p);
	return p;
}

void poller_configure(struct poller *p, const struct cfg *cfg)
{
	struct sched_settings s = { cfg->poll.interval, cfg->poll.backoff_max, cfg->cms.max_rate };

	sched_configure(p->sched, &s);
	rebind_agents(p, cfg);
	p->cfg = cfg;
	rebuild_units(p);
}

void poller_stop(struct poller *p)
{
	p->stopping = true;
	sched_stop(p->sched);
}

void poller_free(struct poller *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nunits; i++)
		unit_drop(p, p->units[i]);
	for (size_t i = 0; i < p->nagents; i++)
		watched_drop(p->agents[i]);
	free(p->units);
	free(p->agents);
	free(p->states);
	free(p->fallen_back.keys);
	free(p->state_off.keys);
	sched_free(p->sched);
	free(p);
}

struct agent_state **poller_states(const struct poller *p, size_t *n)
{
	*n = p->nagents;
	return p->states;
}

static int compare_key(const void *key, const void *elem)
{
	uint64_t k = *(const uint64_t *)key, e = watched_key(*(struct watched *const *)elem);

	return k < e ? -1 : k > e;
}

struct agent_state *poller_find_state(const struct poller *p, uint64_t key)
{
	struct watched **w = p->nagents ? bsearch(&key, p->agents, p->nagents, sizeof(p->agents[0]),
						  compare_key) : NULL;

	return w ? &(*w)->state : NULL;
}

const struct poller_stats *poller_get_stats(const struct poller *p)
{
	return &p->stats;
}

struct sched *poller_sched(const struct poller *p)
{
	return p->sched;
}
