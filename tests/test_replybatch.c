/* test_replybatch: batch and state answers (Huawei's samples, tables of bad ones); cmscodes. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../src/cmscodes.h"
#include "../src/replybatch.h"
#include "../src/util.h"
#include "check.h"

#define OK_HEAD "{\"result\":\"0\",\"resultCode\":\"0100000\",\"resultDesc\":"
#define OK(desc) OK_HEAD desc "}"
/* One agent's entry with one call whose fields are given. */
#define CALL1(fields) OK("[{\"agentId\":1099,\"callList\":[{\"callId\":\"c-1\"," fields "}]}]")
#define STATE1(fields) OK("[{\"agentId\":1099,\"currentState\":1," fields "}]")
#define ID65 "12345678901234567890123456789012345678901234567890123456789012345"

static const uint32_t asked_default[] = { 1031, 1099 };

/* The entries as one line: "1099: c-1 5/0/5/WhatsApp, ...", codes absent as "-". */
static void render_calls(const struct replybatch *b, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < b->nentries && o < size; i++) {
		const struct replybatch_calls *e = &b->calls[i];

		o += (size_t)snprintf(buf + o, size - o, "%s%u%s", i ? "; " : "", e->agent_id,
				      e->error ? "! " : ":");
		if (e->error) {
			o += (size_t)snprintf(buf + o, size - o, "%s", e->error);
			continue;
		}
		for (uint32_t c = 0; c < e->ncalls && o < size; c++) {
			const struct reply_call *k = &e->calls[c];

			o += (size_t)snprintf(buf + o, size - o, " %s %d/%d/%d%s%s", k->id, k->status,
					      k->direction, k->media, k->submedia ? "/" : "",
					      k->submedia ? k->submedia : "");
		}
	}
}

static void render_states(const struct replybatch *b, char *buf, size_t size)
{
	size_t o = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < b->nentries && o < size; i++) {
		const struct replybatch_state *e = &b->states[i];

		if (e->error)
			o += (size_t)snprintf(buf + o, size - o, "%s%u! %s", i ? "; " : "", e->agent_id,
					      e->error);
		else
			o += (size_t)snprintf(buf + o, size - o, "%s%u: %d prev %d for %lld reason %d logon %lld",
					      i ? "; " : "", e->agent_id, e->state, e->prev_state,
					      (long long)e->state_seconds, e->reason,
					      (long long)e->logon_ms);
	}
}

struct tcase {
	const char *body;
	const char *want;	/* the entries rendered, or the answer's reason */
	enum reply_status status;
	size_t unasked;
	uint32_t first_unasked;
	uint32_t asked[4];	/* none: asked_default */
};

