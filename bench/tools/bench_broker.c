/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_broker OPENS GETPIDS [--one-cpu]: the broker's cost as the
 * emulator sees it (--one-cpu: broker and caller pinned to CPU 0, to
 * tell the broker's own work from cross-CPU wake-up latency).
 * A child under the broker policy opens an allowed file OPENS times,
 * timing each open (served by a live broker in this process); the same
 * opens unfiltered are the baseline.  Then GETPIDS getpid calls under the
 * filter and without it.  Prints:
 *   open_broker_us median p99
 *   open_plain_us median p99
 *   getpid_filtered_ns per-call
 *   getpid_plain_ns per-call
 */
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/policy.h"
#include "sandbox/session.h"

#define TARGET "/usr/share/zoneinfo/UTC"

static long opens, getpids;

static double now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Times opens of TARGET; writes "median p99" in microseconds to out. */
static void time_opens(int out)
{
	double *t = malloc(sizeof(double) * (size_t)opens);
	char line[128];
	int n;

	for (long i = 0; i < opens; i++) {
		double s = now_ns();
		int fd = open(TARGET, O_RDONLY | O_CLOEXEC);

		t[i] = now_ns() - s;
		if (fd < 0) {
			n = snprintf(line, sizeof(line), "failed\n");
			(void)!write(out, line, (size_t)n);
			_exit(1);
		}
		close(fd);
	}
	qsort(t, (size_t)opens, sizeof(double), cmp);
	n = snprintf(line, sizeof(line), "%.3f %.3f\n", t[opens / 2] / 1e3,
		     t[(long)((double)opens * 0.99)] / 1e3);
	(void)!write(out, line, (size_t)n);
	free(t);
}

static void child_opens(void *arg, int out)
{
	time_opens(out);
}

static double time_getpids(void)
{
	double s = now_ns();

	for (long i = 0; i < getpids; i++)
		syscall(SYS_getpid);
	return (now_ns() - s) / (double)getpids;
}

/* getpid cost in a child, under the deny filter or none. */
static double getpid_cost(bool filtered)
{
	struct vs_err err = { 0 };
	int p[2], status;
	double v = -1;
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		scmp_filter_ctx ctx;
		int nfd;

		if (filtered && (policy_build(VS_POLICY_DENY, &ctx, &err) < 0 ||
				 policy_load(ctx, VS_POLICY_DENY, &nfd, &err) < 0))
			_exit(1);
		v = time_getpids();
		(void)!write(p[1], &v, sizeof(v));
		_exit(0);
	}
	close(p[1]);
	if (read(p[0], &v, sizeof(v)) != sizeof(v))
		v = -1;
	close(p[0]);
	waitpid(pid, &status, 0);
	return v;
}

int main(int argc, char **argv)
{
	struct allowlist al = { 0 };
	struct session_result *r = calloc(1, sizeof(*r));
	struct vs_err err = { 0 };
	struct session_spec spec = {
		.allow = &al,
		.child = child_opens,
		.timeout_s = 300,
	};
	int p[2];

	opens = argc > 1 ? atol(argv[1]) : 10000;
	getpids = argc > 2 ? atol(argv[2]) : 1000000;
	if (argc > 3 && !strcmp(argv[3], "--one-cpu")) {
		cpu_set_t one;

		CPU_ZERO(&one);
		CPU_SET(0, &one);
		sched_setaffinity(0, sizeof(one), &one);
	}
	allowlist_add(&al, ALLOW_DIR, "/usr/share/zoneinfo", "bench");
	if (session_run(&spec, r, &err) < 0) {
		fprintf(stderr, "bench_broker: %s\n", err.msg);
		return 1;
	}
	printf("open_broker_us %s", r->out);
	if (pipe(p) == 0) {
		char buf[128] = "";

		time_opens(p[1]);
		close(p[1]);
		(void)!read(p[0], buf, sizeof(buf) - 1);
		printf("open_plain_us %s", buf);
	}
	printf("getpid_filtered_ns %.2f\n", getpid_cost(true));
	printf("getpid_plain_ns %.2f\n", getpid_cost(false));
	allowlist_free(&al);
	free(r);
	return 0;
}
