/* test_cfg: the configuration loader's values and its FILE:LINE messages, case by case. */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "../src/cfg.h"
#include "check.h"
#include "../src/util.h"

/* Every secret the tests write contains this; no message may ever show it. */
#define MARK "S3CR3T"

/* The scratch directory; "@D" stands for it in expected messages. */
static char *dir;

/* Line 1 and 2 of most cases, so that a case's own text starts at line 3. */
#define CMS_URL(url) \
	"cms = { url = \"" url "\"; app_key = \"ak\"; app_secret_file = \"cms.secret\"; };\n"
#define CMS_SECRET(file) \
	"cms = { url = \"https://h\"; app_key = \"ak\"; app_secret_file = \"" file "\"; };\n"
#define CMS CMS_URL("https://cms.example.net:28443")
#define AGENT "agents = ( { cc = 1; vdn = 170; id = 1099; } );\n"
#define BASE CMS AGENT

struct tcase {
	const char *name;
	const char *text;	/* written to @D/test.conf, with "@D" replaced */
	/* "LINE: message", or "@D/FILE:LINE: message" for other files; none: the file loads */
	const char *expect[16];
	const char *path;	/* load this file below @D instead of writing text */
	const char *creds;	/* CREDENTIALS_DIRECTORY below @D; NULL: unset */
	const char *url, *host;	/* expected cms.url and cms.host */
	void (*check)(const struct cfg *cfg);
};

static void check_defaults(const struct cfg *cfg)
{
	CHECK_STR(cfg->cms.url, "https://cms.example.net:28443");
	CHECK_STR(cfg->cms.host, "cms.example.net:28443");
	CHECK(cfg->cms.https);
	CHECK_STR(cfg->cms.app_key, "ak");
	CHECK_STR(cfg->cms.app_secret, "cms-" MARK "-1");
	CHECK(cfg->cms.app_secret_len == strlen("cms-" MARK "-1"));
	CHECK(cfg->cms.timeout == 5 && cfg->cms.max_in_flight == 32 && cfg->cms.max_rate == 0);
	CHECK(!cfg->cms.allow_insecure_http);
	CHECK(cfg->cms.tls.verify && !cfg->cms.tls.ca_file && !cfg->cms.tls.client_cert &&
	      !cfg->cms.tls.client_key);
	CHECK(cfg->poll.interval == 5 && cfg->poll.failure_threshold == 3);
	CHECK(cfg->poll.backoff_max == 60);
	CHECK(cfg->alerts.long_call == 900);
	CHECK_INT(cfg->cms.api, CFG_API_AUTO);
	CHECK_INT(cfg->cms.batch_size, 1000);
	CHECK(cfg->poll.agent_state);
	for (int s = 0; s < CMS_STATE_COUNT; s++)
		CHECK(cfg->alerts.long_state[s] == 0);
	CHECK(cfg->outputs.journal && !cfg->outputs.to_stdout);
	CHECK(!cfg->outputs.syslog.enabled && cfg->outputs.syslog.facility == LOG_DAEMON);
	CHECK_STR(cfg->outputs.syslog.ident, "agentwatchd");
	CHECK(cfg->outputs.nwebhooks == 0 && !cfg->state_dir);
	CHECK(cfg->ngroups == 1 && cfg->nagents == 1);
	CHECK(cfg->groups[0].line == 2 && !cfg->groups[0].name && cfg->groups[0].nlabels == 0);
	CHECK(cfg->agents[0].cc == 1 && cfg->agents[0].vdn == 170 && cfg->agents[0].id == 1099);
	CHECK(cfg->agents[0].group == &cfg->groups[0]);
}

static void check_everything(const struct cfg *cfg)
{
	char *ca = xasprintf("%s/ca.pem", dir);
	const struct cfg_webhook *w = &cfg->outputs.webhooks[0];

	CHECK(cfg->cms.timeout == 2.5 && cfg->cms.max_in_flight == 8 && cfg->cms.max_rate == 200);
	CHECK_STR(cfg->cms.tls.ca_file, ca);
	CHECK_STR(cfg->cms.tls.client_cert, ca);
	CHECK_STR(cfg->cms.tls.client_key, ca);
	CHECK(!cfg->cms.tls.verify);
	CHECK(cfg->poll.interval == 1 && cfg->poll.failure_threshold == 5);
	CHECK(cfg->poll.backoff_max == 30);
	CHECK(cfg->alerts.long_call == 0);
	CHECK(!cfg->outputs.journal && cfg->outputs.to_stdout);
	CHECK(cfg->outputs.syslog.enabled && cfg->outputs.syslog.facility == LOG_LOCAL3);
	CHECK_STR(cfg->outputs.syslog.ident, "aw");
	CHECK(cfg->outputs.nwebhooks == 2);
	CHECK_STR(w->url, "https://hooks.example.net/agentwatch?x=1");
	CHECK(w->line == 9 && w->format == CFG_WEBHOOK_ALERTMANAGER);
	CHECK_STR(w->secret, "hook-" MARK "-2");
	CHECK(w->secret_len == strlen("hook-" MARK "-2"));
	CHECK(w->nevents == 2 && strcmp(w->events[0], "call.*") == 0 &&
	      strcmp(w->events[1], "agent.unreachable") == 0);
	CHECK(w->timeout == 3 && w->batch_max == 50 && w->batch_linger == 0.5 && w->max_in_flight == 8);
	CHECK(w->nheaders == 2 && strcmp(w->headers[0].name, "X-Token") == 0 &&
	      strcmp(w->headers[0].value, "abc") == 0 &&
	      strcmp(w->headers[1].name, "Authorization") == 0);
	CHECK_STR(w->tls.ca_file, ca);
	w = &cfg->outputs.webhooks[1];
	CHECK_STR(w->url, "http://127.0.0.1:9093/api/v2/alerts");
	CHECK(w->format == CFG_WEBHOOK_JSON && !w->secret && w->nevents == 0 && !w->events);
	CHECK(w->timeout == 10 && w->batch_max == 1 && w->batch_linger == 0 && w->tls.verify);
	CHECK(w->max_in_flight == 32);
	CHECK_STR(cfg->state_dir, "/var/lib/agentwatchd");
	free(ca);
}

static void check_retention(const struct cfg *cfg)
{
	CHECK(cfg->outputs.deadletter_max == 8192);
	CHECK(cfg->outputs.nwebhooks == 2 && cfg->outputs.webhooks[0].max_backlog == 500 &&
	      cfg->outputs.webhooks[1].max_backlog == CFG_MAX_BACKLOG_DEFAULT);
}

static void check_batch(const struct cfg *cfg)
{
	CHECK_INT(cfg->cms.api, CFG_API_BATCH);
	CHECK_INT(cfg->cms.batch_size, 3000);
	CHECK(!cfg->poll.agent_state);
	for (int s = 0; s < CMS_STATE_COUNT; s++)
		CHECK(cfg->alerts.long_state[s] == (s == 8 ? 900 : s == 6 ? 300.5 : s == 7 ? 600 :
						     s == 10 ? 0.001 : 0));
}

static void check_api_agent(const struct cfg *cfg)
{
	CHECK_INT(cfg->cms.api, CFG_API_AGENT);
	CHECK_INT(cfg->cms.batch_size, 1);
	CHECK(!cfg->poll.agent_state);
}

static void check_api_agent_with_state(const struct cfg *cfg)
{
	CHECK_INT(cfg->cms.api, CFG_API_AGENT);
	CHECK(cfg->poll.agent_state);
}

static void check_api_auto_state(const struct cfg *cfg)
{
	CHECK_INT(cfg->cms.api, CFG_API_AUTO);
	CHECK(cfg->poll.agent_state && cfg->poll.interval == 2);
}

static void check_new_event_filters(const struct cfg *cfg)
{
	const struct cfg_webhook *w = &cfg->outputs.webhooks[0];

	CHECK_INT(w->nevents, 4);
	CHECK(w->nevents == 4 && strcmp(w->events[0], "call.status") == 0 &&
	      strcmp(w->events[1], "agent.state") == 0 && strcmp(w->events[2], "agent.long_state") == 0 &&
	      strcmp(w->events[3], "agent.*_state") == 0);
}

static void check_backoff_follows_interval(const struct cfg *cfg)
{
	CHECK(cfg->poll.interval == 120 && cfg->poll.backoff_max == 120);
}

static void check_insecure(const struct cfg *cfg)
{
	CHECK(!cfg->cms.https && cfg->cms.allow_insecure_http);
}

static void check_crlf_secret(const struct cfg *cfg)
{
	CHECK_STR(cfg->cms.app_secret, "crlf-" MARK);
	CHECK(cfg->cms.app_secret_len == strlen("crlf-" MARK));
}

static void check_longest_secret(const struct cfg *cfg)
{
	CHECK(cfg->cms.app_secret_len == CFG_SECRET_MAX);
}

static void check_credential(const struct cfg *cfg)
{
	CHECK_STR(cfg->cms.app_secret, "cred-" MARK);
}

