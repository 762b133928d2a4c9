/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sandbox/policy.h"

uint32_t policy_rule_action(const struct filter_rule *r, enum vs_policy p)
{
	switch (r->action) {
	case RULE_BROKER:
	case RULE_NEVER:
		if (p == VS_POLICY_KILL)
			return SCMP_ACT_KILL_PROCESS;
		if (p == VS_POLICY_BROKER && r->action == RULE_BROKER)
			return SCMP_ACT_NOTIFY;
		return SCMP_ACT_ERRNO((uint32_t)r->errnum);
	case RULE_ERRNO:
		return SCMP_ACT_ERRNO((uint32_t)r->errnum);
	case RULE_KILL:
		break;
	}
	return SCMP_ACT_KILL_PROCESS;
}

const char *policy_rule_action_str(const struct filter_rule *r,
				   enum vs_policy p, char *buf, size_t len)
{
	uint32_t a = policy_rule_action(r, p);

	if (a == SCMP_ACT_NOTIFY)
		snprintf(buf, len, "broker");
	else if (a == SCMP_ACT_KILL_PROCESS)
		snprintf(buf, len, "kill");
	else
		snprintf(buf, len, "errno %s", strerrorname_np((int)(a & 0xffff)));
	return buf;
}

static int add_rule(scmp_filter_ctx ctx, const struct filter_rule *r,
		    enum vs_policy p, struct vs_err *err)
{
	uint32_t action = policy_rule_action(r, p);
	int rc;

	if (!r->any_bits) {
		rc = seccomp_rule_add_exact(ctx, action, r->nr, 0);
		if (rc < 0)
			return vs_errnof(err, -rc, "seccomp rule for %s",
					 r->name);
		return 0;
	}
	/* "any of these bits" is one masked-equality rule per bit. */
	for (unsigned bit = 0; bit < 64; bit++) {
		uint64_t m = (uint64_t)1 << bit;
		struct scmp_arg_cmp cmp = {
			.arg = r->arg,
			.op = SCMP_CMP_MASKED_EQ,
			.datum_a = m,
			.datum_b = m,
		};

		if (!(r->any_bits & m))
			continue;
		rc = seccomp_rule_add_exact_array(ctx, action, r->nr, 1, &cmp);
		if (rc < 0)
			return vs_errnof(err, -rc, "seccomp rule for %s arg%u",
					 r->name, r->arg);
	}
	return 0;
}

int policy_build(enum vs_policy p, scmp_filter_ctx *out, struct vs_err *err)
{
	scmp_filter_ctx ctx;
	int rc;

	if (seccomp_arch_native() != SCMP_ARCH_X86_64)
		return vs_errf(err, ENOTSUP,
			       "the filter table is written for x86_64 only");
	ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return vs_errf(err, ENOMEM, "seccomp_init failed");
	/*
	 * A call made through another ABI (int 0x80, x32) has other
	 * numbers and would slip past every rule: kill it.
	 */
	rc = seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH,
			      SCMP_ACT_KILL_PROCESS);
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
	if (rc < 0) {
		seccomp_release(ctx);
		return vs_errnof(err, -rc, "seccomp filter attributes");
	}
	for (size_t i = 0; i < policy_rules_count; i++) {
		rc = add_rule(ctx, &policy_rules[i], p, err);
		if (rc < 0) {
			seccomp_release(ctx);
			return rc;
		}
	}
	*out = ctx;
	return 0;
}

int policy_load(scmp_filter_ctx ctx, enum vs_policy p, int *notify_fd,
		struct vs_err *err)
{
	int rc = seccomp_load(ctx);

	*notify_fd = -1;
	if (rc < 0)
		return vs_errnof(err, -rc, "loading the seccomp filter");
	if (p == VS_POLICY_BROKER) {
		rc = seccomp_notify_fd(ctx);
		if (rc < 0)
			return vs_errnof(err, -rc,
					 "no seccomp user-notification listener");
		*notify_fd = rc;
	}
	return 0;
}