static const struct tcase calls_cases[] = {
	/* Huawei's sample (cec_07_2566): it answers 1034 to a request for 1031 and 1099. */
	{ "{\"result\":\"0\",\"resultCode\":\"0100000\",\"resultDatas\":[{\"agentId\":1034,"
	  "\"callList\":[]},{\"agentId\":1099,\"callList\":[{\"callId\":\"1605494261-1449\","
	  "\"callStatus\":5,\"callInOut\":0,\"mediaType\":5}]}],\"resultDesc\":[{\"agentId\":1034,"
	  "\"callList\":[]},{\"agentId\":1099,\"callList\":[{\"callId\":\"1605494261-1449\","
	  "\"callStatus\":5,\"callInOut\":0,\"mediaType\":5}]}]}",
	  "1099: 1605494261-1449 5/0/5", .status = REPLY_OK, .unasked = 1, .first_unasked = 1034 },
	/* The same when 1034 was asked: an empty list is an idle agent. */
	{ OK("[{\"agentId\":1034,\"callList\":[]},{\"agentId\":1099,\"callList\":[{\"callId\":"
	     "\"1605494261-1449\",\"callStatus\":5,\"callInOut\":0,\"mediaType\":5}]}]"),
	  "1034:; 1099: 1605494261-1449 5/0/5", .status = REPLY_OK, .asked = { 1034, 1099 } },
	/* Keyed by agentId, never by position; 1031 asked and absent has no entry. */
	{ OK("[{\"agentId\":1099,\"callList\":[]}]"), "1099:", .status = REPLY_OK },
	{ OK("[]"), "", .status = REPLY_OK },
	/* Legacy 8.13: only resultDatas; a string resultDesc on success falls back to it too. */
	{ "{\"resultCode\":\"0100000\",\"resultDatas\":[{\"agentId\":1031,\"callList\":[]}]}",
	  "1031:", .status = REPLY_OK },
	{ "{\"resultCode\":\"0100000\",\"resultDesc\":\"ok\",\"resultDatas\":[{\"agentId\":1031,"
	  "\"callList\":[{\"callId\":\"x\"}]}]}", "1031: x -1/-1/-1", .status = REPLY_OK },
	/* Several calls, sorted; one listed twice counts once; submediaType kept; unknown codes kept. */
	{ OK("[{\"agentId\":1099,\"callList\":[{\"callId\":\"z-2\",\"callStatus\":6,\"callInOut\":1,"
	     "\"mediaType\":53,\"submediaType\":\"WhatsApp\"},{\"callId\":\"a-1\",\"callStatus\":4,"
	     "\"callInOut\":0,\"mediaType\":77},{\"callId\":\"z-2\",\"callStatus\":6,\"callInOut\":1,"
	     "\"mediaType\":53,\"submediaType\":\"WhatsApp\"}]}]"),
	  "1099: a-1 4/0/77 z-2 6/1/53/WhatsApp", .status = REPLY_OK },
	/* Optional codes: null and absent are no code; an empty submediaType is none; unknown keys ignored. */
	{ CALL1("\"callStatus\":null,\"mediaType\":null,\"submediaType\":\"\",\"x\":[1]"),
	  "1099: c-1 -1/-1/-1", .status = REPLY_OK },
	{ CALL1("\"callStatus\":99,\"callInOut\":2,\"mediaType\":2147483647,\"submediaType\":null"),
	  "1099: c-1 99/2/2147483647", .status = REPLY_OK },
	/* An agentId listed twice: both entries are errors; one not asked is counted, not kept. */
	{ OK("[{\"agentId\":1099,\"callList\":[]},{\"agentId\":5,\"callList\":[]},{\"agentId\":1099,"
	     "\"callList\":[{\"callId\":\"c\"}]},{\"agentId\":6,\"callList\":[]}]"),
	  "1099! agentId 1099 appears twice in the CMS answer; "
	  "1099! agentId 1099 appears twice in the CMS answer",
	  .status = REPLY_OK, .unasked = 2, .first_unasked = 5 },
	{ OK("[{\"agentId\":1031,\"callList\":[]},{\"agentId\":1031,\"callList\":[]},{\"agentId\":1031,"
	     "\"callList\":[]},{\"agentId\":1099,\"callList\":[]}]"),
	  "1031! agentId 1031 appears 3 times in the CMS answer; "
	  "1031! agentId 1031 appears 3 times in the CMS answer; "
	  "1031! agentId 1031 appears 3 times in the CMS answer; 1099:", .status = REPLY_OK },
	/* Wrong types: every field, the value named; the other agent is unaffected. */
	{ OK("[{\"agentId\":1031},{\"agentId\":1099,\"callList\":[]}]"),
	  "1031! callList is missing, not an array; 1099:", .status = REPLY_OK },
	{ OK("[{\"agentId\":1099,\"callList\":\"c-1\"}]"),
	  "1099! callList is string \"c-1\", not an array", .status = REPLY_OK },
	{ OK("[{\"agentId\":1099,\"callList\":{\"callId\":\"c-1\"}}]"),
	  "1099! callList is object, not an array", .status = REPLY_OK },
	{ OK("[{\"agentId\":1099,\"callList\":[\"c-1\"]}]"),
	  "1099! callList[0] is string \"c-1\", not a call object", .status = REPLY_OK },
	{ OK("[{\"agentId\":1099,\"callList\":[{\"callStatus\":5}]}]"),
	  "1099! callList[0].callId is missing, not a string", .status = REPLY_OK },
	{ OK("[{\"agentId\":1099,\"callList\":[{\"callId\":1605494261}]}]"),
	  "1099! callList[0].callId is int 1605494261, not a string", .status = REPLY_OK },
	{ CALL1("\"callStatus\":\"5\""), "1099! callList[0].callStatus is string \"5\", not an integer",
	  .status = REPLY_OK },
	{ CALL1("\"callStatus\":5.0"), "1099! callList[0].callStatus is double 5.0, not an integer",
	  .status = REPLY_OK },
	{ CALL1("\"callStatus\":-1"), "1099! callList[0].callStatus -1 is out of range 0..32767",
	  .status = REPLY_OK },
	{ CALL1("\"callStatus\":32768"), "1099! callList[0].callStatus 32768 is out of range 0..32767",
	  .status = REPLY_OK },
	{ CALL1("\"callInOut\":true"), "1099! callList[0].callInOut is boolean true, not an integer",
	  .status = REPLY_OK },
	{ CALL1("\"callInOut\":\"0\""), "1099! callList[0].callInOut is string \"0\", not an integer",
	  .status = REPLY_OK },
	{ CALL1("\"mediaType\":5.5"), "1099! callList[0].mediaType is double 5.5, not an integer",
	  .status = REPLY_OK },
	{ CALL1("\"mediaType\":[5]"), "1099! callList[0].mediaType is array, not an integer",
	  .status = REPLY_OK },
	{ CALL1("\"mediaType\":2147483648"),
	  "1099! callList[0].mediaType 2147483648 is out of range 0..2147483647", .status = REPLY_OK },
	{ CALL1("\"submediaType\":53"), "1099! callList[0].submediaType is int 53, not a string",
	  .status = REPLY_OK },
	{ CALL1("\"submediaType\":\"a\\tb\""),
	  "1099! callList[0].submediaType value \"a\\x09b\" holds a control character", .status = REPLY_OK },
	/* Call ID bounds, as for one agent. */
	{ OK("[{\"agentId\":1099,\"callList\":[{\"callId\":\"\"}]}]"),
	  "1099! callList[0] call ID \"\" is 0 bytes long (allowed 1..64)", .status = REPLY_OK },
	{ OK("[{\"agentId\":1099,\"callList\":[{\"callId\":\"ok\"},{\"callId\":\"" ID65 "\"}]}]"),
	  "1099! callList[1] call ID \"" ID65 "\" is 65 bytes long (allowed 1..64)", .status = REPLY_OK },
	{ OK("[{\"agentId\":1099,\"callList\":[{\"callId\":\"a\\u0000b\"}]}]"),
	  "1099! callList[0] call ID \"a\\x00b\" holds a control character", .status = REPLY_OK },
	/* UTF-8 is fine; bytes that are not UTF-8 make the body no JSON. */
	{ OK("[{\"agentId\":1099,\"callList\":[{\"callId\":\"\xe7\x8e\x8b-1\"}]}]"),
	  "1099: \xe7\x8e\x8b-1 -1/-1/-1", .status = REPLY_OK },
	{ OK("[{\"agentId\":1099,\"callList\":[{\"callId\":\"\xff\"}]}]"),
	  "the response is not JSON (invalid bytes in UTF8 string at byte 90)", .status = REPLY_INVALID },
	/* Entries nobody can own, and too many of them, spoil the whole answer. */
	{ OK("[{\"agentId\":\"1099\",\"callList\":[]}]"),
	  "resultDesc[0].agentId is string \"1099\", not an integer", .status = REPLY_INVALID },
	{ OK("[{\"agentId\":1099.0,\"callList\":[]}]"),
	  "resultDesc[0].agentId is double 1099.0, not an integer", .status = REPLY_INVALID },
	{ OK("[{\"agentId\":1099,\"callList\":[]},{\"callList\":[]}]"),
	  "resultDesc[1].agentId is missing, not an integer", .status = REPLY_INVALID },
	{ OK("[{\"agentId\":-1,\"callList\":[]}]"),
	  "resultDesc[0].agentId -1 is out of range 0..4294967295", .status = REPLY_INVALID },
	{ OK("[\"1605494261-1449\"]"), "resultDesc[0] is string, not an agent object", .status = REPLY_INVALID },
	{ "{\"resultCode\":\"0100000\",\"resultDesc\":\"x\",\"resultDatas\":[null]}",
	  "resultDatas[0] is null, not an agent object", .status = REPLY_INVALID },
	{ OK("[{\"agentId\":1,\"callList\":[]},{\"agentId\":2,\"callList\":[]},{\"agentId\":3,"
	     "\"callList\":[]},{\"agentId\":4,\"callList\":[]},{\"agentId\":5,\"callList\":[]}]"),
	  "resultDesc lists 5 entries, more than twice the 2 agents asked", .status = REPLY_INVALID },
	/* The envelope, as for one agent. */
	{ "", "the response body is empty", .status = REPLY_INVALID },
	{ "<html>", "the response is not JSON (invalid char in json text at byte 0)", .status = REPLY_INVALID },
	{ OK_HEAD "[{\"agentId\":1099,", "the response is truncated JSON (67 bytes)", .status = REPLY_INVALID },
	{ OK("[]") " x", "the response has data after the JSON value (byte 54)", .status = REPLY_INVALID },
	{ "[]", "the response is a JSON array, not an object", .status = REPLY_INVALID },
	{ "{\"resultCode\":100000,\"resultDesc\":[]}", "resultCode is int, not a string", .status = REPLY_INVALID },
	{ OK("{}"), "success response without an agent list (resultDesc is object, resultDatas is "
		    "missing)", .status = REPLY_INVALID },
	{ "{\"resultCode\":\"0100002\",\"resultDesc\":\"Invalid parameter\"}",
	  "CMS resultCode 0100002 (invalid parameter): \"Invalid parameter\"", .status = REPLY_CMS_ERROR },
	{ "{\"resultCode\":\"0101003\",\"resultDesc\":[]}",
	  "CMS resultCode 0101003 (insufficient permission)", .status = REPLY_CMS_ERROR },
	{ "{\"resultCode\":\"0100999\",\"resultDesc\":\"busy\"}",
	  "CMS resultCode 0100999 (unknown error): \"busy\"", .status = REPLY_CMS_BUSY },
	/* A resultCode is compared whole: one with \u0000 in it is no code (json-c stopped there). */
	{ "{\"resultCode\":\"0100000\\u0000x\",\"resultDesc\":[]}",
	  "CMS resultCode 0100000\\x00x (not a documented code)", .status = REPLY_CMS_ERROR },
	/* Only RFC 8259 JSON (yajl): what json-c also took is refused as a whole. */
	{ OK("[{\"agentId\":1099,\"callList\":[],}]"),
	  "the response is not JSON (invalid object key (must be a string) at byte 81)",
	  .status = REPLY_INVALID },
	{ OK("[{\"agentId\":1099,\"callList\":[]},]"),
	  "the response is not JSON (unallowed token at this point in JSON text at byte 82)",
	  .status = REPLY_INVALID },
	{ OK("[/* x */]"),
	  "the response is not JSON (probable comment found in input text, comments are not enabled "
	  "at byte 51)", .status = REPLY_INVALID },
	{ CALL1("\"callStatus\":NaN"), "the response is not JSON (invalid char in json text at byte 108)",
	  .status = REPLY_INVALID },
	{ CALL1("\"callStatus\":05"),
	  "the response is not JSON (after key and value, inside map, I expect ',' or '}' at byte 109)",
	  .status = REPLY_INVALID },
	{ CALL1("\"callStatus\":5."),
	  "the response is not JSON (malformed number, a digit is required after the decimal point "
	  "at byte 110)", .status = REPLY_INVALID },
	{ CALL1("\"callStatus\":TRUE"), "the response is not JSON (invalid char in json text at byte 108)",
	  .status = REPLY_INVALID },
	{ OK("[{\"agentId\":1099,\"callList\":[{'callId':'x'}]}]"),
	  "the response is not JSON (invalid char in json text at byte 80)", .status = REPLY_INVALID },
	/* A control character must be escaped in JSON: raw, it spoils the body, not one entry. */
	{ OK("[{\"agentId\":1099,\"callList\":[{\"callId\":\"a\tb\"}]}]"),
	  "the response is not JSON (invalid character inside string at byte 91)", .status = REPLY_INVALID },
	/* UTF-8 is checked in every string, also one the daemon does not read, and in names. */
	{ CALL1("\"note\":\"\xe7\x8e\""),
	  "the response is not JSON (invalid bytes in UTF8 string at byte 105)", .status = REPLY_INVALID },
	{ OK("[{\"agentId\":1099,\"callList\":[],\"\xff\":1}]"),
	  "the response is not JSON (invalid bytes in UTF8 string at byte 82)", .status = REPLY_INVALID },
	{ OK("[{\"agentId\":1099,\"callList\":[{\"callId\":\"\xf0\x9f\x98\x80\"}]}]"),
	  "1099: \xf0\x9f\x98\x80 -1/-1/-1", .status = REPLY_OK },
	/* An escaped lone surrogate: yajl makes it "?" (json-c made it U+FFFD). */
	{ OK("[{\"agentId\":1099,\"callList\":[{\"callId\":\"\\ud800-1\"}]}]"),
	  "1099: ?-1 -1/-1/-1", .status = REPLY_OK },
	/* ... and a lone low one three bytes that are no UTF-8: that entry fails, naming it. */
	{ OK("[{\"agentId\":1099,\"callList\":[{\"callId\":\"\\udc00-1\"}]}]"),
	  "1099! callList[0] call ID \"\\xed\\xb0\\x80-1\" is not UTF-8 (an escaped lone surrogate)",
	  .status = REPLY_OK },
	/* Names are compared whole: "agentId\u0000" is another member (json-c cut it at the NUL). */
	{ OK("[{\"agentId\\u0000\":1099,\"callList\":[]}]"),
	  "resultDesc[0].agentId is missing, not an integer", .status = REPLY_INVALID },
	{ OK("[{\"agent\\u0049d\":1099,\"callList\":[]}]"), "1099:", .status = REPLY_OK },
	/* A member the daemon reads, listed twice: which one to believe is unknown (json-c kept the
	 * last). An entry's is its error, over any other of that field; an element's agentId or an
	 * envelope member spoils the answer. Other members may repeat. */
	{ CALL1("\"callStatus\":5,\"callStatus\":6"),
	  "1099! callList[0].callStatus appears twice in its object", .status = REPLY_OK },
	{ OK("[{\"agentId\":1099,\"callList\":[{\"callId\":\"\",\"callId\":\"b\"}]}]"),
	  "1099! callList[0].callId appears twice in its object", .status = REPLY_OK },
	{ OK("[{\"agentId\":1099,\"callList\":[],\"callList\":[]}]"),
	  "1099! callList appears twice in its object", .status = REPLY_OK },
	{ CALL1("\"x\":1,\"x\":2"), "1099: c-1 -1/-1/-1", .status = REPLY_OK },
	{ OK("[{\"agentId\":1099,\"callList\":[],\"agentId\":1031}]"),
	  "resultDesc[0].agentId appears twice in its object", .status = REPLY_INVALID },
	{ OK("[{\"agentId\":-1,\"agentId\":1031}]"),
	  "resultDesc[0].agentId appears twice in its object", .status = REPLY_INVALID },
	{ "{\"resultCode\":\"0100000\",\"resultDesc\":[],\"resultDesc\":[]}",
	  "resultDesc appears twice in the response", .status = REPLY_INVALID },
	{ "{\"resultCode\":\"0100002\",\"resultCode\":\"0100000\",\"resultDesc\":[]}",
	  "resultCode appears twice in the response", .status = REPLY_INVALID },
	{ "{\"result\":\"0\",\"result\":\"1\",\"resultCode\":\"0100000\",\"resultDesc\":[]}", "",
	  .status = REPLY_OK },
	/* resultDatas before resultDesc (Huawei's order): only the list in resultDesc counts... */
	{ "{\"resultCode\":\"0100000\",\"resultDatas\":[5,{\"agentId\":\"x\"}],\"resultDesc\":"
	  "[{\"agentId\":1099,\"callList\":[]}]}", "1099:", .status = REPLY_OK },
	/* ...and resultDatas is read when resultDesc is no list, wherever it comes. */
	{ "{\"resultCode\":\"0100000\",\"resultDatas\":[{\"agentId\":1099,\"callList\":[]},5],"
	  "\"resultDesc\":\"ok\"}", "resultDatas[1] is int, not an agent object", .status = REPLY_INVALID },
	{ "{\"resultCode\":\"0100000\",\"resultDesc\":null,\"resultDatas\":[{\"agentId\":7,\"callList\":[]},"
	  "{\"agentId\":1031,\"callList\":[{\"callId\":\"d\"}]}]}", "1031: d -1/-1/-1",
	  .status = REPLY_OK, .unasked = 1, .first_unasked = 7 },
	/* The top-level value, and what may follow it. */
	{ "5", "the response is a JSON int, not an object", .status = REPLY_INVALID },
	{ "null", "the response is a JSON null, not an object", .status = REPLY_INVALID },
	{ "   ", "the response is truncated JSON (3 bytes)", .status = REPLY_INVALID },
	{ OK("[]") " \"x", "the response has data after the JSON value (byte 54)", .status = REPLY_INVALID },
	{ OK("[]") "\v", "the response has data after the JSON value (byte 53)", .status = REPLY_INVALID },
	{ OK("[]") "\n\r\t ", "", .status = REPLY_OK },
	/* yajl takes \v and \f for whitespace between tokens (json-c did not). */
	{ "{\v\"resultCode\":\f\"0100000\",\"resultDesc\":[]}", "", .status = REPLY_OK },
};

