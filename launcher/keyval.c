/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "launcher/keyval.h"

static void push(struct keyval *kv, char *key, char *value)
{
	kv->it = xreallocarray(kv->it, kv->n + 1, sizeof(*kv->it));
	kv->it[kv->n].key = key;
	kv->it[kv->n].value = value;
	kv->n++;
}

void keyval_parse(const char *s, struct keyval *kv)
{
	kv->it = NULL;
	kv->n = 0;
	while (*s) {
		char *item = xmalloc(strlen(s) + 1), *o = item, *eq;

		for (; *s; s++) {
			if (*s == ',' && s[1] == ',') {
				*o++ = ',';
				s++;
				continue;
			}
			if (*s == ',')
				break;
			*o++ = *s;
		}
		*o = '\0';
		if (*s == ',')
			s++;
		eq = strchr(item, '=');
		if (eq) {
			*eq = '\0';
			push(kv, xstrdup(item), xstrdup(eq + 1));
			free(item);
		} else {
			push(kv, NULL, item);
		}
	}
}

const char *keyval_get(const struct keyval *kv, const char *key)
{
	for (size_t i = 0; i < kv->n; i++) {
		if (kv->it[i].key && !strcmp(kv->it[i].key, key))
			return kv->it[i].value;
	}
	return NULL;
}

void keyval_set(struct keyval *kv, const char *key, const char *value)
{
	for (size_t i = 0; i < kv->n; i++) {
		if (kv->it[i].key && !strcmp(kv->it[i].key, key)) {
			free(kv->it[i].value);
			kv->it[i].value = xstrdup(value);
			return;
		}
	}
	push(kv, xstrdup(key), xstrdup(value));
}

char *keyval_str(const struct keyval *kv)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	if (!f)
		abort(); /* only for lack of memory */
	for (size_t i = 0; i < kv->n; i++) {
		if (i)
			fputc(',', f);
		if (kv->it[i].key)
			fprintf(f, "%s=", kv->it[i].key);
		for (const char *v = kv->it[i].value; *v; v++) {
			if (*v == ',')
				fputc(',', f);
			fputc(*v, f);
		}
	}
	if (fclose(f) != 0)
		abort();
	return out;
}

struct json_object *keyval_to_json(const struct keyval *kv)
{
	struct json_object *root = json_object_new_object();

	for (size_t i = 0; i < kv->n; i++) {
		struct json_object *o = root;
		char *key, *part, *dot;

		if (!kv->it[i].key)
			continue;
		key = xstrdup(kv->it[i].key);
		for (part = key; (dot = strchr(part, '.')); part = dot + 1) {
			struct json_object *next;

			*dot = '\0';
			if (!json_object_object_get_ex(o, part, &next) ||
			    !json_object_is_type(next, json_type_object)) {
				next = json_object_new_object();
				json_object_object_add(o, part, next);
			}
			o = next;
		}
		json_object_object_add(o, part,
				       json_object_new_string(kv->it[i].value));
		free(key);
	}
	return root;
}

void keyval_free(struct keyval *kv)
{
	for (size_t i = 0; i < kv->n; i++) {
		free(kv->it[i].key);
		free(kv->it[i].value);
	}
	free(kv->it);
	kv->it = NULL;
	kv->n = 0;
}
