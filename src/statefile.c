/* statefile: the agents' call sets saved in state_dir, so that a restart repeats nothing. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <systemd/sd-id128.h>

#include "statefile.h"
#include "util.h"

#define STATE_VERSION 1
#define FILE_MAX (256u << 20)

/* A call ID as a JSON string: the reply parser let no control character through, so only the
 * quote and the backslash need escaping. */
static void put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void put_agent(FILE *f, const struct agent_state *st, bool first)
{
	fprintf(f, "%s{\"cc\":%u,\"vdn\":%u,\"id\":%u,\"baselined\":%s,\"unreachable\":%s,"
		"\"calls\":[", first ? "" : ",", st->cfg->cc, st->cfg->vdn, st->cfg->id,
		st->baselined ? "true" : "false", st->unreachable ? "true" : "false");
	for (uint32_t i = 0; i < st->ncalls; i++) {
		fputs(i ? ",{\"id\":" : "{\"id\":", f);
		put_string(f, st->calls[i].id);
		fprintf(f, ",\"first_seen_us\":%llu,\"first_seen_boot_us\":%lld,\"long\":%s}",
			(unsigned long long)st->calls[i].first_seen_us,
			(long long)st->calls[i].first_seen_boot_us,
			st->calls[i].long_reported ? "true" : "false");
	}
	fputs("]}", f);
}

struct statefile_snapshot {
	FILE *f;
	char *text;
	size_t len;
	bool first;
};

/*
 * This boot's id as 32 hex digits, or "" when unknown. Boot-clock times in the file are only
 * meaningful within the boot that wrote them; after a reboot the wall-clock ones are used.
 */
static void boot_id(char id[SD_ID128_STRING_MAX])
{
	sd_id128_t b;

	if (sd_id128_get_boot(&b) < 0)
		id[0] = '\0';
	else
		sd_id128_to_string(b, id);
}

/*
 * Written as a stream, not built as a json-c tree: a tree of every agent cost about 2 KiB per
 * agent at its peak, twice the daemon's whole footprint per agent.
 */
struct statefile_snapshot *statefile_snapshot_begin(uint64_t seq)
{
	struct statefile_snapshot *s = xcalloc(1, sizeof(*s));
	char boot[SD_ID128_STRING_MAX];

	s->f = open_memstream(&s->text, &s->len);
	if (!s->f) {
		fputs("agentwatchd: out of memory\n", stderr);
		abort();
	}
	s->first = true;
	boot_id(boot);
	/* boot_id and first_seen_boot_us are extra fields: the versions before them still read it. */
	fprintf(s->f, "{\"version\":%d,\"seq\":%llu,\"boot_id\":\"%s\",\"agents\":[",
		STATE_VERSION, (unsigned long long)seq, boot);
	return s;
}

void statefile_snapshot_add(struct statefile_snapshot *s, const struct agent_state *st)
{
	/* An agent unreachable since its start has no baseline, yet its alert must resolve. */
	if (st->baselined || st->unreachable) {
		put_agent(s->f, st, s->first);
		s->first = false;
	}
}

char *statefile_snapshot_end(struct statefile_snapshot *s, size_t *len)
{
	char *text;

	fputs("]}", s->f);
	fclose(s->f);
	text = s->text;
	*len = s->len;
	free(s);
	return text;
}

void statefile_snapshot_free(struct statefile_snapshot *s)
{
	size_t len;

	if (s)
		free(statefile_snapshot_end(s, &len));
}

