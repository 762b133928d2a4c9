/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/path.h"
#include "common/xalloc.h"
#include "sandbox/allowlist.h"

/*
 * What QEMU 7.2 opens by path at start on Debian 12, found with
 * strace -f -e trace=open,openat of typical TCG and KVM guests (see
 * README "Broker allowlist").  Directories relative to the emulator's
 * install prefix come from QEMU's relocatable data paths
 * (/usr/bin/../share/qemu, which the broker normalises).
 */
static const char *const default_dirs[] = {
	"/lib/x86_64-linux-gnu",	/* shared libraries, via ld.so.cache */
	"/usr/lib/x86_64-linux-gnu",	/* same, gconv, QEMU's modules */
	"/lib64",
	"/usr/lib64",
	"/usr/lib/locale",		/* glibc locale data */
	"/usr/share/locale",
	"/usr/share/zoneinfo",		/* /etc/localtime's target */
	"/usr/share/seabios",		/* firmware */
	"/usr/lib/ipxe/qemu",
	"/usr/share/ipxe",
	"/usr/share/ovmf",
	"/usr/share/OVMF",
	"/etc/qemu",			/* qemu.conf: absent is fine, EACCES fatal */
	"/sys/devices/system/cpu",	/* topology: glib, libnuma */
	"/sys/devices/system/node",
	NULL,
};

/* Relative to the emulator's prefix (/usr for /usr/bin/qemu-...). */
static const char *const prefix_dirs[] = {
	"share/qemu",
	"share/seabios",
	"lib/ipxe/qemu",
	"lib/x86_64-linux-gnu/qemu",
	"lib/qemu",
	NULL,
};

static const char *const default_files[] = {
	"/etc/ld.so.cache",
	"/etc/localtime",
	"/proc/filesystems",
	NULL,
};

static const char *const default_proc_self[] = {
	"/proc/self/status",
	NULL,
};

const char *allow_kind_name(enum allow_kind k)
{
	switch (k) {
	case ALLOW_DIR:
		return "dir";
	case ALLOW_FILE:
		return "file";
	case ALLOW_PROC_SELF:
		return "proc";
	case ALLOW_DEV:
		return "device";
	}
	return "?";
}

static struct allow_entry *new_entry(struct allowlist *al, const char *path)
{
	struct allow_entry *e;

	for (size_t i = 0; i < al->n; i++) {
		if (strcmp(al->e[i].path, path) == 0)
			return NULL; /* first entry for a path wins */
	}
	al->e = xreallocarray(al->e, al->n + 1, sizeof(*al->e));
	e = &al->e[al->n++];
	memset(e, 0, sizeof(*e));
	e->path = xstrdup(path);
	e->fd = -1;
	return e;
}

/*
 * realpath(path), and for a directory (dir_fd) the O_PATH descriptor it
 * was resolved through.  path is normalised (no ".", "..", repeated
 * slashes): when it opens with RESOLVE_NO_SYMLINKS it is its own real
 * path, one system call (most entries: /usr/share/zoneinfo, firmware,
 * /sys/...).  Through a link (/lib on a merged-/usr host, /proc/self)
 * that open fails with ELOOP, and the path is read back from
 * /proc/self/fd/N instead, where realpath() reads every component as a
 * possible link (four calls for /usr/share/zoneinfo/Etc, a hundred for
 * the default allowlist); realpath() where /proc is not there.  A
 * readlink of /proc/self/fd/N costs 5 to 6 us in a fresh process (the
 * /proc entries it walks are made on first use), the open beneath no
 * link about 1.3.  NULL when path does not resolve (or a directory is
 * not one).
 */
static char *resolve(const char *path, int *dir_fd)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_NO_SYMLINKS,
	};
	char link[32], buf[PATH_MAX];
	_cleanup_fd_ int fd = -1;
	struct stat st;
	char *real = NULL;
	ssize_t n;

	fd = (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how));
	if (fd >= 0) {
		real = xstrdup(path);
	} else if (errno == ENOENT || errno == ENOTDIR) {
		return NULL;
	} else {
		fd = open(path, O_PATH | O_CLOEXEC);
		if (fd < 0)
			return NULL;
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		n = readlink(link, buf, sizeof(buf) - 1);
		if (n > 0 && n < (ssize_t)sizeof(buf) - 1 && buf[0] == '/') {
			buf[n] = '\0';
			real = xstrdup(buf);
		} else {
			real = realpath(path, NULL);
		}
	}
	if (real && dir_fd && fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
		*dir_fd = steal_fd(&fd);
	return real;
}

