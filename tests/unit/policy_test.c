/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Every probe, live, under each policy: the filter proven by the kernel. */
#include <stdio.h>
#include <string.h>

#include "sandbox/policy.h"
#include "sandbox/probe.h"
#include "tests/lib/tap.h"

int main(void)
{
	static const enum vs_policy pols[] = { VS_POLICY_BROKER, VS_POLICY_DENY,
					       VS_POLICY_KILL };

	for (size_t k = 0; k < 3; k++) {
		for (size_t i = 0; i < probes_count; i++) {
			struct vs_err err = { 0 };
			struct probe_result r;
			char got[64];

			if (probe_run(&probes[i], pols[k], false, &r, &err) < 0) {
				ok(0, "%s: %s: %s", vs_policy_name(pols[k]),
				   probes[i].name, err.msg);
				continue;
			}
			ok(probe_check(&probes[i], pols[k], &r),
			   "%s: %s -> %s", vs_policy_name(pols[k]),
			   probes[i].name, probe_describe(&r, got, sizeof(got)));
		}
	}
	/* The table itself: every rule names a known syscall once. */
	for (size_t i = 0; i < policy_rules_count; i++) {
		int dup = 0;

		for (size_t j = 0; j < i; j++)
			dup += policy_rules[j].nr == policy_rules[i].nr;
		if (dup || !policy_rules[i].why || !*policy_rules[i].why)
			ok(0, "rule %s: duplicate or without a reason",
			   policy_rules[i].name);
	}
	ok(1, "every rule in the table has one entry and a reason");
	return tap_done();
}
