/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A stand-in emulator for policy = deny / kill, which no dynamically
 * linked program survives (the loader's own opens are refused): built
 * static.  It reads the descriptors vmseal passed (found in its -add-fd
 * or file=fd:N arguments, as QEMU would), then tries each --open PATH,
 * and prints one line per step:
 *   fds: 0 1 2 3 4 5          (with --fds: every open descriptor)
 *   fd 3: read 512 bytes, magic QFI
 *   open /etc/hostname: EACCES
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void read_fd(int fd)
{
	unsigned char buf[512];
	ssize_t n = pread(fd, buf, sizeof(buf), 0);

	if (n < 0) {
		printf("fd %d: read failed: %s\n", fd, strerrorname_np(errno));
		return;
	}
	printf("fd %d: read %zd bytes, magic %s\n", fd, n,
	       n >= 4 && !memcmp(buf, "QFI\xfb", 4) ? "QFI" : "none");
}

/* Listing /proc/self/fd would be an open: probe every number instead. */
static void list_fds(void)
{
	printf("fds:");
	for (int fd = 0; fd < 4096; fd++) {
		int fl = fcntl(fd, F_GETFD);

		if (fl >= 0)
			printf(" %d%s", fd, fl & FD_CLOEXEC ? "(cloexec)" : "");
	}
	printf("\n");
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--fds"))
			list_fds();
	}
	for (int i = 1; i < argc; i++) {
		const char *p;

		if (!strcmp(argv[i], "-add-fd") && i + 1 < argc &&
		    !strncmp(argv[i + 1], "fd=", 3))
			read_fd(atoi(argv[i + 1] + 3));
		for (p = strstr(argv[i], "fd:"); p; p = strstr(p + 3, "fd:"))
			read_fd(atoi(p + 3));
	}
	for (int i = 1; i + 1 < argc; i++) {
		int fd;

		if (strcmp(argv[i], "--open") != 0)
			continue;
		fflush(stdout);
		fd = open(argv[i + 1], O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			printf("open %s: ok\n", argv[i + 1]);
			close(fd);
		} else {
			printf("open %s: %s\n", argv[i + 1],
			       strerrorname_np(errno));
		}
	}
	fflush(stdout);
	return 0;
}
