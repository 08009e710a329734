/* once: --once, every configured agent (or one) polled a single time, one JSON object each. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include <json-c/json.h>
#include <systemd/sd-event.h>

#include "cms.h"
#include "cmscodes.h"
#include "event.h"
#include "log.h"
#include "once.h"
#include "pollunit.h"
#include "util.h"

struct once {
	sd_event *event;
	struct cms_client *client;
	enum cfg_cms_api api;
	const struct cfg_agent *agents;
	size_t nagents;
	struct pollunit_spec *jobs;	/* requests still to start, then those the 404s add */
	size_t njobs, next;
	size_t running;
	size_t failed;
	struct json_object **lines;	/* each agent's object, printed in cc:vdn:id order at the end */
};

struct slot {
	struct once *once;
	struct pollunit_spec job;
	uint32_t *ids;
};

/* The name of a code, or the number itself when the table has none (product.md). */
static struct json_object *code_json(const char *name, int code)
{
	return name ? json_object_new_string(name) : json_object_new_int(code);
}

static struct json_object *call_json(const struct reply_call *c)
{
	struct json_object *obj;

	if (c->status == CMS_CODE_NONE)
		return json_object_new_string(c->id);	/* per agent: the ID alone, as in 1.0 */
	obj = json_object_new_object();
	json_object_object_add(obj, "id", json_object_new_string(c->id));
	json_object_object_add(obj, "status", code_json(cmscodes_call_status_name(c->status),
							c->status));
	json_object_object_add(obj, "status_code", json_object_new_int(c->status));
	if (c->direction != CMS_CODE_NONE)
		json_object_object_add(obj, "direction",
				       code_json(cmscodes_direction_name(c->direction), c->direction));
	if (c->media != CMS_CODE_NONE) {
		json_object_object_add(obj, "media", code_json(cmscodes_media_name(c->media), c->media));
		json_object_object_add(obj, "media_type", json_object_new_int(c->media));
	}
	if (c->submedia)
		json_object_object_add(obj, "submedia", json_object_new_string(c->submedia));
	return obj;
}

static void put_calls(struct json_object *obj, const struct reply_call *calls, size_t n)
{
	struct json_object *list = json_object_new_array();

	json_object_object_add(obj, "ok", json_object_new_boolean(1));
	for (size_t i = 0; i < n; i++)
		json_object_array_add(list, call_json(&calls[i]));
	json_object_object_add(obj, "calls", list);
}

static void put_failure(struct once *once, struct json_object *obj, const struct cfg_agent *agent,
			const struct cms_result *res, const char *reason)
{
	once->failed++;
	log_info("agent %u:%u:%u: %s", agent->cc, agent->vdn, agent->id, reason);
	json_object_object_add(obj, "ok", json_object_new_boolean(0));
	json_object_object_add(obj, "status", json_object_new_string(cms_status_name(
		res->status == CMS_OK ? CMS_ERR_REPLY : res->status)));
	if (res->http_status)
		json_object_object_add(obj, "http_status", json_object_new_int64(res->http_status));
	json_object_object_add(obj, "error", json_object_new_string(reason));
}

/* state, state_code, state_since and state_reason as the HTTP API names them. */
static void put_state(struct json_object *obj, const struct replybatch_state *st)
{
	json_object_object_add(obj, "state", code_json(cmscodes_state_name(st->state), st->state));
	json_object_object_add(obj, "state_code", json_object_new_int(st->state));
	if (st->state_seconds >= 0) {
		char since[UTIL_TIME_LEN];

		util_format_time(util_now_realtime_us() - (uint64_t)st->state_seconds * 1000000u, since);
		json_object_object_add(obj, "state_since", json_object_new_string(since));
	}
	if (st->reason != CMS_CODE_NONE)
		json_object_object_add(obj, "state_reason", json_object_new_int(st->reason));
}

static void add_job(struct once *once, const struct pollunit_spec *job)
{
	once->jobs = xreallocarray(once->jobs, once->njobs + 1, sizeof(once->jobs[0]));
	once->jobs[once->njobs++] = *job;
}

/* auto: the (cc, vdn) has no batch path; its agents go one request each, as the daemon does. */
static void fall_back(struct once *once, const struct pollunit_spec *job)
{
	log_notice("%u:%u: the CMS has no batch interface (HTTP 404 on %s); polling its agents one "
		   "request each", job->cc, job->vdn, CMS_PATH_BATCH);
	for (size_t i = job->first; i < job->first + job->n; i++)
		add_job(once, &(struct pollunit_spec){ POLLUNIT_AGENT, job->cc, job->vdn,
						       once->agents[i].id, 0, i, 1, 0 });
}

