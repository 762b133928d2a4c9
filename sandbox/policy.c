/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/policy.h"

#define X32_SYSCALL_BIT 0x40000000

int policy_syscall_max(void)
{
	return syscalls_x86_64[syscalls_x86_64_count - 1].nr;
}

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
	case RULE_ALLOW:
		return SCMP_ACT_ALLOW;
	case RULE_KILL:
		break;
	}
	return SCMP_ACT_KILL_PROCESS;
}

const char *policy_rule_action_str(const struct filter_rule *r,
				   const struct policy_opts *o, char *buf,
				   size_t len)
{
	uint32_t a = policy_rule_action(r, o->policy);
	const char *what;
	char e[32];

	if (a == SCMP_ACT_NOTIFY)
		what = "broker";
	else if (a == SCMP_ACT_KILL_PROCESS)
		what = "kill";
	else if (a == SCMP_ACT_ALLOW)
		what = "allow";
	else {
		snprintf(e, sizeof(e), "errno %s",
			 strerrorname_np((int)(a & 0xffff)));
		what = e;
	}
	if (o->kernel_ro_opens && r->flags_arg >= 0)
		snprintf(buf, len, "%s if writing", what);
	else
		snprintf(buf, len, "%s", what);
	return buf;
}

/*
 * The ceiling, in front of libseccomp's program (whose jumps are all
 * relative, so it runs unchanged after it):
 *
 *   0 ld  arch
 *   1 jeq AUDIT_ARCH_X86_64 ? 2 : 6    other arches: libseccomp kills
 *   2 ld  nr
 *   3 jgt max_nr ? 4 : 6               known numbers: the table decides
 *   4 jge X32 bit ? 6 : 5              x32 numbers: libseccomp kills
 *   5 ret ERRNO(ENOSYS)                a number no rule was written for
 *   6 (libseccomp's program)
 */
void policy_ceiling(int max_nr, struct sock_filter *out)
{
	const struct sock_filter c[POLICY_CEILING_LEN] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, arch)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, 4),
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
			 offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JGT | BPF_K, (uint32_t)max_nr, 0, 2),
		BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 1, 0),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS),
	};

	memcpy(out, c, sizeof(c));
}

int policy_build(const struct policy_opts *o, struct vs_filter **out,
		 struct vs_err *err)
{
	struct vs_filter *f = calloc(1, sizeof(*f));

	if (!f)
		return vs_errf(err, ENOMEM, "no memory for the filter");
	f->opts = *o;
	for (size_t i = 0; i < policy_precompiled_count; i++) {
		const struct policy_precompiled *pc = &policy_precompiled[i];

		if (pc->policy == o->policy &&
		    pc->kernel_ro_opens == o->kernel_ro_opens) {
			f->prog = pc->prog;
			f->len = pc->len;
			*out = f;
			return 0;
		}
	}
	free(f);
	if (!policy_precompiled_count)
		return vs_errf(err, ENOTSUP,
			       "the filter table is written for x86_64 only");
	return vs_errf(err, ENOENT, "no filter was compiled for policy %d%s",
		       (int)o->policy,
		       o->kernel_ro_opens ? " with kernel read-only opens" : "");
}

int policy_build_ceiling(const struct policy_opts *o, int max_nr,
			 struct vs_filter **out, struct vs_err *err)
{
	struct vs_filter *f;
	int rc = policy_build(o, &f, err);

	if (rc < 0)
		return rc;
	f->owned = calloc(f->len, sizeof(*f->owned));
	if (!f->owned) {
		free(f);
		return vs_errf(err, ENOMEM, "no memory for the filter");
	}
	memcpy(f->owned, f->prog, f->len * sizeof(*f->owned));
	policy_ceiling(max_nr, f->owned);
	f->prog = f->owned;
	*out = f;
	return 0;
}

void policy_free(struct vs_filter *f)
{
	if (!f)
		return;
	free(f->owned);
	free(f);
}

int policy_load(const struct vs_filter *f, int *notify_fd,
		struct vs_err *err)
{
	struct sock_fprog fprog = {
		.len = (unsigned short)f->len,
		.filter = (struct sock_filter *)f->prog,
	};
	unsigned flags = 0;
	long rc;

	*notify_fd = -1;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return vs_errnof(err, errno, "setting NO_NEW_PRIVS");
	if (f->opts.policy == VS_POLICY_BROKER)
		flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
	rc = syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &fprog);
	if (rc < 0)
		return vs_errnof(err, errno, "loading the seccomp filter");
	if (f->opts.policy == VS_POLICY_BROKER)
		*notify_fd = (int)rc;
	return 0;
}
