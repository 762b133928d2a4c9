/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_qmp SOCKET rtt N
 *     N query-status round trips, one at a time; prints
 *     "rtt_us MEDIAN P99".
 * bench_qmp SOCKET job JSON
 *     sends JSON (a block job with job-id "j"), completes it when it is
 *     ready (active commit), waits for its BLOCK_JOB_COMPLETED; prints
 *     "job_ms ELAPSED" or "FAILED why".
 * The same client against QEMU's own -qmp socket and against vmseal's
 * monitor gate: what the gate adds.
 */
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

static int job(FILE *f, const char *json)
{
	char *line = NULL;
	size_t cap = 0;
	double t0 = now_us();

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
		if (strstr(line, "BLOCK_JOB_COMPLETED")) {
			printf("job_ms %.1f\n", (now_us() - t0) / 1e3);
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

	if (argc != 4) {
		fprintf(stderr, "usage: bench_qmp SOCKET rtt N | SOCKET job JSON\n");
		return 2;
	}
	f = open_qmp(argv[1]);
	if (!f) {
		printf("FAILED cannot reach %s\n", argv[1]);
		return 1;
	}
	if (!strcmp(argv[2], "rtt"))
		return rtt(f, atoi(argv[3]) > 0 ? atoi(argv[3]) : 1000);
	return job(f, argv[3]);
}
