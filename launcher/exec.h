/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_EXEC_H
#define VS_LAUNCHER_EXEC_H

#include <stddef.h>
#include <sys/types.h>

#include <seccomp.h>

struct vs_filter;

#include "common/err.h"
#include "conf/config.h"
#include "sandbox/jail.h"
#include "sandbox/landlock.h"
#include "sandbox/privs.h"

/* How the emulator's process is started. */
struct launch_spec {
	const char *binary;
	char *const *argv;
	char *const *envp;
	/* src_fds[i] becomes dst_fds[i] in the emulator; nothing else. */
	const int *src_fds;
	const int *dst_fds;
	size_t n_fds;
	/* The caller's own descriptors the emulator keeps, as numbered. */
	const int *keep_fds;
	size_t n_keep;
	enum vs_policy policy;
	struct vs_filter *filter;	/* built by policy_build() */
	const struct privs *privs;	/* who the emulator runs as */
	/*
	 * SELinux context to exec the emulator in ([selinux]); NULL keeps
	 * the kernel's default transition.
	 */
	const char *exec_context;
	/* The jail the emulator is started in (jail_create()), or NULL. */
	const struct jail *jail;
	/* Landlock rules for the emulator, or NULL for none. */
	const struct landlock_spec *landlock;
};

/* Which step failed: decides the exit code (71 setup, 126 exec). */
enum launch_step {
	LAUNCH_OK = 0,
	LAUNCH_SETUP,
	LAUNCH_EXEC,
};

/*
 * Forks (into the jail's namespaces when there is one); the child places
 * the descriptors, closes every other one, drops its privileges, sets its
 * death signal (SIGKILL when this thread exits), applies Landlock,
 * installs the filter (NO_NEW_PRIVS first), hands the notification
 * listener back (broker policy) and execs.  Returns 0 once the exec
 * succeeded, with *pid and *notify_fd (-1 unless broker).  On failure
 * the child is reaped, *step says which kind of failure, and err says
 * what the child reported.  sigmask is the mask the emulator starts with.
 */
int launch_start(const struct launch_spec *s, const sigset_t *sigmask,
		 pid_t *pid, int *notify_fd, enum launch_step *step,
		 struct vs_err *err);

/*
 * The child's half of launch_start() in this very process (vmseal wrap:
 * the emulator keeps the caller's pid): the same steps, the listener
 * sent on sock, then the exec.  Never returns; on failure the report
 * goes on sock and the process exits 71 (126: the exec failed).
 */
void __attribute__((noreturn))
launch_exec_here(const struct launch_spec *s, const sigset_t *sigmask,
		 int sock);

/*
 * The parent's half: reads the listener and waits until the exec closed
 * sock (0, *notify_fd set, -1 unless broker), or a report (-errno, err
 * and *step set).
 */
int launch_await(int sock, int *notify_fd, enum launch_step *step,
		 struct vs_err *err);

#endif
