/* reply_impl.h: the envelope and call ID rules that reply.c and replybatch.c share. */
#ifndef AW_REPLY_IMPL_H
#define AW_REPLY_IMPL_H

#include <stddef.h>

#include "reply.h"

struct json_object;

/* printf format of the reason for a list longer than REPLY_MAX_CALLS: field, count, the cap. */
#define REPLY_TOO_MANY_CALLS "%s lists %zu calls, more than the %d one agent can have"

/*
 * body[0..len) as one JSON value: UTF-8 checked, only whitespace after it. Returns it (the
 * caller puts it), or NULL after writing why into reason.
 */
struct json_object *reply_json_parse(const char *body, size_t len, char *reason, size_t size);

/*
 * Checks the envelope of root: an object whose resultCode is success. REPLY_OK: *list is the
 * resultDesc array, or the legacy resultDatas one, and *field names it. Otherwise the failure
 * resultCode's status (REPLY_CMS_ERROR, REPLY_CMS_BUSY) or REPLY_INVALID, with the reason
 * written; what names the expected list in that message ("a call list").
 */
enum reply_status reply_envelope(struct json_object *root, const char *what,
				 struct json_object **list, const char **field, char *reason,
				 size_t size);

/* json-c's name of v's type ("int", "string", ...), "missing" for NULL. */
const char *reply_type_name(struct json_object *v);

/*
 * NULL when s[0..len) is text the daemon takes as a call ID or the like: 1..max bytes, no
 * control character (the JSON tokener has already checked UTF-8). Otherwise writes
 * "<where> <what> \"<s, sanitized>\" ..." into buf and returns buf.
 */
const char *reply_text_problem(const char *where, const char *what, const char *s, size_t len,
			       size_t max, char *buf, size_t size);

/* Sorts calls by id (ties by detail, so the choice is stable) and drops repeats; the count kept. */
size_t reply_calls_unique(struct reply_call *calls, size_t n);

#endif
