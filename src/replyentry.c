/* replyentry: one element of a batch answer: its agentId, and the calls or the state it carries. */
#include "config.h"

#include <limits.h>
#include <stdalign.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmscodes.h"
#include "replybatch_impl.h"
#include "util.h"

/* cms-api.md §2.2: "not set" markers, read as absent. */
#define MARK_32 4294967295LL
#define MARK_16 65535LL
#define MARK_LOGON_MS 4294967295000LL
/* currentStateTime is a 32-bit count of seconds at the CMS. */
#define STATE_SECONDS_MAX (MARK_32 - 1)

/* The shortest JSON text of a call: {"callId":"x"}. Bounds the calls an answer can hold. */
#define CALL_JSON_MIN 14

_Static_assert(offsetof(struct replybatch_calls, agent_id) == 0, "agent_id leads");
_Static_assert(offsetof(struct replybatch_state, agent_id) == 0, "agent_id leads");

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
static void call_submedia(struct parse *p, struct replyfield *o, const struct jsonsax_value *v,
			  struct reply_call *call)
{
	char where[48];

	if (v->type == JSONSAX_NULL || (v->type == JSONSAX_STRING && v->len == 0))
		return;
	if (v->type != JSONSAX_STRING) {
		replyfield_wrong(o, C_SUBMEDIA, v);
		return;
	}
	call->submedia = replyfield_text(p->out, o, C_SUBMEDIA,
					 replyfield_name(o, C_SUBMEDIA, where, sizeof(where)), "value",
					 v);
}

static void call_member(struct parse *p, const struct jsonsax_value *v)
{
	struct replyfield *o = &p->calls.call;
	struct reply_call *call = &p->calls.calls[o->index];
	char where[32];
	int64_t n;

	/* A call code absent (older releases) stays CMS_CODE_NONE; any number is kept as given. */
	switch (o->cur) {
	case C_ID:
		if (v->type != JSONSAX_STRING)
			replyfield_wrong(o, C_ID, v);
		else
			call->id = replyfield_text(p->out, o, C_ID,
						   replyfield_name(o, -1, where, sizeof(where)),
						   "call ID", v);
		break;
	case C_STATUS:
		if (replyfield_int(o, C_STATUS, v, &n) == GOT_VALUE)
			call->status = (int16_t)n;
		break;
	case C_DIRECTION:
		if (replyfield_int(o, C_DIRECTION, v, &n) == GOT_VALUE)
			call->direction = (int16_t)n;
		break;
	case C_MEDIA:
		if (replyfield_int(o, C_MEDIA, v, &n) == GOT_VALUE)
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
		replyfield_wrong_type(c->why, sizeof(c->why), where, v, "a call object");
		c->failed = true;
		return F_SKIP;
	}
	c->calls[i] = (struct reply_call){ .status = CMS_CODE_NONE, .direction = CMS_CODE_NONE,
					   .media = CMS_CODE_NONE };
	replyfield_begin(&c->call, call_fields, ARRAY_SIZE(call_fields), "callList", i);
	return F_CALL;
}

static void call_end(struct parse *p)
{
	struct calls *c = &p->calls;

	replyfield_end(&c->call);
	if (c->call.rank != RANK_NONE && !c->failed) {
		memcpy(c->why, c->call.why, sizeof(c->why));
		c->failed = true;
	}
}

/* The end of callList: its calls into the arena, sorted and unique, or the entry's error. */
static void calls_end(struct parse *p)
{
	struct replybatch_calls *e = &p->element.entry.calls;
	struct calls *c = &p->calls;
	struct reply_call *kept;

	if (c->n > REPLY_MAX_CALLS)
		replyfield_fail(&p->element.members, 0, REPLY_TOO_MANY_CALLS, "callList", c->n,
				REPLY_MAX_CALLS);
	else if (c->failed)
		replyfield_fail(&p->element.members, 0, "%s", c->why);
	if (p->element.members.rank != RANK_NONE || c->n == 0)
		return;
	kept = replybatch_arena_alloc(p->out, c->n * sizeof(*kept), alignof(struct reply_call));
	memcpy(kept, c->calls, c->n * sizeof(*kept));
	e->ncalls = c->n > 1 ? (uint32_t)reply_calls_unique(kept, c->n) : 1;
	e->calls = kept;
}

