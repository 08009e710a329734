/* fuzz_replybatch: libFuzzer target for both batch answer parsers (calls and states). */
#include "config.h"

#include <stddef.h>
#include <stdint.h>

#include "../../src/replybatch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Sorted, as the poller asks; includes the ids of the seeds. */
static const uint32_t asked[] = { 1, 2, 1031, 1034, 1099, 70000 };

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const size_t n = sizeof(asked) / sizeof(asked[0]);
	struct replybatch b;

	replybatch_parse_calls((const char *)data, size, asked, n, &b);
	for (size_t i = 0; i < b.nentries; i++)
		(void)replybatch_find_calls(&b, b.calls[i].agent_id);
	replybatch_free(&b);
	replybatch_parse_states((const char *)data, size, asked, n, &b);
	for (size_t i = 0; i < b.nentries; i++)
		(void)replybatch_find_state(&b, b.states[i].agent_id);
	replybatch_free(&b);
	return 0;
}
