/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmseal qmp, snapshot, commit, stream, copy, attach, detach, media: thin
 * clients of a running guest's monitor gate.  Each is the QMP sequence
 * libvirt 9.0 uses for the same operation; the gate turns every file it
 * names into a descriptor, so these commands never open an image
 * themselves.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/path.h"
#include "common/xalloc.h"
#include "launcher/cli.h"
#include "launcher/commands.h"
#include "launcher/exitcode.h"
#include "launcher/gate.h"
#include "launcher/qmp.h"
#include "launcher/rundir.h"

struct gc {
	struct qmp q;
	const struct cli *cli;
	char err[1024];
	unsigned seq;
};

static int fail(struct gc *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int fail(struct gc *g, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(g->err, sizeof(g->err), fmt, ap);
	va_end(ap);
	return -1;
}

/*
 * Runs one command (printf-style JSON): its "return" value (a new
 * reference; an empty object when it has none), or NULL with g->err.
 */
static struct json_object *call(struct gc *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static struct json_object *call(struct gc *g, const char *fmt, ...)
{
	_cleanup_free_ char *cmd = NULL;
	struct json_object *o, *r, *e, *d;
	char reply[65536];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		cmd = NULL;
	va_end(ap);
	if (!cmd) {
		fail(g, "out of memory");
		return NULL;
	}
	rc = qmp_exec(&g->q, cmd, reply, sizeof(reply));
	if (rc < 0) {
		fail(g, "the monitor: %s", strerror(-rc));
		return NULL;
	}
	o = json_tokener_parse(reply);
	if (!o) {
		fail(g, "an answer that is not JSON: %.200s", reply);
		return NULL;
	}
	if (json_object_object_get_ex(o, "error", &e)) {
		fail(g, "%s", json_object_object_get_ex(e, "desc", &d) ?
				      json_object_get_string(d) :
				      reply);
		json_object_put(o);
		return NULL;
	}
	r = json_object_object_get_ex(o, "return", &r) ? json_object_get(r) :
							   json_object_new_object();
	json_object_put(o);
	return r;
}

/* The same, for a command whose answer does not matter: 0 or -1. */
static int run(struct gc *g, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int run(struct gc *g, const char *fmt, ...)
{
	_cleanup_free_ char *cmd = NULL;
	struct json_object *r;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&cmd, fmt, ap) < 0)
		cmd = NULL;
	va_end(ap);
	if (!cmd)
		return fail(g, "out of memory");
	r = call(g, "%s", cmd);
	if (!r)
		return -1;
	json_object_put(r);
	return 0;
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return json_object_get_string(v);
}

/* A JSON string literal for s (escaped), valid until the next call. */
static const char *js(const char *s)
{
	static char buf[4][8192];
	static int k;
	struct json_object *o = json_object_new_string(s);

	k = (k + 1) % 4;
	snprintf(buf[k], sizeof(buf[k]), "%s",
		 json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							   JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return buf[k];
}

/* A node name no one else uses: vs + the pid and a counter. */
static void node_name(struct gc *g, char *out, size_t n, const char *suffix)
{
	snprintf(out, n, "vsg%x-%u%s", (unsigned)getpid() & 0xfffff, ++g->seq,
		 suffix);
}

/* ---- disks and jobs ---------------------------------------------------- */

/* The gate's view of disk: {"disk", "active", "chain": [{node, filename}]}. */
static struct json_object *disk_info(struct gc *g, const char *disk)
{
	struct json_object *all = call(g, "{\"execute\":\"x-vmseal-query-disks\"}"),
			   *found = NULL;

	if (!all)
		return NULL;
	for (size_t i = 0; i < json_object_array_length(all); i++) {
		struct json_object *d = json_object_array_get_idx(all, i);
		const char *name = str(d, "disk");

		if (name && !strcmp(name, disk))
			found = json_object_get(d);
	}
	json_object_put(all);
	if (!found)
		fail(g, "%s: no such disk", disk);
	return found;
}

static struct json_object *chain_of(struct json_object *d, size_t *n)
{
	struct json_object *c = NULL;

	json_object_object_get_ex(d, "chain", &c);
	*n = c ? json_object_array_length(c) : 0;
	return c;
}

/* The chain member whose image is path (normalised), or -1. */
static int member_of(struct json_object *d, const char *path)
{
	_cleanup_free_ char *norm = path_normalize(path);
	size_t n;
	struct json_object *c = chain_of(d, &n);

	for (size_t i = 0; norm && i < n; i++) {
		const char *f = str(json_object_array_get_idx(c, i), "filename");

		if (f && !strcmp(f, norm))
			return (int)i;
	}
	return -1;
}

static const char *member_node(struct json_object *d, size_t i)
{
	size_t n;
	struct json_object *c = chain_of(d, &n);

	return i < n ? str(json_object_array_get_idx(c, i), "node") : NULL;
}

static const char *member_file_node(struct json_object *d, size_t i)
{
	size_t n;
	struct json_object *c = chain_of(d, &n);

	return i < n ? str(json_object_array_get_idx(c, i), "file-node") : NULL;
}

static void progress(const char *id, int64_t cur, int64_t total, bool done)
{
	int w = 40, k;

	if (!isatty(STDERR_FILENO))
		return;
	k = total > 0 ? (int)(cur * w / total) : (done ? w : 0);
	fprintf(stderr, "\r%s [%.*s%*s] %3d%%", id, k,
		"########################################", w - k, "",
		total > 0 ? (int)(cur * 100 / total) : (done ? 100 : 0));
	if (done)
		fputc('\n', stderr);
	fflush(stderr);
}

/*
 * Waits until job id reaches status (or concludes): 0, or -1 with
 * g->err (the job's error).  A progress bar on a terminal.
 */
static int wait_job(struct gc *g, const char *id, const char *status)
{
	struct timespec pause = { 0, 50 * 1000 * 1000 };

	for (;;) {
		struct json_object *jobs = call(g, "{\"execute\":\"query-jobs\"}");
		struct json_object *j = NULL;
		const char *st;

		if (!jobs)
			return -1;
		for (size_t i = 0; i < json_object_array_length(jobs); i++) {
			struct json_object *e = json_object_array_get_idx(jobs, i);

			if (str(e, "id") && !strcmp(str(e, "id"), id))
				j = e;
		}
		if (!j) {
			json_object_put(jobs);
			return fail(g, "job %s is gone", id);
		}
		st = str(j, "status");
		{
			struct json_object *c, *t;

			json_object_object_get_ex(j, "current-progress", &c);
			json_object_object_get_ex(j, "total-progress", &t);
			progress(id, c ? json_object_get_int64(c) : 0,
				 t ? json_object_get_int64(t) : 0,
				 st && (!strcmp(st, status) ||
					!strcmp(st, "concluded")));
		}
		if (st && !strcmp(st, "concluded")) {
			const char *e = str(j, "error");

			if (e) {
				fail(g, "job %s: %s", id, e);
				json_object_put(jobs);
				run(g, "{\"execute\":\"job-dismiss\",\"arguments\":"
				       "{\"id\":%s}}",
				    js(id));
				return -1;
			}
			json_object_put(jobs);
			return strcmp(status, "concluded") ?
				       fail(g, "job %s ended before it was %s",
					    id, status) :
				       0;
		}
		if (st && !strcmp(st, status)) {
			json_object_put(jobs);
			return 0;
		}
		json_object_put(jobs);
		nanosleep(&pause, NULL);
	}
}

static int job(struct gc *g, const char *id, const char *cmd)
{
	if (run(g, "%s", cmd) < 0 || wait_job(g, id, "concluded") < 0)
		return -1;
	return run(g, "{\"execute\":\"job-dismiss\",\"arguments\":{\"id\":%s}}",
		   js(id));
}

/* Drops chain members [from, to) (format node, then its file node). */
static int drop_members(struct gc *g, struct json_object *d, size_t from,
			size_t to)
{
	for (size_t i = from; i < to; i++) {
		const char *n = member_node(d, i), *f = member_file_node(d, i);

		if (n && run(g, "{\"execute\":\"blockdev-del\",\"arguments\":"
				"{\"node-name\":%s}}",
			     js(n)) < 0)
			return -1;
		if (f && run(g, "{\"execute\":\"blockdev-del\",\"arguments\":"
				"{\"node-name\":%s}}",
			     js(f)) < 0)
			return -1;
	}
	return 0;
}

/* A new qcow2 image at path (vmseal creates the file) as nodes fnode/fmt. */
static int new_qcow2(struct gc *g, const char *path, int64_t size,
		     const char *backing, const char *backing_fmt,
		     const char *fnode, const char *fmt)
{
	char id[64], bf[8300] = "";

	node_name(g, id, sizeof(id), "-create");
	{
		_cleanup_free_ char *c = xasprintf(
			"{\"execute\":\"blockdev-create\",\"arguments\":{\"job-id\":%s,"
			"\"options\":{\"driver\":\"file\",\"filename\":%s,\"size\":0}}}",
			js(id), js(path));

		if (job(g, id, c) < 0)
			return -1;
	}
	if (run(g, "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":"
		   "\"file\",\"filename\":%s,\"node-name\":%s,"
		   "\"auto-read-only\":true,\"discard\":\"unmap\"}}",
		js(path), js(fnode)) < 0)
		return -1;
	if (backing)
		snprintf(bf, sizeof(bf), ",\"backing-file\":%s,\"backing-fmt\":%s",
			 js(backing), js(backing_fmt));
	node_name(g, id, sizeof(id), "-create");
	{
		_cleanup_free_ char *c = xasprintf(
			"{\"execute\":\"blockdev-create\",\"arguments\":{\"job-id\":%s,"
			"\"options\":{\"driver\":\"qcow2\",\"file\":%s,\"size\":%lld%s}}}",
			js(id), js(fnode), (long long)size, bf);

		if (job(g, id, c) < 0)
			return -1;
	}
	return run(g, "{\"execute\":\"blockdev-add\",\"arguments\":{\"node-name\":"
		      "%s,\"read-only\":false,\"driver\":\"qcow2\",\"file\":%s,"
		      "\"backing\":null}}",
		   js(fmt), js(fnode));
}

/* A node's virtual size and driver, from query-named-block-nodes. */
static int node_size(struct gc *g, const char *node, int64_t *size,
		     char *drv, size_t n)
{
	struct json_object *all = call(g, "{\"execute\":\"query-named-block-nodes\","
					  "\"arguments\":{\"flat\":true}}");
	int rc = fail(g, "node %s not found", node);

	for (size_t i = 0; all && i < json_object_array_length(all); i++) {
		struct json_object *e = json_object_array_get_idx(all, i), *img, *v;

		if (!str(e, "node-name") || strcmp(str(e, "node-name"), node))
			continue;
		if (json_object_object_get_ex(e, "image", &img) &&
		    json_object_object_get_ex(img, "virtual-size", &v)) {
			*size = json_object_get_int64(v);
			snprintf(drv, n, "%s", str(e, "drv") ?: "qcow2");
			rc = 0;
			g->err[0] = '\0';
		}
	}
	json_object_put(all);
	return all ? rc : -1;
}

/* ---- the commands ----------------------------------------------------- */

static void say(struct gc *g, const char *disk, struct json_object *d)
{
	size_t n;
	struct json_object *c = chain_of(d, &n);

	if (g->cli->json) {
		printf("%s\n", json_object_to_json_string_ext(
				       d, JSON_C_TO_STRING_PLAIN |
						  JSON_C_TO_STRING_NOSLASHESCAPE));
		return;
	}
	printf("%s:", disk);
	for (size_t i = 0; i < n; i++) {
		const char *f = str(json_object_array_get_idx(c, i), "filename");

		printf("%s%s", i ? " <- " : " ", f ? f : "?");
	}
	printf("\n");
}

/* After the operation: the disk's chain as the gate now sees it. */
static int report(struct gc *g, const char *disk)
{
	struct json_object *d = disk_info(g, disk);

	if (!d)
		return -1;
	say(g, disk, d);
	json_object_put(d);
	return 0;
}

static int do_snapshot(struct gc *g, const char *disk, const char *file)
{
	struct json_object *d = disk_info(g, disk);
	char fnode[48], fmt[48], drv[32];
	const char *top, *path;
	int64_t size;
	int rc = -1;

	if (!d)
		return -1;
	top = member_node(d, 0);
	path = str(json_object_array_get_idx(json_object_object_get(d, "chain"), 0),
		   "filename");
	if (!top || !path) {
		fail(g, "%s: its active layer is unknown", disk);
		goto out;
	}
	if (node_size(g, top, &size, drv, sizeof(drv)) < 0)
		goto out;
	node_name(g, fnode, sizeof(fnode), "-file");
	node_name(g, fmt, sizeof(fmt), "");
	if (new_qcow2(g, file, size, path, drv, fnode, fmt) < 0)
		goto out;
	rc = run(g, "{\"execute\":\"transaction\",\"arguments\":{\"actions\":[{"
		    "\"type\":\"blockdev-snapshot\",\"data\":{\"node\":%s,"
		    "\"overlay\":%s}}]}}",
		 js(top), js(fmt));
out:
	json_object_put(d);
	return rc ? rc : report(g, disk);
}

/* The index of --base in the chain (default: next), or -1 with err. */
static int base_index(struct gc *g, struct json_object *d, size_t dflt)
{
	size_t n;
	int b;

	chain_of(d, &n);
	if (!g->cli->base)
		return dflt < n ? (int)dflt : fail(g, "the chain has no backing");
	b = member_of(d, g->cli->base);
	if (b <= 0)
		return fail(g, "%s is not a backing member of the chain",
			    g->cli->base);
	return b;
}

static int do_commit(struct gc *g, const char *disk)
{
	struct json_object *d = disk_info(g, disk);
	char id[64];
	const char *top;
	int b, rc = -1;

	if (!d)
		return -1;
	top = member_node(d, 0);
	b = base_index(g, d, 1);
	if (b < 0 || !top)
		goto out;
	node_name(g, id, sizeof(id), "-commit");
	if (run(g, "{\"execute\":\"block-commit\",\"arguments\":{\"device\":%s,"
		   "\"job-id\":%s,\"top-node\":%s,\"base-node\":%s,"
		   "\"auto-finalize\":true,\"auto-dismiss\":false}}",
		js(top), js(id), js(top), js(member_node(d, (size_t)b))) < 0 ||
	    wait_job(g, id, "ready") < 0)
		goto out;
	if (run(g, g->cli->pivot ?
			   "{\"execute\":\"job-complete\",\"arguments\":{\"id\":%s}}" :
			   "{\"execute\":\"block-job-cancel\",\"arguments\":"
			   "{\"device\":%s}}",
		js(id)) < 0 ||
	    wait_job(g, id, "concluded") < 0 ||
	    run(g, "{\"execute\":\"job-dismiss\",\"arguments\":{\"id\":%s}}",
		js(id)) < 0)
		goto out;
	rc = g->cli->pivot ? drop_members(g, d, 0, (size_t)b) : 0;
out:
	json_object_put(d);
	return rc ? rc : report(g, disk);
}

static int do_stream(struct gc *g, const char *disk)
{
	struct json_object *d = disk_info(g, disk);
	char id[64], base[300] = "";
	const char *top;
	size_t n;
	int b, rc = -1;

	if (!d)
		return -1;
	chain_of(d, &n);
	top = member_node(d, 0);
	b = g->cli->base ? base_index(g, d, 1) : (int)n;
	if (b < 0 || !top)
		goto out;
	if (g->cli->base)
		snprintf(base, sizeof(base), ",\"base-node\":%s",
			 js(member_node(d, (size_t)b)));
	node_name(g, id, sizeof(id), "-stream");
	{
		_cleanup_free_ char *c = xasprintf(
			"{\"execute\":\"block-stream\",\"arguments\":{\"device\":%s,"
			"\"job-id\":%s%s,\"auto-finalize\":true,"
			"\"auto-dismiss\":false}}",
			js(top), js(id), base);

		if (job(g, id, c) < 0)
			goto out;
	}
	/* The emptied members leave the chain. */
	rc = drop_members(g, d, 1, (size_t)b);
out:
	json_object_put(d);
	return rc ? rc : report(g, disk);
}

static int do_copy(struct gc *g, const char *disk, const char *file)
{
	struct json_object *d = disk_info(g, disk);
	char fnode[48], fmt[48], id[64], drv[32];
	const char *top;
	int64_t size;
	size_t n;
	int rc = -1;

	if (!d)
		return -1;
	chain_of(d, &n);
	top = member_node(d, 0);
	if (!top || node_size(g, top, &size, drv, sizeof(drv)) < 0)
		goto out;
	node_name(g, fnode, sizeof(fnode), "-file");
	node_name(g, fmt, sizeof(fmt), "");
	node_name(g, id, sizeof(id), "-copy");
	if (new_qcow2(g, file, size, NULL, NULL, fnode, fmt) < 0 ||
	    run(g, "{\"execute\":\"blockdev-mirror\",\"arguments\":{\"job-id\":%s,"
		   "\"device\":%s,\"target\":%s,\"sync\":\"full\","
		   "\"auto-finalize\":true,\"auto-dismiss\":false}}",
		js(id), js(top), js(fmt)) < 0 ||
	    wait_job(g, id, "ready") < 0)
		goto out;
	if (run(g, g->cli->pivot ?
			   "{\"execute\":\"job-complete\",\"arguments\":{\"id\":%s}}" :
			   "{\"execute\":\"block-job-cancel\",\"arguments\":"
			   "{\"device\":%s}}",
		js(id)) < 0 ||
	    wait_job(g, id, "concluded") < 0 ||
	    run(g, "{\"execute\":\"job-dismiss\",\"arguments\":{\"id\":%s}}",
		js(id)) < 0)
		goto out;
	if (g->cli->pivot) {
		rc = drop_members(g, d, 0, n);
	} else {
		rc = run(g, "{\"execute\":\"blockdev-del\",\"arguments\":"
			    "{\"node-name\":%s}}",
			 js(fmt));
		if (!rc)
			rc = run(g, "{\"execute\":\"blockdev-del\",\"arguments\":"
				    "{\"node-name\":%s}}",
				 js(fnode));
	}
out:
	json_object_put(d);
	return rc ? rc : report(g, disk);
}

static int do_attach(struct gc *g, const char *disk)
{
	const struct cli *c = g->cli;

	if (!c->image || !c->format)
		return fail(g, "attach needs --image FILE and --format F");
	if (run(g, "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":%s,"
		   "\"node-name\":%s,\"read-only\":%s,\"file\":{\"driver\":"
		   "\"file\",\"filename\":%s,\"auto-read-only\":true}}}",
		js(c->format), js(disk), c->readonly ? "true" : "false",
		js(c->image)) < 0)
		return -1;
	if (run(g, "{\"execute\":\"x-vmseal-disk-add\",\"arguments\":{\"disk\":%s}}",
		js(disk)) < 0)
		return -1;
	if (c->device &&
	    run(g, "{\"execute\":\"device_add\",\"arguments\":{\"driver\":%s,"
		   "\"drive\":%s,\"id\":%s}}",
		js(c->device), js(disk), js(disk)) < 0)
		return -1;
	return report(g, disk);
}

static int do_detach(struct gc *g, const char *disk)
{
	struct json_object *d = disk_info(g, disk);
	struct timespec pause = { 0, 100 * 1000 * 1000 };
	size_t n;
	int rc = -1;

	if (!d)
		return -1;
	chain_of(d, &n);
	/* A device first; none is fine (a node without one). */
	run(g, "{\"execute\":\"device_del\",\"arguments\":{\"id\":%s}}", js(disk));
	for (int i = 0; i < 100; i++) {
		rc = drop_members(g, d, 0, 1);
		if (rc == 0 || !strstr(g->err, "in use"))
			break;
		nanosleep(&pause, NULL);
	}
	if (rc == 0)
		rc = drop_members(g, d, 1, n);
	if (rc == 0)
		rc = run(g, "{\"execute\":\"x-vmseal-disk-del\",\"arguments\":"
			    "{\"disk\":%s}}",
			 js(disk));
	json_object_put(d);
	if (rc == 0) {
		if (g->cli->json)
			printf("{\"disk\": %s, \"detached\": true}\n", js(disk));
		else
			printf("%s: detached\n", disk);
	}
	return rc;
}

static int do_media(struct gc *g, const char *dev, const char *file)
{
	struct json_object *blk = call(g, "{\"execute\":\"query-block\"}");
	char node[48];
	const char *old = NULL;
	int rc;

	for (size_t i = 0; blk && i < json_object_array_length(blk); i++) {
		struct json_object *e = json_object_array_get_idx(blk, i), *ins;

		if (!str(e, "qdev") || strcmp(str(e, "qdev"), dev))
			continue;
		if (json_object_object_get_ex(e, "inserted", &ins))
			old = str(ins, "node-name");
	}
	rc = run(g, "{\"execute\":\"blockdev-open-tray\",\"arguments\":"
		    "{\"id\":%s,\"force\":true}}",
		 js(dev));
	if (!rc)
		rc = run(g, "{\"execute\":\"blockdev-remove-medium\",\"arguments\":"
			    "{\"id\":%s}}",
			 js(dev));
	if (!rc && old)
		rc = run(g, "{\"execute\":\"blockdev-del\",\"arguments\":"
			    "{\"node-name\":%s}}",
			 js(old));
	json_object_put(blk);
	if (rc == 0 && file) {
		node_name(g, node, sizeof(node), "-media");
		rc = run(g, "{\"execute\":\"blockdev-add\",\"arguments\":{"
			    "\"driver\":%s,\"node-name\":%s,\"read-only\":true,"
			    "\"file\":{\"driver\":\"file\",\"filename\":%s}}}",
			 js(g->cli->format ? g->cli->format : "raw"), js(node),
			 js(file));
		if (!rc)
			rc = run(g, "{\"execute\":\"blockdev-insert-medium\","
				    "\"arguments\":{\"id\":%s,\"node-name\":%s}}",
				 js(dev), js(node));
	}
	if (rc == 0)
		rc = run(g, "{\"execute\":\"blockdev-close-tray\",\"arguments\":"
			    "{\"id\":%s}}",
			 js(dev));
	if (rc == 0) {
		if (g->cli->json)
			printf("{\"device\": %s, \"medium\": %s}\n", js(dev),
			       file ? js(file) : "null");
		else
			printf("%s: %s\n", dev, file ? file : "ejected");
	}
	return rc;
}

/* vmseal qmp NAME JSON: the reply line as QEMU wrote it. */
static int do_qmp(struct gc *g, const char *json)
{
	char reply[65536];
	int rc = qmp_exec(&g->q, json, reply, sizeof(reply));

	if (rc < 0)
		return fail(g, "the monitor: %s", strerror(-rc));
	printf("%s\n", reply);
	return strstr(reply, "\"error\"") &&
			       !strstr(reply, "\"return\"") ?
		       1 :
		       0;
}

static size_t count(char **v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

int cmd_gate(const struct cli *cli)
{
	static const struct {
		enum cli_command cmd;
		size_t args;	/* after NAME */
		const char *usage;
	} shape[] = {
		{ CMD_QMP, 1, "NAME JSON" },
		{ CMD_SNAPSHOT, 2, "NAME DISK FILE" },
		{ CMD_COMMIT, 1, "NAME DISK" },
		{ CMD_STREAM, 1, "NAME DISK" },
		{ CMD_COPY, 2, "NAME DISK FILE" },
		{ CMD_ATTACH, 1, "NAME DISK" },
		{ CMD_DETACH, 1, "NAME DISK" },
		{ CMD_MEDIA, 2, "NAME DEVICE FILE|--eject" },
	};
	struct gc g = { .cli = cli };
	struct vs_err err = { 0 };
	_cleanup_free_ char *sock = NULL;
	size_t want = 0, n = count(cli->rest);
	char **a = cli->rest;
	int rc;

	for (size_t i = 0; i < sizeof(shape) / sizeof(shape[0]); i++)
		if (shape[i].cmd == cli->cmd)
			want = shape[i].args - (cli->cmd == CMD_MEDIA && cli->eject);
	if (n != want) {
		fprintf(stderr, "vmseal: %s arguments; see --help\n",
			n < want ? "missing" : "too many");
		return EXIT_USAGE;
	}
	if (strchr(cli->arg, '/') || !cli->arg[0] || cli->arg[0] == '.') {
		fprintf(stderr, "vmseal: '%s' is not a guest name\n", cli->arg);
		return EXIT_USAGE;
	}
	rc = rundir_running(cli->arg);
	/*
	 * A [monitor] group member may not open RUN/NAME (0710) to see its
	 * lock: the socket itself says (refused: not running).
	 */
	if (rc == 0 || (rc < 0 && rc != -EACCES)) {
		fprintf(stderr, "vmseal: %s: not running\n", cli->arg);
		return EXIT_UNAVAILABLE;
	}
	sock = xasprintf("%s/%s/%s", rundir_base(), cli->arg, GATE_SOCKET);
	if (qmp_open(&g.q, sock, 5, &err) < 0) {
		char buf[1200];

		fprintf(stderr, "vmseal: %s\n", vs_err_str(&err, buf, sizeof(buf)));
		return err.code == ENOENT || err.code == ECONNREFUSED ?
			       EXIT_UNAVAILABLE :
			       1;
	}
	switch (cli->cmd) {
	case CMD_QMP:
		rc = do_qmp(&g, a[0]);
		break;
	case CMD_SNAPSHOT:
		rc = do_snapshot(&g, a[0], a[1]);
		break;
	case CMD_COMMIT:
		rc = do_commit(&g, a[0]);
		break;
	case CMD_STREAM:
		rc = do_stream(&g, a[0]);
		break;
	case CMD_COPY:
		rc = do_copy(&g, a[0], a[1]);
		break;
	case CMD_ATTACH:
		rc = do_attach(&g, a[0]);
		break;
	case CMD_DETACH:
		rc = do_detach(&g, a[0]);
		break;
	case CMD_MEDIA:
		rc = do_media(&g, a[0], cli->eject ? NULL : a[1]);
		break;
	default:
		rc = -1;
		fail(&g, "not a gate command");
	}
	qmp_close(&g.q);
	if (rc < 0) {
		fprintf(stderr, "vmseal: %s: %s\n", cli->arg, g.err);
		return 1;
	}
	return rc;
}
