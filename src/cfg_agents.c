/* cfg_agents: the agents list (id, ids, range, name, labels), its duplicates, agent lookup. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cfg_impl.h"
#include "cfgcheck.h"
#include "util.h"

/* More agents than this is a typo in a range, not a contact center. */
#define AGENTS_MAX 1000000

/* Where an agentId may lie; AGENT_ID_RANGES (cfg_impl.h) is the same thing as text for messages. */
static const struct {
	long lo, hi;
} agent_id_ranges[] = { { 101, 59999 }, { 70000, 999999 } };

/* The daemon adds these to every event's labels. */
static const char *const reserved_labels[] = { "cc", "vdn", "agent", "name", "alertname",
					       "call_id" };

enum { AG_CC, AG_VDN, AG_ID, AG_IDS, AG_RANGE, AG_NAME, AG_LABELS, AG_N };
static const struct key agent_keys[] = {
	[AG_CC] = { .name = "cc", .kind = K_INT, .required = true,
		    .min = CFG_CC_MIN, .max = CFG_CC_MAX },
	[AG_VDN] = { .name = "vdn", .kind = K_INT, .required = true,
		     .min = CFG_VDN_MIN, .max = CFG_VDN_MAX },
	[AG_ID] = { .name = "id", .kind = K_AGENT_ID },
	[AG_IDS] = { .name = "ids", .kind = K_ARRAY },
	[AG_RANGE] = { .name = "range", .kind = K_ARRAY },
	[AG_NAME] = { .name = "name", .kind = K_STR, .max = CFG_NAME_MAX, AT(struct cfg_group, name) },
	[AG_LABELS] = { .name = "labels", .kind = K_GROUP },
};

bool cfg_agent_id_valid(long id)
{
	for (size_t i = 0; i < ARRAY_SIZE(agent_id_ranges); i++)
		if (id >= agent_id_ranges[i].lo && id <= agent_id_ranges[i].hi)
			return true;
	return false;
}

/* A range is valid when one interval holds both ends, so it cannot straddle the gap. */
static bool agent_range_valid(long lo, long hi)
{
	for (size_t i = 0; i < ARRAY_SIZE(agent_id_ranges); i++)
		if (lo >= agent_id_ranges[i].lo && hi <= agent_id_ranges[i].hi)
			return true;
	return false;
}

/* Prometheus label names (libconfig names also allow '-' and '*') that journald takes too. */
static const char *label_problem(const char *name, const char *value, char *buf, size_t size)
{
	const char *why;

	if ((why = cfgcheck_label_name(name, buf, size)))
		return why;
	if (cfg_in_list(name, reserved_labels, ARRAY_SIZE(reserved_labels), strcmp))
		return "is reserved: the daemon sets cc, vdn, agent, name, alertname and call_id itself";
	if (strlen(value) > CFG_NAME_MAX) {
		snprintf(buf, size, "is %zu bytes long: label values are at most %d bytes",
			 strlen(value), CFG_NAME_MAX);
		return buf;
	}
	return NULL;
}

/* The journal upper-cases label names: TEAM and team would be one field twice. */
static bool label_unique(struct ctx *c, const config_setting_t *m, const struct cfg_group *g)
{
	const char *name = config_setting_name(m);
	char field[CFG_LABEL_NAME_MAX + 1];
	size_t n;

	for (size_t i = 0; i < g->nlabels; i++) {
		if (strcasecmp(g->labels[i].key, name) != 0)
			continue;
		for (n = 0; name[n] && n + 1 < sizeof field; n++)
			field[n] = (char)toupper((unsigned char)name[n]);
		field[n] = '\0';
		cfg_bad(c, m, "and labels.%s are both the journal field " CFG_LABEL_PREFIX "%s: label "
			"names must differ in more than case", g->labels[i].key, field);
		return false;
	}
	return true;
}

static void parse_labels(struct ctx *c, const config_setting_t *s, struct cfg_group *g)
{
	const config_setting_t *m;

	g->labels = xcalloc((size_t)config_setting_length(s), sizeof *g->labels);
	for (int i = 0; i < config_setting_length(s); i++) {
		m = config_setting_get_elem(s, (unsigned)i);
		if (cfg_string_member(c, m, label_problem) && label_unique(c, m, g))
			g->labels[g->nlabels++] = (struct cfg_label){
				xstrdup(config_setting_name(m)), xstrdup(config_setting_get_string(m)) };
	}
}

/* A place that lists agents: an id, one element of ids, or a range. */
struct source {
	const config_setting_t *s;
	size_t group;
};

/* One agent as listed; the same agent may be listed by several sources. */
struct listing {
	uint64_t key;
	size_t src;		/* sources are numbered in file order, which breaks ties */
};

/* A later listing of an agent that first appears at source first. */
struct dup {
	size_t later, first, first_group;
	uint64_t key;
};

struct expansion {
	struct source *src;
	size_t nsrc, srccap;
	struct listing *list;
	size_t nlist, listcap;
	struct dup *dups;
	size_t ndups, dupcap;
	bool full;		/* AGENTS_MAX was passed and reported */
};

