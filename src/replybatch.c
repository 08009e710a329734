/* replybatch: batch answers (calls or states of many agents) as entries keyed by agentId. */
#include "config.h"

#include <stdalign.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cmscodes.h"
#include "replybatch.h"
#include "reply_impl.h"
#include "util.h"

/* cms-api.md §2.2: "not set" markers, read as absent. */
#define MARK_32 4294967295LL
#define MARK_16 65535LL
#define MARK_LOGON_MS 4294967295000LL
/* currentStateTime is a 32-bit count of seconds at the CMS. */
#define STATE_SECONDS_MAX (MARK_32 - 1)

/* The shortest JSON text of a call: {"callId":"x"}. Bounds the calls an answer can hold. */
#define CALL_JSON_MIN 14
#define SPILL_MIN 4096
/* A value as messages show it: enough for any number, a string is cut. */
#define SHOWN_MAX 48

/*
 * The answer's memory: chunks, the first sized from the body so that one allocation holds
 * everything but a rare error text.
 */
struct chunk {
	struct chunk *next;
	size_t size, used;
	max_align_t data[];
};

/* One parse: the answer being filled and the agents asked. */
struct parse {
	struct replybatch *out;
	const uint32_t *asked;
	size_t nasked;
	char why[REPLY_REASON_MAX];	/* the entry error being built */
};

/* What differs between the two interfaces' entries; both start with agent_id. */
struct kind {
	size_t size;
	/* Fills entry from the JSON object el; NULL, or an error text in p->why. */
	const char *(*parse)(struct parse *p, struct json_object *el, void *entry);
	/* Marks entry unusable: error set, nothing else to be read. */
	void (*fail)(void *entry, const char *error);
	size_t (*bound)(size_t len);	/* arena bytes beyond the entries for a len-byte body */
};

_Static_assert(offsetof(struct replybatch_calls, agent_id) == 0, "agent_id leads");
_Static_assert(offsetof(struct replybatch_state, agent_id) == 0, "agent_id leads");

static struct chunk *chunk_new(size_t size, struct chunk *next)
{
	struct chunk *c = xmalloc(sizeof(*c) + size);

	c->next = next;
	c->size = size;
	c->used = 0;
	return c;
}

/* n bytes of c aligned to align (a power of 2), or NULL when c has no room. */
static void *chunk_take(struct chunk *c, size_t n, size_t align)
{
	size_t at = (c->used + align - 1) & ~(align - 1);

	if (at > c->size || c->size - at < n)
		return NULL;
	c->used = at + n;
	return (char *)c->data + at;
}

/*
 * The first chunk, sized from the body, keeps serving; what it cannot hold (error texts past
 * the bound) goes to the spill chunk behind it, a new one when that one is full.
 */
static void *arena_alloc(struct replybatch *b, size_t n, size_t align)
{
	struct chunk *first = b->arena;
	void *p = chunk_take(first, n, align);

	if (!p && first->next)
		p = chunk_take(first->next, n, align);
	if (!p) {
		first->next = chunk_new(n > SPILL_MIN ? n : SPILL_MIN, first->next);
		p = chunk_take(first->next, n, align);
	}
	return p;
}

static const char *arena_strndup(struct replybatch *b, const char *s, size_t len)
{
	char *copy = arena_alloc(b, len + 1, 1);

	memcpy(copy, s, len);
	copy[len] = '\0';
	return copy;
}

static const char *fail_entry(struct parse *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static const char *fail_entry(struct parse *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->why, sizeof(p->why), fmt, ap);
	va_end(ap);
	return p->why;
}

static void fail_answer(struct replybatch *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fail_answer(struct replybatch *b, const char *fmt, ...)
{
	va_list ap;

	b->status = REPLY_INVALID;
	va_start(ap, fmt);
	vsnprintf(b->reason, sizeof(b->reason), fmt, ap);
	va_end(ap);
}

/*
 * "FIELD is TYPE[ VALUE], not WANT": "callStatus is string \"5\", not an integer". Objects and
 * arrays, which may be long, are not shown. present tells a JSON null (NULL to json-c) from a
 * member that is not there.
 */
static const char *wrong_type(struct parse *p, const char *field, struct json_object *v,
			      bool present, const char *want)
{
	char text[SHOWN_MAX];
	const char *s;

	if (!present)
		return fail_entry(p, "%s is missing, not %s", field, want);
	if (!v)
		return fail_entry(p, "%s is null, not %s", field, want);
	if (json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array))
		return fail_entry(p, "%s is %s, not %s", field, reply_type_name(v), want);
	if (json_object_is_type(v, json_type_string)) {
		reply_sanitize(json_object_get_string(v), (size_t)json_object_get_string_len(v), text,
			       sizeof(text));
		return fail_entry(p, "%s is string \"%s\", not %s", field, text, want);
	}
	s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
	reply_sanitize(s, strlen(s), text, sizeof(text));
	return fail_entry(p, "%s is %s %s, not %s", field, reply_type_name(v), text, want);
}

