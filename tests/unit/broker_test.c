/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The broker: path and flag checks on their own, then live, with a child
 * under the broker policy making real open() calls and this process
 * serving them with broker_handle().
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "common/xalloc.h"
#include "sandbox/allowlist.h"
#include "sandbox/broker.h"
#include "sandbox/policy.h"
#include "tests/lib/tap.h"

static char tmpdir[] = "/tmp/vmseal-broker.XXXXXX";

static const char *verdict(const struct allowlist *al, const char *path,
			   int flags)
{
	static char buf[PATH_MAX + 64];
	char norm[PATH_MAX];
	const char *reason = NULL;
	int error = 0;

	if (broker_check(al, path, flags, norm, sizeof(norm), &error, &reason))
		snprintf(buf, sizeof(buf), "ok %s", norm);
	else
		snprintf(buf, sizeof(buf), "%s: %s", strerrorname_np(error),
			 reason);
	return buf;
}

static void test_check(void)
{
	struct allowlist al = { 0 };

	allowlist_add(&al, ALLOW_DIR, "/usr/share/qemu", "t");
	allowlist_add(&al, ALLOW_FILE, "/etc/ld.so.cache", "t");
	allowlist_add(&al, ALLOW_PROC_SELF, "/proc/self/status", "t");
	allowlist_add(&al, ALLOW_DIR, "/proc", "t"); /* an unwise admin */
	allowlist_add_dev(&al, "/dev/kvm", true, 10, 232, "t");

	is_str(verdict(&al, "/usr/share/qemu/bios.bin", O_RDONLY),
	       "ok /usr/share/qemu/bios.bin", "file beneath an allowed dir");
	is_str(verdict(&al, "/usr/share/qemuX/bios.bin", O_RDONLY),
	       "EACCES: not on the allowlist", "prefix matches whole components only");
	is_str(verdict(&al, "/usr/bin/../share/qemu/kvmvapic.bin", O_RDONLY),
	       "ok /usr/share/qemu/kvmvapic.bin",
	       "QEMU's relocatable path is normalised before matching");
	is_str(verdict(&al, "/usr/share/qemu/../../../etc/shadow", O_RDONLY),
	       "EACCES: not on the allowlist", ".. cannot climb out of an allowed dir");
	is_str(verdict(&al, "/../etc/shadow", O_RDONLY),
	       "EACCES: path climbs above /", ".. above / refused");
	is_str(verdict(&al, "usr/share/qemu/bios.bin", O_RDONLY),
	       "EACCES: relative path", "relative path refused");
	is_str(verdict(&al, "/usr/share/qemu/x", O_RDWR),
	       "EACCES: not a read-only open", "O_RDWR refused");
	is_str(verdict(&al, "/usr/share/qemu/x", O_WRONLY),
	       "EACCES: not a read-only open", "O_WRONLY refused");
	is_str(verdict(&al, "/usr/share/qemu/x", O_RDONLY | O_CREAT),
	       "EACCES: write, create or path-only flags", "O_CREAT refused");
	is_str(verdict(&al, "/usr/share/qemu/x", O_RDONLY | O_TRUNC),
	       "EACCES: write, create or path-only flags", "O_TRUNC refused");
	is_str(verdict(&al, "/usr/share/qemu/x", O_RDONLY | O_APPEND),
	       "EACCES: write, create or path-only flags", "O_APPEND refused");
	is_str(verdict(&al, "/usr/share/qemu", O_RDWR | O_TMPFILE),
	       "EACCES: write, create or path-only flags", "O_TMPFILE refused");
	is_str(verdict(&al, "/usr/share/qemu/x", O_PATH),
	       "EACCES: write, create or path-only flags", "O_PATH refused");
	is_str(verdict(&al, "/etc/ld.so.cache", O_RDONLY | O_CLOEXEC),
	       "ok /etc/ld.so.cache", "exact file");
	is_str(verdict(&al, "/etc/ld.so.cache/x", O_RDONLY),
	       "EACCES: not on the allowlist", "nothing beneath a file entry");
	is_str(verdict(&al, "/dev/kvm", O_RDWR | O_CLOEXEC), "ok /dev/kvm",
	       "/dev/kvm read-write");
	is_str(verdict(&al, "/dev/kvm", O_RDWR | O_TRUNC),
	       "EACCES: write, create or path-only flags", "device with O_TRUNC refused");
	is_str(verdict(&al, "/proc/self/status", O_RDONLY),
	       "ok /proc/self/status", "/proc/self/status");
	is_str(verdict(&al, "/proc/thread-self/status", O_RDONLY),
	       "ok /proc/self/status", "/proc/thread-self maps to /proc/self");
	is_str(verdict(&al, "/proc/self/environ", O_RDONLY),
	       "EACCES: not an allowed /proc/self file",
	       "/proc/self/* other than the listed files refused, even with /proc allowed");
	is_str(verdict(&al, "/proc/self/fd/3", O_RDONLY),
	       "EACCES: descriptor or root link of a process", "/proc/self/fd/N refused");
	is_str(verdict(&al, "/proc/1/root/etc/shadow", O_RDONLY),
	       "EACCES: descriptor or root link of a process", "/proc/PID/root refused");
	is_str(verdict(&al, "/proc/1/cwd", O_RDONLY),
	       "EACCES: descriptor or root link of a process", "/proc/PID/cwd refused");
	is_str(verdict(&al, "/proc/1/task/1/fd/0", O_RDONLY),
	       "EACCES: descriptor or root link of a process", "/proc/PID/task/TID/fd refused");
	is_str(verdict(&al, "/proc/1/environ", O_RDONLY),
	       "EACCES: a process's /proc entry", "other processes' /proc refused");
	is_str(verdict(&al, "/dev/fd/3", O_RDONLY),
	       "EACCES: descriptor or root link of a process", "/dev/fd/N refused");
	is_str(verdict(&al, "/dev/stdin", O_RDONLY),
	       "EACCES: descriptor or root link of a process", "/dev/stdin refused");
	is_str(verdict(&al, "/proc/filesystems", O_RDONLY), "ok /proc/filesystems",
	       "plain /proc files under an allowed /proc");
	allowlist_free(&al);
}