/* Records that setting s of group g lists agents base|lo .. base|hi. */
static void list_ids(struct ctx *c, struct expansion *x, const config_setting_t *s, size_t g,
		     uint64_t base, long lo, long hi)
{
	size_t n = (size_t)(hi - lo + 1);

	if (x->full || x->nlist + n > AGENTS_MAX) {
		if (!x->full)
			cfg_bad(c, s, "brings the number of agents over %d", AGENTS_MAX);
		x->full = true;
		return;
	}
	x->src = cfg_grow(x->src, &x->srccap, x->nsrc + 1, sizeof *x->src);
	x->src[x->nsrc] = (struct source){ s, g };
	x->list = cfg_grow(x->list, &x->listcap, x->nlist + n, sizeof *x->list);
	for (long id = lo; id <= hi; id++)
		x->list[x->nlist++] = (struct listing){ base | (uint64_t)id, x->nsrc };
	x->nsrc++;
}

/* The ends of a range = [first, last], or false when they were reported as wrong. */
static bool range_ends(struct ctx *c, const config_setting_t *s, long *lo, long *hi)
{
	const config_setting_t *first, *last;
	bool ok;

	if (config_setting_length(s) != 2) {
		cfg_bad(c, s, "must be [first, last]");
		return false;
	}
	first = config_setting_get_elem(s, 0);
	last = config_setting_get_elem(s, 1);
	/* Both ends are checked, to report both when both are wrong. */
	ok = cfg_take(c, first, &agent_keys[AG_ID], NULL);
	if (!cfg_take(c, last, &agent_keys[AG_ID], NULL) || !ok)
		return false;
	*lo = (long)cfg_integer(c, first);
	*hi = (long)cfg_integer(c, last);
	if (*lo > *hi) {
		cfg_bad(c, s, "[%ld, %ld] is reversed: its first id must not exceed its last", *lo, *hi);
		return false;
	}
	if (!agent_range_valid(*lo, *hi)) {
		cfg_bad(c, s, "[%ld, %ld] includes ids out of range " AGENT_ID_RANGES, *lo, *hi);
		return false;
	}
	return true;
}

static size_t count_present(const config_setting_t *s, const char *const *names, size_t n)
{
	size_t count = 0;

	for (size_t i = 0; i < n; i++)
		count += config_setting_get_member(s, names[i]) != NULL;
	return count;
}

/* ids = [ ... ]: each element is a source of its own; base is NULL when cc or vdn is wrong. */
static void list_each_id(struct ctx *c, const config_setting_t *ids, size_t gi,
			 const uint64_t *base, struct expansion *x)
{
	const config_setting_t *e;
	long id;

	if (config_setting_length(ids) == 0)
		cfg_bad(c, ids, "is empty");
	for (int i = 0; i < config_setting_length(ids); i++) {
		e = config_setting_get_elem(ids, (unsigned)i);
		if (cfg_take(c, e, &agent_keys[AG_ID], NULL) && base) {
			id = (long)cfg_integer(c, e);
			list_ids(c, x, e, gi, *base, id, id);
		}
	}
}

/* One entry of the agents list; its agents are listed in x when cc, vdn and ids are valid. */
static void parse_group(struct ctx *c, const config_setting_t *s, size_t gi, struct cfg_group *g,
			struct expansion *x)
{
	static const char *const ways[] = { "id", "ids", "range" };
	const config_setting_t *f[AG_N], *e;
	size_t ways_given = count_present(s, ways, ARRAY_SIZE(ways));
	uint64_t base = 0;
	bool listable;
	long lo, hi;

	g->line = (int)cfg_setting_line(s);
	cfg_check_group(c, s, agent_keys, AG_N, g, f);
	if (ways_given != 1)
		cfg_bad(c, s, ways_given ? "must have only one of id, ids and range"
					 : "needs one of id, ids or range");
	if ((e = config_setting_get_member(s, "name")) && !config_setting_get_member(s, "id"))
		cfg_bad(c, e, "is only allowed with a single id");
	if (f[AG_LABELS])
		parse_labels(c, f[AG_LABELS], g);
	listable = ways_given == 1 && f[AG_CC] && f[AG_VDN];
	if (listable)
		base = cfg_agent_key((uint32_t)cfg_integer(c, f[AG_CC]),
				     (uint32_t)cfg_integer(c, f[AG_VDN]), 0);
	if (f[AG_ID] && listable) {
		lo = (long)cfg_integer(c, f[AG_ID]);
		list_ids(c, x, f[AG_ID], gi, base, lo, lo);
	}
	if (f[AG_IDS])
		list_each_id(c, f[AG_IDS], gi, listable ? &base : NULL, x);
	if (f[AG_RANGE] && range_ends(c, f[AG_RANGE], &lo, &hi) && listable)
		list_ids(c, x, f[AG_RANGE], gi, base, lo, hi);
}

