/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/fd.h"
#include "common/path.h"
#include "launcher/selftest_jail.h"
#include "sandbox/jail.h"
#include "sandbox/landlock.h"

/* The uid the children drop to (nobody on Debian): none of root's reach. */
#define CHILD_UID 65534

static struct jail_row *add(struct jail_row *rows, size_t *n,
			    const char *group, const char *name,
			    enum jail_verdict v, const char *got)
{
	struct jail_row *r = &rows[(*n)++];

	r->group = group;
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->verdict = v;
	/* What a probe got may be long: its start says enough. */
	{
		size_t len = strnlen(got, sizeof(r->got) - 1);

		memcpy(r->got, got, len);
		r->got[len] = '\0';
	}
	return r;
}

static const char *errname(int e)
{
	const char *s = e ? strerrorname_np(e) : "success";

	return s ? s : "?";
}

static void reap(pid_t pid)
{
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Gone, or a zombie: it runs no more. */
static bool dead(pid_t pid)
{
	char path[64], line[128];
	FILE *f;
	bool z = true;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return true;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "State:", 6)) {
			z = strchr(line, 'Z') || strchr(line, 'X');
			break;
		}
	}
	fclose(f);
	return z;
}

static bool wait_dead(pid_t pid, int ms)
{
	struct timespec t = { 0, 20 * 1000 * 1000 };

	for (int i = 0; i < ms / 20; i++) {
		/* Ours once orphaned (we are a subreaper): reap it. */
		waitpid(pid, NULL, WNOHANG);
		if (dead(pid))
			return true;
		nanosleep(&t, NULL);
	}
	return dead(pid);
}

static int drop_to_nobody(void)
{
	if (geteuid() != 0)
		return 0;
	if (setgroups(0, NULL) < 0 || setresgid(CHILD_UID, CHILD_UID, CHILD_UID) < 0 ||
	    setresuid(CHILD_UID, CHILD_UID, CHILD_UID) < 0)
		return -errno;
	return 0;
}

/* ---- the jail's view ---- */

static void view_rows(struct jail_row *rows, size_t *n)
{
	static const char *const what[] = {
		"no /run in the jail", "no image directory in the jail",
		"no other guest's runtime directory in the jail",
		"its own runtime directory in the jail, at its host path" };
	char base[] = "/tmp/vmseal-selftest-jail.XXXXXX";
	char own[PATH_MAX], other[PATH_MAX], images[PATH_MAX];
	const char *paths[4];
	char *ro[] = { "/usr", NULL }, *devs[] = { "/dev/null", NULL };
	struct jail j = JAIL_INIT;
	struct vs_err err = { 0 };
	int res[4], p[2], saved = -1;
	pid_t child;

	if (jail_supported(&err) < 0) {
		add(rows, n, "jail", "the jail's view", JAIL_SKIP, err.msg);
		return;
	}
	if (!mkdtemp(base)) {
		add(rows, n, "jail", "scratch directory", JAIL_FAIL, strerror(errno));
		return;
	}
	snprintf(own, sizeof(own), "%s/run-a", base);
	snprintf(other, sizeof(other), "%s/run-b", base);
	snprintf(images, sizeof(images), "%s/images", base);
	mkdir(own, 0700);
	mkdir(other, 0700);
	mkdir(images, 0700);
	paths[0] = "/run";
	paths[1] = images;
	paths[2] = other;
	paths[3] = own;
	struct jail_spec s = { .ro = ro, .devs = devs, .rw_dir = own,
			       .hostname = "selftest" };

	if (jail_create(&s, &j, &err) < 0 || pipe2(p, O_CLOEXEC) < 0 ||
	    jail_pid_ns_enter(&j, &saved, &err) < 0) {
		add(rows, n, "jail", "building a jail", JAIL_FAIL,
		    err.msg[0] ? err.msg : strerror(errno));
		goto out;
	}
	child = fork();
	jail_pid_ns_leave(&saved);
	if (child == 0) {
		close(p[0]);
		if (jail_enter(&j, &err) < 0 || drop_to_nobody() < 0)
			_exit(1);
		for (int i = 0; i < 4; i++) {
			struct stat st;

			res[i] = stat(paths[i], &st) < 0 ? errno : 0;
		}
		(void)!write(p[1], res, sizeof(res));
		_exit(0);
	}
	close(p[1]);
	if (child < 0 || read(p[0], res, sizeof(res)) != (ssize_t)sizeof(res)) {
		add(rows, n, "jail", "a child in the jail", JAIL_FAIL, "no answer");
	} else {
		for (int i = 0; i < 4; i++) {
			bool want_there = i == 3;
			bool pass = want_there ? res[i] == 0 : res[i] == ENOENT;

			add(rows, n, "jail", what[i], pass ? JAIL_PASS : JAIL_FAIL,
			    errname(res[i]));
		}
	}
	close(p[0]);
	if (child > 0)
		reap(child);
out:
	jail_destroy(&j);
	path_remove_tree(base);
}

