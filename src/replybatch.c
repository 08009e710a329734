/* replybatch: batch answers (calls or states of many agents), read as a stream, as entries keyed by agentId. */
#include "config.h"

#include <limits.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmscodes.h"
#include "jsonsax.h"
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
/* The shortest element an entry comes from, {"agentId":0}, and its comma: bounds the entries. */
#define ENTRY_JSON_MIN 14
#define SPILL_MIN 4096
/* A value as messages show it: enough for any number, a string is cut. */
#define SHOWN_MAX 48
/* The rank of no error: any field's beats it. */
#define RANK_NONE INT_MAX
/* obj.cur of a member not read, and of an element's agentId. */
#define CUR_NONE (-1)
#define CUR_AGENT (-2)

/*
 * The answer's memory: chunks, the first sized from the body so that one allocation holds
 * everything but a rare error text.
 */
struct chunk {
	struct chunk *next;
	size_t size, used;
	max_align_t data[];
};

/* A member the daemon reads: an integer in min..max whose marks read as absent, or what want says. */
struct field {
	const char *name;
	size_t len;
	const char *want;	/* "an integer", "a string", "an array" */
	bool required;		/* absent, or null for an integer, is an error */
	const long long *marks;	/* ending with 0, or NULL */
	long long min, max;
};

/*
 * An object being read (an entry, a call): its members' rules, which were seen, and the error of
 * the first field that fails in the order of fields[] (the order they are checked in), whatever
 * the members' order in the text.
 */
struct obj {
	const struct field *fields;
	size_t nfields;
	const char *list;	/* member names are "list[index].name"; "name" when NULL */
	size_t index;
	uint32_t seen;		/* bit f: fields[f] was a member */
	int cur;		/* the field of the member whose value comes next, or CUR_* */
	int rank;		/* the field of the error in why, or RANK_NONE */
	char why[REPLY_REASON_MAX];
};

/* What the open arrays and objects are, from the top. */
enum frame {
	F_SKIP = -1,		/* not entered */
	F_ENVELOPE,
	F_LIST,			/* the list read: its elements are the entries */
	F_DATAS,		/* resultDatas while resultDesc may follow: only its extent */
	F_ENTRY,
	F_CALLS,		/* an entry's callList */
	F_CALL,
};
#define FRAMES_MAX 5

/* The envelope's members. */
enum member { M_CODE, M_DESC, M_DATAS, M_OTHER };

/* The list read: resultDesc, or resultDatas read after the whole body. */
struct list {
	const char *field;
	size_t count;		/* its elements */
	bool failed;		/* an element no agent can own: why says which */
	char why[REPLY_REASON_MAX];
	size_t hint;		/* the asked agent after the last one found */
};

/* The callList being read: calls kept in calls[] until its end, then copied to the arena. */
struct calls {
	size_t n;		/* elements so far */
	bool failed;		/* the first call that failed: why */
	char why[REPLY_REASON_MAX];
	struct reply_call calls[REPLY_MAX_CALLS];
	struct obj call;	/* the call object being read, calls[call.index] */
};

/* One parse: the answer being filled, the agents asked, where the stream is. */
struct parse {
	struct replybatch *out;
	const struct kind *k;
	const uint32_t *asked;
	size_t nasked;
	char *entries;		/* capacity for cap; out->nentries filled */
	size_t cap;
	enum frame frames[FRAMES_MAX];
	size_t nframes;
	bool datas_pass;	/* reading the resultDatas extent: its array is the top */
	struct reply_envelope env;
	unsigned env_seen;	/* bit m: member m was seen */
	enum member member;	/* the envelope member whose value comes next */
	size_t datas_at, datas_end;
	struct list list;
	struct obj entry;	/* the element being read... */
	bool agent_seen;	/* ...its agentId... */
	uint32_t agent_id;
	union {			/* ...and its entry, kept when the agent was asked */
		struct replybatch_calls calls;
		struct replybatch_state state;
	} scratch;
	struct calls calls;
};

