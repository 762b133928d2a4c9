/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vmseal wrap's process model: the process the caller started (libvirt,
 * an admin) becomes QEMU, so -pidfile, libvirt's pid file, its stats and
 * cgroup placement, and every signal name QEMU itself.  The broker and
 * control socket live in a helper forked before the filter is installed.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "launcher/inplace.h"

int launch_in_place(const struct launch_spec *s, const sigset_t *sigmask,
		    pid_t *emu, int *notify_fd, enum launch_step *step,
		    struct vs_err *err)
{
	pid_t self = getpid(), helper;
	int sv[2], sig = 0, rc;

	*emu = -1;
	*notify_fd = -1;
	*step = LAUNCH_SETUP;
	fflush(NULL);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return vs_errnof(err, errno, "socketpair");
	helper = fork();
	if (helper < 0) {
		close(sv[0]);
		close(sv[1]);
		return vs_errnof(err, errno, "fork");
	}
	if (helper > 0) {
		/* The emulator-to-be: never returns. */
		close(sv[0]);
		launch_exec_here(s, sigmask, sv[1]);
	}
	close(sv[1]);
	/*
	 * SIGTERM (blocked: it arrives on the supervisor's signalfd) when
	 * the emulator's thread that forked us, its main thread, ends: the
	 * supervisor then finds its parent gone and cleans up.  Read back,
	 * then whether the emulator was already gone before it was set.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGTERM, 0, 0, 0) < 0 ||
	    prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0) < 0 || sig != SIGTERM) {
		rc = vs_errnof(err, errno ? errno : EPERM,
			       "setting the helper's death signal");
		kill(self, SIGKILL);
		close(sv[0]);
		return rc;
	}
	if (getppid() != self) {
		close(sv[0]);
		return vs_errf(err, ESRCH, "the emulator's process is gone");
	}
	rc = launch_await(sv[0], notify_fd, step, err);
	close(sv[0]);
	if (rc < 0)
		return rc;
	*emu = self;
	return 0;
}
