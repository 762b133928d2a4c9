/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "sandbox/sibling.h"

static const char *const names[SIB_COUNT] = {
	[SIB_CONNECT] = "connect",
	[SIB_BIND] = "bind",
	[SIB_KILL0] = "kill-0",
	[SIB_SIGSTOP] = "sigstop",
	[SIB_PRLIMIT] = "prlimit",
	[SIB_SETPRIORITY] = "setpriority",
	[SIB_PROC_EXE] = "proc-exe",
	[SIB_PROC_FD] = "proc-fd",
};

const char *sibling_attack_name(enum sibling_attack a)
{
	return a < SIB_COUNT ? names[a] : "?";
}

static int unix_addr(const char *dir, const char *file, struct sockaddr_un *sa)
{
	int n;

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	n = file ? snprintf(sa->sun_path, sizeof(sa->sun_path), "%s/%s", dir, file)
		 : snprintf(sa->sun_path, sizeof(sa->sun_path), "%s", dir);
	return n < 0 || (size_t)n >= sizeof(sa->sun_path) ? -ENAMETOOLONG : 0;
}

static void a_connect(const struct sibling_target *t, struct sibling_result *r,
		      int *conn)
{
	struct sockaddr_un sa;
	int fd;

	if (unix_addr(t->socket, NULL, &sa) < 0) {
		r->err = ENAMETOOLONG;
		return;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r->err = errno;
		return;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r->err = errno;
		close(fd);
		return;
	}
	snprintf(r->detail, sizeof(r->detail), "connected to %s", t->socket);
	if (conn)
		*conn = fd;
	else
		close(fd);
}

static void a_bind(const struct sibling_target *t, struct sibling_result *r)
{
	struct sockaddr_un sa;
	int fd;

	if (unix_addr(t->dir, ".vmseal.pid.tmp", &sa) < 0) {
		r->err = ENAMETOOLONG;
		return;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		r->err = errno;
		return;
	}
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r->err = errno;
	} else {
		bool gone = unlink(sa.sun_path) == 0;

		snprintf(r->detail, sizeof(r->detail), "bound %s%s", sa.sun_path,
			 gone ? " (removed again)" : " (left in place)");
	}
	close(fd);
}

static void a_sigstop(const struct sibling_target *t, struct sibling_result *r)
{
	if (kill(t->pid, SIGSTOP) < 0) {
		r->err = errno;
		return;
	}
	(void)kill(t->pid, SIGCONT);
	snprintf(r->detail, sizeof(r->detail), "stopped pid %d (continued again)",
		 (int)t->pid);
}

static void a_prlimit(const struct sibling_target *t, struct sibling_result *r)
{
	struct rlimit old;

	if (syscall(SYS_prlimit64, t->pid, RLIMIT_NOFILE, NULL, &old) < 0 ||
	    syscall(SYS_prlimit64, t->pid, RLIMIT_NOFILE, &old, NULL) < 0) {
		r->err = errno;
		return;
	}
	snprintf(r->detail, sizeof(r->detail),
		 "RLIMIT_NOFILE of pid %d read (%llu) and rewritten", (int)t->pid,
		 (unsigned long long)old.rlim_cur);
}

static void a_setpriority(const struct sibling_target *t,
			  struct sibling_result *r)
{
	int prio;

	errno = 0;
	prio = getpriority(PRIO_PROCESS, (id_t)t->pid);
	if ((prio == -1 && errno) ||
	    setpriority(PRIO_PROCESS, (id_t)t->pid, prio) < 0) {
		r->err = errno;
		return;
	}
	snprintf(r->detail, sizeof(r->detail), "nice of pid %d set (to %d)",
		 (int)t->pid, prio);
}

static void a_proc_exe(const struct sibling_target *t, struct sibling_result *r)
{
	char path[64], link[PATH_MAX];
	ssize_t n;

	snprintf(path, sizeof(path), "/proc/%d/exe", (int)t->pid);
	n = readlink(path, link, sizeof(link) - 1);
	if (n < 0) {
		r->err = errno;
		return;
	}
	link[n] = '\0';
	snprintf(r->detail, sizeof(r->detail), "%s -> %.100s", path, link);
}

static void a_proc_fd(const struct sibling_target *t, struct sibling_result *r)
{
	char path[64], link[PATH_MAX], first[120] = "";
	unsigned seen = 0;
	int err = ENOENT;

	for (int fd = 0; fd < 64; fd++) {
		ssize_t n;

		snprintf(path, sizeof(path), "/proc/%d/fd/%d", (int)t->pid, fd);
		n = readlink(path, link, sizeof(link) - 1);
		if (n < 0) {
			/* A number the sibling does not use says nothing. */
			if (errno != ENOENT && err == ENOENT)
				err = errno;
			continue;
		}
		link[n] = '\0';
		if (!seen++)
			snprintf(first, sizeof(first), "%d -> %.80s", fd, link);
	}
	if (!seen) {
		r->err = err;
		return;
	}
	snprintf(r->detail, sizeof(r->detail), "%u descriptors read, %s", seen,
		 first);
}

void sibling_attack_run(enum sibling_attack a, const struct sibling_target *t,
			struct sibling_result *r, int *conn)
{
	memset(r, 0, sizeof(*r));
	if (conn)
		*conn = -1;
	switch (a) {
	case SIB_CONNECT:
		a_connect(t, r, conn);
		break;
	case SIB_BIND:
		a_bind(t, r);
		break;
	case SIB_KILL0:
		if (kill(t->pid, 0) < 0)
			r->err = errno;
		else
			snprintf(r->detail, sizeof(r->detail), "pid %d is visible",
				 (int)t->pid);
		break;
	case SIB_SIGSTOP:
		a_sigstop(t, r);
		break;
	case SIB_PRLIMIT:
		a_prlimit(t, r);
		break;
	case SIB_SETPRIORITY:
		a_setpriority(t, r);
		break;
	case SIB_PROC_EXE:
		a_proc_exe(t, r);
		break;
	case SIB_PROC_FD:
		a_proc_fd(t, r);
		break;
	default:
		r->err = EINVAL;
		break;
	}
	if (r->err && !r->detail[0])
		snprintf(r->detail, sizeof(r->detail), "%s", strerror(r->err));
}

void sibling_result_line(const char *name, const struct sibling_result *r,
			 char *buf, size_t len)
{
	const char *e = r->err ? strerrorname_np(r->err) : NULL;
	char detail[sizeof(r->detail)];

	/* One line whatever the detail holds. */
	snprintf(detail, sizeof(detail), "%s", r->detail);
	for (char *p = detail; *p; p++) {
		if (*p == '\n' || *p == '\r' || (unsigned char)*p < 0x20)
			*p = ' ';
	}
	snprintf(buf, len, "ATTACK name=%s result=%s errno=%s detail=%s", name,
		 r->err ? "failed" : "succeeded", r->err ? (e ? e : "?") : "-",
		 detail);
}
