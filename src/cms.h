/* cms: queryagentcalls requests on a shared libcurl multi handle driven by sd-event. */
#ifndef AW_CMS_H
#define AW_CMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-event.h>

#include "cfg.h"
#include "reply.h"

#define CMS_PATH "/rest/cmsapp/v1/openapi/agent/queryagentcalls"
#define CMS_BODY_MAX 65536	/* bytes; a larger answer is refused, never buffered */

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
	const struct reply *reply;	/* the parsed answer when status is CMS_OK */
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

const char *cms_status_name(enum cms_status status);

#endif
