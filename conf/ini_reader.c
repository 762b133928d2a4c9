/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "common/xalloc.h"
#include "conf/internal.h"

static const char bom[] = "\xef\xbb\xbf";

/*
 * isspace() in the C locale minus '\n', which never occurs inside a line.
 * inih trims with isspace(); we must strip at least what it would, or a
 * leading byte it counts as blank would turn our line into a continuation
 * of the previous key.
 */
static bool ini_space(char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

void ini_reader_init(struct ini_reader *r, const char *file, const char *buf,
		     size_t len, struct vs_err *err, ini_section_fn on_section,
		     void *user)
{
	memset(r, 0, sizeof(*r));
	r->file = file;
	r->buf = buf;
	r->len = len;
	r->err = err;
	r->on_section = on_section;
	r->user = user;
}

static int record(struct ini_reader *r, unsigned line, const char *fmt,
		  va_list ap) __attribute__((format(printf, 3, 0)));

static int record(struct ini_reader *r, unsigned line, const char *fmt,
		  va_list ap)
{
	char msg[sizeof(r->err->msg)];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	vs_errf(r->err, EINVAL, "%s", msg);
	if (line)
		vs_err_ctx(r->err, "%s:%u", r->file, line);
	else
		vs_err_ctx(r->err, "%s", r->file);
	r->failed = true;
	r->fail_line = line;
	return -EINVAL;
}

int ini_fail(struct ini_reader *r, unsigned line, const char *fmt, ...)
{
	va_list ap;

	if (r->failed)
		return -EINVAL;
	va_start(ap, fmt);
	record(r, line, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* An error found later but on an earlier line wins over the recorded one. */
static void fail_earlier(struct ini_reader *r, unsigned line,
			 const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail_earlier(struct ini_reader *r, unsigned line,
			 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	record(r, line, fmt, ap);
	va_end(ap);
}

/* Copies at most num - 1 bytes and terminates, as fgets() would. */
static char *hand(char *str, int num, const char *s, size_t len)
{
	if (len > (size_t)num - 1)
		len = (size_t)num - 1;
	memcpy(str, s, len);
	str[len] = '\0';
	return str;
}

static char *section_line(struct ini_reader *r, char *str, int num,
			  const char *p, const char *end)
{
	const char *close = memchr(p, ']', (size_t)(end - p));
	const char *q;
	size_t n;

	/*
	 * No ']': inih reports it.  A cut-off copy is as unclosed as the
	 * whole line, so cutting cannot change inih's answer.
	 */
	if (!close)
		return hand(str, num, p, (size_t)(end - p));

	n = (size_t)(close - p - 1);
	if (n > INI_SECTION_MAX) {
		ini_fail(r, r->line,
			 "section name too long (more than %d bytes)",
			 INI_SECTION_MAX);
		return NULL;
	}
	/* inih ignores whatever follows ']'; we only allow a comment. */
	for (q = close + 1; q < end && ini_space(*q); q++)
		;
	if (q < end && *q != ';') {
		ini_fail(r, r->line,
			 "syntax error: text after ']' in section header");
		return NULL;
	}
	if (snprintf(str, (size_t)num, "[%.*s]", (int)n, p + 1) >= num) {
		ini_fail(r, r->line, "section name too long");
		return NULL;
	}
	memcpy(r->section, p + 1, n);
	r->section[n] = '\0';
	if (r->on_section(r->user, r->section, r->line) < 0)
		return NULL;
	return str;
}

static char *key_line(struct ini_reader *r, char *str, int num,
		      const char *p, const char *end)
{
	const char *sep = p;
	size_t klen;

	/*
	 * inih splits at the first '=' or ':' (name:value is its concession
	 * to Python's configparser); we must split where it does.
	 */
	while (sep < end && *sep != '=' && *sep != ':')
		sep++;
	if (sep == end)
		return hand(str, num, p, (size_t)(end - p));

	klen = (size_t)(sep - p);
	while (klen && ini_space(p[klen - 1]))
		klen--;
	if (klen > INI_KEY_MAX ||
	    snprintf(str, (size_t)num, "%.*s%c@%u", (int)klen, p, *sep,
		     r->line) >= num) {
		ini_fail(r, r->line, "key too long (more than %d bytes)",
			 INI_KEY_MAX);
		return NULL;
	}
	r->pending = true;
	r->key = p;
	r->key_len = klen;
	r->val = sep + 1;
	r->val_len = (size_t)(end - sep - 1);
	return str;
}

static char *ini_reader_next(char *str, int num, void *stream)
{
	struct ini_reader *r = stream;
	const char *p, *end, *nl;

	/* A key line inih did not pass to the handler: it refused it. */
	if (r->pending) {
		r->pending = false;
		ini_fail(r, r->line, "syntax error: expected 'key = value'");
	}
	if (r->failed || r->pos >= r->len)
		return NULL;
	if (num < 2) {
		ini_fail(r, r->line + 1, "inih offers a %d-byte line buffer",
			 num);
		return NULL;
	}

	p = r->buf + r->pos;
	nl = memchr(p, '\n', r->len - r->pos);
	end = nl ? nl : r->buf + r->len;
	r->pos = nl ? (size_t)(nl - r->buf) + 1 : r->len;
	r->line++;

	if (end > p && end[-1] == '\r')
		end--;
	if (memchr(p, '\0', (size_t)(end - p))) {
		ini_fail(r, r->line, "NUL byte in line");
		return NULL;
	}
	if (end - p > INI_LINE_MAX) {
		ini_fail(r, r->line, "line longer than %d bytes", INI_LINE_MAX);
		return NULL;
	}
	if (r->line == 1 && end - p >= 3 && memcmp(p, bom, 3) == 0) {
		p += 3;
		/* inih would strip a second one and see a different line. */
		if (end - p >= 3 && memcmp(p, bom, 3) == 0) {
			ini_fail(r, r->line, "more than one byte order mark");
			return NULL;
		}
	}
	while (p < end && ini_space(*p))
		p++;

	if (p == end || *p == ';' || *p == '#')
		return hand(str, num, "", 0);
	if (*p == '[')
		return section_line(r, str, num, p, end);
	return key_line(r, str, num, p, end);
}

char *ini_reader_take(struct ini_reader *r, const char *section,
		      const char *name, const char *value)
{
	char token[16];
	const char *v, *e, *q;
	bool was_space = false;

	snprintf(token, sizeof(token), "@%u", r->line);
	if (!r->pending || !section || !name || !value ||
	    strcmp(section, r->section) != 0 ||
	    strlen(name) != r->key_len ||
	    memcmp(name, r->key, r->key_len) != 0 ||
	    strcmp(value, token) != 0) {
		r->pending = false;
		ini_fail(r, r->line,
			 "internal error: inih passed a line the reader did not hand it");
		return NULL;
	}
	r->pending = false;

	/* What inih does to a value, done here for values of any length. */
	v = r->val;
	e = r->val + r->val_len;
	for (q = v; q < e; q++) {
		if (was_space && *q == ';')
			break;
		was_space = ini_space(*q);
	}
	e = q;
	while (v < e && ini_space(*v))
		v++;
	while (e > v && ini_space(e[-1]))
		e--;
	return xstrndup(v, (size_t)(e - v));
}

/* Finds physical line n again to say what inih disliked about it. */
static void syntax_error(struct ini_reader *r, unsigned n)
{
	const char *p = r->buf, *end = r->buf + r->len;

	for (unsigned i = 1; i < n && p < end; i++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		p = nl ? nl + 1 : end;
	}
	if (n == 1 && end - p >= 3 && memcmp(p, bom, 3) == 0)
		p += 3;
	while (p < end && ini_space(*p))
		p++;
	if (p < end && *p == '[')
		fail_earlier(r, n,
			     "syntax error: section header without closing ']'");
	else
		fail_earlier(r, n, "syntax error: expected 'key = value'");
}

int ini_reader_run(struct ini_reader *r, ini_handler handler, void *user)
{
	int rc = ini_parse_stream(ini_reader_next, r, handler, user);

	/*
	 * inih keeps going after an error and returns the first line it
	 * disliked.  Our own first error stopped the reader, so any line
	 * inih names is at or before it; at the same line ours says more.
	 */
	if (rc > 0 && (!r->failed || (unsigned)rc < r->fail_line))
		syntax_error(r, (unsigned)rc);
	else if (rc < 0)
		ini_fail(r, 0, "inih failed (%d)", rc);
	return r->failed ? -EINVAL : 0;
}
