/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The chain record: one serializer for `chain --json` and the record
 * (escaping what headers hold), written atomically (0644, directories
 * 0755), read back (only from a file nobody else may write), and compared
 * with a freshly resolved chain: unchanged, a member touched, a header
 * rewritten in place (same size and mtime), a chain shortened, a record
 * without the disk, a file that is not JSON; and the pins: a moved
 * backing reference (name, format, none) is RECORD_REPOINTED, and
 * record_pin_disk() makes a new chain the pinned one.
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
	struct chain_opts o = { .roots = roots, .n_roots = 1, .max_depth = 8,
				.hash_headers = true };
	struct vs_err err;

	return chain_resolve(img, VS_FMT_QCOW2, &o, c, &err);
}

static struct json_object *parse(char *text)
{
	struct json_object *o = json_tokener_parse(text);

	free(text);
	return o;
}

static struct json_object *record_of(struct chain *c, const char *img)
{
	struct record_disk d = { "root", img, "qcow2", c, NULL };

	return parse(record_text("g", &d, 1));
}

static const char *str_at(struct json_object *o, const char *a,
			  const char *b)
{
	struct json_object *v = json_object_object_get(o, a);

	if (b)
		v = json_object_object_get(v, b);
	return v ? json_object_get_string(v) : "(absent)";
}

/* rebase -u top.qcow2 onto NAME (format FMT), then compare. */
static int repoint(struct json_object *back, const char *img, const char *cmd,
		   char *why, size_t len)
{
	struct chain c = { 0 };
	int r;

	sh(cmd);
	if (resolve(img, &c) < 0)
		return -100;
	r = record_compare(back, "root", img, &c, why, len);
	chain_free(&c);
	return r;
}

/* Names from headers cannot break the document or a terminal. */
static void escaping(void)
{
	struct chain_member m = { 0 };
	struct chain c = { .m = &m, .n = 1 };
	struct json_object *a, *o;
	char *text;

	m.path = (char *)"/img/a\"b\\c.qcow2";
	m.info.format = VS_FMT_QCOW2;
	m.info.has_backing = true;
	m.info.backing_name = (char *)"x\n\x1b[31mFAKE\xff\xc3\xa9";
	m.info.data_file_name = (char *)"";
	text = record_chain_text(&c);
	ok(!strchr(text, '\x1b') && !strstr(text, "\n\x1b") &&
	   !strchr(text, '\xff'), "no raw control or non-UTF-8 byte in the JSON");
	a = parse(text);
	o = json_object_array_get_idx(a, 0);
	is_str(str_at(o, "backing-filename", NULL),
	       "x\n\x1b[31mFAKE\xef\xbf\xbd\xc3\xa9",
	       "escaped name reads back (invalid byte as U+FFFD, UTF-8 kept)");
	is_str(str_at(o, "filename", NULL), "/img/a\"b\\c.qcow2",
	       "quote and backslash escaped");
	ok(!json_object_object_get(json_object_object_get(o, "vmseal"),
				   "header-sha256"),
	   "no header digest when the walk did not hash");
	json_object_put(a);
}

/* The "image" and "live" keys of disk name in the record at path. */
static void disk_keys(const char *path, const char *name, char *out, size_t n)
{
	struct json_object *rec = NULL, *disks;
	struct vs_err err = { 0 };

	snprintf(out, n, "none");
	if (record_load(path, &rec, &err) < 0 ||
	    !json_object_object_get_ex(rec, "disks", &disks))
		snprintf(out, n, "no record");
	for (size_t i = 0; rec && disks && i < json_object_array_length(disks); i++) {
		struct json_object *d = json_object_array_get_idx(disks, i);

		if (!strcmp(str_at(d, "name", NULL), name))
			snprintf(out, n, "%s %s %s", str_at(d, "image", NULL),
				 str_at(d, "format", NULL), str_at(d, "live", NULL));
	}
	json_object_put(rec);
}

