/* daemon: the long-running service: the event loop, polls, state, outputs, signals, sd_notify. */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "agents.h"
#include "api.h"
#include "cms.h"
#include "curlev.h"
#include "daemon.h"
#include "diskfail.h"
#include "log.h"
#include "notify.h"
#include "output.h"
#include "persist.h"
#include "poller.h"
#include "schedule.h"
#include "util.h"
#include "webhook.h"
#include "writer.h"

#define STATUS_PERIOD_US (5 * 1000000u)
#define STOP_GRACE_US (3 * 1000000u)	/* how long polls under way may finish on SIGTERM */
#define PERSIST_PERIOD_US 1000000u	/* event log fdatasync, and the state file's chance to save */
#define PERSIST_SLICE_PERIOD_US 10000u	/* the next slice of a state file snapshot under way */
#define LOCK_NAME "agentwatchd.lock"	/* in state_dir: held for the daemon's whole life */

struct daemon {
	sd_event *event;
	const char *config_path;
	struct cfg *cfg;
	struct cms_client *cms;
	struct poller *poller;
	struct output *output;
	struct agent_state **states;	/* each agent's state, sorted by key (poller_states) */
	size_t nagents;
	int lock_fd;			/* state_dir's lock, -1 without one */
	struct persist *persist;
	struct writer *writer;
	struct webhooks *webhooks;
	sd_event_source *persist_timer;
	struct agents_rules rules;
	sd_event_source *status_timer;
	sd_event_source *stop_timer;
	bool stopping;
	struct {
		bool failed;
		char why[200];	/* the first error of the file, for STATUS= */
		char note[300];
	} reload;
	struct api *api;
	struct metrics_counters counters;
	struct api_health health;
};

/*
 * sd-event time sources are one-shot: disabled before their callback runs. A periodic one must
 * be enabled again with its next time, or it fires once and never again. Should that fail, the
 * daemon stops with an error rather than run on without its state saves or status updates.
 */
static void rearm(sd_event_source *source, uint64_t usec)
{
	int r = sd_event_source_set_time(source, usec);

	if (r >= 0)
		r = sd_event_source_set_enabled(source, SD_EVENT_ONESHOT);
	if (r < 0) {
		log_err("cannot re-arm a timer: %s; stopping", strerror(-r));
		sd_event_exit(sd_event_source_get_event(source), r);
	}
}

/* ---- status ---- */

/* "state_dir: 2 files failing (No space left on device); " or nothing. */
static void disk_note(char *buf, size_t len)
{
	struct diskfail_stats st;

	diskfail_get_stats(&st);
	if (st.failing)
		snprintf(buf, len, "state_dir: %llu file%s failing (%s); ",
			 (unsigned long long)st.failing, st.failing == 1 ? "" : "s",
			 strerror(st.last_err));
	else
		buf[0] = '\0';
}

static void count_agents(const struct daemon *d, size_t *busy, size_t *unreachable)
{
	*busy = *unreachable = 0;
	for (size_t i = 0; i < d->nagents; i++) {
		*busy += d->states[i]->ncalls > 0;
		*unreachable += d->states[i]->unreachable;
	}
}

static void notify_status(struct daemon *d, const char *extra)
{
	const struct poller_stats *ps = poller_get_stats(d->poller);
	size_t busy, unreachable;
	struct webhook_stats ws;
	char disk[128], dropped[80] = "";

	count_agents(d, &busy, &unreachable);
	disk_note(disk, sizeof(disk));
	webhooks_get_stats(d->webhooks, &ws);
	if (ws.dropped)
		snprintf(dropped, sizeof(dropped), "; %llu webhook events dropped past max_backlog",
			 (unsigned long long)ws.dropped);
	notify_send("STATUS=%s%s%zu agents watched, %zu busy, %zu unreachable; %llu polls, "
		   "%llu failed; %llu batch and %llu state requests%s", extra ? extra : "", disk,
		   d->nagents, busy, unreachable, (unsigned long long)poller_polls(ps->calls_by),
		   (unsigned long long)poller_failed(ps->calls_by),
		   (unsigned long long)ps->requests[CMS_API_BATCH],
		   (unsigned long long)ps->requests[CMS_API_STATE], dropped);
}

static const char *reload_note(struct daemon *d)
{
	if (!d->reload.failed)
		return "";
	snprintf(d->reload.note, sizeof(d->reload.note), "reload failed (%s), running the previous "
		 "configuration; ", d->reload.why);
	return d->reload.note;
}

