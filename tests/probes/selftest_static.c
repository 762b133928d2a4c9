/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The hardening probes as a static program without sanitizers, so that
 * what they report is the kernel's own answer: every filter probe under
 * every policy, and every broker scenario, as TAP.  `vmseal selftest`
 * runs the same code from the installed binary.
 */
#include <stdio.h>
#include <string.h>

#include "sandbox/brokertest.h"
#include "sandbox/probe.h"

static unsigned n, failed;

static void tap(bool good, const char *fmt, const char *a, const char *b,
		const char *c)
{
	n++;
	if (!good)
		failed++;
	printf("%sok %u - ", good ? "" : "not ", n);
	printf(fmt, a, b, c);
	putchar('\n');
	fflush(stdout);
}

int main(void)
{
	static const char *const names[] = { "broker", "deny", "kill" };
	struct bt_fixture f;
	struct vs_err err = { 0 };
	char got[256];

	for (int p = 0; p < 3; p++) {
		for (size_t i = 0; i < probes_count; i++) {
			struct probe_result r;

			if (probe_run(&probes[i], (enum vs_policy)p, false, &r,
				      &err) < 0) {
				tap(false, "%s: %s: %s", names[p],
				    probes[i].name, err.msg);
				continue;
			}
			tap(probe_check(&probes[i], (enum vs_policy)p, &r),
			    "%s: %s -> %s", names[p], probes[i].name,
			    probe_describe(&r, got, sizeof(got)));
		}
	}
	if (bt_fixture_make(&f, &err) < 0) {
		tap(false, "broker: %s%s%s", "scratch directory: ", err.msg, "");
	} else {
		for (size_t i = 0; i < bt_scenarios_count; i++) {
			bool pass = false;

			if (bt_run(&bt_scenarios[i], &f, got, sizeof(got), &pass,
				   &err) < 0)
				strcpy(got, err.msg);
			tap(pass, "broker: %s -> %s%s", bt_scenarios[i].name,
			    got, "");
		}
		bt_fixture_remove(&f);
	}
	printf("1..%u\n", n);
	return failed ? 1 : 0;
}
