/* cfg: the libconfig file turned into plain structs, every problem reported as FILE:LINE. */
#ifndef AW_CFG_H
#define AW_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "cmscodes.h"

/* Agent identifiers as the CMS defines them. */
#define CFG_CC_MIN 1
#define CFG_CC_MAX 65535
#define CFG_VDN_MIN 1
#define CFG_VDN_MAX 5000
/* agentId is 101..59999, or 70000..999999 on newer releases. */
bool cfg_agent_id_valid(long id);

#define CFG_SECRET_MAX 4096

struct cfg_tls {
	char *ca_file;		/* NULL: the system store */
	bool verify;		/* default true */
	char *client_cert;	/* NULL: none */
	char *client_key;
};

/* cms.api: which interface polls the calls. */
enum cfg_cms_api {
	CFG_API_AUTO,		/* batch, and per agent for a (cc, vdn) whose CMS answers 404 */
	CFG_API_BATCH,		/* agentgroup/queryagentcalls only */
	CFG_API_AGENT,		/* agent/queryagentcalls, one request per agent (the 1.0 behaviour) */
};

#define CFG_BATCH_SIZE_MAX 3000	/* cms-api.md §2.1 */

struct cfg_cms {
	char *url;		/* scheme://host:port as written, without a trailing slash */
	char *host;		/* "host:port" exactly as in the URL (port made explicit) */
	bool https;
	bool allow_insecure_http;
	char *app_key;
	char *app_secret;	/* loaded from app_secret_file or $CREDENTIALS_DIRECTORY/cms.secret */
	size_t app_secret_len;
	bool secret_deferred;	/* app_secret NULL: the credential, checked when the service starts */
	double timeout;		/* seconds, default 5 */
	int max_in_flight;	/* default 32 */
	double max_rate;	/* requests per second, 0 = unlimited; default 0 */
	enum cfg_cms_api api;	/* default CFG_API_AUTO */
	int batch_size;		/* agents per batch request, 1..3000, default 1000 */
	struct cfg_tls tls;
};

struct cfg_poll {
	double interval;	/* seconds, default 5 */
	int failure_threshold;	/* default 3 */
	double backoff_max;	/* seconds, default 60 */
	bool agent_state;	/* poll agentgroup/agentstatusinfobyagentids too; default true,
				   but false when cms.api is "agent" and the key is absent */
};

struct cfg_alerts {
	double long_call;	/* seconds, 0 disables call.long; default 900 */
	double long_state[CMS_STATE_COUNT];	/* seconds per CTI state code (alerts.long_state.<name>);
				   0 = off, the default for every state */
};

#define CFG_MAX_BACKLOG_DEFAULT 1000000
#define CFG_DEADLETTER_MAX_DEFAULT (16u << 20)

enum cfg_webhook_format { CFG_WEBHOOK_JSON, CFG_WEBHOOK_ALERTMANAGER };

struct cfg_header {
	char *name;
	char *value;
};

struct cfg_webhook {
	int line;
	char *url;
	enum cfg_webhook_format format;
	char *secret;		/* from secret_file, NULL when unset */
	size_t secret_len;
	char **events;		/* glob patterns; NULL/0 = every event */
	size_t nevents;
	double timeout;		/* seconds, default 10 */
	size_t batch_max;	/* events per POST, default 1 (no batching) */
	double batch_linger;	/* seconds to wait for a batch to fill, default 0 */
	size_t max_in_flight;	/* requests under way at once, default 32 */
	struct cfg_header *headers;
	size_t nheaders;
	struct cfg_tls tls;
	size_t max_backlog;	/* log records it may fall behind, the oldest beyond dropped; 0: no cap */
};

struct cfg_syslog {
	bool enabled;
	int facility;		/* LOG_DAEMON etc. from <syslog.h> */
	char *ident;		/* default "agentwatchd" */
	char *socket;		/* the syslog daemon's datagram socket, default "/dev/log" */
};