static void calls_result(struct once *once, const struct pollunit_spec *job,
			 const struct cms_result *res)
{
	for (size_t i = job->first; i < job->first + job->n; i++) {
		const struct cfg_agent *agent = &once->agents[i];
		const struct replybatch_calls *entry;
		const char *reason = res->reason;

		if (res->status != CMS_OK)
			put_failure(once, once->lines[i], agent, res, reason);
		else if (!res->batch)
			put_calls(once->lines[i], res->reply->calls, res->reply->ncalls);
		else if (pollunit_calls_of(res->batch, agent->id, &entry, &reason))
			put_calls(once->lines[i], entry->calls, entry->ncalls);
		else
			put_failure(once, once->lines[i], agent, res, reason);
	}
}

/* A state poll decides nothing about the exit status; a refusal is said once and left out. */
static void state_result(struct once *once, const struct pollunit_spec *job,
			 const struct cms_result *res)
{
	if (res->status != CMS_OK && (res->http_status == 404 || res->refused)) {
		log_notice("%u:%u: the CMS refuses the agent state interface (%s)", job->cc, job->vdn,
			   res->reason);
		return;
	}
	for (size_t i = job->first; i < job->first + job->n; i++) {
		const struct replybatch_state *entry;
		const char *reason = res->reason;

		if (res->status == CMS_OK &&
		    pollunit_state_of(res->batch, once->agents[i].id, &entry, &reason))
			put_state(once->lines[i], entry);
		else
			json_object_object_add(once->lines[i], "state_error",
					       json_object_new_string(reason));
	}
}

static void start_jobs(struct once *once);

static void on_done(void *userdata, const struct cms_result *res)
{
	struct slot *slot = userdata;
	struct once *once = slot->once;

	if (slot->job.kind == POLLUNIT_STATE)
		state_result(once, &slot->job, res);
	else if (slot->job.kind == POLLUNIT_BATCH && res->http_status == 404 &&
		 once->api == CFG_API_AUTO)
		fall_back(once, &slot->job);
	else
		calls_result(once, &slot->job, res);
	free(slot->ids);
	free(slot);
	once->running--;
	start_jobs(once);
	if (once->running == 0 && once->next == once->njobs)
		sd_event_exit(once->event, 0);
}

static void start_jobs(struct once *once)
{
	while (once->next < once->njobs && cms_client_has_capacity(once->client)) {
		struct slot *slot = xcalloc(1, sizeof(*slot));
		const struct pollunit_spec *job = &once->jobs[once->next++];

		slot->once = once;
		slot->job = *job;
		once->running++;
		if (job->kind == POLLUNIT_AGENT) {
			cms_poll(once->client, &once->agents[job->first], on_done, slot);
			continue;
		}
		slot->ids = xcalloc(job->n, sizeof(slot->ids[0]));
		for (size_t i = 0; i < job->n; i++)
			slot->ids[i] = once->agents[job->first + i].id;
		cms_poll_batch(once->client, job->kind == POLLUNIT_STATE ? CMS_API_STATE : CMS_API_BATCH,
			       job->cc, job->vdn, slot->ids, job->n, on_done, slot);
	}
}

int once_run(const struct cfg *cfg, const struct cfg_agent *only, bool trace_signing)
{
	struct pollunit_params params = {
		.batch = cfg->cms.api != CFG_API_AGENT, .batch_size = (size_t)cfg->cms.batch_size,
		.state = cfg->poll.agent_state, .state_size = (size_t)cfg->cms.batch_size,
	};
	struct once once = {
		.api = cfg->cms.api,
		.agents = only ? only : cfg->agents,
		.nagents = only ? 1 : cfg->nagents,
	};

	if (sd_event_new(&once.event) < 0) {
		log_err("cannot create the event loop");
		return 1;
	}
	once.njobs = pollunit_plan(once.agents, once.nagents, &params, &once.jobs);
	once.lines = xcalloc(once.nagents, sizeof(once.lines[0]));
	for (size_t i = 0; i < once.nagents; i++) {
		once.lines[i] = json_object_new_object();
		json_object_object_add(once.lines[i], "agent", event_agent_json(&once.agents[i]));
	}
	once.client = cms_client_new(once.event, &cfg->cms);
	cms_client_trace_signing(once.client, trace_signing);
	start_jobs(&once);
	if (once.running)
		sd_event_loop(once.event);
	for (size_t i = 0; i < once.nagents; i++) {
		puts(json_object_to_json_string_ext(once.lines[i], JSON_C_TO_STRING_PLAIN |
						    JSON_C_TO_STRING_NOSLASHESCAPE));
		json_object_put(once.lines[i]);
	}
	fflush(stdout);
	free(once.lines);
	free(once.jobs);
	cms_client_free(once.client);
	sd_event_unref(once.event);
	return once.failed ? 1 : 0;
}
