/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * notify_listen SOCKET SECONDS: a stand-in service manager.  Binds a
 * datagram socket at SOCKET and prints every message it gets, one per
 * line (newlines inside shown as ';'), until READY=1 arrived or SECONDS
 * passed.  Exit 0 when READY=1 was seen.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char buf[4096];
	int fd, ready = 0, ms;

	if (argc != 3 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: notify_listen SOCKET SECONDS\n");
		return 2;
	}
	ms = atoi(argv[2]) * 1000;
	strcpy(sa.sun_path, argv[1]);
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("notify_listen");
		return 2;
	}
	printf("listening\n");
	fflush(stdout);
	while (!ready) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, ms) <= 0)
			break;
		n = recv(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			break;
		buf[n] = '\0';
		ready = strstr(buf, "READY=1") != NULL;
		for (char *c = buf; *c; c++)
			if (*c == '\n')
				*c = ';';
		printf("%s\n", buf);
		fflush(stdout);
	}
	unlink(argv[1]);
	return ready ? 0 : 1;
}