static void check_sorted(const struct cfg *cfg)
{
	static const uint32_t want[][3] = {
		{ 1, 170, 1099 }, { 1, 170, 1100 }, { 1, 170, 1101 }, { 1, 5000, 59998 },
		{ 1, 5000, 59999 }, { 2, 1, 70000 }, { 2, 1, 70001 }, { 2, 1, 70002 },
	};
	const struct cfg_agent *a;

	CHECK(cfg->ngroups == 4 && cfg->nagents == ARRAY_SIZE(want));
	for (size_t i = 0; i < ARRAY_SIZE(want) && i < cfg->nagents; i++)
		CHECK(cfg->agents[i].cc == want[i][0] && cfg->agents[i].vdn == want[i][1] &&
		      cfg->agents[i].id == want[i][2]);
	a = cfg_find_agent(cfg, 1, 170, 1099);
	CHECK(a && a->id == 1099 && a->group->name && strcmp(a->group->name, "alice") == 0);
	a = cfg_find_agent(cfg, 1, 170, 1100);
	CHECK(a && a->group->nlabels == 2 && strcmp(a->group->labels[0].key, "team") == 0 &&
	      strcmp(a->group->labels[0].value, "billing") == 0 &&
	      strcmp(a->group->labels[1].key, "site") == 0);
	CHECK(a && a->group->line == 4 && !a->group->name);
	a = cfg_find_agent(cfg, 2, 1, 70002);
	CHECK(a && a->group == &cfg->groups[0]);
	CHECK(!cfg_find_agent(cfg, 1, 170, 1102));
	CHECK(!cfg_find_agent(cfg, 2, 1, 70003));
	/* Parts too large for their bits of the key must not alias another agent. */
	CHECK(!cfg_find_agent(cfg, 1, 170, 1099 + (1u << 24)));
	CHECK(!cfg_find_agent(cfg, 1, 170 + 65536, 1099));
}

#define HASH "$6$saltsalt$ljByVydwvD9EjwLvyqK9RM8bE0u2IQMdX.zp3L4dkbV7Tca8SHcfyhzcf9E46xT/KzPSGv7ktVQAJGngygr0M1"

static void check_http(const struct cfg *cfg)
{
	CHECK_INT(cfg->http.nlisten, 3);
	CHECK_STR(cfg->http.listen[1], "[::1]:9477");
	CHECK_STR(cfg->http.listen[2], "unix:/run/agentwatchd/http.sock");
	CHECK(cfg->http.agent_metrics);
	CHECK_INT(cfg->http.max_connections, 16);
	CHECK_INT(cfg->http.nusers, 2);
	CHECK_STR(cfg->http.users[1].name, "bob");
	CHECK_STR(cfg->http.users[1].hash, HASH);
	CHECK(strstr(cfg->http.cert_file, "/ca.pem") != NULL);
}

static void check_many(const struct cfg *cfg)
{
	CHECK(cfg->nagents == 930000 + 59899);
	for (size_t i = 1; i < cfg->nagents; i++) {
		const struct cfg_agent *a = &cfg->agents[i - 1], *b = &cfg->agents[i];

		if (cfg_agent_key(a->cc, a->vdn, a->id) >= cfg_agent_key(b->cc, b->vdn, b->id)) {
			CHECK(!"agents are sorted");
			break;
		}
	}
	CHECK(cfg_find_agent(cfg, 1, 1, 123456) && cfg_find_agent(cfg, 1, 2, 101));
	CHECK(!cfg_find_agent(cfg, 1, 1, 60000));
}

static void check_big_rate(const struct cfg *cfg)
{
	CHECK(cfg->cms.max_rate == 4294967296.0 && cfg->cms.max_in_flight == 32);
	CHECK(cfg->cms.timeout == 1.5 && cfg->nagents == 1 && cfg->agents[0].id == 1099);
	CHECK_STR(cfg->groups[0].name, "a\"4294967296\\");
	CHECK(cfg->poll.interval == 0.5 && cfg->poll.backoff_max == 100 && cfg->alerts.long_call == 95);
}

static void check_one_ms(const struct cfg *cfg)
{
	CHECK(cfg->cms.timeout == 0.001 && cfg->alerts.long_call == 0.001 && cfg->cms.max_rate == 0.001);
	CHECK(cfg->outputs.webhooks[0].timeout == 0.001 && cfg->outputs.webhooks[0].batch_linger == 0.001);
}

/* 26 Chinese characters, 78 bytes. */
#define WANG2 "\xe7\x8e\x8b\xe5\xb0\x8f"
#define WANG26 WANG2 WANG2 WANG2 WANG2 WANG2 WANG2 WANG2 WANG2 WANG2 WANG2 WANG2 WANG2 WANG2

static void check_wang(const struct cfg *cfg)
{
	CHECK_STR(cfg->groups[0].name, WANG26);
	CHECK(strlen(cfg->groups[0].name) == 78);
}

/* Names of n bytes. */
#define X4 "xxxx"
#define X16 X4 X4 X4 X4
#define X52 X16 X16 X16 X4
#define X53 X52 "y"
#define X64 X16 X16 X16 X16
#define X106 X64 X16 X16 "xxxxxxxxxx"
#define X107 X106 "z"
#define X256 X64 X64 X64 X64
#define X257 X256 "y"
#define X1000 X256 X256 X256 X64 X64 X16 X16 X16 X16 X16 "xxxxxxxx"
#define X4070 X1000 X1000 X1000 X1000 X64 "xxxxxx"

