/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_SANDBOX_POLICY_H
#define VS_SANDBOX_POLICY_H

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
	const char *why;
};

extern const struct filter_rule policy_rules[];
extern const size_t policy_rules_count;

/*
 * What rule r does under policy p, as the libseccomp action and as words
 * ("notify", "errno EACCES", "kill").
 */
uint32_t policy_rule_action(const struct filter_rule *r, enum vs_policy p);
const char *policy_rule_action_str(const struct filter_rule *r,
				   enum vs_policy p, char *buf, size_t len);

/*
 * Builds the filter for policy p: arch checked first (foreign arch kills
 * the process), NO_NEW_PRIVS set on load, default allow, the table's
 * rules.  The context is the caller's (seccomp_release).
 */
int policy_build(enum vs_policy p, scmp_filter_ctx *out, struct vs_err *err);

/*
 * Loads a built filter into the calling thread; with the broker policy
 * *notify_fd receives the user-notification listener, otherwise -1.
 * For the child just before exec.
 */
int policy_load(scmp_filter_ctx ctx, enum vs_policy p, int *notify_fd,
		struct vs_err *err);

#endif
