/* cfg_impl.h: what cfg's files share inside the module: the load's context, key tables, reports. */
#ifndef CFG_IMPL_H
#define CFG_IMPL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libconfig.h>

#include "cfg.h"
#include "cfgnum.h"

/* Setting paths in messages; deeper or longer ones are cut, which only shortens the text. */
#define PATH_BUF 256

#define LETTERS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define DIGITS "0123456789"
/* Where an agentId may lie (cfg_agent_id_valid), as text for the messages. */
#define AGENT_ID_RANGES "101..59999, 70000..999999"

struct name_value {
	const char *name;
	int value;
};

/* One problem, kept until the end so that all of them come out in the order of the file. */
struct message {
	bool main_file;		/* before the included files */
	char *file;
	unsigned line;
	size_t seq;		/* the order found, within a line */
	char *text;
};

/* One load: the file and the problems found in it. */
struct ctx {
	const char *path;
	struct cfg *cfg;	/* what is being filled in */
	char *dir;		/* the file's directory: @include and relative paths start there */
	struct message *msgs;
	size_t nmsgs, msgcap;
	unsigned flags;		/* CFG_LOAD_* */
	struct cfgnum nums;	/* numbers libconfig 1.5 did not keep as written */
};

/*
 * What a value may be. K_SECS is a duration in seconds that the daemon counts in milliseconds
 * or finer, so a value other than 0 must be at least SECS_MIN; K_RATE is a number per second,
 * likewise 0 or at least RATE_MIN, whose inverse the scheduler counts in microseconds. K_FILE
 * is a string naming a readable file, relative to the config.
 */
enum kind { K_BOOL, K_INT, K_SIZE, K_AGENT_ID, K_NUM, K_SECS, K_RATE, K_STR, K_FILE, K_GROUP,
	    K_LIST, K_ARRAY };

#define SECS_MIN 0.001
#define RATE_MIN 0.001

/* One key of a group: its type, its bounds, and where a scalar value is stored. */
struct key {
	const char *name;
	enum kind kind;
	bool required;
	double min, max;	/* numbers: max DBL_MAX is no upper bound; strings: max bytes, 0 for
				 * CFG_TEXT_MAX */
	bool store;
	size_t off;		/* with store: the field's offset in the destination struct */
};

#define AT(type, field) .store = true, .off = offsetof(type, field)

/* cfg.c: where settings are and how problems are recorded. */

/* Paths in the file are relative to its directory, like @include; returns a new string. */
char *cfg_resolve_path(const struct ctx *c, const char *path);
/* The file as messages name it, from libconfig's source file name (NULL: the main file). */
char *cfg_source_name(const struct ctx *c, const char *file);
/* Writes "outputs.webhooks[0].url" into buf; returns the length it wanted, like snprintf. */
size_t cfg_setting_path(const config_setting_t *s, char *buf, size_t size);
unsigned cfg_setting_line(const config_setting_t *s);
/* p with room for at least need elements of size bytes; *cap is updated. */
void *cfg_grow(void *p, size_t *cap, size_t need, size_t size);
/* Records "FILE:LINE: message"; line 0 stands for the file as a whole. */
void __attribute__((format(printf, 4, 5)))
cfg_report(struct ctx *c, const char *file, unsigned line, const char *fmt, ...);
/* A problem found at setting at. */
void __attribute__((format(printf, 3, 4)))
cfg_error_at(struct ctx *c, const config_setting_t *at, const char *fmt, ...);
/* A problem with setting s, whose path the message starts with. */
void __attribute__((format(printf, 3, 4)))
cfg_bad(struct ctx *c, const config_setting_t *s, const char *fmt, ...);

/* cfg_key.c: values checked against the key tables. */

/* An integer as written: libconfig 1.5 keeps 4294968395 as 1099 (see cfgnum.h). */
long long cfg_integer(const struct ctx *c, const config_setting_t *s);
/* Checks s against k and stores it at dst + k->off when k says so; false when reported. */
bool cfg_take(struct ctx *c, const config_setting_t *s, const struct key *k, void *dst);
/* Checks every member of group against keys; found[i] is the valid member for keys[i]. */
void cfg_check_group(struct ctx *c, const config_setting_t *group, const struct key *keys,
		     size_t nkeys, void *dst, const config_setting_t **found);
/* Checks that s holds kind k: the elements of lists and arrays, the members of labels. */
bool cfg_is_kind(struct ctx *c, const config_setting_t *s, enum kind k);
/* The value of the name s holds; reports it, with the choices, when the table lacks it. */
bool cfg_lookup_name(struct ctx *c, const config_setting_t *s, const struct name_value *table,
		     size_t n, const char *choices, int *value);
/* "a, b, c": name(0) to name(count - 1) joined for a message, cut to fit size. */
void cfg_join_names(char *buf, size_t size, const char *(*name)(int), int count);
bool cfg_in_list(const char *name, const char *const *list, size_t n,
		 int (*cmp)(const char *, const char *));
/* Printable ASCII, no spaces, and none of the characters in reject. */
bool cfg_visible_ascii(const char *s, const char *reject);
/* Checks the URL s holds; *hostport (new, may be NULL) is "host:port". */
bool cfg_check_url(struct ctx *c, const config_setting_t *s, bool path_ok, bool http_ok,
		   bool *https, char **hostport);
/* Checks one member of a group of strings; problem() judges its name and value. */
bool cfg_string_member(struct ctx *c, const config_setting_t *m,
		       const char *(*problem)(const char *name, const char *value, char *buf,
					      size_t size));

/* cfg_secret.c: secrets and files only their owner may read. */

/* A regular file only its owner may access, open; -1 when it is not one (reported). */
int cfg_open_private(struct ctx *c, const config_setting_t *at, const char *what,
		     const char *path);
/* A one-line secret from path, from util_secret_alloc, or NULL (reported). */
char *cfg_read_secret(struct ctx *c, const config_setting_t *at, const char *what,
		      const char *path, size_t *len);
/* The secret named by setting s, a path relative to the configuration's directory. */
char *cfg_secret_file(struct ctx *c, const config_setting_t *s, size_t *len);

/* The groups, each checked and stored into its struct. */
void cfg_parse_tls(struct ctx *c, const config_setting_t *s, struct cfg_tls *tls);
void cfg_parse_cms(struct ctx *c, const config_setting_t *s, struct cfg_cms *cms);
void cfg_parse_poll(struct ctx *c, const config_setting_t *s, struct cfg_poll *poll);
/* poll.agent_state's default depends on cms.api; poll is the poll group, NULL when absent. */
void cfg_default_agent_state(const config_setting_t *poll, struct cfg *cfg);
void cfg_parse_outputs(struct ctx *c, const config_setting_t *s, struct cfg_outputs *out);
void cfg_parse_agents(struct ctx *c, const config_setting_t *list, struct cfg *cfg);
void cfg_parse_http(struct ctx *c, const config_setting_t *s, struct cfg_http *http);

#endif
