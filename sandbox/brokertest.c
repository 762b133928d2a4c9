/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "common/path.h"
#include "common/xalloc.h"
#include "sandbox/brokertest.h"
#include "sandbox/session.h"

#define ALLOWED_TEXT "vmseal-allowed\n"
#define SECRET_TEXT "vmseal-secret\n"
#define RACE_OPENS 100000
#define SWAP_OPENS 20000
#define STORM_OPENS 20000

static void put(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	if (fd >= 0) {
		(void)!write_full(fd, text, strlen(text));
		close(fd);
	}
}

static int bind_socket(const char *path)
{
	struct sockaddr_un sa;
	int fd, rc;

	if (fd_unix_addr(&sa, path) < 0)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	close(fd);
	return rc;
}

int bt_fixture_make(struct bt_fixture *f, struct vs_err *err)
{
	const char *tmp = getenv("TMPDIR");
	_cleanup_free_ char *p = NULL;
	struct stat st;

	memset(f, 0, sizeof(*f));
	f->image_fd = -1;
	f->dir = xasprintf("%s/vmseal-selftest.XXXXXX",
			   tmp && tmp[0] == '/' ? tmp : "/tmp");
	if (!mkdtemp(f->dir)) {
		vs_errnof(err, errno, "mkdtemp %s", f->dir);
		free(f->dir);
		f->dir = NULL;
		return -err->code;
	}
	f->allowed = xasprintf("%s/allowed", f->dir);
	f->data = xasprintf("%s/data", f->allowed);
	f->image = xasprintf("%s/image.qcow2", f->allowed);
	f->secret = xasprintf("%s/secret", f->dir);
	f->run = xasprintf("%s/run", f->dir);
	if (mkdir(f->allowed, 0755) < 0 || mkdir(f->run, 0755) < 0) {
		vs_errnof(err, errno, "mkdir in %s", f->dir);
		bt_fixture_remove(f);
		return -err->code;
	}
	put(f->data, ALLOWED_TEXT, 0644);
	put(f->image, "QFI\xfb vmseal fake image\n", 0644);
	put(f->secret, SECRET_TEXT, 0644);
	p = xasprintf("%s/fifo", f->allowed);
	mkfifo(p, 0644);
	free(p);
	p = xasprintf("%s/link-out", f->allowed);
	(void)!symlink("../secret", p);
	free(p);
	p = xasprintf("%s/stale.sock", f->run);
	bind_socket(p);
	free(p);
	p = xasprintf("%s/notes", f->run);
	put(p, "notes\n", 0644);
	free(p);
	/* unlink may remove sockets directly in the runtime dir only. */
	p = xasprintf("%s/" BT_KEEP, f->run);
	bind_socket(p);
	free(p);
	p = xasprintf("%s/sub", f->run);
	mkdir(p, 0755);
	free(p);
	p = xasprintf("%s/sub/nested.sock", f->run);
	bind_socket(p);
	f->image_fd = open(f->image, O_RDONLY | O_CLOEXEC);
	if (f->image_fd < 0 || fstat(f->image_fd, &st) < 0) {
		vs_errnof(err, errno, "opening %s", f->image);
		bt_fixture_remove(f);
		return -err->code;
	}
	f->deny.dev = st.st_dev;
	f->deny.ino = st.st_ino;
	allowlist_add(&f->al, ALLOW_DIR, f->allowed, "selftest");
	return 0;
}

void bt_fixture_remove(struct bt_fixture *f)
{
	if (f->image_fd >= 0)
		close(f->image_fd);
	/* Whatever a scenario left in it (sockets, a guest's registry). */
	if (f->dir)
		path_remove_tree(f->dir);
	allowlist_free(&f->al);
	free(f->dir);
	free(f->allowed);
	free(f->data);
	free(f->image);
	free(f->secret);
	free(f->run);
	memset(f, 0, sizeof(*f));
	f->image_fd = -1;
}

static void say(int out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(int out, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > 0)
		(void)!write_full(out, buf, (size_t)n < sizeof(buf) ? (size_t)n :
								       sizeof(buf) - 1);
}

