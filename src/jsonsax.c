/* jsonsax: a CMS response body read as a stream of JSON values (yajl), typed as json-c does. */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_parse.h>

#include "jsonsax.h"
#include "util.h"

/* JSON's whitespace (RFC 8259), which json-c skipped after the value too. */
#define JSON_SPACE " \t\r\n"

/* One parse. */
struct sax {
	yajl_handle h;
	const struct jsonsax_ops *ops;
	void *ctx;
	size_t len;
	size_t depth;		/* arrays and objects open */
	size_t skip;		/* 0, or the depth of a skipped container's contents */
	bool skip_member;	/* the next value is a member the caller does not read */
	bool finishing;		/* in yajl_complete_parse, which reads a " " of its own */
	bool done;		/* the top-level value is complete... */
	size_t done_at;		/* ...up to here */
	bool too_deep;
	size_t deep_at;
};

static const char *const type_names[] = { "null", "boolean", "double", "int", "object", "array",
					   "string" };

const char *jsonsax_type_name(enum jsonsax_type type)
{
	return type_names[type];
}

/* Where yajl is in the body: just past the token of the current callback. */
static size_t offset(const struct sax *s)
{
	return s->finishing ? s->len : yajl_get_bytes_consumed(s->h);
}

/* The top-level value ended with the current token. */
static void top_done(struct sax *s)
{
	if (s->depth == 0) {
		s->done = true;
		s->done_at = offset(s);
	}
}

/*
 * Every value comes here first, before it is decoded: the nesting limit (-1: stop), then
 * skipping. 0: the value is skipped (with a container's contents); 1: it goes to the caller.
 */
static int admit(struct sax *s, bool container)
{
	if (s->depth >= JSONSAX_DEPTH_MAX) {
		s->too_deep = true;
		s->deep_at = offset(s) - 1;
		return -1;
	}
	if (!s->skip && !s->skip_member)
		return 1;
	s->skip_member = false;
	if (container) {
		s->depth++;
		if (!s->skip)
			s->skip = s->depth;
	}
	return 0;
}

/* A value admitted, to the caller; yajl's return value. */
static int on_value(struct sax *s, const struct jsonsax_value *v)
{
	enum jsonsax_next next = s->ops->value(s->ctx, v);

	if (v->type != JSONSAX_OBJECT && v->type != JSONSAX_ARRAY) {
		top_done(s);
		return 1;
	}
	s->depth++;
	if (next == JSONSAX_SKIP)
		s->skip = s->depth;
	return 1;
}

static int on_end(void *c)
{
	struct sax *s = c;

	s->depth--;
	if (!s->skip)
		s->ops->end(s->ctx, offset(s));
	else if (s->depth < s->skip)
		s->skip = 0;	/* the skipped container itself ends */
	top_done(s);
	return 1;
}

/* In each callback: a value not admitted is 1 (go on) when skipped, 0 (stop) when too deep. */
static int on_null(void *c)
{
	int a = admit(c, false);

	return a <= 0 ? a == 0 : on_value(c, &(struct jsonsax_value){ .type = JSONSAX_NULL });
}

static int on_boolean(void *c, int b)
{
	int a = admit(c, false);

	return a <= 0 ? a == 0 :
			on_value(c, &(struct jsonsax_value){ .type = JSONSAX_BOOLEAN, .i = b != 0 });
}

/* Digits as strtoull reads them: saturated at UINT64_MAX. */
static uint64_t magnitude(const char *digits, size_t len)
{
	uint64_t m = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned d = (unsigned)(digits[i] - '0');

		if (m > (UINT64_MAX - d) / 10)
			return UINT64_MAX;
		m = m * 10 + d;
	}
	return m;
}

/*
 * yajl has checked the form (-?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?). json-c takes a number
 * with '.', 'e' or 'E' as a double; otherwise an int64 saturated by strtoll when negative, a
 * uint64 saturated by strtoull when not, which json_object_get_int64 caps at INT64_MAX.
 */
static int on_number(void *c, const char *text, size_t len)
{
	struct jsonsax_value v = { .type = JSONSAX_INT, .text = text, .len = len };
	bool neg = text[0] == '-';
	int a = admit(c, false);
	uint64_t m;

	if (a <= 0)
		return a == 0;
	for (size_t i = 0; i < len; i++)
		if (text[i] == '.' || text[i] == 'e' || text[i] == 'E') {
			v.type = JSONSAX_DOUBLE;
			return on_value(c, &v);
		}
	m = magnitude(text + neg, len - neg);
	if (neg)
		v.i = m > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)m;
	else
		v.i = m > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)m;
	return on_value(c, &v);
}

static int on_string(void *c, const unsigned char *text, size_t len)
{
	int a = admit(c, false);

	return a <= 0 ? a == 0 :
			on_value(c, &(struct jsonsax_value){ .type = JSONSAX_STRING,
							     .text = (const char *)text, .len = len });
}

static int on_start(struct sax *s, enum jsonsax_type type)
{
	int a = admit(s, true);

	return a <= 0 ? a == 0 :
			on_value(s, &(struct jsonsax_value){ .type = type, .at = offset(s) - 1 });
}