static const struct tcase cases[] = {
	{ "defaults", BASE, .expect = { NULL }, .check = check_defaults },
	{ "every key set",
	  "cms = { url = \"https://cms.example.net:28443\"; app_key = \"ak\";\n"
	  "  app_secret_file = \"cms.secret\"; timeout = 2.5; max_in_flight = 8; max_rate = 200;\n"
	  "  tls = { ca_file = \"ca.pem\"; verify = false; client_cert = \"ca.pem\"; client_key = \"ca.pem\"; }; };\n"
	  "poll = { interval = 1; failure_threshold = 5; backoff_max = 30.0; };\n"
	  "alerts = { long_call = 0; };\n"
	  AGENT
	  "outputs = { journal = false; stdout = true;\n"
	  "  syslog = { enabled = true; facility = \"local3\"; ident = \"aw\"; };\n"
	  "  webhooks = ( { url = \"https://hooks.example.net/agentwatch?x=1\"; format = \"alertmanager\";\n"
	  "    secret_file = \"hook.secret\"; events = [ \"call.*\", \"agent.unreachable\" ];\n"
	  "    timeout = 3; batch_max = 50; batch_linger = 0.5; max_in_flight = 8;\n"
	  "    headers = { X-Token = \"abc\"; Authorization = \"Bearer x\"; }; tls = { ca_file = \"ca.pem\"; }; },\n"
	  "    { url = \"http://127.0.0.1:9093/api/v2/alerts\"; } ); };\n"
	  "state_dir = \"/var/lib/agentwatchd\";\n",
	  .expect = { NULL }, .check = check_everything },
	{ "backoff_max defaults to interval above 60", BASE "poll = { interval = 120; };\n",
	  .expect = { NULL }, .check = check_backoff_follows_interval },

	/* batch polling and agent state */
	{ "batch keys",
	  "cms = { url = \"https://cms.example.net:28443\"; app_key = \"ak\"; app_secret_file = \"cms.secret\";\n"
	  "  api = \"batch\"; batch_size = 3000; };\n"
	  AGENT
	  "poll = { agent_state = false; };\n"
	  "alerts = { long_state = { rest = 900; wrap_up = 300.5; busy = 600.0; signed_out = 0;\n"
	  "  adjusting = 0.001; }; };\n",
	  .expect = { NULL }, .check = check_batch },
	{ "api agent: agent_state off unless set",
	  "cms = { url = \"https://h\"; app_key = \"ak\"; app_secret_file = \"cms.secret\"; api = \"agent\";\n"
	  "  batch_size = 1; };\n" AGENT,
	  .expect = { NULL }, .check = check_api_agent },
	{ "api agent: agent_state set",
	  "cms = { url = \"https://h\"; app_key = \"ak\"; app_secret_file = \"cms.secret\"; api = \"agent\"; };\n"
	  AGENT "poll = { agent_state = true; };\n",
	  .expect = { NULL }, .check = check_api_agent_with_state },
	{ "api auto: agent_state on with a poll group without it",
	  "cms = { url = \"https://h\"; app_key = \"ak\"; app_secret_file = \"cms.secret\"; api = \"auto\"; };\n"
	  AGENT "poll = { interval = 2; };\n",
	  .expect = { NULL }, .check = check_api_auto_state },
	{ "batch keys wrong",
	  "cms = { url = \"https://h\"; app_key = \"ak\"; app_secret_file = \"cms.secret\";\n"
	  "  api = \"bulk\"; batch_size = 0; };\n"
	  AGENT
	  "poll = { agent_state = \"yes\"; };\n"
	  "alerts = { long_state = { lunch = 900; rest = -1; busy = \"600\";\n"
	  "  wrap_up = 0.0001; idle = 31536001; Rest = 5; study = 4294967296; }; };\n",
	  .expect = { "2: cms.batch_size 0 is out of range 1..3000",
	    "2: cms.api 'bulk' must be auto, batch or agent",
	    "4: poll.agent_state must be true or false",
	    "5: unknown state 'lunch' in alerts.long_state (the states are signed_out, idle, "
	    "preoccupied, occupied, answering, talking, wrap_up, busy, rest, study, adjusting)",
	    "5: alerts.long_state.rest -1 is out of range 0..31536000",
	    "5: alerts.long_state.busy must be a number",
	    "6: alerts.long_state.wrap_up 0.0001 is below 1 ms, which the daemon would count as 0: "
	    "use 0 or at least 0.001",
	    "6: alerts.long_state.idle 31536001 is out of range 0..31536000",
	    "6: unknown state 'Rest' in alerts.long_state (the states are signed_out, idle, "
	    "preoccupied, occupied, answering, talking, wrap_up, busy, rest, study, adjusting)",
	    "6: alerts.long_state.study 4294967296 is out of range 0..31536000" } },
	{ "batch keys wrong types",
	  "cms = { url = \"https://h\"; app_key = \"ak\"; app_secret_file = \"cms.secret\";\n"
	  "  api = 1; batch_size = 3001; };\n"
	  AGENT
	  "alerts = { long_state = 900; };\n"
	  "poll = { agent_state = 1; };\n",
	  .expect = { "2: cms.api must be a string",
	    "2: cms.batch_size 3001 is out of range 1..3000",
	    "4: alerts.long_state must be a group { ... }",
	    "5: poll.agent_state must be true or false" } },
	{ "batch_size not an integer, long_state not a group of numbers",
	  "cms = { url = \"https://h\"; app_key = \"ak\"; app_secret_file = \"cms.secret\";\n"
	  "  api = \"Batch\"; batch_size = 10.5; };\n"
	  AGENT
	  "alerts = { long_state = { rest = { a = 1; }; talking = [ 1 ]; }; };\n",
	  .expect = { "2: cms.batch_size must be an integer",
	    "2: cms.api 'Batch' must be auto, batch or agent",
	    "4: alerts.long_state.rest must be a number",
	    "4: alerts.long_state.talking must be a number" } },
	{ "webhook events filters take the new event types",
	  BASE "outputs = { webhooks = ( { url = \"https://h/\";\n"
	  "  events = [ \"call.status\", \"agent.state\", \"agent.long_state\", \"agent.*_state\" ]; } ); };\n",
	  .expect = { NULL }, .check = check_new_event_filters },

	/* URLs */
	{ "url default https port, trailing slash dropped",
	  CMS_URL("https://cms.example.net/") AGENT,
	  .expect = { NULL }, .url = "https://cms.example.net", .host = "cms.example.net:443" },
	{ "url http with allow_insecure_http, default port",
	  "cms = { url = \"http://10.0.0.1\"; allow_insecure_http = true; app_key = \"ak\"; app_secret_file = \"cms.secret\"; };\n" AGENT,
	  .expect = { NULL }, .url = "http://10.0.0.1", .host = "10.0.0.1:80", .check = check_insecure },
	{ "url IPv6 with port",
	  CMS_URL("https://[2001:db8::1]:28443") AGENT,
	  .expect = { NULL }, .url = "https://[2001:db8::1]:28443", .host = "[2001:db8::1]:28443" },
	{ "url IPv6 http default port",
	  "cms = { url = \"http://[::1]/\"; allow_insecure_http = true; app_key = \"ak\"; app_secret_file = \"cms.secret\"; };\n" AGENT,
	  .expect = { NULL }, .url = "http://[::1]", .host = "[::1]:80" },
	{ "url http refused without allow_insecure_http",
	  CMS_URL("http://cms.example.net:8080") AGENT,
	  .expect = { "1: cms.url 'http://cms.example.net:8080' is plain http: set cms.allow_insecure_http = true to allow it" } },
	{ "url with a path",
	  CMS_URL("https://cms.example.net/rest") AGENT,
	  .expect = { "1: cms.url 'https://cms.example.net/rest' must be only scheme://host[:port]: the daemon adds the path" } },
	{ "url with a query",
	  CMS_URL("https://cms.example.net?a=b") AGENT,
	  .expect = { "1: cms.url 'https://cms.example.net?a=b' must be only scheme://host[:port]: the daemon adds the path" } },
	{ "url with user info",
	  CMS_URL("https://u:p@cms.example.net") AGENT,
	  .expect = { "1: cms.url 'https://u:p@cms.example.net' is not a URL of the form https://host[:port]" } },
	{ "url wrong scheme",
	  CMS_URL("ftp://cms.example.net") AGENT,
	  .expect = { "1: cms.url 'ftp://cms.example.net' is not a URL of the form https://host[:port]" } },
	{ "url bad ports, hosts and characters",
	  CMS_URL("https://h:0") AGENT
	  "outputs = { webhooks = (\n"
	  "  { url = \"https://h:65536/\"; }, { url = \"https://h:/\"; }, { url = \"https://:80/\"; },\n"
	  "  { url = \"https://[2001:db8::zz]/\"; }, { url = \"https://h/a b\"; }, { url = \"https://h/#f\"; },\n"
	  "  { url = \"https://[::1\"; }, { url = \"HTTPS://h/\"; } ); };\n",
	  .expect = { "1: cms.url 'https://h:0' is not a URL of the form https://host[:port]",
	    "4: outputs.webhooks[0].url 'https://h:65536...' is not a URL of the form http[s]://host[:port][/path]",
	    "4: outputs.webhooks[1].url 'https://h:...' is not a URL of the form http[s]://host[:port][/path]",
	    "4: outputs.webhooks[2].url 'https://:80...' is not a URL of the form http[s]://host[:port][/path]",
	    "5: outputs.webhooks[3].url 'https://[2001:db8::zz]...' is not a URL of the form http[s]://host[:port][/path]",
	    "5: outputs.webhooks[4].url 'https://h...' is not a URL of the form http[s]://host[:port][/path]",
	    "5: outputs.webhooks[5].url 'https://h...' is not a URL of the form http[s]://host[:port][/path]",
	    "6: outputs.webhooks[6].url 'https://[::1' is not a URL of the form http[s]://host[:port][/path]",
	    "6: outputs.webhooks[7].url 'HTTPS://h...' is not a URL of the form http[s]://host[:port][/path]" } },

	/* app_key */
	{ "app_key empty",
	  "cms = { url = \"https://h\"; app_key = \"\"; app_secret_file = \"cms.secret\"; };\n" AGENT
	  "cms2 = 1;\n",
	  .expect = { "1: cms.app_key is empty", "3: unknown key 'cms2' at top level" } },
	{ "app_key with a slash",
	  "cms = { url = \"https://h\"; app_key = \"a/b\"; app_secret_file = \"cms.secret\"; };\n" AGENT,
	  .expect = { "1: cms.app_key must be printable ASCII without spaces or '/'" } },
	{ "app_key with a space",
	  "cms = { url = \"https://h\"; app_key = \"a b\"; app_secret_file = \"cms.secret\"; };\n" AGENT,
	  .expect = { "1: cms.app_key must be printable ASCII without spaces or '/'" } },

	/* secret files */
	{ "secret readable by others",
	  "cms = { url = \"https://h\"; app_key = \"ak\";\n  app_secret_file = \"open.secret\"; };\n" AGENT,
	  .expect = { "2: cms.app_secret_file @D/open.secret has mode 0644: it must not be readable by group or others (chmod 600)" } },
	{ "secret readable by group",
	  CMS_SECRET("group.secret") AGENT,
	  .expect = { "1: cms.app_secret_file @D/group.secret has mode 0640: it must not be readable by group or others (chmod 600)" } },
	{ "secret missing",
	  CMS_SECRET("nope.secret") AGENT,
	  .expect = { "1: cms.app_secret_file @D/nope.secret cannot be read: No such file or directory" } },
	{ "secret is a directory",
	  CMS_SECRET("creds") AGENT,
	  .expect = { "1: cms.app_secret_file @D/creds is not a regular file" } },
	{ "secret empty",
	  CMS_SECRET("empty.secret") AGENT,
	  .expect = { "1: cms.app_secret_file @D/empty.secret is empty" } },
	{ "secret only a newline",
	  CMS_SECRET("newline.secret") AGENT,
	  .expect = { "1: cms.app_secret_file @D/newline.secret is empty" } },
	{ "secret of two lines",
	  CMS_SECRET("twoline.secret") AGENT,
	  .expect = { "1: cms.app_secret_file @D/twoline.secret has more than one line" } },
	{ "secret with two line endings",
	  CMS_SECRET("twonl.secret") AGENT,
	  .expect = { "1: cms.app_secret_file @D/twonl.secret has more than one line" } },
	{ "secret with NUL",
	  CMS_SECRET("nul.secret") AGENT,
	  .expect = { "1: cms.app_secret_file @D/nul.secret contains a NUL byte" } },
	{ "secret too long",
	  CMS_SECRET("big.secret") AGENT,
	  .expect = { "1: cms.app_secret_file @D/big.secret is longer than 4096 bytes" } },
	{ "secret of the largest size, CRLF",
	  CMS_SECRET("max.secret") AGENT,
	  .expect = { NULL }, .check = check_longest_secret },
	{ "secret ending in CRLF",
	  CMS_SECRET("crlf.secret") AGENT,
	  .expect = { NULL }, .check = check_crlf_secret },
	{ "secret absolute path, webhook secret refused",
	  CMS_SECRET("@D/cms.secret") AGENT
	  "outputs = { webhooks = ( { url = \"https://h/\"; secret_file = \"open.secret\"; } ); };\n",
	  .expect = { "3: outputs.webhooks[0].secret_file @D/open.secret has mode 0644: it must not be readable by group or others (chmod 600)" } },
	{ "secret from the systemd credential",
	  "cms = { url = \"https://h\"; app_key = \"ak\"; };\n" AGENT,
	  .expect = { NULL }, .creds = "creds", .check = check_credential },
	{ "secret: credential directory without cms.secret",
	  "\ncms = { url = \"https://h\"; app_key = \"ak\"; };\n" AGENT,
	  .expect = { "2: cms.app_secret_file is not set and there is no systemd credential cms.secret" },
	  .creds = "nocreds" },
	{ "secret: neither file nor credential",
	  "cms = { url = \"https://h\"; app_key = \"ak\"; };\n" AGENT,
	  .expect = { "1: cms.app_secret_file is not set and there is no systemd credential cms.secret" } },
	{ "secret: credential readable by others",
	  "cms = { url = \"https://h\"; app_key = \"ak\"; };\n" AGENT,
	  .expect = { "1: systemd credential cms.secret @D/opencreds/cms.secret has mode 0644: it must not be readable by group or others (chmod 600)" },
	  .creds = "opencreds" },

	/* tls */
	{ "tls files",
	  "cms = { url = \"https://h\"; app_key = \"ak\"; app_secret_file = \"cms.secret\";\n"
	  "  tls = { ca_file = \"nope.pem\"; client_key = \"ca.pem\"; verify = 1; }; };\n" AGENT,
	  .expect = { "2: cms.tls.ca_file @D/nope.pem cannot be read: No such file or directory",
	    "2: cms.tls.verify must be true or false",
	    "2: cms.tls needs both client_cert and client_key, or neither" } },

	/* types */
	{ "wrong types",
	  "cms = 5;\n"
	  "poll = { interval = \"5\"; failure_threshold = 2.5; };\n"
	  "alerts = [ 1 ];\n"
	  "agents = { cc = 1; };\n"
	  "outputs = { journal = 1; stdout = \"yes\"; syslog = { ident = 5; }; webhooks = { url = \"x\"; }; };\n"
	  "state_dir = 1;\n",
	  .expect = { "1: cms must be a group { ... }",
	    "2: poll.interval must be a number",
	    "2: poll.failure_threshold must be an integer",
	    "3: alerts must be a group { ... }",
	    "4: agents must be a list ( ... )",
	    "5: outputs.journal must be true or false",
	    "5: outputs.stdout must be true or false",
	    "5: outputs.webhooks must be a list ( ... )",
	    "5: outputs.syslog.ident must be a string",
	    "6: state_dir must be a string" } },
	{ "wrong types in agents",
	  CMS "agents = ( { cc = \"1\"; vdn = 1.0; ids = 5; labels = 5; name = 1; }, 7,\n"
	  "  { cc = 1; vdn = 1; ids = [ \"1100\" ]; }, { cc = 1; vdn = 1; range = [ 1100.0, 1200.0 ]; } );\n",
	  .expect = { "2: agents[0].cc must be an integer",
	    "2: agents[0].vdn must be an integer",
	    "2: agents[0].ids must be an array [ ... ]",
	    "2: agents[0].labels must be a group { ... }",
	    "2: agents[0].name must be a string",
	    "2: agents[0].name is only allowed with a single id",
	    "2: agents[1] must be a group { ... }",
	    "3: agents[2].ids[0] must be an integer",
	    "3: agents[3].range[0] must be an integer",
	    "3: agents[3].range[1] must be an integer" } },

	/* ranges */
	{ "numbers out of range",
	  "cms = { url = \"https://h\"; app_key = \"ak\"; app_secret_file = \"cms.secret\";\n"
	  "  timeout = 0; max_in_flight = 4097; max_rate = -1; };\n"
	  "poll = { interval = 0.05; failure_threshold = 1001; backoff_max = 90000; };\n"
	  "alerts = { long_call = -0.5; };\n"
	  "agents = ( { cc = 0; vdn = 5001; id = 1099; }, { cc = 65536; vdn = 0; id = 1099; } );\n"
	  "outputs = { webhooks = ( { url = \"https://h/\"; timeout = 301; batch_max = 0; batch_linger = 61; },\n"
	  "  { url = \"https://h/\"; timeout = 300; batch_max = 1001; batch_linger = -1; } ); };\n",
	  .expect = { "2: cms.timeout 0 is out of range 0.001..300",
	    "2: cms.max_in_flight 4097 is out of range 1..4096",
	    "2: cms.max_rate -1 is out of range: it must be at least 0",
	    "3: poll.interval 0.05 is out of range 0.1..86400",
	    "3: poll.failure_threshold 1001 is out of range 1..1000",
	    "3: poll.backoff_max 90000 is out of range 0.1..86400",
	    "4: alerts.long_call -0.5 is out of range 0..31536000",
	    "5: agents[0].cc 0 is out of range 1..65535",
	    "5: agents[0].vdn 5001 is out of range 1..5000",
	    "5: agents[1].cc 65536 is out of range 1..65535",
	    "5: agents[1].vdn 0 is out of range 1..5000",
	    "6: outputs.webhooks[0].timeout 301 is out of range 0.001..300",
	    "6: outputs.webhooks[0].batch_max 0 is out of range 1..1000",
	    "6: outputs.webhooks[0].batch_linger 61 is out of range 0..60",
	    "7: outputs.webhooks[1].batch_max 1001 is out of range 1..1000",
	    "7: outputs.webhooks[1].batch_linger -1 is out of range 0..60" } },
	{ "webhook max_in_flight out of range",
	  "cms = { url = \"https://h\"; app_key = \"ak\"; app_secret_file = \"cms.secret\"; };\n"
	  AGENT
	  "outputs = { webhooks = ( { url = \"https://h/\"; max_in_flight = 0; },\n"
	  "  { url = \"https://h/\"; max_in_flight = 257; }, { url = \"https://h/\"; max_in_flight = 1.5; } ); };\n",
	  .expect = { "3: outputs.webhooks[0].max_in_flight 0 is out of range 1..256",
	    "4: outputs.webhooks[1].max_in_flight 257 is out of range 1..256",
	    "4: outputs.webhooks[2].max_in_flight must be an integer" } },
	{ "edges of the ranges accepted",
	  "cms = { url = \"https://h:65535\"; app_key = \"ak\"; app_secret_file = \"cms.secret\";\n"
	  "  timeout = 300; max_in_flight = 4096; };\n"
	  "poll = { interval = 86400; failure_threshold = 1000; backoff_max = 86400; };\n"
	  "agents = ( { cc = 65535; vdn = 5000; ids = [ 101, 59999, 70000, 999999 ]; },\n"
	  "  { cc = 1; vdn = 1; range = [ 101, 101 ]; } );\n",
	  .expect = { NULL }, .host = "h:65535" },
	{ "backoff_max below interval",
	  BASE "poll = { interval = 10; backoff_max = 9.5; };\n",
	  .expect = { "3: poll.backoff_max 9.5 must not be below poll.interval 10" } },
	{ "backoff_max below the default interval",
	  BASE "poll = { backoff_max = 1; };\n",
	  .expect = { "3: poll.backoff_max 1 must not be below poll.interval 5" } },
	{ "a 64-bit integer",
	  CMS "agents = ( { cc = 1; vdn = 1; id = 4294968395L; } );\n",
	  .expect = { "2: agents[0].id 4294968395 is out of range 101..59999, 70000..999999" } },

	/* integers libconfig 1.5 keeps in 32 bits: 4294968395 is 1099 to it, 0x10000044C is 1100 */
	{ "integers that do not fit 32 bits: agents",
	  CMS "agents = ( { cc = 1; vdn = 1; id = 4294968395; },\n"
	  "  { cc = 1; vdn = 2; range = [2000, 4294969296]; },\n"
	  "  { cc = 1; vdn = 3; ids = [0x44B, 0x10000044C]; },\n"
	  "  { cc = 4294967297; vdn = -4294967295; id = 99999999999999999999; },\n"
	  "  { cc = 1; vdn = 5; ids = [ 0x1000000000000044B, 1100, -4294966197 ]; },\n"
	  "  { cc = 1; vdn = 6; range = [ 0x800007D0, 2147485648 ]; },\n"
	  "  { cc = 1; vdn = 7; ids = [ 1100L, 4294968396L, 0x10000044DL ]; } );\n",
	  .expect = { "2: agents[0].id 4294968395 is out of range 101..59999, 70000..999999",
	    "3: agents[1].range[1] 4294969296 is out of range 101..59999, 70000..999999",
	    "4: agents[2].ids[1] 0x10000044C is out of range 101..59999, 70000..999999",
	    "5: agents[3].cc 4294967297 is out of range 1..65535",
	    "5: agents[3].vdn -4294967295 is out of range 1..5000",
	    "5: agents[3].id 99999999999999999999 is out of range 101..59999, 70000..999999",
	    "6: agents[4].ids[0] 0x1000000000000044B is out of range 101..59999, 70000..999999",
	    "6: agents[4].ids[2] -4294966197 is out of range 101..59999, 70000..999999",
	    "7: agents[5].range[0] 0x800007D0 is out of range 101..59999, 70000..999999",
	    "7: agents[5].range[1] 2147485648 is out of range 101..59999, 70000..999999",
	    "8: agents[6].ids[1] 4294968396 is out of range 101..59999, 70000..999999",
	    "8: agents[6].ids[2] 4294968397 is out of range 101..59999, 70000..999999" } },
	{ "integers that do not fit 32 bits: every other integer key",
	  "cms = { url = \"https://h\"; app_key = \"ak\"; app_secret_file = \"cms.secret\";\n"
	  "  max_in_flight = 4294967328; timeout = 4294967301; };\n"
	  AGENT
	  "poll = { failure_threshold = 4294967299; interval = 4294967301; backoff_max = -4294967236; };\n"
	  "alerts = { long_call = 4294968196; };\n"
	  "outputs = { webhooks = ( { url = \"https://h/\"; batch_max = 4294967346; timeout = 0x10000000A;\n"
	  "  batch_linger = 0x100000000; } ); };\n",
	  .expect = { "2: cms.max_in_flight 4294967328 is out of range 1..4096",
	    "2: cms.timeout 4294967301 is out of range 0.001..300",
	    "4: poll.failure_threshold 4294967299 is out of range 1..1000",
	    "4: poll.interval 4294967301 is out of range 0.1..86400",
	    "4: poll.backoff_max -4294967236 is out of range 0.1..86400",
	    "5: alerts.long_call 4294968196 is out of range 0..31536000",
	    "6: outputs.webhooks[0].batch_max 4294967346 is out of range 1..1000",
	    "6: outputs.webhooks[0].timeout 0x10000000A is out of range 0.001..300",
	    "7: outputs.webhooks[0].batch_linger 0x100000000 is out of range 0..60" } },
	{ "integers past 32 bits where they are valid, found among strings, comments and names",
	  "# 4294967297 in a comment; /* 1 */ \"2\"\n"
	  "cms = { url = \"https://h:443\"; app_key = \"k-1\"; /* 4294967296 */ app_secret_file = \"cms.secret\";\n"
	  "  max_rate = 4294967296; // 0x100000000\n"
	  "  max_in_flight = 0x20; timeout = 1.5e0; };\n"
	  "agents = ( { cc = 1; vdn = 1; id = 1099L; name = \"a\\\"4294967296\\\\\"; } );\n"
	  "poll = { interval = .5; backoff_max = 1.e2; /* 1e-400 */ }; alerts = { long_call = 9.5e+1; };\n",
	  .expect = { NULL }, .check = check_big_rate },
	{ "integers past 32 bits in an included file, included twice",
	  CMS "agents = ( { cc = 1; vdn = 1; id = 1099; },\n@include \"wrap.inc\"\n,\n@include \"wrap.inc\"\n);\n",
	  .expect = { "@D/wrap.inc:2: agents[1].id 4294968396 is out of range 101..59999, 70000..999999",
	    "@D/wrap.inc:2: agents[2].id 4294968396 is out of range 101..59999, 70000..999999" } },

	/* durations the daemon counts in milliseconds must not round to 0, "no timeout" */
	{ "durations below 1 ms",
	  "cms = { url = \"https://h\"; app_key = \"ak\"; app_secret_file = \"cms.secret\"; timeout = 0.0004; max_rate = 1e-300; };\n"
	  AGENT
	  "poll = { interval = 1e-400; backoff_max = -1e400; };\n"
	  "alerts = { long_call = 1e-400; };\n"
	  "outputs = { webhooks = ( { url = \"https://h/\"; timeout = 0.0009; batch_linger = 1e-9; },\n"
	  "  { url = \"https://h/\"; timeout = 1e400; } ); };\n",
	  .expect = { "1: cms.timeout 0.0004 is out of range 0.001..300",
	    "1: cms.max_rate 1e-300 is below 0.001 per second: use 0 for no limit, or at least 0.001",
	    "3: poll.interval 1e-400 is out of range 0.1..86400",
	    "3: poll.backoff_max -1e400 is out of range 0.1..86400",
	    "4: alerts.long_call 1e-400 is below 1 ms, which the daemon would count as 0: use 0 or at least 0.001",
	    "5: outputs.webhooks[0].timeout 0.0009 is out of range 0.001..300",
	    "5: outputs.webhooks[0].batch_linger 1e-09 is below 1 ms, which the daemon would count as 0: use 0 or at least 0.001",
	    "6: outputs.webhooks[1].timeout 1e400 is out of range 0.001..300" } },
	{ "durations of 1 ms accepted",
	  "cms = { url = \"https://h\"; app_key = \"ak\"; app_secret_file = \"cms.secret\"; timeout = 0.001; max_rate = 0.001; };\n"
	  AGENT
	  "alerts = { long_call = 0.001; };\n"
	  "outputs = { webhooks = ( { url = \"https://h/\"; timeout = 0.001; batch_linger = 0.001; } ); };\n",
	  .expect = { NULL }, .check = check_one_ms },

	/* text reaches JSON, the journal, syslog lines and HTTP headers */
	{ "text that is not UTF-8, or holds control characters",
	  CMS "agents = ( { cc = 1; vdn = 1; id = 1099; name = \"bad\\xffname\";\n"
	  "  labels = { team = \"a\\xc3\"; site = \"ok\"; floor = \"\xed\xa0\x80\"; }; },\n"
	  "  { cc = 1; vdn = 2; id = 1099; name = \"two\\nlines\"; labels = { x = \"esc\\x1b[0m\"; y = \"a\\tb\"; }; } );\n"
	  "outputs = { syslog = { ident = \"aw\\xc0\\xaf\"; socket = \"/run/\\x01log\"; };\n"
	  "  webhooks = ( { url = \"https://h/\"; events = [ \"call.*\\xff\" ];\n"
	  "    headers = { X-A = \"ok\"; X-B = \"b\\x7f\"; X-C = \"c\\r\"; X-D = \"\xe9t\xe9\"; X-E = \" \"; }; } ); };\n"
	  "state_dir = \"/var/lib/\\x1b[31m\";\n",
	  .expect = { "2: agents[0].name is not valid UTF-8: byte 4 is 0xff",
	    "3: agents[0].labels.team is not valid UTF-8: byte 2 is 0xc3",
	    "3: agents[0].labels.floor is not valid UTF-8: byte 1 is 0xed",
	    "4: agents[1].name must not contain a line break",
	    "4: agents[1].labels.x must not contain control characters: byte 4 is 0x1b",
	    "5: outputs.syslog.ident is not valid UTF-8: byte 3 is 0xc0",
	    "5: outputs.syslog.socket must not contain control characters: byte 6 is 0x01",
	    "6: outputs.webhooks[0].events[0] is not valid UTF-8: byte 7 is 0xff",
	    "7: outputs.webhooks[0].headers.X-B must not contain control characters: byte 2 is 0x7f",
	    "7: outputs.webhooks[0].headers.X-C must not contain a line break",
	    "7: outputs.webhooks[0].headers.X-D is not valid UTF-8: byte 1 is 0xe9",
	    "7: outputs.webhooks[0].headers.X-E is empty: libcurl would not send the header at all",
	    "8: state_dir must not contain control characters: byte 10 is 0x1b" } },
	{ "UTF-8 names and labels accepted",
	  CMS "agents = ( { cc = 1; vdn = 1; id = 1099; name = \"" WANG26 "\";\n"
	  "  labels = { team = \"\xc3\xa9quipe \xf0\x9f\x93\x9e\"; }; } );\n",
	  .expect = { NULL }, .check = check_wang },

	/* label names become journal fields: AGENT_LABEL_ and the name upper-cased */
	{ "label names journald would merge or drop",
	  CMS "agents = ( { cc = 1; vdn = 1; id = 1099;\n"
	  "  labels = { TEAM = \"x\"; team = \"y\"; Site = \"a\"; siTE = \"b\"; " X53 " = \"z\"; " X52 " = \"ok\"; }; },\n"
	  "  { cc = 1; vdn = 2; id = 1099; labels = { team = \"other group, other field set\"; }; } );\n",
	  .expect = { "3: agents[0].labels.team and labels.TEAM are both the journal field AGENT_LABEL_TEAM: label names must differ in more than case",
	    "3: agents[0].labels.siTE and labels.Site are both the journal field AGENT_LABEL_SITE: label names must differ in more than case",
	    "3: agents[0].labels." X53 " is 53 bytes long: label names are at most 52 bytes, as the journal field AGENT_LABEL_NAME must fit journald's 64" } },

	/* syslog: the ident is the line's tag, the socket must fit sun_path */
	{ "syslog ident and socket",
	  BASE "outputs = { syslog = { enabled = true; ident = \"" X4070 "\";\n"
	  "  socket = \"/" X107 "\"; }; };\n",
	  .expect = { "3: outputs.syslog.ident must be 1 to 64 printable ASCII characters without spaces, ':' or '['",
	    "4: outputs.syslog.socket is 108 bytes long: at most 107 bytes are allowed" } },
	{ "syslog ident forms",
	  BASE "outputs = { syslog = { ident = \"a:b\"; socket = \"\"; }; };\n",
	  .expect = { "3: outputs.syslog.ident must be 1 to 64 printable ASCII characters without spaces, ':' or '['",
	    "3: outputs.syslog.socket is empty" } },
	{ "syslog ident with a space", BASE "outputs = { syslog = { ident = \"a b\"; }; };\n",
	  .expect = { "3: outputs.syslog.ident must be 1 to 64 printable ASCII characters without spaces, ':' or '['" } },
	{ "syslog ident of 65 bytes", BASE "outputs = { syslog = { ident = \"" X64 "y\"; }; };\n",
	  .expect = { "3: outputs.syslog.ident must be 1 to 64 printable ASCII characters without spaces, ':' or '['" } },
	{ "syslog ident of 64 bytes, socket of 107",
	  BASE "outputs = { syslog = { ident = \"" X64 "\"; socket = \"/" X106 "\"; }; };\n",
	  .expect = { NULL } },

	/* names and label values: at most 256 bytes */
	{ "names and label values too long",
	  CMS "agents = ( { cc = 1; vdn = 1; id = 1099; name = \"" X257 "\";\n"
	  "  labels = { team = \"" X257 "\"; site = \"" X256 "\"; }; },\n"
	  "  { cc = 1; vdn = 2; id = 1099; name = \"" X256 "\"; } );\n",
	  .expect = { "2: agents[0].name is 257 bytes long: at most 256 bytes are allowed",
	    "3: agents[0].labels.team is 257 bytes long: label values are at most 256 bytes" } },

	/* unknown and missing keys */
	{ "unknown keys everywhere",
	  "cms = { url = \"https://h\"; app_key = \"ak\"; app_secret_file = \"cms.secret\"; tls = { verfy = true; }; };\n"
	  "agents = ( { cc = 1; vdn = 1; id = 1099; nmae = \"x\"; } );\n"
	  "poll = {\n  intervall = 5;\n};\n"
	  "outputs = { syslog = { enable = true; }; webhooks = ( { url = \"https://h/\"; secret = \"x\"; } ); };\n"
	  "polls = 1;\n",
	  .expect = { "1: unknown key 'verfy' in cms.tls",
	    "2: unknown key 'nmae' in agents[0]",
	    "4: unknown key 'intervall' in poll",
	    "6: unknown key 'enable' in outputs.syslog",
	    "6: unknown key 'secret' in outputs.webhooks[0]",
	    "7: unknown key 'polls' at top level" } },
	{ "missing required keys",
	  "poll = { interval = 5; };\n",
	  .expect = { "1: cms is required", "1: agents is required" } },
	{ "missing required keys inside groups",
	  "cms = {\n  timeout = 1;\n};\n"
	  "agents = (\n  { id = 1099; }\n);\n"
	  "outputs = { webhooks = (\n  { format = \"json\"; }\n); };\n",
	  .expect = { "1: cms.url is required", "1: cms.app_key is required",
	    "1: cms.app_secret_file is not set and there is no systemd credential cms.secret",
	    "5: agents[0].cc is required", "5: agents[0].vdn is required",
	    "8: outputs.webhooks[0].url is required" } },

	/* agents */
	{ "agents empty", CMS "agents = ();\n", .expect = { "2: agents is empty: list at least one agent" } },
	{ "agents: how the ids are given",
	  CMS "agents = (\n"
	  "  { cc = 1; vdn = 1; },\n"
	  "  { cc = 1; vdn = 2; id = 1099; ids = [ 1100 ]; range = [ 1200, 1300 ]; },\n"
	  "  { cc = 1; vdn = 3; ids = [ 1100 ]; name = \"bob\"; },\n"
	  "  { cc = 1; vdn = 4; ids = [ ]; },\n"
	  "  { cc = 1; vdn = 5; ids = [ 1100, 50, 60000, 1000000 ]; },\n"
	  "  { cc = 1; vdn = 6; id = 69999; }\n"
	  ");\n",
	  .expect = { "3: agents[0] needs one of id, ids or range",
	    "4: agents[1] must have only one of id, ids and range",
	    "5: agents[2].name is only allowed with a single id",
	    "6: agents[3].ids is empty",
	    "7: agents[4].ids[1] 50 is out of range 101..59999, 70000..999999",
	    "7: agents[4].ids[2] 60000 is out of range 101..59999, 70000..999999",
	    "7: agents[4].ids[3] 1000000 is out of range 101..59999, 70000..999999",
	    "8: agents[5].id 69999 is out of range 101..59999, 70000..999999" } },
	{ "agents: ranges",
	  CMS "agents = (\n"
	  "  { cc = 1; vdn = 1; range = [ 1100 ]; },\n"
	  "  { cc = 1; vdn = 2; range = [ 1300, 1200 ]; },\n"
	  "  { cc = 1; vdn = 3; range = [ 59000, 70500 ]; },\n"
	  "  { cc = 1; vdn = 4; range = [ 60000, 69999 ]; },\n"
	  "  { cc = 1; vdn = 5; range = [ 100, 200 ]; },\n"
	  "  { cc = 1; vdn = 6; range = [ 1, 2, 3 ]; }\n"
	  ");\n",
	  .expect = { "3: agents[0].range must be [first, last]",
	    "4: agents[1].range [1300, 1200] is reversed: its first id must not exceed its last",
	    "5: agents[2].range [59000, 70500] includes ids out of range 101..59999, 70000..999999",
	    "6: agents[3].range[0] 60000 is out of range 101..59999, 70000..999999",
	    "6: agents[3].range[1] 69999 is out of range 101..59999, 70000..999999",
	    "7: agents[4].range[0] 100 is out of range 101..59999, 70000..999999",
	    "8: agents[5].range must be [first, last]" } },
	{ "agents: expanded and sorted",
	  CMS "agents = (\n"
	  "  { cc = 2; vdn = 1; range = [ 70000, 70002 ]; },\n"
	  "  { cc = 1; vdn = 170; ids = [ 1101, 1100 ]; labels = { team = \"billing\"; site = \"x\"; }; },\n"
	  "  { cc = 1; vdn = 5000; range = [ 59998, 59999 ]; },\n"
	  "  { cc = 1; vdn = 170; id = 1099; name = \"alice\"; }\n"
	  ");\n",
	  .expect = { NULL }, .check = check_sorted },
	{ "agents: labels",
	  CMS "agents = ( { cc = 1; vdn = 1; id = 1099;\n"
	  "  labels = { team-a = \"x\"; t2 = \"y\"; alertname = \"z\"; vdn = \"v\"; n = 1; }; } );\n",
	  .expect = { "3: agents[0].labels.team-a is not a valid label name: it must match [a-zA-Z_][a-zA-Z0-9_]*",
	    "3: agents[0].labels.alertname is reserved: the daemon sets cc, vdn, agent, name, alertname and call_id itself",
	    "3: agents[0].labels.vdn is reserved: the daemon sets cc, vdn, agent, name, alertname and call_id itself",
	    "3: agents[0].labels.n must be a string" } },
	{ "agents: duplicates",
	  CMS "agents = (\n"
	  "  { cc = 1; vdn = 170; range = [ 1000, 1999 ]; },\n"
	  "  { cc = 1; vdn = 170; range = [ 1500, 2499 ]; },\n"
	  "  { cc = 1; vdn = 170; ids = [ 2000, 2001, 2000 ]; },\n"
	  "  { cc = 1; vdn = 170; id = 1000; },\n"
	  "  { cc = 1; vdn = 171; ids = [ 3000, 3000, 3000 ]; },\n"
	  "  { cc = 2; vdn = 170; id = 1000; }\n"
	  ");\n",
	  .expect = { "4: agent 1:170:1500 is listed twice (first at line 3) and 499 more",
	    "5: agent 1:170:2000 is listed twice (first at line 4)",
	    "5: agent 1:170:2001 is listed twice (first at line 4)",
	    "6: agent 1:170:1000 is listed twice (first at line 3)",
	    "7: agent 1:171:3000 is listed twice (first at line 7)" } },
	{ "agents: duplicate in an included file",
	  CMS "agents = (\n  { cc = 1; vdn = 1; id = 1099; },\n@include \"agents.inc\"\n);\n",
	  .expect = { "@D/agents.inc:2: agent 1:1:1099 is listed twice (first at @D/test.conf:3)" } },
	{ "agents: nearly a million",
	  CMS "agents = ( { cc = 1; vdn = 1; range = [ 70000, 999999 ]; },\n"
	  "  { cc = 1; vdn = 2; range = [ 101, 59999 ]; } );\n",
	  .expect = { NULL }, .check = check_many },
	{ "agents: over a million",
	  CMS "agents = ( { cc = 1; vdn = 1; range = [ 70000, 999999 ]; },\n"
	  "  { cc = 1; vdn = 2; range = [ 101, 59999 ]; },\n"
	  "  { cc = 1; vdn = 3; range = [ 101, 20000 ]; },\n"
	  "  { cc = 1; vdn = 4; id = 101; } );\n",
	  .expect = { "4: agents[2].range brings the number of agents over 1000000" } },

	/* outputs */
	{ "webhook format, events and headers",
	  BASE "outputs = { webhooks = ( { url = \"https://h/\"; format = \"xml\";\n"
	  "  events = [ \"call.*\", \"cal.*\", \"agent.?usy\", \"*\" ];\n"
	  "  headers = { content-type = \"x\"; CONTENT-LENGTH = \"1\"; Host = \"h\"; X-Ok = \"a\\r\\nb\"; }; },\n"
	  "  { url = \"https://h/\"; events = [ ]; } ); };\n",
	  .expect = { "3: outputs.webhooks[0].format 'xml' must be json or alertmanager",
	    "4: outputs.webhooks[0].events[1] 'cal.*' matches no event type (call.started, call.ended, "
	    "call.long, agent.busy, agent.idle, agent.unreachable, agent.reachable, call.status, "
	    "agent.state, agent.long_state)",
	    "5: outputs.webhooks[0].headers.content-type is set by the daemon and cannot be overridden",
	    "5: outputs.webhooks[0].headers.CONTENT-LENGTH is set by the daemon and cannot be overridden",
	    "5: outputs.webhooks[0].headers.Host is set by the daemon and cannot be overridden",
	    "5: outputs.webhooks[0].headers.X-Ok must not contain a line break",
	    "6: outputs.webhooks[1].events is empty: leave it out to send every event" } },
	{ "webhook over http and other hosts",
	  BASE "outputs = { webhooks = ( { url = \"http://[::1]:9093/api/v2/alerts\"; },\n"
	  "  { url = \"https://a-b.example_1.net\"; }, { url = \"http://h?q=1\"; } ); };\n",
	  .expect = { NULL } },
	{ "max_backlog and deadletter_max",
	  BASE "outputs = { deadletter_max = 8192;\n"
	  "  webhooks = ( { url = \"https://h/\"; max_backlog = 500; }, { url = \"https://h/2\"; } ); };\n",
	  .expect = { NULL }, .check = check_retention },
	{ "max_backlog and deadletter_max out of range",
	  BASE "outputs = { deadletter_max = 4095;\n"
	  "  webhooks = ( { url = \"https://h/\"; max_backlog = 9; }, { url = \"https://h/2\"; max_backlog = 1.5; } ); };\n",
	  .expect = { "3: outputs.deadletter_max 4095 is out of range 4096..1099511627776",
	    "4: outputs.webhooks[0].max_backlog 9 is out of range 10..1000000000",
	    "4: outputs.webhooks[1].max_backlog must be an integer" } },
	{ "max_backlog and deadletter_max past what a disk holds (past 2^64 as written)",
	  BASE "outputs = { deadletter_max = 18446744073709551615;\n"
	  "  webhooks = ( { url = \"https://h/\"; max_backlog = 99999999999999999999; } ); };\n",
	  .expect = { "3: outputs.deadletter_max 18446744073709551615 is out of range 4096..1099511627776",
	    "4: outputs.webhooks[0].max_backlog 99999999999999999999 is out of range 10..1000000000" } },
	{ "syslog facility",
	  BASE "outputs = { syslog = { enabled = true; facility = \"local8\"; }; };\n",
	  .expect = { "3: outputs.syslog.facility 'local8' must be one of kern, user, mail, daemon, auth, "
	    "syslog, lpr, news, uucp, cron, authpriv, ftp, local0 to local7" } },
	{ "state_dir relative", BASE "state_dir = \"var/lib/agentwatchd\";\n",
	  .expect = { "3: state_dir 'var/lib/agentwatchd' must be an absolute path" } },

	/* http */
	{ "http every key",
	  BASE "http = { listen = [ \"127.0.0.1:9477\", \"[::1]:9477\", \"unix:/run/agentwatchd/http.sock\" ];\n"
	  "  tls = { cert_file = \"ca.pem\"; key_file = \"ca.pem\"; }; users_file = \"http.users\";\n"
	  "  agent_metrics = true; max_connections = 16; timeout = 10; };\n",
	  .expect = { NULL }, .check = check_http },
	{ "http listen forms",
	  BASE "http = { listen = [ \"localhost:9477\", \"::1:9477\", \"[::1]\", \"127.0.0.1:65536\",\n"
	  "  \"unix:run/x.sock\", \"[127.0.0.1]:80\" ];\n"
	  "  tls = { cert_file = \"ca.pem\"; }; max_connections = 0; };\n",
	  .expect = { "3: http.listen[0] 'localhost:9477' is not an IP address literal (IPv6 in brackets: [::1]:9477)",
	    "3: http.listen[1] '::1:9477' is not an IP address literal (IPv6 in brackets: [::1]:9477)",
	    "3: http.listen[2] '[::1]' is not IP:port, [IPv6]:port or unix:/path",
	    "3: http.listen[3] '127.0.0.1:65536' needs a port 0..65535 after the last ':'",
	    "4: http.listen[4] 'unix:run/x.sock' a unix socket needs an absolute path: unix:/path",
	    "4: http.listen[5] '[127.0.0.1]:80' is not an IP address literal (IPv6 in brackets: [::1]:9477)",
	    "5: http.max_connections 0 is out of range 1..10000",
	    "5: http.tls.key_file is required" } },
	{ "http users file readable by others",
	  BASE "http = { users_file = \"open.users\"; };\n",
	  .expect = { "3: http.users_file @D/open.users has mode 0644: it must not be readable by group or others (chmod 600)" } },
	{ "http users file lines",
	  BASE "http = { users_file = \"bad.users\"; };\n",
	  .expect = { "@D/bad.users:2: is not a user:crypt-hash line",
	    "@D/bad.users:3: user carol: the hash is not one crypt(3) accepts as strong (htpasswd -B or mkpasswd -m yescrypt make one)",
	    "@D/bad.users:4: the user name must be printable ASCII without spaces" } },
	{ "http users file empty",
	  BASE "http = { users_file = \"empty.users\"; };\n",
	  .expect = { "3: http.users_file @D/empty.users lists no user" } },

	/* the file as a whole */
	{ "syntax error", BASE "poll = { interval = ; };\n", .expect = { "3: syntax error" } },
	{ "duplicate setting", BASE "poll = { interval = 1; interval = 2; };\n",
	  .expect = { "3: syntax error: duplicate setting name" } },
	{ "missing include", BASE "@include \"nope.inc\"\n",
	  .expect = { "3: syntax error: cannot open include file" } },
	{ "include with a mistake", BASE "@include \"poll.inc\"\n",
	  .expect = { "@D/poll.inc:2: unknown key 'intervall' in poll" } },
	{ "include of a directory", BASE "poll = { interval = 1; };\n@include \"creds\"\n",
	  .expect = { "4: @include \"creds\": @D/creds is not a regular file" } },
	{ "include of a directory, nested", BASE "@include \"nest.inc\"\n",
	  .expect = { "@D/nest.inc:2: @include \"nocreds\": @D/nocreds is not a regular file" } },
	{ "config missing", NULL, .expect = { "@D/nope.conf: cannot read: No such file or directory" },
	  .path = "nope.conf" },
	{ "config is a directory", NULL, .expect = { "@D/creds: cannot read: Is a directory" }, .path = "creds" },

	{ "several mistakes at once",
	  "cms = { url = \"ftp://x\"; app_key = \"a/b\"; app_secret_file = \"open.secret\"; timeout = 0; };\n"
	  "poll = { intervall = 5; failure_threshold = 2.5; };\n"
	  "agents = (\n"
	  "  { cc = 1; vdn = 6000; id = 50; },\n"
	  "  { cc = 1; vdn = 170; ids = [ 1100, 1100 ]; }\n"
	  ");\n"
	  "state_dir = \"x\";\n",
	  .expect = { "1: cms.timeout 0 is out of range 0.001..300",
	    "1: cms.url 'ftp://x' is not a URL of the form https://host[:port]",
	    "1: cms.app_key must be printable ASCII without spaces or '/'",
	    "1: cms.app_secret_file @D/open.secret has mode 0644: it must not be readable by group or others (chmod 600)",
	    "2: unknown key 'intervall' in poll",
	    "2: poll.failure_threshold must be an integer",
	    "4: agents[0].vdn 6000 is out of range 1..5000",
	    "4: agents[0].id 50 is out of range 101..59999, 70000..999999",
	    "5: agent 1:170:1100 is listed twice (first at line 5)",
	    "7: state_dir 'x' must be an absolute path" } },
};

