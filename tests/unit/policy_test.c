/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The filter's tables read as data, and what only this program runs live
 * (the kernel read-only path, the ceiling).  What the kernel answers for
 * each probe under each policy, and what each broker scenario gets, is
 * counted once, by tests/probes/selftest_static (static, no sanitizer: the
 * kernel's own answer); `vmseal selftest` prints the same rows and
 * tests/e2e/selftest.t checks that they match.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox/brokertest.h"
#include "sandbox/policy.h"
#include "sandbox/probe.h"
#include "tests/lib/tap.h"

static long p_getpid(void) { return syscall(SYS_getpid); }
static long p_nr_469(void) { return syscall(469, -1, NULL, NULL, 0, 0); }
static long p_nr_470(void) { return syscall(470, 0, 0, 0, 0, 0, 0); }
static long p_nr_1000(void) { return syscall(1000, 0, 0, 0, 0, 0, 0); }

/* The ceiling moved down to max_nr: what getpid (39) then answers. */
static void ceiling_at(int max_nr, long (*call)(void), const char *name,
		       bool refused)
{
	const struct policy_opts o = { .policy = VS_POLICY_DENY };
	const struct probe pr = { name, call, { { EXPECT_SUCCESS, 0 } }, "" };
	struct vs_filter f = { .opts = o };
	struct vs_err err = { 0 };
	struct probe_result r;
	char got[64];

	if (policy_program(&o, max_nr, &f.owned, &f.len, &err) < 0) {
		ok(0, "ceiling %d: %s", max_nr, err.msg);
		return;
	}
	f.prog = f.owned;
	if (probe_run_filter(&pr, &f, &r, &err) < 0) {
		ok(0, "ceiling %d: %s: %s", max_nr, name, err.msg);
	} else if (refused) {
		ok(r.outcome == PROBE_RETURNED && r.ret < 0 && r.err == ENOSYS,
		   "with the ceiling at %d: %s answers ENOSYS (%s)", max_nr, name,
		   probe_describe(&r, got, sizeof(got)));
	} else {
		ok(r.outcome == PROBE_RETURNED && !(r.ret < 0 && r.err == ENOSYS),
		   "ceiling at %d: %s is not refused by it (%s)", max_nr, name,
		   probe_describe(&r, got, sizeof(got)));
	}
	free(f.owned);
}

static const struct filter_rule *rule_for(int nr)
{
	for (size_t i = 0; i < policy_rules_count; i++) {
		if (policy_rules[i].nr == nr)
			return &policy_rules[i];
	}
	return NULL;
}

static const struct syscall_entry *syscall_for(int nr)
{
	for (size_t i = 0; i < syscalls_x86_64_count; i++) {
		if (syscalls_x86_64[i].nr == nr)
			return &syscalls_x86_64[i];
	}
	return NULL;
}

/* The rule table against the complete list of x86_64 syscalls. */
static void table_against_list(void)
{
	size_t missing = 0, path = 0;
	bool sorted = true;

	for (size_t i = 0; i < syscalls_x86_64_count; i++) {
		const struct syscall_entry *s = &syscalls_x86_64[i];

		if (i && s->nr <= syscalls_x86_64[i - 1].nr)
			sorted = false;
		if (!(s->flags & SC_PATH))
			continue;
		path++;
		if (!rule_for(s->nr)) {
			ok(0, "%s (%d) names a file by path but has no rule",
			   s->name, s->nr);
			missing++;
		}
	}
	ok(sorted, "the syscall list is in number order, no duplicates");
	ok(!missing && path > 80, "all %zu path-taking syscalls of Linux %s have a rule",
	   path, syscalls_x86_64_kernel);
	missing = 0;
	for (size_t i = 0; i < policy_rules_count; i++) {
		const struct syscall_entry *s = syscall_for(policy_rules[i].nr);

		if (!s || strcmp(s->name, policy_rules[i].name)) {
			tap_diag("rule %s (%d) is not that syscall in the list (%s)",
				 policy_rules[i].name, policy_rules[i].nr,
				 s ? s->name : "none");
			missing++;
		}
	}
	is_int(missing, 0, "every rule names its syscall by the list's number");
	is_int(policy_syscall_max(), 469, "the ceiling is the list's highest number (Linux 6.18: file_setattr)");
	for (int nr = 451; nr <= policy_syscall_max(); nr++)
		ok(rule_for(nr), "%s (%d), added since Linux 6.5, has a rule: %s",
		   syscall_for(nr) ? syscall_for(nr)->name : "?", nr,
		   rule_for(nr) ? rule_for(nr)->why : "NONE");
}

/*
 * The programs compiled at build time are what libseccomp makes of the
 * table now, and what policy_build() hands out.
 */
static void precompiled_equal_live(void)
{
	is_int(policy_precompiled_count, 6, "a program per policy and option");
	for (size_t i = 0; i < policy_precompiled_count; i++) {
		const struct policy_precompiled *pc = &policy_precompiled[i];
		const struct policy_opts o = { pc->policy, pc->kernel_ro_opens };
		struct vs_err err = { 0 };
		struct sock_filter *live;
		struct vs_filter *f;
		size_t len;

		if (policy_program(&o, policy_syscall_max(), &live, &len, &err) < 0) {
			ok(0, "compiling %s: %s", vs_policy_name(o.policy), err.msg);
			continue;
		}
		ok(len == pc->len && !memcmp(live, pc->prog, len * sizeof(*live)),
		   "%s%s: the precompiled program (%zu instructions) is libseccomp's %s (%zu) for the table",
		   vs_policy_name(o.policy),
		   o.kernel_ro_opens ? " + kernel read-only opens" : "", pc->len,
		   policy_precompiled_libseccomp, len);
		free(live);
		if (policy_build(&o, &f, &err) < 0) {
			ok(0, "policy_build: %s", err.msg);
			continue;
		}
		ok(f->prog == pc->prog && f->len == pc->len && !f->owned,
		   "%s%s: policy_build hands out the precompiled program",
		   vs_policy_name(o.policy), o.kernel_ro_opens ? " + ro" : "");
		policy_free(f);
	}
}

/*
 * Every rule names a syscall no other rule names, with a reason; probe
 * and scenario names are unique (selftest rows are matched by name).
 */
static void tables_well_formed(void)
{
	unsigned bad = 0;

	for (size_t i = 0; i < policy_rules_count; i++) {
		const struct filter_rule *r = &policy_rules[i];
		int dup = 0;

		for (size_t j = 0; j < i; j++)
			dup += policy_rules[j].nr == r->nr;
		if (dup || !r->why || !*r->why) {
			tap_diag("rule %s (%d): %s", r->name, r->nr,
				 dup ? "a second rule for the number" :
				       "no reason");
			bad++;
		}
	}
	is_int(bad, 0, "%zu rules: each a distinct syscall number with a reason",
	       policy_rules_count);

	bad = 0;
	for (size_t i = 0; i < probes_count; i++) {
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(probes[i].name, probes[j].name)) {
				tap_diag("probe name twice: %s", probes[i].name);
				bad++;
			}
		}
		if (!probes[i].why || !*probes[i].why || !probes[i].run) {
			tap_diag("probe %s: no reason or no call", probes[i].name);
			bad++;
		}
	}
	is_int(bad, 0, "%zu probes: distinct names, each with a call and a reason",
	       probes_count);

	bad = 0;
	for (size_t i = 0; i < bt_scenarios_count; i++) {
		const struct bt_scenario *sc = &bt_scenarios[i];

		for (size_t j = 0; j < i; j++) {
			if (!strcmp(sc->name, bt_scenarios[j].name)) {
				tap_diag("scenario name twice: %s", sc->name);
				bad++;
			}
		}
		if (!sc->child || !sc->expect || !*sc->expect) {
			tap_diag("scenario %s: no child or no expectation",
				 sc->name);
			bad++;
		}
	}
	is_int(bad, 0,
	       "%zu broker scenarios: distinct names, each with a child and an expectation",
	       bt_scenarios_count);
}

