/* http1, agent -> daemon: request heads, framing, pipelining, body modes.
 * Input: [step seed][4 bytes of body-mode choices] request bytes... */
#include "http1_drive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http1_parser p;

	if (size < 5)
		return 0;
	uint32_t modes = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 |
			 (uint32_t)data[4] << 24;
	http1_init(&p, HTTP1_REQUEST, 64 << 10);
	fuzz_http1_drive(&p, data + 5, size - 5, data[0], modes);
	http1_free(&p);
	return 0;
}