/*
 * The live part.  The child loads the broker filter, hands over the
 * listener, and writes one line per open to the pipe:
 * "PATH ok" (and the bytes it read) or "PATH ERRNAME".
 */
static void child_opens(int sock, int out, char **paths, int flags)
{
	struct vs_err err = { 0 };
	const struct policy_opts o = { .policy = VS_POLICY_BROKER };
	struct vs_filter *f;
	int nfd;

	if (policy_build(&o, &f, &err) < 0 || policy_load(f, &nfd, &err) < 0)
		_exit(100);
	if (fd_send(sock, nfd) < 0)
		_exit(101);
	close(nfd);
	for (char **p = paths; *p; p++) {
		char line[PATH_MAX + 128], data[16] = "";
		int fd = open(*p, flags);

		if (fd >= 0) {
			ssize_t n = read(fd, data, sizeof(data) - 1);
			int fl = fcntl(fd, F_GETFD);

			data[n > 0 ? n : 0] = '\0';
			data[strcspn(data, "\n")] = '\0';
			snprintf(line, sizeof(line), "%s ok%s [%s]\n", *p,
				 fl & FD_CLOEXEC ? " cloexec" : "", data);
			close(fd);
		} else {
			snprintf(line, sizeof(line), "%s %s\n", *p,
				 strerrorname_np(errno));
		}
		if (write(out, line, strlen(line)) < 0)
			_exit(102);
	}
	_exit(0);
}

/* Who the broker serves as (NULL in serve(): root, who reads anything). */
struct emu_ident {
	uid_t uid;
	gid_t gid;
	const gid_t *groups;
	size_t n_groups;
};