/* Opens path with flags and says "ok FIRSTLINE" or the errno's name. */
static void try_open(int out, const char *path, int flags)
{
	char data[64] = "";
	int fd = open(path, flags | O_CLOEXEC, 0600);
	ssize_t n;

	if (fd < 0) {
		say(out, "%s\n", strerrorname_np(errno));
		return;
	}
	n = read(fd, data, sizeof(data) - 1);
	data[n > 0 ? n : 0] = '\0';
	data[strcspn(data, "\n")] = '\0';
	close(fd);
	say(out, "ok %s\n", data);
}

static void c_allowed(struct bt_fixture *f, int out) { try_open(out, f->data, O_RDONLY); }
static void c_image(struct bt_fixture *f, int out) { try_open(out, f->image, O_RDONLY); }

static void c_proc_fd(struct bt_fixture *f, int out)
{
	char p[64];

	snprintf(p, sizeof(p), "/proc/self/fd/%d", f->image_fd);
	try_open(out, p, O_RDONLY);
}

static void c_dev_fd(struct bt_fixture *f, int out)
{
	char p[64];

	snprintf(p, sizeof(p), "/dev/fd/%d", f->image_fd);
	try_open(out, p, O_RDONLY);
}

static void c_proc_root(struct bt_fixture *f, int out)
{
	_cleanup_free_ char *p = xasprintf("/proc/1/root%s", f->secret);

	try_open(out, p, O_RDONLY);
}

static void c_proc_cwd(struct bt_fixture *f, int out)
{
	try_open(out, "/proc/self/cwd/etc/passwd", O_RDONLY);
}

static void c_dotdot(struct bt_fixture *f, int out)
{
	_cleanup_free_ char *p = xasprintf("%s/../secret", f->allowed);

	try_open(out, p, O_RDONLY);
}

static void c_rdwr(struct bt_fixture *f, int out) { try_open(out, f->data, O_RDWR); }

static void c_creat(struct bt_fixture *f, int out)
{
	_cleanup_free_ char *p = xasprintf("%s/created", f->allowed);

	try_open(out, p, O_RDONLY | O_CREAT);
}

static void c_link_out(struct bt_fixture *f, int out)
{
	_cleanup_free_ char *p = xasprintf("%s/link-out", f->allowed);

	try_open(out, p, O_RDONLY);
}

static void c_fifo(struct bt_fixture *f, int out)
{
	_cleanup_free_ char *p = xasprintf("%s/fifo", f->allowed);

	try_open(out, p, O_RDONLY);
}

static void c_linkat(struct bt_fixture *f, int out)
{
	_cleanup_free_ char *p = xasprintf("%s/linked", f->allowed);

	if (linkat(f->image_fd, "", AT_FDCWD, p, AT_EMPTY_PATH) < 0)
		say(out, "%s\n", strerrorname_np(errno));
	else
		say(out, "linked\n");
}

static void c_handle(struct bt_fixture *f, int out)
{
	char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ] = { 0 };
	struct file_handle *fh = (struct file_handle *)buf;
	int fd;

	/* A well-formed handle is not needed: the call itself must kill. */
	fh->handle_bytes = 8;
	fd = (int)syscall(SYS_open_by_handle_at, f->image_fd, fh, O_RDONLY);
	say(out, "%s\n", fd >= 0 ? "opened" : strerrorname_np(errno));
}

static void unlink_say(int out, const char *path)
{
	if (unlink(path) < 0)
		say(out, "%s\n", strerrorname_np(errno));
	else
		say(out, "ok removed\n");
}

static void c_unlink_sock(struct bt_fixture *f, int out)
{
	_cleanup_free_ char *p = xasprintf("%s/stale.sock", f->run);

	unlink_say(out, p);
}

static void c_unlink_file(struct bt_fixture *f, int out)
{
	_cleanup_free_ char *p = xasprintf("%s/notes", f->run);

	unlink_say(out, p);
}

static void c_unlink_outside(struct bt_fixture *f, int out) { unlink_say(out, f->secret); }

static void c_unlink_keep(struct bt_fixture *f, int out)
{
	_cleanup_free_ char *p = xasprintf("%s/" BT_KEEP, f->run);

	unlink_say(out, p);
}

static void c_unlink_nested(struct bt_fixture *f, int out)
{
	_cleanup_free_ char *p = xasprintf("%s/sub/nested.sock", f->run);

	unlink_say(out, p);
}

