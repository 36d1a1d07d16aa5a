/* http1, server -> daemon: status lines, 1xx, HEAD/CONNECT answers, chunked,
 * close-delimited and SSE bodies. Input: [step seed][4 bytes of body-mode
 * choices][request methods: 8 x 2 bits] response bytes... */
#include "http1_drive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum http_method methods[4] = {HTTP_POST, HTTP_GET, HTTP_HEAD, HTTP_CONNECT};
	struct http1_parser p;

	if (size < 7)
		return 0;
	uint32_t modes = (uint32_t)data[1] | (uint32_t)data[2] << 8 | (uint32_t)data[3] << 16 |
			 (uint32_t)data[4] << 24;
	uint16_t asked = (uint16_t)(data[5] | data[6] << 8);
	http1_init(&p, HTTP1_RESPONSE, 64 << 10);
	for (int i = 0; i < 8; i++)
		(void)http1_expect_response(&p, methods[(asked >> (2 * i)) & 3]);
	fuzz_http1_drive(&p, data + 7, size - 7, data[0], modes);
	http1_free(&p);
	return 0;
}
