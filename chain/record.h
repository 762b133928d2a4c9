/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_CHAIN_RECORD_H
#define VS_CHAIN_RECORD_H

#include <stddef.h>

#include "chain/chain.h"
#include "common/err.h"

/*
 * The chain record (libvirt's idea of keeping the resolved chain while a
 * domain runs): what `vmseal chain --json` prints and what `vmseal run`
 * stores, in one serializer.  A member is an object with the keys
 * `qemu-img info --backing-chain --output=json` gives, with the same
 * meanings (filename, format, virtual-size, actual-size, cluster-size,
 * dirty-flag, format-specific, backing-filename, full-backing-filename,
 * backing-filename-format), and vmseal's own fields under "vmseal":
 * depth, access, dev, ino, size, mtime, mtime-nsec, header-bytes,
 * header-sha256 (when the walk hashed headers), backing (the pin: the
 * backing reference as the header writes it, {"name", "format"}),
 * data-file-name (the other pinned reference), and block-device,
 * format-from-config, data-file, extents where they apply.
 *
 * The record pins every member's backing reference: a header that names
 * a different backing file than the record is refused by `check` and
 * `run` until an admin accepts it (`vmseal chain --accept`), because a
 * guest can write the header of its writable image.  Everything else in
 * the record only says what changed.
 */
struct json_object;

#define RECORD_VERSION 2

/* The chain as a JSON array of members, top first (like qemu-img's). */
char *record_chain_text(const struct chain *c);

/* The same, and a newline, written to fd as it is made; 0 or -errno. */
int record_chain_write(int fd, const struct chain *c);

/* One disk of a guest, for record_text(). */
struct record_disk {
	const char *name;
	const char *image;
	const char *format;
	const struct chain *chain;
	/*
	 * NULL for a disk of the config; "hot-plug" for a disk attached
	 * while the guest runs (name: its disk or device id), "medium" for
	 * what a removable device holds (name: the device's id).  Written as
	 * the disk's "live" key: `run` rewrites the record from the config,
	 * so such entries last until the guest's next start at most.
	 */
	const char *live;
};

/*
 * {"version": 2, "guest": NAME, "disks": [{name, image, format[, live],
 * chain}]}
 */
char *record_text(const char *guest, const struct record_disk *disks,
		  size_t n);

/*
 * Writes text to path atomically (a temp file in the same directory,
 * fsync, rename), mode 0644, creating missing directories 0755.
 */
int record_write(const char *path, const char *text, struct vs_err *err);

/*
 * Reads a record; -ENOENT when there is none, -EINVAL when not one (or
 * of another version), -EPERM when it is not a regular file owned by
 * root or this uid and writable by nobody else (pins nobody else may
 * move).
 */
int record_load(const char *path, struct json_object **out,
		struct vs_err *err);

enum record_verdict {
	RECORD_SAME = 0,	/* every member as recorded */
	RECORD_CHANGED = 1,	/* a member changed, every pin holds */
	RECORD_REPOINTED = 2,	/* a backing or data file reference moved */
};

/*
 * Compares disk's chain in an old record with a freshly resolved chain
 * of image.  Returns a verdict with why ("/img/b.qcow2 changed (mtime,
 * header)", or for RECORD_REPOINTED "/img/a.qcow2: backing reference
 * changed: was 'base.qcow2' (qcow2), now 'b.qcow2' (qcow2)"), or -ENOENT
 * when the record has no such disk or the disk's image is another file
 * (the config changed: nothing is pinned for it).
 */
int record_compare(struct json_object *rec, const char *disk,
		   const char *image, const struct chain *c, char *why,
		   size_t len);

/*
 * vmseal's own operations changed a disk's chain (a block job, a
 * snapshot): pins the new chain d->chain (resolved by chain_resolve()
 * with hash_headers) in the record at path, keeping the other disks as
 * recorded.  Call it under the guest's run lock (the supervisor holds
 * it for the run), after the operation finished.  0 or -errno with err.
 */
int record_pin_disk(const char *path, const char *guest,
		    const struct record_disk *d, struct vs_err *err);
/*
 * (A live disk's d->image and d->format may be NULL: kept from its entry
 * in the record, else its chain's top.)
 */

/*
 * A live disk left the guest (detach, eject): its entry leaves the record
 * at path, the others are kept.  0 (also when it had none) or -errno.
 */
int record_drop_disk(const char *path, const char *guest, const char *name,
		     struct vs_err *err);

#endif