/* Runs child_opens under a broker for al; returns what the child wrote. */
static char *serve_as(const struct allowlist *al, const struct devino *deny,
		      size_t n_deny, char **paths, int flags,
		      const struct emu_ident *who)
{
	static char result[8192];
	struct vs_err err = { 0 };
	struct broker b;
	int sv[2], pipefd[2], nfd = -1, status;
	size_t got = 0;
	pid_t pid;

	memset(result, 0, sizeof(result));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    pipe2(pipefd, O_CLOEXEC) < 0)
		return "setup failed";
	pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		child_opens(sv[1], pipefd[1], paths, flags);
	}
	close(sv[1]);
	close(pipefd[1]);
	if (fd_recv(sv[0], &nfd) < 0 ||
	    broker_init(&b, nfd, al, deny, n_deny, &err) < 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		return "broker setup failed";
	}
	if (who) {
		b.emu_uid = who->uid;
		b.emu_gid = who->gid;
		b.emu_groups = who->groups;
		b.n_emu_groups = who->n_groups;
	}
	for (;;) {
		struct pollfd p[2] = { { nfd, POLLIN, 0 }, { pipefd[0], POLLIN, 0 } };
		struct broker_event ev;

		if (poll(p, 2, 5000) <= 0)
			break;
		if (p[0].revents & POLLIN)
			broker_handle(&b, &ev);
		if (p[1].revents & (POLLIN | POLLHUP)) {
			ssize_t n = read(pipefd[0], result + got,
					 sizeof(result) - 1 - got);

			if (n <= 0)
				break;
			got += (size_t)n;
		}
	}
	broker_fini(&b);
	close(nfd);
	close(sv[0]);
	close(pipefd[0]);
	waitpid(pid, &status, 0);
	return result;
}

static char *serve(const struct allowlist *al, const struct devino *deny,
		   size_t n_deny, char **paths, int flags)
{
	return serve_as(al, deny, n_deny, paths, flags, NULL);
}

static void put(const char *path, const char *content, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd < 0 || write(fd, content, strlen(content)) < 0)
		tap_diag("cannot write %s", path);
	fchmod(fd, mode);
	close(fd);
}

static void test_live(void)
{
	char *allowed, *outside, *p[8];
	struct allowlist al = { 0 };
	struct devino img;
	struct stat st;
	char *paths[12], *r;
	int n = 0;

	if (!mkdtemp(tmpdir)) {
		tap_skip("mkdtemp failed", "live broker tests");
		return;
	}
	allowed = xasprintf("%s/allowed", tmpdir);
	outside = xasprintf("%s/outside", tmpdir);
	mkdir(allowed, 0755);
	mkdir(outside, 0755);
	p[0] = xasprintf("%s/data", allowed);
	put(p[0], "hello\n", 0644);
	p[1] = xasprintf("%s/secret", outside);
	put(p[1], "secret\n", 0644);
	p[2] = xasprintf("%s/image.qcow2", allowed);
	put(p[2], "QFI\n", 0644);
	p[3] = xasprintf("%s/link-out", allowed);
	(void)!symlink(p[1], p[3]);
	p[4] = xasprintf("%s/link-in", allowed);
	(void)!symlink("data", p[4]);
	p[5] = xasprintf("%s/fifo", allowed);
	mkfifo(p[5], 0644);
	p[6] = xasprintf("%s/../outside/secret", allowed);
	p[7] = xasprintf("%s/missing", allowed);
	stat(p[2], &st);
	img.dev = st.st_dev;
	img.ino = st.st_ino;

	allowlist_add(&al, ALLOW_DIR, allowed, "t");
	allowlist_add(&al, ALLOW_PROC_SELF, "/proc/self/status", "t");
	allowlist_add_dev(&al, "/dev/null", true, 1, 3, "t");
	for (int i = 0; i < 8; i++)
		paths[n++] = p[i];
	paths[n++] = "/proc/self/status";
	paths[n++] = "/etc/hostname";
	paths[n] = NULL;
	r = serve(&al, &img, 1, paths, O_RDONLY | O_CLOEXEC);

	char want[PATH_MAX + 64];
#define EXPECT(i, tail, name)                                                \
	do {                                                                 \
		snprintf(want, sizeof(want), "%s %s\n", paths[i], tail);     \
		has_str(r, want, name);                                      \
	} while (0)
	EXPECT(0, "ok cloexec [hello]", "allowed file served, O_CLOEXEC honoured");
	EXPECT(1, "EACCES", "file outside the allowlist refused");
	EXPECT(2, "EACCES", "chain image inside an allowed dir refused by dev/ino");
	EXPECT(3, "EACCES", "symlink leading out of the allowlist refused");
	EXPECT(4, "ok cloexec [hello]", "symlink staying inside the allowed dir served");
	EXPECT(5, "EACCES", "FIFO refused without blocking the broker");
	EXPECT(6, "EACCES", ".. out of the allowed dir refused");
	EXPECT(7, "ENOENT", "missing file inside an allowed dir is ENOENT");
	EXPECT(8, "ok cloexec [Name:\tbroker_te]",
	       "/proc/self/status is the requester's own");
	EXPECT(9, "EACCES", "/etc/hostname refused");

	paths[0] = p[0];
	paths[1] = "/dev/null";
	paths[2] = NULL;
	r = serve(&al, &img, 1, paths, O_RDONLY);
	EXPECT(0, "ok [hello]", "without O_CLOEXEC the fd has none");
	r = serve(&al, &img, 1, paths, O_RDWR);
	EXPECT(0, "EACCES", "read-write open of a file refused");
	EXPECT(1, "ok []", "read-write /dev/null served (st_rdev 1:3)");
	allowlist_free(&al);

	allowlist_add_dev(&al, "/dev/null", true, 1, 5, "t");
	paths[0] = "/dev/null";
	paths[1] = NULL;
	r = serve(&al, NULL, 0, paths, O_RDWR);
	EXPECT(0, "EACCES", "a device whose st_rdev differs is refused");
	allowlist_free(&al);
#undef EXPECT
	for (int i = 0; i < 6; i++)
		unlink(p[i]);
	rmdir(allowed);
	rmdir(outside);
	rmdir(tmpdir);
	for (int i = 0; i < 8; i++)
		free(p[i]);
	free(allowed);
	free(outside);
}

