/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * chain_resolve() against real images made by qemu-img in a private temp
 * dir: good chains of every shape, then hostile ones.  An inotify watch on
 * a directory outside the roots proves the walker never opened anything
 * there, and every failure is checked to leave no fd behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "chain/chain.h"
#include "common/xalloc.h"
#include "tests/lib/tap.h"

#define NO_QEMU_IMG "qemu-img not installed"

static char tmp[] = "/tmp/vmseal-chain.XXXXXX";
static char *root, *root2, *outside;
static bool have_tmp, have_qemu_img;
static struct vs_err err;

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	remove(path);
	return 0;
}

static void cleanup(void)
{
	if (have_tmp) {
		nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
		have_tmp = false;
	}
}

static void on_alarm(int sig)
{
	static const char msg[] = "Bail out! chain_test timed out\n";

	if (write(1, msg, sizeof(msg) - 1) < 0) {
		/* nothing more to do */
	}
	cleanup();
	_exit(1);
}

/* Strings the tests build, freed together at the end (LSan watches). */
static char **pool;
static size_t n_pool;

static char *keep(char *s)
{
	pool = xreallocarray(pool, n_pool + 1, sizeof(*pool));
	pool[n_pool++] = s;
	return s;
}

static void pool_free(void)
{
	for (size_t i = 0; i < n_pool; i++)
		free(pool[i]);
	free(pool);
	pool = NULL;
	n_pool = 0;
}