static int listing_cmp(const void *a, const void *b)
{
	const struct listing *x = a, *y = b;

	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return (x->src > y->src) - (x->src < y->src);
}

/* Duplicates of one source against one earlier group are reported together, lowest id first. */
static int dup_cmp(const void *a, const void *b)
{
	const struct dup *x = a, *y = b;

	if (x->later != y->later)
		return x->later < y->later ? -1 : 1;
	if (x->first_group != y->first_group)
		return x->first_group < y->first_group ? -1 : 1;
	return (x->key > y->key) - (x->key < y->key);
}

static struct cfg_agent agent_of(uint64_t key, const struct cfg_group *group)
{
	return (struct cfg_agent){ (uint32_t)(key >> 40), (uint32_t)(key >> 24 & 0xffff),
				   (uint32_t)(key & 0xffffff), group };
}

static void report_dups(struct ctx *c, const struct expansion *x, const struct dup *d, size_t more)
{
	const config_setting_t *later = x->src[d->later].s, *first = x->src[d->first].s;
	struct cfg_agent a = agent_of(d->key, NULL);
	const char *lf = config_setting_source_file(later), *ff = config_setting_source_file(first);
	char *file = NULL, extra[48] = "";

	/* The earlier line is enough when both are in the same file. */
	if (lf != ff && (!lf || !ff || strcmp(lf, ff) != 0))
		file = cfg_source_name(c, ff);
	if (more)
		snprintf(extra, sizeof extra, " and %zu more", more);
	cfg_error_at(c, later, "agent %u:%u:%u is listed twice (first at %s%s%u)%s", a.cc, a.vdn, a.id,
		     file ? file : "line ", file ? ":" : "", cfg_setting_line(first), extra);
	free(file);
}

static void add_dup(struct expansion *x, const struct listing *later, const struct listing *first)
{
	x->dups = cfg_grow(x->dups, &x->dupcap, x->ndups + 1, sizeof *x->dups);
	x->dups[x->ndups++] = (struct dup){ later->src, first->src, x->src[first->src].group,
					    first->key };
}

/* Sorts the listings, keeps the first listing of each agent and reports the others. */
static void finish_agents(struct ctx *c, struct expansion *x, struct cfg *cfg)
{
	const struct listing *l = x->list;
	size_t i, j;

	if (x->nlist)
		qsort(x->list, x->nlist, sizeof *x->list, listing_cmp);
	cfg->agents = xcalloc(x->nlist, sizeof *cfg->agents);
	for (i = 0; i < x->nlist; i = j) {
		/* A group that lists an agent more than once is told so once. */
		for (j = i + 1; j < x->nlist && l[j].key == l[i].key; j++)
			if (j == i + 1 || x->src[l[j].src].group != x->src[l[j - 1].src].group)
				add_dup(x, &l[j], &l[i]);
		cfg->agents[cfg->nagents++] = agent_of(l[i].key, &cfg->groups[x->src[l[i].src].group]);
	}
	/* Overlapping ranges would otherwise give one line per agent. */
	if (x->ndups)
		qsort(x->dups, x->ndups, sizeof *x->dups, dup_cmp);
	for (i = 0; i < x->ndups; i = j) {
		for (j = i + 1; j < x->ndups && x->dups[j].later == x->dups[i].later &&
		     x->dups[j].first_group == x->dups[i].first_group; j++)
			;
		report_dups(c, x, &x->dups[i], j - i - 1);
	}
}

void cfg_parse_agents(struct ctx *c, const config_setting_t *list, struct cfg *cfg)
{
	struct expansion x = { 0 };
	const config_setting_t *g;
	int n = config_setting_length(list);

	if (n == 0) {
		cfg_bad(c, list, "is empty: list at least one agent");
		return;
	}
	cfg->groups = xcalloc((size_t)n, sizeof *cfg->groups);
	for (int i = 0; i < n; i++) {
		g = config_setting_get_elem(list, (unsigned)i);
		if (cfg_is_kind(c, g, K_GROUP)) {
			parse_group(c, g, cfg->ngroups, &cfg->groups[cfg->ngroups], &x);
			cfg->ngroups++;
		}
	}
	finish_agents(c, &x, cfg);
	free(x.src);
	free(x.list);
	free(x.dups);
}

static int agent_key_cmp(const void *key, const void *elem)
{
	const struct cfg_agent *a = elem;
	uint64_t k = *(const uint64_t *)key, ak = cfg_agent_key(a->cc, a->vdn, a->id);

	return (k > ak) - (k < ak);
}

const struct cfg_agent *cfg_find_agent(const struct cfg *cfg, uint32_t cc, uint32_t vdn, uint32_t id)
{
	uint64_t key;

	/* Out-of-range parts would spill into each other's bits of the key. */
	if (cc > CFG_CC_MAX || vdn > CFG_VDN_MAX || !cfg_agent_id_valid(id))
		return NULL;
	key = cfg_agent_key(cc, vdn, id);
	return bsearch(&key, cfg->agents, cfg->nagents, sizeof *cfg->agents, agent_key_cmp);
}