/* IORING_OP_OPENAT, the open seccomp never sees, done by hand. */
int bt_io_uring_openat(const char *path)
{
	struct io_uring_params p = { 0 };
	struct io_uring_sqe *sqe;
	struct io_uring_cqe *cqe;
	unsigned *sq_tail, *sq_array, *cq_head, sq_mask;
	size_t sq_len, cq_len, sqe_len;
	char *sq, *cq;
	int ring, res;

	ring = (int)syscall(SYS_io_uring_setup, 1, &p);
	if (ring < 0)
		return -errno;
	sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	sqe_len = p.sq_entries * sizeof(struct io_uring_sqe);
	sq = mmap(NULL, sq_len, PROT_READ | PROT_WRITE, MAP_SHARED, ring,
		  IORING_OFF_SQ_RING);
	cq = mmap(NULL, cq_len, PROT_READ | PROT_WRITE, MAP_SHARED, ring,
		  IORING_OFF_CQ_RING);
	sqe = mmap(NULL, sqe_len, PROT_READ | PROT_WRITE, MAP_SHARED, ring,
		   IORING_OFF_SQES);
	if (sq == MAP_FAILED || cq == MAP_FAILED || sqe == MAP_FAILED) {
		close(ring);
		return -ENOMEM;
	}
	sq_tail = (unsigned *)(sq + p.sq_off.tail);
	sq_mask = *(unsigned *)(sq + p.sq_off.ring_mask);
	sq_array = (unsigned *)(sq + p.sq_off.array);
	cq_head = (unsigned *)(cq + p.cq_off.head);
	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = IORING_OP_OPENAT;
	sqe->fd = AT_FDCWD;
	sqe->addr = (unsigned long)path;
	sqe->open_flags = O_RDONLY | O_CLOEXEC;
	sq_array[*sq_tail & sq_mask] = 0;
	atomic_store_explicit((_Atomic unsigned *)sq_tail, *sq_tail + 1,
			      memory_order_release);
	if (syscall(SYS_io_uring_enter, ring, 1, 1, IORING_ENTER_GETEVENTS,
		    NULL, 0) < 0) {
		res = -errno;
	} else {
		cqe = (struct io_uring_cqe *)(cq + p.cq_off.cqes) +
		      (*cq_head & *(unsigned *)(cq + p.cq_off.ring_mask));
		res = cqe->res;
	}
	munmap(sq, sq_len);
	munmap(cq, cq_len);
	munmap(sqe, sqe_len);
	close(ring);
	return res;
}

static void c_io_uring(struct bt_fixture *f, int out)
{
	int fd = bt_io_uring_openat(f->secret);

	if (fd >= 0) {
		close(fd);
		say(out, "opened\n");
	} else {
		say(out, "%s\n", strerrorname_np(-fd));
	}
}

/* --- races --- */

struct flip {
	char *buf;
	const char *a, *b;
	size_t len;
	atomic_bool stop;
};

static void *flipper(void *p)
{
	struct flip *fl = p;

	while (!atomic_load(&fl->stop)) {
		memcpy(fl->buf, fl->a, strlen(fl->a) + 1);
		memcpy(fl->buf, fl->b, strlen(fl->b) + 1);
	}
	return NULL;
}

/* A thread flips the path between allowed and image while we open it. */
static void c_race_flip(struct bt_fixture *f, int out)
{
	char buf[PATH_MAX];
	struct flip fl = { .buf = buf, .a = f->data, .b = f->image };
	unsigned long served = 0, refused = 0, image = 0;
	pthread_t t;

	strcpy(buf, f->data);
	if (pthread_create(&t, NULL, flipper, &fl) != 0) {
		say(out, "no thread\n");
		return;
	}
	for (int i = 0; i < RACE_OPENS; i++) {
		struct stat st;
		int fd = open(buf, O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			refused++;
			continue;
		}
		served++;
		if (fstat(fd, &st) == 0 && st.st_dev == f->deny.dev &&
		    st.st_ino == f->deny.ino)
			image++;
		close(fd);
	}
	atomic_store(&fl.stop, true);
	pthread_join(t, NULL);
	say(out, "image-fds %lu (served %lu, refused %lu of %d)\n", image,
	    served, refused, RACE_OPENS);
}

