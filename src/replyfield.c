/* replyfield: an object of a batch answer, its members judged against its fields in order. */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "replybatch_impl.h"

/* A value as messages show it: enough for any number, a string is cut. */
#define SHOWN_MAX 48

void replyfield_begin(struct replyfield *o, const struct field *fields, size_t nfields,
		      const char *list, size_t index)
{
	o->fields = fields;
	o->nfields = nfields;
	o->list = list;
	o->index = index;
	o->seen = 0;
	o->cur = CUR_NONE;
	o->rank = RANK_NONE;
}

const char *replyfield_name(const struct replyfield *o, int f, char *buf, size_t size)
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
static bool wants(struct replyfield *o, int f)
{
	if (f >= o->rank)
		return false;
	o->rank = f;
	return true;
}

void replyfield_fail(struct replyfield *o, int f, const char *fmt, ...)
{
	va_list ap;

	if (!wants(o, f))
		return;
	va_start(ap, fmt);
	vsnprintf(o->why, sizeof(o->why), fmt, ap);
	va_end(ap);
}

/*
 * A member name: its field is the next value's, or CUR_NONE for one not read. A member listed
 * twice is its field's error: which of the two to believe is unknown (json-c kept the last).
 */
void replyfield_key(struct replyfield *o, const char *name, size_t len)
{
	char buf[48];

	o->cur = CUR_NONE;
	for (size_t f = 0; f < o->nfields; f++) {
		if (o->fields[f].len != len || memcmp(o->fields[f].name, name, len) != 0)
			continue;
		if (o->seen & 1u << f) {
			if (o->rank == (int)f)
				o->rank = (int)f + 1;	/* above the field's other errors */
			replyfield_fail(o, (int)f, "%s appears twice in its object",
					replyfield_name(o, (int)f, buf, sizeof(buf)));
			return;
		}
		o->seen |= 1u << f;
		o->cur = (int)f;
		return;
	}
}

/* The required fields that were not members. */
void replyfield_end(struct replyfield *o)
{
	char buf[48];

	for (size_t f = 0; f < o->nfields && (int)f < o->rank; f++)
		if (o->fields[f].required && !(o->seen & 1u << f))
			replyfield_fail(o, (int)f, "%s is missing, not %s",
					replyfield_name(o, (int)f, buf, sizeof(buf)), o->fields[f].want);
}

/*
 * "NAME is TYPE[ VALUE], not WANT": "callStatus is string \"5\", not an integer". Objects and
 * arrays, which may be long, are not shown; a number is shown as json-c prints it.
 */
void replyfield_wrong_type(char *buf, size_t size, const char *name, const struct jsonsax_value *v,
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
void replyfield_wrong(struct replyfield *o, int f, const struct jsonsax_value *v)
{
	char name[48];

	if (wants(o, f))
		replyfield_wrong_type(o->why, sizeof(o->why),
				      replyfield_name(o, f, name, sizeof(name)), v, o->fields[f].want);
}

/*
 * v as field's integer, into *n. null is absent when the field is optional, and so is a marker;
 * GOT_WRONG and GOT_RANGE are for replyfield_int_problem to say.
 */
enum got replyfield_get_int(const struct field *field, const struct jsonsax_value *v, int64_t *n)
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

void replyfield_int_problem(char *buf, size_t size, const char *name, const struct field *field,
			    const struct jsonsax_value *v, enum got got)
{
	char num[JSONSAX_INT_TEXT];
	size_t len;
	const char *text;

	if (got == GOT_WRONG) {
		replyfield_wrong_type(buf, size, name, v, field->want);
		return;
	}
	text = jsonsax_text(v, num, &len);
	snprintf(buf, size, "%s %.*s is out of range %lld..%lld", name, (int)len, text, field->min,
		 field->max);
}

/* Field f of o as an integer: GOT_VALUE with *n, GOT_ABSENT, or an error of o. */
enum got replyfield_int(struct replyfield *o, int f, const struct jsonsax_value *v, int64_t *n)
{
	enum got got = replyfield_get_int(&o->fields[f], v, n);
	char name[48];

	if ((got == GOT_WRONG || got == GOT_RANGE) && wants(o, f))
		replyfield_int_problem(o->why, sizeof(o->why),
				       replyfield_name(o, f, name, sizeof(name)), &o->fields[f], v, got);
	return got;
}

/* A string member for the arena: NULL when it breaks the call ID rules (o's error then). */
const char *replyfield_text(struct replybatch *b, struct replyfield *o, int f, const char *where,
			    const char *what, const struct jsonsax_value *v)
{
	char buf[REPLY_REASON_MAX];

	if (reply_text_problem(where, what, v->text, v->len, REPLY_CALL_ID_MAX, buf, sizeof(buf))) {
		replyfield_fail(o, f, "%s", buf);
		return NULL;
	}
	return replybatch_arena_strndup(b, v->text, v->len);
}

