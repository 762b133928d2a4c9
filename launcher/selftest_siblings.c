/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "common/path.h"
#include "common/xalloc.h"
#include "launcher/identity.h"
#include "launcher/selftest_siblings.h"
#include "sandbox/policy.h"
#include "sandbox/uidpool.h"

static const char *const what[SIB_COUNT] = {
	[SIB_CONNECT] = "connect() to its socket",
	[SIB_BIND] = "bind() in its runtime directory",
	[SIB_KILL0] = "kill(pid, 0)",
	[SIB_SIGSTOP] = "kill(pid, SIGSTOP)",
	[SIB_PRLIMIT] = "prlimit64(pid, RLIMIT_NOFILE)",
	[SIB_SETPRIORITY] = "setpriority(pid)",
	[SIB_PROC_EXE] = "readlink /proc/pid/exe",
	[SIB_PROC_FD] = "readlink /proc/pid/fd/N",
};

/* In a child: only uid (and gid), no groups, then the filter. */
static int become(uid_t id, const struct vs_filter *f)
{
	struct vs_err err = { 0 };
	int nfd;

	if (setgroups(0, NULL) < 0 || setresgid(id, id, id) < 0 ||
	    setresuid(id, id, id) < 0)
		return -errno;
	/* As after exec: an emulator is dumpable. */
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
		return -errno;
	return policy_load(f, &nfd, &err);
}

static bool wait_readable(int fd, int ms)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	return poll(&p, 1, ms) == 1;
}

