/* alertmgr: events turned into Prometheus Alertmanager alerts that fire and resolve. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alertmgr.h"
#include "util.h"

static const char *str_field(struct json_object *o, const char *key)
{
	struct json_object *f;

	if (!json_object_object_get_ex(o, key, &f) || !json_object_is_type(f, json_type_string))
		return NULL;
	return json_object_get_string(f);
}

/* An event field of any scalar type as text ("rest", or "12" for a state without a name). */
static const char *any_field(struct json_object *o, const char *key)
{
	struct json_object *f;

	return json_object_object_get_ex(o, key, &f) && f ? json_object_get_string(f) : NULL;
}

/*
 * Labels: alertname, cc, vdn, agent, name, call_id (AgentLongCall), state (AgentLongState), then
 * the agent's labels, but none that would replace one of the daemon's ("state" may be a label).
 */
static struct json_object *make_labels(const char *alertname, struct json_object *event,
				       struct json_object *agent, const char *call_id)
{
	struct json_object *labels = json_object_new_object(), *f, *extra;
	static const char *const ids[][2] = { { "cc", "cc" }, { "vdn", "vdn" }, { "id", "agent" } };

	json_object_object_add(labels, "alertname", json_object_new_string(alertname));
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++)
		if (json_object_object_get_ex(agent, ids[i][0], &f))
			json_object_object_add(labels, ids[i][1],
					       json_object_new_string(json_object_get_string(f)));
	if (str_field(agent, "name"))
		json_object_object_add(labels, "name", json_object_new_string(str_field(agent, "name")));
	if (call_id)
		json_object_object_add(labels, "call_id", json_object_new_string(call_id));
	if (strcmp(alertname, "AgentLongState") == 0 && any_field(event, "state"))
		json_object_object_add(labels, "state",
				       json_object_new_string(any_field(event, "state")));
	if (json_object_object_get_ex(agent, "labels", &extra) &&
	    json_object_is_type(extra, json_type_object)) {
		json_object_object_foreach(extra, k, v)
			if (json_object_is_type(v, json_type_string) &&
			    !json_object_object_get_ex(labels, k, NULL))
				json_object_object_add(labels, k, json_object_get(v));
	}
	return labels;
}

static char *alert_key(const char *alertname, struct json_object *agent, const char *call_id)
{
	struct json_object *cc = NULL, *vdn = NULL, *id = NULL;

	json_object_object_get_ex(agent, "cc", &cc);
	json_object_object_get_ex(agent, "vdn", &vdn);
	json_object_object_get_ex(agent, "id", &id);
	return xasprintf("%s|%s:%s:%s|%s", alertname, json_object_get_string(cc),
			 json_object_get_string(vdn), json_object_get_string(id),
			 call_id ? call_id : "");
}

static char *who(struct json_object *agent)
{
	struct json_object *cc = NULL, *vdn = NULL, *id = NULL;
	const char *name = str_field(agent, "name");

	json_object_object_get_ex(agent, "cc", &cc);
	json_object_object_get_ex(agent, "vdn", &vdn);
	json_object_object_get_ex(agent, "id", &id);
	return xasprintf("agent %s:%s:%s%s%s%s", json_object_get_string(cc),
			 json_object_get_string(vdn), json_object_get_string(id), name ? " (" : "",
			 name ? name : "", name ? ")" : "");
}

static struct json_object *make_alert(const char *alertname, struct json_object *event,
				      struct json_object *agent, const char *call_id)
{
	struct json_object *alert = json_object_new_object(), *ann = json_object_new_object(), *f;
	char *agent_text = who(agent), *summary;

	if (call_id) {
		json_object_object_get_ex(event, "duration", &f);
		summary = xasprintf("Call %s of %s has lasted %s s", call_id, agent_text,
				    f ? json_object_get_string(f) : "?");
	} else if (strcmp(alertname, "AgentLongState") == 0) {
		const char *state = any_field(event, "state"), *duration = any_field(event, "duration");

		summary = xasprintf("%s has been %s for %s s", agent_text, state ? state : "?",
				    duration ? duration : "?");
	} else {
		const char *reason = str_field(event, "reason");

		summary = xasprintf("%s cannot be polled: %s", agent_text, reason ? reason : "?");
	}
	json_object_object_add(alert, "labels", make_labels(alertname, event, agent, call_id));
	json_object_object_add(ann, "summary", json_object_new_string(summary));
	json_object_object_add(alert, "annotations", ann);
	json_object_object_add(alert, "startsAt", json_object_new_string(str_field(event, "time")));
	free(agent_text);
	free(summary);
	return alert;
}

/* A JSON time field as microseconds since the epoch; 0 when absent or not our format. */
static uint64_t time_field(struct json_object *o, const char *key)
{
	const char *text = str_field(o, key);
	uint64_t us;

	return text && util_parse_time(text, &us) == 0 ? us : 0;
}

static struct json_object *with_end(struct json_object *alert, const char *ends_text)
{
	struct json_object *copy = NULL;