/* Huawei's published state sample (cec_07_2564), key order as published. */
#define HUAWEI_STATE "{\"prevState\":1,\"agentId\":1099,\"logonTime\":4294967295000,\"agentRelease\":0," \
	"\"locationId\":65535,\"currentPrivateCallNum\":0,\"currentStateTime\":230703," \
	"\"currentStateReason\":258,\"prevStateTime\":4294967295,\"currentState\":0}"

static const struct tcase state_cases[] = {
	{ OK("[" HUAWEI_STATE "]"), "1099: 0 prev 1 for 230703 reason 258 logon -1", .status = REPLY_OK },
	{ "{\"result\":\"0\",\"resultCode\":\"0100000\",\"resultDatas\":[" HUAWEI_STATE "]}",
	  "1099: 0 prev 1 for 230703 reason 258 logon -1", .status = REPLY_OK },
	/* Every marker read as absent, and only currentState required. */
	{ STATE1("\"prevState\":65535,\"currentStateTime\":4294967295,\"currentStateReason\":65535,"
		 "\"logonTime\":4294967295"), "1099: 1 prev -1 for -1 reason -1 logon -1", .status = REPLY_OK },
	{ STATE1("\"prevState\":4294967295,\"currentStateReason\":4294967295"),
	  "1099: 1 prev -1 for -1 reason -1 logon -1", .status = REPLY_OK },
	{ STATE1("\"prevState\":null,\"logonTime\":1605494261123,\"currentStateTime\":0"),
	  "1099: 1 prev -1 for 0 reason -1 logon 1605494261123", .status = REPLY_OK },
	/* 65535 seconds is 18 hours in a state, not a marker. */
	{ STATE1("\"currentStateTime\":65535,\"currentStateReason\":0"),
	  "1099: 1 prev -1 for 65535 reason 0 logon -1", .status = REPLY_OK },
	/* Every state code. */
	{ OK("[{\"agentId\":1031,\"currentState\":10,\"prevState\":8},"
	     "{\"agentId\":1099,\"currentState\":8,\"prevState\":0}]"),
	  "1031: 10 prev 8 for -1 reason -1 logon -1; 1099: 8 prev 0 for -1 reason -1 logon -1",
	  .status = REPLY_OK },
	/* Entry errors naming field and value. */
	{ OK("[{\"agentId\":1099,\"currentState\":11}]"),
	  "1099! currentState 11 is out of range 0..10", .status = REPLY_OK },
	{ OK("[{\"agentId\":1099,\"currentState\":-1}]"),
	  "1099! currentState -1 is out of range 0..10", .status = REPLY_OK },
	{ OK("[{\"agentId\":1099,\"currentState\":65535}]"),
	  "1099! currentState 65535 is out of range 0..10", .status = REPLY_OK },
	{ OK("[{\"agentId\":1099}]"), "1099! currentState is missing, not an integer", .status = REPLY_OK },
	{ OK("[{\"agentId\":1099,\"currentState\":null}]"),
	  "1099! currentState is null, not an integer", .status = REPLY_OK },
	{ OK("[{\"agentId\":1099,\"currentState\":\"8\"}]"),
	  "1099! currentState is string \"8\", not an integer", .status = REPLY_OK },
	{ OK("[{\"agentId\":1099,\"currentState\":8.0}]"),
	  "1099! currentState is double 8.0, not an integer", .status = REPLY_OK },
	{ STATE1("\"prevState\":\"1\""), "1099! prevState is string \"1\", not an integer", .status = REPLY_OK },
	{ STATE1("\"prevState\":12"), "1099! prevState 12 is out of range 0..10", .status = REPLY_OK },
	{ STATE1("\"currentStateTime\":1.5"), "1099! currentStateTime is double 1.5, not an integer",
	  .status = REPLY_OK },
	{ STATE1("\"currentStateTime\":-3"), "1099! currentStateTime -3 is out of range 0..4294967294",
	  .status = REPLY_OK },
	{ STATE1("\"currentStateTime\":18446744073709551615"),
	  "1099! currentStateTime 18446744073709551615 is out of range 0..4294967294", .status = REPLY_OK },
	{ STATE1("\"currentStateReason\":\"258\""),
	  "1099! currentStateReason is string \"258\", not an integer", .status = REPLY_OK },
	{ STATE1("\"logonTime\":\"2020\""), "1099! logonTime is string \"2020\", not an integer",
	  .status = REPLY_OK },
	{ STATE1("\"logonTime\":{}"), "1099! logonTime is object, not an integer", .status = REPLY_OK },
	/* A duplicate, an agent not asked, an envelope failure. */
	{ OK("[{\"agentId\":1099,\"currentState\":1},{\"agentId\":7,\"currentState\":1},"
	     "{\"agentId\":1099,\"currentState\":5}]"),
	  "1099! agentId 1099 appears twice in the CMS answer; "
	  "1099! agentId 1099 appears twice in the CMS answer", .status = REPLY_OK, .unasked = 1, .first_unasked = 7 },
	{ OK("[{\"agentId\":true,\"currentState\":1}]"),
	  "resultDesc[0].agentId is boolean true, not an integer", .status = REPLY_INVALID },
	{ "{\"resultCode\":\"0101003\",\"resultDesc\":\"no right\"}",
	  "CMS resultCode 0101003 (insufficient permission): \"no right\"", .status = REPLY_CMS_ERROR },
	/* Numbers as json-c read them: past 64 bits saturated, -0 is 0, a '.' or an exponent a double. */
	{ STATE1("\"currentStateTime\":18446744073709551616"),
	  "1099! currentStateTime 18446744073709551615 is out of range 0..4294967294", .status = REPLY_OK },
	{ STATE1("\"currentStateTime\":99999999999999999999999999"),
	  "1099! currentStateTime 18446744073709551615 is out of range 0..4294967294", .status = REPLY_OK },
	{ STATE1("\"logonTime\":-9223372036854775809"),
	  "1099! logonTime -9223372036854775808 is out of range 0..4294967295000", .status = REPLY_OK },
	{ STATE1("\"currentStateTime\":9223372036854775807"),
	  "1099! currentStateTime 9223372036854775807 is out of range 0..4294967294", .status = REPLY_OK },
	{ STATE1("\"currentStateTime\":-0,\"prevState\":-0"),
	  "1099: 1 prev 0 for 0 reason -1 logon -1", .status = REPLY_OK },
	{ STATE1("\"currentStateTime\":1e3"), "1099! currentStateTime is double 1e3, not an integer",
	  .status = REPLY_OK },
	{ STATE1("\"currentStateTime\":1E+3"), "1099! currentStateTime is double 1E+3, not an integer",
	  .status = REPLY_OK },
	{ STATE1("\"prevState\":-0.0"), "1099! prevState is double -0.0, not an integer", .status = REPLY_OK },
	{ STATE1("\"prevState\":1.00000000000000000000000000000000000000000000000000001"),
	  "1099! prevState is double 1.000000000000000000000000000000000000000000..., not an integer",
	  .status = REPLY_OK },
	{ STATE1("\"prevState\":false"), "1099! prevState is boolean false, not an integer", .status = REPLY_OK },
	{ STATE1("\"prevState\":[1,[2]]"), "1099! prevState is array, not an integer", .status = REPLY_OK },
	{ OK("[{\"agentId\":99999999999999999999,\"currentState\":1}]"),
	  "resultDesc[0].agentId 18446744073709551615 is out of range 0..4294967295", .status = REPLY_INVALID },
	{ OK("[{\"agentId\":1099e0,\"currentState\":1}]"),
	  "resultDesc[0].agentId is double 1099e0, not an integer", .status = REPLY_INVALID },
	{ OK("[{\"agentId\":-0,\"currentState\":1}]"), "", .status = REPLY_OK, .unasked = 1 },
	/* The fields are judged in one order, whatever their order in the text. */
	{ OK("[{\"logonTime\":\"x\",\"prevState\":99,\"agentId\":1099,\"currentState\":1}]"),
	  "1099! prevState 99 is out of range 0..10", .status = REPLY_OK },
	{ OK("[{\"logonTime\":\"x\",\"agentId\":1099}]"), "1099! currentState is missing, not an integer",
	  .status = REPLY_OK },
	/* Listed twice, over an error of the same field; not over an earlier field's. */
	{ STATE1("\"prevState\":11,\"prevState\":1"), "1099! prevState appears twice in its object",
	  .status = REPLY_OK },
	{ OK("[{\"agentId\":1099,\"currentState\":11,\"prevState\":1,\"prevState\":2}]"),
	  "1099! currentState 11 is out of range 0..10", .status = REPLY_OK },
	{ OK("[{\"agentId\":1099,\"currentState\":1,\"currentState\":1}]"),
	  "1099! currentState appears twice in its object", .status = REPLY_OK },
	/* Nesting: json-c's limit, no value inside more than 31 arrays and objects (the top one
	 * counted). */
	{ "{\"resultCode\":\"0100000\",\"resultDesc\":[],\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
	  "", .status = REPLY_OK },
	{ "{\"resultCode\":\"0100000\",\"resultDesc\":[],\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
	  "the response is not JSON (nesting too deep at byte 75)", .status = REPLY_INVALID },
	{ "{\"resultCode\":\"0100000\",\"resultDesc\":[],\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
	  "", .status = REPLY_OK },
	{ "{\"resultCode\":\"0100000\",\"resultDesc\":[],\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}",
	  "the response is not JSON (nesting too deep at byte 75)", .status = REPLY_INVALID },
	{ OK("[{\"agentId\":1099,\"currentState\":1,\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}]"),
	  "the response is not JSON (nesting too deep at byte 117)", .status = REPLY_INVALID },
};

