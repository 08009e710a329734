/* test_reply: every documented response shape, and a table of bad bodies with their exact reasons. */
#include "config.h"

#include <string.h>

#include "../src/reply.h"
#include "check.h"

struct good_case {
	const char *body;
	size_t ncalls;
	const char *calls[3];
};

static const struct good_case good[] = {
	/* The documented success, resultDesc and resultDatas both present. */
	{ "{\"result\":\"0\",\"resultCode\":\"0100000\",\"resultDatas\":[\"1605492949-1447\"],"
	  "\"resultDesc\":[\"1605492949-1447\"]}", 1, { "1605492949-1447" } },
	/* No call: empty array. */
	{ "{\"resultCode\":\"0100000\",\"resultDesc\":[]}", 0, { NULL } },
	/* Legacy 8.13 shape: only resultDatas. */
	{ "{\"result\":\"0\",\"resultCode\":\"0100000\",\"resultDatas\":[\"a-1\",\"b-2\"]}", 2,
	  { "a-1", "b-2" } },
	/* resultDesc wins over resultDatas when both are arrays. */
	{ "{\"resultCode\":\"0100000\",\"resultDatas\":[\"old\"],\"resultDesc\":[\"new\"]}", 1,
	  { "new" } },
	/* A string resultDesc on success falls back to resultDatas. */
	{ "{\"resultCode\":\"0100000\",\"resultDatas\":[\"x-1\"],\"resultDesc\":\"ok\"}", 1,
	  { "x-1" } },
	/* Sorted and de-duplicated; whitespace around the value accepted. */
	{ " {\"resultCode\":\"0100000\",\"resultDesc\":[\"z-9\",\"a-1\",\"z-9\"]}\r\n", 2,
	  { "a-1", "z-9" } },
	/* Unknown extra fields are ignored; a 64-byte ID is the longest accepted. */
	{ "{\"resultCode\":\"0100000\",\"extra\":{\"k\":1},\"resultDesc\":"
	  "[\"1234567890123456789012345678901234567890123456789012345678901234\"]}", 1,
	  { "1234567890123456789012345678901234567890123456789012345678901234" } },
};

struct bad_case {
	const char *body;
	enum reply_status status;
	const char *reason;
};

static const struct bad_case bad[] = {
	{ "", REPLY_INVALID, "the response body is empty" },
	{ "<html>oops</html>", REPLY_INVALID, "the response is not JSON (unexpected character at byte 0)" },
	{ "{\"resultCode\":\"0100000\",\"resultDesc\":[\"a\"", REPLY_INVALID,
	  "the response is truncated JSON (41 bytes)" },
	{ "{\"resultCode\":\"0100000\",\"resultDesc\":[]} {}", REPLY_INVALID,
	  "the response has data after the JSON value (byte 41)" },
	{ "[1,2]", REPLY_INVALID, "the response is a JSON array, not an object" },
	{ "{\"resultDesc\":[]}", REPLY_INVALID, "resultCode is missing, not a string" },
	{ "{\"resultCode\":100000,\"resultDesc\":[]}", REPLY_INVALID, "resultCode is int, not a string" },
	{ "{\"resultCode\":\"0100000\",\"resultDesc\":42}", REPLY_INVALID,
	  "success response without a call list (resultDesc is int, resultDatas is missing)" },
	{ "{\"resultCode\":\"0100000\",\"resultDesc\":[\"a\",7]}", REPLY_INVALID,
	  "resultDesc[1] is int, not a call ID string" },
	{ "{\"resultCode\":\"0100000\",\"resultDesc\":[\"\"]}", REPLY_INVALID,
	  "resultDesc[0] call ID \"\" is 0 bytes long (allowed 1..64)" },
	{ "{\"resultCode\":\"0100000\",\"resultDesc\":"
	  "[\"12345678901234567890123456789012345678901234567890123456789012345\"]}", REPLY_INVALID,
	  "resultDesc[0] call ID \"12345678901234567890123456789012345678901234567890123456789012345"
	  "\" is 65 bytes long (allowed 1..64)" },
	{ "{\"resultCode\":\"0100000\",\"resultDesc\":[\"1234567890123456789012345678901234567890"
	  "12345678901234567890123456789012345678901234567890123456789\"]}", REPLY_INVALID,
	  "resultDesc[0] call ID \"12345678901234567890123456789012345678901234567890123456789012345678"
	  "...\" is 99 bytes long (allowed 1..64)" },
	{ "{\"resultCode\":\"0100000\",\"resultDatas\":[\"ok\",\"a\\nb\"]}", REPLY_INVALID,
	  "resultDatas[1] call ID \"a\\x0ab\" holds a control character" },
	{ "{\"resultCode\":\"0100000\",\"resultDesc\":[\"a\\u0000b\"]}", REPLY_INVALID,
	  "resultDesc[0] call ID \"a\\x00b\" holds a control character" },
	{ "{\"resultCode\":\"0100000\",\"resultDesc\":[\"\xff\"]}", REPLY_INVALID,
	  "the response is not JSON (invalid utf-8 string at byte 39)" },
	{ "{\"resultCode\":\"0100002\",\"resultDesc\":\"Invalid parameter\"}", REPLY_CMS_ERROR,
	  "CMS resultCode 0100002 (invalid parameter): \"Invalid parameter\"" },
	{ "{\"resultCode\":\"0101002\",\"resultDesc\":[]}", REPLY_CMS_ERROR,
	  "CMS resultCode 0101002 (the number queried does not exist on the UAP)" },
	{ "{\"resultCode\":\"0100999\",\"resultDesc\":\"busy\"}", REPLY_CMS_BUSY,
	  "CMS resultCode 0100999 (unknown error): \"busy\"" },
	{ "{\"resultCode\":\"7\\u0001\",\"resultDesc\":\"x\\\"y\"}", REPLY_CMS_ERROR,
	  "CMS resultCode 7\\x01 (not a documented code): \"x\\\"y\"" },
	/* Compared whole: a code with \u0000 in it is not success (strcmp stopped at the NUL). */
	{ "{\"resultCode\":\"0100000\\u0000x\",\"resultDesc\":[\"c-1\"]}", REPLY_CMS_ERROR,
	  "CMS resultCode 0100000\\x00x (not a documented code)" },
};

