/* fuzz_reply: libFuzzer target for the CMS response parser (any bytes a network can send). */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "../../src/reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reply r;

	reply_parse((const char *)data, size, &r);
	return 0;
}
