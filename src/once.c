/* once: --once, every configured agent (or one) polled a single time, one JSON object each. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <json-c/json.h>
#include <systemd/sd-event.h>

#include "cms.h"
#include "event.h"
#include "log.h"
#include "once.h"
#include "util.h"

struct once {
	sd_event *event;
	struct cms_client *client;
	const struct cfg_agent *agents;
	size_t nagents;
	size_t next;		/* the next agent to poll */
	size_t done;
	size_t failed;
	char **lines;		/* each agent's JSON, printed in cc:vdn:id order at the end */
};

struct slot {
	struct once *once;
	size_t index;
};

static char *result_line(const struct cfg_agent *agent, const struct cms_result *res)
{
	struct json_object *obj = json_object_new_object();
	char *line;

	json_object_object_add(obj, "agent", event_agent_json(agent));
	json_object_object_add(obj, "ok", json_object_new_boolean(res->status == CMS_OK));
	if (res->status == CMS_OK) {
		struct json_object *calls = json_object_new_array();

		for (size_t i = 0; i < res->reply->ncalls; i++)
			json_object_array_add(calls, json_object_new_string(res->reply->calls[i].id));
		json_object_object_add(obj, "calls", calls);
	} else {
		json_object_object_add(obj, "status",
				       json_object_new_string(cms_status_name(res->status)));
		if (res->http_status)
			json_object_object_add(obj, "http_status",
					       json_object_new_int64(res->http_status));
		json_object_object_add(obj, "error", json_object_new_string(res->reason));
	}
	line = xstrdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
						      JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(obj);
	return line;
}

static void start_polls(struct once *once);

static void on_done(void *userdata, const struct cms_result *res)
{
	struct slot *slot = userdata;
	struct once *once = slot->once;
	const struct cfg_agent *agent = &once->agents[slot->index];

	once->lines[slot->index] = result_line(agent, res);
	if (res->status != CMS_OK) {
		once->failed++;
		log_info("agent %u:%u:%u: %s", agent->cc, agent->vdn, agent->id, res->reason);
	}
	free(slot);
	if (++once->done == once->nagents)
		sd_event_exit(once->event, 0);
	else
		start_polls(once);
}

static void start_polls(struct once *once)
{
	while (once->next < once->nagents && cms_client_has_capacity(once->client)) {
		struct slot *slot = xmalloc(sizeof(*slot));

		slot->once = once;
		slot->index = once->next++;
		cms_poll(once->client, &once->agents[slot->index], on_done, slot);
	}
}

int once_run(const struct cfg *cfg, const struct cfg_agent *only, bool trace_signing)
{
	struct once once = {
		.agents = only ? only : cfg->agents,
		.nagents = only ? 1 : cfg->nagents,
	};

	if (sd_event_new(&once.event) < 0) {
		log_err("cannot create the event loop");
		return 1;
	}
	once.lines = xcalloc(once.nagents, sizeof(once.lines[0]));
	once.client = cms_client_new(once.event, &cfg->cms);
	cms_client_trace_signing(once.client, trace_signing);
	start_polls(&once);
	sd_event_loop(once.event);
	for (size_t i = 0; i < once.nagents; i++) {
		puts(once.lines[i]);
		free(once.lines[i]);
	}
	fflush(stdout);
	free(once.lines);
	cms_client_free(once.client);
	sd_event_unref(once.event);
	return once.failed ? 1 : 0;
}