/* Once STOPPING=1 is out, STATUS= says "Stopping" until the end: no refresh overwrites it. */
static int on_status_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;

	if (d->stopping)
		return 0;
	notify_status(d, reload_note(d));
	rearm(source, usec + STATUS_PERIOD_US);
	return 0;
}

/* ---- polls ---- */

/* The event log takes each event first: once it is there, no receiver can miss it. */
static void emit(void *ctx, struct event *ev)
{
	struct daemon *d = ctx;
	struct json_object *obj;
	const char *json;

	event_new_id(ev);
	metrics_count_event(&d->counters, ev->type);
	obj = event_to_json(ev);
	json = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
	evlog_append(persist_log(d->persist), json, strlen(json));
	output_emit(d->output, ev, json);
	json_object_put(obj);
}

/* A silent new stint ended an AgentLongState's: no event resolves it, so the webhooks do. */
static void on_long_state_ended(void *ctx)
{
	struct daemon *d = ctx;

	webhooks_recheck_long_states(d->webhooks);
}

static void maybe_finish_stop(struct daemon *d)
{
	if (d->stopping && cms_client_in_flight(d->cms) == 0)
		sd_event_exit(d->event, 0);
}

static bool save_state(struct daemon *d, bool force)
{
	return persist_save(d->persist, d->states, d->nagents, webhooks_min_seq(d->webhooks), force);
}

static int on_persist_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
	bool more = save_state(userdata, false);

	rearm(source, usec + (more ? PERSIST_SLICE_PERIOD_US : PERSIST_PERIOD_US));
	return 0;
}

static enum metrics_api metrics_api_of(enum cms_api api)
{
	return api == CMS_API_BATCH ? METRICS_API_BATCH :
	       api == CMS_API_STATE ? METRICS_API_STATE : METRICS_API_AGENT;
}

/* A request ended; its results have reached the agents. Healthz follows the calls polls only. */
static void on_request_done(void *ctx, enum cms_api api, const struct cms_result *res,
			    double seconds)
{
	struct daemon *d = ctx;

	if (res->status != CMS_ERR_CANCELLED) {
		metrics_count_poll(&d->counters, metrics_api_of(api), res->status, seconds);
		if (api != CMS_API_STATE)
			api_health_poll(&d->health, res, util_now_monotonic_us());
		webhooks_kick(d->webhooks);
		api_kick(d->api);
	}
	maybe_finish_stop(d);
}

/* ---- configuration ---- */

static void apply_rules(struct daemon *d, const struct cfg *cfg)
{
	d->rules.failure_threshold = (unsigned)cfg->poll.failure_threshold;
	d->rules.long_call = cfg->alerts.long_call;
	memcpy(d->rules.long_state, cfg->alerts.long_state, sizeof(d->rules.long_state));
}

static struct agent_state *find_state(void *ctx, uint64_t key)
{
	struct daemon *d = ctx;

	return poller_find_state(d->poller, key);
}

/*
 * An alert still holds when its agent is watched and still has that call, is unreachable, or is
 * still in the stint its agent.long_state was about.
 */
static bool alert_holds(void *ctx, const char *alertname, uint32_t cc, uint32_t vdn, uint32_t id,
			const char *call_id)
{
	struct agent_state *st = find_state(ctx, cfg_agent_key(cc, vdn, id));

	if (!st)
		return false;
	if (strcmp(alertname, "AgentUnreachable") == 0)
		return st->unreachable;
	if (strcmp(alertname, "AgentLongState") == 0)
		return st->cti.code != CMS_CODE_NONE && st->cti.long_reported;
	for (uint32_t i = 0; call_id && i < st->ncalls; i++)
		if (strcmp(st->calls[i].id, call_id) == 0)
			return true;
	return false;
}

static void apply_config(struct daemon *d, struct cfg *cfg)
{
	apply_rules(d, cfg);
	cms_client_configure(d->cms, &cfg->cms);
	output_configure(d->output, &cfg->outputs);
	webhooks_configure(d->webhooks, &cfg->outputs);
	poller_configure(d->poller, cfg);
	d->states = poller_states(d->poller, &d->nagents);
	output_check_rate_limit(d->output, &cfg->outputs, d->nagents);
	if (d->persist)
		persist_forget_states(d->persist);
	api_configure(d->api, &cfg->http);	/* a failure is logged; the previous addresses stay */
	if (d->cfg)
		webhooks_prune_alerts(d->webhooks, alert_holds, d);
	if (d->cfg && !(cfg->state_dir && persist_dir(d->persist) &&
			strcmp(cfg->state_dir, persist_dir(d->persist)) == 0) &&
	    (cfg->state_dir || persist_dir(d->persist)))
		log_warn("state_dir changed: the new one takes effect at the next restart");
	cfg_free(d->cfg);
	d->cfg = cfg;
}