static size_t asked_of(const struct tcase *t, const uint32_t **asked)
{
	size_t n = 0;

	while (n < ARRAY_SIZE(t->asked) && t->asked[n])
		n++;
	*asked = n ? t->asked : asked_default;
	return n ? n : ARRAY_SIZE(asked_default);
}

static void run_table(const struct tcase *cases, size_t ncases, bool states)
{
	char got[2048];

	for (size_t i = 0; i < ncases; i++) {
		const struct tcase *t = &cases[i];
		const uint32_t *asked;
		size_t nasked = asked_of(t, &asked);
		struct replybatch b;
		int before = check_failures;

		if (states)
			replybatch_parse_states(t->body, strlen(t->body), asked, nasked, &b);
		else
			replybatch_parse_calls(t->body, strlen(t->body), asked, nasked, &b);
		CHECK_INT(b.status, t->status);
		if (b.status == REPLY_OK) {
			(states ? render_states : render_calls)(&b, got, sizeof(got));
			CHECK_STR(got, t->want);
		} else {
			CHECK_STR(b.reason, t->want);
			CHECK(b.nentries == 0 && !b.calls && !b.states && !b.arena);
		}
		CHECK_INT(b.unasked, t->unasked);
		CHECK_INT(b.first_unasked, t->first_unasked);
		if (check_failures > before)
			fprintf(stderr, "  (case %zu: %s)\n", i, t->body);
		replybatch_free(&b);
	}
}