/* The set-up failed: automake's "hard error", not a failed test. */
static void die(const char *what)
{
	fprintf(stderr, "test_cfg: %s: %s\n", what, strerror(errno));
	exit(99);
}

static void write_file(const char *name, const char *text, size_t len, mode_t mode)
{
	char *path = xasprintf("%s/%s", dir, name);
	FILE *f = fopen(path, "we");

	if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0 || chmod(path, mode) != 0)
		die(path);
	free(path);
}

#define WRITE(name, text, mode) write_file(name, text, sizeof(text) - 1, mode)

static void make_subdir(const char *name)
{
	char *path = xasprintf("%s/%s", dir, name);

	if (mkdir(path, 0700) != 0)
		die(path);
	free(path);
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *tmpl = xasprintf("%s/test_cfg.XXXXXX", tmp);
	char big[CFG_SECRET_MAX + 2];

	if (!mkdtemp(tmpl) || !(dir = realpath(tmpl, NULL)))
		die(tmpl);
	free(tmpl);
	WRITE("cms.secret", "cms-" MARK "-1\n", 0600);
	WRITE("hook.secret", "hook-" MARK "-2\n", 0400);
	WRITE("open.secret", "open-" MARK "\n", 0644);
	WRITE("group.secret", "group-" MARK "\n", 0640);
	WRITE("empty.secret", "", 0600);
	WRITE("newline.secret", "\n", 0600);
	WRITE("twoline.secret", "two-" MARK "\nline\n", 0600);
	WRITE("twonl.secret", "twonl-" MARK "\n\n", 0600);
	WRITE("nul.secret", "nul-" MARK "\0x\n", 0600);
	WRITE("crlf.secret", "crlf-" MARK "\r\n", 0600);
	memset(big, 'x', sizeof big);
	memcpy(big, MARK, strlen(MARK));
	write_file("big.secret", big, CFG_SECRET_MAX + 1, 0600);
	big[CFG_SECRET_MAX] = '\r';
	big[CFG_SECRET_MAX + 1] = '\n';
	write_file("max.secret", big, CFG_SECRET_MAX + 2, 0600);
	WRITE("ca.pem", "not really a certificate\n", 0644);
	WRITE("http.users", "# comment\n\nalice:" HASH "\r\nbob:" HASH "\n", 0600);
	WRITE("open.users", "alice:" HASH "\n", 0644);
	WRITE("bad.users", "alice:" HASH "\nnocolon\ncarol:plaintext\nda ve:" HASH "\n", 0600);
	WRITE("empty.users", "# nobody\n", 0600);
	WRITE("poll.inc", "# included\npoll = { intervall = 5; };\n", 0644);
	WRITE("agents.inc", "# included\n  { cc = 1; vdn = 1; id = 1099; }\n", 0644);
	WRITE("nest.inc", "# included, and including\n @include \"nocreds\"\n", 0644);
	WRITE("wrap.inc", "# included: 4294968396 is 1100 to libconfig 1.5\n  { cc = 1; vdn = 2; id = 4294968396; }\n", 0644);
	make_subdir("creds");
	WRITE("creds/cms.secret", "cred-" MARK "\n", 0400);
	make_subdir("nocreds");
	make_subdir("opencreds");
	WRITE("opencreds/cms.secret", "opencred-" MARK "\n", 0644);
}

