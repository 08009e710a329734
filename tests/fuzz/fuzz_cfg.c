/* fuzz_cfg: libFuzzer target for the configuration loader (any file an operator can write). */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "../../src/cfg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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
	return 0;
}
