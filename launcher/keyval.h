/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_KEYVAL_H
#define VS_LAUNCHER_KEYVAL_H

#include <stddef.h>

struct json_object;

/*
 * QEMU's key=value option strings ("driver=file,filename=/a,,b"): items
 * separated by ',', a comma inside a value doubled.  An item without '='
 * (the backend of -chardev, the type of -object) has key NULL.
 */
struct kv_item {
	char *key;
	char *value;
};

struct keyval {
	struct kv_item *it;
	size_t n;
};

void keyval_parse(const char *s, struct keyval *kv);
/* The value of key, or NULL. */
const char *keyval_get(const struct keyval *kv, const char *key);
/* Replaces key's value, or appends key=value. */
void keyval_set(struct keyval *kv, const char *key, const char *value);
/* The option string again, commas in values doubled. */
char *keyval_str(const struct keyval *kv);
/* The items as a JSON object, dotted keys nested ("file.filename"). */
struct json_object *keyval_to_json(const struct keyval *kv);
void keyval_free(struct keyval *kv);

#endif
