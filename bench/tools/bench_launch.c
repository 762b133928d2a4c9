/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_launch SOCKET [--hmp CMD] -- PROGRAM ARGS...: starts PROGRAM,
 * measures the time until the QMP socket answers query-status, then (with
 * --hmp) the time one HMP command takes, reads PROGRAM's peak RSS while
 * it runs, quits the guest and waits.  Prints one line:
 *   launch_ms=12.3 hmp_ms=45.6 rss_kb=1234 status=0
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int try_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return fd;
	if (fd >= 0)
		close(fd);
	return -1;
}

/* Reads until a line holding "return" or "error" (events skipped). */
static int reply(FILE *f, char *buf, size_t len)
{
	while (fgets(buf, (int)len, f)) {
		if (strstr(buf, "\"return\"") || strstr(buf, "\"error\"") ||
		    strstr(buf, "\"QMP\""))
			return 0;
	}
	return -1;
}

static long peak_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		sscanf(line, "VmHWM: %ld kB", &kb);
	if (f)
		fclose(f);
	return kb;
}

int main(int argc, char **argv)
{
	const char *sock, *hmp = NULL;
	char buf[65536];
	double t0, t_ready, t_hmp = -1;
	int i = 2, fd = -1, status;
	long rss;
	pid_t pid;
	FILE *f;

	if (argc < 4) {
		fprintf(stderr, "usage: bench_launch SOCKET [--hmp CMD] -- PROGRAM ARGS...\n");
		return 2;
	}
	sock = argv[1];
	if (!strcmp(argv[i], "--hmp")) {
		hmp = argv[i + 1];
		i += 2;
	}
	if (strcmp(argv[i], "--"))
		return 2;
	i++;
	unlink(sock);
	t0 = now_ms();
	pid = fork();
	if (pid == 0) {
		execv(argv[i], argv + i);
		_exit(127);
	}
	for (;;) {
		/* 20 us: the step adds at most that to what is measured. */
		struct timespec pause = { 0, 20 * 1000 };

		fd = try_connect(sock);
		if (fd >= 0)
			break;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr, "bench_launch: %s exited first\n", argv[i]);
			return 1;
		}
		nanosleep(&pause, NULL);
	}
	f = fdopen(fd, "r+");
	reply(f, buf, sizeof(buf));
	fputs("{\"execute\":\"qmp_capabilities\"}\n", f);
	fflush(f);
	reply(f, buf, sizeof(buf));
	fputs("{\"execute\":\"query-status\"}\n", f);
	fflush(f);
	reply(f, buf, sizeof(buf));
	t_ready = now_ms();
	if (hmp) {
		double h0 = now_ms();

		fprintf(f, "{\"execute\":\"human-monitor-command\",\"arguments\":"
			   "{\"command-line\":\"%s\"}}\n", hmp);
		fflush(f);
		reply(f, buf, sizeof(buf));
		t_hmp = now_ms() - h0;
	}
	rss = peak_rss_kb(pid);
	fputs("{\"execute\":\"quit\"}\n", f);
	fflush(f);
	reply(f, buf, sizeof(buf));
	fclose(f);
	waitpid(pid, &status, 0);
	printf("launch_ms=%.3f hmp_ms=%.3f rss_kb=%ld status=%d\n",
	       t_ready - t0, t_hmp, rss,
	       WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}
