/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common/strv.h"
#include "common/xalloc.h"
#include "conf/config.h"

/*
 * The word being built.  "started" is separate from len because '' is a
 * word of its own: an empty argument the user asked for.
 */
struct word {
	char *buf;
	size_t len;
	size_t cap;
	bool started;
};

static void put(struct word *w, char c)
{
	if (w->len + 2 > w->cap) {
		w->cap = w->cap ? w->cap * 2 : 64;
		w->buf = xrealloc(w->buf, w->cap);
	}
	w->buf[w->len++] = c;
	w->started = true;
}

static void finish(struct word *w, struct strv *out)
{
	strv_push_take(out, xstrndup(w->buf ? w->buf : "", w->len));
	w->len = 0;
	w->started = false;
}

/*
 * Only quoting is done.  Nothing is expanded or treated as an operator:
 * $HOME, *, ~, ;, | and # are ordinary characters, since no shell runs and
 * QEMU must get exactly the bytes written in the file.
 */
int shell_split(const char *s, struct strv *words, struct vs_err *err)
{
	struct strv out = STRV_INIT;
	struct word w = { 0 };
	char quote = 0;
	size_t n;
	int r;

	for (const char *p = s;; p++) {
		char c = *p;

		if (quote == '\'') {
			if (!c)
				goto unterminated;
			if (c == '\'')
				quote = 0;
			else
				put(&w, c);
			continue;
		}
		if (quote == '"') {
			if (!c)
				goto unterminated;
			if (c == '"') {
				quote = 0;
			} else if (c == '\\' && p[1] &&
				   strchr("\"\\$`\n", p[1])) {
				/* Backslash-newline joins lines: both go. */
				if (*++p != '\n')
					put(&w, *p);
			} else {
				/* POSIX: before anything else it is literal. */
				put(&w, c);
			}
			continue;
		}
		if (!c)
			break;
		if (c == ' ' || c == '\t') {
			if (w.started)
				finish(&w, &out);
		} else if (c == '\'' || c == '"') {
			quote = c;
			w.started = true;
		} else if (c == '\\') {
			/* A shell would wait for more input; we have none. */
			if (!p[1]) {
				r = vs_errf(err, EINVAL,
					    "backslash at the end escapes nothing");
				goto fail;
			}
			if (*++p != '\n')
				put(&w, *p);
		} else {
			put(&w, c);
		}
	}
	if (w.started)
		finish(&w, &out);
	free(w.buf);

	/* Only now: on error the caller's vector is left as it was. */
	n = out.n;
	for (size_t i = 0; i < n; i++)
		strv_push_take(words, out.v[i]);
	free(out.v);
	return (int)n;

unterminated:
	r = vs_errf(err, EINVAL, "unterminated %s quote (%c)",
		    quote == '"' ? "double" : "single", quote);
fail:
	free(w.buf);
	strv_free(&out);
	return r;
}
