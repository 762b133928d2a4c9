/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_SANDBOX_ALLOWLIST_H
#define VS_SANDBOX_ALLOWLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * The paths the broker may serve to the emulator, read-only, with
 * descriptors it opens itself.  Built once before the emulator starts.
 */
enum allow_kind {
	ALLOW_DIR,		/* anything beneath a directory */
	ALLOW_FILE,		/* exactly one file */
	ALLOW_PROC_SELF,	/* /proc/self/NAME of the requesting task */
	ALLOW_DEV,		/* one character device, checked by st_rdev */
};

struct allow_entry {
	enum allow_kind kind;
	char *path;		/* normalised, as requests spell it */
	char *real;		/* realpath() when built; NULL if missing */
	bool rw;		/* ALLOW_DEV: read-write opens allowed */
	dev_t rdev;		/* ALLOW_DEV: the device it must be */
	const char *why;	/* origin, for `vmseal check` */
	/*
	 * O_PATH of the real directory (ALLOW_DIR) or of the real file's
	 * directory (ALLOW_FILE, with base its name), opened when built:
	 * what the broker resolves requests beneath; -1 when missing.
	 */
	int fd;
	char *base;
};

struct allowlist {
	struct allow_entry *e;
	size_t n;
};

/*
 * Default entries for the emulator binary (its libraries, firmware and
 * data directories, the /proc, /sys, /dev and /etc files QEMU 7.2 reads at
 * start), then extra_dirs (config `allow`, files or directories) and
 * extra_files (kernel, initrd: exactly those files).  Either list may be
 * NULL; both NULL-terminated.
 */
void allowlist_build(struct allowlist *al, const char *emulator,
		     char *const *extra_paths, const char *const *extra_files);
void allowlist_free(struct allowlist *al);

/* Adds one entry (used by allowlist_build and by tests). */
void allowlist_add(struct allowlist *al, enum allow_kind kind,
		   const char *path, const char *why);
void allowlist_add_dev(struct allowlist *al, const char *path, bool rw,
		       unsigned major, unsigned minor, const char *why);

/*
 * The entry a normalised request path falls under, matched against both
 * the spelled and the real path of each entry; the most specific wins.
 */
const struct allow_entry *allowlist_match(const struct allowlist *al,
					  const char *path);

/*
 * True when a real (symlink-free) location lies in the allowlist: the
 * broker checks where a request actually led, not only how it was
 * spelled.
 */
bool allowlist_covers(const struct allowlist *al, const char *real);

const char *allow_kind_name(enum allow_kind k);

#endif
