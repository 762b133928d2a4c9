/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The monitor gate's disks and media that come and go while the guest
 * runs: hot-plugged disks (vmseal attach's x-vmseal-disk-add, or a
 * client's device_add on a node it added through the gate, as libvirt
 * does), their detach, and what the removable devices' trays hold.  Each
 * change is told to whoever keeps the chain record (gate_hooks.changed).
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "launcher/gate_priv.h"
#include "launcher/log.h"

#define FDSET_PATH "/dev/fdset/"

static void tell(struct gate *g, const char *disk, const char *active,
		 const char *format, bool medium)
{
	if (g->hooks.changed)
		g->hooks.changed(g->hooks.changed_arg,
				 &(struct gate_change){ disk, active, format,
							medium });
}

/* Disk k's active layer, when the gate knows its file and driver. */
static void tell_disk(struct gate *g, size_t k)
{
	struct node *n = gate_node_find(g, g->disk_active.v[k]);
	struct fdset *s = gate_node_set(g, g->disk_active.v[k]);

	if (n && s && n->driver)
		tell(g, g->disk_names.v[k], s->path, n->driver, false);
}

void gate_chain_changed(struct gate *g)
{
	for (size_t i = 0; i < g->disk_names.n; i++)
		tell_disk(g, i);
}

static ssize_t find(const struct strv *v, const char *s)
{
	for (size_t i = 0; s && i < v->n; i++)
		if (!strcmp(v->v[i], s))
			return (ssize_t)i;
	return -1;
}

/* Removes element i of v, moving the last one there. */
static void strv_take_out(struct strv *v, size_t i)
{
	free(v->v[i]);
	v->v[i] = v->v[v->n - 1];
	v->v[--v->n] = NULL;
}

/* Disk k left the guest (detach, or its device was deleted). */
static void forget_disk(struct gate *g, size_t k)
{
	_cleanup_free_ char *name = xstrdup(g->disk_names.v[k]);
	ssize_t d = find(&g->dev_disks, name);

	strv_take_out(&g->disk_names, k);
	strv_take_out(&g->disk_active, k);
	if (d >= 0)
		strv_take_out(&g->dev_disks, (size_t)d);
	tell(g, name, NULL, NULL, false);
}

/*
 * Whether node is a member of a disk's chain (its active layer, a backing
 * member, or the copy-on-read filter above it): such a node's device is
 * that disk's, not a new one.
 */
static bool in_a_disk(struct gate *g, const char *node)
{
	struct node *x = gate_node_find(g, node);

	if (x && x->file && x->driver && !strcmp(x->driver, "copy-on-read"))
		node = x->file;
	for (size_t i = 0; i < g->disk_active.n; i++) {
		const char *n = g->disk_active.v[i];

		for (unsigned hops = 0; n && hops <= g->max_depth + 1; hops++) {
			struct node *m = gate_node_find(g, n);

			if (!strcmp(n, node))
				return true;
			n = m ? m->backing : NULL;
		}
	}
	return false;
}

void gate_disk_cmd(struct gate *g, const char *cmd, const char *json,
		   char *desc, size_t n)
{
	struct json_object *o = json_tokener_parse(json), *a = NULL;
	_cleanup_free_ char *disk = NULL, *node = NULL;
	ssize_t k;

	desc[0] = '\0';
	if (o)
		json_object_object_get_ex(o, "arguments", &a);
	disk = gate_dup_member(a, "disk");
	node = gate_dup_member(a, "node");
	json_object_put(o);
	if (!disk) {
		snprintf(desc, n, "vmseal: %s needs a disk", cmd);
		return;
	}
	k = find(&g->disk_names, disk);
	if (!strcmp(cmd, "x-vmseal-disk-del")) {
		if (k < 0)
			snprintf(desc, n, "vmseal: no disk %s", disk);
		else
			forget_disk(g, (size_t)k);
		return;
	}
	if (!gate_node_find(g, node ? node : disk)) {
		snprintf(desc, n, "vmseal: no node %s added through the gate",
			 node ? node : disk);
		return;
	}
	if (k >= 0) {
		gate_set_active(g, (int)k, node ? node : disk);
	} else {
		k = (ssize_t)g->disk_names.n;
		strv_push(&g->disk_names, disk);
		strv_push(&g->disk_active, node ? node : disk);
	}
	tell_disk(g, (size_t)k);
}

