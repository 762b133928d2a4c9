/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_COMMON_XALLOC_H
#define VS_COMMON_XALLOC_H

#include <stddef.h>

/*
 * Allocation that cannot fail: a launcher that runs out of memory while
 * setting up a sandbox has nothing sensible to fall back to, so these abort
 * (before anything is executed) instead of threading -ENOMEM through every
 * string copy.
 */
void *xmalloc(size_t n);
void *xzalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
#include <stdarg.h>
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

#endif
