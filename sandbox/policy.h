/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_SANDBOX_POLICY_H
#define VS_SANDBOX_POLICY_H

#include <fcntl.h>
#include <linux/filter.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <seccomp.h>

#include "common/err.h"
#include "conf/config.h"

/*
 * The seccomp policy the emulator runs under.  Every rule lives in one
 * table (policy_rules.c) with the reason it is there; the three policies
 * differ only in what the open family gets.
 */

enum rule_action {
	/*
	 * The open family: the broker answers it (broker policy), it fails
	 * with errnum (deny), or it kills (kill).  The only rules whose
	 * action depends on the policy.
	 */
	RULE_BROKER,
	/* Also in the open family, but never served: errnum under broker. */
	RULE_NEVER,
	RULE_ERRNO,	/* fail with rule.errnum */
	RULE_KILL,	/* kill the whole process */
	/*
	 * Allowed, on purpose: a call that names a file by path but reads
	 * no content and changes nothing (stat, readlink), with its reason.
	 * Listed so that every path-taking syscall has a rule someone
	 * decided on; it adds nothing to the program.
	 */
	RULE_ALLOW,
};

struct filter_rule {
	const char *name;	/* syscall name, as strace prints it */
	int nr;			/* x86_64 number */
	enum rule_action action;
	int errnum;		/* the errno of RULE_ERRNO, and of the open family under deny */
	/*
	 * When nonzero the rule only applies when argument `arg` has any
	 * of these bits set (one libseccomp rule per bit); other calls are
	 * allowed.
	 */
	unsigned arg;
	uint64_t any_bits;
	/*
	 * open and openat: the argument holding the open flags, for the
	 * kernel read-only path (policy_opts.kernel_ro_opens); -1 otherwise.
	 */
	int flags_arg;
	const char *why;
	/*
	 * When set the rule only applies when argument `arg` equals
	 * eq_val exactly (prctl options are numbers, not bits).
	 */
	bool has_eq;
	uint64_t eq_val;
};

extern const struct filter_rule policy_rules[];
extern const size_t policy_rules_count;

/*
 * Every x86_64 syscall of Linux up to the version the table was last
 * reviewed against (syscalls_x86_64.c), in number order.
 */
#define SC_PATH 1	/* names a file by path (or sockaddr path, or handle) */
struct syscall_entry {
	int nr;
	const char *name;
	unsigned flags;
};
extern const struct syscall_entry syscalls_x86_64[];
extern const size_t syscalls_x86_64_count;
/* The kernel version the list (and so the table) was reviewed against. */
extern const char syscalls_x86_64_kernel[];

/*
 * The ceiling: the highest x86_64 number the table knows.  Every number
 * above it (below the x32 bit, which kills) answers ENOSYS, so a syscall
 * added by a later kernel never runs unreviewed.
 */
int policy_syscall_max(void);

/*
 * Open flags the kernel read-only path never lets through: any write
 * access mode (O_WRONLY, O_RDWR, and 3), O_CREAT, O_TRUNC, O_PATH and
 * O_TMPFILE.  O_APPEND is harmless without write access and passes.
 */
#define POLICY_RO_REFUSED_FLAGS                                              \
	((uint64_t)(O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_PATH |         \
		    020000000 /* __O_TMPFILE */))

/* What the filter is built from: plain values. */
struct policy_opts {
	enum vs_policy policy;
	/*
	 * The Landlock fast path: open and openat without any of
	 * POLICY_RO_REFUSED_FLAGS run in the kernel with no notification
	 * (so no broker, and no EACCES under deny); every other open, and
	 * creat, openat2 and unlink, are answered as without it.  Only
	 * safe when something else (the jail's mount namespace and
	 * Landlock) confines what a read-only open can reach.
	 */
	bool kernel_ro_opens;
};

/*
 * What rule r does under options o, as the libseccomp action and as
 * words ("broker", "errno EACCES", "kill", "allow").
 */
uint32_t policy_rule_action(const struct filter_rule *r, enum vs_policy p);
const char *policy_rule_action_str(const struct filter_rule *r,
				   const struct policy_opts *o, char *buf,
				   size_t len);

/*
 * The program the emulator runs under, ready for seccomp(2): built once
 * per policy and options, loaded without libseccomp.
 */
struct vs_filter {
	struct policy_opts opts;
	size_t len;			/* instructions */
	const struct sock_filter *prog;
	struct sock_filter *owned;	/* prog, when this filter allocated it */
};

/*
 * The filter for o: the ceiling (above), then libseccomp's program for
 * the table: arch checked first (a foreign arch kills the process),
 * default allow, the table's rules.  The program compiled at build time;
 * libseccomp runs only if none matches.  Free with policy_free().
 */
int policy_build(const struct policy_opts *o, struct vs_filter **out,
		 struct vs_err *err);
void policy_free(struct vs_filter *f);

/*
 * The same filter with its ceiling at max_nr instead of the table's
 * highest number: for proving the ceiling live on a syscall this kernel
 * has (selftest moves it below getpid).
 */
int policy_build_ceiling(const struct policy_opts *o, int max_nr,
			 struct vs_filter **out, struct vs_err *err);

/*
 * Sets NO_NEW_PRIVS and loads f into the calling thread with seccomp(2);
 * with the broker policy *notify_fd receives the user-notification
 * listener, otherwise -1.  For the child just before exec.
 */
int policy_load(const struct vs_filter *f, int *notify_fd,
		struct vs_err *err);

/*
 * libseccomp's context for the table under o (without the ceiling,
 * which libseccomp cannot express): what the program is made from, and
 * what `vmseal filter --pfc` shows.  The caller releases it.
 */
int policy_compile(const struct policy_opts *o, scmp_filter_ctx *out,
		   struct vs_err *err);

/*
 * The whole program compiled now through libseccomp: the ceiling for
 * max_nr, then the table's program.  *prog is the caller's (free).
 */
int policy_program(const struct policy_opts *o, int max_nr,
		   struct sock_filter **prog, size_t *len, struct vs_err *err);

/*
 * The programs compiled at build time (sandbox/gen/filter_gen.c), one per
 * policy and option: what policy_build() hands out.
 */
struct policy_precompiled {
	enum vs_policy policy;
	bool kernel_ro_opens;
	const struct sock_filter *prog;
	size_t len;
};
extern const struct policy_precompiled policy_precompiled[];
extern const size_t policy_precompiled_count;
extern const char policy_precompiled_libseccomp[];	/* its version */

/* The ceiling alone: POLICY_CEILING_LEN instructions into out. */
#define POLICY_CEILING_LEN 6
void policy_ceiling(int max_nr, struct sock_filter *out);

#endif
