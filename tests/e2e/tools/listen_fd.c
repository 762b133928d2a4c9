/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * listen_fd PATH N COMMAND...: what libvirt does with a monitor socket:
 * binds and listens on the unix socket PATH, places it as descriptor N
 * (not close-on-exec) and execs COMMAND, which names it as fd=N.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, n;

	if (argc < 4 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: listen_fd PATH N COMMAND...\n");
		return 2;
	}
	n = atoi(argv[2]);
	strcpy(sa.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 4) < 0 || dup2(fd, n) < 0) {
		perror("listen_fd");
		return 2;
	}
	if (fd != n)
		close(fd);
	execv(argv[3], argv + 3);
	perror("listen_fd: exec");
	return 127;
}
