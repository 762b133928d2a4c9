/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the monitor gate's JSON (launcher/gate_json.c) as a
 * client and QEMU would feed it.  The input is framed as client input
 * (split at its first byte's value, to exercise partial reads), every
 * object is rewritten with fake rules, and the whole input is also read
 * as a reply line.  Checked promises:
 *   - a command sent on carries the gate's tag as its id, parses back as
 *     an object, and names no file but /dev/fdset/N in any node of a
 *     blockdev-add, blockdev-reopen or blockdev-create, and no json: or
 *     protocol name in a backing-file;
 *   - a refusal's message starts "vmseal: ";
 *   - an unwrapped reply is NUL-terminated at its length.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "launcher/gate_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int next_set;

static int fake_file(void *ctx, const char *path, enum gate_access acc,
		     char *why, size_t n)
{
	(void)ctx;
	(void)acc;
	if (strncmp(path, "/img/", 5) != 0 || strstr(path, "/..")) {
		snprintf(why, n, "%s: outside the roots", path);
		return -EACCES;
	}
	return 1000 + next_set++;
}

static int fake_create(void *ctx, const char *path, char *why, size_t n)
{
	return fake_file(ctx, path, GATE_RW, why, n);
}

static int fake_output(void *ctx, const char *path, char *why, size_t n)
{
	(void)ctx;
	if (strncmp(path, "/run/g/", 7) != 0) {
		snprintf(why, n, "%s: not in the runtime directory", path);
		return -EACCES;
	}
	return 1000 + next_set++;
}

static const char *fake_node_path(void *ctx, const char *node)
{
	(void)ctx;
	if (!strcmp(node, "root") || !strcmp(node, "f0"))
		return "/img/top.qcow2";
	if (!strcmp(node, "mid"))
		return "/img/mid.qcow2";
	return NULL;
}

static const char *fake_path_node(void *ctx, const char *path)
{
	(void)ctx;
	return strcmp(path, "/img/mid.qcow2") ? NULL : "mid";
}

static const char *fake_overlay_of(void *ctx, const char *node)
{
	(void)ctx;
	return strcmp(node, "mid") ? NULL : "root";
}

static int fake_backing_name(void *ctx, const char *name, const char *image,
			     char *why, size_t n)
{
	(void)ctx;
	(void)image;
	if (strchr(name, ':')) {
		snprintf(why, n, "%s: protocol", name);
		return -EINVAL;
	}
	return 0;
}

static int fake_resolve_backing(void *ctx, const char *path, const char *fmt,
				const char **backing, char *why, size_t n)
{
	(void)ctx;
	(void)fmt;
	*backing = NULL;
	if (strstr(path, "chain")) {
		snprintf(why, n, "%s names a backing file", path);
		return -EINVAL;
	}
	if (strstr(path, "base"))
		*backing = "base-node";
	return 0;
}

static int fake_writable(void *ctx, const char *node, const char *job,
			 char *why, size_t n)
{
	(void)ctx;
	(void)job;
	if (!strcmp(node, "busy")) {
		snprintf(why, n, "busy");
		return -EBUSY;
	}
	return 0;
}

static bool fake_own_set(void *ctx, int64_t set)
{
	(void)ctx;
	return set >= 1 && set < 10;
}

static const struct gate_ops ops = {
	.file = fake_file,
	.create = fake_create,
	.output = fake_output,
	.node_path = fake_node_path,
	.path_node = fake_path_node,
	.overlay_of = fake_overlay_of,
	.backing_name = fake_backing_name,
	.resolve_backing = fake_resolve_backing,
	.writable = fake_writable,
	.own_set = fake_own_set,
};

/*
 * No "filename" anywhere in o but /dev/fdset/N (unless only backing),
 * and no backing-file with a protocol or json: prefix.
 */
static void check_filenames(struct json_object *o, int depth, bool only_backing)
{
	if (depth > 100)
		return;
	if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			check_filenames(json_object_array_get_idx(o, i), depth + 1,
					only_backing);
		return;
	}
	if (!json_object_is_type(o, json_type_object))
		return;
	json_object_object_foreach(o, k, v) {
		if (!only_backing && !strcmp(k, "filename") &&
		    (!json_object_is_type(v, json_type_string) ||
		     strncmp(json_object_get_string(v), "/dev/fdset/", 11) != 0))
			__builtin_trap();
		if (!strcmp(k, "backing-file") &&
		    json_object_is_type(v, json_type_string) &&
		    strchr(json_object_get_string(v), ':'))
			__builtin_trap();
		check_filenames(v, depth + 1, only_backing);
	}
}

static void check_sent(const struct gate_result *r, uint64_t tag)
{
	struct json_object *o = json_tokener_parse(r->json), *id, *a, *t;

	if (!o || !json_object_is_type(o, json_type_object))
		__builtin_trap();
	if (!json_object_object_get_ex(o, "id", &id) ||
	    !json_object_is_type(id, json_type_array) ||
	    !(t = json_object_array_get_idx(id, 0)) ||
	    (uint64_t)json_object_get_uint64(t) != tag)
		__builtin_trap();
	if ((!strcmp(r->cmd, "blockdev-add") ||
	     !strcmp(r->cmd, "blockdev-reopen") ||
	     !strcmp(r->cmd, "blockdev-create")) &&
	    json_object_object_get_ex(o, "arguments", &a))
		check_filenames(a, 0, false);
	if ((!strcmp(r->cmd, "block-stream") || !strcmp(r->cmd, "block-commit")) &&
	    json_object_object_get_ex(o, "arguments", &a))
		check_filenames(a, 0, true);
	json_object_put(o);
}

static void rewrite(const char *obj, size_t len, uint64_t tag)
{
	struct gate_result r;

	next_set = 0;
	if (gate_rewrite(obj, len, tag, &ops, &r) < 0)
		__builtin_trap();
	if (r.kind == GATE_SEND)
		check_sent(&r, tag);
	else if (r.kind == GATE_REFUSE && strncmp(r.desc, "vmseal: ", 8) != 0)
		__builtin_trap();
	if (r.kind != GATE_SEND && r.json)
		__builtin_trap();
	if (r.kind != GATE_SEND) {
		char *e = gate_error_reply(r.id, "GenericError", r.desc);
		struct json_object *o = json_tokener_parse(e);

		if (!o)
			__builtin_trap();
		json_object_put(o);
		free(e);
	}
	gate_result_free(&r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct gate_framer f;
	const char *obj;
	size_t olen, split = size ? data[0] % (size + 1) : 0;
	uint64_t tag = 1;
	char *out = NULL;
	size_t out_len;
	int rc;

	if (size > GATE_MSG_MAX)
		return 0;
	gate_framer_init(&f);
	gate_framer_feed(&f, (const char *)data, split);
	for (int pass = 0; pass < 2; pass++) {
		while ((rc = gate_framer_next(&f, &obj, &olen)) != 0) {
			if (rc < 0)
				continue;
			if (olen < 2 || obj[0] != '{' ||
			    (obj[olen - 1] != '}' && obj[olen - 1] != ']'))
				__builtin_trap();
			rewrite(obj, olen, tag++);
		}
		if (!pass)
			gate_framer_feed(&f, (const char *)data + split,
					 size - split);
	}
	gate_framer_free(&f);
	/* The whole input as a line QEMU wrote. */
	if (gate_reply_unwrap((const char *)data, size, &tag, &out, &out_len) == 1) {
		if (out[out_len] != '\0')
			__builtin_trap();
		free(out);
	}
	return 0;
}
