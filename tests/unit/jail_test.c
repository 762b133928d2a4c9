/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sandbox/jail.c for real (root only): a child forked into a jail sees
 * what the spec binds and nothing else, with its runtime directory
 * writable and the root not; a failing step is jail_enter's error and
 * leaves no init behind; destroying the jail ends what runs in it.
 */
#include <dirent.h>
#include <errno.h>
#include <linux/kcmp.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/jail.h"
#include "tests/lib/tap.h"

enum {
	R_PID2 = 1 << 0,	/* pid 2 of its PID namespace */
	R_USR = 1 << 1,		/* /usr/bin there */
	R_NO_ETC = 1 << 2,	/* /etc/passwd not there */
	R_NULL = 1 << 3,	/* /dev/null opens read-write */
	R_RW = 1 << 4,		/* a file can be made in the runtime dir */
	R_RO_ROOT = 1 << 5,	/* but not in / (EROFS) */
	R_NO_HOST_TMP = 1 << 6,	/* the rest of the host's /tmp is gone */
	R_PROC = 1 << 7,	/* its own /proc: /proc/1 is the init */
};

static int child(const struct jail *j, const char *rw, const char *sibling)
{
	struct vs_err err = { 0 };
	char path[512];
	struct stat st;
	int r = 0, fd;

	if (jail_enter(j, &err) < 0)
		return 0;
	if (getpid() == 2)
		r |= R_PID2;
	if (stat("/usr/bin", &st) == 0)
		r |= R_USR;
	if (stat("/etc/passwd", &st) < 0 && errno == ENOENT)
		r |= R_NO_ETC;
	fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		r |= R_NULL;
		close(fd);
	}
	snprintf(path, sizeof(path), "%s/made", rw);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0) {
		r |= R_RW;
		close(fd);
	}
	fd = open("/made", O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0 && errno == EROFS)
		r |= R_RO_ROOT;
	if (stat(sibling, &st) < 0 && errno == ENOENT)
		r |= R_NO_HOST_TMP;
	if (stat("/proc/1", &st) == 0 && stat("/proc/self", &st) == 0)
		r |= R_PROC;
	return r;
}

/* Field NAME of /proc/PID/status, as a number (base 16 for masks). */
static unsigned long long status_field(pid_t pid, const char *name, int base)
{
	char path[64], line[256];
	unsigned long long v = ~0ULL;
	size_t n = strlen(name);
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (!strncmp(line, name, n) && line[n] == ':')
			v = strtoull(line + n + 1, NULL, base);
	}
	if (f)
		fclose(f);
	return v;
}

static int count_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	while (d && (e = readdir(d)))
		n += e->d_name[0] != '.';
	if (d)
		closedir(d);
	return d ? n : -1;
}

/*
 * The init sets itself up with raw system calls in our memory
 * (jail.c): what it is once set up, whatever it inherited from us.
 */
static void init_state(pid_t init)
{
	char path[64], comm[32] = "";
	int i, fd;

	for (i = 0; i < 200 && count_fds(init) != 1; i++)
		usleep(10 * 1000);
	is_int(count_fds(init), 1, "the init holds one descriptor, its socket");
	ok(status_field(init, "SigIgn", 16) == 1ULL << (SIGCHLD - 1),
	   "the init ignores SIGCHLD alone (we ignore SIGUSR1)");
	ok(status_field(init, "SigBlk", 16) == 0,
	   "the init blocks nothing (we block SIGUSR2)");
	is_int((int)status_field(init, "NSpid", 10), (int)init,
	       "the init's host pid");
	snprintf(path, sizeof(path), "/proc/%d/comm", (int)init);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		(void)!read(fd, comm, sizeof(comm) - 1);
		close(fd);
	}
	has_str(comm, "vmseal-jail", "the init's name");
#if defined(__x86_64__) || defined(__aarch64__)
	ok(syscall(SYS_kcmp, getpid(), init, KCMP_VM, 0, 0) == 0,
	   "the init runs in our memory, not a copy");
#endif
}

