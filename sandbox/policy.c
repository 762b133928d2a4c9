/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <linux/audit.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
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

/* One masked-equality rule per bit: "arg has any of these bits". */
static int add_any_bits(scmp_filter_ctx ctx, const struct filter_rule *r,
			uint32_t action, unsigned arg, uint64_t bits,
			struct vs_err *err)
{
	for (unsigned bit = 0; bit < 64; bit++) {
		uint64_t m = (uint64_t)1 << bit;
		struct scmp_arg_cmp cmp = {
			.arg = arg,
			.op = SCMP_CMP_MASKED_EQ,
			.datum_a = m,
			.datum_b = m,
		};
		int rc;

		if (!(bits & m))
			continue;
		rc = seccomp_rule_add_exact_array(ctx, action, r->nr, 1, &cmp);
		if (rc < 0)
			return vs_errnof(err, -rc, "seccomp rule for %s arg%u",
					 r->name, arg);
	}
	return 0;
}

static int add_rule(scmp_filter_ctx ctx, const struct filter_rule *r,
		    const struct policy_opts *o, struct vs_err *err)
{
	uint32_t action = policy_rule_action(r, o->policy);
	int rc;

	if (action == SCMP_ACT_ALLOW)
		return 0;
	/*
	 * The kernel read-only path: the open is answered as usual only
	 * when its flags ask for more than reading.  O_RDONLY is 0, so
	 * "any refused bit" is exactly "not a plain read".
	 */
	if (o->kernel_ro_opens && r->flags_arg >= 0)
		return add_any_bits(ctx, r, action, (unsigned)r->flags_arg,
				    POLICY_RO_REFUSED_FLAGS, err);
	if (r->any_bits)
		return add_any_bits(ctx, r, action, r->arg, r->any_bits, err);
	rc = seccomp_rule_add_exact(ctx, action, r->nr, 0);
	if (rc < 0)
		return vs_errnof(err, -rc, "seccomp rule for %s", r->name);
	return 0;
}

int policy_compile(const struct policy_opts *o, scmp_filter_ctx *out,
		   struct vs_err *err)
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
	/*
	 * A binary tree over the syscall numbers rather than a list: a
	 * call passes through a handful of comparisons instead of up to a
	 * hundred, both on every syscall and when the kernel, loading the
	 * filter, works out which numbers it always allows (about 450 runs
	 * of the program; most of seccomp()'s cost).
	 */
	if (rc == 0)
		rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
	if (rc < 0) {
		seccomp_release(ctx);
		return vs_errnof(err, -rc, "seccomp filter attributes");
	}
	for (size_t i = 0; i < policy_rules_count; i++) {
		rc = add_rule(ctx, &policy_rules[i], o, err);
		if (rc < 0) {
			seccomp_release(ctx);
			return rc;
		}
	}
	*out = ctx;
	return 0;
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

int policy_program(const struct policy_opts *o, int max_nr,
		   struct sock_filter **prog, size_t *len, struct vs_err *err)
{
	scmp_filter_ctx ctx;
	struct sock_filter *p = NULL;
	struct stat st;
	size_t n;
	int fd, rc;

	rc = policy_compile(o, &ctx, err);
	if (rc < 0)
		return rc;
	/* libseccomp 2.5 exports to a descriptor only. */
	fd = memfd_create("vmseal-filter", MFD_CLOEXEC);
	if (fd < 0) {
		seccomp_release(ctx);
		return vs_errnof(err, errno, "memfd_create");
	}
	rc = seccomp_export_bpf(ctx, fd);
	seccomp_release(ctx);
	if (rc < 0) {
		close(fd);
		return vs_errnof(err, -rc, "exporting the filter");
	}
	if (fstat(fd, &st) < 0 || st.st_size <= 0 ||
	    st.st_size % (off_t)sizeof(*p)) {
		close(fd);
		return vs_errf(err, EIO, "libseccomp exported no program");
	}
	n = (size_t)st.st_size / sizeof(*p);
	if (n + POLICY_CEILING_LEN > BPF_MAXINSNS) {
		close(fd);
		return vs_errf(err, E2BIG, "the filter has %zu instructions",
			       n + POLICY_CEILING_LEN);
	}
	p = calloc(n + POLICY_CEILING_LEN, sizeof(*p));
	if (!p) {
		close(fd);
		return vs_errf(err, ENOMEM, "no memory for the filter");
	}
	policy_ceiling(max_nr, p);
	if (pread(fd, p + POLICY_CEILING_LEN, n * sizeof(*p), 0) !=
	    (ssize_t)(n * sizeof(*p))) {
		close(fd);
		free(p);
		return vs_errf(err, EIO, "reading the exported filter");
	}
	close(fd);
	*prog = p;
	*len = n + POLICY_CEILING_LEN;
	return 0;
}

int policy_build(const struct policy_opts *o, struct vs_filter **out,
		 struct vs_err *err)
{
	struct vs_filter *f = calloc(1, sizeof(*f));
	int rc;

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
	rc = policy_program(o, policy_syscall_max(), &f->owned, &f->len, err);
	if (rc < 0) {
		free(f);
		return rc;
	}
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