enum got { GOT_VALUE, GOT_ABSENT, GOT_ERROR };

/*
 * Member name of obj, an integer in min..max, into *v. An absent member (or null, as Java
 * serializers write unset fields) is GOT_ABSENT when optional; a marker in marks[] (ending
 * with 0) is absent too. GOT_ERROR leaves the reason in p->why; field names it there.
 */
static enum got get_int(struct parse *p, struct json_object *obj, const char *name,
			const char *field, bool optional, const long long *marks, long long min,
			long long max, int64_t *v)
{
	struct json_object *m = NULL;
	bool present = json_object_object_get_ex(obj, name, &m);
	int64_t got;

	if (optional && !m)
		return GOT_ABSENT;
	if (!json_object_is_type(m, json_type_int)) {
		wrong_type(p, field, m, present, "an integer");
		return GOT_ERROR;
	}
	got = json_object_get_int64(m);
	for (; marks && *marks; marks++)
		if (got == *marks)
			return GOT_ABSENT;
	if (got < min || got > max) {
		fail_entry(p, "%s %s is out of range %lld..%lld", field,
			   json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN), min, max);
		return GOT_ERROR;
	}
	*v = got;
	return GOT_VALUE;
}

/* An optional code in 0..max: absent (or a marker) is CMS_CODE_NONE; false on an error. */
static bool get_optional_code(struct parse *p, struct json_object *obj, const char *name,
			      const char *field, const long long *marks, long long max,
			      int32_t *code)
{
	int64_t v;

	switch (get_int(p, obj, name, field, true, marks, 0, max, &v)) {
	case GOT_VALUE:
		*code = (int32_t)v;
		return true;
	case GOT_ABSENT:
		*code = CMS_CODE_NONE;
		return true;
	default:
		return false;
	}
}

/* A call code: absent (older releases) is CMS_CODE_NONE; any other number is kept as given. */
static bool get_code(struct parse *p, struct json_object *obj, const char *name, size_t index,
		     long long max, int32_t *code)
{
	char field[48];

	snprintf(field, sizeof(field), "callList[%zu].%s", index, name);
	return get_optional_code(p, obj, name, field, NULL, max, code);
}

/* submediaType: absent, null or "" is none; otherwise bounded text like a call ID. */
static const char *get_submedia(struct parse *p, struct json_object *obj, size_t index,
				const char **submedia)
{
	struct json_object *m = NULL;
	char where[48];
	size_t len;

	*submedia = NULL;
	json_object_object_get_ex(obj, "submediaType", &m);
	snprintf(where, sizeof(where), "callList[%zu].submediaType", index);
	if (!m)
		return NULL;
	if (!json_object_is_type(m, json_type_string))
		return wrong_type(p, where, m, true, "a string");
	len = (size_t)json_object_get_string_len(m);
	if (len == 0)
		return NULL;
	if (reply_text_problem(where, "value", json_object_get_string(m), len, REPLY_CALL_ID_MAX,
			       p->why, sizeof(p->why)))
		return p->why;
	*submedia = arena_strndup(p->out, json_object_get_string(m), len);
	return NULL;
}

static const char *parse_call(struct parse *p, struct json_object *el, size_t index,
			      struct reply_call *call)
{
	struct json_object *id = NULL;
	int32_t status, direction;
	char where[32];
	bool present;
	size_t len;

	snprintf(where, sizeof(where), "callList[%zu]", index);
	if (!json_object_is_type(el, json_type_object))
		return wrong_type(p, where, el, true, "a call object");
	present = json_object_object_get_ex(el, "callId", &id);
	if (!json_object_is_type(id, json_type_string)) {
		snprintf(where, sizeof(where), "callList[%zu].callId", index);
		return wrong_type(p, where, id, present, "a string");
	}
	len = (size_t)json_object_get_string_len(id);
	if (reply_text_problem(where, "call ID", json_object_get_string(id), len, REPLY_CALL_ID_MAX,
			       p->why, sizeof(p->why)))
		return p->why;
	if (!get_code(p, el, "callStatus", index, INT16_MAX, &status) ||
	    !get_code(p, el, "callInOut", index, INT16_MAX, &direction) ||
	    !get_code(p, el, "mediaType", index, INT32_MAX, &call->media))
		return p->why;
	if (get_submedia(p, el, index, &call->submedia))
		return p->why;
	call->status = (int16_t)status;
	call->direction = (int16_t)direction;
	call->id = arena_strndup(p->out, json_object_get_string(id), len);
	return NULL;
}

