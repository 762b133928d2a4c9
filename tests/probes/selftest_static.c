/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hardening probes as a static program without sanitizers, so that
 * what they report is the kernel's own answer: every filter probe under
 * every policy, and every broker scenario, as TAP.  This is where make
 * check counts those rows, once.  `vmseal selftest` runs the same tables
 * from the installed binary and prints the same "group: name" for each
 * row; tests/e2e/selftest.t checks that the two lists match.
 *
 * A row grows here by growing its table: probes[] (sandbox/probe.c) for
 * a syscall, bt_scenarios[] (sandbox/brokertest.c) for the broker.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sandbox/brokertest.h"
#include "sandbox/probe.h"

static unsigned n, failed;

static void __attribute__((format(printf, 3, 4)))
tap(bool good, const char *skip, const char *fmt, ...)
{
	va_list ap;

	n++;
	if (!good)
		failed++;
	printf("%sok %u - ", good ? "" : "not ", n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (skip)
		printf(" # SKIP %s", skip);
	putchar('\n');
	fflush(stdout);
}

static void filter_rows(void)
{
	static const enum vs_policy pols[] = { VS_POLICY_BROKER, VS_POLICY_DENY,
					       VS_POLICY_KILL };
	/* vs_policy_name()'s words (conf/ is not linked in here). */
	static const char *const names[] = { "broker", "deny", "kill" };

	for (size_t k = 0; k < 3; k++) {
		for (size_t i = 0; i < probes_count; i++) {
			const struct probe *pr = &probes[i];
			const char *pol = names[k];
			struct vs_err err = { 0 };
			struct probe_result r, ctl;
			char got[64], cgot[64];
			bool good;

			if (probe_run(pr, pols[k], false, &r, &err) < 0) {
				tap(false, NULL, "filter %s: %s -> %s", pol,
				    pr->name, err.msg);
				continue;
			}
			probe_describe(&r, got, sizeof(got));
			good = probe_check(pr, pols[k], &r);
			/*
			 * A refusal the call gets anyway proves nothing (as
			 * `vmseal selftest` says too): a skip, not a pass.
			 */
			if (good && pr->expect[pols[k]].kind != EXPECT_SUCCESS &&
			    probe_run(pr, pols[k], true, &ctl, &err) == 0 &&
			    probe_check(pr, pols[k], &ctl)) {
				char why[128];

				snprintf(why, sizeof(why),
					 "the same without the filter (%s): proves nothing here",
					 probe_describe(&ctl, cgot, sizeof(cgot)));
				tap(true, why, "filter %s: %s -> %s", pol,
				    pr->name, got);
				continue;
			}
			tap(good, NULL, "filter %s: %s -> %s", pol, pr->name, got);
		}
	}
}

static void broker_rows(void)
{
	struct bt_fixture f;
	struct vs_err err = { 0 };
	char got[1100];

	if (bt_fixture_make(&f, &err) < 0) {
		tap(false, NULL, "broker: scratch directory -> %s", err.msg);
		return;
	}
	for (size_t i = 0; i < bt_scenarios_count; i++) {
		bool pass = false;

		if (bt_run(&bt_scenarios[i], &f, got, sizeof(got), &pass,
			   &err) < 0)
			snprintf(got, sizeof(got), "%s", err.msg);
		tap(pass, NULL, "broker: %s -> %s", bt_scenarios[i].name, got);
	}
	bt_fixture_remove(&f);
}

int main(void)
{
	filter_rows();
	broker_rows();
	printf("1..%u\n", n);
	return failed ? 1 : 0;
}
