/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * launcher/gate_json.c: the monitor gate's framing, reply ids and command
 * rewriter, with fake rules (files beneath /img open as fd set 1000 and
 * up; nothing else does).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "launcher/gate_json.h"
#include "tests/lib/tap.h"

static int next_set;
static char opened[256];	/* "mode path;" for each file opened */

/* Files under /img/ro/ cannot be opened for writing. */
static int fake_file(void *ctx, const char *path, enum gate_access acc,
		     char *why, size_t n)
{
	static const char *const names[] = { "ro", "rw", "auto", "auto-w" };
	size_t len = strlen(opened);

	(void)ctx;
	if (strncmp(path, "/img/", 5) != 0) {
		snprintf(why, n, "%s: outside the roots", path);
		return -EACCES;
	}
	if (acc != GATE_RO && !strncmp(path, "/img/ro/", 8)) {
		snprintf(why, n, "%s: read-only", path);
		return -EACCES;
	}
	tap_diag("open %s %s", path, names[acc]);
	snprintf(opened + len, sizeof(opened) - len, "%s %s;", names[acc], path);
	return 1000 + next_set++;
}

static const char *fake_node_path(void *ctx, const char *node)
{
	(void)ctx;
	if (!strcmp(node, "base"))
		return "/img/base.qcow2";
	return NULL;
}

static const char *fake_overlay_of(void *ctx, const char *node)
{
	(void)ctx;
	return strcmp(node, "mid") ? NULL : "top";
}

static const struct gate_ops ops = {
	.file = fake_file,
	.node_path = fake_node_path,
	.overlay_of = fake_overlay_of,
};

/* Wrap mode's rules: QEMU's image locks stay on. */
static const struct gate_ops wrap_ops = {
	.file = fake_file,
	.node_path = fake_node_path,
	.overlay_of = fake_overlay_of,
	.keep_locks = true,
};

static struct gate_result rewrite_with(const struct gate_ops *o,
				       const char *cmd)
{
	struct gate_result r;

	next_set = 0;
	opened[0] = '\0';
	if (gate_rewrite(cmd, strlen(cmd), 7, o, &r) < 0)
		abort();
	return r;
}

static struct gate_result rw(const char *cmd)
{
	return rewrite_with(&ops, cmd);
}

static void test_framer(void)
{
	struct gate_framer f;
	const char *o;
	size_t n;

	gate_framer_init(&f);
	gate_framer_feed(&f, " {\"a\":\"}{\"}{\"b\":[1,{}", 21);
	is_int(gate_framer_next(&f, &o, &n), 1, "framer: a first object");
	ok(n == 10 && !strncmp(o, "{\"a\":\"}{\"}", n),
	   "framer: braces inside strings do not end it");
	is_int(gate_framer_next(&f, &o, &n), 0, "framer: the second is not complete");
	gate_framer_feed(&f, "]}\n[", 4);
	is_int(gate_framer_next(&f, &o, &n), 1, "framer: completed by the next read");
	ok(n == 12 && !strncmp(o, "{\"b\":[1,{}]}", n), "framer: nested arrays");
	is_int(gate_framer_next(&f, &o, &n), -EPROTO,
	       "framer: input that is not an object is refused");
	gate_framer_free(&f);
}

static void test_reply(void)
{
	static const char with[] = "{\"return\": {}, \"id\": [12, {\"x\": [1, \"a\"]}]}\r\n";
	static const char without[] = "{\"id\": [3], \"error\": {\"class\": \"GenericError\"}}\r\n";
	static const char ev[] = "{\"event\": \"STOP\", \"data\": {\"id\": [1]}}\r\n";
	uint64_t tag = 0;
	size_t len;
	char *out = NULL;

	is_int(gate_reply_unwrap(with, strlen(with), &tag, &out, &len), 1,
	       "reply: the gate's id found");
	is_int((long long)tag, 12, "reply: its tag");
	is_str(out, "{\"return\": {}, \"id\": {\"x\": [1, \"a\"]}}\r\n",
	       "reply: the client's id in QEMU's own spelling");
	free(out);
	is_int(gate_reply_unwrap(without, strlen(without), &tag, &out, &len), 1,
	       "reply: an id without the client's");
	is_str(out, "{\"error\": {\"class\": \"GenericError\"}}\r\n",
	       "reply: no id for a command that had none");
	free(out);
	is_int(gate_reply_unwrap(ev, strlen(ev), &tag, &out, &len), 0,
	       "reply: an id nested in an event's data is not the gate's");
}