void allowlist_add(struct allowlist *al, enum allow_kind kind,
		   const char *path, const char *why)
{
	_cleanup_free_ char *norm = path_normalize(path);
	struct allow_entry *e;

	if (!norm)
		return;
	e = new_entry(al, norm);
	if (!e)
		return;
	e->kind = kind;
	e->why = why;
	if (kind == ALLOW_PROC_SELF)
		return;
	e->real = resolve(norm, kind == ALLOW_DIR ? &e->fd : NULL);
	if (!e->real)
		return;
	if (kind != ALLOW_DIR) {
		_cleanup_free_ char *dir = path_dirname(e->real);

		e->fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		e->base = xstrdup(strrchr(e->real, '/') + 1);
	}
}

void allowlist_add_dev(struct allowlist *al, const char *path, bool rw,
		       unsigned major, unsigned minor, const char *why)
{
	struct allow_entry *e = new_entry(al, path);

	if (!e)
		return;
	e->kind = ALLOW_DEV;
	e->rw = rw;
	e->rdev = makedev(major, minor);
	e->why = why;
	e->real = xstrdup(path);
}

void allowlist_build(struct allowlist *al, const char *emulator,
		     char *const *extra_paths, const char *const *extra_files)
{
	_cleanup_free_ char *real_emu = realpath(emulator, NULL);
	_cleanup_free_ char *bindir = NULL;
	_cleanup_free_ char *prefix = NULL;
	struct stat st;

	al->e = NULL;
	al->n = 0;
	for (const char *const *f = extra_files; f && *f; f++)
		allowlist_add(al, ALLOW_FILE, *f, "config");
	for (char *const *p = extra_paths; p && *p; p++) {
		enum allow_kind k = ALLOW_DIR;

		if (stat(*p, &st) == 0 && !S_ISDIR(st.st_mode))
			k = ALLOW_FILE;
		allowlist_add(al, k, *p, "config allow");
	}
	/* QEMU finds its data relative to its own (real) location. */
	bindir = path_dirname(real_emu ? real_emu : emulator);
	prefix = path_dirname(bindir);
	for (const char *const *d = prefix_dirs; *d; d++) {
		_cleanup_free_ char *p = xasprintf("%s/%s",
						   strcmp(prefix, "/") ? prefix : "",
						   *d);

		allowlist_add(al, ALLOW_DIR, p, "emulator data");
	}
	for (const char *const *d = default_dirs; *d; d++)
		allowlist_add(al, ALLOW_DIR, *d, "default");
	for (const char *const *f = default_files; *f; f++)
		allowlist_add(al, ALLOW_FILE, *f, "default");
	for (const char *const *f = default_proc_self; *f; f++)
		allowlist_add(al, ALLOW_PROC_SELF, *f, "default");
	/*
	 * The only read-write opens ever served: the devices a VM needs.
	 * Each is checked by st_rdev after opening, not by name alone.
	 * QEMU's block layer opens /dev/null read-write to probe for OFD
	 * locks; refused, it falls back to process-wide POSIX locks, which
	 * any close() of the image drops.
	 */
	allowlist_add_dev(al, "/dev/null", true, 1, 3, "default");
	/* A pty console (-serial pty, libvirt's default): a new pair. */
	allowlist_add_dev(al, "/dev/ptmx", true, 5, 2, "default");
	allowlist_add_dev(al, "/dev/kvm", true, 10, 232, "default");
	allowlist_add_dev(al, "/dev/net/tun", true, 10, 200, "default");
	allowlist_add_dev(al, "/dev/vhost-net", true, 10, 238, "default");
}

void allowlist_free(struct allowlist *al)
{
	for (size_t i = 0; i < al->n; i++) {
		free(al->e[i].path);
		free(al->e[i].real);
		free(al->e[i].base);
		if (al->e[i].fd >= 0)
			close(al->e[i].fd);
	}
	free(al->e);
	al->e = NULL;
	al->n = 0;
}

static bool entry_matches(const struct allow_entry *e, const char *path,
			  const char *key)
{
	if (!key)
		return false;
	if (e->kind == ALLOW_DIR)
		return path_is_beneath(path, key);
	return strcmp(path, key) == 0;
}

const struct allow_entry *allowlist_match(const struct allowlist *al,
					  const char *path)
{
	const struct allow_entry *best = NULL;
	size_t best_len = 0;

	for (size_t i = 0; i < al->n; i++) {
		const struct allow_entry *e = &al->e[i];
		const char *keys[2] = { e->path, e->real };

		for (int k = 0; k < 2; k++) {
			size_t len;

			if (!entry_matches(e, path, keys[k]))
				continue;
			len = strlen(keys[k]);
			if (!best || len > best_len) {
				best = e;
				best_len = len;
			}
		}
	}
	return best;
}

bool allowlist_covers(const struct allowlist *al, const char *real)
{
	for (size_t i = 0; i < al->n; i++) {
		const struct allow_entry *e = &al->e[i];

		if ((e->kind == ALLOW_DIR || e->kind == ALLOW_FILE) &&
		    entry_matches(e, real, e->real))
			return true;
	}
	return false;
}