/*
 * The broker opens as root; it serves only what the emulator's user could
 * read by the mode bits, in the kernel's order: an owner without the read
 * bit is refused even where others may read.
 */
static void test_mode_bits(void)
{
	static const gid_t extra[] = { 4242 };
	static const struct {
		const char *name;
		uid_t uid;
		gid_t gid;
		mode_t mode;
		const char *want;
		const char *what;
	} f[] = {
		{ "own-0400", 65534, 0, 0400, "ok", "owner with the read bit" },
		{ "own-0004", 65534, 0, 0004, "EACCES",
		  "owner without it, though others may read" },
		{ "grp-0040", 0, 65534, 0040, "ok", "primary group with the read bit" },
		{ "sup-0040", 0, 4242, 0040, "ok",
		  "supplementary group with the read bit" },
		{ "sup-0004", 0, 4242, 0004, "EACCES",
		  "supplementary group without it, though others may read" },
		{ "oth-0004", 0, 0, 0004, "ok", "others with the read bit" },
		{ "oth-0640", 0, 42, 0640, "EACCES",
		  "a group it is not in may read, others not (root:shadow 0640)" },
		{ "root-0600", 0, 0, 0600, "EACCES", "root's 0600 file" },
	};
	const struct emu_ident who = { 65534, 65534, extra, 1 };
	char dir[] = "/tmp/vmseal-broker-mode.XXXXXX";
	char *paths[ARRAY_SIZE(f) + 1], want[PATH_MAX + 64], *r;
	struct allowlist al = { 0 };
	size_t i;

	if (!mkdtemp(dir)) {
		tap_skip("mkdtemp failed", "mode bit tests");
		return;
	}
	chmod(dir, 0755);
	for (i = 0; i < ARRAY_SIZE(f); i++) {
		paths[i] = xasprintf("%s/%s", dir, f[i].name);
		put(paths[i], "x\n", f[i].mode);
		if (chown(paths[i], f[i].uid, f[i].gid) < 0)
			tap_diag("chown %s: %m", paths[i]);
	}
	paths[i] = NULL;
	allowlist_add(&al, ALLOW_DIR, dir, "t");
	r = serve_as(&al, NULL, 0, paths, O_RDONLY, &who);
	for (i = 0; i < ARRAY_SIZE(f); i++) {
		snprintf(want, sizeof(want), "%s %s", paths[i], f[i].want);
		has_str(r, want, "mode bits as uid 65534: %s", f[i].what);
		unlink(paths[i]);
		free(paths[i]);
	}
	allowlist_free(&al);
	rmdir(dir);
}

