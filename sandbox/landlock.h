/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_SANDBOX_LANDLOCK_H
#define VS_SANDBOX_LANDLOCK_H

#include <stdbool.h>

#include "common/err.h"

/*
 * Landlock, the third layer (after the filter and the jail): the kernel
 * itself refuses, for every path lookup the emulator makes, what lies
 * outside these rules, and (ABI 6 and later) signals to processes and
 * connections to abstract unix sockets outside the emulator's domain.
 * Best effort: the rights the running kernel's ABI knows are handled,
 * the others are not; a kernel without Landlock leaves the layer off.
 */
struct landlock_spec {
	char *const *ro;	/* read (and execute) beneath; NULL-terminated */
	char *const *devs;	/* devices (or device dirs): read, write, ioctl */
	char *const *rw;	/* everything but execute beneath */
	bool scope;		/* signal and abstract socket scoping */
};

/* The ABI version the kernel offers, 0 without Landlock. */
int landlock_abi(void);

/* What an ABI gives, for `check`: "ABI 7: filesystem, signal and ...". */
const char *landlock_describe(int abi, char *buf, unsigned long len);

/*
 * Restricts the calling thread (and what it executes) to s; call it with
 * NO_NEW_PRIVS set, before the seccomp filter.  Paths that do not exist
 * are skipped.  *abi is the ABI used (0: the kernel has no Landlock,
 * nothing done).  0 or -errno with err.
 */
int landlock_apply(const struct landlock_spec *s, int *abi,
		   struct vs_err *err);

#endif
