/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "launcher/argv.h"

/* QEMU's own seccomp layer, under ours: it never blocks open. */
#define QEMU_SANDBOX \
	"on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny"

static void add_common(struct strv *a, const struct plan *p)
{
	const struct guest_config *cfg = p->cfg;

	strv_push(a, cfg->binary);
	for (size_t i = 0; i < cfg->n_args; i++) {
		bool skip;
		char *arg = outputs_rewrite(&p->out, i, cfg->args[i], &skip);

		if (arg)
			strv_push_take(a, arg);
		else if (!skip)
			strv_push(a, cfg->args[i]);
	}
	/* The output files vmseal opens, in fd sets of their own. */
	for (size_t i = 0; i < p->out.n; i++) {
		const struct output *o = &p->out.v[i];

		if (!o->set)
			continue;
		strv_push(a, "-add-fd");
		strv_pushf(a, "fd=%d,set=%d,opaque=vmseal:output:%zu", o->dst,
			   o->set, i);
	}
	if (cfg->qemu_sandbox && config_emulator_is_qemu(cfg)) {
		strv_push(a, "-sandbox");
		strv_push(a, QEMU_SANDBOX);
	}
	if (cfg->kernel) {
		strv_push(a, "-kernel");
		strv_push(a, cfg->kernel);
	}
	if (cfg->initrd) {
		strv_push(a, "-initrd");
		strv_push(a, cfg->initrd);
	}
	if (cfg->append) {
		strv_push(a, "-append");
		strv_push(a, cfg->append);
	}
}

static void add_device(struct strv *a, const struct disk_config *dc)
{
	if (!dc->device)
		return;
	strv_push(a, "-device");
	strv_pushf(a, "%s,drive=%s,id=%s", dc->device, dc->name, dc->name);
}

/*
 * fdset dialect: every member's descriptor joins its own fd set, and the
 * node graph is spelled out bottom-up, each format node naming its
 * backing node, so QEMU never looks at a backing name in a header.
 */
void argv_add_disk_fds(struct strv *a, const struct plan_disk *d)
{
	const struct chain *c = &d->chain;

	for (size_t i = 0; i < c->n; i++) {
		strv_push(a, "-add-fd");
		strv_pushf(a, "fd=%d,set=%d,opaque=vmseal:%s:%zu",
			   d->nodes[i].fd, d->nodes[i].set, d->cfg->name, i);
		if (d->nodes[i].ro_fd) {
			strv_push(a, "-add-fd");
			strv_pushf(a, "fd=%d,set=%d,opaque=vmseal:%s:%zu:ro",
				   d->nodes[i].ro_fd, d->nodes[i].set,
				   d->cfg->name, i);
		}
		if (!c->m[i].data_file)
			continue;
		strv_push(a, "-add-fd");
		strv_pushf(a, "fd=%d,set=%d,opaque=vmseal:%s:%zu:data-file",
			   d->nodes[i].data_fd, d->nodes[i].data_set,
			   d->cfg->name, i);
	}
}

void argv_add_disk_nodes(struct strv *a, const struct plan_disk *d,
			 size_t from)
{
	const struct chain *c = &d->chain;

	for (size_t i = c->n; i-- > from;) {
		const struct chain_member *m = &c->m[i];
		const struct plan_node *nd = &d->nodes[i];
		const char *ro = nd->readonly ? ",read-only=on" : "";
		char data[NODE_NAME_MAX + 16] = "", backing[NODE_NAME_MAX + 16] = "";

		/* A block device is QEMU's host_device, a file its "file". */
		if (m->data_file) {
			strv_push(a, "-blockdev");
			strv_pushf(a, "driver=%s,node-name=%s,filename=/dev/fdset/%d%s",
				   m->data_file->blockdev ? "host_device" : "file",
				   nd->data_node, nd->data_set, ro);
			snprintf(data, sizeof(data), ",data-file=%s",
				 nd->data_node);
		}
		/*
		 * A backing member of a writable disk: its file node degrades
		 * to read-only (its set holds an O_RDONLY descriptor) and a
		 * job through the monitor gate may reopen it read-write.
		 */
		strv_push(a, "-blockdev");
		strv_pushf(a, "driver=%s,node-name=%s,filename=/dev/fdset/%d%s",
			   m->blockdev ? "host_device" : "file", nd->file_node,
			   nd->set,
			   nd->readonly && !d->cfg->readonly ? ",auto-read-only=on" :
							       ro);
		if (m->info.has_backing && i + 1 < c->n)
			snprintf(backing, sizeof(backing), ",backing=%s",
				 d->nodes[i + 1].fmt_node);
		strv_push(a, "-blockdev");
		strv_pushf(a, "driver=%s,node-name=%s,file=%s%s%s%s",
			   vs_format_name(m->info.format), nd->fmt_node,
			   nd->file_node, ro, data, backing);
	}
}

static void add_fdset_disk(struct strv *a, const struct plan_disk *d)
{
	argv_add_disk_fds(a, d);
	argv_add_disk_nodes(a, d, 0);
	/* Reads through it write what they fetched into the top. */
	if (d->cor_node[0]) {
		strv_push(a, "-blockdev");
		strv_pushf(a, "driver=copy-on-read,node-name=%s,file=%s",
			   d->cor_node, d->nodes[0].fmt_node);
	}
	add_device(a, d->cfg);
}

