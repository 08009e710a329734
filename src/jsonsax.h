/* jsonsax: a CMS response body read as a stream of JSON values (yajl), typed as json-c does. */
#ifndef AW_JSONSAX_H
#define AW_JSONSAX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* json-c's default nesting limit: a value inside this many arrays and objects is refused. */
#define JSONSAX_DEPTH_MAX 32

/* json-c's types (enum json_type, same order), so that messages name them as reply.c does. */
enum jsonsax_type {
	JSONSAX_NULL,
	JSONSAX_BOOLEAN,
	JSONSAX_DOUBLE,
	JSONSAX_INT,
	JSONSAX_OBJECT,
	JSONSAX_ARRAY,
	JSONSAX_STRING,
};

/* One value: a scalar, or the start of an object or array. */
struct jsonsax_value {
	enum jsonsax_type type;
	/*
	 * STRING: the text unescaped (it may hold NULs; not NUL-terminated); INT and DOUBLE: the
	 * number as written. Valid during the callback only.
	 */
	const char *text;
	size_t len;
	/*
	 * INT: the value as json-c keeps it: beyond the int64 range, INT64_MIN or INT64_MAX (json-c
	 * reads up to UINT64_MAX, which jsonsax_text shows); "-0" is 0. BOOLEAN: 0 or 1.
	 */
	int64_t i;
	size_t at;		/* OBJECT, ARRAY: the offset of its '{' or '[' in the body */
};

/* What to do with an object's or array's contents. */
enum jsonsax_next { JSONSAX_ENTER, JSONSAX_SKIP };

/* The callbacks; ctx is jsonsax_parse's. */
struct jsonsax_ops {
	/*
	 * A value, in document order. For an object or array, ENTER brings its members (key
	 * before each member's value) and then end; SKIP brings nothing of it. Ignored for scalars.
	 */
	enum jsonsax_next (*value)(void *ctx, const struct jsonsax_value *v);
	/*
	 * The name of the next member of an entered object, unescaped (it may hold NULs). SKIP:
	 * its value, not read, does not come to value (nor its contents).
	 */
	enum jsonsax_next (*key)(void *ctx, const char *name, size_t len);
	/* An entered object or array ends; end is the offset just past its '}' or ']'. */
	void (*end)(void *ctx, size_t end);
};

/*
 * Reads body[0..len) as one JSON value (RFC 8259; UTF-8 checked; only whitespace after it; at
 * most JSONSAX_DEPTH_MAX deep) and calls ops on each value. Returns true, or false after
 * writing why into reason ("the response is not JSON (...)", "... truncated ...", ...); the
 * callbacks may have seen part of the body then. Allocates only yajl's parser and buffers,
 * once per call; out of memory aborts (util.h).
 */
bool jsonsax_parse(const char *body, size_t len, const struct jsonsax_ops *ops, void *ctx,
		   char *reason, size_t size);

/* json-c's name of a type: "null", "boolean", "double", "int", "object", "array", "string". */
const char *jsonsax_type_name(enum jsonsax_type type);

/* Room for an INT's text in jsonsax_text, the NUL included. */
#define JSONSAX_INT_TEXT 24

/*
 * A BOOLEAN, INT or DOUBLE as json-c prints it: "true", "false"; an INT in decimal as json-c
 * keeps it (an int64, or up to 18446744073709551615), written into buf; a DOUBLE as written
 * (v->text). Returns the text and its length in *len; not NUL-terminated for a DOUBLE.
 */
const char *jsonsax_text(const struct jsonsax_value *v, char buf[JSONSAX_INT_TEXT], size_t *len);

#endif