static void test_rewrite(void)
{
	struct gate_result r;

	r = rw("{\"execute\":\"qmp_capabilities\",\"id\":1}");
	ok(r.kind == GATE_CAPS && r.id && !strcmp(r.id, "1"),
	   "qmp_capabilities is the gate's, with its id");
	gate_result_free(&r);

	r = rw("{\"execute\":\"query-status\",\"execute\":\"blockdev-add\"}");
	ok(r.kind == GATE_SEND && r.json &&
		   !strcmp(r.json, "{\"execute\":\"blockdev-add\",\"id\":[7]}\n"),
	   "a duplicate key: QEMU gets the one the gate saw, and only it");
	gate_result_free(&r);

	r = rw("{'execute':'query-status'}");
	ok(r.kind == GATE_BAD, "single quotes are not JSON: refused");
	gate_result_free(&r);

	r = rw("{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\","
	       "\"filename\":\"/img/s1.qcow2\",\"node-name\":\"s\","
	       "\"auto-read-only\":true,\"aio\":\"io_uring\"},\"id\":\"l-1\"}");
	ok(r.kind == GATE_SEND && r.json &&
		   strstr(r.json, "\"filename\":\"/dev/fdset/1000\"") &&
		   strstr(r.json, "\"locking\":\"off\"") &&
		   strstr(r.json, "\"aio\":\"threads\"") &&
		   strstr(r.json, "\"id\":[7,\"l-1\"]") && !strstr(r.json, "/img/"),
	   "blockdev-add: the file becomes a set, locking off, io_uring off");
	gate_result_free(&r);

	r = rw("{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"qcow2\","
	       "\"node-name\":\"n\",\"backing\":null,\"file\":{\"driver\":\"file\","
	       "\"filename\":\"/img/a\"},\"data-file\":{\"driver\":\"file\","
	       "\"filename\":\"/etc/shadow\"}}}");
	ok(r.kind == GATE_REFUSE && !strncmp(r.desc, "vmseal: /etc/shadow", 19),
	   "blockdev-add: a data-file child outside the roots refuses the lot");
	gate_result_free(&r);

	r = rw("{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\","
	       "\"filename\":\"json:{}\",\"node-name\":\"x\"}}");
	ok(r.kind == GATE_REFUSE && strstr(r.desc, "json: names are refused"),
	   "blockdev-add: json: refused");
	gate_result_free(&r);

	r = rw("{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"ssh\","
	       "\"server\":{\"host\":\"h\"},\"path\":\"/x\",\"node-name\":\"x\"}}");
	ok(r.kind == GATE_REFUSE && strstr(r.desc, "'ssh' is refused"),
	   "blockdev-add: a driver the gate does not know refused");
	gate_result_free(&r);

	r = rw("{\"execute\":\"block-commit\",\"arguments\":{\"device\":\"top\","
	       "\"job-id\":\"j\",\"top-node\":\"mid\",\"base-node\":\"base\"}}");
	ok(r.kind == GATE_SEND && strstr(r.json, "\"backing-file\":\"/img/base.qcow2\""),
	   "block-commit of an intermediate: backing-file is the base's real path");
	gate_result_free(&r);

	r = rw("{\"execute\":\"block-commit\",\"arguments\":{\"device\":\"top\","
	       "\"job-id\":\"j\",\"top-node\":\"top\",\"base-node\":\"base\"}}");
	ok(r.kind == GATE_SEND && !strstr(r.json, "backing-file"),
	   "an active commit gets none (QEMU 7.2 refuses one)");
	gate_result_free(&r);

	r = rw("{\"execute\":\"block-stream\",\"arguments\":{\"device\":\"top\","
	       "\"bottom\":\"mid\"}}");
	ok(r.kind == GATE_REFUSE && strstr(r.desc, "use base-node"),
	   "block-stream with bottom: refused, base-node named");
	gate_result_free(&r);

	r = rw("{\"execute\":\"human-monitor-command\",\"arguments\":"
	       "{\"command-line\":\"  qemu-io top \\\"read 0 1\\\"\"}}");
	ok(r.kind == GATE_SEND, "HMP qemu-io passes");
	gate_result_free(&r);

	r = rw("{\"execute\":\"human-monitor-command\",\"arguments\":"
	       "{\"command-line\":\"savevm x\"}}");
	ok(r.kind == GATE_REFUSE && !strncmp(r.desc, "vmseal: HMP command 'savevm'", 28),
	   "other HMP commands are refused");
	gate_result_free(&r);

	r = rw("{\"execute\":\"migrate\",\"arguments\":{\"uri\":\"unix:/tmp/s\"}}");
	ok(r.kind == GATE_REFUSE, "migrate unix: refused");
	gate_result_free(&r);
}

