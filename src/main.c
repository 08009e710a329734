/* main: command line, then one of: check the configuration, poll once, or run the daemon. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include <curl/curl.h>

#include "cfg.h"
#include "daemon.h"
#include "log.h"
#include "once.h"
#include "util.h"
#include "version.h"

#define DEFAULT_CONFIG SYSCONFDIR "/agentwatchd/agentwatchd.conf"

enum { OPT_ONCE = 256, OPT_AGENT, OPT_VERSION };

struct options {
	const char *config;
	bool check_only;
	bool once;
	const char *agent;
	int verbosity;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: agentwatchd [-c FILE] [-t] [--once [--agent CC:VDN:ID]] [-v]... [--version] [-h]\n"
		"  -c, --config FILE     configuration file (default %s)\n"
		"  -t, --check-config    check the configuration, print a summary and exit\n"
		"      --once            poll every agent once, print one JSON object per agent, exit\n"
		"      --agent CC:VDN:ID with --once: poll just this configured agent\n"
		"  -v, --verbose         more diagnostics; -vv also shows each signed canonical request\n"
		"      --version         print the version and exit\n"
		"  -h, --help            print this help and exit\n", DEFAULT_CONFIG);
}

static int parse_options(int argc, char **argv, struct options *opt)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 't' },
		{ "once", no_argument, NULL, OPT_ONCE },
		{ "agent", required_argument, NULL, OPT_AGENT },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, OPT_VERSION },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*opt = (struct options){ .config = DEFAULT_CONFIG };
	while ((c = getopt_long(argc, argv, "c:tvh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': opt->config = optarg; break;
		case 't': opt->check_only = true; break;
		case OPT_ONCE: opt->once = true; break;
		case OPT_AGENT: opt->agent = optarg; break;
		case 'v': opt->verbosity++; break;
		case OPT_VERSION: version_print(stdout); exit(0);
		case 'h': usage(stdout); exit(0);
		default: return -1;	/* getopt_long has said what is wrong */
		}
	}
	if (optind < argc) {
		fprintf(stderr, "agentwatchd: unexpected argument '%s'\n", argv[optind]);
		return -1;
	}
	if (opt->agent && !opt->once) {
		fputs("agentwatchd: --agent goes with --once\n", stderr);
		return -1;
	}
	if (opt->check_only && opt->once) {
		fputs("agentwatchd: -t and --once exclude each other\n", stderr);
		return -1;
	}
	return 0;
}

static void print_summary(const struct cfg *cfg)
{
	const struct cfg_outputs *o = &cfg->outputs;

	printf("%s: OK: %zu agent%s in %zu group%s; CMS %s; poll every %g s; outputs:%s%s%s",
	       cfg->path, cfg->nagents, cfg->nagents == 1 ? "" : "s", cfg->ngroups,
	       cfg->ngroups == 1 ? "" : "s", cfg->cms.url, cfg->poll.interval,
	       o->journal ? " journal" : "", o->syslog.enabled ? " syslog" : "",
	       o->to_stdout ? " stdout" : "");
	if (o->nwebhooks)
		printf(" %zu webhook%s", o->nwebhooks, o->nwebhooks == 1 ? "" : "s");
	if (!o->journal && !o->syslog.enabled && !o->to_stdout && !o->nwebhooks)
		printf(" none");
	putchar('\n');
	if (cfg->cms.secret_deferred)
		printf("%s: the CMS secret will come from the systemd credential cms.secret; "
		       "it is checked when the service starts\n", cfg->path);
}

/* flags: CFG_LOAD_*; see cfg_load_flags. */
static struct cfg *load_config(const char *path, unsigned flags)
{
	int nerrors = 0;
	struct cfg *cfg = cfg_load_flags(path, stderr, &nerrors, flags);

	if (!cfg)
		fprintf(stderr, "%s: %d error%s\n", path, nerrors, nerrors == 1 ? "" : "s");
	else
		cfg_log_warnings(cfg);
	return cfg;
}

/* "CC:VDN:ID", each part a plain decimal number. */
static const struct cfg_agent *find_agent_arg(const struct cfg *cfg, const char *arg)
{
	unsigned long v[3];
	const char *p = arg;
	const struct cfg_agent *agent;

	for (int i = 0; i < 3; i++) {
		char *end;

		errno = 0;
		if (*p < '0' || *p > '9')
			goto bad;
		v[i] = strtoul(p, &end, 10);
		if (errno || end == p || *end != (i < 2 ? ':' : '\0') || v[i] > 999999)
			goto bad;
		p = end + 1;
	}
	agent = cfg_find_agent(cfg, (uint32_t)v[0], (uint32_t)v[1], (uint32_t)v[2]);
	if (!agent)
		fprintf(stderr, "agentwatchd: agent %s is not in %s\n", arg, cfg->path);
	return agent;
bad:
	fprintf(stderr, "agentwatchd: --agent wants CC:VDN:ID (three numbers), not '%s'\n", arg);
	return NULL;
}

static int run(const struct options *opt)
{
	/* -t from a shell checks all but the credential that only the service is given. */
	struct cfg *cfg = load_config(opt->config, opt->check_only ? CFG_LOAD_DEFER_CREDENTIAL : 0);
	const struct cfg_agent *only = NULL;
	int status;

	if (!cfg)
		return 1;
	if (opt->check_only) {
		print_summary(cfg);
		cfg_free(cfg);
		return 0;
	}
	if (opt->once) {
		if (opt->agent && !(only = find_agent_arg(cfg, opt->agent))) {
			cfg_free(cfg);
			return 2;
		}
		status = once_run(cfg, only, opt->verbosity >= 2);
		cfg_free(cfg);
		return status;
	}
	/* The daemon owns cfg from here, and replaces it on reload. */
	return daemon_run(opt->config, cfg, opt->verbosity >= 2);
}

int main(int argc, char **argv)
{
	struct options opt;
	int status;

	if (parse_options(argc, argv, &opt) < 0) {
		usage(stderr);
		return 2;
	}
	log_set_level(LOG_LEVEL_NOTICE + opt.verbosity);
	/*
	 * Before the configuration, and with it the CMS secret, is read: no core dump, and no
	 * ptrace or /proc/PID/mem by other processes of the same user. The secret's pages are
	 * MADV_DONTDUMP as well (util_secret_alloc).
	 */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		log_warn("prctl(PR_SET_DUMPABLE, 0): %s", strerror(errno));
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_err("cannot initialise libcurl");
		return 1;
	}
	status = run(&opt);
	curl_global_cleanup();
	return status;
}
