/* SPDX-License-Identifier: GPL-2.0-or-later */
/* common/path.c path_remove_tree: removes its scratch tree, nothing else. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/path.h"
#include "tests/lib/tap.h"

static char base[] = "/tmp/vmseal-path-test.XXXXXX";

static void put(const char *rel, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", base, rel);
	f = fopen(p, "we");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static bool exists(const char *rel)
{
	char p[512];
	struct stat st;

	snprintf(p, sizeof(p), "%s/%s", base, rel);
	return lstat(p, &st) == 0;
}

static void sub(char *out, size_t len, const char *rel)
{
	snprintf(out, len, "%s/%s", base, rel);
}

/*
 * path_is_normal() against path_normalize() on every path of up to 8
 * bytes over '/', '.' and 'a': true exactly when normalising is a no-op.
 */
static void normal_agrees(void)
{
	static const char alpha[] = "/.a";
	char p[9];
	unsigned bad = 0, normal = 0, total = 0;

	for (size_t len = 1; len <= 8; len++) {
		size_t count = 1;

		for (size_t i = 0; i < len; i++)
			count *= 3;
		for (size_t v = 0; v < count; v++) {
			char *n;
			bool want;

			for (size_t i = 0, x = v; i < len; i++, x /= 3)
				p[i] = alpha[x % 3];
			p[len] = '\0';
			n = path_normalize(p);
			want = n && strcmp(n, p) == 0;
			free(n);
			if (path_is_normal(p) != want && bad++ < 5)
				tap_diag("path_is_normal(\"%s\") is %d", p, !want);
			normal += want;
			total++;
		}
	}
	ok(!bad && normal > 100,
	   "path_is_normal agrees with path_normalize on %u paths (%u normal)",
	   total, normal);

	/*
	 * Longer paths (17 to 64 bytes: whole 16-byte chunks and the
	 * overlapping last one), mostly 'a', a '/' or '.' here and there.
	 */
	bad = normal = total = 0;
	for (uint32_t seed = 1; total < 200000; total++) {
		char q[65];
		size_t len = 17 + total % 48;
		char *n;
		bool want;

		q[0] = '/';
		for (size_t i = 1; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			q[i] = (seed >> 16) % 9 == 0 ? '/' :
			       (seed >> 16) % 9 == 1 ? '.' : 'a';
		}
		q[len] = '\0';
		n = path_normalize(q);
		want = n && strcmp(n, q) == 0;
		free(n);
		if (path_is_normal(q) != want && bad++ < 5)
			tap_diag("path_is_normal(\"%s\") is %d", q, !want);
		normal += want;
	}
	ok(!bad && normal > 1000 && normal < total - 1000,
	   "... and on %u paths of 17 to 64 bytes (%u normal)", total,
	   normal);
	ok(path_is_normal("/") && path_is_normal("/a/..b/.c") &&
	   !path_is_normal("/a/") && !path_is_normal("/a//b") &&
	   !path_is_normal("/a/./b") && !path_is_normal("/a/..") &&
	   !path_is_normal("a/b") && !path_is_normal(""),
	   "path_is_normal on the usual cases");
}

int main(void)
{
	char tree[512], p[512];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s;

	normal_agrees();

	if (!mkdtemp(base)) {
		ok(0, "mkdtemp: %s", strerror(errno));
		return tap_done();
	}
	/* keep/ lies outside the tree; the tree links to it. */
	sub(p, sizeof(p), "keep");
	mkdir(p, 0700);
	put("keep/secret", "stays\n");
	sub(tree, sizeof(tree), "tree");
	mkdir(tree, 0700);
	sub(p, sizeof(p), "tree/a");
	mkdir(p, 0700);
	sub(p, sizeof(p), "tree/a/b");
	mkdir(p, 0500);	/* read-only: root removes inside it anyway */
	put("tree/file", "x");
	put("tree/a/.hidden", "x");
	sub(p, sizeof(p), "tree/a/fifo");
	mkfifo(p, 0600);
	sub(p, sizeof(p), "tree/a/link");
	(void)!symlink("../../keep", p);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/tree/a/sock", base);
	if (s >= 0) {
		(void)!bind(s, (struct sockaddr *)&sa, sizeof(sa));
		close(s);
	}

	is_int(path_remove_tree(tree), 0, "a tree of files, a fifo, a socket and a link goes");
	ok(!exists("tree"), "nothing of it is left");
	ok(exists("keep/secret"), "a symlink in it is removed, not followed");
	is_int(path_remove_tree(tree), 0, "a tree that is gone already: 0");

	sub(p, sizeof(p), "keep/secret");
	is_int(path_remove_tree(p), -ENOTDIR, "a file is no tree: -ENOTDIR, left alone");
	ok(exists("keep/secret"), "the file is still there");

	sub(p, sizeof(p), "linked");
	(void)!symlink("keep", p);
	/* O_NOFOLLOW | O_DIRECTORY on a link: the kernel says ENOTDIR. */
	is_int(path_remove_tree(p), -ENOTDIR, "a symlink to a tree is not followed");
	ok(exists("keep/secret"), "the tree behind it is still there");
	unlink(p);

	/* A mount left inside: never cross into it. */
	if (geteuid() != 0) {
		tap_skip("needs root to mount a tmpfs", "a mount inside the tree");
	} else {
		char mnt[512];

		mkdir(tree, 0700);
		sub(mnt, sizeof(mnt), "tree/mnt");
		mkdir(mnt, 0700);
		if (mount("vmseal-test", mnt, "tmpfs", 0, "size=64k") < 0) {
			tap_skip(strerror(errno), "a mount inside the tree");
		} else {
			put("tree/mnt/inside", "x");
			is_int(path_remove_tree(tree), -EXDEV,
			       "a mount inside the tree: -EXDEV");
			ok(exists("tree/mnt/inside"), "nothing beneath the mount is removed");
			umount2(mnt, MNT_DETACH);
		}
		path_remove_tree(tree);
	}

	sub(p, sizeof(p), "keep/secret");
	unlink(p);
	sub(p, sizeof(p), "keep");
	rmdir(p);
	rmdir(base);
	return tap_done();
}
