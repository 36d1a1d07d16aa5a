/* Resource URIs in the form every server reads them; see mcp_uri.h. */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "common.h"
#include "hex_digit.h"
#include "mcp_uri.h"

static const struct {
	const char *scheme, *port;
} specials[] = {
	{ "http", "80" }, { "https", "443" }, { "ws", "80" }, { "wss", "443" }, { "ftp", "21" }, { "file", NULL },
};

static int refuse(const char **why, const char *text)
{
	*why = text;
	return -EINVAL;
}

static bool is_alpha(unsigned char c)
{
	return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool unreserved(unsigned char c)
{
	return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Length of the scheme before its ':' (RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )), 0 when none. */
static size_t scheme_len(const char *s)
{
	size_t i = 0;

	if (!is_alpha((unsigned char)s[0]))
		return 0;
	/* (not strchr: it finds the terminating NUL too) */
	while (is_alpha((unsigned char)s[i]) || is_digit((unsigned char)s[i]) || s[i] == '+' || s[i] == '-' ||
	       s[i] == '.')
		i++;
	return s[i] == ':' ? i : 0;
}

/* The special scheme of s (of length n), or -1. */
static int special(const char *s, size_t n)
{
	for (size_t i = 0; i < ARRAY_SIZE(specials); i++)
		if (strlen(specials[i].scheme) == n && !strncasecmp(s, specials[i].scheme, n))
			return (int)i;
	return -1;
}

/* WHATWG reads a host whose last label (a trailing dot aside) is a number
 * (decimal, or hex after "0x") as an IPv4 address and rewrites it to
 * dotted decimal. */
static bool ends_in_number(const char *h, size_t n)
{
	size_t end = n && h[n - 1] == '.' ? n - 1 : n, start = end, i;

	while (start && h[start - 1] != '.')
		start--;
	if (start == end)
		return false;
	i = start;
	if (end - start >= 2 && h[start] == '0' && (h[start + 1] | 0x20) == 'x') {
		for (i = start + 2; i < end && hex_digit(h[i]) >= 0; i++)
			;
		return i == end;
	}
	while (i < end && is_digit((unsigned char)h[i]))
		i++;
	return i == end;
}

/* Exactly "a.b.c.d", each 0-255 in decimal without leading zeros: the form WHATWG writes. */
static bool dotted_decimal(const char *h, size_t n)
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		size_t start;
		unsigned v = 0;

		if (part && (i >= n || h[i++] != '.'))
			return false;
		start = i;
		while (i < n && is_digit((unsigned char)h[i]) && i - start < 3)
			v = v * 10 + (unsigned)(h[i++] - '0');
		if (i == start || (i - start > 1 && h[start] == '0') || v > 255)
			return false;
	}
	return i == n;
}

/* The authority after "//", [a, a + n), of any scheme: refused if WHATWG
 * would rewrite it (sp: the special scheme, or -1). */
static int check_authority(int sp, const char *a, size_t n, const char **why)
{
	const char *colon = memchr(a, ':', n);
	size_t hn = colon ? (size_t)(colon - a) : n;

	if (memchr(a, '@', n))
		return refuse(why, "the resource URI names a user (servers drop an empty one)");
	if (memchr(a, '[', n))
		return refuse(why, "the resource URI's host is an IPv6 literal (servers rewrite it)");
	if (colon) {
		const char *port = colon + 1, *def = sp >= 0 ? specials[sp].port : NULL;
		size_t pn = (size_t)(a + n - port);

		for (size_t i = 0; i < pn; i++)
			if (!is_digit((unsigned char)port[i]))
				return refuse(why, "the resource URI's port is not a number");
		if (!pn || port[0] == '0' || (def && pn == strlen(def) && !strncmp(port, def, pn)))
			return refuse(why, "the resource URI's port is empty, has a leading zero or is its "
				      "scheme's default (servers drop or rewrite it)");
	}
	if (sp < 0)
		return 0;
	for (size_t i = 0; i < hn; i++) {
		unsigned char c = (unsigned char)a[i];

		if (c >= 'A' && c <= 'Z')
			return refuse(why, "the resource URI's host has upper case (servers lowercase it)");
		if (c == '%' || c >= 0x80)
			return refuse(why, "the resource URI's host is percent-encoded or not ASCII (servers rewrite it)");
	}
	if (!hn && strcmp(specials[sp].scheme, "file"))
		return refuse(why, "the resource URI has an empty host (servers take the path's first segment)");
	if (ends_in_number(a, hn) && !dotted_decimal(a, hn))
		return refuse(why, "the resource URI's host is a number not in dotted-decimal form (servers rewrite it)");
	if (!strcmp(specials[sp].scheme, "file") && hn == strlen("localhost") && !strncmp(a, "localhost", hn))
		return refuse(why, "file://localhost/ names the same file as file:/// (servers drop the host)");
	return 0;
}

