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

static void print_table(FILE *f, enum vs_policy p)
{
	char action[64];

	fprintf(f, "# policy %s: x86_64 only (other ABIs kill the process), "
		   "NO_NEW_PRIVS, every syscall not listed is allowed\n",
		vs_policy_name(p));
	for (size_t i = 0; i < policy_rules_count; i++) {
		const struct filter_rule *r = &policy_rules[i];
		char when[64] = "";

		if (r->any_bits)
			snprintf(when, sizeof(when), " (arg%u & 0x%llx)", r->arg,
				 (unsigned long long)r->any_bits);
		fprintf(f, "%-20s %-14s %s%s\n", r->name,
			policy_rule_action_str(r, p, action, sizeof(action)),
			r->why, when);
	}
}

int cmd_filter(const struct cli *cli, const struct guest_config *cfg)
{
	struct vs_err err = { 0 };
	enum vs_policy p;
	scmp_filter_ctx ctx;
	int rc;

	if (cfg) {
		p = cfg->policy;
	} else if (!cli->policy || policy_by_name(cli->policy, &p) < 0) {
		fprintf(stderr, "vmseal: filter needs FILE or --policy "
				"broker|deny|kill\nTry 'vmseal filter --help'.\n");
		return EXIT_USAGE;
	}
	if (!cli->bpf && !cli->pfc) {
		print_table(stdout, p);
		return 0;
	}
	if (cli->bpf && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "vmseal: --bpf writes a binary program: redirect "
				"stdout to a file\n");
		return EXIT_USAGE;
	}
	if (policy_build(p, &ctx, &err) < 0)
		return run_fail(&err, EXIT_SANDBOX);
	fflush(stdout);
	rc = cli->bpf ? seccomp_export_bpf(ctx, STDOUT_FILENO) :
			seccomp_export_pfc(ctx, STDOUT_FILENO);
	seccomp_release(ctx);
	if (rc < 0) {
		vs_errnof(&err, -rc, "exporting the filter");
		return run_fail(&err, EXIT_SANDBOX);
	}
	return 0;
}