/* In the serving process: swap allowed/swap between data and ../secret. */
static void h_swap(void *arg, pid_t child, atomic_bool *stop)
{
	struct bt_fixture *f = arg;
	_cleanup_free_ char *link = xasprintf("%s/swap", f->allowed);
	_cleanup_free_ char *tmp = xasprintf("%s/swap.tmp", f->allowed);

	while (!atomic_load(stop)) {
		unlink(tmp);
		(void)!symlink("../secret", tmp);
		rename(tmp, link);
		unlink(tmp);
		(void)!symlink("data", tmp);
		rename(tmp, link);
	}
}

static void c_race_swap(struct bt_fixture *f, int out)
{
	_cleanup_free_ char *link = xasprintf("%s/swap", f->allowed);
	unsigned long secret = 0, served = 0;

	for (int i = 0; i < SWAP_OPENS; i++) {
		char data[32] = "";
		int fd = open(link, O_RDONLY | O_CLOEXEC);

		if (fd < 0)
			continue;
		served++;
		if (read(fd, data, sizeof(data) - 1) > 0 &&
		    !strncmp(data, SECRET_TEXT, strlen(SECRET_TEXT)))
			secret++;
		close(fd);
	}
	say(out, "secret-reads %lu (served %lu of %d)\n", secret, served,
	    SWAP_OPENS);
}

static void h_storm(void *arg, pid_t child, atomic_bool *stop)
{
	struct timespec pause = { 0, 20000 };

	while (!atomic_load(stop)) {
		kill(child, SIGUSR1);
		nanosleep(&pause, NULL);
	}
}

static void on_usr1(int sig) { (void)sig; }

/* Lowest free descriptor, without opening anything. */
static int lowest_free(void)
{
	for (int fd = 0;; fd++) {
		if (fcntl(fd, F_GETFD) < 0)
			return fd;
	}
}

static void c_race_storm(struct bt_fixture *f, int out)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	unsigned long ok = 0, intr = 0, other = 0, lost = 0;
	int low;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL); /* no SA_RESTART: EINTR shows */
	low = lowest_free();
	for (int i = 0; i < STORM_OPENS; i++) {
		int fd = open(f->data, O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			/* The fd we got must be the one the table had free. */
			if (fd != low)
				lost++;
			ok++;
			close(fd);
		} else if (errno == EINTR) {
			intr++;
		} else {
			other++;
		}
	}
	signal(SIGUSR1, SIG_IGN);
	say(out, "leaked-fds %d wrong-fds %lu other-errors %lu (ok %lu, EINTR %lu of %d)\n",
	    lowest_free() - low, lost, other, ok, intr, STORM_OPENS);
}

static void c_race_kill(struct bt_fixture *f, int out)
{
	struct timespec pause = { 0, 1000000 };
	unsigned long before = 0, after_ok = 0, enosys = 0;
	int i;

	for (i = 0; i < 100; i++) {
		int fd = open(f->data, O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			before++;
			close(fd);
		}
	}
	say(out, SESSION_KILL_BROKER);
	/* Wait for the broker's death to show, at most 5 s. */
	for (i = 0; i < 5000; i++) {
		int fd = open(f->data, O_RDONLY | O_CLOEXEC);

		if (fd < 0 && errno == ENOSYS)
			break;
		if (fd >= 0)
			close(fd);
		nanosleep(&pause, NULL);
	}
	for (i = 0; i < 1000; i++) {
		int fd = open(f->data, O_RDONLY | O_CLOEXEC);

		if (fd >= 0) {
			after_ok++;
			close(fd);
		} else if (errno == ENOSYS) {
			enosys++;
		}
	}
	say(out, "served-after-death %lu (served before %lu, ENOSYS after %lu of 1000)\n",
	    after_ok, before, enosys);
}

#define T(name, fn, expect) { name, fn, expect, NULL, false, false }

