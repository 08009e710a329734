/* reply: a queryagentcalls response body turned into a set of call IDs or a precise reason. */
#include "config.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cmscodes.h"
#include "reply.h"
#include "reply_impl.h"
#include "utf8.h"

#define RESULT_SUCCESS "0100000"
#define RESULT_UNKNOWN_ERROR "0100999"

static const struct {
	const char *code;
	const char *meaning;
} result_meanings[] = {
	{ "0100000", "success" },
	{ "0100001", "the interface failed to be invoked" },
	{ "0100002", "invalid parameter" },
	{ "0100003", "the interface needs CTI V300R008 (the installed CTI is older)" },
	{ "0100999", "unknown error" },
	{ "0101001", "inspection relationship interface abnormal" },
	{ "0101002", "the number queried does not exist on the UAP" },
	{ "0101003", "insufficient permission" },
};

/* code[0..len) is the code named (a resultCode may hold a NUL: it is not the code then). */
static bool is_code(const char *code, size_t len, const char *name)
{
	return len == strlen(name) && memcmp(code, name, len) == 0;
}

static const char *result_meaning(const char *code, size_t len)
{
	for (size_t i = 0; i < sizeof(result_meanings) / sizeof(result_meanings[0]); i++)
		if (is_code(code, len, result_meanings[i].code))
			return result_meanings[i].meaning;
	return NULL;
}

const char *reply_result_meaning(const char *code)
{
	return result_meaning(code, strlen(code));
}

void reply_sanitize(const char *s, size_t len, char *buf, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		size_t u = c >= 0x80 ? utf8_char_len(s + i, len - i) : 0;
		char piece[5];
		int n;

		if (u) {
			memcpy(piece, s + i, u);
			n = (int)u;
		} else if (c < 0x20 || c >= 0x7f)
			n = snprintf(piece, sizeof(piece), "\\x%02x", c);
		else if (c == '"' || c == '\\')
			n = snprintf(piece, sizeof(piece), "\\%c", c);
		else
			n = snprintf(piece, sizeof(piece), "%c", c);
		/* While more input follows, keep room for "..." and the NUL. */
		if (o + (size_t)n + 1 + (i + (u ? u : 1) < len ? 3 : 0) > size) {
			memcpy(buf + o, "...", 3);
			o += 3;
			break;
		}
		memcpy(buf + o, piece, (size_t)n);
		o += (size_t)n;
		i += u ? u - 1 : 0;
	}
	buf[o] = '\0';
}

