/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/fd.h"
#include "launcher/qmp.h"

/* One line (without the newline) into out; -errno, or -ETIMEDOUT. */
static int read_line(struct qmp *q, char *out, size_t len)
{
	for (;;) {
		char *nl = memchr(q->buf, '\n', q->len);
		struct pollfd p = { .fd = q->fd, .events = POLLIN };
		ssize_t n;

		if (nl) {
			size_t l = (size_t)(nl - q->buf);

			snprintf(out, len, "%.*s", (int)l, q->buf);
			memmove(q->buf, nl + 1, q->len - l - 1);
			q->len -= l + 1;
			return 0;
		}
		if (q->len == sizeof(q->buf))
			return -EMSGSIZE;
		if (poll(&p, 1, 30000) <= 0)
			return -ETIMEDOUT;
		n = read(q->fd, q->buf + q->len, sizeof(q->buf) - q->len);
		if (n <= 0)
			return n < 0 ? -errno : -EPIPE;
		q->len += (size_t)n;
	}
}

/* The next line that is not an event. */
static int read_reply(struct qmp *q, char *out, size_t len)
{
	int rc;

	do {
		rc = read_line(q, out, len);
	} while (rc == 0 && strstr(out, "\"event\": ") &&
		 !strstr(out, "\"return\"") && !strstr(out, "\"error\""));
	return rc;
}

int qmp_open(struct qmp *q, const char *path, int wait_s, struct vs_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timespec pause = { 0, 50 * 1000 * 1000 };
	char line[4096];
	int tries = wait_s * 20, rc;

	q->fd = -1;
	q->len = 0;
	if (fd_unix_addr(&sa, path) < 0)
		return vs_errf(err, ENAMETOOLONG, "%s: path too long", path);
	for (;;) {
		q->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (q->fd < 0)
			return vs_errnof(err, errno, "socket");
		if (connect(q->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		close(q->fd);
		q->fd = -1;
		if (tries-- <= 0)
			return vs_errnof(err, errno, "%s", path);
		nanosleep(&pause, NULL);
	}
	rc = read_reply(q, line, sizeof(line));
	if (rc == 0)
		rc = qmp_exec(q, "{\"execute\":\"qmp_capabilities\"}", line,
			      sizeof(line));
	if (rc < 0) {
		qmp_close(q);
		return vs_errnof(err, -rc, "%s: QMP negotiation", path);
	}
	return 0;
}

int qmp_exec(struct qmp *q, const char *json, char *reply, size_t len)
{
	int rc = write_full(q->fd, json, strlen(json));

	if (rc == 0)
		rc = write_full(q->fd, "\n", 1);
	if (rc == 0)
		rc = read_reply(q, reply, len);
	return rc;
}

void qmp_close(struct qmp *q)
{
	if (q->fd >= 0)
		close(q->fd);
	q->fd = -1;
}
