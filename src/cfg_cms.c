/* cfg_cms: the cms group (URL, app key, secret or systemd credential, tls) and the poll group. */
#include "config.h"

#include <float.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cfg_impl.h"
#include "util.h"

enum { CMS_URL, CMS_APP_KEY, CMS_SECRET_FILE, CMS_TIMEOUT, CMS_MAX_IN_FLIGHT, CMS_MAX_RATE,
       CMS_INSECURE, CMS_TLS, CMS_API, CMS_BATCH_SIZE, CMS_N };
static const struct key cms_keys[] = {
	[CMS_URL] = { .name = "url", .kind = K_STR, .required = true },
	[CMS_APP_KEY] = { .name = "app_key", .kind = K_STR, .required = true,
			  AT(struct cfg_cms, app_key) },
	[CMS_SECRET_FILE] = { .name = "app_secret_file", .kind = K_STR },
	[CMS_TIMEOUT] = { .name = "timeout", .kind = K_SECS, .min = SECS_MIN, .max = 300,
			  AT(struct cfg_cms, timeout) },
	[CMS_MAX_IN_FLIGHT] = { .name = "max_in_flight", .kind = K_INT, .min = 1, .max = 4096,
				AT(struct cfg_cms, max_in_flight) },
	[CMS_MAX_RATE] = { .name = "max_rate", .kind = K_RATE, .min = 0, .max = DBL_MAX,
			   AT(struct cfg_cms, max_rate) },
	[CMS_INSECURE] = { .name = "allow_insecure_http", .kind = K_BOOL,
			   AT(struct cfg_cms, allow_insecure_http) },
	[CMS_TLS] = { .name = "tls", .kind = K_GROUP },
	[CMS_API] = { .name = "api", .kind = K_STR },
	[CMS_BATCH_SIZE] = { .name = "batch_size", .kind = K_INT, .min = 1, .max = CFG_BATCH_SIZE_MAX,
			     AT(struct cfg_cms, batch_size) },
};

static const struct name_value apis[] = {
	{ "auto", CFG_API_AUTO }, { "batch", CFG_API_BATCH }, { "agent", CFG_API_AGENT },
};

static const struct key tls_keys[] = {
	{ .name = "ca_file", .kind = K_FILE, AT(struct cfg_tls, ca_file) },
	{ .name = "verify", .kind = K_BOOL, AT(struct cfg_tls, verify) },
	{ .name = "client_cert", .kind = K_FILE, AT(struct cfg_tls, client_cert) },
	{ .name = "client_key", .kind = K_FILE, AT(struct cfg_tls, client_key) },
};

enum { POLL_INTERVAL, POLL_FAILURE_THRESHOLD, POLL_BACKOFF_MAX, POLL_AGENT_STATE, POLL_N };
static const struct key poll_keys[] = {
	[POLL_INTERVAL] = { .name = "interval", .kind = K_SECS, .min = 0.1, .max = 86400,
			    AT(struct cfg_poll, interval) },
	[POLL_FAILURE_THRESHOLD] = { .name = "failure_threshold", .kind = K_INT, .min = 1, .max = 1000,
				     AT(struct cfg_poll, failure_threshold) },
	[POLL_BACKOFF_MAX] = { .name = "backoff_max", .kind = K_SECS, .min = 0.1, .max = 86400,
			       AT(struct cfg_poll, backoff_max) },
	[POLL_AGENT_STATE] = { .name = "agent_state", .kind = K_BOOL, AT(struct cfg_poll, agent_state) },
};

/* Without app_secret_file, systemd's LoadCredential=cms.secret:... supplies the secret. */
static void cms_credential(struct ctx *c, const config_setting_t *cms, struct cfg_cms *out)
{
	const char *dir = getenv("CREDENTIALS_DIRECTORY");
	char *path = dir ? xasprintf("%s/cms.secret", dir) : NULL;

	if (path && access(path, F_OK) == 0)
		out->app_secret = cfg_read_secret(c, cms, "systemd credential cms.secret", path,
						  &out->app_secret_len);
	else if (!dir && (c->flags & CFG_LOAD_DEFER_CREDENTIAL))
		out->secret_deferred = true;
	else
		cfg_error_at(c, cms,
			     "cms.app_secret_file is not set and there is no systemd credential cms.secret");
	free(path);
}

void cfg_parse_tls(struct ctx *c, const config_setting_t *s, struct cfg_tls *tls)
{
	cfg_check_group(c, s, tls_keys, ARRAY_SIZE(tls_keys), tls, NULL);
	if (!config_setting_get_member(s, "client_cert") != !config_setting_get_member(s, "client_key"))
		cfg_bad(c, s, "needs both client_cert and client_key, or neither");
}

/* The key goes into a '/'-separated Authorization header, so it must be one plain token. */
static void check_app_key(struct ctx *c, const config_setting_t *s)
{
	const char *key = config_setting_get_string(s);

	if (!*key)
		cfg_bad(c, s, "is empty");
	else if (!cfg_visible_ascii(key, "/"))
		cfg_bad(c, s, "must be printable ASCII without spaces or '/'");
}

void cfg_parse_cms(struct ctx *c, const config_setting_t *s, struct cfg_cms *cms)
{
	const config_setting_t *f[CMS_N];
	const char *url;
	int api;

	cfg_check_group(c, s, cms_keys, CMS_N, cms, f);
	if (f[CMS_URL] && cfg_check_url(c, f[CMS_URL], false, cms->allow_insecure_http, &cms->https,
					&cms->host)) {
		url = config_setting_get_string(f[CMS_URL]);
		cms->url = xstrndup(url, strlen(url) - (url[strlen(url) - 1] == '/'));
	}
	if (f[CMS_APP_KEY])
		check_app_key(c, f[CMS_APP_KEY]);
	if (f[CMS_SECRET_FILE])
		cms->app_secret = cfg_secret_file(c, f[CMS_SECRET_FILE], &cms->app_secret_len);
	else if (!config_setting_get_member(s, "app_secret_file"))
		cms_credential(c, s, cms);
	if (f[CMS_TLS])
		cfg_parse_tls(c, f[CMS_TLS], &cms->tls);
	if (f[CMS_API] && cfg_lookup_name(c, f[CMS_API], apis, ARRAY_SIZE(apis),
					  "auto, batch or agent", &api))
		cms->api = (enum cfg_cms_api)api;
}

/* One request per agent was 1.0's whole behaviour: state polling is opted into there. */
void cfg_default_agent_state(const config_setting_t *poll, struct cfg *cfg)
{
	if (cfg->cms.api == CFG_API_AGENT && !(poll && config_setting_get_member(poll, "agent_state")))
		cfg->poll.agent_state = false;
}

void cfg_parse_poll(struct ctx *c, const config_setting_t *s, struct cfg_poll *poll)
{
	const config_setting_t *f[POLL_N];

	cfg_check_group(c, s, poll_keys, POLL_N, poll, f);
	if (!config_setting_get_member(s, "backoff_max"))
		poll->backoff_max = poll->interval > 60 ? poll->interval : 60;
	else if (f[POLL_BACKOFF_MAX] && (f[POLL_INTERVAL] || !config_setting_get_member(s, "interval")) &&
		 poll->backoff_max < poll->interval)
		cfg_bad(c, f[POLL_BACKOFF_MAX], "%g must not be below poll.interval %g",
			poll->backoff_max, poll->interval);
}
