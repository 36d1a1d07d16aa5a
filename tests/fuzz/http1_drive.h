/* The driver both HTTP/1 harnesses share: feed the input in pieces, pick a
 * body mode per message, use every helper on each head, and check that
 * what a proxy would forward is exactly what came in. */
#ifndef MCPF_FUZZ_HTTP1_DRIVE_H
#define MCPF_FUZZ_HTTP1_DRIVE_H

#include "fuzz.h"
#include "http1.h"

static void fuzz_http1_head(const struct http1_msg *m)
{
	struct bytebuf out = BYTEBUF_INIT;
	char path[512];
	const char *v;
	size_t vlen;

	if (!(m->head_len >= 4 && !memcmp(m->head + m->head_len - 4, "\r\n\r\n", 4))) { fprintf(stderr, "HEAD[%.*s]\n", (int)m->head_len, m->head); abort(); }
	(void)http1_find_header(m, "content-type", &v, &vlen);
	(void)http1_content_type_is(m, "application/json");
	if (m->target)
		(void)http1_normalized_path(m, path, sizeof(path));
	if (http1_head_rebuild(m, (int64_t)m->body_len, true, &out) == 0)
		FUZZ_ASSERT(out.len >= 4 && !memcmp(out.data + out.len - 4, "\r\n\r\n", 4));
	bb_reset(&out);
	(void)http1_head_rebuild(m, -1, false, &out);
	bb_free(&out);
}

/* mode_bits picks the body mode of each message in turn (2 bits each).
 * Checked: the head and the forwarded body bytes are the input, in order,
 * with nothing left out but empty lines between messages. */
static void fuzz_http1_drive(struct http1_parser *p, const uint8_t *in, size_t len, uint8_t step_seed,
			     uint32_t mode_bits)
{
	size_t off = 0, pos = 0, body_start = 0, msgs = 0;
	enum http1_body_mode mode = HTTP1_BODY_STREAM;
	bool stop = false;

	while (off < len && !stop) {
		size_t piece = fuzz_step(step_seed, len - off);
		const char *data = (const char *)in + off;

		off += piece;
		for (unsigned guard = 0;; guard++) {
			size_t used = 0;
			enum http1_status st = http1_feed(p, data, piece, &used);
			const struct http1_msg *m = http1_msg(p);
			size_t at = off - piece + used; /* input consumed once this status is acted on */

			FUZZ_ASSERT(used <= piece);
			FUZZ_ASSERT(guard < 100000);
			data += used;
			piece -= used;
			if (st == HTTP1_ERROR) {
				FUZZ_ASSERT(http1_error(p) != HTTP1_E_NONE);
				int status = http1_error_status(http1_error(p));
				FUZZ_ASSERT(status >= 400 && status < 600);
				(void)http1_error_text(p);
				stop = true;
				break;
			}
			if (st == HTTP1_NEED_MORE) {
				FUZZ_ASSERT(piece == 0);
				break;
			}
			if (st == HTTP1_HEAD) {
				fuzz_http1_head(m);
				FUZZ_ASSERT(m->head_len <= at - pos && !memcmp(m->head, in + at - m->head_len, m->head_len));
				for (size_t i = pos; i < at - m->head_len; i++)
					FUZZ_ASSERT(in[i] == '\r' || in[i] == '\n');
				pos = body_start = at;
				mode = (enum http1_body_mode)((mode_bits >> (2 * (msgs++ % 16))) & 3) % 3;
				if (http1_set_body_mode(p, mode) < 0) {
					stop = true;
					break;
				}
			} else if (st == HTTP1_BODY || (st == HTTP1_MESSAGE_END && mode == HTTP1_BODY_STREAM)) {
				FUZZ_ASSERT(mode == HTTP1_BODY_STREAM);
				FUZZ_ASSERT(!used || (const uint8_t *)data - used == in + pos);
				pos += used;
			} else if (st == HTTP1_SSE_EVENT) {
				const struct sse_event *ev = http1_event(p);
				FUZZ_ASSERT(ev->raw_len > 0 || !ev->complete);
			} else if (st == HTTP1_MESSAGE_END) {
				if (mode == HTTP1_BODY_BUFFER) {
					FUZZ_ASSERT(m->raw_body_len == at - body_start);
					FUZZ_ASSERT(!m->raw_body_len || !memcmp(m->raw_body, in + body_start, m->raw_body_len));
					if (m->framing != HTTP1_FRAMING_CHUNKED)
						FUZZ_ASSERT(m->body_len == m->raw_body_len);
				}
				pos = at;
			}
		}
	}
	for (unsigned guard = 0; !stop; guard++) {
		enum http1_status st = http1_feed_eof(p);
		FUZZ_ASSERT(guard < 1000);
		stop = st == HTTP1_CLOSED || st == HTTP1_ERROR;
	}
}

#endif