int main(void)
{
	char base[] = "/tmp/jail-test.XXXXXX", rw[256], sib[256], made[300];
	char *ro[] = { "/usr", NULL }, *devs[] = { "/dev/null", NULL };
	struct jail j = JAIL_INIT;
	struct vs_err err = { 0 };
	int saved = -1, status = 0;
	pid_t pid = -1, init;

	if (jail_supported(&err) < 0) {
		tap_skip(err.msg, "the jail");
		return tap_done();
	}
	struct jail_spec bad = { .ro = ro, .rw_dir = "/nonexistent-vmseal/x" };
	int p[2];

	/* The emulator's child builds the root (jail_enter) and says why not. */
	if (jail_create(&bad, &j, &err) == 0 && pipe(p) == 0 &&
	    jail_pid_ns_enter(&j, &saved, &err) == 0) {
		pid = fork();
		if (pid == 0) {
			close(p[0]);
			int rc = jail_enter(&j, &err);

			(void)!write(p[1], err.msg, strlen(err.msg) + 1);
			_exit(rc < 0 ? 1 : 0);
		}
		jail_pid_ns_leave(&saved);
		close(p[1]);
		memset(err.msg, 0, sizeof(err.msg));
		(void)!read(p[0], err.msg, sizeof(err.msg) - 1);
		close(p[0]);
		waitpid(pid, &status, 0);
		ok(WIFEXITED(status) && WEXITSTATUS(status) == 1,
		   "a missing runtime directory: jail_enter fails");
		has_str(err.msg, "runtime directory", "...saying which step");
		jail_destroy(&j);
		ok(j.init == -1 && waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD,
		   "...and no init left behind");
	} else {
		ok(0, "a jail for the failing step: %s", err.msg);
	}

	if (!mkdtemp(base))
		return tap_done();
	/* What the init must not keep from us. */
	signal(SIGUSR1, SIG_IGN);
	{
		sigset_t m;

		sigemptyset(&m);
		sigaddset(&m, SIGUSR2);
		sigprocmask(SIG_BLOCK, &m, NULL);
	}
	snprintf(rw, sizeof(rw), "%s/run", base);
	snprintf(sib, sizeof(sib), "%s/other", base);
	mkdir(rw, 0700);
	mkdir(sib, 0700);
	struct jail_spec s = { .ro = ro, .devs = devs, .rw_dir = rw,
			       .hostname = "jail-test" };

	memset(&err, 0, sizeof(err));
	if (!ok(jail_create(&s, &j, &err) == 0, "a jail is built"))
		tap_diag("%s", err.msg);
	if (j.init < 0)
		goto out;
	init = j.init;
	init_state(init);
	ok(jail_pid_ns_enter(&j, &saved, &err) == 0, "into its PID namespace");
	pid = fork();
	if (pid == 0)
		_exit(child(&j, rw, sib));
	ok(jail_pid_ns_leave(&saved) == 0, "and back");
	waitpid(pid, &status, 0);
	status = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
	ok(status & R_PID2, "the child is pid 2 of the jail's PID namespace");
	ok(status & R_USR, "/usr is there");
	ok(status & R_NO_ETC, "/etc/passwd is not");
	ok(status & R_NULL, "/dev/null opens read-write");
	ok(status & R_RW, "its runtime directory is writable, at its host path");
	snprintf(made, sizeof(made), "%s/made", rw);
	ok(access(made, F_OK) == 0, "...and what it made there is on the host");
	ok(status & R_RO_ROOT, "the root is read-only (EROFS)");
	ok(status & R_NO_HOST_TMP, "the rest of the host's /tmp is not there");
	ok(status & R_PROC, "its own /proc");

	pid = -1;
	if (jail_pid_ns_enter(&j, &saved, &err) == 0) {
		pid = fork();
		if (pid == 0) {
			pause();
			_exit(0);
		}
		jail_pid_ns_leave(&saved);
	}
	/* Our child in the jail holds the init's exit until it is reaped. */
	jail_destroy(&j);
	if (pid > 0) {
		waitpid(pid, &status, 0);
		ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
		   "destroyed: what ran in the jail was killed");
	}
	waitpid(init, NULL, 0);
	ok(kill(init, 0) < 0 && errno == ESRCH, "and its init is gone");
out:
	unlink(made);
	rmdir(rw);
	rmdir(sib);
	rmdir(base);
	return tap_done();
}
