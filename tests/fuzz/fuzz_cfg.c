/* fuzz_cfg: libFuzzer target for the configuration loader (any file an operator can write). */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libconfig.h>

#include "../../src/cfg.h"
#include "../../src/cfgnum.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* cfgnum's scanner must find every number libconfig parsed: a miss is a bug in it. */
static void check_integers(const char *path)
{
	struct cfgnum ci = { 0 };
	config_t lc;

	config_init(&lc);
	config_set_include_dir(&lc, "/tmp");
	if (config_read_file(&lc, path)) {
		cfgnum_scan(&ci, config_root_setting(&lc), path, "/tmp");
		if (ci.unmatched)
			abort();
		cfgnum_free(&ci);
	}
	config_destroy(&lc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[64];
	FILE *f, *errors = fopen("/dev/null", "w");

	if (!path[0])
		snprintf(path, sizeof(path), "/tmp/fuzz_cfg.%d.conf", (int)getpid());
	f = fopen(path, "w");
	fwrite(data, 1, size, f);
	fclose(f);
	cfg_free(cfg_load(path, errors, NULL));
	fclose(errors);
	/* libconfig 1.5 exits on some NUL bytes and on @include of a directory; cfg_load checks
	 * for those first, this direct read only takes inputs without either. */
	if (!memchr(data, '\0', size) && !memchr(data, '@', size))
		check_integers(path);
	return 0;
}