static void fail(struct reply *out, enum reply_status status, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(struct reply *out, enum reply_status status, const char *fmt, ...)
{
	va_list ap;

	out->status = status;
	out->ncalls = 0;
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
}

/* json-c's name of v's type ("int", "string", ...), "missing" for NULL (absent or null). */
static const char *type_name(struct json_object *v)
{
	return v ? json_type_to_name(json_object_get_type(v)) : "missing";
}

static bool has_control_char(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return true;
	return false;
}

/*
 * The parser has checked the bytes' UTF-8 form, but not what an escape decodes to: an escaped
 * lone surrogate is json-c's U+FFFD, or yajl's "?" (\uD800) or three bytes that are not UTF-8
 * (\uDC00), which events, the journal and the API could not carry: checked here.
 */
const char *reply_text_problem(const char *where, const char *what, const char *s, size_t len,
			       size_t max, char *buf, size_t size)
{
	char shown[REPLY_CALL_ID_MAX + 8];

	/* Sanitized only for the message: every call ID of every poll comes through here. */
	if (len != 0 && len <= max && !has_control_char(s, len) && utf8_valid(s, len, NULL))
		return NULL;
	reply_sanitize(s, len, shown, sizeof(shown));
	if (len == 0 || len > max)
		snprintf(buf, size, "%s %s \"%s\" is %zu bytes long (allowed 1..%zu)", where, what,
			 shown, len, max);
	else if (has_control_char(s, len))
		snprintf(buf, size, "%s %s \"%s\" holds a control character", where, what, shown);
	else
		snprintf(buf, size, "%s %s \"%s\" is not UTF-8 (an escaped lone surrogate)", where,
			 what, shown);
	return buf;
}

/* By id, then by detail: which of two listings of one call is kept must not depend on qsort. */
static int compare_calls(const void *a, const void *b)
{
	const struct reply_call *x = a, *y = b;
	int r = strcmp(x->id, y->id);

	if (r == 0)
		r = (x->status > y->status) - (x->status < y->status);
	if (r == 0)
		r = (x->direction > y->direction) - (x->direction < y->direction);
	if (r == 0)
		r = (x->media > y->media) - (x->media < y->media);
	return r;
}

size_t reply_calls_unique(struct reply_call *calls, size_t n)
{
	size_t unique = 0;

	qsort(calls, n, sizeof(calls[0]), compare_calls);
	/* A CMS listing a call twice still means one call. */
	for (size_t i = 0; i < n; i++)
		if (unique == 0 || strcmp(calls[unique - 1].id, calls[i].id) != 0)
			calls[unique++] = calls[i];
	return unique;
}

/* Checks one element of the call list and stores it; false after fail(). */
static bool add_call(struct reply *out, const char *field, size_t index, struct json_object *v)
{
	char where[32];
	const char *id;
	size_t len;

	if (!json_object_is_type(v, json_type_string)) {
		fail(out, REPLY_INVALID, "%s[%zu] is %s, not a call ID string", field, index,
		     type_name(v));
		return false;
	}
	id = json_object_get_string(v);
	len = (size_t)json_object_get_string_len(v);
	snprintf(where, sizeof(where), "%s[%zu]", field, index);
	if (reply_text_problem(where, "call ID", id, len, REPLY_CALL_ID_MAX, out->reason,
			       sizeof(out->reason))) {
		out->status = REPLY_INVALID;
		out->ncalls = 0;
		return false;
	}
	memcpy(out->ids[out->ncalls], id, len + 1);
	out->calls[out->ncalls] = (struct reply_call){ .id = out->ids[out->ncalls],
						       .status = CMS_CODE_NONE,
						       .direction = CMS_CODE_NONE,
						       .media = CMS_CODE_NONE };
	out->ncalls++;
	return true;
}

static void parse_calls(struct reply *out, const char *field, struct json_object *list)
{
	size_t n = json_object_array_length(list);

	if (n > REPLY_MAX_CALLS) {
		fail(out, REPLY_INVALID, REPLY_TOO_MANY_CALLS, field, n, REPLY_MAX_CALLS);
		return;
	}
	out->ncalls = 0;
	for (size_t i = 0; i < n; i++)
		if (!add_call(out, field, i, json_object_array_get_idx(list, i)))
			return;
	out->ncalls = reply_calls_unique(out->calls, out->ncalls);
	out->status = REPLY_OK;
}

static enum reply_status envelope_fail(char *reason, size_t size, enum reply_status status,
				       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static enum reply_status envelope_fail(char *reason, size_t size, enum reply_status status,
				       const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, size, fmt, ap);
	va_end(ap);
	return status;
}

static enum reply_status parse_failure(const struct reply_envelope *env, char *reason,
				       size_t size)
{
	const char *meaning = result_meaning(env->code, env->code_len);
	bool busy = is_code(env->code, env->code_len, RESULT_UNKNOWN_ERROR);
	char shown_code[32], shown_desc[128] = "";

	reply_sanitize(env->code, env->code_len, shown_code, sizeof(shown_code));
	if (env->desc)
		reply_sanitize(env->desc, env->desc_len, shown_desc, sizeof(shown_desc));
	return envelope_fail(reason, size, busy ? REPLY_CMS_BUSY : REPLY_CMS_ERROR,
			     "CMS resultCode %s (%s)%s%s%s", shown_code,
			     meaning ? meaning : "not a documented code", *shown_desc ? ": \"" : "",
			     shown_desc, *shown_desc ? "\"" : "");
}

enum reply_status reply_envelope_check(const struct reply_envelope *env, const char *what,
				       const char **field, char *reason, size_t size)
{
	if (!env->root_object)
		return envelope_fail(reason, size, REPLY_INVALID,
				     "the response is a JSON %s, not an object", env->root_type);
	if (env->twice)
		return envelope_fail(reason, size, REPLY_INVALID, "%s appears twice in the response",
				     env->twice);
	if (!env->code)
		return envelope_fail(reason, size, REPLY_INVALID, "resultCode is %s, not a string",
				     env->code_type);
	if (!is_code(env->code, env->code_len, RESULT_SUCCESS))
		return parse_failure(env, reason, size);
	/* resultDesc is authoritative; resultDatas is the legacy copy for 8.13-and-earlier. */
	if (env->desc_list)
		*field = "resultDesc";
	else if (env->datas_list)
		*field = "resultDatas";
	else
		return envelope_fail(reason, size, REPLY_INVALID,
				     "success response without %s (resultDesc is %s, resultDatas is %s)",
				     what, env->desc_type, env->datas_type);
	return REPLY_OK;
}

/* The envelope of root as json-c read it; *list is the list to read when REPLY_OK. */
static enum reply_status envelope(struct json_object *root, const char *what,
				  struct json_object **list, const char **field, char *reason,
				  size_t size)
{
	struct json_object *code = NULL, *desc = NULL, *datas = NULL;
	struct reply_envelope env = { .root_object = json_object_is_type(root, json_type_object),
				      .root_type = type_name(root) };
	enum reply_status status;

	json_object_object_get_ex(root, "resultCode", &code);
	json_object_object_get_ex(root, "resultDesc", &desc);
	json_object_object_get_ex(root, "resultDatas", &datas);
	env.code_type = type_name(code);
	env.desc_type = type_name(desc);
	env.datas_type = type_name(datas);
	if (json_object_is_type(code, json_type_string)) {
		env.code = json_object_get_string(code);
		env.code_len = (size_t)json_object_get_string_len(code);
	}
	if (json_object_is_type(desc, json_type_string)) {
		env.desc = json_object_get_string(desc);
		env.desc_len = (size_t)json_object_get_string_len(desc);
	}
	env.desc_list = json_object_is_type(desc, json_type_array);
	env.datas_list = json_object_is_type(datas, json_type_array);
	status = reply_envelope_check(&env, what, field, reason, size);
	if (status == REPLY_OK)
		*list = env.desc_list ? desc : datas;
	return status;
}

/*
 * body[0..len) as one JSON value: UTF-8 checked, only whitespace after it. Returns it (the
 * caller puts it), or NULL after writing why into reason.
 */
static struct json_object *reply_json_parse(const char *body, size_t len, char *reason, size_t size)
{
	struct json_tokener *tok;
	struct json_object *root;
	size_t used;

	if (len == 0) {
		snprintf(reason, size, "the response body is empty");
		return NULL;
	}
	tok = json_tokener_new();
	json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
	root = json_tokener_parse_ex(tok, body, (int)len);
	used = json_tokener_get_parse_end(tok);
	if (!root) {
		enum json_tokener_error err = json_tokener_get_error(tok);

		if (err == json_tokener_continue)
			snprintf(reason, size, "the response is truncated JSON (%zu bytes)", len);
		else
			snprintf(reason, size, "the response is not JSON (%s at byte %zu)",
				 json_tokener_error_desc(err), used);
	} else {
		while (used < len && strchr(" \t\r\n", body[used]))
			used++;
		if (used < len) {
			snprintf(reason, size, "the response has data after the JSON value (byte %zu)",
				 used);
			json_object_put(root);
			root = NULL;
		}
	}
	json_tokener_free(tok);
	return root;
}

void reply_parse(const char *body, size_t len, struct reply *out)
{
	struct json_object *root = reply_json_parse(body, len, out->reason, sizeof(out->reason));
	struct json_object *list = NULL;
	const char *field = NULL;

	out->ncalls = 0;
	if (!root)
		out->status = REPLY_INVALID;
	else if ((out->status = envelope(root, "a call list", &list, &field, out->reason,
					 sizeof(out->reason))) == REPLY_OK)
		parse_calls(out, field, list);
	json_object_put(root);
}