static const char *parse_calls_entry(struct parse *p, struct json_object *el, void *entry)
{
	struct replybatch_calls *e = entry;
	struct json_object *list = NULL;
	bool present = json_object_object_get_ex(el, "callList", &list);
	struct reply_call *calls;
	size_t n;

	if (!json_object_is_type(list, json_type_array))
		return wrong_type(p, "callList", list, present, "an array");
	n = json_object_array_length(list);
	if (n > REPLY_MAX_CALLS)
		return fail_entry(p, REPLY_TOO_MANY_CALLS, "callList", n, REPLY_MAX_CALLS);
	calls = arena_alloc(p->out, n * sizeof(*calls), alignof(struct reply_call));
	for (size_t i = 0; i < n; i++)
		if (parse_call(p, json_object_array_get_idx(list, i), i, &calls[i]))
			return p->why;
	e->ncalls = (uint32_t)reply_calls_unique(calls, n);
	e->calls = n ? calls : NULL;
	return NULL;
}

static void fail_calls_entry(void *entry, const char *error)
{
	struct replybatch_calls *e = entry;

	e->ncalls = 0;
	e->calls = NULL;
	e->error = error;
}

/* Strings and calls take no more than the body's bytes and one call per CALL_JSON_MIN of it. */
static size_t calls_bound(size_t len)
{
	return len + 1 + (len / CALL_JSON_MIN) * sizeof(struct reply_call);
}

static const long long marks_code[] = { MARK_16, MARK_32, 0 };
static const long long marks_seconds[] = { MARK_32, 0 };
static const long long marks_logon[] = { MARK_LOGON_MS, MARK_32, 0 };

static const char *parse_state_entry(struct parse *p, struct json_object *el, void *entry)
{
	struct replybatch_state *e = entry;
	int64_t v;
	int32_t code;

	if (get_int(p, el, "currentState", "currentState", false, NULL, 0, CMS_STATE_COUNT - 1,
		    &v) != GOT_VALUE)
		return p->why;
	e->state = (int16_t)v;
	if (!get_optional_code(p, el, "prevState", "prevState", marks_code, CMS_STATE_COUNT - 1,
			       &code))
		return p->why;
	e->prev_state = (int16_t)code;
	e->state_seconds = -1;
	if (get_int(p, el, "currentStateTime", "currentStateTime", true, marks_seconds, 0,
		    STATE_SECONDS_MAX,
		    &e->state_seconds) == GOT_ERROR)
		return p->why;
	if (!get_optional_code(p, el, "currentStateReason", "currentStateReason", marks_code,
			       INT32_MAX, &e->reason))
		return p->why;
	e->logon_ms = -1;
	if (get_int(p, el, "logonTime", "logonTime", true, marks_logon, 0, MARK_LOGON_MS,
		    &e->logon_ms) == GOT_ERROR)
		return p->why;
	return NULL;
}

static void fail_state_entry(void *entry, const char *error)
{
	struct replybatch_state *e = entry;

	e->state = e->prev_state = CMS_CODE_NONE;
	e->state_seconds = e->logon_ms = -1;
	e->reason = CMS_CODE_NONE;
	e->error = error;
}

/* Error texts are the only other strings. */
static size_t states_bound(size_t len)
{
	(void)len;
	return SPILL_MIN;
}

static const struct kind calls_kind = { sizeof(struct replybatch_calls), parse_calls_entry,
					fail_calls_entry, calls_bound };
static const struct kind states_kind = { sizeof(struct replybatch_state), parse_state_entry,
					 fail_state_entry, states_bound };

static int compare_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* The agent an element is for; false after fail_answer (an entry that no agent can own). */
static bool entry_agent(struct parse *p, const char *field, size_t i, struct json_object *el,
			uint32_t *id)
{
	char name[48];
	int64_t v;

	snprintf(name, sizeof(name), "%s[%zu]", field, i);
	if (!json_object_is_type(el, json_type_object)) {
		fail_answer(p->out, "%s is %s, not an agent object", name,
			    el ? reply_type_name(el) : "null");
		return false;
	}
	snprintf(name, sizeof(name), "%s[%zu].agentId", field, i);
	if (get_int(p, el, "agentId", name, false, NULL, 0, UINT32_MAX, &v) != GOT_VALUE) {
		fail_answer(p->out, "%s", p->why);
		return false;
	}
	*id = (uint32_t)v;
	return true;
}

