/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The smallest emulator stand-in, for the launch benchmark: static (no
 * loader opens, so it runs under policy = deny), reads the first bytes of
 * every descriptor its -add-fd arguments name, as an emulator reads its
 * images' headers, and exits 0.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	char buf[512];

	for (int i = 1; i + 1 < argc; i++) {
		if (!strcmp(argv[i], "-add-fd") && !strncmp(argv[i + 1], "fd=", 3))
			(void)!pread(atoi(argv[i + 1] + 3), buf, sizeof(buf), 0);
	}
	return 0;
}