int statefile_save(const char *dir, uint64_t seq, struct agent_state *const *states, size_t n)
{
	char *path = xasprintf("%s/%s", dir, STATEFILE_NAME);
	struct statefile_snapshot *s = statefile_snapshot_begin(seq);
	char *text;
	size_t len;
	int r;

	for (size_t i = 0; i < n; i++)
		statefile_snapshot_add(s, states[i]);
	text = statefile_snapshot_end(s, &len);
	r = util_write_file_atomic(path, text, len, true);
	free(text);
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
	       get_int(c, "first_seen_us", 0, INT64_MAX, &v) &&
	       (!json_object_object_get_ex(c, "first_seen_boot_us", &f) ||
		get_int(c, "first_seen_boot_us", INT64_MIN, INT64_MAX, &v));
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

/*
 * A call's age: from its boot-clock first-seen when the file was written in this boot (a
 * restart), so no wall-clock step changes it; from its wall-clock first-seen otherwise (after a
 * reboot, or a file without it), then never negative.
 */
static int64_t restored_boot_us(struct json_object *c, uint64_t first_seen_us, bool same_boot,
				const struct agents_clock *now)
{
	int64_t boot;

	if (same_boot && get_int(c, "first_seen_boot_us", INT64_MIN, now->boot_us, &boot))
		return boot;
	return agents_anchor(first_seen_us, now);
}

static void restore_agent(struct agent_state *st, struct json_object *a, bool same_boot,
			  const struct agents_clock *now)
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
				    (uint64_t)json_object_get_int64(first),
				    restored_boot_us(c, (uint64_t)json_object_get_int64(first), same_boot,
						     now),
				    json_object_get_boolean(lng));
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

int statefile_load(const char *dir, const struct agents_clock *now, uint64_t *seq,
		   statefile_find_fn find, void *ctx, char *err, size_t errlen)
{
	return statefile_load_named(dir, STATEFILE_NAME, now, seq, find, ctx, err, errlen);
}

int statefile_load_named(const char *dir, const char *name, const struct agents_clock *now,
			 uint64_t *seq, statefile_find_fn find, void *ctx, char *err,
			 size_t errlen)
{
	char *path = xasprintf("%s/%s", dir, name);
	size_t len;
	char *text = util_read_file(path, FILE_MAX, &len);
	struct json_object *root = NULL, *agents, *saved_boot;
	char boot[SD_ID128_STRING_MAX], why[128];
	bool same_boot;
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
	if (check_document(root, seq, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s", path, why);
		goto out;
	}
	boot_id(boot);
	same_boot = boot[0] && get_typed(root, "boot_id", json_type_string, &saved_boot) &&
		    strcmp(json_object_get_string(saved_boot), boot) == 0;
	json_object_object_get_ex(root, "agents", &agents);
	for (size_t i = 0; i < json_object_array_length(agents); i++) {
		struct json_object *a = json_object_array_get_idx(agents, i);
		struct agent_state *st;
		uint64_t key;

		valid_agent(a, &key);
		if ((st = find(ctx, key)))
			restore_agent(st, a, same_boot, now);
	}
	r = 0;
out:
	json_object_put(root);
	free(text);
	free(path);
	return r;
}

/* A hard link, so that agents.state itself is never missing, not even for a moment. */
int statefile_keep_previous(const char *dir)
{
	char *path = xasprintf("%s/%s", dir, STATEFILE_NAME);
	char *prev = xasprintf("%s/%s", dir, STATEFILE_PREVIOUS);
	char *tmp = xasprintf("%s.tmp", prev);
	int r;

	(void)unlink(tmp);
	r = link(path, tmp) < 0 || rename(tmp, prev) < 0 ? -1 : 0;
	if (r < 0) {
		int err = errno;

		(void)unlink(tmp);
		errno = err;
	}
	free(tmp);
	free(prev);
	free(path);
	return r;
}

int statefile_set_aside(const char *dir, const char *name, char *moved, size_t movedlen)
{
	char *path = xasprintf("%s/%s", dir, name);
	time_t now = time(NULL);
	struct tm tm;
	char stamp[32];
	int r;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	snprintf(moved, movedlen, "%s.corrupt-%s", path, stamp);
	/* Two in one second (a restart loop) must not overwrite the first: ".N" after the time. */
	for (unsigned n = 1; access(moved, F_OK) == 0 && n < 1000; n++)
		snprintf(moved, movedlen, "%s.corrupt-%s.%u", path, stamp, n);
	r = rename(path, moved);
	free(path);
	return r;
}
