/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A stand-in emulator that tries what a compromised emulator would to
 * reach beyond its jail, and prints one line per attempt, "OK" when it
 * worked or the errno name when it did not:
 *
 *   connect-unix PATH       connect(2) to a pathname unix socket
 *   connect-abstract NAME   connect(2) to the abstract socket @NAME
 *   stat PATH               whether PATH can be seen at all
 *   open PATH               open(2) read-only (in the jail the kernel
 *                           answers it, not the broker)
 *   readlink PATH           e.g. /proc/PID/exe of a host process
 *   exec PATH               execv(2) of PATH --version (a line only when
 *                           it failed: the probe is gone once it worked)
 *   kill PID SIG            kill(2) (SIG 0: only whether it could)
 *   kill-parent SIG         kill(2) of the parent, when it can be seen
 *   sleep SECONDS           stays alive (for the death signal tests)
 *   landlock-abi            prints the kernel's Landlock ABI (0: none)
 *
 * and, run on the host by a test, what the attempts aim at:
 *
 *   listen-unix PATH        a pathname socket anyone may connect to
 *   listen-abstract NAME    an abstract socket
 *
 * Static, and it never opens a file: every step is a syscall the filter
 * lets through, so what stops it is the jail or Landlock.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

static void result(const char *what, const char *arg, int rc)
{
	printf("%s %s: %s\n", what, arg, rc == 0 ? "OK" : strerrorname_np(errno));
	fflush(stdout);
}

static int do_connect(const char *name, int abstract)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(name);
	int fd, rc, saved;

	if (len + 1 >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path + (abstract ? 1 : 0), name, len);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	rc = connect(fd, (struct sockaddr *)&sa,
		     (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
				 len + 1));
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

static int do_listen(const char *name, int abstract)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t len = strlen(name);
	int fd;

	if (len + 1 >= sizeof(sa.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sa.sun_path + (abstract ? 1 : 0), name, len);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (fd < 0 ||
	    bind(fd, (struct sockaddr *)&sa,
		 (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + 1)) < 0 ||
	    listen(fd, 16) < 0)
		return -1;
	if (!abstract && chmod(name, 0777) < 0)
		return -1;
	return 0; /* stays open until we exit */
}

int main(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : "";
		struct stat st;
		char buf[4096];

		if (!strcmp(a, "connect-unix")) {
			result(a, v, do_connect(v, 0));
			i++;
		} else if (!strcmp(a, "connect-abstract")) {
			result(a, v, do_connect(v, 1));
			i++;
		} else if (!strcmp(a, "stat")) {
			result(a, v, stat(v, &st));
			i++;
		} else if (!strcmp(a, "open")) {
			int fd = open(v, O_RDONLY | O_CLOEXEC);

			result(a, v, fd < 0 ? -1 : 0);
			if (fd >= 0)
				close(fd);
			i++;
		} else if (!strcmp(a, "exec")) {
			char *const args[] = { (char *)v, "--version", NULL };

			execv(v, args);
			result(a, v, -1);
			i++;
		} else if (!strcmp(a, "readlink")) {
			ssize_t n = readlink(v, buf, sizeof(buf));

			result(a, v, n < 0 ? -1 : 0);
			i++;
		} else if (!strcmp(a, "kill") && i + 2 < argc) {
			char what[64];

			snprintf(what, sizeof(what), "%s %s", v, argv[i + 2]);
			result("kill", what,
			       kill((pid_t)atoi(v), atoi(argv[i + 2])));
			i += 2;
		} else if (!strcmp(a, "kill-parent")) {
			pid_t pp = getppid();

			/* 0: outside our PID namespace (kill(0) is our group). */
			if (pp == 0) {
				errno = ESRCH;
				result(a, v, -1);
			} else {
				result(a, v, kill(pp, atoi(v)));
			}
			i++;
		} else if (!strcmp(a, "landlock-abi")) {
			/* landlock_create_ruleset(NULL, 0, VERSION) */
			long abi = syscall(444, NULL, 0, 1U);

			printf("%ld\n", abi < 0 ? 0L : abi);
		} else if (!strcmp(a, "listen-unix")) {
			result(a, v, do_listen(v, 0));
			i++;
		} else if (!strcmp(a, "listen-abstract")) {
			result(a, v, do_listen(v, 1));
			i++;
		} else if (!strcmp(a, "sleep")) {
			sleep((unsigned)atoi(v));
			i++;
		}
	}
	return 0;
}
