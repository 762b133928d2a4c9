/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_broker OPENS GETPIDS [--one-cpu|--cross-cpu]: the broker's cost
 * as the emulator sees it.  --one-cpu pins broker and caller to CPU 0
 * (every wake-up stays on one CPU: what is left is the broker's own work
 * and the kernel's round trip); --cross-cpu pins the broker to CPU 0 and
 * the caller to CPU 1 (every wake-up crosses CPUs); neither leaves the
 * placement to the scheduler.
 * A child under the broker policy opens an allowed file OPENS times,
 * timing each open (served by a live broker in this process); the same
 * opens unfiltered are the baseline.  Then the kernel's own share, with
 * no broker work: a bare supervisor answering a notified getppid()
 * either with SECCOMP_IOCTL_NOTIF_SEND or with an fd through
 * SECCOMP_IOCTL_NOTIF_ADDFD + SECCOMP_ADDFD_FLAG_SEND, synchronous
 * wake-ups requested in both cases.  Then GETPIDS getpid calls under the
 * filter and without it.  Prints:
 *   open_broker_us median p99
 *   open_plain_us median p99
 *   notify_send_us median p99
 *   notify_addfd_us median p99
 *   getpid_filtered_ns per-call
 *   getpid_plain_ns per-call
 */
#include <fcntl.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/fd.h"
#include "sandbox/broker.h"
#include "sandbox/policy.h"
#include "sandbox/session.h"

#define TARGET "/usr/share/zoneinfo/UTC"

static long opens, getpids;
/* The caller's CPU (--one-cpu, --cross-cpu), or -1 to leave it be. */
static int child_cpu = -1;

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set) < 0) {
		perror("bench_broker: sched_setaffinity");
		exit(1);
	}
}

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

/* Writes "median p99" of OPENS times (ns) to out, in microseconds. */
static void write_median_p99(double *t, int out)
{
	char line[128];
	int n;

	qsort(t, (size_t)opens, sizeof(double), cmp);
	n = snprintf(line, sizeof(line), "%.3f %.3f\n", t[opens / 2] / 1e3,
		     t[(long)((double)opens * 0.99)] / 1e3);
	(void)!write(out, line, (size_t)n);
}

/* Times opens of TARGET; writes "median p99" in microseconds to out. */
static void time_opens(int out)
{
	double *t = malloc(sizeof(double) * (size_t)opens);

	pin(child_cpu);
	for (long i = 0; i < opens; i++) {
		double s = now_ns();
		int fd = open(TARGET, O_RDONLY | O_CLOEXEC);

		t[i] = now_ns() - s;
		if (fd < 0) {
			(void)!write(out, "failed\n", 7);
			_exit(1);
		}
		close(fd);
	}
	write_median_p99(t, out);
	free(t);
}

/* The child: getppid() notified, OPENS times, each timed. */
static void notified_child(int sock, bool with_fd)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	double *t = malloc(sizeof(double) * (size_t)opens);
	int nfd;

	if (!ctx || !t ||
	    seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(getppid), 0) < 0 ||
	    seccomp_load(ctx) < 0)
		_exit(1);
	nfd = seccomp_notify_fd(ctx);
	if (nfd < 0 || fd_send(sock, nfd) < 0)
		_exit(1);
	close(nfd);
	pin(child_cpu);
	for (long i = 0; i < opens; i++) {
		double s = now_ns();
		long r = syscall(SYS_getppid);

		t[i] = now_ns() - s;
		if (with_fd && r >= 0)
			close((int)r);
	}
	write_median_p99(t, sock);
	_exit(0);
}

/*
 * A bare supervisor: no path read, no checks, one reply per request.
 * What it measures is the kernel's round trip for each kind of reply.
 */
static int kernel_round_trip(bool with_fd, char *out, size_t size)
{
	struct seccomp_notif *req;
	struct seccomp_notif_resp *resp;
	int sv[2], nfd = -1, src = open(TARGET, O_RDONLY | O_CLOEXEC);
	ssize_t n = -1;
	long done = 0;
	pid_t pid;

	if (src < 0 || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		return -1;
	pid = fork();
	if (pid == 0) {
		close(sv[0]);
		notified_child(sv[1], with_fd);
	}
	close(sv[1]);
	if (pid < 0 || fd_recv(sv[0], &nfd) < 0 ||
	    seccomp_notify_alloc(&req, &resp) < 0)
		goto out;
	(void)broker_sync_wakeups(nfd);
	for (; done < opens; done++) {
		memset(req, 0, sizeof(*req));
		if (seccomp_notify_receive(nfd, req) < 0)
			break;
		if (with_fd) {
			struct seccomp_notif_addfd add = {
				.id = req->id,
				.flags = SECCOMP_ADDFD_FLAG_SEND,
				.srcfd = (__u32)src,
				.newfd_flags = O_CLOEXEC,
			};

			if (ioctl(nfd, SECCOMP_IOCTL_NOTIF_ADDFD, &add) < 0)
				break;
		} else {
			memset(resp, 0, sizeof(*resp));
			resp->id = req->id;
			if (seccomp_notify_respond(nfd, resp) < 0)
				break;
		}
	}
	seccomp_notify_free(req, resp);
	/* Gone listener: a child still waiting gets ENOSYS and finishes. */
	close(nfd);
	nfd = -1;
	n = read(sv[0], out, size - 1);
out:
	if (nfd >= 0)
		close(nfd);
	if (pid > 0)
		waitpid(pid, NULL, 0);
	close(sv[0]);
	close(src);
	if (n <= 0 || done < opens)
		return -1;
	out[n] = '\0';
	return 0;
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
		const struct policy_opts o = { .policy = VS_POLICY_DENY };
		struct vs_filter *f;
		int nfd;

		if (filtered && (policy_build(&o, &f, &err) < 0 ||
				 policy_load(f, &nfd, &err) < 0))
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
		pin(0);
		child_cpu = 0;
	} else if (argc > 3 && !strcmp(argv[3], "--cross-cpu")) {
		if (sysconf(_SC_NPROCESSORS_ONLN) < 2) {
			fprintf(stderr, "bench_broker: --cross-cpu needs 2 CPUs\n");
			return 1;
		}
		pin(0);
		child_cpu = 1;
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
	{
		char buf[128];

		if (kernel_round_trip(false, buf, sizeof(buf)) == 0)
			printf("notify_send_us %s", buf);
		if (kernel_round_trip(true, buf, sizeof(buf)) == 0)
			printf("notify_addfd_us %s", buf);
	}
	printf("getpid_filtered_ns %.2f\n", getpid_cost(true));
	printf("getpid_plain_ns %.2f\n", getpid_cost(false));
	allowlist_free(&al);
	free(r);
	return 0;
}
