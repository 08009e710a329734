/* statefile: the agents' call sets saved in state_dir, so that a restart repeats nothing. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "statefile.h"
#include "util.h"

#define STATE_VERSION 1
#define FILE_MAX (256u << 20)

static struct json_object *agent_json(const struct agent_state *st)
{
	struct json_object *a = json_object_new_object(), *calls = json_object_new_array();

	json_object_object_add(a, "cc", json_object_new_int64(st->cfg->cc));
	json_object_object_add(a, "vdn", json_object_new_int64(st->cfg->vdn));
	json_object_object_add(a, "id", json_object_new_int64(st->cfg->id));
	json_object_object_add(a, "baselined", json_object_new_boolean(st->baselined));
	json_object_object_add(a, "unreachable", json_object_new_boolean(st->unreachable));
	for (uint32_t i = 0; i < st->ncalls; i++) {
		struct json_object *c = json_object_new_object();

		json_object_object_add(c, "id", json_object_new_string(st->calls[i].id));
		json_object_object_add(c, "first_seen_us",
				       json_object_new_int64((int64_t)st->calls[i].first_seen_us));
		json_object_object_add(c, "long", json_object_new_boolean(st->calls[i].long_reported));
		json_object_array_add(calls, c);
	}
	json_object_object_add(a, "calls", calls);
	return a;
}

int statefile_save(const char *dir, uint64_t seq, struct agent_state *const *states, size_t n)
{
	struct json_object *root = json_object_new_object(), *agents = json_object_new_array();
	char *path = xasprintf("%s/%s", dir, STATEFILE_NAME);
	const char *text;
	int r;

	json_object_object_add(root, "version", json_object_new_int(STATE_VERSION));
	json_object_object_add(root, "seq", json_object_new_int64((int64_t)seq));
	/* An agent unreachable since its start has no baseline, yet its alert must resolve. */
	for (size_t i = 0; i < n; i++)
		if (states[i]->baselined || states[i]->unreachable)
			json_object_array_add(agents, agent_json(states[i]));
	json_object_object_add(root, "agents", agents);
	text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN);
	r = util_write_file_atomic(path, text, strlen(text), true);
	json_object_put(root);
	free(path);
	return r;
}

/* Typed field access; false when the field is missing or of another type. */
static bool get_int(struct json_object *o, const char *key, int64_t min, int64_t max, int64_t *v)
{
	struct json_object *f;

	if (!json_object_object_get_ex(o, key, &f) || !json_object_is_type(f, json_type_int))
		return false;
	*v = json_object_get_int64(f);
	return *v >= min && *v <= max;
}

static bool get_typed(struct json_object *o, const char *key, enum json_type type,
		      struct json_object **f)
{
	return json_object_object_get_ex(o, key, f) && json_object_is_type(*f, type);
}

static bool valid_call(struct json_object *c)
{
	struct json_object *f;
	int64_t v;

	return json_object_is_type(c, json_type_object) &&
	       get_typed(c, "id", json_type_string, &f) && json_object_get_string_len(f) > 0 &&
	       get_typed(c, "long", json_type_boolean, &f) &&
	       get_int(c, "first_seen_us", 0, INT64_MAX, &v);
}

static bool valid_agent(struct json_object *a, uint64_t *key)
{
	struct json_object *f, *calls;
	int64_t cc, vdn, id;

	if (!json_object_is_type(a, json_type_object) || !get_int(a, "cc", 1, 65535, &cc) ||
	    !get_int(a, "vdn", 1, 5000, &vdn) || !get_int(a, "id", 101, 999999, &id) ||
	    !get_typed(a, "unreachable", json_type_boolean, &f) ||
	    !get_typed(a, "calls", json_type_array, &calls))
		return false;
	/* Optional: files written before it was added hold baselined agents only. */
	if (json_object_object_get_ex(a, "baselined", &f) &&
	    !json_object_is_type(f, json_type_boolean))
		return false;
	for (size_t i = 0; i < json_object_array_length(calls); i++)
		if (!valid_call(json_object_array_get_idx(calls, i)))
			return false;
	*key = cfg_agent_key((uint32_t)cc, (uint32_t)vdn, (uint32_t)id);
	return true;
}

static void restore_agent(struct agent_state *st, struct json_object *a)
{
	struct json_object *calls, *f;

	json_object_object_get_ex(a, "unreachable", &f);
	st->unreachable = json_object_get_boolean(f);
	st->baselined = !json_object_object_get_ex(a, "baselined", &f) ||
			json_object_get_boolean(f);
	st->restored = st->baselined;
	json_object_object_get_ex(a, "calls", &calls);
	for (size_t i = 0; i < json_object_array_length(calls); i++) {
		struct json_object *c = json_object_array_get_idx(calls, i), *id, *first, *lng;

		json_object_object_get_ex(c, "id", &id);
		json_object_object_get_ex(c, "first_seen_us", &first);
		json_object_object_get_ex(c, "long", &lng);
		agents_restore_call(st, json_object_get_string(id),
				    (uint64_t)json_object_get_int64(first), json_object_get_boolean(lng));
	}
}

/* Checks the whole document first, so that a bad file restores nothing rather than a part. */
static int check_document(struct json_object *root, uint64_t *seq, char *err, size_t errlen)
{
	struct json_object *agents;
	int64_t version, s;

	if (!json_object_is_type(root, json_type_object) ||
	    !get_int(root, "version", STATE_VERSION, STATE_VERSION, &version) ||
	    !get_int(root, "seq", 0, INT64_MAX, &s) ||
	    !get_typed(root, "agents", json_type_array, &agents)) {
		snprintf(err, errlen, "not a version %d state file", STATE_VERSION);
		return -1;
	}
	for (size_t i = 0; i < json_object_array_length(agents); i++) {
		uint64_t key;

		if (!valid_agent(json_object_array_get_idx(agents, i), &key)) {
			snprintf(err, errlen, "agents[%zu] is malformed", i);
			return -1;
		}
	}
	*seq = (uint64_t)s;
	return 0;
}

int statefile_load(const char *dir, uint64_t *seq, statefile_find_fn find, void *ctx, char *err,
		   size_t errlen)
{
	char *path = xasprintf("%s/%s", dir, STATEFILE_NAME);
	size_t len;
	char *text = util_read_file(path, FILE_MAX, &len);
	struct json_object *root = NULL, *agents;
	int r = -1;

	if (!text) {
		r = errno == ENOENT ? 1 : -1;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		goto out;
	}
	root = json_tokener_parse(text);
	if (!root) {
		snprintf(err, errlen, "%s: not JSON (truncated or corrupt)", path);
		goto out;
	}
	if (check_document(root, seq, err, errlen) < 0)
		goto out;
	json_object_object_get_ex(root, "agents", &agents);
	for (size_t i = 0; i < json_object_array_length(agents); i++) {
		struct json_object *a = json_object_array_get_idx(agents, i);
		struct agent_state *st;
		uint64_t key;

		valid_agent(a, &key);
		if ((st = find(ctx, key)))
			restore_agent(st, a);
	}
	r = 0;
out:
	json_object_put(root);
	free(text);
	free(path);
	return r;
}
