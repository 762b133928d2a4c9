/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_INPLACE_H
#define VS_LAUNCHER_INPLACE_H

#include <signal.h>
#include <sys/types.h>

#include "launcher/exec.h"

/*
 * The emulator keeps the caller's pid (vmseal wrap): this process forks
 * its helper, then becomes the emulator (launch_exec_here(): descriptors,
 * privileges, filter, the listener to the helper, exec) and never
 * returns.  The helper, which dies with the emulator (PR_SET_PDEATHSIG,
 * SIGTERM), returns 0 with *emu = the emulator's pid (its parent) and
 * *notify_fd the listener, and goes on to supervise; or, when the
 * emulator failed before its exec, the error (-errno, *step, err) after
 * the emulator's process has exited 71 or 126 with that report.
 *
 * The other way round, the emulator cannot be told to die with its
 * helper; a helper that is gone closes the listener, and from then on
 * the kernel answers every call the filter sends to the broker with
 * ENOSYS: the emulator can no longer open anything (fail closed).  A
 * helper that ends on its own (an error) kills the emulator first.
 */
int launch_in_place(const struct launch_spec *s, const sigset_t *sigmask,
		    pid_t *emu, int *notify_fd, enum launch_step *step,
		    struct vs_err *err);

#endif