int main(void)
{
	static const enum vs_policy pols[] = { VS_POLICY_BROKER, VS_POLICY_DENY,
					       VS_POLICY_KILL };

	/* The kernel read-only path: which opens pass, which are answered. */
	for (size_t k = 0; k < 3; k++) {
		const struct policy_opts o = { .policy = pols[k],
					       .kernel_ro_opens = true };

		for (size_t i = 0; i < ro_probes_count; i++) {
			struct vs_err err = { 0 };
			struct probe_result r;
			char got[64];

			if (probe_run_opts(&ro_probes[i], &o, &r, &err) < 0) {
				ok(0, "%s ro: %s: %s", vs_policy_name(pols[k]),
				   ro_probes[i].name, err.msg);
				continue;
			}
			ok(probe_check(&ro_probes[i], pols[k], &r),
			   "%s, kernel read-only opens: %s -> %s",
			   vs_policy_name(pols[k]), ro_probes[i].name,
			   probe_describe(&r, got, sizeof(got)));
		}
	}
	/* The ceiling proven on a live syscall: moved below getpid. */
	ceiling_at(38, p_getpid, "getpid (39)", true);
	ceiling_at(policy_syscall_max(), p_getpid, "getpid (39)", false);
	ceiling_at(468, p_nr_469, "file_setattr (469)", true);
	ceiling_at(policy_syscall_max(), p_nr_470, "syscall 470", true);
	ceiling_at(policy_syscall_max(), p_nr_1000, "syscall 1000", true);
	{
		/* The program vmseal loads, its ceiling moved the same way. */
		const struct policy_opts o = { .policy = VS_POLICY_DENY };
		const struct probe pr = { "getpid", p_getpid, { { EXPECT_SUCCESS, 0 } }, "" };
		struct vs_filter *f = NULL;
		struct vs_err err = { 0 };
		struct probe_result r;

		ok(policy_build_ceiling(&o, 38, &f, &err) == 0 &&
		   probe_run_filter(&pr, f, &r, &err) == 0 &&
		   r.outcome == PROBE_RETURNED && r.ret < 0 && r.err == ENOSYS,
		   "policy_build_ceiling(38): getpid answers ENOSYS under the loaded program");
		policy_free(f);
	}
	table_against_list();
	precompiled_equal_live();

	tables_well_formed();
	return tap_done();
}
