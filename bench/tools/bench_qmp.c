/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_qmp SOCKET rtt N
 *     N query-status round trips, one at a time; prints
 *     "rtt_us MEDIAN P99".
 * bench_qmp SOCKET job JSON [PID [PID...]]
 *     sends JSON (a block job with job-id "j"), completes it when it is
 *     ready (active commit), waits for its BLOCK_JOB_COMPLETED; prints
 *     "job_ms ELAPSED qemu_ms Q cpu_ms C wait_ms W other_ms O" or
 *     "FAILED why".
 *     Q is the job as QEMU timed it (its events' timestamps, from the
 *     job's "created" to BLOCK_JOB_COMPLETED): ELAPSED - Q is what the
 *     way to the monitor and back costs.  C is the CPU time the first
 *     PID's threads (QEMU) ran during the job, W the time they waited
 *     for a CPU, runnable, O the CPU time of the others (the gate's
 *     supervisor and broker): on a shared machine the elapsed time moves
 *     with the other tenants, these say whether the work did.
 * The same client against QEMU's own -qmp socket and against vmseal's
 * monitor gate: what the gate adds.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static FILE *open_qmp(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *line = NULL;
	size_t cap = 0;
	FILE *f;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return NULL;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return NULL;
	f = fdopen(fd, "r+");
	if (!f || getline(&line, &cap, f) < 0)
		return NULL;
	fputs("{\"execute\":\"qmp_capabilities\"}\n", f);
	fflush(f);
	if (getline(&line, &cap, f) < 0)
		return NULL;
	free(line);
	return f;
}

static int rtt(FILE *f, int n)
{
	double *v = calloc((size_t)n, sizeof(*v));
	char *line = NULL;
	size_t cap = 0;

	for (int i = 0; i < n; i++) {
		double t0 = now_us();

		fputs("{\"execute\":\"query-status\"}\n", f);
		fflush(f);
		do {
			if (getline(&line, &cap, f) < 0) {
				printf("FAILED the monitor closed\n");
				return 1;
			}
		} while (!strstr(line, "\"return\""));
		v[i] = now_us() - t0;
	}
	qsort(v, (size_t)n, sizeof(*v), cmp);
	printf("rtt_us %.1f %.1f\n", v[n / 2], v[(n * 99) / 100]);
	free(v);
	free(line);
	return 0;
}

/* A QMP event's timestamp in microseconds, or -1. */
static double event_us(const char *line)
{
	const char *s = strstr(line, "\"seconds\""), *u;
	long long sec, usec;

	u = s ? strstr(s, "\"microseconds\"") : NULL;
	if (!u || sscanf(s, "\"seconds\": %lld", &sec) != 1 ||
	    sscanf(u, "\"microseconds\": %lld", &usec) != 1)
		return -1;
	return (double)sec * 1e6 + (double)usec;
}

/*
 * The CPU time, ns, all threads of pid have run, and (wait) the time they
 * waited on a run queue: task/N/schedstat.
 */
static double cpu_ns(const char *pid, double *wait)
{
	char path[64];
	double sum = 0;
	struct dirent *e;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%s/task", pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((e = readdir(d))) {
		unsigned long long run, delay;
		FILE *f;

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%s/task/%.16s/schedstat", pid,
			 e->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fscanf(f, "%llu %llu", &run, &delay) == 2) {
			sum += (double)run;
			*wait += (double)delay;
		}
		fclose(f);
	}
	closedir(d);
	return sum;
}

static void cpu_of(char **pids, int n, double *first, double *wait,
		   double *others)
{
	double ignored = 0;

	*first = *wait = *others = 0;
	for (int i = 0; i < n; i++)
		*(i ? others : first) += cpu_ns(pids[i], i ? &ignored : wait);
}

static int job(FILE *f, const char *json, char **pids, int npids)
{
	char *line = NULL;
	size_t cap = 0;
	double c0, w0, o0, c1, w1, o1, t0, created = -1;

	cpu_of(pids, npids, &c0, &w0, &o0);
	t0 = now_us();
	fprintf(f, "%s\n", json);
	fflush(f);
	while (getline(&line, &cap, f) >= 0) {
		if (strstr(line, "\"error\"")) {
			printf("FAILED %s", line);
			return 1;
		}
		if (strstr(line, "BLOCK_JOB_READY")) {
			fputs("{\"execute\":\"job-complete\",\"arguments\":{\"id\":\"j\"}}\n", f);
			fflush(f);
		}
		if (created < 0 && strstr(line, "JOB_STATUS_CHANGE") &&
		    strstr(line, "\"created\""))
			created = event_us(line);
		if (strstr(line, "BLOCK_JOB_COMPLETED")) {
			double t1 = now_us(), end = event_us(line);

			cpu_of(pids, npids, &c1, &w1, &o1);
			if (created < 0 || end < 0) {
				printf("FAILED no timestamps on the job's events\n");
				return 1;
			}
			printf("job_ms %.1f qemu_ms %.1f cpu_ms %.1f wait_ms %.1f "
			       "other_ms %.1f\n",
			       (t1 - t0) / 1e3, (end - created) / 1e3,
			       (c1 - c0) / 1e6, (w1 - w0) / 1e6, (o1 - o0) / 1e6);
			free(line);
			return 0;
		}
	}
	printf("FAILED the monitor closed\n");
	return 1;
}

int main(int argc, char **argv)
{
	FILE *f;

	if (argc < 4 || (argc > 4 && strcmp(argv[2], "job"))) {
		fprintf(stderr, "usage: bench_qmp SOCKET rtt N | SOCKET job JSON [PID...]\n");
		return 2;
	}
	f = open_qmp(argv[1]);
	if (!f) {
		printf("FAILED cannot reach %s\n", argv[1]);
		return 1;
	}
	if (!strcmp(argv[2], "rtt"))
		return rtt(f, atoi(argv[3]) > 0 ? atoi(argv[3]) : 1000);
	return job(f, argv[3], argv + 4, argc - 4);
}
