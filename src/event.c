/* event: one state transition of an agent, its unique id and its JSON form. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-id128.h>

#include "event.h"
#include "utf8.h"
#include "util.h"

static const char *const type_names[EVENT_TYPE_COUNT] = {
	[EVENT_CALL_STARTED] = "call.started",
	[EVENT_CALL_ENDED] = "call.ended",
	[EVENT_CALL_LONG] = "call.long",
	[EVENT_AGENT_BUSY] = "agent.busy",
	[EVENT_AGENT_IDLE] = "agent.idle",
	[EVENT_AGENT_UNREACHABLE] = "agent.unreachable",
	[EVENT_AGENT_REACHABLE] = "agent.reachable",
	[EVENT_CALL_STATUS] = "call.status",
	[EVENT_AGENT_STATE] = "agent.state",
	[EVENT_AGENT_LONG_STATE] = "agent.long_state",
};

const char *event_type_name(enum event_type type)
{
	return type_names[type];
}

enum event_type event_type_from_name(const char *name)
{
	for (int t = 0; t < EVENT_TYPE_COUNT; t++)
		if (strcmp(type_names[t], name) == 0)
			return (enum event_type)t;
	return EVENT_TYPE_COUNT;
}

void event_new_id(struct event *event)
{
	sd_id128_t id;

	if (sd_id128_randomize(&id) < 0) {
		fputs("agentwatchd: no randomness for event ids\n", stderr);
		abort();
	}
	snprintf(event->id, sizeof(event->id), SD_ID128_UUID_FORMAT_STR, SD_ID128_FORMAT_VAL(id));
}

double event_call_duration(const struct event *event)
{
	/* Whole milliseconds, as the timestamps carry. */
	return (double)(event->call_duration_us / 1000u) / 1000.0;
}

static void add(struct json_object *obj, const char *key, struct json_object *value)
{
	json_object_object_add(obj, key, value);
}

static struct json_object *time_json(uint64_t realtime_us)
{
	char buf[UTIL_TIME_LEN];

	util_format_time(realtime_us, buf);
	return json_object_new_string(buf);
}

struct json_object *event_agent_json(const struct cfg_agent *agent)
{
	struct json_object *obj = json_object_new_object();
	const struct cfg_group *group = agent->group;

	add(obj, "cc", json_object_new_int64(agent->cc));
	add(obj, "vdn", json_object_new_int64(agent->vdn));
	add(obj, "id", json_object_new_int64(agent->id));
	if (group && group->name)
		add(obj, "name", json_object_new_string(group->name));
	if (group && group->nlabels) {
		struct json_object *labels = json_object_new_object();

		for (size_t i = 0; i < group->nlabels; i++)
			add(labels, group->labels[i].key, json_object_new_string(group->labels[i].value));
		add(obj, "labels", labels);
	}
	return obj;
}

struct json_object *event_to_json(const struct event *event)
{
	struct json_object *obj = json_object_new_object();

	add(obj, "id", json_object_new_string(event->id));
	add(obj, "type", json_object_new_string(event_type_name(event->type)));
	add(obj, "time", time_json(event->time_us));
	add(obj, "agent", event_agent_json(event->agent));
	if (event->call_id) {
		add(obj, "call_id", json_object_new_string(event->call_id));
		add(obj, "call_first_seen", time_json(event->call_first_seen_us));
	}
	if (event->type == EVENT_CALL_ENDED || event->type == EVENT_CALL_LONG) {
		char seconds[32];

		/* Written as milliseconds are known, not as the nearest binary double prints. */
		snprintf(seconds, sizeof(seconds), "%.3f", event_call_duration(event));
		add(obj, "duration", json_object_new_double_s(event_call_duration(event), seconds));
	}
	if (event->type == EVENT_AGENT_BUSY)
		add(obj, "calls", json_object_new_int64(event->ncalls));
	if (event->type == EVENT_AGENT_UNREACHABLE) {
		add(obj, "failures", json_object_new_int64(event->failures));
		add(obj, "reason", json_object_new_string(event->reason ? event->reason : ""));
	}
	if (event->initial)
		add(obj, "initial", json_object_new_boolean(1));
	if (event->after_restart)
		add(obj, "after_restart", json_object_new_boolean(1));
	return obj;
}

/* The text of event_describe, any length; the caller frees it. */
static char *describe(const struct event *event)
{
	const struct cfg_agent *a = event->agent;
	const char *name = a->group && a->group->name ? a->group->name : NULL;
	char *who, *text;

	/* No fixed buffer here: a name is cut, if at all, with the whole message. */
	if (name)
		who = xasprintf("agent %u:%u:%u (%s)", a->cc, a->vdn, a->id, name);
	else
		who = xasprintf("agent %u:%u:%u", a->cc, a->vdn, a->id);
	switch (event->type) {
	case EVENT_CALL_STARTED:
		text = xasprintf("%s: call %s started%s", who, event->call_id,
				 event->initial ? " (in progress at start)" : "");
		break;
	case EVENT_CALL_ENDED:
		text = xasprintf("%s: call %s ended after %.1f s%s", who, event->call_id,
				 event_call_duration(event),
				 event->after_restart ? " (observed after a restart)" : "");
		break;
	case EVENT_CALL_LONG:
		text = xasprintf("%s: call %s has lasted %.0f s", who, event->call_id,
				 event_call_duration(event));
		break;
	case EVENT_AGENT_BUSY:
		text = xasprintf("%s is busy (%u call%s)", who, event->ncalls,
				 event->ncalls == 1 ? "" : "s");
		break;
	case EVENT_AGENT_IDLE:
		text = xasprintf("%s is idle", who);
		break;
	case EVENT_AGENT_UNREACHABLE:
		text = xasprintf("%s is unreachable after %u failed polls: %s", who, event->failures,
				 event->reason ? event->reason : "");
		break;
	case EVENT_AGENT_REACHABLE:
		text = xasprintf("%s is reachable again", who);
		break;
	default:
		text = xstrdup("");
		break;
	}
	free(who);
	return text;
}

void event_describe(const struct event *event, char *buf, size_t size)
{
	char *text = describe(event);

	utf8_copy(buf, size, text);
	free(text);
}