static int on_start_map(void *c)
{
	return on_start(c, JSONSAX_OBJECT);
}

static int on_start_array(void *c)
{
	return on_start(c, JSONSAX_ARRAY);
}

static int on_key(void *c, const unsigned char *name, size_t len)
{
	struct sax *s = c;

	if (!s->skip)
		s->skip_member = s->ops->key(s->ctx, (const char *)name, len) == JSONSAX_SKIP;
	return 1;
}

static const yajl_callbacks callbacks = {
	.yajl_null = on_null,
	.yajl_boolean = on_boolean,
	.yajl_number = on_number,	/* so that yajl never converts, nor refuses a big number */
	.yajl_string = on_string,
	.yajl_start_map = on_start_map,
	.yajl_map_key = on_key,
	.yajl_end_map = on_end,
	.yajl_start_array = on_start_array,
	.yajl_end_array = on_end,
};

const char *jsonsax_text(const struct jsonsax_value *v, char buf[JSONSAX_INT_TEXT], size_t *len)
{
	if (v->type == JSONSAX_BOOLEAN) {
		*len = v->i ? 4 : 5;
		return v->i ? "true" : "false";
	}
	if (v->type == JSONSAX_DOUBLE) {
		*len = v->len;
		return v->text;
	}
	if (v->text[0] == '-')
		*len = (size_t)snprintf(buf, JSONSAX_INT_TEXT, "%" PRId64, v->i);
	else
		*len = (size_t)snprintf(buf, JSONSAX_INT_TEXT, "%" PRIu64, magnitude(v->text, v->len));
	return buf;
}

/*
 * yajl's own words, without "lexical error: " or "parse error: " and the final period, and the
 * byte they are about: the one that is not JSON, or the last of an unexpected token. yajl stops
 * on it for most lexical errors and for "after key and value", past it otherwise.
 */
static void describe(struct sax *s, const char *body, char *reason, size_t size)
{
	unsigned char *e = yajl_get_error(s->h, 0, (const unsigned char *)body, s->len);
	const char *what = (const char *)e, *colon = strstr(what, "error: ");
	size_t at = yajl_get_bytes_consumed(s->h), n;
	bool lexical = strncmp(what, "lexical", 7) == 0, past;

	if (colon)
		what = colon + 7;
	n = strcspn(what, "\n");
	if (n && what[n - 1] == '.')
		n--;
	if (lexical)
		past = strncmp(what, "invalid char in", 15) == 0 ||
		       strncmp(what, "invalid bytes in", 16) == 0;
	else
		past = strncmp(what, "after key and value", 19) != 0;
	if (past && at)
		at--;
	snprintf(reason, size, "the response is not JSON (%.*s at byte %zu)", (int)n, what, at);
	yajl_free_error(s->h, e);
}

/* The first byte at or after at that is not JSON whitespace, or len. */
static size_t after_space(const char *body, size_t len, size_t at)
{
	while (at < len && strchr(JSON_SPACE, body[at]) && body[at])
		at++;
	return at;
}

static void *sax_malloc(void *ctx, size_t n)
{
	(void)ctx;
	return xmalloc(n);
}

static void *sax_realloc(void *ctx, void *p, size_t n)
{
	(void)ctx;
	return xrealloc(p, n);
}

static void sax_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

bool jsonsax_parse(const char *body, size_t len, const struct jsonsax_ops *ops, void *ctx,
		   char *reason, size_t size)
{
	yajl_alloc_funcs afs = { sax_malloc, sax_realloc, sax_free, NULL };
	struct sax s = { .ops = ops, .ctx = ctx, .len = len };
	yajl_status st;

	if (len == 0) {
		snprintf(reason, size, "the response body is empty");
		return false;
	}
	s.h = yajl_alloc(&callbacks, &afs, &s);
	/* yajl's defaults, spelled out: one value, nothing after it, UTF-8 checked, no comments. */
	yajl_config(s.h, yajl_allow_multiple_values, 0);
	yajl_config(s.h, yajl_allow_trailing_garbage, 0);
	yajl_config(s.h, yajl_dont_validate_strings, 0);
	yajl_config(s.h, yajl_allow_comments, 0);
	st = yajl_parse(s.h, (const unsigned char *)body, len);
	if (st == yajl_status_ok) {
		/* A number at the very end is read only now. */
		s.finishing = true;
		st = yajl_complete_parse(s.h);
	}
	/* yajl takes an unclosed string after the value for the start of a token to come. */
	if (st == yajl_status_ok && after_space(body, len, s.done_at) < len)
		st = yajl_status_error;
	if (s.too_deep)
		snprintf(reason, size, "the response is not JSON (nesting too deep at byte %zu)",
			 s.deep_at);
	else if (st != yajl_status_ok && s.done)
		snprintf(reason, size, "the response has data after the JSON value (byte %zu)",
			 after_space(body, len, s.done_at));
	else if (st != yajl_status_ok && s.finishing)
		snprintf(reason, size, "the response is truncated JSON (%zu bytes)", len);
	else if (st != yajl_status_ok)
		describe(&s, body, reason, size);
	yajl_free(s.h);
	return st == yajl_status_ok;
}