/* What differs between the two interfaces' entries; both start with agent_id. */
struct kind {
	size_t size;
	const struct field *fields;	/* the entry's members but agentId, in checking order */
	size_t nfields;
	void (*begin)(void *entry);	/* the defaults beyond all zero, or NULL */
	/* A member's value, fields[f]: the frame to enter for an array or object, or F_SKIP. */
	enum frame (*member)(struct parse *p, int f, const struct jsonsax_value *v);
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

static void fail_list(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The first element no agent can own fails the answer (unless it is too long anyway). */
static void fail_list(struct parse *p, const char *fmt, ...)
{
	va_list ap;

	if (p->list.failed)
		return;
	p->list.failed = true;
	va_start(ap, fmt);
	vsnprintf(p->list.why, sizeof(p->list.why), fmt, ap);
	va_end(ap);
}

/* ---- one object's members, judged in the order of its fields ---- */

static void obj_begin(struct obj *o, const struct field *fields, size_t nfields, const char *list,
		      size_t index)
{
	o->fields = fields;
	o->nfields = nfields;
	o->list = list;
	o->index = index;
	o->seen = 0;
	o->cur = CUR_NONE;
	o->rank = RANK_NONE;
}

/* The name of field f of o as messages give it; f -1 is the object itself. */
static const char *obj_name(const struct obj *o, int f, char *buf, size_t size)
{
	if (!o->list)
		return o->fields[f].name;
	if (f < 0)
		snprintf(buf, size, "%s[%zu]", o->list, o->index);
	else
		snprintf(buf, size, "%s[%zu].%s", o->list, o->index, o->fields[f].name);
	return buf;
}

/* Whether an error of field f is the one to keep: none yet, or one of a later field. */
static bool obj_wants(struct obj *o, int f)
{
	if (f >= o->rank)
		return false;
	o->rank = f;
	return true;
}

static void obj_fail(struct obj *o, int f, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void obj_fail(struct obj *o, int f, const char *fmt, ...)
{
	va_list ap;

	if (!obj_wants(o, f))
		return;
	va_start(ap, fmt);
	vsnprintf(o->why, sizeof(o->why), fmt, ap);
	va_end(ap);
}

/*
 * A member name: its field is the next value's, or -1 for one not read. A member listed twice
 * is its field's error: which of the two to believe is unknown (json-c kept the last).
 */
static void obj_key(struct obj *o, const char *name, size_t len)
{
	char buf[48];

	o->cur = CUR_NONE;
	for (size_t f = 0; f < o->nfields; f++) {
		if (o->fields[f].len != len || memcmp(o->fields[f].name, name, len) != 0)
			continue;
		if (o->seen & 1u << f) {
			if (o->rank == (int)f)
				o->rank = (int)f + 1;	/* above the field's other errors */
			obj_fail(o, (int)f, "%s appears twice in its object",
				 obj_name(o, (int)f, buf, sizeof(buf)));
			return;
		}
		o->seen |= 1u << f;
		o->cur = (int)f;
		return;
	}
}

/* The required fields that were not members. */
static void obj_end(struct obj *o)
{
	char buf[48];

	for (size_t f = 0; f < o->nfields && (int)f < o->rank; f++)
		if (o->fields[f].required && !(o->seen & 1u << f))
			obj_fail(o, (int)f, "%s is missing, not %s", obj_name(o, (int)f, buf, sizeof(buf)),
				 o->fields[f].want);
}

/*
 * "NAME is TYPE[ VALUE], not WANT": "callStatus is string \"5\", not an integer". Objects and
 * arrays, which may be long, are not shown; a number is shown as json-c prints it.
 */
static void wrong_type(char *buf, size_t size, const char *name, const struct jsonsax_value *v,
		       const char *want)
{
	char text[SHOWN_MAX], num[JSONSAX_INT_TEXT];
	const char *s;
	size_t len;

	switch (v->type) {
	case JSONSAX_NULL:
	case JSONSAX_OBJECT:
	case JSONSAX_ARRAY:
		snprintf(buf, size, "%s is %s, not %s", name, jsonsax_type_name(v->type), want);
		return;
	case JSONSAX_STRING:
		reply_sanitize(v->text, v->len, text, sizeof(text));
		snprintf(buf, size, "%s is string \"%s\", not %s", name, text, want);
		return;
	default:
		s = jsonsax_text(v, num, &len);
		reply_sanitize(s, len, text, sizeof(text));
		snprintf(buf, size, "%s is %s %s, not %s", name, jsonsax_type_name(v->type), text, want);
	}
}

/* v is not what field f of o wants. */
static void obj_wrong(struct obj *o, int f, const struct jsonsax_value *v)
{
	char name[48];

	if (obj_wants(o, f))
		wrong_type(o->why, sizeof(o->why), obj_name(o, f, name, sizeof(name)), v,
			   o->fields[f].want);
}

enum got { GOT_VALUE, GOT_ABSENT, GOT_WRONG, GOT_RANGE };

/*
 * v as field's integer, into *n. null is absent when the field is optional, and so is a marker;
 * GOT_WRONG and GOT_RANGE are for int_problem to say.
 */
static enum got get_int(const struct field *field, const struct jsonsax_value *v, int64_t *n)
{
	if (v->type == JSONSAX_NULL && !field->required)
		return GOT_ABSENT;
	if (v->type != JSONSAX_INT)
		return GOT_WRONG;
	for (const long long *m = field->marks; m && *m; m++)
		if (v->i == *m)
			return GOT_ABSENT;
	if (v->i < field->min || v->i > field->max)
		return GOT_RANGE;
	*n = v->i;
	return GOT_VALUE;
}

static void int_problem(char *buf, size_t size, const char *name, const struct field *field,
			const struct jsonsax_value *v, enum got got)
{
	char num[JSONSAX_INT_TEXT];
	size_t len;
	const char *text;

	if (got == GOT_WRONG) {
		wrong_type(buf, size, name, v, field->want);
		return;
	}
	text = jsonsax_text(v, num, &len);
	snprintf(buf, size, "%s %.*s is out of range %lld..%lld", name, (int)len, text, field->min,
		 field->max);
}

/* Field f of o as an integer: GOT_VALUE with *n, GOT_ABSENT, or an error of o. */
static enum got obj_int(struct obj *o, int f, const struct jsonsax_value *v, int64_t *n)
{
	enum got got = get_int(&o->fields[f], v, n);
	char name[48];

	if ((got == GOT_WRONG || got == GOT_RANGE) && obj_wants(o, f))
		int_problem(o->why, sizeof(o->why), obj_name(o, f, name, sizeof(name)),
			    &o->fields[f], v, got);
	return got;
}

/* A string member for the arena: NULL when it breaks the call ID rules (o's error then). */
static const char *obj_text(struct parse *p, struct obj *o, int f, const char *where,
			    const char *what, const struct jsonsax_value *v)
{
	char buf[REPLY_REASON_MAX];

	if (reply_text_problem(where, what, v->text, v->len, REPLY_CALL_ID_MAX, buf, sizeof(buf))) {
		obj_fail(o, f, "%s", buf);
		return NULL;
	}
	return arena_strndup(p->out, v->text, v->len);
}

/* ---- the calls interface ---- */

enum { C_ID, C_STATUS, C_DIRECTION, C_MEDIA, C_SUBMEDIA };

static const struct field call_fields[] = {
	[C_ID] = { "callId", 6, "a string", true, NULL, 0, 0 },
	[C_STATUS] = { "callStatus", 10, "an integer", false, NULL, 0, INT16_MAX },
	[C_DIRECTION] = { "callInOut", 9, "an integer", false, NULL, 0, INT16_MAX },
	[C_MEDIA] = { "mediaType", 9, "an integer", false, NULL, 0, INT32_MAX },
	[C_SUBMEDIA] = { "submediaType", 12, "a string", false, NULL, 0, 0 },
};

static const struct field calls_fields[] = {
	{ "callList", 8, "an array", true, NULL, 0, 0 },
};

/* submediaType: null or "" is none; otherwise bounded text like a call ID. */
static void call_submedia(struct parse *p, struct obj *o, const struct jsonsax_value *v,
			  struct reply_call *call)
{
	char where[48];

	if (v->type == JSONSAX_NULL || (v->type == JSONSAX_STRING && v->len == 0))
		return;
	if (v->type != JSONSAX_STRING) {
		obj_wrong(o, C_SUBMEDIA, v);
		return;
	}
	call->submedia = obj_text(p, o, C_SUBMEDIA,
				  obj_name(o, C_SUBMEDIA, where, sizeof(where)), "value", v);
}

static void call_member(struct parse *p, const struct jsonsax_value *v)
{
	struct obj *o = &p->calls.call;
	struct reply_call *call = &p->calls.calls[o->index];
	char where[32];
	int64_t n;

	/* A call code absent (older releases) stays CMS_CODE_NONE; any number is kept as given. */
	switch (o->cur) {
	case C_ID:
		if (v->type != JSONSAX_STRING)
			obj_wrong(o, C_ID, v);
		else
			call->id = obj_text(p, o, C_ID, obj_name(o, -1, where, sizeof(where)),
					    "call ID", v);
		break;
	case C_STATUS:
		if (obj_int(o, C_STATUS, v, &n) == GOT_VALUE)
			call->status = (int16_t)n;
		break;
	case C_DIRECTION:
		if (obj_int(o, C_DIRECTION, v, &n) == GOT_VALUE)
			call->direction = (int16_t)n;
		break;
	case C_MEDIA:
		if (obj_int(o, C_MEDIA, v, &n) == GOT_VALUE)
			call->media = (int32_t)n;
		break;
	case C_SUBMEDIA:
		call_submedia(p, o, v, call);
		break;
	}
}

/* An element of callList: a call object is entered unless the list has failed already. */
static enum frame calls_element(struct parse *p, const struct jsonsax_value *v)
{
	struct calls *c = &p->calls;
	size_t i = c->n++;
	char where[32];

	if (c->failed || i >= REPLY_MAX_CALLS)
		return F_SKIP;
	if (v->type != JSONSAX_OBJECT) {
		snprintf(where, sizeof(where), "callList[%zu]", i);
		wrong_type(c->why, sizeof(c->why), where, v, "a call object");
		c->failed = true;
		return F_SKIP;
	}
	c->calls[i] = (struct reply_call){ .status = CMS_CODE_NONE, .direction = CMS_CODE_NONE,
					   .media = CMS_CODE_NONE };
	obj_begin(&c->call, call_fields, ARRAY_SIZE(call_fields), "callList", i);
	return F_CALL;
}

static void call_end(struct parse *p)
{
	struct calls *c = &p->calls;

	obj_end(&c->call);
	if (c->call.rank != RANK_NONE && !c->failed) {
		memcpy(c->why, c->call.why, sizeof(c->why));
		c->failed = true;
	}
}

/* The end of callList: its calls into the arena, sorted and unique, or the entry's error. */
static void calls_end(struct parse *p)
{
	struct replybatch_calls *e = &p->scratch.calls;
	struct calls *c = &p->calls;
	struct reply_call *kept;

	if (c->n > REPLY_MAX_CALLS)
		obj_fail(&p->entry, 0, REPLY_TOO_MANY_CALLS, "callList", c->n, REPLY_MAX_CALLS);
	else if (c->failed)
		obj_fail(&p->entry, 0, "%s", c->why);
	if (p->entry.rank != RANK_NONE || c->n == 0)
		return;
	kept = arena_alloc(p->out, c->n * sizeof(*kept), alignof(struct reply_call));
	memcpy(kept, c->calls, c->n * sizeof(*kept));
	e->ncalls = c->n > 1 ? (uint32_t)reply_calls_unique(kept, c->n) : 1;
	e->calls = kept;
}

static enum frame calls_entry_member(struct parse *p, int f, const struct jsonsax_value *v)
{
	(void)f;
	if (v->type != JSONSAX_ARRAY) {
		obj_wrong(&p->entry, 0, v);
		return F_SKIP;
	}
	p->calls.n = 0;
	p->calls.failed = false;
	return F_CALLS;
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

/* ---- the state interface ---- */

static const long long marks_code[] = { MARK_16, MARK_32, 0 };
static const long long marks_seconds[] = { MARK_32, 0 };
static const long long marks_logon[] = { MARK_LOGON_MS, MARK_32, 0 };

enum { S_STATE, S_PREV, S_SECONDS, S_REASON, S_LOGON };

static const struct field state_fields[] = {
	[S_STATE] = { "currentState", 12, "an integer", true, NULL, 0, CMS_STATE_COUNT - 1 },
	[S_PREV] = { "prevState", 9, "an integer", false, marks_code, 0, CMS_STATE_COUNT - 1 },
	[S_SECONDS] = { "currentStateTime", 16, "an integer", false, marks_seconds, 0,
			STATE_SECONDS_MAX },
	[S_REASON] = { "currentStateReason", 18, "an integer", false, marks_code, 0, INT32_MAX },
	[S_LOGON] = { "logonTime", 9, "an integer", false, marks_logon, 0, MARK_LOGON_MS },
};

static void begin_state_entry(void *entry)
{
	struct replybatch_state *e = entry;

	e->prev_state = CMS_CODE_NONE;
	e->state_seconds = e->logon_ms = -1;
	e->reason = CMS_CODE_NONE;
}

static enum frame state_member(struct parse *p, int f, const struct jsonsax_value *v)
{
	struct replybatch_state *e = &p->scratch.state;
	int64_t n;

	if (obj_int(&p->entry, f, v, &n) != GOT_VALUE)
		return F_SKIP;
	switch (f) {
	case S_STATE:
		e->state = (int16_t)n;
		break;
	case S_PREV:
		e->prev_state = (int16_t)n;
		break;
	case S_SECONDS:
		e->state_seconds = n;
		break;
	case S_REASON:
		e->reason = (int32_t)n;
		break;
	case S_LOGON:
		e->logon_ms = n;
		break;
	}
	return F_SKIP;
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

static const struct kind calls_kind = { sizeof(struct replybatch_calls), calls_fields,
					ARRAY_SIZE(calls_fields), NULL,
					calls_entry_member, fail_calls_entry, calls_bound };
static const struct kind states_kind = { sizeof(struct replybatch_state), state_fields,
					 ARRAY_SIZE(state_fields), begin_state_entry, state_member,
					 fail_state_entry, states_bound };

/* ---- the list and its entries ---- */

static const struct field agent_field = { "agentId", 7, "an integer", true, NULL, 0, UINT32_MAX };

static int compare_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Answers tend to follow the request's order: the agent after the last one found comes first. */
static bool is_asked(struct parse *p, uint32_t id)
{
	const uint32_t *at;

	if (p->list.hint < p->nasked && p->asked[p->list.hint] == id) {
		p->list.hint++;
		return true;
	}
	at = bsearch(&id, p->asked, p->nasked, sizeof(*p->asked), compare_u32);
	if (at)
		p->list.hint = (size_t)(at - p->asked) + 1;
	return at != NULL;
}

static void begin_list(struct parse *p, const char *field)
{
	p->list = (struct list){ .field = field };
}

/*
 * An element of the list: an object is an entry to read, unless the answer fails anyway (an
 * earlier element no agent can own, or more elements than twice the agents asked).
 */
static enum frame list_element(struct parse *p, const struct jsonsax_value *v)
{
	size_t i = p->list.count++;

	if (p->list.failed || p->list.count > 2 * p->nasked)
		return F_SKIP;
	if (v->type != JSONSAX_OBJECT) {
		fail_list(p, "%s[%zu] is %s, not an agent object", p->list.field, i,
			  jsonsax_type_name(v->type));
		return F_SKIP;
	}
	obj_begin(&p->entry, p->k->fields, p->k->nfields, NULL, i);
	p->agent_seen = false;
	memset(&p->scratch, 0, sizeof(p->scratch));
	if (p->k->begin)
		p->k->begin(&p->scratch);
	return F_ENTRY;
}

static void entry_key(struct parse *p, const char *name, size_t len)
{
	if (len == agent_field.len && memcmp(name, agent_field.name, len) == 0) {
		/* Listed twice: said over what its first value may have said (elements after a
		 * failed one are skipped, so only this one can have failed the list). */
		if (p->agent_seen) {
			p->list.failed = false;
			fail_list(p, "%s[%zu].agentId appears twice in its object", p->list.field,
				  p->entry.index);
		}
		p->entry.cur = p->agent_seen ? CUR_NONE : CUR_AGENT;
		p->agent_seen = true;
		return;
	}
	obj_key(&p->entry, name, len);
}

/* agentId: an element whose agent is unknown fails the answer. */
static void entry_agent(struct parse *p, const struct jsonsax_value *v)
{
	enum got got;
	char name[48];
	int64_t n;

	got = get_int(&agent_field, v, &n);
	if (got == GOT_VALUE) {
		p->agent_id = (uint32_t)n;
		return;
	}
	if (p->list.failed)
		return;
	snprintf(name, sizeof(name), "%s[%zu].agentId", p->list.field, p->entry.index);
	int_problem(p->list.why, sizeof(p->list.why), name, &agent_field, v, got);
	p->list.failed = true;
}

static enum frame entry_member(struct parse *p, const struct jsonsax_value *v)
{
	if (p->entry.cur == CUR_AGENT) {
		entry_agent(p, v);
		return F_SKIP;
	}
	if (p->entry.cur < 0)
		return F_SKIP;
	return p->k->member(p, p->entry.cur, v);
}

/* The element ends: kept as an entry when its agent was asked, with its error if any. */
static void entry_end(struct parse *p)
{
	struct replybatch *b = p->out;
	void *entry = &p->scratch;

	if (p->list.failed)
		return;
	if (!p->agent_seen) {
		fail_list(p, "%s[%zu].agentId is missing, not an integer", p->list.field,
			  p->entry.index);
		return;
	}
	if (!is_asked(p, p->agent_id)) {
		if (b->unasked++ == 0)
			b->first_unasked = p->agent_id;
		return;
	}
	obj_end(&p->entry);
	if (p->entry.rank != RANK_NONE)
		p->k->fail(entry, arena_strndup(b, p->entry.why, strlen(p->entry.why)));
	*(uint32_t *)entry = p->agent_id;
	/* cap holds them all: an entry needs ENTRY_JSON_MIN bytes of the body. */
	memcpy(p->entries + b->nentries++ * p->k->size, entry, p->k->size);
}

/* ---- the envelope ---- */

static const char *const member_names[] = { "resultCode", "resultDesc", "resultDatas" };

static void envelope_key(struct parse *p, const char *name, size_t len)
{
	p->member = M_OTHER;
	for (size_t m = 0; m < ARRAY_SIZE(member_names); m++) {
		if (strlen(member_names[m]) != len || memcmp(member_names[m], name, len) != 0)
			continue;
		if (p->env_seen & 1u << m) {
			if (!p->env.twice)
				p->env.twice = member_names[m];
			return;
		}
		p->env_seen |= 1u << m;
		p->member = (enum member)m;
		return;
	}
}

/* json-c reads a member that is null as no member: reply.c's messages say "missing" for both. */
static const char *member_type(const struct jsonsax_value *v)
{
	return v->type == JSONSAX_NULL ? "missing" : jsonsax_type_name(v->type);
}

/*
 * resultDesc is read as it comes; resultDatas, which comes first in Huawei's sample, is only
 * measured, and read after the body only when resultDesc is no list.
 */
static enum frame envelope_member(struct parse *p, const struct jsonsax_value *v)
{
	struct reply_envelope *env = &p->env;

	switch (p->member) {
	case M_CODE:
		env->code_type = member_type(v);
		if (v->type == JSONSAX_STRING) {
			env->code = arena_strndup(p->out, v->text, v->len);
			env->code_len = v->len;
		}
		return F_SKIP;
	case M_DESC:
		env->desc_type = member_type(v);
		env->desc_list = v->type == JSONSAX_ARRAY;
		if (v->type == JSONSAX_STRING) {
			env->desc = arena_strndup(p->out, v->text, v->len);
			env->desc_len = v->len;
		}
		if (!env->desc_list)
			return F_SKIP;
		begin_list(p, "resultDesc");
		return F_LIST;
	case M_DATAS:
		env->datas_type = member_type(v);
		env->datas_list = v->type == JSONSAX_ARRAY;
		p->datas_at = v->at;
		return env->datas_list ? F_DATAS : F_SKIP;
	default:
		return F_SKIP;
	}
}

static enum frame top_value(struct parse *p, const struct jsonsax_value *v)
{
	if (p->datas_pass) {
		begin_list(p, "resultDatas");
		return F_LIST;
	}
	p->env.root_object = v->type == JSONSAX_OBJECT;
	p->env.root_type = jsonsax_type_name(v->type);
	return p->env.root_object ? F_ENVELOPE : F_SKIP;
}

/* ---- the stream's callbacks ---- */

static enum jsonsax_next on_value(void *ctx, const struct jsonsax_value *v)
{
	struct parse *p = ctx;
	enum frame next = F_SKIP;

	if (p->nframes == 0)
		next = top_value(p, v);
	else
		switch (p->frames[p->nframes - 1]) {
		case F_ENVELOPE:
			next = envelope_member(p, v);
			break;
		case F_LIST:
			next = list_element(p, v);
			break;
		case F_ENTRY:
			next = entry_member(p, v);
			break;
		case F_CALLS:
			next = calls_element(p, v);
			break;
		case F_CALL:
			call_member(p, v);
			break;
		default:	/* F_DATAS: its elements are skipped */
			break;
		}
	if (next == F_SKIP || (v->type != JSONSAX_OBJECT && v->type != JSONSAX_ARRAY))
		return JSONSAX_SKIP;
	p->frames[p->nframes++] = next;
	return JSONSAX_ENTER;
}

static void on_key(void *ctx, const char *name, size_t len)
{
	struct parse *p = ctx;

	switch (p->frames[p->nframes - 1]) {
	case F_ENVELOPE:
		envelope_key(p, name, len);
		break;
	case F_ENTRY:
		entry_key(p, name, len);
		break;
	default:	/* F_CALL: the other frames are arrays */
		obj_key(&p->calls.call, name, len);
		break;
	}
}

static void on_end(void *ctx, size_t end)
{
	struct parse *p = ctx;

	switch (p->frames[--p->nframes]) {
	case F_DATAS:
		p->datas_end = end;
		break;
	case F_ENTRY:
		entry_end(p);
		break;
	case F_CALLS:
		calls_end(p);
		break;
	case F_CALL:
		call_end(p);
		break;
	default:
		break;
	}
}

static const struct jsonsax_ops ops = { on_value, on_key, on_end };

/* ---- the answer ---- */

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

/* Sorted by agent_id: usually they come so, then no sort is needed. */
static void sort_entries(struct replybatch *b, const struct kind *k, char *entries)
{
	for (size_t i = 1; i < b->nentries; i++)
		if (*(uint32_t *)(entries + (i - 1) * k->size) > *(uint32_t *)(entries + i * k->size)) {
			qsort(entries, b->nentries, k->size, compare_u32);
			break;
		}
	mark_repeats(b, k, entries);
}

/* A failed answer keeps its status and reason, and nothing else. */
static void fail_answer(struct replybatch *b, enum reply_status status)
{
	replybatch_free(b);
	b->status = status;
	b->unasked = 0;
	b->first_unasked = 0;
}

/* The list the envelope chose: resultDesc, read already, or resultDatas, read now. */
static bool read_list(struct parse *p, const char *body)
{
	struct replybatch *b = p->out;

	if (!p->env.desc_list) {
		p->datas_pass = true;
		if (!jsonsax_parse(body + p->datas_at, p->datas_end - p->datas_at, &ops, p, b->reason,
				   sizeof(b->reason)))
			return false;
	}
	/* Twice as many leaves room for agents listed twice, which entries report. */
	if (p->list.count > 2 * p->nasked)
		snprintf(b->reason, sizeof(b->reason),
			 "%s lists %zu entries, more than twice the %zu agents asked", p->list.field,
			 p->list.count, p->nasked);
	else if (p->list.failed)
		snprintf(b->reason, sizeof(b->reason), "%s", p->list.why);
	return p->list.count <= 2 * p->nasked && !p->list.failed;
}

static void parse_answer(const char *body, size_t len, const uint32_t *asked, size_t nasked,
			 struct replybatch *out, const struct kind *k)
{
	struct parse p = { .out = out, .k = k, .asked = asked, .nasked = nasked };
	const char *field;

	memset(out, 0, sizeof(*out));
	p.env.code_type = p.env.desc_type = p.env.datas_type = "missing";
	p.cap = 2 * nasked < len / ENTRY_JSON_MIN + 1 ? 2 * nasked : len / ENTRY_JSON_MIN + 1;
	out->arena = chunk_new(p.cap * k->size + k->bound(len), NULL);
	p.entries = arena_alloc(out, p.cap * k->size, alignof(max_align_t));
	if (!jsonsax_parse(body, len, &ops, &p, out->reason, sizeof(out->reason))) {
		fail_answer(out, REPLY_INVALID);
		return;
	}
	out->status = reply_envelope_check(&p.env, "an agent list", &field, out->reason,
					   sizeof(out->reason));
	if (out->status != REPLY_OK) {
		fail_answer(out, out->status);
		return;
	}
	if (!read_list(&p, body)) {
		fail_answer(out, REPLY_INVALID);
		return;
	}
	sort_entries(out, k, p.entries);
	if (k == &calls_kind)
		out->calls = (struct replybatch_calls *)p.entries;
	else
		out->states = (struct replybatch_state *)p.entries;
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
