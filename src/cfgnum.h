/*
 * cfgnum: every number of a configuration as written. libconfig 1.5 keeps an integer without
 * an L suffix in 32 bits (4294968395 becomes 1099, 0x10000044C becomes 1100), saturates longer
 * ones, and turns a float below the smallest double into 0; this module reads the files again
 * to tell which settings lost their value.
 */
#ifndef AW_CFGNUM_H
#define AW_CFGNUM_H

#include <stddef.h>

#include <libconfig.h>

/* A number setting whose written value libconfig did not keep. */
struct cfgnum_literal {
	const config_setting_t *setting;
	char *text;		/* as written (at most CFGNUM_TEXT_MAX bytes, then "...") */
	long long value;	/* integers: the written value, saturated at LLONG_MIN/LLONG_MAX */
	double number;		/* the written value as the nearest double; a float too small for
				 * a double is the smallest of its sign, never 0 */
};

#define CFGNUM_TEXT_MAX 40

struct cfgnum {
	struct cfgnum_literal *lost;	/* sorted by setting, for cfgnum_find */
	size_t nlost, lostcap;
	/* The first number setting the file's text does not explain (a scanner disagreement,
	 * or a file changed while it was read); NULL normally. */
	const config_setting_t *unmatched;
};

/*
 * Pairs every integer and float setting under root, in file order, with its text in the file
 * it came from and fills ci, which must be zeroed; free it with cfgnum_free. main_path is the file
 * given to libconfig, include_dir its include directory (libconfig 1.5 names an included file
 * as written and opens include_dir/name).
 */
void cfgnum_scan(struct cfgnum *ci, const config_setting_t *root, const char *main_path,
		 const char *include_dir);

/* The setting's written value when libconfig did not keep it; NULL when it did. */
const struct cfgnum_literal *cfgnum_find(const struct cfgnum *ci, const config_setting_t *s);

void cfgnum_free(struct cfgnum *ci);

#endif