void gate_live_after(struct gate *g, const struct pending *p)
{
	const char *id = p->node, *drive = p->node2;

	if (p->after != GATE_AFTER_DEVICE || !gate_node_find(g, drive) ||
	    in_a_disk(g, drive))
		return;
	if (find(&g->disk_names, id) >= 0) {
		vlog(LOG_WARNING, "gate: device %s has a disk's name: the chain "
				  "record does not follow its drive %s",
		     id, drive);
		return;
	}
	strv_push(&g->disk_names, id);
	strv_push(&g->disk_active, drive);
	strv_push(&g->dev_disks, id);
	tell_disk(g, g->disk_names.n - 1);
}

void gate_live_device_deleted(struct gate *g, const char *dev)
{
	ssize_t k = find(&g->disk_names, dev);

	if (k >= 0 && find(&g->dev_disks, dev) >= 0)
		forget_disk(g, (size_t)k);
}

/*
 * The image a tray holds, when the gate opened it: through its node's
 * file child, or (blockdev-change-medium's node has a name QEMU chose)
 * through the fd set its filename names.
 */
static struct fdset *medium_set(struct gate *g, struct json_object *ins)
{
	const char *node = gate_json_str(ins, "node-name"), *file = gate_json_str(ins, "file");
	struct fdset *s = node ? gate_node_set(g, node) : NULL;
	char *end;
	long id;

	if (!s && file && !strncmp(file, FDSET_PATH, strlen(FDSET_PATH))) {
		id = strtol(file + strlen(FDSET_PATH), &end, 10);
		if (!*end && id > 0 && id < 1L << 30)
			s = gate_set_find(g, (int)id);
	}
	return s && s->ours ? s : NULL;
}

void gate_live_media(struct gate *g, const char *line)
{
	struct json_object *o = json_tokener_parse(line), *r;
	struct strv seen = STRV_INIT;

	if (!o || !json_object_object_get_ex(o, "return", &r) ||
	    !json_object_is_type(r, json_type_array)) {
		json_object_put(o);
		return;
	}
	for (size_t i = 0; i < json_object_array_length(r); i++) {
		struct json_object *e = json_object_array_get_idx(r, i), *v,
				   *ins = NULL;
		const char *dev = gate_json_str(e, "qdev"), *node, *drv;
		struct fdset *s = NULL;
		ssize_t k;

		if (!dev || !*dev || dev[0] == '/')
			dev = gate_json_str(e, "device");
		if (!dev || !*dev || !json_object_object_get_ex(e, "removable", &v) ||
		    !json_object_get_boolean(v))
			continue;
		strv_push(&seen, dev);
		if (json_object_object_get_ex(e, "inserted", &ins)) {
			node = gate_json_str(ins, "node-name");
			/* A disk's own device: the disk is recorded, not a medium. */
			if (node && in_a_disk(g, node))
				continue;
			s = medium_set(g, ins);
		}
		drv = gate_json_str(ins, "drv");
		k = find(&g->media_dev, dev);
		if (s && drv) {
			if (k >= 0 && !strcmp(g->media_path.v[k], s->path))
				continue;
			if (k < 0) {
				strv_push(&g->media_dev, dev);
				strv_push(&g->media_path, s->path);
			} else {
				free(g->media_path.v[k]);
				g->media_path.v[k] = xstrdup(s->path);
			}
			tell(g, dev, s->path, drv, true);
		} else if (k >= 0) {
			strv_take_out(&g->media_dev, (size_t)k);
			strv_take_out(&g->media_path, (size_t)k);
			tell(g, dev, NULL, NULL, true);
		}
	}
	/* Devices gone altogether (device_del) take their media along. */
	for (size_t k = 0; k < g->media_dev.n;) {
		_cleanup_free_ char *dev = NULL;

		if (find(&seen, g->media_dev.v[k]) >= 0) {
			k++;
			continue;
		}
		dev = xstrdup(g->media_dev.v[k]);
		strv_take_out(&g->media_dev, k);
		strv_take_out(&g->media_path, k);
		tell(g, dev, NULL, NULL, true);
	}
	strv_free(&seen);
	json_object_put(o);
}
