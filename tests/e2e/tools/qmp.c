/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qmp SOCKET JSON...: a minimal QMP client for the e2e tests.  Connects,
 * negotiates capabilities, sends each JSON command in turn and prints
 * each reply on its own line (events are skipped).  Exits 0 when every
 * reply was read (errors included: tests grep them), 1 on I/O trouble.
 * With -w SECONDS it retries connecting until the socket answers.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int connect_to(const char *path, int wait_s)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timespec pause = { 0, 50 * 1000 * 1000 };
	int tries = wait_s * 20;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "qmp: socket path too long\n");
		return -1;
	}
	strcpy(sa.sun_path, path);
	for (;;) {
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

		if (fd < 0)
			return -1;
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			return fd;
		close(fd);
		if (tries-- <= 0) {
			fprintf(stderr, "qmp: %s: %s\n", path, strerror(errno));
			return -1;
		}
		nanosleep(&pause, NULL);
	}
}

/* Reads one reply line that is not an event; NULL at EOF. */
static char *read_reply(FILE *f, char **line, size_t *cap)
{
	for (;;) {
		if (getline(line, cap, f) < 0)
			return NULL;
		/* Events may start with their timestamp. */
		if (!strstr(*line, "\"event\": ") ||
		    strstr(*line, "\"return\"") || strstr(*line, "\"error\""))
			return *line;
	}
}

int main(int argc, char **argv)
{
	int wait_s = 0, fd, i = 1;
	char *line = NULL;
	size_t cap = 0;
	FILE *f;

	if (argc > 2 && strcmp(argv[1], "-w") == 0) {
		wait_s = atoi(argv[2]);
		i = 3;
	}
	if (i >= argc) {
		fprintf(stderr, "usage: qmp [-w SECONDS] SOCKET [JSON...]\n");
		return 2;
	}
	fd = connect_to(argv[i++], wait_s);
	if (fd < 0)
		return 1;
	f = fdopen(fd, "r+");
	if (!f || !read_reply(f, &line, &cap))
		return 1;
	fputs("{\"execute\":\"qmp_capabilities\"}\n", f);
	fflush(f);
	if (!read_reply(f, &line, &cap))
		return 1;
	for (; i < argc; i++) {
		fprintf(f, "%s\n", argv[i]);
		fflush(f);
		if (!read_reply(f, &line, &cap))
			return 1;
		fputs(line, stdout);
		fflush(stdout);
	}
	free(line);
	fclose(f);
	return 0;
}