/* Names as product.md's tables give them, code by code. */
static const char *const call_status_names[] = {
	"idle", "occupied", "queued", "private_queued", "alerting", "talking", "held", "suspended",
	"muted", "three_party",
};
static const char *const state_names[] = {
	"signed_out", "idle", "preoccupied", "occupied", "answering", "talking", "wrap_up", "busy",
	"rest", "study", "adjusting",
};
static const struct {
	int code;
	const char *name;
} media_names[] = {
	{ 1, "chat" }, { 2, "webphone" }, { 4, "callback" }, { 5, "phone" },
	{ 15, "predictive_outbound" }, { 16, "preview_outbound" }, { 17, "message" }, { 19, "video" },
	{ 51, "webchat" }, { 53, "social" }, { 55, "h5chat" },
};

static void test_cmscodes(void)
{
	CHECK_INT(ARRAY_SIZE(call_status_names), CMS_CALL_STATUS_COUNT);
	CHECK_INT(ARRAY_SIZE(state_names), CMS_STATE_COUNT);
	for (int c = 0; c < CMS_CALL_STATUS_COUNT; c++)
		CHECK_STR(cmscodes_call_status_name(c), call_status_names[c]);
	for (int c = 0; c < CMS_STATE_COUNT; c++) {
		CHECK_STR(cmscodes_state_name(c), state_names[c]);
		CHECK_INT(cmscodes_state_from_name(state_names[c]), c);
	}
	CHECK_STR(cmscodes_direction_name(0), "inbound");
	CHECK_STR(cmscodes_direction_name(1), "outbound");
	for (size_t i = 0; i < ARRAY_SIZE(media_names); i++)
		CHECK_STR(cmscodes_media_name(media_names[i].code), media_names[i].name);
	/* Unknown codes have no name: the caller shows the number. */
	CHECK(!cmscodes_call_status_name(-1) && !cmscodes_call_status_name(10));
	CHECK(!cmscodes_state_name(-1) && !cmscodes_state_name(11) && !cmscodes_state_name(65535));
	CHECK(!cmscodes_direction_name(-1) && !cmscodes_direction_name(2));
	CHECK(!cmscodes_media_name(-1) && !cmscodes_media_name(0) && !cmscodes_media_name(3) &&
	      !cmscodes_media_name(77));
	CHECK_INT(cmscodes_state_from_name("Rest"), CMS_CODE_NONE);
	CHECK_INT(cmscodes_state_from_name("wrap-up"), CMS_CODE_NONE);
	CHECK_INT(cmscodes_state_from_name(""), CMS_CODE_NONE);
	CHECK_INT(cmscodes_state_from_name("unreachable"), CMS_CODE_NONE);
}

