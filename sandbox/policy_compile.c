/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The rule table through libseccomp: what the build compiles once
 * (sandbox/gen/filter_gen.c) and the tests compile again to compare.
 * vmseal itself never runs this, nor links libseccomp.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sandbox/policy.h"

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
	if (r->has_eq) {
		struct scmp_arg_cmp cmp = {
			.arg = r->arg,
			.op = SCMP_CMP_EQ,
			.datum_a = r->eq_val,
			.datum_b = 0,
		};

		rc = seccomp_rule_add_exact_array(ctx, action, r->nr, 1, &cmp);
		if (rc < 0)
			return vs_errnof(err, -rc, "seccomp rule for %s arg%u",
					 r->name, r->arg);
		return 0;
	}
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
