/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The guests using a relabelled file (trusted.vmseal.users, "g1,g2"): a
 * file goes back to its original context only when no running guest is
 * left in it.  Pure list logic; whether a guest runs is the caller's
 * question.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "sandbox/label.h"

int label_users_parse(const char *s, size_t len, struct strv *out)
{
	size_t i = 0;

	while (i < len) {
		size_t j = i;
		char *name;

		while (j < len && s[j] != ',')
			j++;
		name = xstrndup(s + i, j - i);
		/* A NUL inside, an empty element, or no guest name. */
		if (strlen(name) != j - i || !label_guest_name_ok(name)) {
			free(name);
			return -EINVAL;
		}
		if (label_users_has(out, name))
			free(name);
		else
			strv_push_take(out, name);
		if (j == len)
			break;
		i = j + 1;
		if (i == len)
			return -EINVAL; /* a trailing comma */
	}
	return 0;
}

char *label_users_join(const struct strv *v)
{
	size_t n = 1;
	char *s;

	for (size_t i = 0; i < v->n; i++)
		n += strlen(v->v[i]) + 1;
	s = xmalloc(n);
	s[0] = '\0';
	for (size_t i = 0; i < v->n; i++) {
		if (i)
			strcat(s, ",");
		strcat(s, v->v[i]);
	}
	return s;
}

bool label_users_has(const struct strv *v, const char *name)
{
	for (size_t i = 0; i < v->n; i++)
		if (strcmp(v->v[i], name) == 0)
			return true;
	return false;
}

void label_users_add(struct strv *v, const char *name)
{
	if (!label_users_has(v, name))
		strv_push(v, name);
}

size_t label_users_prune(struct strv *v, const char *self,
			 label_running_fn running, void *arg)
{
	size_t k = 0;

	for (size_t i = 0; i < v->n; i++) {
		if (strcmp(v->v[i], self) != 0 && running(arg, v->v[i]))
			v->v[k++] = v->v[i];
		else
			free(v->v[i]);
	}
	v->n = k;
	if (v->v)
		v->v[k] = NULL;
	return k;
}