/* Every problem of a bad file is logged; the daemon keeps the configuration it has. */
static void reload(struct daemon *d)
{
	char *errors = NULL;
	size_t errors_len = 0;
	FILE *stream = open_memstream(&errors, &errors_len);
	int nerrors = 0;
	struct cfg *cfg;

	notify_send("RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=Reloading %s",
		   (unsigned long long)util_now_monotonic_us(), d->config_path);
	cfg = cfg_load(d->config_path, stream ? stream : stderr, &nerrors);
	if (stream)
		fclose(stream);
	if (!cfg) {
		snprintf(d->reload.why, sizeof(d->reload.why), "%d error%s in %s", nerrors,
			 nerrors == 1 ? "" : "s", d->config_path);
		for (char *line = strtok(errors, "\n"); line; line = strtok(NULL, "\n")) {
			log_err("%s", line);
			if (!strchr(d->reload.why, ':'))
				snprintf(d->reload.why, sizeof(d->reload.why), "%.150s%s", line,
					 nerrors > 1 ? "; more in the log" : "");
		}
		log_err("reload: %d error%s in %s; still running the previous configuration", nerrors,
			nerrors == 1 ? "" : "s", d->config_path);
		d->reload.failed = true;
	} else {
		cfg_log_warnings(cfg);
		apply_config(d, cfg);
		d->reload.failed = false;
		log_notice("reloaded %s: %zu agents", d->config_path, d->nagents);
	}
	free(errors);
	notify_send("READY=1");
	notify_status(d, reload_note(d));
	sched_kick(poller_sched(d->poller));
}

/* ---- signals and lifecycle ---- */

static int on_stop_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
	struct daemon *d = userdata;

	(void)source;
	(void)usec;
	log_notice("stopping: cancelling %zu polls still under way", cms_client_in_flight(d->cms));
	cms_client_cancel_all(d->cms);
	sd_event_exit(d->event, 0);
	return 0;
}

static void stop(struct daemon *d, int signo)
{
	if (d->stopping)
		return;
	d->stopping = true;
	sd_event_source_set_enabled(d->status_timer, SD_EVENT_OFF);
	notify_send("STOPPING=1\nSTATUS=Stopping on %s", strsignal(signo));
	log_notice("stopping on %s", strsignal(signo));
	poller_stop(d->poller);
	/* Undelivered events stay in the event log for the next start (with state_dir). */
	webhooks_stop(d->webhooks);
	if (sd_event_add_time_relative(d->event, &d->stop_timer, CLOCK_MONOTONIC, STOP_GRACE_US,
				       1000, on_stop_timer, d) < 0) {
		log_err("cannot time the stop; cancelling the polls under way now");
		on_stop_timer(NULL, 0, d);
		return;
	}
	maybe_finish_stop(d);
}

static void log_counters(struct daemon *d);

/* signalfd-based: nothing runs in signal context, the loop dispatches them like any event. */
static int on_signal(sd_event_source *source, const struct signalfd_siginfo *si, void *userdata)
{
	struct daemon *d = userdata;

	(void)source;
	if (si->ssi_signo == SIGHUP && !d->stopping)
		reload(d);
	else if (si->ssi_signo == SIGUSR1)
		log_counters(d);
	else if (si->ssi_signo == SIGTERM || si->ssi_signo == SIGINT)
		stop(d, (int)si->ssi_signo);
	return 0;
}

static int setup_loop(struct daemon *d)
{
	static const int signals[] = { SIGHUP, SIGTERM, SIGINT, SIGUSR1 };
	sigset_t mask;

	sigemptyset(&mask);
	for (size_t i = 0; i < ARRAY_SIZE(signals); i++)
		sigaddset(&mask, signals[i]);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0 || sd_event_default(&d->event) < 0)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(signals); i++)
		if (sd_event_add_signal(d->event, NULL, signals[i], on_signal, d) < 0)
			return -1;
	/* Pings WATCHDOG=1 from the loop itself, so a stuck loop stops the pings; never blocks. */
	if (notify_open(d->event) < 0)
		return -1;
	signal(SIGPIPE, SIG_IGN);
	return sd_event_add_time_relative(d->event, &d->status_timer, CLOCK_MONOTONIC,
					  STATUS_PERIOD_US, 100000, on_status_timer, d);
}