static enum frame calls_entry_member(struct parse *p, int f, const struct jsonsax_value *v)
{
	(void)f;
	if (v->type != JSONSAX_ARRAY) {
		replyfield_wrong(&p->element.members, 0, v);
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
	struct replybatch_state *e = &p->element.entry.state;
	int64_t n;

	if (replyfield_int(&p->element.members, f, v, &n) != GOT_VALUE)
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

const struct kind replyentry_calls_kind = { sizeof(struct replybatch_calls), calls_fields,
					    ARRAY_SIZE(calls_fields), NULL, calls_entry_member,
					    fail_calls_entry, calls_bound };
const struct kind replyentry_states_kind = { sizeof(struct replybatch_state), state_fields,
					     ARRAY_SIZE(state_fields), begin_state_entry,
					     state_member, fail_state_entry, states_bound };

/* ---- the element ---- */

enum frame replyentry_begin(struct parse *p, size_t index)
{
	replyfield_begin(&p->element.members, p->k->fields, p->k->nfields, NULL, index);
	p->element.agent_seen = false;
	memset(&p->element.entry, 0, sizeof(p->element.entry));
	if (p->k->begin)
		p->k->begin(&p->element.entry);
	return F_ENTRY;
}

static const struct field agent_field = { "agentId", 7, "an integer", true, NULL, 0, UINT32_MAX };

/* Answers tend to follow the request's order: the agent after the last one found comes first. */
static bool is_asked(struct parse *p, uint32_t id)
{
	const uint32_t *at;

	if (p->list.hint < p->nasked && p->asked[p->list.hint] == id) {
		p->list.hint++;
		return true;
	}
	at = bsearch(&id, p->asked, p->nasked, sizeof(*p->asked), replybatch_compare_u32);
	if (at)
		p->list.hint = (size_t)(at - p->asked) + 1;
	return at != NULL;
}

void replyentry_key(struct parse *p, const char *name, size_t len)
{
	if (len == agent_field.len && memcmp(name, agent_field.name, len) == 0) {
		/* Listed twice: said over what its first value may have said (elements after a
		 * failed one are skipped, so only this one can have failed the list). */
		if (p->element.agent_seen) {
			p->list.failed = false;
			replybatch_fail_list(p, "%s[%zu].agentId appears twice in its object",
					     p->list.field, p->element.members.index);
		}
		p->element.members.cur = p->element.agent_seen ? CUR_NONE : CUR_AGENT;
		p->element.agent_seen = true;
		return;
	}
	replyfield_key(&p->element.members, name, len);
}

/* agentId: an element whose agent is unknown fails the answer. */
static void entry_agent(struct parse *p, const struct jsonsax_value *v)
{
	enum got got;
	char name[48];
	int64_t n;

	got = replyfield_get_int(&agent_field, v, &n);
	if (got == GOT_VALUE) {
		p->element.agent_id = (uint32_t)n;
		return;
	}
	if (p->list.failed)
		return;
	snprintf(name, sizeof(name), "%s[%zu].agentId", p->list.field, p->element.members.index);
	replyfield_int_problem(p->list.why, sizeof(p->list.why), name, &agent_field, v, got);
	p->list.failed = true;
}

static enum frame entry_member(struct parse *p, const struct jsonsax_value *v)
{
	if (p->element.members.cur == CUR_AGENT) {
		entry_agent(p, v);
		return F_SKIP;
	}
	if (p->element.members.cur < 0)
		return F_SKIP;
	return p->k->member(p, p->element.members.cur, v);
}

/* The element ends: kept as an entry when its agent was asked, with its error if any. */
static void entry_end(struct parse *p)
{
	struct replybatch *b = p->out;
	struct replyfield *o = &p->element.members;
	void *entry = &p->element.entry;

	if (p->list.failed)
		return;
	if (!p->element.agent_seen) {
		replybatch_fail_list(p, "%s[%zu].agentId is missing, not an integer",
				     p->list.field, p->element.members.index);
		return;
	}
	if (!is_asked(p, p->element.agent_id)) {
		if (b->unasked++ == 0)
			b->first_unasked = p->element.agent_id;
		return;
	}
	replyfield_end(o);
	if (o->rank != RANK_NONE)
		p->k->fail(entry, replybatch_arena_strndup(b, o->why, strlen(o->why)));
	*(uint32_t *)entry = p->element.agent_id;
	/* cap holds them all (parse_answer): each needs ENTRY_JSON_MIN bytes of the body. */
	memcpy(p->entries + b->nentries++ * p->k->size, entry, p->k->size);
}

enum frame replyentry_value(struct parse *p, enum frame frame, const struct jsonsax_value *v)
{
	switch (frame) {
	case F_ENTRY:
		return entry_member(p, v);
	case F_CALLS:
		return calls_element(p, v);
	default:	/* F_CALL */
		call_member(p, v);
		return F_SKIP;
	}
}

void replyentry_end(struct parse *p, enum frame frame)
{
	switch (frame) {
	case F_ENTRY:
		entry_end(p);
		break;
	case F_CALLS:
		calls_end(p);
		break;
	default:	/* F_CALL */
		call_end(p);
		break;
	}
}
