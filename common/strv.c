/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stdlib.h>

#include "common/strv.h"
#include "common/xalloc.h"

void strv_push_take(struct strv *s, char *str)
{
	if (s->n + 2 > s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->v = xreallocarray(s->v, s->cap, sizeof(*s->v));
	}
	s->v[s->n++] = str;
	s->v[s->n] = NULL;
}

void strv_push(struct strv *s, const char *str)
{
	strv_push_take(s, xstrdup(str));
}

void strv_pushf(struct strv *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	strv_push_take(s, xvasprintf(fmt, ap));
	va_end(ap);
}

void strv_free(struct strv *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	s->v = NULL;
	s->n = s->cap = 0;
}

char **strv_steal(struct strv *s)
{
	char **v = s->v;

	if (!v)
		v = xcalloc(1, sizeof(*v));
	s->v = NULL;
	s->n = s->cap = 0;
	return v;
}

void strv_free_array(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

size_t strv_array_len(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}