/* Returns s with every from replaced by to. */
static char *replace_all(const char *s, const char *from, const char *to)
{
	char *out = xstrdup(""), *next;
	const char *hit;

	for (; (hit = strstr(s, from)); s = hit + strlen(from)) {
		next = xasprintf("%s%.*s%s", out, (int)(hit - s), s, to);
		free(out);
		out = next;
	}
	next = xasprintf("%s%s", out, s);
	free(out);
	return next;
}

/* Messages about the case's own file lose "@D/test.conf:"; other paths keep "@D". */
static char *normalize(const char *out)
{
	char *prefix = xasprintf("\n%s/test.conf:", dir);
	char *with_nl = xasprintf("\n%s", out);
	char *stripped = replace_all(with_nl, prefix, "\n");
	char *result = replace_all(stripped + 1, dir, "@D");

	free(prefix);
	free(with_nl);
	free(stripped);
	return result;
}

static char *expected_text(const struct tcase *t, int *n)
{
	char *text = xstrdup(""), *next;

	for (*n = 0; *n < (int)ARRAY_SIZE(t->expect) && t->expect[*n]; ++*n) {
		next = xasprintf("%s%s\n", text, t->expect[*n]);
		free(text);
		text = next;
	}
	return text;
}

static void check_messages(const struct tcase *t, const char *out, const struct cfg *cfg,
			   int nerrors)
{
	char *got = normalize(out), *want;
	int n;

	want = expected_text(t, &n);
	CHECK_STR(got, want);
	CHECK(!strstr(out, MARK));
	CHECK(nerrors == n);
	CHECK(n ? !cfg : cfg != NULL);
	free(got);
	free(want);
}

