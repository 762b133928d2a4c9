/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Runs a fuzz target's entry point over every file of its corpus (built
 * in as FUZZ_CORPUS, or the directories given), one TAP line per file, so
 * that `make check` exercises every corpus input with the normal compiler
 * and sanitizers, no clang needed.  A target that traps kills the run,
 * which tests/run reports.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fd.h"
#include "tests/lib/tap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static void replay_dir(const char *dir)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, by_name);

	if (n < 0) {
		ok(false, "corpus %s: %s", dir, strerror(errno));
		return;
	}
	for (int i = 0; i < n; i++) {
		const char *base = names[i]->d_name;
		char path[4096];
		struct stat st;
		uint8_t *buf;
		ssize_t got;
		int fd;

		snprintf(path, sizeof(path), "%s/%s", dir, base);
		if (base[0] == '.' || stat(path, &st) < 0 || !S_ISREG(st.st_mode)) {
			free(names[i]);
			continue;
		}
		fd = open(path, O_RDONLY | O_CLOEXEC);
		buf = malloc((size_t)st.st_size + 1);
		got = fd < 0 ? -1 : pread_full(fd, buf, (size_t)st.st_size, 0);
		if (fd >= 0)
			close(fd);
		if (got == st.st_size) {
			/* 0 as libFuzzer wants; a broken promise traps. */
			ok(LLVMFuzzerTestOneInput(buf, (size_t)got) == 0,
			   "%s: %s (%zd bytes)", FUZZ_TARGET, base, got);
		} else {
			ok(false, "%s: cannot read %s", FUZZ_TARGET, path);
		}
		free(buf);
		free(names[i]);
	}
	free(names);
}

int main(int argc, char **argv)
{
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			replay_dir(argv[i]);
	} else {
		replay_dir(FUZZ_CORPUS);
	}
	return tap_done();
}
