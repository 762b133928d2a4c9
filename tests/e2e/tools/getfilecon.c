/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * getfilecon FILE [XATTR]: prints FILE's SELinux context as libselinux's
 * lgetfilecon_raw() reads it (or the extended attribute XATTR), or
 * "(none)" when it has none; exit 1 on any other error.  The labels
 * e2e test reads what vmseal set with this, whatever stat and getfattr
 * make of a host without SELinux.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/xattr.h>

#include <selinux/selinux.h>

int main(int argc, char **argv)
{
	char buf[4096], *con = NULL;
	ssize_t n;

	if (argc != 2 && argc != 3) {
		fprintf(stderr, "usage: getfilecon FILE [XATTR]\n");
		return 2;
	}
	if (argc == 3) {
		n = lgetxattr(argv[1], argv[2], buf, sizeof(buf) - 1);
		if (n < 0 && errno != ENODATA) {
			fprintf(stderr, "getfilecon: %s: %s\n", argv[1],
				strerror(errno));
			return 1;
		}
		buf[n < 0 ? 0 : n] = '\0';
		printf("%s\n", n < 0 ? "(none)" : buf);
		return 0;
	}
	if (lgetfilecon_raw(argv[1], &con) < 0) {
		if (errno != ENODATA) {
			fprintf(stderr, "getfilecon: %s: %s\n", argv[1],
				strerror(errno));
			return 1;
		}
		printf("(none)\n");
		return 0;
	}
	printf("%s\n", con);
	freecon(con);
	return 0;
}
