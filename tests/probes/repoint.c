/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A hostile stand-in emulator (static, for policy = deny): it finds the
 * descriptors vmseal passed (-add-fd fd=N or file=fd:N, as QEMU would)
 * and prints each one's identity:
 *   fd 3: rw ino 1234
 * With --repoint NAME it then rewrites, through the writable descriptor
 * it was given, the qcow2 header of its own top so that its backing file
 * name is NAME: the attack of a compromised emulator that wants another
 * guest's image at its next launch.  Prints "repointed fd 3 to NAME".
 * With --wait it then waits for a signal: a guest that keeps running.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t be64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void put_be32(unsigned char *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (unsigned char)v;
}

static int repoint(int fd, const char *name)
{
	unsigned char h[24], len[4];
	uint64_t off;

	if (pread(fd, h, sizeof(h), 0) != (ssize_t)sizeof(h) ||
	    memcmp(h, "QFI\xfb", 4) != 0)
		return -EINVAL;
	off = be64(h + 8);
	if (!off)
		return -EINVAL;
	/* The name goes where the old one was; its length at offset 16. */
	put_be32(len, (uint32_t)strlen(name));
	if (pwrite(fd, name, strlen(name), (off_t)off) !=
		    (ssize_t)strlen(name) ||
	    pwrite(fd, len, 4, 16) != 4)
		return -errno;
	return fsync(fd) < 0 ? -errno : 0;
}

static void visit(int fd, const char *name)
{
	struct stat st;
	int fl = fcntl(fd, F_GETFL);
	int r;

	if (fl < 0 || fstat(fd, &st) < 0) {
		printf("fd %d: %s\n", fd, strerrorname_np(errno));
		return;
	}
	printf("fd %d: %s ino %llu\n", fd,
	       (fl & O_ACCMODE) == O_RDWR ? "rw" : "ro",
	       (unsigned long long)st.st_ino);
	if (!name || (fl & O_ACCMODE) != O_RDWR)
		return;
	r = repoint(fd, name);
	if (r < 0)
		printf("repoint fd %d: %s\n", fd, strerrorname_np(-r));
	else
		printf("repointed fd %d to %s\n", fd, name);
}

int main(int argc, char **argv)
{
	const char *name = NULL;

	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--repoint"))
			name = argv[i + 1];
	for (int i = 1; i < argc; i++) {
		const char *p;

		if (!strcmp(argv[i], "-add-fd") && i + 1 < argc &&
		    !strncmp(argv[i + 1], "fd=", 3))
			visit(atoi(argv[i + 1] + 3), name);
		for (p = strstr(argv[i], "fd:"); p; p = strstr(p + 3, "fd:"))
			visit(atoi(p + 3), name);
	}
	fflush(stdout);
	for (int i = 1; i < argc; i++)
		if (!strcmp(argv[i], "--wait"))
			for (;;)
				pause();
	return 0;
}
