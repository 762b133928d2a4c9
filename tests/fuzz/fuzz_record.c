/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: a chain record as record_load() parses it (json-c)
 * and record_compare() walks it against a resolved chain.  A record is
 * written by vmseal, but one left by an older version, truncated by a
 * crash or edited by hand must only ever compare as changed or repointed
 * (a refusal), with a message.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "chain/record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct chain_file df = { .name = "d.raw", .path = "/i/d.raw",
					.fd = -1 };
	static struct chain_member m[2] = {
		{ .path = "/i/top.qcow2", .real_path = "/i/top.qcow2",
		  .info = { .format = VS_FMT_QCOW2, .has_backing = true,
			    .backing_name = "base.raw" },
		  .fd = -1, .data_file = &df },
		{ .path = "/i/base.raw", .real_path = "/i/base.raw",
		  .info = { .format = VS_FMT_RAW }, .fd = -1, .depth = 1 },
	};
	struct chain c = { .m = m, .n = 2 };
	struct json_tokener *tok = json_tokener_new();
	struct json_object *o;
	char why[256];
	int r;

	o = json_tokener_parse_ex(tok, (const char *)data, (int)(size & 0xffffff));
	json_tokener_free(tok);
	if (!o)
		return 0;
	r = record_compare(o, "root", "/i/top.qcow2", &c, why, sizeof(why));
	if (r != RECORD_SAME && r != RECORD_CHANGED && r != RECORD_REPOINTED &&
	    r != -ENOENT)
		__builtin_trap();
	if (r > 0 && !memchr(why, '\0', sizeof(why)))
		__builtin_trap();
	json_object_put(o);
	return 0;
}
