/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `vmseal filter`: the seccomp rules for review, as a table, a listing or BPF. */
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
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
		else if (r->has_eq)
			snprintf(when, sizeof(when), " (arg%u == %llu)", r->arg,
				 (unsigned long long)r->eq_val);
		fprintf(f, "%-20s %-14s %s%s\n", r->name,
			policy_rule_action_str(r, o, action, sizeof(action)),
			r->why, when);
	}
}

/* The syscall a number names, for the listing. */
static const char *syscall_name(uint32_t nr)
{
	for (size_t i = 0; i < syscalls_x86_64_count; i++) {
		if ((uint32_t)syscalls_x86_64[i].nr == nr)
			return syscalls_x86_64[i].name;
	}
	return NULL;
}

/* What a load from struct seccomp_data at offset k reads. */
static void data_field(uint32_t k, char *buf, size_t len)
{
	if (k == 0)
		snprintf(buf, len, "nr");
	else if (k == 4)
		snprintf(buf, len, "arch");
	else if (k == 8 || k == 12)
		snprintf(buf, len, "instruction_pointer%s", k == 12 ? ".hi" : "");
	else if (k >= 16 && k < 64)
		snprintf(buf, len, "args[%u]%s", (k - 16) / 8,
			 (k - 16) % 8 ? ".hi" : "");
	else
		snprintf(buf, len, "[%u]", k);
}

static void ret_str(uint32_t k, char *buf, size_t len)
{
	uint32_t data = k & SECCOMP_RET_DATA;

	switch (k & SECCOMP_RET_ACTION_FULL) {
	case SECCOMP_RET_ALLOW:
		snprintf(buf, len, "ALLOW");
		break;
	case SECCOMP_RET_KILL_PROCESS:
		snprintf(buf, len, "KILL_PROCESS");
		break;
	case SECCOMP_RET_KILL_THREAD:
		snprintf(buf, len, "KILL_THREAD");
		break;
	case SECCOMP_RET_USER_NOTIF:
		snprintf(buf, len, "USER_NOTIF");
		break;
	case SECCOMP_RET_ERRNO:
		snprintf(buf, len, "ERRNO(%s)", strerrorname_np((int)data) ?
			 strerrorname_np((int)data) : "?");
		break;
	default:
		snprintf(buf, len, "0x%08x", k);
	}
}

/*
 * The loaded program as readable pseudo-code, one line per instruction
 * (the ceiling first, then libseccomp's program for the table), jump
 * targets as line numbers, syscall numbers named.
 */
static void print_listing(const struct vs_filter *f)
{
	bool nr_loaded = false;

	printf("# policy %s%s: %zu instructions (the ceiling: 0-%d), "
	       "compiled by libseccomp %s\n",
	       vs_policy_name(f->opts.policy),
	       f->opts.kernel_ro_opens ? ", kernel read-only opens" : "",
	       f->len, POLICY_CEILING_LEN - 1, policy_precompiled_libseccomp);
	for (size_t i = 0; i < f->len; i++) {
		const struct sock_filter *in = &f->prog[i];
		unsigned jt = (unsigned)(i + 1 + in->jt), jf = (unsigned)(i + 1 + in->jf);
		char a[64], b[64];
		const char *name;

		printf("%4zu  ", i);
		switch (in->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			data_field(in->k, a, sizeof(a));
			nr_loaded = in->k == 0;
			printf("ld   %s\n", a);
			break;
		case BPF_JMP | BPF_JA:
			printf("jmp  %zu\n", i + 1 + in->k);
			break;
		case BPF_JMP | BPF_JEQ | BPF_K:
		case BPF_JMP | BPF_JGT | BPF_K:
		case BPF_JMP | BPF_JGE | BPF_K:
		case BPF_JMP | BPF_JSET | BPF_K:
			name = nr_loaded ? syscall_name(in->k) : NULL;
			snprintf(b, sizeof(b), "%s", name ? name : "");
			printf("%s  0x%x%s%s%s  ? %u : %u\n",
			       BPF_OP(in->code) == BPF_JEQ ? "jeq" :
			       BPF_OP(in->code) == BPF_JGT ? "jgt" :
			       BPF_OP(in->code) == BPF_JGE ? "jge" : "jset",
			       in->k, *b ? " (" : "", b, *b ? ")" : "", jt, jf);
			break;
		case BPF_ALU | BPF_AND | BPF_K:
			nr_loaded = false;
			printf("and  0x%x\n", in->k);
			break;
		case BPF_RET | BPF_K:
			ret_str(in->k, a, sizeof(a));
			printf("ret  %s\n", a);
			break;
		default:
			nr_loaded = false;
			printf("code 0x%04x jt %u jf %u k 0x%08x\n", in->code,
			       in->jt, in->jf, in->k);
		}
	}
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
	/* Exactly the program the emulator is given. */
	if (policy_build(&o, &f, &err) < 0)
		return run_fail(&err, EXIT_SANDBOX);
	if (cli->pfc) {
		print_listing(f);
		policy_free(f);
		return fflush(stdout) == 0 ? 0 : EXIT_SANDBOX;
	}
	rc = fwrite(f->prog, sizeof(*f->prog), f->len, stdout) == f->len &&
	     fflush(stdout) == 0;
	policy_free(f);
	if (!rc) {
		vs_errnof(&err, errno, "writing the filter");
		return run_fail(&err, EXIT_SANDBOX);
	}
	return 0;
}