/* The target: listens on sock under uid id until killed. */
static pid_t start_target(uid_t id, const char *sock, const struct vs_filter *f)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int p[2];
	pid_t pid;
	char c;

	if (fd_unix_addr(&sa, sock) < 0 || pipe2(p, O_CLOEXEC) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		int s;

		close(p[0]);
		s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (become(id, f) < 0 || s < 0 ||
		    bind(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    listen(s, 4) < 0 || write(p[1], "r", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(p[1]);
	if (pid > 0 && (!wait_readable(p[0], 5000) || read(p[0], &c, 1) != 1)) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		pid = -1;
	}
	close(p[0]);
	return pid;
}

/* Every attack from a child under uid id; 0, or -1 when it did not run. */
static int attack_from(uid_t id, const struct sibling_target *t,
		       const struct vs_filter *f, struct sibling_result *res)
{
	size_t want = SIB_COUNT * sizeof(*res), got = 0;
	int p[2], status;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		struct sibling_result r[SIB_COUNT];

		close(p[0]);
		if (become(id, f) < 0)
			_exit(1);
		for (int a = 0; a < SIB_COUNT; a++)
			sibling_attack_run((enum sibling_attack)a, t, &r[a], NULL);
		_exit(write(p[1], r, sizeof(r)) == (ssize_t)sizeof(r) ? 0 : 1);
	}
	close(p[1]);
	while (pid > 0 && got < want && wait_readable(p[0], 10000)) {
		ssize_t n = read(p[0], (char *)res + got, want - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(p[0]);
	if (pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	return got == want ? 0 : -1;
}

/*
 * The scratch record starts as a copy of the real one, so the two uids
 * are none a guest was given (running or not).  0, or -errno.
 */
static int seed_record(const char *state, char *name_a, char *name_b,
		       size_t len)
{
	_cleanup_free_ char *real = xasprintf("%s/uids", identity_state_dir());
	_cleanup_free_ char *copy = xasprintf("%s/uids", state);
	_cleanup_fd_ int in = -1, out = -1;
	char buf[8192];
	ssize_t n;

	snprintf(name_a, len, "vmseal-selftest-%d-a", (int)getpid());
	snprintf(name_b, len, "vmseal-selftest-%d-b", (int)getpid());
	if (mkdir(state, 0700) < 0)
		return -errno;
	in = open(real, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return errno == ENOENT ? 0 : -errno;
	out = open(copy, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0)
		return -errno;
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		if (write_full(out, buf, (size_t)n) < 0)
			return -EIO;
	}
	return n < 0 ? -errno : 0;
}

static void verdicts(struct sibling_row *rows, const struct sibling_result *a,
		     const struct sibling_result *ctl, uid_t ua, uid_t ub)
{
	for (int i = 0; i < SIB_COUNT; i++) {
		struct sibling_row *r = &rows[i];
		const char *e = a[i].err ? strerrorname_np(a[i].err) : NULL;

		snprintf(r->name, sizeof(r->name), "uid %u -> uid %u: %s",
			 (unsigned)ua, (unsigned)ub, what[i]);
		snprintf(r->got, sizeof(r->got), "%s",
			 a[i].err ? (e ? e : "failed") : "succeeded");
		r->note[0] = '\0';
		if (!a[i].err) {
			r->verdict = SIBLING_FAIL;
			snprintf(r->note, sizeof(r->note),
				 "another guest's uid reaches it: %s", a[i].detail);
		} else if (ctl[i].err) {
			r->verdict = SIBLING_SKIP;
			snprintf(r->note, sizeof(r->note),
				 "fails under its own uid too (%s): proves nothing here",
				 strerrorname_np(ctl[i].err) ?: "error");
		} else {
			r->verdict = SIBLING_PASS;
		}
	}
}

int selftest_siblings(struct sibling_row rows[SIB_COUNT], bool *skip,
		      char *why, size_t len)
{
	const char *tmp = getenv("TMPDIR");
	_cleanup_free_ char *tmpl = xasprintf("%s/vmseal-siblings.XXXXXX",
					      tmp && tmp[0] == '/' ? tmp : "/tmp");
	struct sibling_result a[SIB_COUNT], ctl[SIB_COUNT];
	struct policy_opts o = { .policy = VS_POLICY_DENY };
	struct sibling_target t = { 0 };
	struct vs_filter *f = NULL;
	struct vs_err err = { 0 };
	char *state = NULL, *dir_b = NULL, *sock = NULL;
	char name_a[64], name_b[64];
	uid_t ua, ub;
	int rc = -1;

	*skip = false;
	if (geteuid() != 0) {
		*skip = true;
		snprintf(why, len, "needs root: only root runs guests under uids "
				   "of their own");
		return -1;
	}
	if (!mkdtemp(tmpl) || chmod(tmpl, 0755) < 0) {
		snprintf(why, len, "scratch directory: %s", strerror(errno));
		return -1;
	}
	state = xasprintf("%s/state", tmpl);
	dir_b = xasprintf("%s/b", tmpl);
	sock = xasprintf("%s/qmp.sock", dir_b);
	rc = seed_record(state, name_a, name_b, sizeof(name_a));
	if (rc < 0) {
		snprintf(why, len, "copying %s/uids: %s", identity_state_dir(),
			 strerror(-rc));
		rc = -1;
		goto out;
	}
	rc = -1;
	if (uidpool_assign(state, name_a, UIDPOOL_FIRST, UIDPOOL_LAST, &ua,
			   &err) < 0 ||
	    uidpool_assign(state, name_b, UIDPOOL_FIRST, UIDPOOL_LAST, &ub,
			   &err) < 0) {
		snprintf(why, len, "allocating two uids: %s", err.msg);
		goto out;
	}
	/* B's runtime directory, as vmseal makes it. */
	if (mkdir(dir_b, 0700) < 0 || chown(dir_b, ub, ub) < 0 ||
	    chmod(dir_b, 0700) < 0) {
		snprintf(why, len, "%s: %s", dir_b, strerror(errno));
		goto out;
	}
	if (policy_build(&o, &f, &err) < 0) {
		snprintf(why, len, "filter: %s", err.msg);
		goto out;
	}
	t.dir = dir_b;
	t.socket = sock;
	t.pid = start_target(ub, sock, f);
	if (t.pid <= 0) {
		snprintf(why, len, "the target child (uid %u) did not start",
			 (unsigned)ub);
		goto out;
	}
	if (attack_from(ua, &t, f, a) < 0 || attack_from(ub, &t, f, ctl) < 0)
		snprintf(why, len, "an attacking child did not report");
	else
		rc = 0;
	kill(t.pid, SIGKILL);
	waitpid(t.pid, NULL, 0);
	if (rc == 0)
		verdicts(rows, a, ctl, ua, ub);
out:
	if (f)
		policy_free(f);
	path_remove_tree(tmpl);
	free(state);
	free(dir_b);
	free(sock);
	return rc;
}
