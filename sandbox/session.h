/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_SANDBOX_SESSION_H
#define VS_SANDBOX_SESSION_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"
#include "sandbox/allowlist.h"
#include "sandbox/broker.h"

/*
 * A broker session for tests: a child under the broker policy runs a
 * function, with this process (or a subprocess) serving its requests,
 * exactly as `vmseal run` would serve an emulator.  What the child writes
 * to its out descriptor comes back as text.
 */
struct session_spec {
	const struct allowlist *allow;
	const struct devino *deny;	/* identities the broker refuses */
	size_t n_deny;
	const char *run_dir;		/* where unlink may remove sockets */
	const char *const *run_keep;	/* ... except these (vmseal's own) */

	/* In the child, after the filter: write results to out, return. */
	void (*child)(void *arg, int out);
	void *arg;

	/*
	 * In a thread of the serving process while the child runs (NULL for
	 * none): stop when *stop becomes true.
	 */
	void (*helper)(void *arg, pid_t child, atomic_bool *stop);

	/*
	 * Serve from a subprocess and SIGKILL it when the child writes this
	 * line ("kill-broker\n"), to prove what happens without a broker.
	 */
	bool killable_broker;

	unsigned timeout_s;		/* the child is killed after this */
};

struct session_result {
	char out[16384];		/* what the child wrote */
	int status;			/* its wait status */
	unsigned long served, denied;	/* the broker's counts (in-process) */
	bool timed_out;
};

int session_run(const struct session_spec *s, struct session_result *r,
		struct vs_err *err);

#define SESSION_KILL_BROKER "kill-broker\n"

#endif