static void set_credentials(const char *sub)
{
	char *path;

	if (!sub) {
		unsetenv("CREDENTIALS_DIRECTORY");
		return;
	}
	path = xasprintf("%s/%s", dir, sub);
	setenv("CREDENTIALS_DIRECTORY", path, 1);
	free(path);
}

/* Loads path and checks what came out; the caller has set up the file. */
static void run(const struct tcase *t, const char *path)
{
	char *out = NULL;
	size_t outlen = 0;
	FILE *errors = open_memstream(&out, &outlen);
	int nerrors = -1, failures = check_failures;
	struct cfg *cfg;

	set_credentials(t->creds);
	cfg = cfg_load(path, errors, &nerrors);
	fclose(errors);
	check_messages(t, out, cfg, nerrors);
	if (cfg && t->url)
		CHECK_STR(cfg->cms.url, t->url);
	if (cfg && t->host)
		CHECK_STR(cfg->cms.host, t->host);
	if (cfg && t->check)
		t->check(cfg);
	cfg_free(cfg);
	free(out);
	printf("%s - %s\n", check_failures > failures ? "FAIL" : "ok", t->name);
}

static void run_case(const struct tcase *t)
{
	char *path = xasprintf("%s/%s", dir, t->path ? t->path : "test.conf");
	char *text;

	if (!t->path) {
		text = replace_all(t->text, "@D", dir);
		write_file("test.conf", text, strlen(text), 0644);
		free(text);
	}
	run(t, path);
	free(path);
}