/* Each callStatus of a batch answer, named through cmscodes as events will name it. */
static void test_every_call_status(void)
{
	char body[2048];
	size_t o = (size_t)snprintf(body, sizeof(body), OK_HEAD "[{\"agentId\":1099,\"callList\":[");
	const uint32_t asked[] = { 1099 };
	const struct replybatch_calls *e;
	struct replybatch b;

	for (int c = 0; c < CMS_CALL_STATUS_COUNT; c++)
		o += (size_t)snprintf(body + o, sizeof(body) - o,
				      "%s{\"callId\":\"c-%d\",\"callStatus\":%d,\"callInOut\":%d,"
				      "\"mediaType\":%d}", c ? "," : "", c, c, c % 2,
				      media_names[c].code);
	snprintf(body + o, sizeof(body) - o, "]}]}");
	replybatch_parse_calls(body, strlen(body), asked, 1, &b);
	CHECK_INT(b.status, REPLY_OK);
	e = replybatch_find_calls(&b, 1099);
	CHECK(e && !e->error && e->ncalls == CMS_CALL_STATUS_COUNT);
	for (uint32_t c = 0; e && c < e->ncalls; c++) {
		CHECK_STR(cmscodes_call_status_name(e->calls[c].status), call_status_names[c]);
		CHECK_STR(cmscodes_direction_name(e->calls[c].direction), c % 2 ? "outbound" : "inbound");
		CHECK_STR(cmscodes_media_name(e->calls[c].media), media_names[c].name);
	}
	replybatch_free(&b);
}

