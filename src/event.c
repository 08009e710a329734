/* event: one state transition of an agent, its unique id and its JSON form. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-id128.h>

#include "cmscodes.h"
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
	_Static_assert(EVENT_ID_LEN == SD_ID128_UUID_STRING_MAX, "an event id is a UUID's text");
	sd_id128_to_uuid_string(id, event->id);	/* not snprintf: one per event, measurable */
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

/* A code by its name, or the number itself when it has none (product.md). */
static struct json_object *code_json(const char *(*name_of)(int), int code)
{
	const char *name = name_of(code);

	return name ? json_object_new_string(name) : json_object_new_int(code);
}

/* Seconds: in milliseconds when measured, with the digits they were given when configured. */
static struct json_object *seconds_json(double seconds, bool measured)
{
	char text[64];

	if (measured)
		snprintf(text, sizeof(text), "%.3f", seconds);
	else
		snprintf(text, sizeof(text), "%.15g", seconds);
	/* A whole number still reads as one of seconds: 900.0, as json-c writes doubles. */
	if (!strpbrk(text, ".eEn"))
		strcat(text, ".0");
	return json_object_new_double_s(seconds, text);
}

/* Call events from a batch answer: what the call is doing (product.md, SPEC). */
static void add_call_detail(struct json_object *obj, const struct event *event)
{
	const struct event_call_detail *d = &event->detail;

	if (d->status != CMS_CODE_NONE) {
		add(obj, "call_status", code_json(cmscodes_call_status_name, d->status));
		add(obj, "call_status_code", json_object_new_int(d->status));
	}
	if (d->direction != CMS_CODE_NONE)
		add(obj, "direction", code_json(cmscodes_direction_name, d->direction));
	if (d->media != CMS_CODE_NONE) {
		add(obj, "media", code_json(cmscodes_media_name, d->media));
		add(obj, "media_type", json_object_new_int(d->media));
	}
	if (d->submedia)
		add(obj, "submedia", json_object_new_string(d->submedia));
	if (event->type == EVENT_CALL_STATUS && d->previous_status != CMS_CODE_NONE)
		add(obj, "previous_call_status", code_json(cmscodes_call_status_name,
							   d->previous_status));
}