/* Both entries of an agentId listed twice are errors: which one to believe is unknown. */
static void mark_repeats(struct replybatch *b, const struct kind *k, char *entries)
{
	size_t n = b->nentries, i = 0, j;
	const char *error;

	while (i < n) {
		uint32_t id = *(uint32_t *)(entries + i * k->size);

		for (j = i + 1; j < n && *(uint32_t *)(entries + j * k->size) == id; j++)
			;
		if (j - i > 1) {
			char text[80];

			if (j - i == 2)
				snprintf(text, sizeof(text), "agentId %u appears twice in the CMS answer", id);
			else
				snprintf(text, sizeof(text), "agentId %u appears %zu times in the CMS answer",
					 id, j - i);
			error = arena_strndup(b, text, strlen(text));
			for (; i < j; i++)
				k->fail(entries + i * k->size, error);
		}
		i = j;
	}
}

/* The elements of list, each keyed by agentId; false after fail_answer. */
static bool parse_entries(struct parse *p, const struct kind *k, const char *field,
			  struct json_object *list, char *entries)
{
	struct replybatch *b = p->out;
	size_t n = json_object_array_length(list);
	const char *error;
	uint32_t id;

	for (size_t i = 0; i < n; i++) {
		struct json_object *el = json_object_array_get_idx(list, i);
		void *entry = entries + b->nentries * k->size;

		if (!entry_agent(p, field, i, el, &id))
			return false;
		if (!bsearch(&id, p->asked, p->nasked, sizeof(*p->asked), compare_u32)) {
			if (b->unasked++ == 0)
				b->first_unasked = id;
			continue;
		}
		memset(entry, 0, k->size);
		*(uint32_t *)entry = id;
		if ((error = k->parse(p, el, entry)))
			k->fail(entry, arena_strndup(b, error, strlen(error)));
		b->nentries++;
	}
	qsort(entries, b->nentries, k->size, compare_u32);
	mark_repeats(b, k, entries);
	return true;
}

static void parse_answer(const char *body, size_t len, const uint32_t *asked, size_t nasked,
			 struct replybatch *out, const struct kind *k)
{
	struct parse p = { .out = out, .asked = asked, .nasked = nasked };
	struct json_object *root, *list = NULL;
	const char *field = NULL;
	char *entries;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (!(root = reply_json_parse(body, len, out->reason, sizeof(out->reason)))) {
		out->status = REPLY_INVALID;
		return;
	}
	out->status = reply_envelope(root, "an agent list", &list, &field, out->reason,
				     sizeof(out->reason));
	if (out->status != REPLY_OK)
		goto done;
	n = json_object_array_length(list);
	/* Twice as many leaves room for agents listed twice, which entries report. */
	if (n > 2 * nasked) {
		fail_answer(out, "%s lists %zu entries, more than twice the %zu agents asked", field, n, nasked);
		goto done;
	}
	out->arena = chunk_new(n * k->size + k->bound(len), NULL);
	entries = arena_alloc(out, n * k->size, alignof(max_align_t));
	if (!parse_entries(&p, k, field, list, entries)) {
		replybatch_free(out);
		out->status = REPLY_INVALID;
		out->unasked = 0;
		goto done;
	}
	if (k == &calls_kind)
		out->calls = (struct replybatch_calls *)entries;
	else
		out->states = (struct replybatch_state *)entries;
done:
	json_object_put(root);
}

void replybatch_parse_calls(const char *body, size_t len, const uint32_t *asked, size_t nasked,
			    struct replybatch *out)
{
	parse_answer(body, len, asked, nasked, out, &calls_kind);
}

void replybatch_parse_states(const char *body, size_t len, const uint32_t *asked, size_t nasked,
			     struct replybatch *out)
{
	parse_answer(body, len, asked, nasked, out, &states_kind);
}

/* Keeps status and reason: what a failed answer says stays readable after the free. */
void replybatch_free(struct replybatch *b)
{
	struct chunk *c = b->arena, *next;

	for (; c; c = next) {
		next = c->next;
		free(c);
	}
	b->arena = NULL;
	b->calls = NULL;
	b->states = NULL;
	b->nentries = 0;
}

const struct replybatch_calls *replybatch_find_calls(const struct replybatch *b, uint32_t agent_id)
{
	if (!b->calls)
		return NULL;
	return bsearch(&agent_id, b->calls, b->nentries, sizeof(*b->calls), compare_u32);
}

const struct replybatch_state *replybatch_find_state(const struct replybatch *b, uint32_t agent_id)
{
	if (!b->states)
		return NULL;
	return bsearch(&agent_id, b->states, b->nentries, sizeof(*b->states), compare_u32);
}
