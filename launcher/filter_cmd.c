/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `vmseal filter`: the seccomp rules for review, as a table, PFC or BPF. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "launcher/commands.h"
#include "launcher/exitcode.h"
#include "launcher/run.h"
#include "sandbox/policy.h"

static int policy_by_name(const char *name, enum vs_policy *p)
{
	static const enum vs_policy all[] = { VS_POLICY_BROKER, VS_POLICY_DENY,
					      VS_POLICY_KILL };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		if (strcmp(name, vs_policy_name(all[i])) == 0) {
			*p = all[i];
			return 0;
		}
	}
	return -EINVAL;
}

static void print_table(FILE *f, const struct policy_opts *o)
{
	char action[64];

	fprintf(f, "# policy %s: x86_64 only (other ABIs kill the process), "
		   "NO_NEW_PRIVS, numbers above %d (Linux %s) answer ENOSYS, "
		   "every other syscall not listed is allowed\n",
		vs_policy_name(o->policy), policy_syscall_max(),
		syscalls_x86_64_kernel);
	for (size_t i = 0; i < policy_rules_count; i++) {
		const struct filter_rule *r = &policy_rules[i];
		char when[64] = "";

		if (r->any_bits)
			snprintf(when, sizeof(when), " (arg%u & 0x%llx)", r->arg,
				 (unsigned long long)r->any_bits);
		fprintf(f, "%-20s %-14s %s%s\n", r->name,
			policy_rule_action_str(r, o, action, sizeof(action)),
			r->why, when);
	}
}

/*
 * libseccomp's pseudo-code for the table, after the ceiling that
 * policy_ceiling() puts in front of it (which libseccomp cannot say).
 */
static int print_pfc(const struct policy_opts *o)
{
	struct vs_err err = { 0 };
	scmp_filter_ctx ctx;
	int rc;

	printf("#\n# first, the ceiling (%d instructions, not libseccomp's):\n"
	       "#   if arch == x86_64 && %d < nr < 0x40000000: action ERRNO(%d) (ENOSYS)\n"
	       "#\n",
	       POLICY_CEILING_LEN, policy_syscall_max(), ENOSYS);
	if (policy_compile(o, &ctx, &err) < 0)
		return run_fail(&err, EXIT_SANDBOX);
	fflush(stdout);
	rc = seccomp_export_pfc(ctx, STDOUT_FILENO);
	seccomp_release(ctx);
	if (rc < 0) {
		vs_errnof(&err, -rc, "exporting the filter");
		return run_fail(&err, EXIT_SANDBOX);
	}
	return 0;
}

int cmd_filter(const struct cli *cli, const struct guest_config *cfg)
{
	struct vs_err err = { 0 };
	struct policy_opts o = { 0 };
	struct vs_filter *f;
	enum vs_policy p;
	int rc;

	if (cfg) {
		p = cfg->policy;
	} else if (!cli->policy || policy_by_name(cli->policy, &p) < 0) {
		fprintf(stderr, "vmseal: filter needs FILE or --policy "
				"broker|deny|kill\nTry 'vmseal filter --help'.\n");
		return EXIT_USAGE;
	}
	o.policy = p;
	if (!cli->bpf && !cli->pfc) {
		print_table(stdout, &o);
		return 0;
	}
	if (cli->bpf && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "vmseal: --bpf writes a binary program: redirect "
				"stdout to a file\n");
		return EXIT_USAGE;
	}
	if (cli->pfc)
		return print_pfc(&o);
	/* Exactly the program the emulator is given. */
	if (policy_build(&o, &f, &err) < 0)
		return run_fail(&err, EXIT_SANDBOX);
	rc = fwrite(f->prog, sizeof(*f->prog), f->len, stdout) == f->len &&
	     fflush(stdout) == 0;
	policy_free(f);
	if (!rc) {
		vs_errnof(&err, errno, "writing the filter");
		return run_fail(&err, EXIT_SANDBOX);
	}
	return 0;
}