static void test_too_many_calls(void)
{
	char body[4096];
	size_t o = (size_t)snprintf(body, sizeof(body), OK_HEAD "[{\"agentId\":1099,\"callList\":[");
	const uint32_t asked[] = { 1099 };
	struct replybatch b;

	for (int i = 0; i <= REPLY_MAX_CALLS; i++)
		o += (size_t)snprintf(body + o, sizeof(body) - o, "%s{\"callId\":\"c-%d\"}", i ? "," : "",
				      i);
	snprintf(body + o, sizeof(body) - o, "]}]}");
	replybatch_parse_calls(body, strlen(body), asked, 1, &b);
	CHECK_INT(b.status, REPLY_OK);
	CHECK(b.nentries == 1 && b.calls[0].ncalls == 0 && !b.calls[0].calls);
	CHECK_STR(b.calls[0].error, "callList lists 65 calls, more than the 64 one agent can have");
	replybatch_free(&b);
}

/* REPLYBATCH_CALLS_MAX agents, two calls each, answered in reverse: every one found by its id. */
static void test_full_batch(void)
{
	size_t n = REPLYBATCH_CALLS_MAX, size = n * 200 + 100, o;
	uint32_t *asked = xcalloc(n, sizeof(*asked));
	char *body = xmalloc(size);
	struct replybatch b;
	size_t found = 0;

	o = (size_t)snprintf(body, size, OK_HEAD "[");
	for (size_t i = 0; i < n; i++) {
		asked[i] = (uint32_t)(1000 + i);
		o += (size_t)snprintf(body + o, size - o,
				      "%s{\"agentId\":%zu,\"callList\":[{\"callId\":\"1605494261-%zu\","
				      "\"callStatus\":5,\"callInOut\":0,\"mediaType\":5},{\"callId\":"
				      "\"1605494262-%zu\",\"callStatus\":6,\"callInOut\":1,\"mediaType\":1}]}",
				      i ? "," : "", 1000 + n - 1 - i, i, i);
	}
	snprintf(body + o, size - o, "]}");
	replybatch_parse_calls(body, strlen(body), asked, n, &b);
	CHECK_INT(b.status, REPLY_OK);
	CHECK_INT(b.nentries, n);
	for (size_t i = 0; i < n; i++) {
		const struct replybatch_calls *e = replybatch_find_calls(&b, asked[i]);

		found += e && e->agent_id == asked[i] && !e->error && e->ncalls == 2 &&
			 e->calls[0].status == 5 && e->calls[1].status == 6;
	}
	CHECK_INT(found, n);
	CHECK(!replybatch_find_calls(&b, 999) && !replybatch_find_calls(&b, 1000 + n));
	CHECK(!replybatch_find_state(&b, 1000));
	replybatch_free(&b);
	/* Cut, or spoilt, after half the entries were read: nothing is kept (nor leaked). */
	replybatch_parse_calls(body, strlen(body) / 2, asked, n, &b);
	CHECK_STR(b.reason, "the response is truncated JSON (259916 bytes)");
	CHECK(b.status == REPLY_INVALID && !b.arena && !b.calls && b.nentries == 0 && b.unasked == 0);
	replybatch_free(&b);
	body[strlen(body) / 2] = 1;	/* no JSON anywhere, in a string or not */
	replybatch_parse_calls(body, strlen(body), asked, n, &b);
	CHECK(b.status == REPLY_INVALID && !b.arena && !b.calls && b.nentries == 0);
	CHECK(strncmp(b.reason, "the response is not JSON (", 26) == 0);
	replybatch_free(&b);
	free(body);
	free(asked);
}

