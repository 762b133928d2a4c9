/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_exec REPS LABEL [--fd=N:FILE] [--env=NAME=VALUE] CMD ARGS...
 *            [:: LABEL ...]...
 *
 * Runs each command REPS times, interleaved (one run of each, then the
 * next round), so drift in the machine's load hits every command alike,
 * and times each run from just before posix_spawn to the end of waitpid,
 * with stdout and stderr sent to /dev/null (and FILE opened read-only as
 * descriptor N, for a program that takes one: bwrap --seccomp N; and
 * NAME=VALUE added to its environment).
 * Prints one line a command:
 *   LABEL min_ms median_ms max_ms
 * or, for a command whose run failed,
 *   LABEL FAILED exit STATUS
 */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct cmd {
	const char *label;
	posix_spawn_file_actions_t fa;
	char **envp;
	char **argv;
	double *ms;
	int failed;	/* the first failing status + 1, or 0 */
};

static double now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	struct cmd cmds[16];
	int n = 0, reps;

	if (argc < 4) {
		fprintf(stderr, "usage: bench_exec REPS LABEL CMD ARGS... [:: LABEL CMD ARGS...]...\n");
		return 2;
	}
	reps = atoi(argv[1]);
	for (int i = 2; i < argc && n < 16;) {
		int j = i + 1;

		while (j < argc && strcmp(argv[j], "::"))
			j++;
		if (j - i < 2)
			return 2;
		cmds[n].label = argv[i];
		posix_spawn_file_actions_init(&cmds[n].fa);
		posix_spawn_file_actions_addopen(&cmds[n].fa, 1, "/dev/null",
						 O_WRONLY, 0);
		posix_spawn_file_actions_addopen(&cmds[n].fa, 2, "/dev/null",
						 O_WRONLY, 0);
		cmds[n].envp = environ;
		while (i + 1 < j && !strncmp(argv[i + 1], "--env=", 6)) {
			size_t k = 0;
			char **e;

			while (cmds[n].envp[k])
				k++;
			/* First: getenv() takes the first of a name. */
			e = calloc(k + 2, sizeof(char *));
			e[0] = argv[i + 1] + 6;
			memcpy(e + 1, cmds[n].envp, k * sizeof(char *));
			cmds[n].envp = e;
			i++;
		}
		while (i + 1 < j && !strncmp(argv[i + 1], "--fd=", 5)) {
			char *colon = strchr(argv[i + 1], ':');

			if (!colon)
				return 2;
			posix_spawn_file_actions_addopen(&cmds[n].fa,
							 atoi(argv[i + 1] + 5),
							 colon + 1, O_RDONLY, 0);
			i++;
		}
		if (j - i < 2)
			return 2;
		cmds[n].argv = argv + i + 1;
		cmds[n].ms = calloc((size_t)reps, sizeof(double));
		cmds[n].failed = 0;
		if (j < argc)
			argv[j] = NULL;
		n++;
		i = j + 1;
	}
	for (int r = 0; r < reps; r++) {
		for (int c = 0; c < n; c++) {
			double t0 = now_ms();
			int status = -1;
			pid_t pid;

			if (posix_spawn(&pid, cmds[c].argv[0], &cmds[c].fa, NULL,
					cmds[c].argv, cmds[c].envp) != 0 ||
			    waitpid(pid, &status, 0) != pid || status != 0) {
				if (!cmds[c].failed)
					cmds[c].failed = (WIFEXITED(status) ?
							  WEXITSTATUS(status) :
							  128 + WTERMSIG(status)) + 1;
			}
			cmds[c].ms[r] = now_ms() - t0;
		}
	}
	for (int c = 0; c < n; c++) {
		if (cmds[c].failed) {
			printf("%s FAILED exit %d\n", cmds[c].label,
			       cmds[c].failed - 1);
			continue;
		}
		qsort(cmds[c].ms, (size_t)reps, sizeof(double), cmp);
		printf("%s %.3f %.3f %.3f\n", cmds[c].label, cmds[c].ms[0],
		       cmds[c].ms[(reps - 1) / 2], cmds[c].ms[reps - 1]);
	}
	return 0;
}
