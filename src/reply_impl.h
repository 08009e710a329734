/* reply_impl.h: the envelope and call ID rules that reply.c and the batch parser share. */
#ifndef AW_REPLY_IMPL_H
#define AW_REPLY_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "reply.h"

/* printf format of the reason for a list longer than REPLY_MAX_CALLS: field, count, the cap. */
#define REPLY_TOO_MANY_CALLS "%s lists %zu calls, more than the %d one agent can have"

/*
 * An answer's envelope as a parser read it. Type names are json-c's ("int", "array", ...); a
 * member that is absent or null is "missing" (json-c reads both as no member).
 */
struct reply_envelope {
	bool root_object;		/* the top-level value is an object... */
	const char *root_type;		/* ...or this */
	const char *twice;		/* a member listed twice (replybatch refuses those), or NULL */
	const char *code;		/* resultCode when a string (code_len bytes), else NULL */
	size_t code_len;
	const char *code_type;
	const char *desc;		/* resultDesc when a string (desc_len bytes), else NULL */
	size_t desc_len;
	bool desc_list, datas_list;	/* resultDesc, resultDatas are arrays */
	const char *desc_type, *datas_type;
};

/*
 * Judges env. REPLY_OK when it is an object whose resultCode is success: *field names the list
 * to read, "resultDesc" when that is an array, else the legacy "resultDatas". Otherwise the
 * failure resultCode's status (REPLY_CMS_ERROR, REPLY_CMS_BUSY) or REPLY_INVALID, with the
 * reason written; what names the expected list in that message ("a call list").
 */
enum reply_status reply_envelope_check(const struct reply_envelope *env, const char *what,
				       const char **field, char *reason, size_t size);

/*
 * NULL when s[0..len) is text the daemon takes as a call ID or the like: 1..max bytes, no
 * control character (the JSON parser has already checked UTF-8). Otherwise writes
 * "<where> <what> \"<s, sanitized>\" ..." into buf and returns buf.
 */
const char *reply_text_problem(const char *where, const char *what, const char *s, size_t len,
			       size_t max, char *buf, size_t size);

/* Sorts calls by id (ties by detail, so the choice is stable) and drops repeats; the count kept. */
size_t reply_calls_unique(struct reply_call *calls, size_t n);

#endif
