/* cmscodes: the CMS's numeric codes (callStatus, callInOut, mediaType, CTI agent state) and their names. */
#include "config.h"

#include <string.h>

#include "cmscodes.h"
#include "util.h"

/* cms-api.md §2.1 callStatus. */
static const char *const call_status_names[CMS_CALL_STATUS_COUNT] = {
	"idle", "occupied", "queued", "private_queued", "alerting", "talking", "held",
	"suspended", "muted", "three_party",
};

/* cms-api.md §2.2, Huawei cec_07_0697. */
static const char *const state_names[CMS_STATE_COUNT] = {
	"signed_out", "idle", "preoccupied", "occupied", "answering", "talking", "wrap_up",
	"busy", "rest", "study", "adjusting",
};

/* cms-api.md §2.1 mediaType, Huawei cec_07_0843. */
static const struct {
	int code;
	const char *name;
} media_names[] = {
	{ 1, "chat" }, { 2, "webphone" }, { 4, "callback" }, { 5, "phone" },
	{ 15, "predictive_outbound" }, { 16, "preview_outbound" }, { 17, "message" },
	{ 19, "video" }, { 51, "webchat" }, { 53, "social" }, { 55, "h5chat" },
};

const char *cmscodes_call_status_name(int code)
{
	return code >= 0 && code < CMS_CALL_STATUS_COUNT ? call_status_names[code] : NULL;
}

const char *cmscodes_direction_name(int code)
{
	return code == 0 ? "inbound" : code == 1 ? "outbound" : NULL;
}

const char *cmscodes_media_name(int code)
{
	for (size_t i = 0; i < ARRAY_SIZE(media_names); i++)
		if (media_names[i].code == code)
			return media_names[i].name;
	return NULL;
}

const char *cmscodes_state_name(int code)
{
	return code >= 0 && code < CMS_STATE_COUNT ? state_names[code] : NULL;
}

int cmscodes_state_from_name(const char *name)
{
	for (int c = 0; c < CMS_STATE_COUNT; c++)
		if (strcmp(state_names[c], name) == 0)
			return c;
	return CMS_CODE_NONE;
}
