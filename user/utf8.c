#include "utf8.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

size_t utf8_sequence(const unsigned char *s, size_t n, unsigned int *cp)
{
	unsigned int c, min;
	size_t len, i;

	if (n == 0)
		return 0;
	c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2; min = 0x80; c &= 0x1f;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3; min = 0x800; c &= 0x0f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4; min = 0x10000; c &= 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

int utf8_valid(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s), len;
	unsigned int cp;

	while (left) {
		len = utf8_sequence(p, left, &cp);
		if (!len)
			return 0;
		p += len;
		left -= len;
	}
	return 1;
}

char *utf8_sanitize_dup(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s), len, o = 0;
	unsigned int cp;
	char *out;

	/* each invalid byte grows to the 3 bytes of U+FFFD at most */
	if (left > (SIZE_MAX - 1) / 3)
		return NULL;
	out = malloc(left * 3 + 1);
	if (!out)
		return NULL;
	while (left) {
		len = utf8_sequence(p, left, &cp);
		if (len) {
			memcpy(out + o, p, len);
			o += len;
		} else {
			memcpy(out + o, UTF8_REPLACEMENT, 3);
			o += 3;
			len = 1;
		}
		p += len;
		left -= len;
	}
	out[o] = '\0';
	return out;
}

char *utf8_display(const char *s, char *out, size_t size)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t left = strlen(s), o = 0, len;
	unsigned int cp;

	while (left && o + 1 < size) {
		len = utf8_sequence(p, left, &cp);
		if (!len || cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
			out[o++] = '?';
			len = len ? len : 1;
		} else if (o + len < size) {
			memmove(out + o, p, len);  /* out may be s: never ahead of p */
			o += len;
		} else {
			break;
		}
		p += len;
		left -= len;
	}
	out[o] = '\0';
	return out;
}
