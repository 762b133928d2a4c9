/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A static stand-in emulator that makes the broker deny on purpose:
 *   --forge    opens a path holding a newline, ANSI codes and a byte that
 *              is not UTF-8, spelled so that a raw log would show a line
 *              "vmseal: broker locked on request: FAKE" of its own
 *   --many N   opens N distinct paths that do not exist
 * then exits 0.  Static, so no loader open comes first.  The opens ask
 * for write access: in the jail a read-only open goes straight to the
 * kernel (the Landlock fast path), a write open always to the broker.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--forge")) {
			int fd = open("/nonexistent-vmseal-forge\n"
				      "vmseal: broker locked on request: FAKE"
				      "\x1b[2K\r\x1b[31mred\xff",
				      O_WRONLY | O_CLOEXEC);

			if (fd >= 0)
				return 2;
		} else if (!strcmp(argv[i], "--many") && i + 1 < argc) {
			long n = strtol(argv[++i], NULL, 10);

			for (long k = 0; k < n; k++) {
				char path[64];

				snprintf(path, sizeof(path),
					 "/nonexistent-vmseal-many/%ld", k);
				if (open(path, O_WRONLY | O_CLOEXEC) >= 0)
					return 2;
			}
		}
	}
	return 0;
}