struct cfg_outputs {
	bool journal;		/* default true */
	struct cfg_syslog syslog;
	bool to_stdout;		/* key "stdout", default false */
	struct cfg_webhook *webhooks;
	size_t nwebhooks;
	size_t deadletter_max;	/* bytes of deadletter.jsonl before it is rotated; 0: never */
};

struct cfg_label {
	char *key;
	char *value;
};

/* One entry of the agents list; the agents it expands to share it. */
struct cfg_group {
	int line;
	char *name;		/* only with a single id; NULL otherwise */
	struct cfg_label *labels;
	size_t nlabels;
};

struct cfg_agent {
	uint32_t cc;
	uint32_t vdn;
	uint32_t id;
	const struct cfg_group *group;
};

struct cfg_http_user {
	char *name;
	char *hash;		/* crypt(3) form: "$2y$...", "$6$...", "$y$..." */
};

/* The HTTP endpoint (http.c); off when nlisten is 0. */
struct cfg_http {
	char **listen;		/* "IP:port", "[IPv6]:port" or "unix:/path", as written */
	size_t nlisten;
	char *cert_file;	/* tls: both set, or neither (plain HTTP) */
	char *key_file;
	char *users_file;	/* NULL: no authentication */
	struct cfg_http_user *users;
	size_t nusers;
	bool agent_metrics;	/* per-agent series on /metrics; default false */
	int max_connections;	/* default 64 */
	double timeout;		/* seconds a connection may stay idle, default 30 */
};

struct cfg {
	char *path;
	struct cfg_cms cms;
	struct cfg_poll poll;
	struct cfg_alerts alerts;
	struct cfg_outputs outputs;
	char *state_dir;	/* NULL: no persistence */
	struct cfg_http http;
	struct cfg_group *groups;
	size_t ngroups;
	struct cfg_agent *agents;	/* sorted by (cc, vdn, id) */
	size_t nagents;
	char **warnings;	/* "FILE:LINE: warning: ..." worth saying, yet no error */
	size_t nwarnings;
};

/*
 * Parses and validates path. On success returns the configuration. On failure returns NULL
 * after writing one "FILE:LINE: message" line per problem found (all of them) to errors, and
 * stores the count in *nerrors when nerrors is not NULL.
 */
struct cfg *cfg_load(const char *path, FILE *errors, int *nerrors);

/*
 * With CFG_LOAD_DEFER_CREDENTIAL, a configuration that takes the CMS secret from the systemd
 * credential cms.secret loads without it when $CREDENTIALS_DIRECTORY is unset (a shell, not the
 * service): cms.app_secret stays NULL and cms.secret_deferred is set. For -t only; whatever polls
 * or runs the daemon loads with flags 0, which requires the secret.
 */
#define CFG_LOAD_DEFER_CREDENTIAL 1u
struct cfg *cfg_load_flags(const char *path, FILE *errors, int *nerrors, unsigned flags);
void cfg_free(struct cfg *cfg);
/* Logs cfg's warnings (log_warn): at -t, at start and at each reload. */
void cfg_log_warnings(const struct cfg *cfg);

/* The 64-bit key that orders and identifies an agent. */
static inline uint64_t cfg_agent_key(uint32_t cc, uint32_t vdn, uint32_t id)
{
	return (uint64_t)cc << 40 | (uint64_t)vdn << 24 | id;
}

/* Finds an agent by its "CC:VDN:ID" identity; NULL when it is not configured. */
const struct cfg_agent *cfg_find_agent(const struct cfg *cfg, uint32_t cc, uint32_t vdn, uint32_t id);

/*
 * Parses one http.listen entry: "IPv4:port", "[IPv6]:port" (literal addresses, port 0..65535,
 * 0 = any free port) or "unix:/absolute/path". Fills *addr and *len; returns NULL, or why text is
 * not one of those forms.
 */
const char *cfg_listen_parse(const char *text, struct sockaddr_storage *addr, socklen_t *len);

#endif