	json_object_deep_copy(alert, &copy, NULL);
	json_object_object_add(copy, "endsAt", json_object_new_string(ends_text));
	return copy;
}

/*
 * The alert as firing: endsAt ALERTMGR_HOLD_US past now, or past its startsAt when that is later
 * (the wall clock was stepped back since it fired). Alertmanager refuses an endsAt before
 * startsAt with 400, and the alert would lapse.
 */
static struct json_object *firing_copy(struct json_object *alert, uint64_t now_us)
{
	uint64_t starts = time_field(alert, "startsAt");
	char ends[UTIL_TIME_LEN];

	util_format_time((starts > now_us ? starts : now_us) + ALERTMGR_HOLD_US, ends);
	return with_end(alert, ends);
}

/*
 * The alert as resolved at ended (the event's time). When the wall clock was stepped back since
 * it fired, its startsAt is later than that: startsAt is then moved back to ended too. Pushing
 * endsAt forward to startsAt instead would leave the alert active until a clock stepped back with
 * ours reaches that startsAt again.
 */
static struct json_object *resolved_copy(struct json_object *alert, const char *ended)
{
	struct json_object *copy = with_end(alert, ended);
	uint64_t ended_us;

	if (util_parse_time(ended, &ended_us) == 0 && time_field(alert, "startsAt") > ended_us)
		json_object_object_add(copy, "startsAt", json_object_new_string(ended));
	return copy;
}

/* FNV-1a of an alert's key, for the set's index. */
static size_t key_hash(const char *key)
{
	uint64_t h = 14695981039346656037ull;

	for (const char *p = key; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	return (size_t)(h ^ (h >> 32));
}

/* The index slot holding key, or the empty slot where it would go; the index must exist. */
static size_t slot_of(const struct alertmgr_set *set, const char *key)
{
	size_t mask = set->index_cap - 1, i = key_hash(key) & mask;

	while (set->index[i] && strcmp(set->v[set->index[i] - 1].key, key) != 0)
		i = (i + 1) & mask;
	return i;
}

/* Keeps the index at most half full, so that probes stay short. */
static void index_reserve(struct alertmgr_set *set, size_t n)
{
	size_t cap = set->index_cap ? set->index_cap : 16;

	while (cap < 2 * n)
		cap *= 2;
	if (cap == set->index_cap)
		return;
	free(set->index);
	set->index = xcalloc(cap, sizeof(*set->index));
	set->index_cap = cap;
	for (size_t i = 0; i < set->n; i++)
		set->index[slot_of(set, set->v[i].key)] = i + 1;
}

static size_t find(const struct alertmgr_set *set, const char *key)
{
	size_t i;

	if (!set->index_cap)
		return set->n;
	i = slot_of(set, key);
	return set->index[i] ? set->index[i] - 1 : set->n;
}

/* Takes ownership of key and alert; the key must not be in the set. */
static void append(struct alertmgr_set *set, char *key, struct json_object *alert)
{
	index_reserve(set, set->n + 1);
	if (set->n == set->v_cap) {
		set->v_cap = set->v_cap ? 2 * set->v_cap : 16;
		set->v = xreallocarray(set->v, set->v_cap, sizeof(set->v[0]));
	}
	set->v[set->n] = (struct alertmgr_alert){ key, alert };
	set->index[slot_of(set, key)] = ++set->n;
}

/* Empties index slot i, moving later entries of its probe run back (linear-probing deletion). */
static void index_delete(struct alertmgr_set *set, size_t i)
{
	size_t mask = set->index_cap - 1, j = i;

	for (;;) {
		size_t home;

		j = (j + 1) & mask;
		if (!set->index[j])
			break;
		home = key_hash(set->v[set->index[j] - 1].key) & mask;
		/* The entry at j may fill the hole at i when its home is not in (i, j]. */
		if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
			set->index[i] = set->index[j];
			i = j;
		}
	}
	set->index[i] = 0;
}

static void remove_at(struct alertmgr_set *set, size_t i)
{
	size_t last = set->n - 1;

	index_delete(set, slot_of(set, set->v[i].key));
	if (i != last)
		set->index[slot_of(set, set->v[last].key)] = i + 1;
	free(set->v[i].key);
	json_object_put(set->v[i].alert);
	set->v[i] = set->v[last];
	set->n--;
}

static size_t fire(struct alertmgr_set *set, const char *alertname, struct json_object *event,
		   struct json_object *agent, const char *call_id, struct json_object *out,
		   uint64_t now_us)
{
	char *key = alert_key(alertname, agent, call_id);
	struct json_object *alert = make_alert(alertname, event, agent, call_id);
	size_t i = find(set, key);

	if (i < set->n)
		remove_at(set, i);
	append(set, key, alert);
	json_object_array_add(out, firing_copy(alert, now_us));
	return 1;
}

/* Resolves as of the event's time; nothing when that alert is not firing. */
static size_t resolve(struct alertmgr_set *set, const char *alertname, struct json_object *event,
		      struct json_object *agent, const char *call_id, struct json_object *out)
{
	char *key = alert_key(alertname, agent, call_id);
	size_t i = find(set, key);

