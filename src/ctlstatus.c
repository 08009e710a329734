/* ctlstatus: agentwatchctl status: one screen gathered from /healthz, /api/v1/agents, /metrics. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "ctlfmt.h"
#include "util.h"

#define METRIC_PREFIX "agentwatchd_"

/* ---- Prometheus text ---- */

void ctlfmt_metrics_each(const char *text, ctlfmt_sample_fn fn, void *ctx)
{
	const char *line = text, *end;

	for (; line && *line; line = end ? end + 1 : NULL) {
		char *copy, *name_end, *labels = NULL, *value, *stop;
		double v;

		end = strchr(line, '\n');
		copy = end ? xstrndup(line, (size_t)(end - line)) : xstrdup(line);
		name_end = copy + strspn(copy, "abcdefghijklmnopqrstuvwxyz"
					  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_:");
		if (*copy == '#' || name_end == copy)
			goto next;
		if (*name_end == '{') {
			/* The last '}' closes the labels: a value may hold one, quoted. */
			value = strrchr(name_end, '}');
			if (!value)
				goto next;
			*value++ = '\0';
			labels = name_end + 1;
		} else {
			value = name_end;
		}
		if (*value != ' ')
			goto next;
		*name_end = '\0';
		v = strtod(value + 1, &stop);
		if (stop != value + 1 && (*stop == '\0' || *stop == ' '))
			fn(ctx, copy, labels ? labels : "", v);
next:
		free(copy);
	}
}

bool ctlfmt_metric_label(const char *labels, const char *key, char *buf, size_t size)
{
	size_t klen = strlen(key), n = 0;
	const char *p = labels;

	while (*p) {
		bool match = strncmp(p, key, klen) == 0 && p[klen] == '=' && p[klen + 1] == '"';

		p = strchr(p, '"');
		if (!p)
			return false;
		for (p++; *p && *p != '"'; p++) {
			char c = *p;

			if (c == '\\' && p[1]) {
				c = *++p == 'n' ? '\n' : *p;
			}
			if (match && n + 1 < size)
				buf[n++] = c;
		}
		if (match && size) {
			buf[n] = '\0';
			return true;
		}
		if (!*p)
			return false;
		p++;
		p += strspn(p, ",");
	}
	return false;
}

/* ---- collecting ---- */

static struct ctlfmt_webhook *webhook(struct ctlfmt_status *st, const char *name)
{
	for (size_t i = 0; i < st->nwebhooks; i++)
		if (strcmp(st->webhooks[i].name, name) == 0)
			return &st->webhooks[i];
	st->webhooks = xreallocarray(st->webhooks, st->nwebhooks + 1, sizeof(*st->webhooks));
	st->webhooks[st->nwebhooks] = (struct ctlfmt_webhook){ .name = xstrdup(name) };
	return &st->webhooks[st->nwebhooks++];
}

/* agent_polls_total: a batch answer that leaves an agent out is a failed poll of that agent. */
static void count_poll(struct ctlfmt_status *st, bool state, const char *result, double v)
{
	bool ok = strcmp(result, "ok") == 0;

	if (state) {
		*(ok ? &st->state_polls_ok : &st->state_polls_failed) += v;
		return;
	}
	*(ok ? &st->polls_ok : &st->polls_failed) += v;
	if (strcmp(result, "request_failed") == 0)
		st->polls_request_failed += v;
	else if (strcmp(result, "absent") == 0)
		st->polls_absent += v;
	else if (strcmp(result, "entry_error") == 0)
		st->polls_entry_error += v;
}

static void sample(void *ctx, const char *name, const char *labels, double v)
{
	struct ctlfmt_status *st = ctx;
	char label[256], result[64];
	struct ctlfmt_webhook *w;

	if (strncmp(name, METRIC_PREFIX, strlen(METRIC_PREFIX)) != 0)
		return;
	name += strlen(METRIC_PREFIX);
	if (strcmp(name, "build_info") == 0 && ctlfmt_metric_label(labels, "version", label,
								     sizeof label)) {
		free(st->version);
		st->version = xstrdup(label);
	} else if (strcmp(name, "agent_polls_total") == 0 &&
		   ctlfmt_metric_label(labels, "poll", label, sizeof label) &&
		   ctlfmt_metric_label(labels, "result", result, sizeof result)) {
		count_poll(st, strcmp(label, "state") == 0, result, v);
	} else if (strncmp(name, "webhook_", 8) == 0 &&
		   ctlfmt_metric_label(labels, "webhook", label, sizeof label)) {
		w = webhook(st, label);
		if (strcmp(name, "webhook_queue_events") == 0)
			w->queue = v;
		else if (strcmp(name, "webhook_deliveries_total") == 0 &&
			 ctlfmt_metric_label(labels, "result", result, sizeof result))
			*(strcmp(result, "delivered") == 0 ? &w->delivered :
			  strcmp(result, "failed") == 0 ? &w->failed : &w->dead_lettered) += v;
	}
}

static int state_index(struct json_object *agent)
{
	struct json_object *s = NULL;
	int code;

	if (!json_object_object_get_ex(agent, "state_code", &s) ||
	    !json_object_is_type(s, json_type_int))
		return CMS_STATE_COUNT;
	code = json_object_get_int(s);
	return code >= 0 && code < CMS_STATE_COUNT ? code : CMS_STATE_COUNT;
}

static void collect_agents(struct ctlfmt_status *st, struct json_object *agents)
{
	size_t n = json_object_is_type(agents, json_type_array) ? json_object_array_length(agents) : 0;

	for (size_t i = 0; i < n; i++) {
		struct json_object *a = json_object_array_get_idx(agents, i), *v = NULL;
		size_t ncalls = 0;

		st->watched++;
		if (json_object_object_get_ex(a, "calls", &v) && json_object_is_type(v, json_type_array))
			ncalls = json_object_array_length(v);
		st->calls += ncalls;
		st->busy += ncalls > 0;
		st->states[state_index(a)]++;
		if (json_object_object_get_ex(a, "reachable", &v) && !json_object_get_boolean(v)) {
			st->unreachable++;
			/* The first unreachable agent's reason, when the daemon itself is fine. */
			if (!st->last_error && json_object_object_get_ex(a, "reason", &v) &&
			    json_object_is_type(v, json_type_string) &&
			    json_object_object_get_ex(a, "agent", &a))
				st->last_error = xasprintf("%s: %s", json_object_get_string(a),
							   json_object_get_string(v));
		}
	}
}

void ctlfmt_status_collect(struct ctlfmt_status *st, long health_status, const char *health_body,
			   struct json_object *agents, const char *metrics)
{
	const char *reason = NULL;
	size_t len = 0;

	memset(st, 0, sizeof(*st));
	st->healthy = health_status == 200;
	if (health_body)
		reason = ctlfmt_reason(health_status, health_body, &len);
	st->health = len ? xstrndup(reason, len) : xasprintf("HTTP %ld", health_status);
	if (!st->healthy)
		st->last_error = xstrdup(st->health);
	collect_agents(st, agents);
	if (metrics)
		ctlfmt_metrics_each(metrics, sample, st);
}

void ctlfmt_status_clear(struct ctlfmt_status *st)
{
	free(st->health);
	free(st->version);
	free(st->last_error);
	for (size_t i = 0; i < st->nwebhooks; i++)
		free(st->webhooks[i].name);
	free(st->webhooks);
	memset(st, 0, sizeof(*st));
}

/* ---- output ---- */

static const char *state_name(int i)
{
	return i < CMS_STATE_COUNT ? cmscodes_state_name(i) : "unknown";
}

void ctlfmt_status_print(FILE *out, const struct ctlfmt_status *st)
{
	bool any = false;

	fprintf(out, "%-12s %s%s\n", "health", st->healthy ? "" : "UNHEALTHY: ", st->health);
	if (st->version)
		fprintf(out, "%-12s %s\n", "version", st->version);
	fprintf(out, "%-12s %zu watched, %zu busy, %zu unreachable, %zu call%s\n", "agents",
		st->watched, st->busy, st->unreachable, st->calls, st->calls == 1 ? "" : "s");
	fprintf(out, "%-12s", "states");
	for (int i = 0; i <= CMS_STATE_COUNT; i++) {
		if (!st->states[i])
			continue;
		fprintf(out, "%s %s %zu", any ? "," : "", state_name(i), st->states[i]);
		any = true;
	}
	fprintf(out, "%s\n%-12s %.0f ok, %.0f failed", any ? "" : " none", "polls", st->polls_ok,
		st->polls_failed);
	if (st->polls_failed)
		fprintf(out, " (%.0f request failed, %.0f absent, %.0f entry error%s)",
			st->polls_request_failed, st->polls_absent, st->polls_entry_error,
			st->polls_entry_error == 1 ? "" : "s");
	fprintf(out, "\n%-12s %.0f ok, %.0f failed\n", "state polls", st->state_polls_ok,
		st->state_polls_failed);
	for (size_t i = 0; i < st->nwebhooks; i++) {
		const struct ctlfmt_webhook *w = &st->webhooks[i];

		fprintf(out, "%-12s %s: %.0f queued, %.0f delivered, %.0f failed, %.0f dead-lettered\n",
			"webhook", w->name, w->queue, w->delivered, w->failed, w->dead_lettered);
	}
	if (!st->nwebhooks)
		fprintf(out, "%-12s none\n", "webhooks");
	fprintf(out, "%-12s %s\n", "last error", st->last_error ? st->last_error : "none");
}

static void add(struct json_object *o, const char *key, struct json_object *v)
{
	json_object_object_add(o, key, v);
}

struct json_object *ctlfmt_status_json(const struct ctlfmt_status *st)
{
	struct json_object *o = json_object_new_object(), *states = json_object_new_object();
	struct json_object *hooks = json_object_new_array();

	add(o, "healthy", json_object_new_boolean(st->healthy));
	add(o, "health", json_object_new_string(st->health));
	add(o, "version", st->version ? json_object_new_string(st->version) : NULL);
	add(o, "watched", json_object_new_int64((int64_t)st->watched));
	add(o, "busy", json_object_new_int64((int64_t)st->busy));
	add(o, "unreachable", json_object_new_int64((int64_t)st->unreachable));
	add(o, "calls", json_object_new_int64((int64_t)st->calls));
	for (int i = 0; i <= CMS_STATE_COUNT; i++)
		add(states, state_name(i), json_object_new_int64((int64_t)st->states[i]));
	add(o, "states", states);
	add(o, "polls_ok", json_object_new_int64((int64_t)st->polls_ok));
	add(o, "polls_failed", json_object_new_int64((int64_t)st->polls_failed));
	add(o, "polls_request_failed", json_object_new_int64((int64_t)st->polls_request_failed));
	add(o, "polls_absent", json_object_new_int64((int64_t)st->polls_absent));
	add(o, "polls_entry_error", json_object_new_int64((int64_t)st->polls_entry_error));
	add(o, "state_polls_ok", json_object_new_int64((int64_t)st->state_polls_ok));
	add(o, "state_polls_failed", json_object_new_int64((int64_t)st->state_polls_failed));
	for (size_t i = 0; i < st->nwebhooks; i++) {
		const struct ctlfmt_webhook *w = &st->webhooks[i];
		struct json_object *h = json_object_new_object();

		add(h, "name", json_object_new_string(w->name));
		add(h, "queue", json_object_new_int64((int64_t)w->queue));
		add(h, "delivered", json_object_new_int64((int64_t)w->delivered));
		add(h, "failed", json_object_new_int64((int64_t)w->failed));
		add(h, "dead_lettered", json_object_new_int64((int64_t)w->dead_lettered));
		json_object_array_add(hooks, h);
	}
	add(o, "webhooks", hooks);
	add(o, "last_error", st->last_error ? json_object_new_string(st->last_error) : NULL);
	return o;
}
