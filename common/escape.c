/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "common/escape.h"
#include "common/xalloc.h"

/*
 * Length of the well-formed UTF-8 sequence at s (2-4), 0 if there is
 * none; *cp receives the code point.
 */
static size_t utf8_seq(const unsigned char *s, size_t len, uint32_t *cp)
{
	size_t n;
	uint32_t c, min;

	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2, c = s[0] & 0x1f, min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3, c = s[0] & 0x0f, min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4, c = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Well-formed, but acted on by terminals or reordering what follows. */
static bool cp_dangerous(uint32_t c)
{
	return (c >= 0x80 && c <= 0x9f) || c == 0x2028 || c == 0x2029 ||
	       c == 0x200e || c == 0x200f || (c >= 0x202a && c <= 0x202e) ||
	       (c >= 0x2066 && c <= 0x2069);
}

char *vs_escape_n(const char *s, size_t len, char *out, size_t outsz)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	size_t o = 0, i = 0, nb = 0;
	/* Where the last units began: a cut never splits one. */
	size_t bound[4] = { 0 };

	if (!outsz)
		return out;
	while (i < len) {
		char tmp[16];
		size_t t = 0, adv = 1, n;
		uint32_t cp;

		if (p[i] == '\\') {
			tmp[t++] = '\\', tmp[t++] = '\\';
		} else if (p[i] == '\n') {
			tmp[t++] = '\\', tmp[t++] = 'n';
		} else if (p[i] == '\r') {
			tmp[t++] = '\\', tmp[t++] = 'r';
		} else if (p[i] == '\t') {
			tmp[t++] = '\\', tmp[t++] = 't';
		} else if (p[i] >= 0x20 && p[i] < 0x7f) {
			tmp[t++] = (char)p[i];
		} else if (p[i] >= 0x80 && (n = utf8_seq(p + i, len - i, &cp)) &&
			   !cp_dangerous(cp)) {
			memcpy(tmp, p + i, n);
			t = adv = n;
		} else {
			n = p[i] >= 0x80 ? utf8_seq(p + i, len - i, &cp) : 0;
			adv = n ? n : 1;
			for (size_t k = 0; k < adv; k++) {
				tmp[t++] = '\\', tmp[t++] = 'x';
				tmp[t++] = hex[p[i + k] >> 4];
				tmp[t++] = hex[p[i + k] & 0xf];
			}
		}
		if (o + t + 1 > outsz) {
			/*
			 * Back to the end of a whole unit that leaves room
			 * for "..." (each unit is at least one byte, so at
			 * most three units back).
			 */
			size_t k = 0;

			while (o + 4 > outsz && k < 4 && o > 0)
				o = bound[(nb - ++k) & 3];
			if (o + 4 > outsz)
				o = 0;
			if (o + 4 <= outsz) {
				memcpy(out + o, "...", 3);
				o += 3;
			}
			break;
		}
		bound[nb++ & 3] = o;
		memcpy(out + o, tmp, t);
		o += t;
		i += adv;
	}
	out[o] = '\0';
	return out;
}

char *vs_escape(const char *s, char *out, size_t outsz)
{
	if (!s)
		s = "(null)";
	return vs_escape_n(s, strlen(s), out, outsz);
}

char *vs_escape_dup(const char *s)
{
	size_t len;
	char *out;

	if (!s)
		s = "(null)";
	len = strlen(s);
	out = xmalloc(VS_ESCAPE_SIZE(len));
	return vs_escape_n(s, len, out, VS_ESCAPE_SIZE(len));
}

const char *vs_quote_ascii(char *dst, size_t size, const char *src)
{
	size_t o = 0;

	for (const unsigned char *p = (const unsigned char *)src; *p; p++) {
		char tmp[5];
		size_t n = 1;

		if (*p >= 0x20 && *p < 0x7f && *p != '\\' && *p != '\'')
			tmp[0] = (char)*p;
		else
			n = (size_t)snprintf(tmp, sizeof(tmp), "\\x%02x", *p);
		/* Keep room for "..." and the NUL. */
		if (o + n + 4 > size) {
			memcpy(dst + o, "...", 4);
			return dst;
		}
		memcpy(dst + o, tmp, n);
		o += n;
	}
	dst[o] = '\0';
	return dst;
}