static char *P(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A path under the temp dir. */
static char *P(const char *fmt, ...)
{
	va_list ap;
	char *rel, *p;

	va_start(ap, fmt);
	rel = xvasprintf(fmt, ap);
	va_end(ap);
	p = xasprintf("%s/%s", tmp, rel);
	free(rel);
	return keep(p);
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Runs a shell command in the temp dir, quiet; its exit status. */
static int sh(const char *fmt, ...)
{
	va_list ap;
	char *cmd, *full;
	int r;

	va_start(ap, fmt);
	cmd = xvasprintf(fmt, ap);
	va_end(ap);
	full = xasprintf("cd '%s' && ( %s ) >/dev/null 2>&1", tmp, cmd);
	r = system(full);
	free(cmd);
	free(full);
	return r != -1 && WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

static void setup(bool good, const char *what)
{
	if (!good)
		ok(false, "setup: %s", what);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

struct opts {
	unsigned max_depth;
	bool writable;
	bool keep;
	char *const *roots;	/* NULL: just root */
	size_t n_roots;
};

static int resolve(const char *image, enum vs_format fmt,
		   const struct opts *o, struct chain *c)
{
	char *const def[] = { root };
	struct chain_opts co = {
		.roots = o && o->roots ? o->roots : def,
		.n_roots = o && o->roots ? o->n_roots : 1,
		.max_depth = o && o->max_depth ? o->max_depth : 64,
		.top_writable = o && o->writable,
		.keep_fds = o && o->keep,
	};

	return chain_resolve(image, fmt, &co, c, &err);
}

/* Refused, with this context and message, and nothing left open. */
static void refused(const char *image, enum vs_format fmt,
		    const struct opts *o, const char *ctx, const char *msg,
		    const char *what)
{
	struct chain c = { 0 };
	int before = count_fds();
	int r = resolve(image, fmt, o, &c);

	if (!ok(r < 0, "%s: refused", what))
		tap_diag("resolved %zu members", c.n);
	else
		tap_diag("vmseal: %s: %s", err.context, err.msg);
	has_str(err.context, ctx, "%s: context", what);
	has_str(err.msg, msg, "%s: message", what);
	ok(c.n == 0 && c.m == NULL && count_fds() == before,
	   "%s: nothing left open or allocated", what);
	chain_free(&c);
}

static int watch_outside(void)
{
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);

	if (fd < 0 ||
	    inotify_add_watch(fd, outside, IN_OPEN | IN_ACCESS) < 0) {
		ok(false, "setup: inotify on %s: %s", outside,
		   strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* True when something under outside/ was opened since the last call. */
static bool outside_touched(int fd)
{
	char buf[4096] __attribute__((aligned(8)));
	bool any = false;

	while (read(fd, buf, sizeof(buf)) > 0)
		any = true;
	return any;
}

/* rest: "FILE SIZE", relative to the temp dir. */
static void mkimg(const char *args, const char *rest)
{
	setup(sh("qemu-img create -q %s %s", args, rest) == 0, rest);
}

static uint64_t rd_be(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = 0; i < n; i++)
		v = v << 8 | p[i];
	return v;
}

/* Rewrites the backing name of a qcow2 file in place. */
static bool set_backing_name(const char *path, const char *name)
{
	uint8_t hdr[24], be[4];
	uint32_t len = (uint32_t)strlen(name);
	int fd = open(path, O_RDWR | O_CLOEXEC);
	bool good;

	if (fd < 0)
		return false;
	good = pread(fd, hdr, sizeof(hdr), 0) == sizeof(hdr) &&
	       rd_be(hdr + 8, 8) != 0;
	be[0] = (uint8_t)(len >> 24);
	be[1] = (uint8_t)(len >> 16);
	be[2] = (uint8_t)(len >> 8);
	be[3] = (uint8_t)len;
	good = good &&
	       pwrite(fd, name, len, (off_t)rd_be(hdr + 8, 8)) == len &&
	       pwrite(fd, be, 4, 16) == 4;
	close(fd);
	return good;
}

/* Finds the backing-format extension; its file offset or -1. */
static off_t find_fmt_ext(const char *path)
{
	uint8_t b[4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	uint64_t off;

	if (fd < 0)
		return -1;
	n = pread(fd, b, sizeof(b), 0);
	close(fd);
	if (n < 112)
		return -1;
	off = rd_be(b + 100, 4);
	while (off + 8 <= (uint64_t)n) {
		uint64_t type = rd_be(b + off, 4), len = rd_be(b + off + 4, 4);

		if (type == 0)
			return -1;
		if (type == 0xe2792aca)
			return (off_t)off;
		off += 8 + ((len + 7) & ~7ULL);
	}
	return -1;
}

static bool patch(const char *path, off_t off, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	bool good;

	if (fd < 0)
		return false;
	good = pwrite(fd, data, len, off) == (ssize_t)len;
	close(fd);
	return good;
}

static void check_member(const struct chain *c, size_t i, const char *path,
			 const char *real, enum vs_format fmt, uint64_t vsize,
			 int flags)
{
	struct stat st;

	if (!ok(i < c->n, "member %zu exists", i))
		return;
	is_str(c->m[i].path, path, "member %zu path", i);
	is_str(c->m[i].real_path, real, "member %zu real_path", i);
	is_int(c->m[i].info.format, fmt, "member %zu format", i);
	is_int(c->m[i].info.virtual_size, vsize, "member %zu virtual size",
	       i);
	is_int(c->m[i].open_flags, flags, "member %zu open flags", i);
	is_int(c->m[i].depth, i, "member %zu depth", i);
	ok(stat(real, &st) == 0 && st.st_ino == c->m[i].st.st_ino &&
	   st.st_dev == c->m[i].st.st_dev, "member %zu stat matches", i);
}

static void test_good_chains(void)
{
	struct opts keep = { .writable = true, .keep = true };
	struct chain c = { 0 };
	int r, before;

	if (!have_qemu_img) {
		tap_skip(NO_QEMU_IMG, "good chains");
		return;
	}
	mkimg("-f qcow2", "root/base.qcow2 1M");
	setup(sh("qemu-io -c 'write -P 0x11 0 64k' root/base.qcow2") == 0,
	      "qemu-io write");
	mkimg("-f qcow2 -F qcow2 -b base.qcow2", "root/mid.qcow2 1M");
	setup(sh("qemu-img create -q -f qcow2 -F qcow2 -b '%s/mid.qcow2' root/top.qcow2 2M",
		 root) == 0, "top.qcow2");

	r = resolve(P("root/base.qcow2"), VS_FMT_QCOW2, NULL, &c);
	is_int(r, 0, "1-level chain resolves");
	is_int(c.n, 1, "1-level: one member");
	check_member(&c, 0, P("root/base.qcow2"), P("root/base.qcow2"),
		     VS_FMT_QCOW2, 1 << 20, O_RDONLY);
	ok(c.n == 1 && c.m[0].fd == -1, "1-level: fd not kept");
	chain_free(&c);
	ok(c.n == 0 && c.m == NULL, "chain_free empties the chain");

	r = resolve(P("root/mid.qcow2"), VS_FMT_QCOW2, NULL, &c);
	is_int(r, 0, "2-level chain (relative name) resolves");
	is_int(c.n, 2, "2-level: two members");
	check_member(&c, 1, P("root/base.qcow2"), P("root/base.qcow2"),
		     VS_FMT_QCOW2, 1 << 20, O_RDONLY);
	chain_free(&c);

	before = count_fds();
	r = resolve(P("root/top.qcow2"), VS_FMT_QCOW2, &keep, &c);
	is_int(r, 0, "3-level chain (absolute name) resolves");
	is_int(c.n, 3, "3-level: three members");
	check_member(&c, 0, P("root/top.qcow2"), P("root/top.qcow2"),
		     VS_FMT_QCOW2, 2 << 20, O_RDWR);
	check_member(&c, 1, P("root/mid.qcow2"), P("root/mid.qcow2"),
		     VS_FMT_QCOW2, 1 << 20, O_RDONLY);
	check_member(&c, 2, P("root/base.qcow2"), P("root/base.qcow2"),
		     VS_FMT_QCOW2, 1 << 20, O_RDONLY);
	is_int(count_fds(), before + 3, "keep_fds: three fds open");
	for (size_t i = 0; i < c.n; i++) {
		int fl = fcntl(c.m[i].fd, F_GETFL);
		int fdfl = fcntl(c.m[i].fd, F_GETFD);

		ok(fl >= 0 && (fl & O_ACCMODE) == c.m[i].open_flags &&
		   !(fl & O_NONBLOCK) && (fdfl & FD_CLOEXEC),
		   "member %zu fd: access mode, blocking, close-on-exec", i);
	}
	chain_close_fds(&c);
	ok(c.n == 3 && c.m[0].fd == -1 && c.m[2].fd == -1 &&
	   count_fds() == before, "chain_close_fds closes and keeps the rest");
	chain_free(&c);

	/* Raw base named relatively through "..". */
	setup(sh("mkdir -p root/sub") == 0, "mkdir sub");
	mkimg("-f raw", "root/base.raw 2M");
	mkimg("-f qcow2 -F raw -b ../base.raw", "root/sub/over.qcow2 2M");
	mkimg("-f qcow2 -F qcow2 -b sub/over.qcow2", "root/top-raw.qcow2 2M");
	r = resolve(P("root/top-raw.qcow2"), VS_FMT_QCOW2, NULL, &c);
	is_int(r, 0, "qcow2 -> qcow2 -> raw resolves");
	check_member(&c, 1, P("root/sub/over.qcow2"), P("root/sub/over.qcow2"),
		     VS_FMT_QCOW2, 2 << 20, O_RDONLY);
	check_member(&c, 2, P("root/sub/../base.raw"), P("root/base.raw"),
		     VS_FMT_RAW, 2 << 20, O_RDONLY);
	chain_free(&c);

	/* A name with ':' after a '/' is a file to QEMU too. */
	setup(sh("truncate -s 1M 'root/a:b.raw'") == 0, "a:b.raw");
	mkimg("-f qcow2 -u -F raw -b ./a:b.raw", "root/colon.qcow2 1M");
	r = resolve(P("root/colon.qcow2"), VS_FMT_QCOW2, NULL, &c);
	ok(r == 0 && c.n == 2 && !strcmp(c.m[1].real_path, P("root/a:b.raw")),
	   "'./a:b.raw' is a local file name");
	if (r)
		tap_diag("%s: %s", err.context, err.msg);
	chain_free(&c);

	/* Two roots; a root given through a symlink matches both ways. */
	mkimg("-f qcow2", "root2/base2.qcow2 1M");
	setup(sh("qemu-img create -q -f qcow2 -F qcow2 -b '%s/base2.qcow2' root/cross.qcow2 1M",
		 root2) == 0, "cross.qcow2");
	{
		char *const two[] = { root, root2 };
		char *const link[] = { P("rootlink") };
		struct opts o2 = { .roots = two, .n_roots = 2 };
		struct opts ol = { .roots = link, .n_roots = 1 };

		r = resolve(P("root/cross.qcow2"), VS_FMT_QCOW2, &o2, &c);
		ok(r == 0 && c.n == 2, "member in a second root resolves");
		chain_free(&c);
		refused(P("root/cross.qcow2"), VS_FMT_QCOW2, NULL,
			"cross.qcow2: offset 0x", "lies outside the allowed roots",
			"second root not configured");

		setup(symlink("root", P("rootlink")) == 0, "rootlink");
		r = resolve(P("rootlink/top.qcow2"), VS_FMT_QCOW2, &ol, &c);
		ok(r == 0 && c.n == 3, "root given via symlink, named as given");
		chain_free(&c);
		r = resolve(P("root/top.qcow2"), VS_FMT_QCOW2, &ol, &c);
		ok(r == 0 && c.n == 3,
		   "root given via symlink, named by its real path");
		chain_free(&c);
	}
}

static void test_outside(void)
{
	int w;

	if (!have_qemu_img) {
		tap_skip(NO_QEMU_IMG, "backing files outside the roots");
		return;
	}
	setup(sh("echo secret > outside/forbidden.raw") == 0, "forbidden");
	setup(sh("qemu-img create -q -f qcow2 -u -F raw -b '%s/forbidden.raw' root/evil.qcow2 1M",
		 outside) == 0, "evil.qcow2");
	mkimg("-f qcow2 -u -F raw -b /etc/passwd", "root/etc.qcow2 1M");
	mkimg("-f qcow2 -u -F raw -b ../outside/forbidden.raw",
	      "root/dotdot.qcow2 1M");
	mkimg("-f qcow2 -u -F raw -b sub/../../outside/forbidden.raw",
	      "root/dotdot2.qcow2 1M");
	mkimg("-f qcow2 -u -F raw -b ../../../../../../../../../../../../x",
	      "root/above.qcow2 1M");
	setup(symlink("../outside/forbidden.raw", P("root/out.lnk")) == 0,
	      "out.lnk");
	mkimg("-f qcow2 -u -F raw -b out.lnk", "root/vialink.qcow2 1M");

	w = watch_outside();
	if (w < 0)
		return;
	outside_touched(w);

	refused(P("root/evil.qcow2"), VS_FMT_QCOW2, NULL,
		"root/evil.qcow2: offset 0x", "lies outside the allowed roots (",
		"absolute backing name outside the roots");
	ok(!outside_touched(w), "outside roots: nothing outside was opened");
	refused(P("root/etc.qcow2"), VS_FMT_QCOW2, NULL,
		"root/etc.qcow2: offset 0x",
		"backing file '/etc/passwd' lies outside the allowed roots",
		"/etc/passwd as backing file");
	refused(P("root/dotdot.qcow2"), VS_FMT_QCOW2, NULL,
		"root/dotdot.qcow2: offset 0x", "lies outside the allowed roots",
		"'..' out of the root");
	ok(!outside_touched(w), "'..': nothing outside was opened");
	refused(P("root/dotdot2.qcow2"), VS_FMT_QCOW2, NULL,
		"root/dotdot2.qcow2: offset 0x",
		"lies outside the allowed roots", "'sub/../..' out of the root");
	refused(P("root/above.qcow2"), VS_FMT_QCOW2, NULL,
		"root/above.qcow2: offset 0x", "climbs above /",
		"'..' above /");
	refused(P("root/vialink.qcow2"), VS_FMT_QCOW2, NULL,
		"root/vialink.qcow2: offset 0x", "symlink in path",
		"symlink pointing out of the root");
	ok(!outside_touched(w), "symlink out: nothing outside was opened");
	refused(P("outside/forbidden.raw"), VS_FMT_RAW, NULL,
		"outside/forbidden.raw", "image lies outside the allowed roots",
		"top image outside the roots");
	ok(!outside_touched(w), "top outside: nothing outside was opened");

	/* The watch does see an open: the checks above can fail. */
	close(open(P("outside/forbidden.raw"), O_RDONLY | O_CLOEXEC));
	ok(outside_touched(w), "inotify watch sees an open (control)");
	close(w);
}

static void test_symlinks(void)
{
	if (!have_qemu_img) {
		tap_skip(NO_QEMU_IMG, "symlinks");
		return;
	}
	mkimg("-f qcow2", "root/real.qcow2 1M");
	setup(sh("mkdir -p root/dir") == 0, "dir");
	mkimg("-f qcow2", "root/dir/in.qcow2 1M");
	setup(symlink("real.qcow2", P("root/link.qcow2")) == 0, "link");
	setup(symlink("dir", P("root/dirlink")) == 0, "dirlink");
	mkimg("-f qcow2 -u -F qcow2 -b link.qcow2", "root/tolink.qcow2 1M");
	mkimg("-f qcow2 -u -F qcow2 -b dirlink/in.qcow2",
	      "root/todirlink.qcow2 1M");

	refused(P("root/link.qcow2"), VS_FMT_QCOW2, NULL, "root/link.qcow2",
		"symlink in path", "symlink as top image");
	is_int(err.code, ELOOP, "symlink: ELOOP");
	refused(P("root/dirlink/in.qcow2"), VS_FMT_QCOW2, NULL,
		"root/dirlink/in.qcow2", "symlink in path",
		"symlink in a directory of the top image");
	refused(P("root/tolink.qcow2"), VS_FMT_QCOW2, NULL,
		"root/tolink.qcow2: offset 0x",
		"backing file 'link.qcow2' (", "backing member is a symlink");
	has_str(err.msg, "symlink in path", "backing symlink: message");
	refused(P("root/todirlink.qcow2"), VS_FMT_QCOW2, NULL,
		"root/todirlink.qcow2: offset 0x", "symlink in path",
		"symlink in a directory of a backing member");
}

static void test_loops_depth(void)
{
	struct opts o = { 0 };
	struct chain c = { 0 };
	int r;

	if (!have_qemu_img) {
		tap_skip(NO_QEMU_IMG, "loops and depth");
		return;
	}
	mkimg("-f qcow2", "root/a.qcow2 1M");
	mkimg("-f qcow2 -F qcow2 -b a.qcow2", "root/b.qcow2 1M");
	setup(sh("qemu-img rebase -u -F qcow2 -b b.qcow2 root/a.qcow2") == 0,
	      "rebase a");
	mkimg("-f qcow2", "root/self.qcow2 1M");
	setup(sh("qemu-img rebase -u -F qcow2 -b self.qcow2 root/self.qcow2") ==
		      0, "rebase self");
	mkimg("-f qcow2 -u -F qcow2 -b hard.qcow2", "root/h.qcow2 1M");
	setup(link(P("root/h.qcow2"), P("root/hard.qcow2")) == 0, "hard link");

	refused(P("root/a.qcow2"), VS_FMT_QCOW2, NULL,
		"root/b.qcow2: offset 0x", "already in the chain",
		"loop a -> b -> a");
	has_str(err.msg,
		keep(xasprintf("loop: %s is already in the chain",
			       P("root/a.qcow2"))),
		"loop message names a.qcow2");
	refused(P("root/self.qcow2"), VS_FMT_QCOW2, NULL,
		"root/self.qcow2: offset 0x", "already in the chain",
		"loop a -> a");
	refused(P("root/h.qcow2"), VS_FMT_QCOW2, NULL, "root/h.qcow2: offset 0x",
		"already in the chain as", "loop through a hard link");

	mkimg("-f qcow2", "root/d0.qcow2 1M");
	for (int i = 1; i < 5; i++)
		setup(sh("qemu-img create -q -f qcow2 -F qcow2 -b d%d.qcow2 root/d%d.qcow2 1M",
			 i - 1, i) == 0, "depth chain");
	o.max_depth = 3;
	refused(P("root/d4.qcow2"), VS_FMT_QCOW2, &o,
		"root/d1.qcow2: offset 0x", "chain deeper than max-depth 3",
		"chain of 5 with max-depth 3");
	r = resolve(P("root/d3.qcow2"), VS_FMT_QCOW2, &o, &c);
	ok(r == 0 && c.n == 4, "chain of 4 with max-depth 3 resolves");
	chain_free(&c);
	o.max_depth = 4;
	r = resolve(P("root/d4.qcow2"), VS_FMT_QCOW2, &o, &c);
	ok(r == 0 && c.n == 5 && c.m[4].depth == 4,
	   "chain of 5 with max-depth 4 resolves");
	chain_free(&c);
}

static void test_odd_files(void)
{
	struct opts w = { .writable = true };
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int s;

	setup(mkfifo(P("root/fifo"), 0600) == 0, "mkfifo");
	refused(P("root/fifo"), VS_FMT_RAW, &w, "root/fifo",
		"not a regular file (fifo)", "FIFO as writable top");
	refused(P("root/fifo"), VS_FMT_RAW, NULL, "root/fifo",
		"not a regular file (fifo)", "FIFO as read-only top");
	refused(root, VS_FMT_RAW, NULL, root, "not a regular file (directory)",
		"the root itself as top");
	refused(P("root/missing.qcow2"), VS_FMT_QCOW2, NULL,
		"root/missing.qcow2", "No such file or directory",
		"missing top image");
	refused("relative.qcow2", VS_FMT_QCOW2, NULL, "relative.qcow2",
		"not absolute", "relative top path");
	refused(P("root/fifo"), VS_FMT_NONE, NULL, "root/fifo",
		"no format recorded", "top without a format");
	{
		char *const rel[] = { "relative/root" };
		struct opts o = { .roots = rel, .n_roots = 1 };

		refused(P("root/fifo"), VS_FMT_RAW, &o, "relative/root",
			"not an absolute path", "relative root");
	}

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", P("root/sock"));
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	setup(s >= 0 && bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0,
	      "socket");
	refused(P("root/sock"), VS_FMT_RAW, NULL, "root/sock",
		"not a regular file (socket)", "socket as top");
	if (s >= 0)
		close(s);
	if (mknod(P("root/null"), S_IFCHR | 0600, makedev(1, 3)) == 0)
		refused(P("root/null"), VS_FMT_RAW, NULL, "root/null",
			"not a regular file (char device)", "char device as top");
	else
		tap_skip("mknod not permitted here", "char device as top");

	if (!have_qemu_img) {
		tap_skip(NO_QEMU_IMG, "odd backing files");
		return;
	}
	mkimg("-f qcow2 -u -F raw -b fifo", "root/tofifo.qcow2 1M");
	mkimg("-f qcow2 -u -F raw -b sub2", "root/todir.qcow2 1M");
	setup(sh("mkdir -p root/sub2") == 0, "sub2");
	refused(P("root/tofifo.qcow2"), VS_FMT_QCOW2, NULL,
		"root/tofifo.qcow2: offset 0x", "not a regular file (fifo)",
		"FIFO as backing member");
	refused(P("root/todir.qcow2"), VS_FMT_QCOW2, NULL,
		"root/todir.qcow2: offset 0x", "not a regular file (directory)",
		"directory as backing member");
}

static void test_names_formats(void)
{
	static const char *const protos[] = {
		"json:{\"driver\":\"file\",\"filename\":\"/etc/passwd\"}",
		"nbd:localhost:10809",
		"nbd+unix:///export?socket=/tmp/s",
		"http://example.com/base.qcow2",
		"file:base.qcow2",
		"a:b.qcow2",
	};
	struct chain c = { 0 };
	char *img = P("root/names.qcow2");
	off_t ext;
	int r;

	if (!have_qemu_img) {
		tap_skip(NO_QEMU_IMG, "backing names and formats");
		return;
	}
	mkimg("-f qcow2", "root/nbase.qcow2 1M");
	for (size_t i = 0; i < sizeof(protos) / sizeof(protos[0]); i++) {
		mkimg("-f qcow2 -F qcow2 -b nbase.qcow2",
		      "root/names.qcow2 1M");
		setup(set_backing_name(img, protos[i]), "patch name");
		refused(img, VS_FMT_QCOW2, NULL, "root/names.qcow2: offset 0x",
			"uses a protocol or json: prefix", protos[i]);
	}
	mkimg("-f qcow2 -F qcow2 -b nbase.qcow2", "root/names.qcow2 1M");
	setup(set_backing_name(img, "nb\x1b[2Jase"), "patch name");
	refused(img, VS_FMT_QCOW2, NULL, "root/names.qcow2: offset 0x",
		"'nb\\x1b[2Jase'", "escape bytes in a name are shown escaped");

	/* The format extension turned into an unknown one: no format. */
	mkimg("-f qcow2 -F qcow2 -b nbase.qcow2", "root/nofmt.qcow2 1M");
	ext = find_fmt_ext(P("root/nofmt.qcow2"));
	setup(ext > 0 && patch(P("root/nofmt.qcow2"), ext, "\x12\x34\x56\x78",
			       4), "drop the format extension");
	refused(P("root/nofmt.qcow2"), VS_FMT_QCOW2, NULL,
		"root/nofmt.qcow2: offset 0x",
		"backing file 'nbase.qcow2' has no recorded format (qcow2 backing-format extension missing); vmseal never probes formats",
		"missing backing-format extension");

	mkimg("-f qcow2 -F qcow2 -b nbase.qcow2", "root/badfmt.qcow2 1M");
	ext = find_fmt_ext(P("root/badfmt.qcow2"));
	setup(ext > 0 && patch(P("root/badfmt.qcow2"), ext + 8, "vpc\0\0", 5),
	      "rename the format");
	setup(ext > 0 && patch(P("root/badfmt.qcow2"), ext + 4,
			       "\0\0\0\x03", 4), "format length");
	refused(P("root/badfmt.qcow2"), VS_FMT_QCOW2, NULL,
		"root/badfmt.qcow2: offset 0x",
		"has format 'vpc', which vmseal does not decode",
		"backing format vmseal does not decode");

	/* A raw disk whose guest wrote a qcow2 header naming /etc/passwd. */
	mkimg("-f qcow2 -u -F raw -b /etc/passwd", "root/guest.raw 1M");
	{
		struct stat st;

		r = resolve(P("root/guest.raw"), VS_FMT_RAW, NULL, &c);
		ok(r == 0 && c.n == 1, "raw top with a qcow2 header: one member");
		ok(c.n == 1 && c.m[0].info.format == VS_FMT_RAW &&
		   !c.m[0].info.has_backing, "raw top stays raw, no backing");
		ok(c.n == 1 && stat(P("root/guest.raw"), &st) == 0 &&
		   c.m[0].info.virtual_size == (uint64_t)st.st_size,
		   "raw virtual size is the file size");
		chain_free(&c);
	}
	refused(P("root/guest.raw"), VS_FMT_QCOW2, NULL, "root/guest.raw",
		"lies outside the allowed roots",
		"the same file as qcow2 is refused");

	/* Header damage in a member is reported against that member. */
	mkimg("-f qcow2", "root/enc.qcow2 1M");
	setup(patch(P("root/enc.qcow2"), 32, "\0\0\0\x01", 4), "crypt");
	mkimg("-f qcow2 -u -F qcow2 -b enc.qcow2", "root/toenc.qcow2 1M");
	refused(P("root/toenc.qcow2"), VS_FMT_QCOW2, NULL,
		"root/enc.qcow2: offset 0x20",
		"encrypted images are not supported", "encrypted member");
	setup(sh("head -c 50 root/nbase.qcow2 > root/short.qcow2") == 0,
	      "short");
	refused(P("root/short.qcow2"), VS_FMT_QCOW2, NULL, "root/short.qcow2",
		"truncated", "truncated top image");
}

/* QED, VMDK, data files, block devices and backing-format, from real files. */
static void test_formats(void)
{
	struct chain c = { 0 };
	int r, w;

	if (!have_qemu_img) {
		tap_skip(NO_QEMU_IMG, "QED, VMDK and data files");
		return;
	}
	setup(sh("mkdir -p root/f") == 0, "mkdir f");
	mkimg("-f raw", "root/f/base.raw 1M");
	mkimg("-f qed -F raw -b base.raw", "root/f/raw.qed 1M");
	r = resolve(P("root/f/raw.qed"), VS_FMT_QED, NULL, &c);
	ok(r == 0 && c.n == 2 && c.m[0].info.format == VS_FMT_QED &&
	   c.m[1].info.format == VS_FMT_RAW, "QED over raw (no-probe flag) resolves");
	chain_free(&c);

	mkimg("-f qcow2", "root/f/b.qcow2 1M");
	mkimg("-f qed -F qcow2 -b b.qcow2", "root/f/probe.qed 1M");
	refused(P("root/f/probe.qed"), VS_FMT_QED, NULL,
		"root/f/probe.qed: offset 0x40",
		"backing file 'b.qcow2' has no recorded format (QED records only raw",
		"QED without the no-probe flag");
	r = chain_resolve(P("root/f/probe.qed"), VS_FMT_QED,
			  &(struct chain_opts){ .roots = (char *const[]){ root },
						.n_roots = 1, .max_depth = 8,
						.backing_format = VS_FMT_QCOW2 },
			  &c, &err);
	ok(r == 0 && c.n == 2 && c.m[1].info.format == VS_FMT_QCOW2 &&
	   c.m[1].format_from_config && !c.m[0].format_from_config,
	   "backing-format = qcow2 (the user's statement) resolves it");
	chain_free(&c);

	/* VMDK: a delta link over a monolithicSparse parent. */
	mkimg("-f vmdk", "root/f/base.vmdk 1M");
	mkimg("-f vmdk -F vmdk -b base.vmdk", "root/f/delta.vmdk 1M");
	r = resolve(P("root/f/delta.vmdk"), VS_FMT_VMDK, NULL, &c);
	ok(r == 0 && c.n == 2 && c.m[1].info.format == VS_FMT_VMDK &&
	   !strcmp(c.m[1].path, P("root/f/base.vmdk")),
	   "VMDK delta -> parent (parentFileNameHint) resolves");
	if (r)
		tap_diag("%s: %s", err.context, err.msg);
	chain_free(&c);

	/* VMDK version 3 (uncompressed): QEMU opens it read-only only. */
	mkimg("-f vmdk", "root/f/v3.vmdk 1M");
	setup(sh("printf '\\003' | dd of=root/f/v3.vmdk bs=1 seek=4 conv=notrunc status=none") == 0,
	      "v3.vmdk");
	refused(P("root/f/v3.vmdk"), VS_FMT_VMDK, &(struct opts){ .writable = true },
		"root/f/v3.vmdk: offset 0x4",
		"VMDK version 3 images can only be opened read-only",
		"VMDK version 3 as a writable top");
	r = resolve(P("root/f/v3.vmdk"), VS_FMT_VMDK, NULL, &c);
	ok(r == 0 && c.n == 1, "VMDK version 3 read-only resolves");
	chain_free(&c);

	/* A descriptor with a FLAT extent: reached under the same rules. */
	mkimg("-f vmdk -o subformat=monolithicFlat", "root/f/flat.vmdk 1M");
	r = resolve(P("root/f/flat.vmdk"), VS_FMT_VMDK, NULL, &c);
	ok(r == 0 && c.n == 1 && c.m[0].n_extents == 1 &&
	   !strcmp(c.m[0].extents[0].real_path, P("root/f/flat-flat.vmdk")) &&
	   c.m[0].info.virtual_size == 1 << 20,
	   "monolithicFlat: its extent is resolved beneath the root");
	chain_free(&c);
	setup(sh("echo secret > outside/x.raw && sed -i 's#\"flat-flat.vmdk\"#\"%s/x.raw\"#' root/f/flat.vmdk",
		 outside) == 0, "extent out");
	w = watch_outside();
	if (w >= 0) {
		outside_touched(w);
		refused(P("root/f/flat.vmdk"), VS_FMT_VMDK, NULL,
			"root/f/flat.vmdk: offset 0x",
			"extent file '", "VMDK extent outside the roots");
		has_str(err.msg, "lies outside the allowed roots",
			"extent outside: message");
		ok(!outside_touched(w), "extent outside: nothing outside was opened");
		close(w);
	}

	/* qcow2 external data file. */
	/* qemu-img creates the data file relative to its cwd. */
	setup(sh("cd root/f && qemu-img create -q -f qcow2 -o data_file=data.raw df.qcow2 1M") == 0,
	      "df.qcow2");
	refused(P("root/f/df.qcow2"), VS_FMT_QCOW2, NULL,
		"root/f/df.qcow2: offset 0x",
		"image has an external data file 'data.raw' (qcow2 incompatible feature bit 2); refused unless the disk sets data-file = allow",
		"data file without data-file = allow");
	r = chain_resolve(P("root/f/df.qcow2"), VS_FMT_QCOW2,
			  &(struct chain_opts){ .roots = (char *const[]){ root },
						.n_roots = 1, .max_depth = 8,
						.top_writable = true, .keep_fds = true,
						.allow_data_file = true },
			  &c, &err);
	ok(r == 0 && c.n == 1 && c.m[0].data_file &&
	   !strcmp(c.m[0].data_file->real_path, P("root/f/data.raw")) &&
	   c.m[0].data_file->fd >= 0 &&
	   (fcntl(c.m[0].data_file->fd, F_GETFL) & O_ACCMODE) == O_RDWR,
	   "data-file = allow: data file resolved, opened read-write with the top");
	chain_free(&c);

	/* Data file pointing at /etc/shadow, and at the image itself. */
	setup(sh("cd root/f && qemu-img create -q -f qcow2 -o data_file=data.raw shadow.qcow2 1M") == 0,
	      "shadow.qcow2");
	{
		int fd = open(P("root/f/shadow.qcow2"), O_RDWR | O_CLOEXEC);
		uint8_t b[512];
		bool done = false;

		if (fd >= 0 && pread(fd, b, sizeof(b), 0) == sizeof(b)) {
			for (size_t o = 112; o + 16 < sizeof(b); o += 8) {
				if (!memcmp(b + o, "DATA", 4)) {
					/* same length as "data.raw": /x/shado */
					done = pwrite(fd, "/etc/sha", 8, (off_t)o + 8) == 8;
					break;
				}
			}
		}
		if (fd >= 0)
			close(fd);
		setup(done, "patch the data file name");
	}
	r = chain_resolve(P("root/f/shadow.qcow2"), VS_FMT_QCOW2,
			  &(struct chain_opts){ .roots = (char *const[]){ root },
						.n_roots = 1, .max_depth = 8,
						.allow_data_file = true },
			  &c, &err);
	ok(r == -EACCES && strstr(err.msg, "data file '/etc/sha' lies outside the allowed roots"),
	   "data file outside the roots refused (%s)", err.msg);
	chain_free(&c);
	setup(sh("cd root/f && qemu-img create -q -f qcow2 -o data_file=dddd.qcow2 self.qcow2 1M && "
		 "rm dddd.qcow2 && sed -i s/dddd.qcow2/self.qcow2/ self.qcow2") == 0,
	      "self.qcow2");
	r = chain_resolve(P("root/f/self.qcow2"), VS_FMT_QCOW2,
			  &(struct chain_opts){ .roots = (char *const[]){ root },
						.n_roots = 1, .max_depth = 8,
						.allow_data_file = true },
			  &c, &err);
	ok(r == -ELOOP && strstr(err.msg, "already in the chain"),
	   "data file that is the image itself refused");
	chain_free(&c);

	/* A block device: refused unless allowed. */
	if (mknod(P("root/f/blk"), S_IFBLK | 0600, makedev(7, 0)) == 0) {
		refused(P("root/f/blk"), VS_FMT_RAW, NULL, "root/f/blk",
			"not a regular file (block device); refused unless the disk sets block-device = allow",
			"block device as top without block-device = allow");
		mkimg("-f qcow2 -u -F raw -b blk", "root/f/toblk.qcow2 1M");
		refused(P("root/f/toblk.qcow2"), VS_FMT_QCOW2, NULL,
			"root/f/toblk.qcow2: offset 0x", "(block device); refused",
			"block device as backing member");
	} else {
		tap_skip("mknod of a block device not permitted here",
			 "block device refused");
		tap_skip("mknod of a block device not permitted here",
			 "block device backing refused");
	}

	/* qcow2 without a backing format: backing-format states it. */
	mkimg("-f qcow2 -F raw -b base.raw", "root/f/nofmt.qcow2 1M");
	{
		off_t ext = find_fmt_ext(P("root/f/nofmt.qcow2"));

		setup(ext > 0 && patch(P("root/f/nofmt.qcow2"), ext,
				       "\x12\x34\x56\x78", 4), "drop format");
	}
	r = chain_resolve(P("root/f/nofmt.qcow2"), VS_FMT_QCOW2,
			  &(struct chain_opts){ .roots = (char *const[]){ root },
						.n_roots = 1, .max_depth = 8,
						.backing_format = VS_FMT_RAW,
						.hash_headers = true },
			  &c, &err);
	ok(r == 0 && c.n == 2 && c.m[1].info.format == VS_FMT_RAW &&
	   c.m[1].format_from_config, "qcow2 without the extension + backing-format = raw");
	{
		uint8_t d[SHA256_LEN] = { 0 };

		ok(r == 0 && c.m[0].header_len > 0 &&
		   memcmp(c.m[0].header_sha256, d, sizeof(d)) != 0,
		   "header digest recorded");
		ok(r == 0 && c.m[0].header_hashed, "header_hashed when asked");
	}
	chain_free(&c);
	r = chain_resolve(P("root/f/nofmt.qcow2"), VS_FMT_QCOW2,
			  &(struct chain_opts){ .roots = (char *const[]){ root },
						.n_roots = 1, .max_depth = 8,
						.backing_format = VS_FMT_RAW },
			  &c, &err);
	ok(r == 0 && !c.m[0].header_hashed && c.m[0].header_len > 0,
	   "no hashing unless asked (a record is all that reads it)");
	chain_free(&c);
	r = chain_resolve(P("root/f/nofmt.qcow2"), VS_FMT_QCOW2,
			  &(struct chain_opts){ .roots = (char *const[]){ root },
						.n_roots = 1, .max_depth = 8 },
			  &c, &err);
	ok(r == -EINVAL && strstr(err.msg, "set backing-format = F for this disk"),
	   "no recorded format: the hint names the config key: %s", err.msg);
	r = chain_resolve(P("root/f/nofmt.qcow2"), VS_FMT_QCOW2,
			  &(struct chain_opts){ .roots = (char *const[]){ root },
						.n_roots = 1, .max_depth = 8,
						.cli = true },
			  &c, &err);
	ok(r == -EINVAL && strstr(err.msg, "pass --backing-format F"),
	   "... and vmseal chain's option for the CLI: %s", err.msg);
}

/*
 * The first read of a member is sized from the member above; a header
 * that needs more than that guess (a far longer backing name, then a
 * short one again) is read in two parts and decoded the same.
 */
static void test_first_read(void)
{
	struct chain c = { 0 };
	char longname[250], cmd[512];
	int r;

	if (!have_qemu_img) {
		tap_skip(NO_QEMU_IMG, "first read sized from the member above");
		return;
	}
	/* 246 bytes: a whole file name (NAME_MAX 255). */
	memset(longname, 'l', 240);
	memcpy(longname + 240, ".qcow2", 7);
	mkimg("-f qcow2", "root/fr0.qcow2 1M");
	snprintf(cmd, sizeof(cmd), "-f qcow2 -F qcow2 -b fr0.qcow2 root/%s",
		 longname);
	mkimg(cmd, "1M");
	snprintf(cmd, sizeof(cmd), "-f qcow2 -F qcow2 -b %s", longname);
	mkimg(cmd, "root/fr2.qcow2 1M");
	mkimg("-f qcow2 -F qcow2 -b fr2.qcow2", "root/fr3.qcow2 1M");
	r = resolve(P("root/fr3.qcow2"), VS_FMT_QCOW2, NULL, &c);
	is_int(r, 0, "short name, long name, short name: resolves");
	ok(c.n == 4 && strcmp(c.m[1].info.backing_name, longname) == 0 &&
	   strcmp(c.m[2].info.backing_name, "fr0.qcow2") == 0 &&
	   !c.m[3].info.has_backing,
	   "every name read whole, whatever the first read was");
	ok(c.n == 4 && c.m[1].header_len > 640 &&
	   c.m[1].header_len == c.m[1].info.header_used &&
	   c.m[0].header_len == c.m[0].info.header_used,
	   "header bytes as the decoder used them (%zu, %zu)",
	   c.n == 4 ? c.m[0].header_len : 0, c.n == 4 ? c.m[1].header_len : 0);
	chain_free(&c);
}

int main(void)
{
	if (!mkdtemp(tmp)) {
		ok(false, "mkdtemp: %s", strerror(errno));
		return tap_done();
	}
	have_tmp = true;
	atexit(cleanup);
	signal(SIGALRM, on_alarm);
	alarm(300);
	root = P("root");
	root2 = P("root2");
	outside = P("outside");
	setup(mkdir(root, 0700) == 0 && mkdir(root2, 0700) == 0 &&
	      mkdir(outside, 0700) == 0, "mkdir");
	have_qemu_img = sh("qemu-img --version") == 0;
	if (!have_qemu_img)
		tap_diag("qemu-img not found: image cases are skipped");

	test_good_chains();
	test_outside();
	test_symlinks();
	test_loops_depth();
	test_odd_files();
	test_names_formats();
	test_formats();
	test_first_read();

	cleanup();
	ok(access(tmp, F_OK) < 0 && errno == ENOENT, "temp dir removed");
	pool_free();
	return tap_done();
}