/* ---- Landlock scoping ---- */

/* In a child: signal target, connect to @name; errnos into res[2]. */
static void scoped_attempts(bool landlock, pid_t target, const char *name,
			    int res[2], int *abi)
{
	struct landlock_spec spec = { .scope = true };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vs_err err = { 0 };
	size_t len = strlen(name);
	int p[2], fd;
	pid_t c;

	res[0] = res[1] = -1;
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	c = fork();
	if (c == 0) {
		close(p[0]);
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
		    (landlock && landlock_apply(&spec, abi, &err) < 0))
			_exit(1);
		res[0] = kill(target, 0) < 0 ? errno : 0;
		memcpy(sa.sun_path + 1, name, len);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		res[1] = connect(fd, (struct sockaddr *)&sa,
				 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + len)) < 0 ?
				 errno : 0;
		(void)!write(p[1], res, 2 * sizeof(int));
		_exit(0);
	}
	close(p[1]);
	if (c > 0) {
		if (read(p[0], res, 2 * sizeof(int)) != 2 * (ssize_t)sizeof(int))
			res[0] = res[1] = -1;
		reap(c);
	}
	close(p[0]);
}

static void landlock_rows(struct jail_row *rows, size_t *n)
{
	int abi = landlock_abi(), on[2], off[2], fd;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char name[64], got[128];
	pid_t target;

	if (abi < 6) {
		snprintf(got, sizeof(got),
			 abi ? "Landlock ABI %d has no scoping (6)" :
			       "the kernel has no Landlock", abi);
		add(rows, n, "landlock", "signal and abstract socket scoping",
		    JAIL_SKIP, got);
		return;
	}
	snprintf(name, sizeof(name), "vmseal-selftest-%d", (int)getpid());
	memcpy(sa.sun_path + 1, name, strlen(name));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    bind(fd, (struct sockaddr *)&sa,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + strlen(name))) < 0 ||
	    listen(fd, 4) < 0) {
		add(rows, n, "landlock", "an abstract socket", JAIL_FAIL,
		    strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	target = fork();
	if (target == 0) {
		pause();
		_exit(0);
	}
	scoped_attempts(true, target, name, on, &abi);
	scoped_attempts(false, target, name, off, &abi);
	kill(target, SIGKILL);
	reap(target);
	close(fd);
	snprintf(got, sizeof(got), "%s (without Landlock: %s)", errname(on[0]),
		 errname(off[0]));
	add(rows, n, "landlock", "signal to a process outside the domain",
	    on[0] == EPERM && off[0] == 0 ? JAIL_PASS : JAIL_FAIL, got);
	snprintf(got, sizeof(got), "%s (without Landlock: %s)", errname(on[1]),
		 errname(off[1]));
	add(rows, n, "landlock", "connect to an abstract socket made outside",
	    on[1] == EPERM && off[1] == 0 ? JAIL_PASS : JAIL_FAIL, got);
}

/* ---- death ---- */

/*
 * A stand-in supervisor: forks an "emulator" (in a jail when jailed)
 * that drops to nobody, sets its death signal as exec.c does, and, when
 * clear, clears it again as a compromised emulator could; reports the
 * emulator's pid, then waits to be killed.
 */
static void __attribute__((noreturn))
supervisor(bool jailed, bool clear, int report)
{
	char *ro[] = { "/usr", NULL };
	struct jail_spec s = { .ro = ro, .hostname = "selftest" };
	struct jail j = JAIL_INIT;
	struct vs_err err = { 0 };
	int saved = -1, go[2];
	pid_t emu;

	if (pipe2(go, O_CLOEXEC) < 0 ||
	    (jailed && (jail_create(&s, &j, &err) < 0 ||
			jail_pid_ns_enter(&j, &saved, &err) < 0)))
		_exit(1);
	emu = fork();
	jail_pid_ns_leave(&saved);
	if (emu == 0) {
		int sig = 0;

		if ((jailed && jail_enter(&j, &err) < 0) || drop_to_nobody() < 0 ||
		    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 ||
		    prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0) < 0 || sig != SIGKILL)
			_exit(1);
		if (clear)
			prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
		close(go[0]);
		close(go[1]);
		for (;;)
			pause();
	}
	close(go[1]);
	(void)!write(report, &emu, sizeof(emu));
	for (;;)
		pause();
}

