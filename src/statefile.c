/* statefile: the agents' calls and CTI states saved in state_dir, so that a restart repeats nothing. */
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

/* A call ID or a submedia as a JSON string; other bytes go as they are (json-c reads them back). */
static void put_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20) {
			fprintf(f, "\\u%04x", (unsigned char)*s);
			continue;
		}
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* What a batch answer said of the call: each code only when known (absent: none). */
static void put_detail(FILE *f, const struct agent_call *c)
{
	if (c->status != CMS_CODE_NONE)
		fprintf(f, ",\"status\":%d", (int)c->status);
	if (c->direction != CMS_CODE_NONE)
		fprintf(f, ",\"direction\":%d", (int)c->direction);
	if (c->media != CMS_CODE_NONE)
		fprintf(f, ",\"media\":%d", (int)c->media);
	if (c->submedia) {
		fputs(",\"submedia\":", f);
		put_string(f, c->submedia);
	}
}

/* The CTI state, as the calls' first-seen: on both clocks; absent until the first state poll. */
static void put_cti(FILE *f, const struct agent_cti *cti)
{
	if (cti->code == CMS_CODE_NONE)
		return;
	fprintf(f, ",\"cti\":{\"code\":%d,\"since_us\":%llu,\"since_boot_us\":%lld,\"long\":%s",
		(int)cti->code, (unsigned long long)cti->since_us, (long long)cti->since_boot_us,
		cti->long_reported ? "true" : "false");
	if (cti->reason != CMS_CODE_NONE)
		fprintf(f, ",\"reason\":%d", (int)cti->reason);
	fputc('}', f);
}

static void put_agent(FILE *f, const struct agent_state *st, bool first)
{
	fprintf(f, "%s{\"cc\":%u,\"vdn\":%u,\"id\":%u,\"baselined\":%s,\"unreachable\":%s,"
		"\"calls\":[", first ? "" : ",", st->cfg->cc, st->cfg->vdn, st->cfg->id,
		st->baselined ? "true" : "false", st->unreachable ? "true" : "false");
	for (uint32_t i = 0; i < st->ncalls; i++) {
		fputs(i ? ",{\"id\":" : "{\"id\":", f);
		put_string(f, st->calls[i].id);
		fprintf(f, ",\"first_seen_us\":%llu,\"first_seen_boot_us\":%lld,\"long\":%s",
			(unsigned long long)st->calls[i].first_seen_us,
			(long long)st->calls[i].first_seen_boot_us,
			st->calls[i].long_reported ? "true" : "false");
		put_detail(f, &st->calls[i]);
		fputc('}', f);
	}
	fputc(']', f);
	put_cti(f, &st->cti);
	fputc('}', f);
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
	/* An agent unreachable since its start has no baseline, yet its alert must resolve; one
	 * with a CTI state must not report it again as initial. */
	if (st->baselined || st->unreachable || st->cti.code != CMS_CODE_NONE) {
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

/* An optional integer field: absent, or an integer in [min, max]. */
static bool opt_int(struct json_object *o, const char *key, int64_t min, int64_t max)
{
	struct json_object *f;
	int64_t v;

	return !json_object_object_get_ex(o, key, &f) || get_int(o, key, min, max, &v);
}

/* An optional integer field's value, or CMS_CODE_NONE when absent (checked before). */
static int64_t code_or_none(struct json_object *o, const char *key)
{
	int64_t v;

	return get_int(o, key, INT64_MIN, INT64_MAX, &v) ? v : CMS_CODE_NONE;
}

static bool valid_call(struct json_object *c)
{
	struct json_object *f;
	int64_t v;

	/* status, direction, media and submedia came with call detail: older files lack them. */
	return json_object_is_type(c, json_type_object) &&
	       get_typed(c, "id", json_type_string, &f) && json_object_get_string_len(f) > 0 &&
	       get_typed(c, "long", json_type_boolean, &f) &&
	       get_int(c, "first_seen_us", 0, INT64_MAX, &v) &&
	       opt_int(c, "first_seen_boot_us", INT64_MIN, INT64_MAX) &&
	       opt_int(c, "status", 0, INT16_MAX) && opt_int(c, "direction", 0, INT16_MAX) &&
	       opt_int(c, "media", 0, INT32_MAX) &&
	       (!json_object_object_get_ex(c, "submedia", &f) ||
		json_object_is_type(f, json_type_string));
}

/* The agent's CTI state: absent (older files, or no state poll yet), or whole. */
static bool valid_cti(struct json_object *a)
{
	struct json_object *cti, *f;
	int64_t v;

	if (!json_object_object_get_ex(a, "cti", &cti))
		return true;
	return json_object_is_type(cti, json_type_object) &&
	       get_int(cti, "code", 0, CMS_STATE_COUNT - 1, &v) &&
	       get_int(cti, "since_us", 0, INT64_MAX, &v) &&
	       get_int(cti, "since_boot_us", INT64_MIN, INT64_MAX, &v) &&
	       get_typed(cti, "long", json_type_boolean, &f) &&
	       opt_int(cti, "reason", 0, INT32_MAX);
}

static bool valid_agent(struct json_object *a, uint64_t *key)
{
	struct json_object *f, *calls;
	int64_t cc, vdn, id;

	if (!json_object_is_type(a, json_type_object) || !get_int(a, "cc", 1, 65535, &cc) ||
	    !get_int(a, "vdn", 1, 5000, &vdn) || !get_int(a, "id", 101, 999999, &id) ||
	    !get_typed(a, "unreachable", json_type_boolean, &f) ||
	    !get_typed(a, "calls", json_type_array, &calls) || !valid_cti(a))
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
static int64_t restored_boot_us(struct json_object *c, const char *key, uint64_t first_seen_us,
				bool same_boot, const struct agents_clock *now)
{
	int64_t boot;

	if (same_boot && get_int(c, key, INT64_MIN, now->boot_us, &boot))
		return boot;
	return agents_anchor(first_seen_us, now);
}

static void restore_cti(struct agent_state *st, struct json_object *a, bool same_boot,
			const struct agents_clock *now)
{
	struct json_object *cti, *f;
	struct agent_cti c = { 0 };

	if (!json_object_object_get_ex(a, "cti", &cti))
		return;
	c.code = (int16_t)code_or_none(cti, "code");
	c.reason = (int32_t)code_or_none(cti, "reason");
	json_object_object_get_ex(cti, "since_us", &f);
	c.since_us = (uint64_t)json_object_get_int64(f);
	c.since_boot_us = restored_boot_us(cti, "since_boot_us", c.since_us, same_boot, now);
	json_object_object_get_ex(cti, "long", &f);
	c.long_reported = json_object_get_boolean(f);
	agents_restore_cti(st, &c);
}

static void restore_detail(struct agent_state *st, struct json_object *c, const char *id)
{
	struct json_object *sub;

	agents_restore_detail(st, &(struct reply_call){
		.id = id, .status = (int16_t)code_or_none(c, "status"),
		.direction = (int16_t)code_or_none(c, "direction"),
		.media = (int32_t)code_or_none(c, "media"),
		.submedia = json_object_object_get_ex(c, "submedia", &sub) ?
			    json_object_get_string(sub) : NULL });
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
				    restored_boot_us(c, "first_seen_boot_us",
						     (uint64_t)json_object_get_int64(first), same_boot,
						     now),
				    json_object_get_boolean(lng));
		restore_detail(st, c, json_object_get_string(id));
	}
	restore_cti(st, a, same_boot, now);
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
