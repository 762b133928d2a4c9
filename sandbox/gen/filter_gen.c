/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The filter, compiled once at build time: writes a C file holding the
 * program of every policy and option (the ceiling, then libseccomp's
 * program for sandbox/policy_rules.c), so that vmseal loads it with
 * seccomp(2) and never runs libseccomp's compiler at launch.  The table
 * stays the single source: policy_test compiles every program again
 * through libseccomp and compares.
 *
 *   filter_gen > filter_progs.c
 */
#include <stdio.h>
#include <stdlib.h>

#include "sandbox/policy.h"

/* policy.c looks here first; while generating there is nothing yet. */
const struct policy_precompiled policy_precompiled[1];
const size_t policy_precompiled_count = 0;
const char policy_precompiled_libseccomp[] = "";

int main(void)
{
	static const enum vs_policy pols[] = { VS_POLICY_BROKER, VS_POLICY_DENY,
					       VS_POLICY_KILL };
	const struct scmp_version *v = seccomp_version();
	size_t n = 0;

	printf("/* Generated at build time by sandbox/gen/filter_gen.c from "
	       "sandbox/policy_rules.c\n * with libseccomp %u.%u.%u: do not "
	       "edit. */\n#include \"sandbox/policy.h\"\n\n",
	       v->major, v->minor, v->micro);
	for (size_t p = 0; p < 3; p++) {
		for (int ro = 0; ro < 2; ro++) {
			const struct policy_opts o = { .policy = pols[p],
						       .kernel_ro_opens = ro };
			struct vs_err err = { 0 };
			struct sock_filter *prog;
			size_t len;

			if (policy_program(&o, policy_syscall_max(), &prog, &len,
					   &err) < 0) {
				fprintf(stderr, "filter_gen: %s\n", err.msg);
				return 1;
			}
			printf("static const struct sock_filter prog_%zu_%d[] = {\n",
			       p, ro);
			for (size_t i = 0; i < len; i++)
				printf("\t{ 0x%04x, %3u, %3u, 0x%08x },\n",
				       prog[i].code, prog[i].jt, prog[i].jf,
				       prog[i].k);
			printf("};\n\n");
			free(prog);
			n++;
		}
	}
	printf("const struct policy_precompiled policy_precompiled[] = {\n");
	for (size_t p = 0; p < 3; p++) {
		for (int ro = 0; ro < 2; ro++)
			printf("\t{ %d, %s, prog_%zu_%d, sizeof(prog_%zu_%d) / "
			       "sizeof(prog_%zu_%d[0]) },\n",
			       (int)pols[p], ro ? "true" : "false", p, ro, p, ro,
			       p, ro);
	}
	printf("};\n\nconst size_t policy_precompiled_count = %zu;\n", n);
	printf("const char policy_precompiled_libseccomp[] = \"%u.%u.%u\";\n",
	       v->major, v->minor, v->micro);
	return 0;
}