const struct bt_scenario bt_scenarios[] = {
	T("allowed file is served", c_allowed, "ok vmseal-allowed"),
	T("image in an allowed dir, by path", c_image, "EACCES"),
	T("passed image via /proc/self/fd/N", c_proc_fd, "EACCES"),
	T("passed image via /dev/fd/N", c_dev_fd, "EACCES"),
	T("/proc/1/root/...", c_proc_root, "EACCES"),
	T("/proc/self/cwd/...", c_proc_cwd, "EACCES"),
	T(".. out of an allowed dir", c_dotdot, "EACCES"),
	T("allowed file read-write", c_rdwr, "EACCES"),
	T("O_CREAT in an allowed dir", c_creat, "EACCES"),
	T("symlink out of the allowlist", c_link_out, "EACCES"),
	T("FIFO in an allowed dir (no hang)", c_fifo, "EACCES"),
	T("linkat of the passed image", c_linkat, "EPERM"),
	T("open_by_handle_at on the image", c_handle, "killed"),
	T("io_uring IORING_OP_OPENAT of a secret", c_io_uring, "ENOSYS"),
	T("unlink a stale socket in the runtime dir", c_unlink_sock, "ok removed"),
	T("unlink a file in the runtime dir", c_unlink_file, "EPERM"),
	T("unlink outside the runtime dir", c_unlink_outside, "EPERM"),
	T("unlink vmseal's control socket in the runtime dir", c_unlink_keep,
	  "EPERM"),
	T("unlink a socket in a subdirectory of the runtime dir",
	  c_unlink_nested, "EPERM"),
	{ "race: path flipped allowed/image, 100000 opens", c_race_flip,
	  "image-fds 0 ", NULL, false, true },
	{ "race: symlink swapped data/../secret, 20000 opens", c_race_swap,
	  "secret-reads 0 ", h_swap, false, true },
	{ "race: SIGUSR1 storm, 20000 opens", c_race_storm,
	  "leaked-fds 0 wrong-fds 0 other-errors 0 ", h_storm, false, true },
	{ "race: broker killed mid-run", c_race_kill,
	  "served-after-death 0 ", NULL, true, true },
};

const size_t bt_scenarios_count = sizeof(bt_scenarios) / sizeof(bt_scenarios[0]);

struct bt_call {
	const struct bt_scenario *sc;
	struct bt_fixture *f;
};

static void call_child(void *arg, int out)
{
	struct bt_call *c = arg;

	c->sc->child(c->f, out);
}

static void call_helper(void *arg, pid_t child, atomic_bool *stop)
{
	struct bt_call *c = arg;

	c->sc->helper(c->f, child, stop);
}

int bt_run(const struct bt_scenario *sc, struct bt_fixture *f, char *got,
	   size_t len, bool *pass, struct vs_err *err)
{
	struct bt_call call = { sc, f };
	struct session_spec spec = {
		.allow = &f->al,
		.deny = &f->deny,
		.n_deny = 1,
		.run_dir = f->run,
		.run_keep = (const char *const[]){ BT_KEEP, NULL },
		.child = call_child,
		.arg = &call,
		.helper = sc->helper ? call_helper : NULL,
		.killable_broker = sc->killable_broker,
		.timeout_s = 60,
	};
	struct session_result *r = xzalloc(sizeof(*r));
	char *line;
	int rc;

	rc = session_run(&spec, r, err);
	if (rc < 0) {
		free(r);
		return rc;
	}
	line = r->out;
	if (!strncmp(line, SESSION_KILL_BROKER, strlen(SESSION_KILL_BROKER)))
		line += strlen(SESSION_KILL_BROKER);
	line[strcspn(line, "\n")] = '\0';
	if (WIFSIGNALED(r->status))
		snprintf(got, len, "killed (SIG%s)%s%s",
			 sigabbrev_np(WTERMSIG(r->status)) ?: "?",
			 line[0] ? " after " : "", line);
	else if (r->timed_out)
		snprintf(got, len, "timed out");
	else
		snprintf(got, len, "%s", line[0] ? line : "(no output)");
	if (!strcmp(sc->expect, "killed"))
		*pass = WIFSIGNALED(r->status) && WTERMSIG(r->status) == SIGSYS;
	else
		*pass = !WIFSIGNALED(r->status) && !r->timed_out &&
			!strncmp(got, sc->expect, strlen(sc->expect));
	free(r);
	return 0;
}