static void test_wrap_locks(void)
{
	struct gate_result r;

	r = rewrite_with(&wrap_ops,
			 "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":"
			 "\"file\",\"filename\":\"/img/s1.qcow2\",\"node-name\":"
			 "\"s\",\"auto-read-only\":true}}");
	ok(r.kind == GATE_SEND && r.json &&
		   strstr(r.json, "\"filename\":\"/dev/fdset/1000\"") &&
		   !strstr(r.json, "locking") && !strstr(r.json, "auto-read-only") &&
		   strstr(r.json, "\"read-only\":false") &&
		   !strcmp(opened, "rw /img/s1.qcow2;"),
	   "wrap: an auto-read-only file node that can be written is opened "
	   "read-write at once, QEMU's locking left on");
	gate_result_free(&r);

	r = rewrite_with(&wrap_ops,
			 "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":"
			 "\"file\",\"filename\":\"/img/ro/cd.iso\",\"node-name\":"
			 "\"c\",\"auto-read-only\":true}}");
	ok(r.kind == GATE_SEND && r.json && !strstr(r.json, "locking") &&
		   strstr(r.json, "\"auto-read-only\":true") &&
		   !strstr(r.json, "\"read-only\"") &&
		   !strcmp(opened, "ro /img/ro/cd.iso;"),
	   "wrap: one that cannot be written falls back to read-only, as "
	   "auto-read-only would");
	gate_result_free(&r);

	r = rewrite_with(&wrap_ops,
			 "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":"
			 "\"qcow2\",\"node-name\":\"h\",\"backing\":null,"
			 "\"file\":{\"driver\":\"file\",\"filename\":"
			 "\"/img/hot.qcow2\"}}}");
	ok(r.kind == GATE_SEND && r.json && !strstr(r.json, "locking") &&
		   !strcmp(opened, "rw /img/hot.qcow2;"),
	   "wrap: a read-write file node keeps QEMU's locking");
	gate_result_free(&r);

	r = rw("{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":"
	       "\"file\",\"filename\":\"/img/s1.qcow2\",\"node-name\":"
	       "\"s\",\"auto-read-only\":true}}");
	ok(r.kind == GATE_SEND && r.json && strstr(r.json, "\"locking\":\"off\"") &&
		   strstr(r.json, "\"auto-read-only\":true") &&
		   !strcmp(opened, "auto /img/s1.qcow2;"),
	   "run: the same node stays auto-read-only with locking off");
	gate_result_free(&r);
}

int main(void)
{
	test_framer();
	test_reply();
	test_rewrite();
	test_wrap_locks();
	return tap_done();
}