/* agent.state and agent.long_state. */
static void add_agent_state(struct json_object *obj, const struct event *event)
{
	const struct event_agent_state *st = &event->state;

	add(obj, "state", code_json(cmscodes_state_name, st->code));
	add(obj, "state_code", json_object_new_int(st->code));
	add(obj, "state_since", time_json(st->since_us));
	if (event->type == EVENT_AGENT_STATE) {
		if (st->previous_code != CMS_CODE_NONE)
			add(obj, "previous_state", code_json(cmscodes_state_name, st->previous_code));
		if (st->reason != CMS_CODE_NONE)
			add(obj, "reason_code", json_object_new_int64(st->reason));
	} else {
		add(obj, "threshold", seconds_json(st->threshold, false));
		add(obj, "duration", seconds_json((double)(st->duration_us / 1000u) / 1000.0, true));
	}
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
	/* Written as milliseconds are known, not as the nearest binary double prints. */
	if (event->type == EVENT_CALL_ENDED || event->type == EVENT_CALL_LONG)
		add(obj, "duration", seconds_json(event_call_duration(event), true));
	if (event->call_id)
		add_call_detail(obj, event);
	if (event->type == EVENT_AGENT_STATE || event->type == EVENT_AGENT_LONG_STATE)
		add_agent_state(obj, event);
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

/* A code's name, or the number itself in buf. */
static const char *code_text(const char *(*name_of)(int), int code, char buf[16])
{
	const char *name = name_of(code);

	if (name)
		return name;
	snprintf(buf, 16, "%d", code);
	return buf;
}

/* The new types' messages: call.status, agent.state, agent.long_state. */
static char *describe_detail(const struct event *event, const char *who)
{
	char now[16], before[16];
	const char *state;

	switch (event->type) {
	case EVENT_CALL_STATUS:
		return xasprintf("%s: call %s is now %s (was %s)", who, event->call_id,
				 code_text(cmscodes_call_status_name, event->detail.status, now),
				 code_text(cmscodes_call_status_name, event->detail.previous_status,
					   before));
	case EVENT_AGENT_STATE:
		state = code_text(cmscodes_state_name, event->state.code, now);
		if (event->state.previous_code == CMS_CODE_NONE)
			return xasprintf("%s is %s (first state poll)", who, state);
		return xasprintf("%s is now %s (was %s)", who, state,
				 code_text(cmscodes_state_name, event->state.previous_code, before));
	case EVENT_AGENT_LONG_STATE:
		return xasprintf("%s has been %s for %.0f s (alert at %g s)", who,
				 code_text(cmscodes_state_name, event->state.code, now),
				 (double)(event->state.duration_us / 1000000u), event->state.threshold);
	default:
		return xstrdup("");
	}
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
		text = describe_detail(event, who);
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

/* ---- reading an event back (a restart's replay) ---- */

static struct json_object *get(struct json_object *obj, const char *key, enum json_type type)
{
	struct json_object *f;

	return json_object_object_get_ex(obj, key, &f) && json_object_is_type(f, type) ? f : NULL;
}

static const char *get_string(struct json_object *obj, const char *key)
{
	struct json_object *f = get(obj, key, json_type_string);

	return f ? json_object_get_string(f) : NULL;
}

/* A code field: the number, else CMS_CODE_NONE when absent or out of [0, max]. */
static int64_t get_code(struct json_object *obj, const char *key, int64_t max)
{
	struct json_object *f = get(obj, key, json_type_int);
	int64_t v = f ? json_object_get_int64(f) : CMS_CODE_NONE;

	return v >= 0 && v <= max ? v : CMS_CODE_NONE;
}

/* A field written by code_json: the name read back through name_of, or the number itself. */
static int64_t get_named(struct json_object *obj, const char *key, const char *(*name_of)(int),
			 int count, int64_t max)
{
	const char *name = get_string(obj, key);

	if (!name)
		return get_code(obj, key, max);
	for (int c = 0; c < count; c++)
		if (name_of(c) && strcmp(name_of(c), name) == 0)
			return c;
	return CMS_CODE_NONE;
}

static int get_time(struct json_object *obj, const char *key, uint64_t *us)
{
	const char *text = get_string(obj, key);

	return text && util_parse_time(text, us) == 0 ? 0 : -1;
}

int event_from_json(struct json_object *obj, struct event *out)
{
	const char *type = get_string(obj, "type");
	struct json_object *f;

	*out = (struct event){ .type = type ? event_type_from_name(type) : EVENT_TYPE_COUNT };
	out->detail = (struct event_call_detail){ .status = CMS_CODE_NONE,
						  .previous_status = CMS_CODE_NONE,
						  .direction = CMS_CODE_NONE, .media = CMS_CODE_NONE };
	out->state = (struct event_agent_state){ .code = CMS_CODE_NONE,
						 .previous_code = CMS_CODE_NONE,
						 .reason = CMS_CODE_NONE };
	if (out->type == EVENT_TYPE_COUNT)
		return -1;
	if ((out->call_id = get_string(obj, "call_id")) &&
	    get_time(obj, "call_first_seen", &out->call_first_seen_us) < 0)
		return -1;
	out->initial = (f = get(obj, "initial", json_type_boolean)) && json_object_get_boolean(f);
	out->detail.status = (int16_t)get_code(obj, "call_status_code", INT16_MAX);
	out->detail.previous_status = (int16_t)get_named(obj, "previous_call_status",
							 cmscodes_call_status_name,
							 CMS_CALL_STATUS_COUNT, INT16_MAX);
	out->detail.direction = (int16_t)get_named(obj, "direction", cmscodes_direction_name, 2,
						   INT16_MAX);
	out->detail.media = (int32_t)get_code(obj, "media_type", INT32_MAX);
	out->detail.submedia = get_string(obj, "submedia");
	if (out->type != EVENT_AGENT_STATE && out->type != EVENT_AGENT_LONG_STATE)
		return 0;
	out->state.code = (int16_t)get_code(obj, "state_code", CMS_STATE_COUNT - 1);
	out->state.previous_code = (int16_t)get_named(obj, "previous_state", cmscodes_state_name,
						      CMS_STATE_COUNT, INT16_MAX);
	out->state.reason = (int32_t)get_code(obj, "reason_code", INT32_MAX);
	if ((f = get(obj, "threshold", json_type_double)) || (f = get(obj, "threshold", json_type_int)))
		out->state.threshold = json_object_get_double(f);
	if (out->state.code == CMS_CODE_NONE || get_time(obj, "state_since", &out->state.since_us) < 0)
		return -1;
	return 0;
}
