/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fd.h"
#include "common/xalloc.h"
#include "launcher/ready.h"

/* How often the socket is tried until it accepts. */
#define RETRY_NS (50 * 1000 * 1000)

enum { R_IDLE, R_GREETING, R_CAPS, R_STATUS, R_DONE };

static const char caps_cmd[] = "{\"execute\":\"qmp_capabilities\"}\n";
static const char status_cmd[] = "{\"execute\":\"query-status\"}\n";

bool child_alive(pid_t pid)
{
	siginfo_t si = { 0 };

	/* WNOWAIT: the supervisor still reaps it and learns its status. */
	if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) < 0) {
		/* Not our child: vmseal wrap's emulator is our parent. */
		if (errno == ECHILD && pid == getppid())
			return true;
		return errno == EINTR;
	}
	return si.si_pid == 0;
}

static int retry_timer(void)
{
	struct itimerspec its = { .it_value = { 0, RETRY_NS },
				  .it_interval = { 0, RETRY_NS } };
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	if (fd >= 0 && timerfd_settime(fd, 0, &its, NULL) < 0) {
		close(fd);
		return -errno;
	}
	return fd < 0 ? -errno : fd;
}

static void init(struct ready *r)
{
	memset(r, 0, sizeof(*r));
	r->conn = r->timer = -1;
	r->state = R_IDLE;
}

int ready_begin(struct ready *r, const char *path)
{
	init(r);
	r->path = xstrdup(path);
	r->timer = retry_timer();
	return r->timer < 0 ? r->timer : 0;
}

int ready_begin_fd(struct ready *r, int fd)
{
	init(r);
	r->conn = fd;
	r->state = R_GREETING;
	return 0;
}

void ready_end(struct ready *r)
{
	if (r->conn >= 0)
		close(r->conn);
	if (r->timer >= 0)
		close(r->timer);
	free(r->path);
	r->path = NULL;
	r->conn = r->timer = -1;
	r->state = R_DONE;
}

int ready_fd(const struct ready *r)
{
	if (r->state == R_DONE)
		return -1;
	return r->state == R_IDLE ? r->timer : r->conn;
}

/* Back to trying the socket later (the emulator closed or refused). */
static void drop(struct ready *r)
{
	if (r->conn >= 0)
		close(r->conn);
	r->conn = -1;
	r->len = 0;
	r->state = r->timer >= 0 ? R_IDLE : R_DONE;
}

static void try_connect(struct ready *r)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint64_t ticks;
	int fd;

	(void)!read(r->timer, &ticks, sizeof(ticks));
	if (fd_unix_addr(&sa, r->path) < 0)
		return;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return;
	}
	r->conn = fd;
	r->len = 0;
	r->state = R_GREETING;
}

/* The JSON string value of "key": "..." in line (a flat search). */
static void string_field(const char *line, const char *key, char *out,
			 size_t len)
{
	const char *p = strstr(line, key);
	size_t n;

	out[0] = '\0';
	if (!p)
		return;
	p = strchr(p + strlen(key), '"');
	if (!p)
		return;
	n = strcspn(++p, "\"");
	snprintf(out, len, "%.*s", (int)n, p);
}

/* One line from QEMU; true when the exchange moved on. */
static bool on_line(struct ready *r, const char *line)
{
	bool answer = strstr(line, "\"return\"") != NULL;

	if (strstr(line, "\"error\""))
		return false; /* cannot happen for these two; keep waiting */
	switch (r->state) {
	case R_GREETING:
		if (!strstr(line, "\"QMP\""))
			return true;
		r->state = R_CAPS;
		return write_full(r->conn, caps_cmd, strlen(caps_cmd)) == 0;
	case R_CAPS:
		if (!answer)
			return true; /* an event */
		r->state = R_STATUS;
		return write_full(r->conn, status_cmd, strlen(status_cmd)) == 0;
	case R_STATUS:
		if (!answer)
			return true;
		string_field(line, "\"status\":", r->status, sizeof(r->status));
		r->state = R_DONE;
		return true;
	}
	return true;
}

enum ready_result ready_step(struct ready *r, pid_t emulator)
{
	ssize_t n;
	char *nl;

	if (r->state == R_DONE)
		return READY_WAIT;
	if (r->state == R_IDLE) {
		try_connect(r);
		return READY_WAIT;
	}
	n = read(r->conn, r->buf + r->len, sizeof(r->buf) - 1 - r->len);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return READY_WAIT;
	if (n <= 0) {
		drop(r);
		return READY_WAIT;
	}
	r->len += (size_t)n;
	r->buf[r->len] = '\0';
	while (r->state != R_DONE && (nl = strchr(r->buf, '\n'))) {
		*nl = '\0';
		if (!on_line(r, r->buf)) {
			drop(r);
			return READY_WAIT;
		}
		r->len -= (size_t)(nl + 1 - r->buf);
		memmove(r->buf, nl + 1, r->len + 1);
	}
	if (r->state != R_DONE) {
		/* A line longer than the buffer (a huge greeting): drop it. */
		if (r->len == sizeof(r->buf) - 1)
			r->len = 0;
		return READY_WAIT;
	}
	/*
	 * The answer came from QEMU's main loop; an emulator that failed
	 * its setup has exited by now, and one that dies at this very
	 * moment is not up either.  A shut-down guest is not up.
	 */
	if (!child_alive(emulator) || !strcmp(r->status, "shutdown") ||
	    !strcmp(r->status, "internal-error")) {
		ready_end(r);
		return READY_WAIT;
	}
	/* Hand the socket back to its owner at once. */
	if (r->conn >= 0)
		close(r->conn);
	r->conn = -1;
	if (r->timer >= 0)
		close(r->timer);
	r->timer = -1;
	return READY_UP;
}
