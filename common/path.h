/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_COMMON_PATH_H
#define VS_COMMON_PATH_H

#include <stdbool.h>

/*
 * QEMU's rule for a backing name: an absolute name stands as it is, a
 * relative one is taken relative to the directory of the image that names
 * it (block.c path_combine).  Returns a new string.
 */
char *path_combine(const char *image, const char *name);

/*
 * Lexical normalisation of an absolute path: repeated and trailing slashes
 * and "." dropped, ".." removes the previous component.  Only sound where
 * no symlink can be in the way, which is why every caller opens the result
 * with RESOLVE_NO_SYMLINKS.  Returns NULL for a relative path or a ".."
 * that climbs above "/".
 */
char *path_normalize(const char *path);

/*
 * True when path_normalize(path) would return path itself: absolute, no
 * empty, "." or ".." component, no trailing slash.  Lets a walker keep a
 * name that needs no normalising without copying it.
 */
bool path_is_normal(const char *path);

/* True when path is dir or lies beneath it, compared by whole components. */
bool path_is_beneath(const char *path, const char *dir);

/*
 * QEMU's test for a protocol prefix (block.c path_has_protocol): a ':'
 * before the first '/', as in "nbd:host:10809", "http://x", "json:{...}",
 * even "a:b.qcow2".  QEMU would hand such a name to a protocol driver
 * instead of opening a file.
 */
bool path_has_protocol(const char *path);

/* True when some component of path is exactly "..". */
bool path_has_dotdot(const char *path);

/* The part of path after dir ("" when equal); path must be beneath dir. */
const char *path_rest(const char *path, const char *dir);

/*
 * Remove a scratch tree vmseal made itself (mkdtemp), depth first,
 * without following symlinks or crossing into another mount.  Returns 0,
 * or -errno of the first removal that failed (the rest is still tried).
 */
int path_remove_tree(const char *dir);

/* Directory part of a path ("/" for "/x", "." for "x"); new string. */
char *path_dirname(const char *path);

#endif
