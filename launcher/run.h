/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_RUN_H
#define VS_LAUNCHER_RUN_H

#include <stdbool.h>

#include "conf/config.h"
#include "sandbox/allowlist.h"

struct run_opts {
	bool verbose;		/* log every broker request */
	bool daemon;		/* detach; `run` returns once the guest is up */
	const char *pidfile;	/* also write the supervisor's pid here */
	const char *log;	/* daemon: log here (reopened on SIGHUP), not syslog */
	const char *run_dir;	/* the runtime base; NULL: rundir_base() */
};

/* `vmseal run`: launches and supervises; the exit code. */
int run_guest(const struct guest_config *cfg, const struct run_opts *o);

/* `vmseal wrap`: the same for a wrapped command line (wrap_build()). */
struct wrap;
int run_wrapped(const struct guest_config *cfg, struct wrap *w,
		const struct run_opts *o);

/* The broker's allowlist for a config (defaults, kernel, initrd, allow). */
void run_allowlist(const struct guest_config *cfg, struct allowlist *al);

/*
 * Resolves who guest name's emulator runs as ([sandbox] user and friends,
 * or a uid of its own: launcher/identity.h; recorded when record); the
 * exit code (65, or 71 when the uid cannot be allocated) after printing
 * why when that is not possible.
 */
struct privs;
struct identity;
int run_privs(const struct guest_config *cfg, const char *name, bool record,
	      struct privs *p, struct identity *id);

/* Prints "vmseal: CONTEXT: MESSAGE"; returns code. */
int run_fail(const struct vs_err *e, int code);

/* The emulator argv for plan, io_uring requests rewritten with a notice. */
struct plan;
char **run_argv(const struct plan *plan);

#endif
