/* reply: a queryagentcalls response body turned into a set of call IDs or a precise reason. */
#ifndef AW_REPLY_H
#define AW_REPLY_H

#include <stddef.h>
#include <stdint.h>

#define REPLY_CALL_ID_MAX 64	/* bytes; Huawei's CDRs cap call IDs at 25 */
#define REPLY_MAX_CALLS 64	/* an agent has a handful of calls at most */
#define REPLY_REASON_MAX 256

enum reply_status {
	REPLY_OK,		/* calls[] holds the agent's current call IDs */
	REPLY_CMS_ERROR,	/* the CMS answered with a failure resultCode */
	REPLY_CMS_BUSY,		/* resultCode 0100999: unknown error, treated as "back off" */
	REPLY_INVALID,		/* not a response of the documented shapes */
};

/*
 * One call of an answer. The batch interface says what it is doing; the per-agent one says
 * nothing, and every code is then CMS_CODE_NONE (cmscodes.h).
 */
struct reply_call {
	const char *id;			/* the call ID; owned by the reply it came in */
	int16_t status;			/* callStatus 0..9, or CMS_CODE_NONE */
	int16_t direction;		/* callInOut 0 inbound, 1 outbound, or CMS_CODE_NONE */
	int32_t media;			/* mediaType (any number the CMS sends), or CMS_CODE_NONE */
	const char *submedia;		/* submediaType, NULL when absent */
};

/* Fixed-size so that a poll's answer needs no allocation beyond the JSON parse. */
struct reply {
	enum reply_status status;
	size_t ncalls;
	struct reply_call calls[REPLY_MAX_CALLS];	/* sorted by id, unique; ids point into ids */
	char ids[REPLY_MAX_CALLS][REPLY_CALL_ID_MAX + 1];
	char reason[REPLY_REASON_MAX];		/* why, when status is not REPLY_OK */
};

/* The per-agent interface (cms-api.md §1): call IDs without detail. */
void reply_parse(const char *body, size_t len, struct reply *out);

/* The meaning of a documented CMS resultCode, or NULL. */
const char *reply_result_meaning(const char *code);

/*
 * Copies s into buf for a log line or reason: valid UTF-8 kept, control characters and bytes that
 * are not UTF-8 as \xNN, quotes and backslashes escaped, cut with "..." (between characters) when
 * longer than fits. buf is always valid UTF-8.
 */
void reply_sanitize(const char *s, size_t len, char *buf, size_t size);

#endif
