/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_chain_floor ROOT TOP REPS [NEEDS]: the syscall floor of a chain walk,
 * measured in the same run as `vmseal chain` (bench/chain.sh).  Per
 * member it makes only the calls any walker that keeps vmseal's rules
 * must make, with nothing else around them:
 *   openat2(root, name, O_PATH, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
 *           RESOLVE_NO_MAGICLINKS)        reach the file beneath the root
 *   fstat(opath)                          its type and identity
 *   open("/proc/self/fd/N", O_RDONLY)     reopen that inode, no lookup
 *   close(opath)
 *   pread(fd, header bytes needed, 0)     a qcow2 header up to the end of
 *                                          its backing name, no more
 *   close(fd)
 * and follows the backing name (offset 8, length 16) with no other check.
 * How many bytes each member needs is learnt by a first, untimed walk,
 * or, so that the timed walk is the process's first (its caches as cold
 * as those of a `vmseal chain` process), read from NEEDS, which
 * `bench_chain_floor --learn ROOT TOP` writes (one number a line, top
 * first).  Prints one line per timed walk: "members N ns T"
 * (clock_gettime around the walk: no process start-up), REPS walks.  A qcow2 chain whose members
 * all lie in ROOT, named relative to it, as bench/chain.sh makes them.
 */

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000ULL + (uint64_t)t.tv_nsec;
}

static uint64_t be(const unsigned char *p, int n)
{
	uint64_t v = 0;

	while (n--)
		v = v << 8 | *p++;
	return v;
}

#define MAX_MEMBERS 8192

/* Header bytes each member needs, learnt by an untimed first walk. */
static size_t needs[MAX_MEMBERS];

/*
 * The walk; members reached, or -1.  learn: read the fixed header first
 * to learn how much is needed (the untimed pass); otherwise one pread of
 * exactly needs[i] bytes per member.
 */
static long walk(int root, const char *top, int learn)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
			   RESOLVE_NO_MAGICLINKS,
	};
	unsigned char buf[4096];
	char name[1024], proc[40];
	long n = 0;

	snprintf(name, sizeof(name), "%s", top);
	for (;;) {
		struct stat st;
		uint64_t off, len;
		int op, fd;

		if (n == MAX_MEMBERS)
			return -1;
		op = (int)syscall(SYS_openat2, root, name, &how, sizeof(how));
		if (op < 0 || fstat(op, &st) < 0)
			return -1;
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", op);
		fd = open(proc, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		close(op);
		if (fd < 0)
			return -1;
		if (learn) {
			if (pread(fd, buf, 24, 0) != 24) {
				close(fd);
				return -1;
			}
			off = be(buf + 8, 8);
			len = be(buf + 16, 4);
			needs[n] = off ? (size_t)(off + len) : 104;
			if (needs[n] > sizeof(buf) || len >= sizeof(name)) {
				close(fd);
				return -1;
			}
		}
		if (pread(fd, buf, needs[n], 0) != (ssize_t)needs[n]) {
			close(fd);
			return -1;
		}
		close(fd);
		off = be(buf + 8, 8);
		len = be(buf + 16, 4);
		n++;
		if (!off)
			return n;
		memcpy(name, buf + off, len);
		name[len] = '\0';
	}
}

int main(int argc, char **argv)
{
	bool learn = argc == 4 && !strcmp(argv[1], "--learn");
	int root, reps;
	long n;

	if (learn) {
		argv++;
		argc--;
	}
	if (argc != 4 && argc != 5 && !(learn && argc == 3)) {
		fprintf(stderr, "usage: bench_chain_floor ROOT TOP REPS [NEEDS]\n"
				"       bench_chain_floor --learn ROOT TOP\n");
		return 2;
	}
	root = open(argv[1], O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0) {
		perror(argv[1]);
		return 1;
	}
	if (learn) {
		n = walk(root, argv[2], 1);
		for (long i = 0; i < n; i++)
			printf("%zu\n", needs[i]);
		return n < 0;
	}
	reps = atoi(argv[3]);
	if (argc == 5) {
		FILE *f = fopen(argv[4], "re");
		size_t i = 0;

		while (f && i < MAX_MEMBERS && fscanf(f, "%zu", &needs[i]) == 1)
			i++;
		if (!f || !i) {
			fprintf(stderr, "bench_chain_floor: no needs in %s\n",
				argv[4]);
			return 1;
		}
		fclose(f);
	} else if (walk(root, argv[2], 1) < 0) {
		fprintf(stderr, "bench_chain_floor: walk failed: %s\n",
			strerror(errno));
		return 1;
	}
	for (int r = 0; r < reps; r++) {
		uint64_t t0 = now_ns();
		long n = walk(root, argv[2], 0);
		uint64_t t1 = now_ns();

		if (n < 0) {
			fprintf(stderr, "bench_chain_floor: walk failed: %s\n",
				strerror(errno));
			return 1;
		}
		printf("members %ld ns %llu\n", n, (unsigned long long)(t1 - t0));
	}
	return 0;
}