static void death_row(struct jail_row *rows, size_t *n, bool jailed,
		      bool clear, const char *name)
{
	struct vs_err err = { 0 };
	pid_t sup, emu = -1;
	int p[2];
	char got[128];

	if (jailed && jail_supported(&err) < 0) {
		add(rows, n, "death", name, JAIL_SKIP, err.msg);
		return;
	}
	if (pipe2(p, O_CLOEXEC) < 0) {
		add(rows, n, "death", name, JAIL_FAIL, strerror(errno));
		return;
	}
	sup = fork();
	if (sup == 0) {
		close(p[0]);
		supervisor(jailed, clear, p[1]);
	}
	close(p[1]);
	if (sup < 0 || read(p[0], &emu, sizeof(emu)) != (ssize_t)sizeof(emu) ||
	    emu <= 0) {
		add(rows, n, "death", name, JAIL_FAIL, "the stand-in did not start");
		close(p[0]);
		if (sup > 0) {
			kill(sup, SIGKILL);
			reap(sup);
		}
		return;
	}
	close(p[0]);
	usleep(100 * 1000);
	kill(sup, SIGKILL);
	reap(sup);
	if (wait_dead(emu, 2000)) {
		add(rows, n, "death", name, JAIL_PASS, "killed with its supervisor");
	} else {
		snprintf(got, sizeof(got), "pid %d outlived its supervisor",
			 (int)emu);
		add(rows, n, "death", name, JAIL_FAIL, got);
		kill(emu, SIGKILL);
		waitpid(emu, NULL, 0);
	}
}

size_t selftest_jail(struct jail_row rows[JAIL_ROWS_MAX])
{
	int was = 0;
	size_t n = 0;

	view_rows(rows, &n);
	landlock_rows(rows, &n);
	/* Orphaned stand-ins come to us, to be reaped. */
	prctl(PR_GET_CHILD_SUBREAPER, &was, 0, 0, 0);
	prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	death_row(rows, &n, false, false,
		  "emulator with PR_SET_PDEATHSIG after its uid change, supervisor SIGKILLed");
	death_row(rows, &n, true, true,
		  "jailed emulator that cleared its own death signal, supervisor SIGKILLed");
	prctl(PR_SET_CHILD_SUBREAPER, was, 0, 0, 0);
	return n;
}
