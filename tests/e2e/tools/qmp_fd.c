/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qmp_fd SOCKET FILE JSON [JSON...]: like qmp, but the first command
 * carries a descriptor of FILE (opened for writing, created 0600) with
 * SCM_RIGHTS, as libvirt's getfd does.  Prints each reply on its own line
 * (events skipped).  Exits 0 when every reply was read, 1 on I/O trouble.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char *read_reply(FILE *f, char **line, size_t *cap)
{
	for (;;) {
		if (getline(line, cap, f) < 0)
			return NULL;
		if (!strstr(*line, "\"event\": ") || strstr(*line, "\"return\"") ||
		    strstr(*line, "\"error\""))
			return *line;
	}
}

static int send_with_fd(int sock, const char *text, int fd)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { (void *)text, strlen(text) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf, .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);

	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	return sendmsg(sock, &mh, 0) == (ssize_t)strlen(text) ? 0 : -1;
}

int main(int argc, char **argv)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *line = NULL, *first;
	size_t cap = 0;
	int sock, fd;
	FILE *f;

	if (argc < 4) {
		fprintf(stderr, "usage: qmp_fd SOCKET FILE JSON [JSON...]\n");
		return 2;
	}
	if (strlen(argv[1]) >= sizeof(sa.sun_path))
		return 1;
	strcpy(sa.sun_path, argv[1]);
	sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || connect(sock, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("qmp_fd: connect");
		return 1;
	}
	fd = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	f = fdopen(sock, "r+");
	if (fd < 0 || !f || !read_reply(f, &line, &cap))
		return 1;
	fputs("{\"execute\":\"qmp_capabilities\"}\n", f);
	fflush(f);
	if (!read_reply(f, &line, &cap))
		return 1;
	if (asprintf(&first, "%s\n", argv[3]) < 0 ||
	    send_with_fd(sock, first, fd) < 0)
		return 1;
	close(fd);
	if (!read_reply(f, &line, &cap))
		return 1;
	fputs(line, stdout);
	for (int i = 4; i < argc; i++) {
		fprintf(f, "%s\n", argv[i]);
		fflush(f);
		if (!read_reply(f, &line, &cap))
			return 1;
		fputs(line, stdout);
	}
	return 0;
}
