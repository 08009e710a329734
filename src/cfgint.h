/*
 * cfgint: every integer of a configuration as written. libconfig 1.5 keeps an integer without
 * an L suffix in 32 bits (4294968395 becomes 1099, 0x10000044C becomes 1100) and saturates
 * longer ones; this module reads the files again to tell which settings lost their value.
 */
#ifndef AW_CFGINT_H
#define AW_CFGINT_H

#include <stddef.h>

#include <libconfig.h>

/* An integer setting whose written value libconfig did not keep. */
struct cfgint_literal {
	const config_setting_t *setting;
	char *text;		/* as written (at most CFGINT_TEXT_MAX bytes, then "...") */
	long long value;	/* the written value, saturated at LLONG_MIN/LLONG_MAX */
	double number;		/* the written value as the nearest double */
};

#define CFGINT_TEXT_MAX 40

struct cfgint {
	struct cfgint_literal *lost;	/* sorted by setting, for cfgint_find */
	size_t nlost, lostcap;
	/* The first integer setting the file's text does not explain (a scanner disagreement,
	 * or a file changed while it was read); NULL normally. */
	const config_setting_t *unmatched;
};

/*
 * Pairs every integer setting under root, in file order, with its text in the file it came
 * from and fills ci, which must be zeroed; free it with cfgint_free. main_path is the file
 * given to libconfig, include_dir its include directory (libconfig 1.5 names an included file
 * as written and opens include_dir/name).
 */
void cfgint_scan(struct cfgint *ci, const config_setting_t *root, const char *main_path,
		 const char *include_dir);

/* The setting's written value when libconfig did not keep it; NULL when it did. */
const struct cfgint_literal *cfgint_find(const struct cfgint *ci, const config_setting_t *s);

void cfgint_free(struct cfgint *ci);

#endif