static void test_good(void)
{
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		struct reply r;

		reply_parse(good[i].body, strlen(good[i].body), &r);
		CHECK_INT(r.status, REPLY_OK);
		CHECK_INT(r.ncalls, good[i].ncalls);
		for (size_t c = 0; c < good[i].ncalls && c < r.ncalls; c++)
			CHECK_STR(r.calls[c].id, good[i].calls[c]);
	}
}

static void test_bad(void)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct reply r;

		reply_parse(bad[i].body, strlen(bad[i].body), &r);
		CHECK_INT(r.status, bad[i].status);
		CHECK_INT(r.ncalls, 0);
		CHECK_STR(r.reason, bad[i].reason);
	}
}

static void test_too_many_calls(void)
{
	char body[4096];
	size_t o = (size_t)snprintf(body, sizeof(body), "{\"resultCode\":\"0100000\",\"resultDesc\":[");
	struct reply r;

	for (int i = 0; i <= REPLY_MAX_CALLS; i++)
		o += (size_t)snprintf(body + o, sizeof(body) - o, "%s\"c-%d\"", i ? "," : "", i);
	snprintf(body + o, sizeof(body) - o, "]}");
	reply_parse(body, strlen(body), &r);
	CHECK_INT(r.status, REPLY_INVALID);
	CHECK_STR(r.reason, "resultDesc lists 65 calls, more than the 64 one agent can have");
}

/* Every prefix of a good body must be refused cleanly, never crash or be taken as a call list. */
static void test_every_prefix(void)
{
	const char *body = good[0].body;

	for (size_t len = 0; len < strlen(body); len++) {
		struct reply r;

		reply_parse(body, len, &r);
		CHECK(r.status == REPLY_INVALID);
	}
}

static void test_sanitize(void)
{
	char buf[16];

	reply_sanitize("abc", 3, buf, sizeof(buf));
	CHECK_STR(buf, "abc");
	reply_sanitize("a\tb\"c\\", 6, buf, sizeof(buf));
	CHECK_STR(buf, "a\\x09b\\\"c\\\\");
	reply_sanitize("0123456789abcdefghij", 20, buf, sizeof(buf));
	CHECK_STR(buf, "0123456789ab...");
	/* Valid UTF-8 stays as it is; a stray byte, an overlong form and a surrogate are escaped. */
	reply_sanitize("\xc3\xa9t\xc3\xa9", 5, buf, sizeof(buf));
	CHECK_STR(buf, "\xc3\xa9t\xc3\xa9");
	reply_sanitize("a\xff", 2, buf, sizeof(buf));
	CHECK_STR(buf, "a\\xff");
	reply_sanitize("\xc0\xaf", 2, buf, sizeof(buf));
	CHECK_STR(buf, "\\xc0\\xaf");
	reply_sanitize("\xed\xa0\x80", 3, buf, sizeof(buf));
	CHECK_STR(buf, "\\xed\\xa0\\x80");
	/* A cut falls between characters, never inside one. */
	reply_sanitize("0123456789a\xe7\x8e\x8bz", 15, buf, sizeof(buf));
	CHECK_STR(buf, "0123456789a...");
}

int main(void)
{
	test_good();
	test_bad();
	test_too_many_calls();
	test_every_prefix();
	test_sanitize();
	return check_done("test_reply");
}