/*
 * The path read from the caller's memory is trusted only once the
 * notification is known still valid: a caller gone between the read and
 * that check gets no answer and makes no event (its pid may already be
 * another process's).  The read is wrapped to kill the caller right after
 * it; the control wrapper only reads.
 */
static pid_t gone_victim;

static int read_then_kill(struct broker *b, pid_t pid, unsigned long addr,
			  char *out, size_t len)
{
	int rc = broker_read_path(b, pid, addr, out, len);

	if (gone_victim > 0) {
		kill(gone_victim, SIGKILL);
		waitpid(gone_victim, NULL, 0);
		gone_victim = -1;
	}
	return rc;
}

static int read_only(struct broker *b, pid_t pid, unsigned long addr,
		     char *out, size_t len)
{
	return broker_read_path(b, pid, addr, out, len);
}

static void test_caller_gone(void)
{
	static char *paths[] = { "/etc/hostname", NULL };
	struct allowlist al = { 0 };

	for (int kill_it = 0; kill_it < 2; kill_it++) {
		struct vs_err err = { 0 };
		struct broker_event ev;
		struct broker b;
		struct pollfd p;
		int sv[2], pipefd[2], nfd = -1, rc = -1;
		pid_t pid;

		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
		    pipe2(pipefd, O_CLOEXEC) < 0) {
			ok(0, "caller gone: set-up: %s", strerror(errno));
			return;
		}
		pid = fork();
		if (pid == 0) {
			close(pipefd[0]);
			child_opens(sv[1], pipefd[1], paths, O_RDONLY);
		}
		close(sv[1]);
		close(pipefd[1]);
		if (fd_recv(sv[0], &nfd) == 0 &&
		    broker_init(&b, nfd, &al, NULL, 0, &err) == 0) {
			p = (struct pollfd){ nfd, POLLIN, 0 };
			b.read_path = kill_it ? read_then_kill : read_only;
			gone_victim = kill_it ? pid : -1;
			if (poll(&p, 1, 5000) == 1)
				rc = broker_handle(&b, &ev);
			if (kill_it)
				ok(rc == 0 && !b.denied && !b.served,
				   "caller killed between the path read and the check: no answer, no event (%d, denied %lu)",
				   rc, b.denied);
			else
				ok(rc == 1 && ev.refused && !strcmp(ev.path, paths[0]),
				   "control, caller still waiting: read and refused (%d, %s)",
				   rc, ev.reason ? ev.reason : "no reason");
			broker_fini(&b);
		} else {
			ok(0, "caller gone: broker set-up: %s", err.msg);
		}
		if (nfd >= 0)
			close(nfd);
		close(sv[0]);
		close(pipefd[0]);
		if (gone_victim > 0 || !kill_it) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
		gone_victim = -1;
	}
}

static void test_flags_str(void)
{
	char buf[256];

	is_str(open_flags_str(O_RDONLY | O_CLOEXEC, buf, sizeof(buf)),
	       "O_RDONLY|O_CLOEXEC", "flags: O_RDONLY|O_CLOEXEC");
	is_str(open_flags_str(O_RDWR | O_CREAT | O_TRUNC, buf, sizeof(buf)),
	       "O_RDWR|O_CREAT|O_TRUNC", "flags: O_RDWR|O_CREAT|O_TRUNC");
}

int main(void)
{
	test_check();
	test_flags_str();
	if (geteuid() != 0)
		tap_skip("needs root to read /proc/PID/mem of the child",
			 "live broker tests");
	else {
		test_live();
		test_mode_bits();
		test_caller_gone();
	}
	return tap_done();
}
