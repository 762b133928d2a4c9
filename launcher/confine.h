/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_CONFINE_H
#define VS_LAUNCHER_CONFINE_H

#include <stdbool.h>
#include <stdio.h>

#include "common/err.h"
#include "common/strv.h"
#include "conf/config.h"
#include "launcher/plan.h"
#include "sandbox/allowlist.h"
#include "sandbox/jail.h"
#include "sandbox/landlock.h"

/*
 * The layers around the filter for one launch: the jail (vmseal is root
 * and runs a config) and Landlock (whenever the kernel has it), with
 * what each shows the emulator.  Both are derived from the same lists:
 * the broker's allowlist (read-only), the devices the command line uses
 * and the runtime directory (read-write).
 */
struct confine {
	bool jailed;
	const char *no_jail;	/* why not, when !jailed */
	bool new_net;
	enum vs_policy policy;
	bool kernel_opens;	/* kernel-opens = yes and no lock-after */
	int landlock_abi;	/* 0: no Landlock */
	struct strv ro;		/* read-only: /usr, the allowlist, the binary;
				 * under deny and kill the binary alone */
	bool system_links;	/* the jail copies /bin, /lib... (not under deny, kill) */
	char **ro_real;		/* realpath() of each of ro, once (NULL: missing) */
	struct strv devs;	/* device nodes (and /dev/pts) */
	struct strv rw;		/* the runtime directory (and wrapped sockets' dirs) */
	struct strv ll_ro;	/* ro, plus the jail's own /proc */
	struct landlock_spec ll;
	struct jail jail;
};

#define CONFINE_INIT { .jail = JAIL_INIT }

/*
 * Decides the layers for cfg and fills the lists.  al is the broker's
 * allowlist (NULL: built here from cfg), rundir the runtime directory
 * (NULL: none), wrapped_sockets the unix sockets a wrapped command line
 * makes (NULL: none).
 */
void confine_plan(struct confine *c, const struct guest_config *cfg,
		  char *const *argv, const char *binary,
		  const struct allowlist *al, const char *rundir, bool wrapped,
		  char *const *wrapped_sockets);

/*
 * Refuses a chain member (or data file) that lies beneath a tree the
 * emulator can read by path: it would reach it without its descriptor.
 * 0 or -EPERM with err naming the member and the tree.
 */
int confine_check_images(const struct confine *c, const struct plan *p,
			 struct vs_err *err);

/*
 * Whether read-only opens may go straight to the kernel (the filter's
 * kernel_ro_opens): only under the broker policy, in the jail (nothing
 * but the allowlist's trees to reach) and under Landlock (nothing
 * beneath them but what the rules allow, and no passed image reopened
 * through /proc/self/fd).
 */
bool confine_kernel_ro_opens(const struct confine *c, enum vs_policy p);

/* Builds the jail when there is one; 0 or -errno with err. */
int confine_start(struct confine *c, const char *hostname,
		  struct vs_err *err);

void confine_release(struct confine *c);

/* The layers, one line each, for `check`; confine_log() to the log (-v). */
void confine_report(FILE *f, const struct confine *c);
void confine_log(const struct confine *c);

#endif