	free(key);
	if (i == set->n)
		return 0;
	json_object_array_add(out, resolved_copy(set->v[i].alert, str_field(event, "time")));
	remove_at(set, i);
	return 1;
}

/*
 * The alert an event fires (*fires) or resolves, with its agent and call ID (NULL for an agent's
 * alert); NULL when the event is about none.
 */
static const char *alert_of(struct json_object *event, struct json_object **agent,
			    const char **call_id, bool *fires)
{
	static const struct {
		const char *type, *alert;
		bool fires, per_call;
	} kinds[] = {
		{ "call.long", "AgentLongCall", true, true },
		{ "call.ended", "AgentLongCall", false, true },
		{ "agent.unreachable", "AgentUnreachable", true, false },
		{ "agent.reachable", "AgentUnreachable", false, false },
		/* One per agent: whatever state the next agent.state is in, the stint is over. */
		{ "agent.long_state", "AgentLongState", true, false },
		{ "agent.state", "AgentLongState", false, false },
	};
	const char *type = str_field(event, "type");

	*call_id = str_field(event, "call_id");
	if (!type || !str_field(event, "time") || !json_object_object_get_ex(event, "agent", agent) ||
	    !json_object_is_type(*agent, json_type_object))
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++) {
		if (strcmp(type, kinds[i].type) != 0 || (kinds[i].per_call && !*call_id))
			continue;
		*fires = kinds[i].fires;
		if (!kinds[i].per_call)
			*call_id = NULL;
		return kinds[i].alert;
	}
	return NULL;
}

size_t alertmgr_convert(struct alertmgr_set *set, struct json_object *event,
			struct json_object *out, uint64_t now_us)
{
	struct json_object *agent;
	const char *call_id, *name;
	bool fires;

	name = alert_of(event, &agent, &call_id, &fires);
	if (!name)
		return 0;
	return fires ? fire(set, name, event, agent, call_id, out, now_us) :
		       resolve(set, name, event, agent, call_id, out);
}

size_t alertmgr_forget(struct alertmgr_set *set, struct json_object *event)
{
	struct json_object *agent;
	const char *call_id, *name;
	bool fires;
	char *key;
	size_t i;

	name = alert_of(event, &agent, &call_id, &fires);
	if (!name)
		return 0;
	key = alert_key(name, agent, call_id);
	i = find(set, key);
	free(key);
	if (i == set->n)
		return 0;
	remove_at(set, i);
	return 1;
}

static uint32_t label_number(struct json_object *labels, const char *key)
{
	const char *v = str_field(labels, key);

	return v ? (uint32_t)strtoul(v, NULL, 10) : 0;
}

size_t alertmgr_set_prune(struct alertmgr_set *set, alertmgr_keep_fn keep, void *ctx,
			  struct json_object *resolved, uint64_t now_us)
{
	size_t dropped = 0;
	char now[UTIL_TIME_LEN];

	util_format_time(now_us, now);
	for (size_t i = set->n; i-- > 0;) {
		struct json_object *labels = NULL;
		const char *name;

		json_object_object_get_ex(set->v[i].alert, "labels", &labels);
		name = str_field(labels, "alertname");
		if (name && keep(ctx, name, label_number(labels, "cc"), label_number(labels, "vdn"),
				 label_number(labels, "agent"), str_field(labels, "call_id")))
			continue;
		if (resolved)
			json_object_array_add(resolved, resolved_copy(set->v[i].alert, now));
		remove_at(set, i);
		dropped++;
	}
	return dropped;
}

struct json_object *alertmgr_firing(const struct alertmgr_set *set, uint64_t now_us)
{
	struct json_object *out = json_object_new_array();

	for (size_t i = 0; i < set->n; i++)
		json_object_array_add(out, firing_copy(set->v[i].alert, now_us));
	return out;
}

void alertmgr_set_clear(struct alertmgr_set *set)
{
	while (set->n)
		remove_at(set, set->n - 1);
	free(set->v);
	free(set->index);
	memset(set, 0, sizeof(*set));
}

struct json_object *alertmgr_set_to_json(const struct alertmgr_set *set)
{
	struct json_object *array = json_object_new_array();

	for (size_t i = 0; i < set->n; i++) {
		struct json_object *entry = json_object_new_object();

		json_object_object_add(entry, "key", json_object_new_string(set->v[i].key));
		json_object_object_add(entry, "alert", json_object_get(set->v[i].alert));
		json_object_array_add(array, entry);
	}
	return array;
}

void alertmgr_set_from_json(struct alertmgr_set *set, struct json_object *array)
{
	alertmgr_set_clear(set);
	for (size_t i = 0; array && i < json_object_array_length(array); i++) {
		struct json_object *entry = json_object_array_get_idx(array, i), *alert;
		const char *key = str_field(entry, "key");

		if (!key || !json_object_object_get_ex(entry, "alert", &alert) ||
		    !json_object_is_type(alert, json_type_object))
			continue;
		if (find(set, key) < set->n)
			remove_at(set, find(set, key));
		append(set, xstrdup(key), json_object_get(alert));
	}
}
