/* replybatch: batch answers (calls, states) read as a stream into entries keyed by agentId. */
#include "config.h"

#include <stdalign.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonsax.h"
#include "replybatch.h"
#include "replybatch_impl.h"
#include "util.h"

/* The shortest element an entry comes from, {"agentId":0}, and its comma: bounds the entries. */
#define ENTRY_JSON_MIN 14

/*
 * The answer's memory: chunks, the first sized from the body so that one allocation holds
 * everything but a rare error text.
 */
struct chunk {
	struct chunk *next;
	size_t size, used;
	max_align_t data[];
};

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
void *replybatch_arena_alloc(struct replybatch *b, size_t n, size_t align)
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

const char *replybatch_arena_strndup(struct replybatch *b, const char *s, size_t len)
{
	char *copy = replybatch_arena_alloc(b, len + 1, 1);

	memcpy(copy, s, len);
	copy[len] = '\0';
	return copy;
}

/* Kept from the first; read_list says the list's length over it. */
void replybatch_fail_list(struct parse *p, const char *fmt, ...)
{
	va_list ap;

	if (p->list.failed)
		return;
	p->list.failed = true;
	va_start(ap, fmt);
	vsnprintf(p->list.why, sizeof(p->list.why), fmt, ap);
	va_end(ap);
}

int replybatch_compare_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* ---- the list ---- */

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
		replybatch_fail_list(p, "%s[%zu] is %s, not an agent object", p->list.field, i,
				     jsonsax_type_name(v->type));
		return F_SKIP;
	}
	return replyentry_begin(p, i);
}

/* ---- the envelope ---- */

static const char *const member_names[] = { "resultCode", "resultDesc", "resultDatas" };

static void envelope_key(struct parse *p, const char *name, size_t len)
{
	struct envelope *e = &p->envelope;

	e->member = M_OTHER;
	for (size_t m = 0; m < ARRAY_SIZE(member_names); m++) {
		if (strlen(member_names[m]) != len || memcmp(member_names[m], name, len) != 0)
			continue;
		/* Which of the two to believe is unknown (json-c kept the last). */
		if (e->seen & 1u << m) {
			if (!e->env.twice)
				e->env.twice = member_names[m];
			return;
		}
		e->seen |= 1u << m;
		e->member = (enum member)m;
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
	struct reply_envelope *env = &p->envelope.env;

	switch (p->envelope.member) {
	case M_CODE:
		env->code_type = member_type(v);
		if (v->type == JSONSAX_STRING) {
			env->code = replybatch_arena_strndup(p->out, v->text, v->len);
			env->code_len = v->len;
		}
		return F_SKIP;
	case M_DESC:
		env->desc_type = member_type(v);
		env->desc_list = v->type == JSONSAX_ARRAY;
		if (v->type == JSONSAX_STRING) {
			env->desc = replybatch_arena_strndup(p->out, v->text, v->len);
			env->desc_len = v->len;
		}
		if (!env->desc_list)
			return F_SKIP;
		begin_list(p, "resultDesc");
		return F_LIST;
	case M_DATAS:
		env->datas_type = member_type(v);
		env->datas_list = v->type == JSONSAX_ARRAY;
		p->envelope.datas_at = v->at;
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
	p->envelope.env.root_object = v->type == JSONSAX_OBJECT;
	p->envelope.env.root_type = jsonsax_type_name(v->type);
	return p->envelope.env.root_object ? F_ENVELOPE : F_SKIP;
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
		case F_DATAS:	/* its elements are skipped */
			break;
		default:
			next = replyentry_value(p, p->frames[p->nframes - 1], v);
			break;
		}
	if (next == F_SKIP || (v->type != JSONSAX_OBJECT && v->type != JSONSAX_ARRAY))
		return JSONSAX_SKIP;
	p->frames[p->nframes++] = next;
	return JSONSAX_ENTER;
}

/* A member not read is skipped, its value unseen. */
static enum jsonsax_next on_key(void *ctx, const char *name, size_t len)
{
	struct parse *p = ctx;
	bool read;

	switch (p->frames[p->nframes - 1]) {
	case F_ENVELOPE:
		envelope_key(p, name, len);
		read = p->envelope.member != M_OTHER;
		break;
	case F_ENTRY:
		replyentry_key(p, name, len);
		read = p->element.members.cur != CUR_NONE;
		break;
	default:	/* F_CALL: the other frames are arrays */
		replyfield_key(&p->calls.call, name, len);
		read = p->calls.call.cur != CUR_NONE;
		break;
	}
	return read ? JSONSAX_ENTER : JSONSAX_SKIP;
}

static void on_end(void *ctx, size_t end)
{
	struct parse *p = ctx;
	enum frame frame = p->frames[--p->nframes];

	if (frame == F_DATAS)
		p->envelope.datas_end = end;
	else if (frame >= F_ENTRY)
		replyentry_end(p, frame);
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
			error = replybatch_arena_strndup(b, text, strlen(text));
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
			qsort(entries, b->nentries, k->size, replybatch_compare_u32);
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

	if (!p->envelope.env.desc_list) {
		p->datas_pass = true;
		if (!jsonsax_parse(body + p->envelope.datas_at,
				   p->envelope.datas_end - p->envelope.datas_at, &ops, p, b->reason,
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
	p.envelope.env.code_type = p.envelope.env.desc_type = p.envelope.env.datas_type = "missing";
	p.cap = 2 * nasked < len / ENTRY_JSON_MIN + 1 ? 2 * nasked : len / ENTRY_JSON_MIN + 1;
	out->arena = chunk_new(p.cap * k->size + k->bound(len), NULL);
	p.entries = replybatch_arena_alloc(out, p.cap * k->size, alignof(max_align_t));
	if (!jsonsax_parse(body, len, &ops, &p, out->reason, sizeof(out->reason))) {
		fail_answer(out, REPLY_INVALID);
		return;
	}
	out->status = reply_envelope_check(&p.envelope.env, "an agent list", &field, out->reason,
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
	if (k == &replyentry_calls_kind)
		out->calls = (struct replybatch_calls *)p.entries;
	else
		out->states = (struct replybatch_state *)p.entries;
}

void replybatch_parse_calls(const char *body, size_t len, const uint32_t *asked, size_t nasked,
			    struct replybatch *out)
{
	parse_answer(body, len, asked, nasked, out, &replyentry_calls_kind);
}

void replybatch_parse_states(const char *body, size_t len, const uint32_t *asked, size_t nasked,
			     struct replybatch *out)
{
	parse_answer(body, len, asked, nasked, out, &replyentry_states_kind);
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
	return bsearch(&agent_id, b->calls, b->nentries, sizeof(*b->calls), replybatch_compare_u32);
}

const struct replybatch_state *replybatch_find_state(const struct replybatch *b, uint32_t agent_id)
{
	if (!b->states)
		return NULL;
	return bsearch(&agent_id, b->states, b->nentries, sizeof(*b->states), replybatch_compare_u32);
}
