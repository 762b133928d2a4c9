/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * launcher/exec.c's launch_start() for real (root only): the emulator's
 * child runs in the supervisor's memory until its exec (CLONE_VM), so
 * what it changes there must not reach the supervisor: its uid change
 * sets the shared memory's dumpable flag, which the supervisor puts
 * back; its signal dispositions and descriptors are its own.  A child
 * that fails reports why.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "launcher/exec.h"
#include "sandbox/policy.h"
#include "sandbox/privs.h"
#include "tests/lib/tap.h"

extern char **environ;

static int run(const char *binary, char *const *argv, struct privs *p,
	       struct vs_filter *f, int *status, struct vs_err *err)
{
	struct launch_spec s = {
		.binary = binary,
		.argv = argv,
		.envp = environ,
		.policy = VS_POLICY_DENY,
		.filter = f,
		.privs = p,
	};
	enum launch_step step;
	sigset_t mask;
	int notify = -1, rc;
	pid_t pid;

	sigprocmask(SIG_SETMASK, NULL, &mask);
	rc = launch_start(&s, &mask, &pid, &notify, &step, err);
	if (rc < 0)
		return rc;
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
	return 0;
}

int main(void)
{
	struct privs_want w = { .source = "exec_test", .user = "nobody" };
	const char *build = getenv("E2E_BUILD");
	char standin[4096];
	char *const ok_argv[] = { "standin_exit", NULL };
	char *const bad_argv[] = { "missing", NULL };
	struct vs_filter *f = NULL;
	struct vs_err err = { 0 };
	struct privs p;
	bool warn = false;
	int status = -1, fd;
	struct sigaction sa;

	if (geteuid() != 0) {
		tap_skip("needs root to drop to nobody", "launch_start");
		return tap_done();
	}
	/* Static: under deny a dynamic binary cannot open its libraries. */
	snprintf(standin, sizeof(standin), "%s/tests/probes/standin_exit",
		 build ? build : "build");
	if (access(standin, X_OK) < 0 ||
	    privs_resolve(&w, 0, &p, &warn, &err) < 0 ||
	    policy_build(&(struct policy_opts){ .policy = VS_POLICY_DENY }, &f,
			 &err) < 0) {
		tap_skip(err.msg[0] ? err.msg : "no tests/probes/standin_exit (make test-bins)",
			 "launch_start");
		return tap_done();
	}

	/*
	 * Dumpable 1 here, and fs.suid_dumpable (0 or 2, else the child
	 * gets a copy of our memory) in the shared memory after the child's
	 * uid change: only putting it back leaves it 1.
	 */
	prctl(PR_SET_DUMPABLE, 1, 0, 0, 0);
	signal(SIGUSR2, SIG_IGN);
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (!ok(run(standin, ok_argv, &p, f, &status, &err) == 0 &&
		WIFEXITED(status) && WEXITSTATUS(status) == 0,
		"the emulator runs as nobody under the filter and exits 0"))
		tap_diag("%s (status %d)", err.msg, status);
	is_int(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1,
	       "our dumpable flag is ours again after the child's uid change");
	ok(getuid() == 0 && geteuid() == 0, "we are still root");
	sigaction(SIGUSR2, NULL, &sa);
	ok(sa.sa_handler == SIG_IGN,
	   "our signal dispositions are ours (the child reset its own)");
	ok(fcntl(fd, F_GETFD) >= 0,
	   "our descriptors are ours (the child closed its own)");
	ok(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 0,
	   "no NO_NEW_PRIVS here");
	ok(getpid() == (pid_t)syscall(SYS_getpid) && getpid() > 1,
	   "and getpid() is still ours");

	memset(&err, 0, sizeof(err));
	ok(run("/nonexistent/missing", bad_argv, &p, f, &status, &err) < 0,
	   "a binary that cannot be executed: launch_start fails");
	has_str(err.msg, "cannot execute", "...and the child says why");
	is_int(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1,
	       "...and our dumpable flag is ours after that too");

	close(fd);
	policy_free(f);
	privs_free(&p);
	return tap_done();
}
