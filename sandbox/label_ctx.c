/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The string side of labelling: contexts with a category pair, the policy's
 * virtual context files, pair names, record lines.  No system calls, so
 * every rule here is unit-tested from strings.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "sandbox/label.h"

char *label_with_mcs(const char *base, const char *level)
{
	const char *p = base;

	/* user, role, type: each non-empty; what follows is the level. */
	for (int field = 0; field < 3; field++) {
		size_t n = strcspn(p, ":");

		if (n == 0)
			return NULL;
		p += n;
		if (field < 2) {
			if (*p != ':')
				return NULL;
			p++;
		}
	}
	return xasprintf("%.*s:%s", (int)(p - base), base, level);
}

void label_mcs_level(unsigned x, unsigned y, char *buf, size_t len)
{
	snprintf(buf, len, "s0:c%u,c%u", x, y);
}

void label_mcs_entry(unsigned x, unsigned y, char *buf, size_t len)
{
	snprintf(buf, len, "c%u,c%u", x, y);
}

/* "cN" with N a category number written the one way it is printed. */
static const char *parse_cat(const char *s, unsigned *out)
{
	unsigned v = 0;
	const char *p = s + 1;

	if (s[0] != 'c' || p[0] < '0' || p[0] > '9' ||
	    (p[0] == '0' && p[1] >= '0' && p[1] <= '9'))
		return NULL;
	for (; *p >= '0' && *p <= '9'; p++) {
		v = v * 10 + (unsigned)(*p - '0');
		if (v > LABEL_CAT_MAX)
			return NULL;
	}
	*out = v;
	return p;
}

int label_mcs_parse(const char *entry, unsigned *x, unsigned *y)
{
	const char *p = parse_cat(entry, x);

	if (!p || *p != ',')
		return -EINVAL;
	p = parse_cat(p + 1, y);
	if (!p || *p || *x >= *y)
		return -EINVAL;
	return 0;
}

/* Line number line (0-based) of text, blanks trimmed; NULL if empty. */
static char *nth_line(const char *text, unsigned line)
{
	const char *p = text, *end;

	while (line--) {
		p = strchr(p, '\n');
		if (!p)
			return NULL;
		p++;
	}
	end = strchrnul(p, '\n');
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	while (end > p && (end[-1] == ' ' || end[-1] == '\t' ||
			   end[-1] == '\r'))
		end--;
	return end > p ? xstrndup(p, (size_t)(end - p)) : NULL;
}

/* A context's shape: three non-empty fields before the rest, no blank. */
static bool context_shape_ok(const char *s)
{
	char *c = label_with_mcs(s, "s0");
	bool ok = c != NULL && strcspn(s, " \t") == strlen(s);

	free(c);
	return ok;
}

int label_parse_domain(const char *text, char **domain)
{
	char *d = nth_line(text, 0);

	if (!d || !context_shape_ok(d)) {
		free(d);
		return -EINVAL;
	}
	*domain = d;
	return 0;
}

int label_parse_image(const char *text, char **image, char **content)
{
	char *i = nth_line(text, 0), *c = nth_line(text, 1);

	if (!i || !c || !context_shape_ok(i) || !context_shape_ok(c)) {
		free(i);
		free(c);
		return -EINVAL;
	}
	*image = i;
	*content = c;
	return 0;
}

bool label_guest_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9');

		if (!alnum && (i == 0 || !strchr("_.-", c)))
			return false;
	}
	return true;
}

/* Bytes that would break a line's fields; written as \ooo. */
static bool needs_escape(unsigned char c)
{
	return c <= ' ' || c == '\\' || c >= 0x7f;
}

char *label_list_line(dev_t dev, ino_t ino, const char *path)
{
	size_t n = strlen(path);
	char *esc = xmalloc(n * 4 + 1), *o = esc;

	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		if (needs_escape(*p))
			o += sprintf(o, "\\%03o", *p);
		else
			*o++ = (char)*p;
	}
	*o = '\0';
	o = xasprintf("%" PRIuMAX " %" PRIuMAX " %s\n", (uintmax_t)dev,
		      (uintmax_t)ino, esc);
	free(esc);
	return o;
}

static int parse_u64(const char **s, uintmax_t *out)
{
	const char *p = *s;
	uintmax_t v = 0;

	if (*p < '0' || *p > '9')
		return -EINVAL;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (v > (UINTMAX_MAX - 9) / 10)
			return -EINVAL;
		v = v * 10 + (uintmax_t)(*p - '0');
	}
	*s = p;
	*out = v;
	return 0;
}

int label_list_parse(const char *line, dev_t *dev, ino_t *ino, char **path)
{
	const char *p = line;
	uintmax_t d, i;
	char *out, *o;

	if (parse_u64(&p, &d) < 0 || *p++ != ' ' || parse_u64(&p, &i) < 0 ||
	    *p++ != ' ' || *p != '/')
		return -EINVAL;
	out = o = xmalloc(strlen(p) + 1);
	for (; *p; p++) {
		unsigned v = 0;

		if (needs_escape((unsigned char)*p) && *p != '\\')
			goto bad;
		if (*p != '\\') {
			*o++ = *p;
			continue;
		}
		for (int k = 1; k <= 3; k++) {
			if (p[k] < '0' || p[k] > '7')
				goto bad;
			v = v * 8 + (unsigned)(p[k] - '0');
		}
		if (v == 0 || v > 0xff)
			goto bad;
		*o++ = (char)v;
		p += 3;
	}
	*o = '\0';
	*dev = (dev_t)d;
	*ino = (ino_t)i;
	*path = out;
	return 0;
bad:
	free(out);
	return -EINVAL;
}
