/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * SELinux labels follow the files the monitor gate hands QEMU: a file it
 * opens (a snapshot overlay, a copy target, a hot-plugged disk and its
 * backing chain, a medium) is labelled before QEMU gets it, a member a
 * job writes gets the image label, and a file whose last node QEMU
 * deletes (the members a stream or commit dropped, a detached disk) gets
 * its previous label back.  The labels themselves are launcher/labels.c's
 * (gate_hooks.label_use and label_drop).
 */
#include <sys/stat.h>

#include "launcher/gate_priv.h"

int gate_label_use(struct gate *g, int fd, const char *path, bool writable,
		   char *why, size_t n)
{
	if (!g->hooks.label_use)
		return 0;
	return g->hooks.label_use(g->hooks.label_arg, fd, path, writable, why,
				  n);
}

/* Whether set s is on the same file as (dev, ino). */
static bool same_file(const struct fdset *s, const struct stat *st)
{
	struct stat o;

	return s && s->opath >= 0 && fstat(s->opath, &o) == 0 &&
	       o.st_dev == st->st_dev && o.st_ino == st->st_ino;
}

void gate_label_node_gone(struct gate *g, const char *node)
{
	struct node *n = gate_node_find(g, node);
	struct fdset *s = n && n->set ? gate_set_find(g, n->set) : NULL;
	struct stat st;

	if (!g->hooks.label_drop || !s || s->opath < 0 || fstat(s->opath, &st) < 0)
		return;
	/* Another node on the same file (the same image added twice). */
	for (size_t i = 0; i < g->nnodes; i++) {
		const struct node *o = &g->nodes[i];

		if (o != n && o->set && same_file(gate_set_find(g, o->set), &st))
			return;
	}
	g->hooks.label_drop(g->hooks.label_arg, s->opath, s->path);
}