/* A hot-plugged disk joins the record, keeps its image, and leaves it. */
static void live_disks(const char *path, const char *img, const char *base)
{
	struct chain c = { 0 }, b = { 0 };
	struct vs_err err = { 0 };
	char got[1200], want[1200];
	struct stat st1, st2;

	resolve(img, &c);
	resolve(base, &b);
	is_int(record_pin_disk(path, "g",
			       &(struct record_disk){ "hot", NULL, NULL, &b,
						      "hot-plug" },
			       &err),
	       0, "a live disk with no image pins");
	disk_keys(path, "hot", got, sizeof(got));
	snprintf(want, sizeof(want), "%s qcow2 hot-plug", base);
	is_str(got, want, "its image is its chain's top, live says hot-plug");
	/* A snapshot moved its active layer to img (over base). */
	is_int(record_pin_disk(path, "g",
			       &(struct record_disk){ "hot", NULL, NULL, &c,
						      "hot-plug" },
			       &err),
	       0, "the live disk's new chain pins");
	disk_keys(path, "hot", got, sizeof(got));
	is_str(got, want, "it keeps the image it came with");
	disk_keys(path, "root", got, sizeof(got));
	snprintf(want, sizeof(want), "%s qcow2 (absent)", img);
	is_str(got, want, "the config's disk stays, without live");
	is_int(record_drop_disk(path, "g", "hot", &err), 0, "drop the live disk");
	disk_keys(path, "hot", got, sizeof(got));
	is_str(got, "none", "it left the record");
	disk_keys(path, "root", got, sizeof(got));
	is_str(got, want, "the config's disk is kept");
	stat(path, &st1);
	is_int(record_drop_disk(path, "g", "hot", &err), 0,
	       "dropping a disk the record has not: 0");
	stat(path, &st2);
	ok(st1.st_ino == st2.st_ino, "... and the record is not rewritten");
	chain_free(&c);
	chain_free(&b);
}

/*
 * Numbers at every length and both ends, and names with a byte to escape
 * at each place the writer checks 16 bytes at a time (the last chunk
 * overlaps the one before), come out as printf and json-c read them.
 */
static void numbers_and_chunks(void)
{
	static const uint64_t vals[] = {
		0, 1, 9, 10, 99, 100, 999, 1000, 9999, 10000, 99999, 100000,
		1048576, 4294967295ULL, 4294967296ULL, 99999999999ULL,
		999999999999999999ULL, 1000000000000000000ULL,
		9999999999999999999ULL, 10000000000000000000ULL,
		18446744073709551615ULL,
	};
	static const int64_t svals[] = {
		0, -1, -9, -10, -12345, INT64_MIN + 1, INT64_MIN, INT64_MAX,
	};
	struct chain_member m = { 0 };
	struct chain c = { .m = &m, .n = 1 };
	unsigned bad = 0, tried = 0;
	char want[64], name[64];
	char *text;

	m.path = (char *)"/img/a.qcow2";
	m.info.format = VS_FMT_QCOW2;
	m.info.backing_name = (char *)"";
	m.info.data_file_name = (char *)"";
	for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
		m.info.virtual_size = vals[i];
		text = record_chain_text(&c);
		snprintf(want, sizeof(want), "\"virtual-size\": %llu,",
			 (unsigned long long)vals[i]);
		if (!strstr(text, want) && bad++ < 3)
			tap_diag("no '%s' in %s", want, text);
		free(text);
		tried++;
	}
	for (size_t i = 0; i < sizeof(svals) / sizeof(svals[0]); i++) {
		m.st.st_mtim.tv_sec = (time_t)svals[i];
		text = record_chain_text(&c);
		snprintf(want, sizeof(want), "\"mtime\": %lld,",
			 (long long)svals[i]);
		if (!strstr(text, want) && bad++ < 3)
			tap_diag("no '%s' in %s", want, text);
		free(text);
		tried++;
	}
	ok(!bad, "%u numbers written as printf writes them", tried);

	/*
	 * One text of many members whose numbers repeat and alternate (the
	 * writer keeps recent ones by value): each line has its own.
	 */
	{
		enum { N = sizeof(vals) / sizeof(vals[0]) };
		struct chain_member ms[N];
		struct chain cc = { .m = ms, .n = N };
		char *line;

		memset(ms, 0, sizeof(ms));
		for (size_t i = 0; i < N; i++) {
			ms[i].path = (char *)"/img/m.qcow2";
			ms[i].info.format = VS_FMT_QCOW2;
			ms[i].info.backing_name = (char *)"";
			ms[i].info.data_file_name = (char *)"";
			ms[i].info.virtual_size = vals[i];
			ms[i].st.st_ino = (ino_t)vals[(i * 7) % N];
			ms[i].st.st_dev = (dev_t)vals[(i * 3) % N];
			ms[i].size = vals[i % 3];
		}
		text = record_chain_text(&cc);
		bad = 0;
		line = strchr(text, '\n');
		for (size_t i = 0; i < N; i++) {
			char *end = line ? strchr(line + 1, '\n') : NULL;
			char w1[64], w2[64], w3[64], w4[64];

			if (!line || !end) {
				bad++;
				break;
			}
			*end = '\0';
			snprintf(w1, sizeof(w1), "\"virtual-size\": %llu,",
				 (unsigned long long)vals[i]);
			snprintf(w2, sizeof(w2), "\"ino\": %llu,",
				 (unsigned long long)vals[(i * 7) % N]);
			snprintf(w3, sizeof(w3), "\"dev\": %llu,",
				 (unsigned long long)vals[(i * 3) % N]);
			snprintf(w4, sizeof(w4), "\"size\": %llu,",
				 (unsigned long long)vals[i % 3]);
			if ((!strstr(line, w1) || !strstr(line, w2) ||
			     !strstr(line, w3) || !strstr(line, w4)) &&
			    bad++ < 3)
				tap_diag("member %zu: %s", i, line);
			*end = '\n';
			line = end;
		}
		free(text);
		ok(!bad, "%d members with repeating numbers, each its own", N);
	}

	bad = tried = 0;
	for (size_t len = 1; len < 40; len++) {
		for (size_t at = 0; at < len; at++) {
			static const char odd[] = { '"', '\\', '\x01', '\x7f' };
			struct json_object *a;
			const char *got;

			memset(name, 'n', len);
			name[len] = '\0';
			name[at] = odd[(len + at) % 4];
			m.path = name;
			/* parse() frees the text. */
			a = parse(record_chain_text(&c));
			got = json_object_is_type(a, json_type_array) ?
				str_at(json_object_array_get_idx(a, 0),
				       "filename", NULL) : NULL;
			if ((!got || strcmp(got, name)) && bad++ < 3)
				tap_diag("name of %zu bytes, odd byte at %zu: got '%s'",
					 len, at, got ? got : "(none)");
			json_object_put(a);
			tried++;
		}
	}
	ok(!bad, "%u names with a byte to escape anywhere read back", tried);
}