/*
 * The entries' room is bounded by the body (ENTRY_JSON_MIN): the shortest elements, each agent
 * twice (the most an answer may list), in resultDesc and in a legacy resultDatas.
 */
static void test_shortest_entries(void)
{
	const uint32_t asked[] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	char list[512], body[1024];
	size_t o = 0;
	struct replybatch b;

	for (size_t i = 0; i < 2 * ARRAY_SIZE(asked); i++)
		o += (size_t)snprintf(list + o, sizeof(list) - o, "%s{\"agentId\":%zu}", i ? "," : "",
				      i % 9 + 1);
	snprintf(body, sizeof(body), "{\"resultCode\":\"0100000\",\"resultDesc\":[%s]}", list);
	replybatch_parse_states(body, strlen(body), asked, ARRAY_SIZE(asked), &b);
	CHECK(b.status == REPLY_OK && b.nentries == 18);
	CHECK_STR(b.states[17].error, "agentId 9 appears twice in the CMS answer");
	replybatch_free(&b);
	snprintf(body, sizeof(body), "{\"resultCode\":\"0100000\",\"resultDatas\":[%s]}", list);
	replybatch_parse_calls(body, strlen(body), asked, ARRAY_SIZE(asked), &b);
	CHECK(b.status == REPLY_OK && b.nentries == 18);
	CHECK_STR(b.calls[0].error, "agentId 1 appears twice in the CMS answer");
	replybatch_free(&b);
}

/* Error texts past the arena's first chunk: every entry keeps its own. */
static void test_many_errors(void)
{
	size_t n = 500, size = n * 80 + 100, o, good = 0;
	uint32_t *asked = xcalloc(n, sizeof(*asked));
	char *body = xmalloc(size), want[64];
	struct replybatch b;

	o = (size_t)snprintf(body, size, OK_HEAD "[");
	for (size_t i = 0; i < n; i++) {
		asked[i] = (uint32_t)(101 + i);
		o += (size_t)snprintf(body + o, size - o, "%s{\"agentId\":%zu,\"currentState\":%zu}",
				      i ? "," : "", 101 + i, 11 + i);
	}
	snprintf(body + o, size - o, "]}");
	replybatch_parse_states(body, strlen(body), asked, n, &b);
	CHECK_INT(b.status, REPLY_OK);
	CHECK_INT(b.nentries, n);
	for (size_t i = 0; i < n; i++) {
		const struct replybatch_state *e = replybatch_find_state(&b, asked[i]);

		snprintf(want, sizeof(want), "currentState %zu is out of range 0..10", 11 + i);
		good += e && e->error && strcmp(e->error, want) == 0 && e->state == CMS_CODE_NONE;
	}
	CHECK_INT(good, n);
	replybatch_free(&b);
	free(body);
	free(asked);
}

/* Every prefix of a good body is refused cleanly, by both parsers. */
static void test_every_prefix(void)
{
	const char *body = state_cases[0].body;
	const uint32_t asked[] = { 1099 };

	for (size_t len = 0; len < strlen(body); len++) {
		struct replybatch b;

		replybatch_parse_states(body, len, asked, 1, &b);
		CHECK(b.status == REPLY_INVALID);
		replybatch_free(&b);
		replybatch_parse_calls(body, len, asked, 1, &b);
		CHECK(b.status == REPLY_INVALID);
		replybatch_free(&b);
	}
}

/* Nothing asked: an empty answer is fine, any entry too many. */
static void test_nothing_asked(void)
{
	struct replybatch b;

	replybatch_parse_calls(OK("[]"), strlen(OK("[]")), NULL, 0, &b);
	CHECK(b.status == REPLY_OK && b.nentries == 0 && !replybatch_find_calls(&b, 1));
	replybatch_free(&b);
	replybatch_parse_states(OK("[" HUAWEI_STATE "]"), strlen(OK("[" HUAWEI_STATE "]")), NULL, 0, &b);
	CHECK_STR(b.reason, "resultDesc lists 1 entries, more than twice the 0 agents asked");
	replybatch_free(&b);
}

int main(void)
{
	run_table(calls_cases, ARRAY_SIZE(calls_cases), false);
	run_table(state_cases, ARRAY_SIZE(state_cases), true);
	test_cmscodes();
	test_every_call_status();
	test_too_many_calls();
	test_full_batch();
	test_shortest_entries();
	test_many_errors();
	test_every_prefix();
	test_nothing_asked();
	return check_done("test_replybatch");
}
