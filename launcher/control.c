/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "common/xalloc.h"
#include "launcher/control.h"
#include "launcher/rundir.h"
#include "sandbox/broker.h"

typedef void (*verb_fn)(struct control_ctx *ctx, const char *args,
			char *reply, size_t len, bool *changed);

static void verb_hello(struct control_ctx *ctx, const char *args,
		       char *reply, size_t len, bool *changed)
{
	snprintf(reply, len, "ok vmseal %s protocol %d", VMSEAL_VERSION,
		 CONTROL_PROTOCOL);
}

static void verb_status(struct control_ctx *ctx, const char *args,
			char *reply, size_t len, bool *changed)
{
	snprintf(reply, len,
		 "ok pid=%d policy=%s locked=%s served=%lu denied=%lu",
		 (int)ctx->emu_pid, ctx->policy, ctx->locked ? "yes" : "no",
		 ctx->broker ? ctx->broker->served : 0UL,
		 ctx->broker ? ctx->broker->denied : 0UL);
}

static void verb_lock(struct control_ctx *ctx, const char *args,
		      char *reply, size_t len, bool *changed)
{
	if (!ctx->broker) {
		snprintf(reply, len,
			 "ok locked (policy %s: no open is ever served)",
			 ctx->policy);
		return;
	}
	if (ctx->locked) {
		snprintf(reply, len, "ok already locked");
		return;
	}
	ctx->broker->locked = true;
	ctx->locked = true;
	ctx->locked_by = "request";
	*changed = true;
	snprintf(reply, len, "ok locked");
}

static const struct {
	const char *verb;
	verb_fn fn;
} verbs[] = {
	{ "hello", verb_hello },
	{ "status", verb_status },
	{ "lock", verb_lock },
};

bool control_dispatch(struct control_ctx *ctx, const char *request,
		      char *reply, size_t len)
{
	size_t n = strcspn(request, " ");
	bool changed = false;

	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++) {
		if (strlen(verbs[i].verb) != n ||
		    strncmp(request, verbs[i].verb, n) != 0)
			continue;
		verbs[i].fn(ctx, request[n] ? request + n + 1 : "", reply, len,
			    &changed);
		return changed;
	}
	snprintf(reply, len, "error EINVAL unknown request '%.*s'",
		 (int)(n < 64 ? n : 64), request);
	return false;
}

int control_listen(int dirfd, struct vs_err *err)
{
	char self[64];
	_cleanup_free_ char *path = NULL;
	struct sockaddr_un sa;
	_cleanup_fd_ int fd = -1;
	mode_t old;
	int rc;

	/* Bind through the directory we hold: the path cannot be swapped. */
	snprintf(self, sizeof(self), "/proc/self/fd/%d/%s", dirfd,
		 RUNDIR_CONTROL);
	path = xstrdup(self);
	if (fd_unix_addr(&sa, path) < 0)
		return vs_errf(err, ENAMETOOLONG, "control socket path too long");
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return vs_errnof(err, errno, "control socket");
	unlinkat(dirfd, RUNDIR_CONTROL, 0);
	old = umask(0077);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0)
		return vs_errnof(err, errno, "binding the control socket");
	if (listen(fd, 4) < 0)
		return vs_errnof(err, errno, "listening on the control socket");
	return steal_fd(&fd);
}

static bool peer_trusted(int fd, uid_t also)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0)
		return false;
	return cr.uid == 0 || cr.uid == geteuid() || cr.uid == also;
}

/*
 * A guest vmseal wrap runs as another user lives in RUN/wrap/UID: its
 * helper runs as UID, whose directory that is.  0 for any other base.
 */
static uid_t wrap_owner(const char *base)
{
	const char *run = rundir_base(), *p;
	size_t n = strlen(run);
	unsigned long uid;
	char *end;

	if (strncmp(base, run, n) || strncmp(base + n, "/" RUNDIR_WRAP "/",
					      strlen(RUNDIR_WRAP) + 2))
		return 0;
	p = base + n + strlen(RUNDIR_WRAP) + 2;
	uid = strtoul(p, &end, 10);
	return *p && !*end ? (uid_t)uid : 0;
}

bool control_serve(int listen_fd, struct control_ctx *ctx)
{
	struct timeval tv = { .tv_sec = 1 };
	char req[CONTROL_MSG_MAX + 1], reply[CONTROL_MSG_MAX];
	_cleanup_fd_ int fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	bool changed = false;

	if (fd < 0)
		return false;
	if (!peer_trusted(fd, 0)) {
		static const char no[] = "error EPERM not your guest";

		(void)!send(fd, no, sizeof(no) - 1, MSG_NOSIGNAL);
		return false;
	}
	/* A silent client must not hold the broker up. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (;;) {
		ssize_t n = recv(fd, req, sizeof(req) - 1, MSG_TRUNC);

		if (n <= 0)
			break;
		if ((size_t)n >= sizeof(req)) {
			snprintf(reply, sizeof(reply),
				 "error EMSGSIZE request longer than %d bytes",
				 CONTROL_MSG_MAX);
		} else {
			req[n] = '\0';
			req[strcspn(req, "\n")] = '\0';
			changed |= control_dispatch(ctx, req, reply,
						    sizeof(reply));
		}
		if (send(fd, reply, strlen(reply), MSG_NOSIGNAL) < 0)
			break;
	}
	return changed;
}

int control_request(const char *name, const char *request, char *reply,
		    size_t len, struct vs_err *err)
{
	_cleanup_free_ char *base = rundir_find(name);
	_cleanup_free_ char *path = xasprintf("%s/%s/%s", base, name,
					      RUNDIR_CONTROL);
	struct timeval tv = { .tv_sec = 10 };
	_cleanup_fd_ int fd = -1;
	struct sockaddr_un sa;
	ssize_t n;

	vs_err_ctx(err, "%s", path);
	if (fd_unix_addr(&sa, path) < 0)
		return vs_errf(err, ENAMETOOLONG, "path too long");
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vs_errnof(err, errno, "socket");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			return vs_errf(err, ENOENT, "guest %s is not running",
				       name);
		return vs_errnof(err, errno, "cannot connect");
	}
	/* Whoever can bind there is not necessarily vmseal: check. */
	if (!peer_trusted(fd, wrap_owner(base)))
		return vs_errf(err, EPERM,
			       "the socket's owner is neither root nor us: not vmseal's");
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (send(fd, request, strlen(request), MSG_NOSIGNAL) < 0)
		return vs_errnof(err, errno, "sending the request");
	n = recv(fd, reply, len - 1, 0);
	if (n <= 0)
		return vs_errnof(err, n < 0 ? errno : EPIPE, "no reply");
	reply[n] = '\0';
	vs_err_clear(err);
	return 0;
}