int main(void)
{
	struct json_object *rec = NULL, *back = NULL, *a, *m;
	struct chain c = { 0 };
	struct vs_err err = { 0 };
	char why[1400], *img, *path, *base, *text;
	struct stat st;
	int r;

	escaping();
	numbers_and_chunks();
	if (!mkdtemp(tmp) || sh("qemu-img --version") != 0) {
		tap_skip("qemu-img not installed or no temp dir", "chain record");
		return tap_done();
	}
	img = xasprintf("%s/top.qcow2", tmp);
	base = xasprintf("%s/base.qcow2", tmp);
	path = xasprintf("%s/run/g/chain.json", tmp);
	sh("qemu-img create -q -f qcow2 base.qcow2 1M && "
	   "qemu-img create -q -f qcow2 -F qcow2 -b base.qcow2 top.qcow2 2M && "
	   "qemu-img create -q -f qcow2 other.qcow2 2M");

	is_int(resolve(img, &c), 0, "chain resolves");
	a = parse(record_chain_text(&c));
	ok(json_object_array_length(a) == 2, "chain json: two members, top first");
	m = json_object_array_get_idx(a, 0);
	is_str(str_at(m, "full-backing-filename", NULL), base,
	       "full-backing-filename is the next member's path");
	is_str(str_at(m, "backing-filename", NULL), "base.qcow2",
	       "backing-filename is the name in the header");
	is_str(str_at(m, "backing-filename-format", NULL), "qcow2",
	       "backing-filename-format as the header records it");
	is_int(json_object_get_int64(json_object_object_get(m, "virtual-size")),
	       2 << 20, "virtual-size");
	is_int(json_object_get_int64(json_object_object_get(m, "cluster-size")),
	       65536, "cluster-size");
	is_str(str_at(m, "vmseal", "access"), "read-only", "vmseal.access");
	ok(strlen(str_at(m, "vmseal", "header-sha256")) == 64,
	   "vmseal.header-sha256 when hashed");
	is_str(str_at(json_object_object_get(m, "vmseal"), "backing", "name"),
	       "base.qcow2", "vmseal.backing pins the name");
	json_object_put(a);

	text = record_text("g", &(struct record_disk){ "root", img, "qcow2", &c, NULL },
			   1);
	is_int(record_write(path, text, &err), 0,
	       "record written (directories created)");
	free(text);
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
	is_int(record_compare(back, "root", img, &c, why, sizeof(why)),
	       RECORD_SAME, "unchanged chain: matches");
	is_int(record_compare(back, "data", img, &c, why, sizeof(why)), -ENOENT,
	       "a disk the record lacks: -ENOENT");
	is_int(record_compare(back, "root", base, &c, why, sizeof(why)), -ENOENT,
	       "the disk names another image now: -ENOENT (nothing pinned)");
	chain_free(&c);

	chmod(path, 0664);
	is_int(record_load(path, &rec, &err), -EPERM,
	       "a record others may write: -EPERM");
	has_str(err.msg, "writable by nobody else", "... and says why");
	chmod(path, 0644);

	/* Touched: the same bytes, a new mtime. */
	{
		struct timeval tv[2] = { { 1000000000, 0 }, { 1000000000, 0 } };

		utimes(base, tv);
	}
	resolve(img, &c);
	r = record_compare(back, "root", img, &c, why, sizeof(why));
	ok(r == RECORD_CHANGED && strstr(why, "base.qcow2 changed (mtime)"),
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
	r = record_compare(back, "root", img, &c, why, sizeof(why));
	ok(r == RECORD_CHANGED && strstr(why, "base.qcow2 changed (header)"),
	   "same mtime and size, other header bytes: '%s'", why);
	chain_free(&c);

	/* The pins. */
	r = repoint(back, img,
		    "qemu-img rebase -u -f qcow2 -F qcow2 -b other.qcow2 top.qcow2",
		    why, sizeof(why));
	ok(r == RECORD_REPOINTED &&
	   strstr(why, "top.qcow2: backing reference changed: was 'base.qcow2' (qcow2), now 'other.qcow2' (qcow2)"),
	   "top names another file: repointed: '%s'", why);
	r = repoint(back, img,
		    "qemu-img rebase -u -f qcow2 -F raw -b base.qcow2 top.qcow2",
		    why, sizeof(why));
	ok(r == RECORD_REPOINTED && strstr(why, "now 'base.qcow2' (raw)"),
	   "same name, another format: repointed: '%s'", why);
	r = repoint(back, img, "qemu-img rebase -u -f qcow2 -b '' top.qcow2",
		    why, sizeof(why));
	ok(r == RECORD_REPOINTED && strstr(why, "now no backing file"),
	   "backing name removed: repointed: '%s'", why);
	r = repoint(back, img,
		    "qemu-img rebase -u -f qcow2 -F qcow2 -b base.qcow2 top.qcow2",
		    why, sizeof(why));
	ok(r == RECORD_SAME || r == RECORD_CHANGED,
	   "back to the recorded reference: the pin holds (%d)", r);
	r = repoint(back, img,
		    "qemu-img create -q -f qcow2 deeper.qcow2 1M && "
		    "qemu-img rebase -u -f qcow2 -F qcow2 -b deeper.qcow2 base.qcow2",
		    why, sizeof(why));
	ok(r == RECORD_REPOINTED &&
	   strstr(why, "base.qcow2: backing reference changed: was no backing file, now 'deeper.qcow2' (qcow2)"),
	   "a backing member gained a backing file: repointed: '%s'", why);

	/* vmseal's own operation: the new chain becomes the pinned one. */
	resolve(img, &c);
	is_int(record_pin_disk(path, "g",
			       &(struct record_disk){ "root", img, "qcow2", &c, NULL },
			       &err),
	       0, "record_pin_disk writes");
	json_object_put(back);
	back = NULL;
	is_int(record_load(path, &back, &err), 0, "pinned record reads back");
	is_int(record_compare(back, "root", img, &c, why, sizeof(why)),
	       RECORD_SAME, "the new chain is the pinned one");
	ok(c.n == 3, "... with its three members");
	c.n = 2;
	r = record_compare(back, "root", img, &c, why, sizeof(why));
	ok(r == RECORD_CHANGED && strstr(why, "the chain is 2 members long, was 3"),
	   "shorter chain: '%s'", why);
	c.n = 3;
	chain_free(&c);

	live_disks(path, img, base);

	sh("echo '{not json' > bad.json && chmod 644 bad.json");
	{
		char *bad = xasprintf("%s/bad.json", tmp);
		struct json_object *o = NULL;

		is_int(record_load(bad, &o, &err), -EINVAL, "not JSON: -EINVAL");
		has_str(err.msg, "not valid JSON", "not JSON: says so");
		sh("echo '{\"version\": 1}' > bad.json");
		is_int(record_load(bad, &o, &err), -EINVAL,
		       "a version 1 record: -EINVAL (pins taken anew)");
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