int mcp_uri_match_form(const char *uri, char *form, size_t cap, const char **why)
{
	size_t len = strlen(uri), sn = scheme_len(uri), o = 0, seg, path0;
	const char *p, *end = uri + len;
	bool in_query = false;
	int sp;

	if (cap < len + 1)
		return -ENOSPC;
	if (!sn)
		return refuse(why, "the resource URI has no scheme");
	for (size_t i = 0; i < sn; i++)
		if (uri[i] >= 'A' && uri[i] <= 'Z')
			return refuse(why, "the resource URI's scheme has upper case (servers lowercase it)");
	if (uri[len - 1] == ' ')
		return refuse(why, "the resource URI ends with a space (servers trim it)");
	for (p = uri; p < end; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c == 0x7f)
			return refuse(why, "the resource URI has a control character (servers delete or trim it)");
		if (c == '\\')
			return refuse(why, "the resource URI has a '\\' (servers read it as '/')");
		if (c == '#')
			return refuse(why, "the resource URI has a fragment");
	}
	p = uri + sn + 1;
	sp = special(uri, sn);
	if (sp >= 0 && strncmp(p, "//", 2))
		return refuse(why, "the resource URI's scheme needs \"//\" (servers add it)");
	memcpy(form, uri, sn + 1);
	o = sn + 1;
	if (!strncmp(p, "//", 2)) {
		const char *a = p + 2, *a_end = a;

		while (a_end < end && *a_end != '/' && *a_end != '?')
			a_end++;
		if (check_authority(sp, a, (size_t)(a_end - a), why))
			return -EINVAL;
		if (sp >= 0 && (a_end == end || *a_end != '/'))
			return refuse(why, "the resource URI has an empty path (servers make it \"/\")");
		/* the authority as it is (no '%' in a special one; a non-special
		 * one is not decoded by anyone): the path's segments follow */
		memcpy(form + o, p, (size_t)(a_end - p));
		o += (size_t)(a_end - p);
		p = a_end;
	}
	seg = path0 = o;
	for (; p <= end; p++) {
		unsigned char c = p < end ? (unsigned char)*p : 0;

		/* a segment ends: "." and ".." are resolved by some readers, not
		 * others; an empty one inside the path ("/etc//x") by the kernel */
		if (!in_query && (p == end || c == '/' || c == '?')) {
			size_t n = o - seg;

			if ((n == 1 && form[seg] == '.') || (n == 2 && form[seg] == '.' && form[seg + 1] == '.'))
				return refuse(why, "the resource URI has a \".\" or \"..\" segment (servers resolve it)");
			if (!n && c == '/' && seg != path0)   /* (not the path's leading '/') */
				return refuse(why, "the resource URI has an empty path segment (\"//\": file systems "
					      "read it as one '/')");
			seg = o + 1;
			in_query = c == '?';
		}
		if (p == end)
			break;
		if (c == '%') {
			/* the text ends in a NUL: p[1] and p[2] stop there */
			int hi = hex_digit(p[1]), lo = hi >= 0 ? hex_digit(p[2]) : -1;
			unsigned char d;

			if (hi < 0 || lo < 0)
				return refuse(why, "the resource URI has a '%' not followed by two hex digits");
			d = (unsigned char)(hi << 4 | lo);
			if (unreserved(d))
				return refuse(why, "the resource URI percent-encodes a letter, digit or \"-._~\" "
					      "(servers decode it)");
			if (d < 0x20 || d == 0x7f || strchr("/\\%?#", d))
				return refuse(why, "the resource URI percent-encodes a character that changes "
					      "what it names once decoded");
			c = d;
			p += 2;
		}
		form[o++] = (char)c;
	}
	form[o] = 0;
	return 0;
}

int mcp_uri_pattern_form(const char *pattern, char *out, size_t cap)
{
	size_t sn = scheme_len(pattern), o = 0, host_end = 0;
	int sp = sn ? special(pattern, sn) : -1;

	if (sp >= 0 && !strncmp(pattern + sn + 1, "//", 2))
		for (host_end = sn + 3; pattern[host_end] && pattern[host_end] != '/'; host_end++)
			;
	for (size_t i = 0; pattern[i]; i++) {
		char c = pattern[i];
		int hi, lo;

		if (c == '%' && (hi = hex_digit(pattern[i + 1])) >= 0 && (lo = hex_digit(pattern[i + 2])) >= 0 &&
		    (hi || lo)) {
			c = (char)(hi << 4 | lo);
			i += 2;
			if (c && strchr("*?[]\\", c)) {
				if (o + 1 >= cap)
					return -ENOSPC;
				out[o++] = '\\';
			}
		} else if (i < sn || i < host_end) {
			c = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
		}
		if (o + 1 >= cap)
			return -ENOSPC;
		out[o++] = c;
	}
	if (o >= cap)
		return -ENOSPC;
	out[o] = 0;
	return 0;
}
