/* cms: the CMS requests (per agent, batch calls, batch states) on a shared libcurl multi handle driven by sd-event. */
#ifndef AW_CMS_H
#define AW_CMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "cfg.h"
#include "reply.h"
#include "replybatch.h"

#define CMS_PATH "/rest/cmsapp/v1/openapi/agent/queryagentcalls"
#define CMS_PATH_BATCH "/rest/cmsapp/v1/openapi/agentgroup/queryagentcalls"
#define CMS_PATH_STATE "/rest/cmsapp/v1/openapi/agentgroup/agentstatusinfobyagentids"
#define CMS_BODY_MAX 65536	/* bytes; a larger answer is refused, never buffered */
#define CMS_BODY_PER_AGENT 4096	/* bytes more a batch answer may take per agent asked */

/* Which interface a request uses (cms-api.md §1, §2.1, §2.2). */
enum cms_api {
	CMS_API_AGENT,		/* agent/queryagentcalls: one agent's call IDs */
	CMS_API_BATCH,		/* agentgroup/queryagentcalls: calls with detail of up to 3000 */
	CMS_API_STATE,		/* agentgroup/agentstatusinfobyagentids: CTI state of up to 6000 */
};

enum cms_status {
	CMS_OK,
	CMS_ERR_AUTH,		/* HTTP 401 */
	CMS_ERR_HTTP,		/* another HTTP status */
	CMS_ERR_BACKOFF,	/* 429, 503 or resultCode 0100999: the CMS asks for less */
	CMS_ERR_CMS,		/* a failure resultCode */
	CMS_ERR_REPLY,		/* a body of no documented shape */
	CMS_ERR_TIMEOUT,
	CMS_ERR_TLS,
	CMS_ERR_CONNECT,	/* resolve, connect, reset, nothing received */
	CMS_ERR_CANCELLED,	/* the client was stopped */
};

struct cms_result {
	enum cms_status status;
	long http_status;	/* 0 when no HTTP answer was received */
	double retry_after;	/* seconds the CMS asked to wait, 0 when it did not */
	const struct reply *reply;	/* CMS_API_AGENT: the parsed answer when status is CMS_OK */
	const struct replybatch *batch;	/* CMS_API_BATCH/STATE: the parsed answer when CMS_OK;
					   valid during the done call only */
	bool refused;		/* CMS_ERR_CMS with a resultCode saying this interface is not for
				   us: 0101003 (insufficient permission) or 0100003 (CTI too old) */
	const char *reason;	/* why it failed, for logs and events; "" on success */
};

typedef void (*cms_done_fn)(void *userdata, const struct cms_result *result);

struct cms_client;

struct cms_client *cms_client_new(sd_event *event, const struct cfg_cms *cfg);
/* Takes new settings for the requests started from now on; transfers under way finish as they were. */
void cms_client_configure(struct cms_client *client, const struct cfg_cms *cfg);
/* Ends every transfer under way, calling its done function with CMS_ERR_CANCELLED. */
void cms_client_cancel_all(struct cms_client *client);
void cms_client_free(struct cms_client *client);

/* When true, each request's canonical request and Authorization prefix go to the debug log. */
void cms_client_trace_signing(struct cms_client *client, bool on);

bool cms_client_has_capacity(const struct cms_client *client);
size_t cms_client_in_flight(const struct cms_client *client);

/* Starts one poll; done is called exactly once, never from inside this call. */
void cms_poll(struct cms_client *client, const struct cfg_agent *agent, cms_done_fn done,
	      void *userdata);

/*
 * Starts one batch request (api CMS_API_BATCH or CMS_API_STATE) for ids[0..n) of (cc, vdn):
 * sorted, unique, 1..3000 (calls) or 1..6000 (states); copied. The answer may take
 * CMS_BODY_MAX + n * CMS_BODY_PER_AGENT bytes. done is called exactly once, never from inside.
 */
void cms_poll_batch(struct cms_client *client, enum cms_api api, uint32_t cc, uint32_t vdn,
		    const uint32_t *ids, size_t n, cms_done_fn done, void *userdata);

const char *cms_status_name(enum cms_status status);

#endif