static void log_http_client(void)
{
	char text[256];

	curlev_describe(text, sizeof(text));
	log_notice("%s", text);
}

static void log_schedule_stats(const struct daemon *d, int level)
{
	const struct sched_stats *st = sched_get_stats(poller_sched(d->poller));
	struct output_stats os;

	output_get_stats(d->output, &os);
	log_msg(level, "polls started %llu, lateness p50 %.0f ms p99 %.0f ms max %.3f ms, slots skipped "
		 "%llu; polls failed %llu; events %llu", (unsigned long long)st->started,
		 sched_late_quantile(st, 0.50), sched_late_quantile(st, 0.99),
		 (double)st->max_late_us / 1000.0, (unsigned long long)st->skipped,
		 (unsigned long long)poller_failed(poller_get_stats(d->poller)->calls_by),
		 (unsigned long long)os.events);
}

/* The disk's counters: what state_dir refused, and what the event log could not write or sync. */
static void log_disk_stats(struct daemon *d)
{
	struct diskfail_stats ds;
	struct evlog_stats es;

	if (!persist_dir(d->persist))
		return;
	diskfail_get_stats(&ds);
	evlog_get_stats(persist_log(d->persist), &es);
	/* Worth a notice when something failed: an operator looks for it after a full disk. */
	log_msg(ds.failures || es.sync_failures || es.lost ? LOG_LEVEL_NOTICE : LOG_LEVEL_INFO,
		"state_dir: %llu failed writes, %llu files failing; event log: %llu appended, "
		"%llu refused at first, %llu held, %llu lost, %llu syncs, %llu failed",
		(unsigned long long)ds.failures, (unsigned long long)ds.failing,
		(unsigned long long)es.appended, (unsigned long long)es.write_failures,
		(unsigned long long)es.held, (unsigned long long)es.lost,
		(unsigned long long)es.syncs, (unsigned long long)es.sync_failures);
}

/* SIGUSR1: every counter, as two log lines of NAME VALUE pairs after the schedule's line. */
static void log_counters(struct daemon *d)
{
	const struct poller_stats *ps = poller_get_stats(d->poller);
	struct output_stats os;
	struct webhook_stats ws;
	struct evlog_stats es;
	size_t busy, unreachable;

	count_agents(d, &busy, &unreachable);
	output_get_stats(d->output, &os);
	webhooks_get_stats(d->webhooks, &ws);
	evlog_get_stats(persist_log(d->persist), &es);
	log_schedule_stats(d, LOG_LEVEL_NOTICE);
	log_notice("counters: agents %zu busy %zu unreachable %zu; polls %llu failed %llu "
		   "in_flight %zu; requests agent %llu batch %llu (failed %llu) state %llu (failed "
		   "%llu) state_errors %llu unasked %llu; reload %s; notify_dropped %llu", d->nagents,
		   busy, unreachable, (unsigned long long)poller_polls(ps->calls_by),
		   (unsigned long long)poller_failed(ps->calls_by), cms_client_in_flight(d->cms),
		   (unsigned long long)ps->requests[CMS_API_AGENT],
		   (unsigned long long)ps->requests[CMS_API_BATCH],
		   (unsigned long long)ps->requests_failed[CMS_API_BATCH],
		   (unsigned long long)ps->requests[CMS_API_STATE],
		   (unsigned long long)ps->requests_failed[CMS_API_STATE],
		   (unsigned long long)poller_failed(ps->state_by), (unsigned long long)ps->unasked,
		   d->reload.failed ? "failed" : "ok", (unsigned long long)notify_dropped());
	log_notice("counters: events %llu stdout_dropped %llu journal_dropped %llu syslog_dropped "
		   "%llu; eventlog appended %llu write_failures %llu syncs %llu; webhooks delivered "
		   "%llu attempts_failed %llu dead_lettered %llu lost %llu dropped %llu in_flight %zu",
		   (unsigned long long)os.events, (unsigned long long)os.stdout_dropped,
		   (unsigned long long)os.journal_failed, (unsigned long long)os.syslog_dropped,
		   (unsigned long long)es.appended, (unsigned long long)es.write_failures,
		   (unsigned long long)es.syncs, (unsigned long long)ws.delivered,
		   (unsigned long long)ws.attempts_failed, (unsigned long long)ws.dead_lettered,
		   (unsigned long long)ws.lost, (unsigned long long)ws.dropped,
		   webhooks_in_flight(d->webhooks));
	log_disk_stats(d);
}