static void check_shipped(const struct cfg *cfg)
{
	CHECK_STR(cfg->cms.host, "cms.example.net:28443");
	CHECK(cfg->ngroups == 3 && cfg->nagents == 1 + 2 + 1000);
	CHECK(cfg_find_agent(cfg, 1, 171, 2999) && !cfg_find_agent(cfg, 1, 171, 3000));
	CHECK_STR(cfg->state_dir, "/var/lib/agentwatchd");
}

/* The shipped example as the shipped unit runs it: the secret comes as the systemd credential. */
static void run_shipped(void)
{
	const char *srcdir = getenv("srcdir") ? getenv("srcdir") : ".";
	char *src = xasprintf("%s/etc/agentwatchd.conf", srcdir), *text, *ours;
	const struct tcase t = { .name = "shipped etc/agentwatchd.conf", .check = check_shipped,
				 .creds = "creds" };
	size_t len;

	if (!(text = util_read_file(src, 1 << 20, &len)))
		die(src);
	CHECK(strstr(text, "\n  # app_secret_file = ") != NULL);
	write_file("shipped.conf", text, len, 0644);
	ours = xasprintf("%s/shipped.conf", dir);
	run(&t, ours);
	free(ours);
	free(text);
	free(src);
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int main(void)
{
	int status;

	setup();
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		run_case(&cases[i]);
	run_shipped();
	status = check_done("test_cfg");
	/* A failure leaves the directory behind to look at. */
	if (status == 0 && nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS) != 0)
		fprintf(stderr, "test_cfg: could not remove %s\n", dir);
	free(dir);
	return status;
}
