/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_CHAIN_RECORD_H
#define VS_CHAIN_RECORD_H

#include <stddef.h>

#include "chain/chain.h"
#include "common/err.h"

/*
 * The chain record (libvirt's idea of keeping the resolved chain while a
 * domain runs): what `vmseal chain --json` prints and what `vmseal run`
 * stores for tools and later block jobs, in one serializer.  A member is
 * an object with qemu-img's keys (filename, format, virtual-size,
 * backing-filename, full-backing-filename, backing-filename-format) and
 * vmseal's (depth, access, dev, ino, size, mtime, mtime-nsec,
 * header-sha256, header-bytes, and block-device, format-from-config,
 * data-file, extents where they apply).
 *
 * The record never decides anything about security: every launch
 * resolves every chain again under the same rules and only compares.
 */
struct json_object;

#define RECORD_VERSION 1

/* The chain as an array of members, top first (like qemu-img's). */
struct json_object *record_chain_json(const struct chain *c);

/* One disk of a guest, for record_json(). */
struct record_disk {
	const char *name;
	const char *image;
	const char *format;
	const struct chain *chain;
};

/* {"version": 1, "guest": NAME, "disks": [{name, image, format, chain}]} */
struct json_object *record_json(const char *guest,
				const struct record_disk *disks, size_t n);

/*
 * Writes rec to path atomically (a temp file in the same directory,
 * fsync, rename), mode 0644, creating missing directories 0755.
 */
int record_write(const char *path, struct json_object *rec,
		 struct vs_err *err);

/* Reads a record; -ENOENT when there is none, -EINVAL when not one. */
int record_load(const char *path, struct json_object **out,
		struct vs_err *err);

/*
 * Compares disk's chain in an old record with a freshly resolved chain.
 * Returns 0 when every member matches (filename, dev, ino, size, mtime,
 * header digest, data file), 1 with why ("/img/b.qcow2 changed (mtime,
 * header)") when not, -ENOENT when the record has no such disk.
 */
int record_compare(struct json_object *rec, const char *disk,
		   const struct chain *c, char *why, size_t len);

#endif