/* What the HTTP API reads, lent for one request. */
static void view(void *ctx, struct api_view *v)
{
	struct daemon *d = ctx;

	*v = (struct api_view){ d->cfg, d->states, d->nagents, persist_log(d->persist),
				persist_dir(d->persist), poller_sched(d->poller), d->output, d->webhooks,
				&d->counters, &d->health, d->reload.failed, 0,
				poller_get_stats(d->poller), cms_client_in_flight(d->cms) };
}

static void teardown(struct daemon *d)
{
	/* Cancelling first: the cancelled polls' callbacks still touch their agents. */
	cms_client_free(d->cms);
	api_free(d->api);
	save_state(d, true);
	webhooks_free(d->webhooks);
	persist_close(d->persist);
	writer_free(d->writer);
	diskfail_clear();
	poller_free(d->poller);
	sd_event_source_disable_unref(d->persist_timer);
	output_drain(d->output, 1000000);
	output_free(d->output);
	sd_event_source_disable_unref(d->status_timer);
	sd_event_source_disable_unref(d->stop_timer);
	notify_close();
	sd_event_unref(d->event);
	cfg_free(d->cfg);
}

/*
 * Two daemons on one state_dir would interleave one event log with two numberings, so the
 * directory is locked before anything in it is read, and stays locked until exit (a reload
 * keeps the state_dir it started with). Returns -1 only when another process holds the lock;
 * a directory that cannot be locked at all is persist's to report as unusable.
 */
static int lock_state_dir(struct daemon *d, const char *dir)
{
	char *path;
	long holder;

	d->lock_fd = -1;
	if (!dir)
		return 0;
	(void)mkdir(dir, 0700);
	path = xasprintf("%s/" LOCK_NAME, dir);
	d->lock_fd = util_lock_file(path, &holder);
	if (d->lock_fd < 0 && errno == EWOULDBLOCK) {
		if (holder > 0)
			log_err("state_dir %s is in use by another agentwatchd (PID %ld, holding %s); "
				"refusing to start", dir, holder, path);
		else
			log_err("state_dir %s is in use by another agentwatchd (holding %s); "
				"refusing to start", dir, path);
		free(path);
		return -1;
	}
	free(path);
	return 0;
}

int daemon_run(const char *config_path, struct cfg *cfg, bool trace_signing)
{
	static const struct poller_callbacks callbacks = { emit, on_request_done, on_long_state_ended };
	struct daemon d = { .config_path = config_path };
	int r;

	if (lock_state_dir(&d, cfg->state_dir) < 0) {
		cfg_free(cfg);
		return 1;
	}
	if (setup_loop(&d) < 0) {
		log_err("cannot set up the event loop");
		return 1;
	}
	/* First, so that an address in use ends the start before anything else happens. */
	d.api = api_new(d.event, view, &d);
	if (api_configure(d.api, &cfg->http) < 0) {
		api_free(d.api);
		sd_event_source_disable_unref(d.status_timer);
		sd_event_unref(d.event);
		cfg_free(cfg);
		return 1;
	}
	d.cms = cms_client_new(d.event, &cfg->cms);
	cms_client_trace_signing(d.cms, trace_signing);
	d.poller = poller_new(d.event, d.cms, &d.rules, &callbacks, &d);
	d.output = output_new(d.event, &cfg->outputs);
	d.persist = persist_open(cfg->state_dir);
	if (persist_dir(d.persist)) {
		/* Without one the disk work runs on the loop: slower, never lost. */
		d.writer = writer_new(d.event);
		persist_set_writer(d.persist, d.writer);
	}
	d.webhooks = webhooks_new(d.event, persist_log(d.persist), persist_dir(d.persist));
	apply_config(&d, cfg);
	persist_restore(d.persist, find_state, &d);
	webhooks_prune_alerts(d.webhooks, alert_holds, &d);
	webhooks_kick(d.webhooks);
	if (sd_event_add_time_relative(d.event, &d.persist_timer, CLOCK_MONOTONIC, PERSIST_PERIOD_US,
				       100000, on_persist_timer, &d) < 0) {
		log_err("cannot set up the event loop's timers");
		teardown(&d);
		return 1;
	}
	log_notice("watching %zu agents on %s every %g s", d.nagents, cfg->cms.url,
		   cfg->poll.interval);
	log_http_client();
	notify_send("READY=1");
	notify_status(&d, NULL);
	r = sd_event_loop(d.event);
	log_schedule_stats(&d, LOG_LEVEL_INFO);
	log_disk_stats(&d);
	teardown(&d);
	if (d.lock_fd >= 0)
		close(d.lock_fd);
	return r < 0 ? 1 : 0;
}