/*
 * drive-fd dialect, the 2011 design card's form: file=fd:N for the top,
 * and for the member at depth k the key "backing" repeated k times,
 * joined by dots, names its fd and that key plus ".format" its format.
 */
static void add_drive_fd_disk(struct strv *a, const struct plan_disk *d)
{
	const struct chain *c = &d->chain;
	char *opt = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&opt, &len);

	if (!f)
		abort(); /* only fails for lack of memory */
	fprintf(f, "file=fd:%d,format=%s", d->nodes[0].fd,
		vs_format_name(c->m[0].info.format));
	for (size_t i = 1; i < c->n; i++) {
		fputc(',', f);
		for (size_t k = 0; k < i; k++)
			fprintf(f, "%sbacking", k ? "." : "");
		fprintf(f, "=fd:%d,", d->nodes[i].fd);
		for (size_t k = 0; k < i; k++)
			fprintf(f, "%sbacking", k ? "." : "");
		fprintf(f, ".format=%s", vs_format_name(c->m[i].info.format));
	}
	for (size_t i = 0; i < c->n; i++) {
		if (!c->m[i].data_file)
			continue;
		fputc(',', f);
		for (size_t k = 0; k < i; k++)
			fprintf(f, "backing.");
		fprintf(f, "data-file=fd:%d", d->nodes[i].data_fd);
	}
	fprintf(f, ",if=none,id=%s%s%s", d->cfg->name,
		d->cfg->readonly ? ",readonly=on" : "",
		d->cfg->copy_on_read ? ",copy-on-read=on" : "");
	if (fclose(f) != 0)
		abort();
	strv_push(a, "-drive");
	strv_push_take(a, opt);
	add_device(a, d->cfg);
}

char **argv_build(const struct plan *p)
{
	struct strv a = STRV_INIT;

	add_common(&a, p);
	for (size_t k = 0; k < p->n_disks; k++) {
		if (p->cfg->dialect == VS_DIALECT_DRIVE_FD)
			add_drive_fd_disk(&a, &p->disks[k]);
		else
			add_fdset_disk(&a, &p->disks[k]);
	}
	return strv_steal(&a);
}

/*
 * Whether item (one comma-separated element of a QEMU option string) sets
 * an "aio" key, bare or nested (file.aio), to io_uring.
 */
static bool is_io_uring_item(const char *item, size_t n)
{
	static const char key[] = "aio=io_uring";
	size_t k = sizeof(key) - 1;

	if (n < k || memcmp(item + n - k, key, k) != 0)
		return false;
	return n == k || item[n - k - 1] == '.';
}

/* Rewrites keyval items in place; QEMU escapes a comma as ",,". */
static size_t rewrite_keyval(char **opt)
{
	char *s = *opt, *out, *o;
	size_t count = 0;

	out = o = xmalloc(strlen(s) + 1);
	while (*s) {
		const char *start = s;
		size_t n;

		while (*s && !(*s == ',' && s[1] != ',')) {
			if (*s == ',')
				s++; /* the escaped pair */
			s++;
		}
		n = (size_t)(s - start);
		if (is_io_uring_item(start, n)) {
			memcpy(o, start, n - strlen("io_uring"));
			o += n - strlen("io_uring");
			o = stpcpy(o, "threads");
			count++;
		} else {
			memcpy(o, start, n);
			o += n;
		}
		if (*s == ',')
			*o++ = *s++;
	}
	*o = '\0';
	if (count) {
		free(*opt);
		*opt = out;
	} else {
		free(out);
	}
	return count;
}

/* Every "aio": "io_uring" member, at any depth of a JSON option. */
static size_t rewrite_json_object(struct json_object *o)
{
	size_t count = 0;

	if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			count += rewrite_json_object(json_object_array_get_idx(o, i));
		return count;
	}
	if (!json_object_is_type(o, json_type_object))
		return 0;
	json_object_object_foreach(o, key, val) {
		if (!strcmp(key, "aio") && json_object_is_type(val, json_type_string) &&
		    !strcmp(json_object_get_string(val), "io_uring")) {
			json_object_object_add(o, key,
					       json_object_new_string("threads"));
			count++;
		} else {
			count += rewrite_json_object(val);
		}
	}
	return count;
}

/* A JSON option QEMU would parse; left alone if it does not parse. */
static size_t rewrite_json(char **opt)
{
	struct json_object *o = json_tokener_parse(*opt);
	size_t count;

	if (!o)
		return 0;
	count = rewrite_json_object(o);
	if (count) {
		free(*opt);
		*opt = xstrdup(json_object_to_json_string_ext(o,
							      JSON_C_TO_STRING_PLAIN));
	}
	json_object_put(o);
	return count;
}

size_t argv_rewrite_io_uring(char **argv)
{
	size_t count = 0;

	for (size_t i = 1; argv[i] && argv[i + 1]; i++) {
		if (strcmp(argv[i], "-drive") != 0 &&
		    strcmp(argv[i], "-blockdev") != 0)
			continue;
		i++;
		count += argv[i][0] == '{' ? rewrite_json(&argv[i]) :
					    rewrite_keyval(&argv[i]);
	}
	return count;
}
