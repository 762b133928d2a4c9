/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The chain record: one serializer for `chain --json` and the record,
 * written atomically (0644, directories 0755), read back, and compared
 * with a freshly resolved chain: unchanged, a member touched, a header
 * rewritten in place (same size and mtime), a chain grown, a record
 * without the disk, a file that is not JSON.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "chain/record.h"
#include "common/xalloc.h"
#include "tests/lib/tap.h"

static char tmp[] = "/tmp/vmseal-record.XXXXXX";

static int sh(const char *cmd)
{
	char *full = xasprintf("cd '%s' && ( %s ) >/dev/null 2>&1", tmp, cmd);
	int r = system(full);

	free(full);
	return r;
}

static int resolve(const char *img, struct chain *c)
{
	char *const roots[] = { tmp };
	struct chain_opts o = { .roots = roots, .n_roots = 1, .max_depth = 8 };
	struct vs_err err;

	return chain_resolve(img, VS_FMT_QCOW2, &o, c, &err);
}

static struct json_object *record_of(struct chain *c, const char *img)
{
	struct record_disk d = { "root", img, "qcow2", c };

	return record_json("g", &d, 1);
}

int main(void)
{
	struct json_object *rec = NULL, *back = NULL, *a, *m;
	struct chain c = { 0 };
	struct vs_err err = { 0 };
	char why[1024], *img, *path, *base;
	struct stat st;
	int r;

	if (!mkdtemp(tmp) || sh("qemu-img --version") != 0) {
		tap_skip("qemu-img not installed or no temp dir", "chain record");
		return tap_done();
	}
	img = xasprintf("%s/top.qcow2", tmp);
	base = xasprintf("%s/base.qcow2", tmp);
	path = xasprintf("%s/run/g/chain.json", tmp);
	sh("qemu-img create -q -f qcow2 base.qcow2 1M && "
	   "qemu-img create -q -f qcow2 -F qcow2 -b base.qcow2 top.qcow2 2M");

	is_int(resolve(img, &c), 0, "chain resolves");
	a = record_chain_json(&c);
	ok(json_object_array_length(a) == 2, "chain json: two members, top first");
	m = json_object_array_get_idx(a, 0);
	is_str(json_object_get_string(json_object_object_get(m, "full-backing-filename")),
	       base, "full-backing-filename is the next member's path");
	is_str(json_object_get_string(json_object_object_get(m, "backing-filename")),
	       "base.qcow2", "backing-filename is the name in the header");
	is_int(json_object_get_int64(json_object_object_get(m, "virtual-size")),
	       2 << 20, "virtual-size");
	json_object_put(a);

	rec = record_of(&c, img);
	is_int(record_write(path, rec, &err), 0, "record written (directories created)");
	ok(stat(path, &st) == 0 && (st.st_mode & 07777) == 0644, "record mode 0644");
	{
		char *dir = xasprintf("%s/run/g", tmp);

		ok(stat(dir, &st) == 0 && (st.st_mode & 07777) == 0755,
		   "record directory mode 0755");
		free(dir);
	}
	is_int(sh("ls run/g | grep -v '^chain.json$'"), 256,
	       "no temp file left beside it");
	is_int(record_load(path, &back, &err), 0, "record read back");
	is_int(record_compare(back, "root", &c, why, sizeof(why)), 0,
	       "unchanged chain: matches");
	is_int(record_compare(back, "data", &c, why, sizeof(why)), -ENOENT,
	       "a disk the record lacks: -ENOENT");
	chain_free(&c);

	/* Touched: the same bytes, a new mtime. */
	{
		struct timeval tv[2] = { { 1000000000, 0 }, { 1000000000, 0 } };

		utimes(base, tv);
	}
	resolve(img, &c);
	r = record_compare(back, "root", &c, why, sizeof(why));
	ok(r == 1 && strstr(why, "base.qcow2 changed (mtime)"),
	   "touched member: '%s'", why);
	chain_free(&c);

	/* Header rewritten in place, size and mtime restored. */
	json_object_put(back);
	resolve(img, &c);
	back = record_of(&c, img);
	chain_free(&c);
	stat(base, &st);
	sh("printf T | dd of=base.qcow2 bs=1 seek=130 conv=notrunc status=none");
	{
		struct timespec ts[2] = { st.st_atim, st.st_mtim };

		utimensat(AT_FDCWD, base, ts, 0);
	}
	resolve(img, &c);
	r = record_compare(back, "root", &c, why, sizeof(why));
	ok(r == 1 && strstr(why, "base.qcow2 changed (header)"),
	   "same mtime and size, other header bytes: '%s'", why);
	chain_free(&c);

	/* The chain grew a member. */
	sh("qemu-img create -q -f qcow2 deeper.qcow2 1M && "
	   "qemu-img rebase -u -f qcow2 -F qcow2 -b deeper.qcow2 base.qcow2");
	resolve(img, &c);
	r = record_compare(back, "root", &c, why, sizeof(why));
	ok(r == 1 && strstr(why, "base.qcow2 changed") && c.n == 3,
	   "rebased member: '%s'", why);
	json_object_put(back);
	back = record_of(&c, img);
	c.n = 2; /* as if the chain had lost its base */
	r = record_compare(back, "root", &c, why, sizeof(why));
	ok(r == 1 && strstr(why, "the chain is 2 members long, was 3"),
	   "shorter chain: '%s'", why);
	c.n = 3;
	chain_free(&c);

	sh("echo '{not json' > bad.json");
	{
		char *bad = xasprintf("%s/bad.json", tmp);
		struct json_object *o = NULL;

		is_int(record_load(bad, &o, &err), -EINVAL, "not JSON: -EINVAL");
		has_str(err.msg, "not valid JSON", "not JSON: says so");
		free(bad);
		bad = xasprintf("%s/none.json", tmp);
		is_int(record_load(bad, &o, &err), -ENOENT, "no record: -ENOENT");
		free(bad);
	}
	json_object_put(rec);
	json_object_put(back);
	sh("rm -rf run *.qcow2 bad.json");
	rmdir(tmp);
	free(img);
	free(base);
	free(path);
	return tap_done();
}
