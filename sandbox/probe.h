/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_SANDBOX_PROBE_H
#define VS_SANDBOX_PROBE_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "conf/config.h"

/*
 * Probes: forbidden syscalls made for real in a forked child under a
 * policy, to prove what the filter does rather than to read it.  Every
 * probe's arguments are chosen so that the call is harmless even if
 * nothing stopped it (paths that do not exist, bad descriptors, a wrong
 * magic): the same probe without the filter is the control, and a probe
 * whose filtered answer equals the unfiltered one proves nothing.
 */

enum probe_outcome {
	PROBE_RETURNED,		/* the call returned (ret, err) */
	PROBE_KILLED,		/* the child died of sig */
	PROBE_EXITED,		/* the child exited with status (after exec) */
};

struct probe_result {
	enum probe_outcome outcome;
	long ret;
	int err;		/* errno when ret < 0 */
	int sig;
	int status;
};

/* What a policy must answer. */
enum expect_kind {
	EXPECT_SUCCESS,		/* returns >= 0 */
	EXPECT_ERRNO,		/* returns -1 with errno */
	EXPECT_KILL,		/* killed by SIGSYS */
	EXPECT_FAILED_EXEC,	/* exec'd program could not start (127) */
};

struct expect {
	enum expect_kind kind;
	int err;
};

struct probe {
	const char *name;	/* "openat2", "i386 int 0x80 open" */
	long (*run)(void);	/* returns the syscall's result, errno set */
	struct expect expect[3];	/* indexed by enum vs_policy */
	const char *why;
};

extern const struct probe probes[];
extern const size_t probes_count;

/*
 * The opens under policy_opts.kernel_ro_opens, with what each policy
 * answers then: read-only opens run in the kernel, the rest as before.
 */
extern const struct probe ro_probes[];
extern const size_t ro_probes_count;

struct policy_opts;
struct vs_filter;

/*
 * Runs one probe in a child that first loads the filter of policy p, or
 * none when unfiltered (the control).  Under the broker policy nobody
 * serves the listener (it is closed at once), so the open family shows
 * the fail-closed answer: ENOSYS.
 */
int probe_run(const struct probe *pr, enum vs_policy p, bool unfiltered,
	      struct probe_result *r, struct vs_err *err);

/* Same under the filter for o. */
int probe_run_opts(const struct probe *pr, const struct policy_opts *o,
		   struct probe_result *r, struct vs_err *err);

/* Same under a filter already built (NULL: none). */
int probe_run_filter(const struct probe *pr, const struct vs_filter *f,
		     struct probe_result *r, struct vs_err *err);

/* Whether r is what pr expects under p. */
bool probe_check(const struct probe *pr, enum vs_policy p,
		 const struct probe_result *r);

/* "ENOSYS", "killed (SIGSYS)", "returned 3", "exited 127". */
const char *probe_describe(const struct probe_result *r, char *buf,
			   size_t len);

#endif
