/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_SANDBOX_JAIL_H
#define VS_SANDBOX_JAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

/*
 * The emulator's jail when vmseal is root: new mount, PID, IPC and UTS
 * namespaces (and network, when asked), and a root built on an empty
 * tmpfs holding only what the emulator may use, each at its host path:
 *
 *   ro      read-only binds (libraries, firmware, kernel, `allow =`);
 *           with system_links, the top-level bin, sbin and lib* symlinks
 *           of a merged-/usr host are copied, a real directory there is
 *           bound like ro
 *   devs    device nodes (and /dev/pts) bound read-write, nosuid, noexec
 *   rw_dir  the guest's runtime directory, read-write, at its host path
 *
 * plus a fresh /proc of the jail's PID namespace (hidepid=invisible,
 * subset=pid).  The root is read-only.
 *
 * The jail is held by its init: pid 1 of the PID namespace, a child of
 * the caller that runs in the caller's memory (on x86_64 and aarch64,
 * see jail.c), stays root, never executes anything and dies with the
 * caller (PR_SET_PDEATHSIG) or when the caller closes its socket.  When
 * it dies, the kernel kills every process of the namespace: the emulator
 * never outlives its supervisor, whatever it does to its own
 * credentials or death signal.  The emulator itself is still the
 * caller's child (so wait, signals and the broker's pids stay as they
 * are): the caller forks it inside jail_pid_ns_enter() /
 * jail_pid_ns_leave(), and the child calls jail_enter() for the rest.
 */
struct jail_spec {
	char *const *ro;	/* NULL-terminated absolute paths */
	char *const *ro_real;	/* realpath() of each (NULL entry: missing);
				 * NULL: resolved in the jail's init */
	char *const *devs;	/* NULL-terminated; missing ones are skipped */
	const char *rw_dir;	/* NULL: none */
	bool system_links;	/* copy the top-level bin, sbin, lib* links */
	const char *hostname;	/* NULL: "vmseal" */
	bool new_net;		/* an empty network namespace */
};

struct jail {
	struct jail_spec spec;	/* what jail_enter() builds */
	pid_t init;		/* -1: no jail */
	int pidfd;		/* of init */
	int ctl;		/* closing it ends the jail */
	int ns_flags;		/* what the emulator joins (not the PID ns) */
	void *stack;		/* the init's, unmapped once it is reaped */
};

#define JAIL_INIT { .init = -1, .pidfd = -1, .ctl = -1 }

/*
 * Starts the jail's init in new namespaces and returns without waiting
 * for it to run; s (and what it points to) must live as long as j.  0 or
 * -errno with err saying which step failed.  Must be called from the
 * thread that will also fork the emulator (the init's death signal
 * follows that thread).
 */
int jail_create(const struct jail_spec *s, struct jail *j, struct vs_err *err);

/*
 * Around the fork of the emulator: children forked in between are born
 * in the jail's PID namespace.  *saved restores the caller's own.
 */
int jail_pid_ns_enter(const struct jail *j, int *saved, struct vs_err *err);
int jail_pid_ns_leave(int *saved);

/*
 * In the emulator's child, still root: joins the jail's mount, IPC, UTS
 * (and network) namespaces and builds the jail's root there (the
 * sequence in jail.c; pivot_root moves the init's root too); its root
 * and cwd become the jail's /.  Once per jail: one child enters it.
 */
int jail_enter(const struct jail *j, struct vs_err *err);

/*
 * Ends the jail (every process left in it dies) and reaps its init; reap
 * your own children in the jail (the emulator) first: the init's exit
 * waits for them, and this waits at most a second.
 */
void jail_destroy(struct jail *j);

/* Whether the kernel and our privileges allow a jail; 0 or -errno. */
int jail_supported(struct vs_err *err);

#endif
