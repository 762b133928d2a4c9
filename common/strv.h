/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_COMMON_STRV_H
#define VS_COMMON_STRV_H

#include <stddef.h>

/* A growable NULL-terminated vector of owned strings (argv, lists). */
struct strv {
	char **v;
	size_t n;
	size_t cap;
};

#define STRV_INIT { NULL, 0, 0 }

void strv_push(struct strv *s, const char *str);
void strv_pushf(struct strv *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Takes ownership of str. */
void strv_push_take(struct strv *s, char *str);
void strv_free(struct strv *s);
/* Returns the NULL-terminated array and leaves s empty. */
char **strv_steal(struct strv *s);
/* Frees a NULL-terminated array of strings. */
void strv_free_array(char **v);
size_t strv_array_len(char *const *v);

#endif
