/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The emulator's jail (see jail.h).  clone() makes the namespaces and
 * their init (pid 1, which only waits); the emulator's child, still
 * root, joins them and builds the root in one linear sequence:
 *
 *   1. mount propagation private
 *   2. every source captured as a detached copy (open_tree) and given its
 *      mount flags, while the host's paths are still what they say
 *   3. an empty tmpfs as the new root, mount points made, copies attached
 *   4. /proc of the new PID namespace
 *   5. pivot_root (the init's root moves too), the old root detached,
 *      / read-only, hostname
 *
 * Capturing first means a source can lie anywhere, even beneath the
 * directory the new root is staged on.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "common/path.h"
#include "common/xalloc.h"
#include "sandbox/jail.h"

/* Where the new root is put together, inside the jail's mount namespace. */
#define STAGE "/tmp"

/* The top-level names a merged-/usr host makes symlinks into /usr. */
static const char *const top_links[] = { "bin", "sbin", "lib", "lib32",
					 "lib64", "libx32", NULL };

/* One captured source and where it goes. */
struct source {
	const char *at;		/* path in the jail (= on the host) */
	int tree;		/* detached copy, or -1 */
	bool dir;
};

static int capture(struct source *src, const char *path, const char *at,
		   uint64_t attr, struct vs_err *err)
{
	struct mount_attr ma = { .attr_set = attr };
	struct stat st;
	int fd;

	src->at = at;
	src->tree = -1;
	fd = open_tree(AT_FDCWD, path,
		       OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0; /* not on this host: nothing to show */
		return vs_errnof(err, errno, "copying the mount of %s", path);
	}
	if (mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &ma,
			  sizeof(ma)) < 0 ||
	    fstat(fd, &st) < 0) {
		vs_errnof(err, errno, "setting the mount flags of %s", path);
		close(fd);
		return -err->code;
	}
	src->tree = fd;
	src->dir = S_ISDIR(st.st_mode);
	return 0;
}

/*
 * mkdir -p beneath the stage; the last component too when dir.  made is
 * the deepest directory made so far (the caller's, "" at first): its
 * prefixes exist and are not made again (the entries come sorted, /dev
 * and its nodes one after the other: 15 mkdir calls of 30 that would
 * fail with EEXIST).
 */
static int make_parents(const char *at, bool dir, char *made,
			struct vs_err *err)
{
	char p[PATH_MAX];
	int n = snprintf(p, sizeof(p), STAGE "%s", at);
	size_t have = strlen(made), len;

	if (n < 0 || (size_t)n >= sizeof(p))
		return vs_errf(err, ENAMETOOLONG, "%s: path too long", at);
	for (char *s = p + strlen(STAGE) + 1;; s++) {
		if (*s && *s != '/')
			continue;
		if (!*s && !dir)
			break;
		len = (size_t)(s - p);
		if (len <= have && !strncmp(made, p, len) &&
		    (made[len] == '/' || !made[len])) {
			if (!*s)
				break;
			continue;	/* made already */
		}
		*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST)
			return vs_errnof(err, errno, "making %s in the jail",
					 p + strlen(STAGE));
		snprintf(made, PATH_MAX, "%s", p);
		have = len;
		if (s == p + n)
			break;
		*s = '/';
	}
	if (!dir) {
		int fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);

		if (fd < 0)
			return vs_errnof(err, errno, "making %s in the jail", at);
		close(fd);
	}
	return 0;
}

static int attach(const struct source *src, char *made, struct vs_err *err)
{
	char p[PATH_MAX];

	if (src->tree < 0)
		return 0;
	if (make_parents(src->at, src->dir, made, err) < 0)
		return -err->code;
	snprintf(p, sizeof(p), STAGE "%s", src->at);
	if (move_mount(src->tree, "", AT_FDCWD, p, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return vs_errnof(err, errno, "mounting %s in the jail", src->at);
	return 0;
}

/* Already visible through an earlier directory, or a copied symlink. */
static bool covered(const struct source *src, size_t n, const char *at,
		    char *const *links)
{
	for (size_t i = 0; i < n; i++) {
		if (src[i].tree >= 0 && src[i].dir &&
		    path_is_beneath(at, src[i].at))
			return true;
		if (src[i].tree >= 0 && !strcmp(src[i].at, at))
			return true;
	}
	for (size_t i = 0; links[i]; i++) {
		char top[PATH_MAX];

		snprintf(top, sizeof(top), "/%s", links[i]);
		if (path_is_beneath(at, top))
			return true;
	}
	return false;
}

static size_t count(char *const *v)
{
	size_t n = 0;

	while (v && v[n])
		n++;
	return n;
}

/* Indices into ro (the context), by the length of the path they name. */
static int by_length(const void *a, const void *b, void *ro)
{
	char *const *v = ro;
	size_t la = strlen(v[*(const size_t *)a]),
	       lb = strlen(v[*(const size_t *)b]);

	return la < lb ? -1 : la > lb;
}

static int build(const struct jail_spec *s, struct vs_err *err)
{
	const uint64_t ro = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
			    MOUNT_ATTR_NODEV;
	const uint64_t dev = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC;
	const uint64_t rw = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV |
			    MOUNT_ATTR_NOEXEC;
	size_t n_ro = count(s->ro), n_dev = count(s->devs), n = 0, n_links = 0;
	char made[PATH_MAX];
	size_t *order = xcalloc(n_ro + 1, sizeof(size_t));
	struct source *src = xcalloc(2 * n_ro + n_dev + 8, sizeof(*src));
	char *links[ARRAY_SIZE(top_links)] = { NULL };
	char *link_to[ARRAY_SIZE(top_links)] = { NULL };
	const char *host = s->hostname ? s->hostname : "vmseal";

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		return vs_errnof(err, errno, "making the mounts private");

	/* Libraries: the top-level symlinks as they are, or real dirs. */
	for (size_t i = 0; s->system_links && top_links[i]; i++) {
		char p[64], t[PATH_MAX];
		struct stat st;
		ssize_t l;

		snprintf(p, sizeof(p), "/%s", top_links[i]);
		if (lstat(p, &st) < 0)
			continue;
		if (S_ISLNK(st.st_mode)) {
			l = readlink(p, t, sizeof(t) - 1);
			if (l < 0)
				return vs_errnof(err, errno, "reading %s", p);
			t[l] = '\0';
			links[n_links] = xstrdup(top_links[i]);
			link_to[n_links++] = xstrdup(t);
		} else if (S_ISDIR(st.st_mode)) {
			if (capture(&src[n], p, xstrdup(p), ro, err) < 0)
				return -err->code;
			n++;
		}
	}
	/* Shorter first, so a directory is bound before what it holds. */
	for (size_t i = 0; i < n_ro; i++)
		order[i] = i;
	qsort_r(order, n_ro, sizeof(size_t), by_length, (void *)s->ro);
	for (size_t i = 0; i < n_ro; i++) {
		const char *spelled = s->ro[order[i]];
		/* Resolved once by the caller where it could. */
		char *real = !s->ro_real ? realpath(spelled, NULL) :
			     s->ro_real[order[i]] ? xstrdup(s->ro_real[order[i]]) :
						    NULL;

		if (!real)
			continue; /* missing here: the emulator sees ENOENT */
		if (!covered(src, n, real, links)) {
			if (capture(&src[n], real, real, ro, err) < 0)
				return -err->code;
			n++;
		}
		/* A symlinked spelling the emulator may use, e.g. /etc/localtime. */
		if (strcmp(real, spelled) && !covered(src, n, spelled, links)) {
			if (capture(&src[n], real, spelled, ro, err) < 0)
				return -err->code;
			n++;
		}
	}
	for (size_t i = 0; i < n_dev; i++) {
		if (capture(&src[n], s->devs[i], s->devs[i], dev, err) < 0)
			return -err->code;
		n++;
	}
	if (s->rw_dir) {
		if (capture(&src[n], s->rw_dir, s->rw_dir, rw, err) < 0)
			return -err->code;
		if (src[n].tree < 0)
			return vs_errf(err, ENOENT, "the runtime directory %s is missing",
				       s->rw_dir);
		n++;
	}

	made[0] = '\0';
	if (mount("vmseal-jail", STAGE, "tmpfs", MS_NOSUID | MS_NODEV,
		  "mode=0755,size=1m,nr_inodes=4096") < 0)
		return vs_errnof(err, errno, "mounting the jail's tmpfs root");
	for (size_t i = 0; i < n; i++) {
		if (attach(&src[i], made, err) < 0)
			return -err->code;
	}
	for (size_t i = 0; i < n_links; i++) {
		char p[PATH_MAX];

		snprintf(p, sizeof(p), STAGE "/%s", links[i]);
		if (symlink(link_to[i], p) < 0)
			return vs_errnof(err, errno, "linking /%s in the jail",
					 links[i]);
	}
	if (make_parents("/proc", true, made, err) < 0)
		return -err->code;
	if (mount("proc", STAGE "/proc", "proc",
		  MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "hidepid=invisible,subset=pid") < 0)
		return vs_errnof(err, errno, "mounting the jail's /proc");

	if (chdir(STAGE) < 0)
		return vs_errnof(err, errno, "entering the jail's root");
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		return vs_errnof(err, errno, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		return vs_errnof(err, errno, "detaching the host's root");
	if (chdir("/") < 0)
		return vs_errnof(err, errno, "chdir /");
	if (mount(NULL, "/", NULL,
		  MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV,
		  NULL) < 0)
		return vs_errnof(err, errno, "making the jail's root read-only");
	if (sethostname(host, strnlen(host, 64)) < 0)
		return vs_errnof(err, errno, "setting the jail's hostname");
	return 0;
}

/*
 * The jail's init: pid 1 of the namespace, which ends with it.  It builds
 * nothing (the emulator's child does, see jail_enter()), so nobody waits
 * for it to be scheduled: on a busy machine a new task waited 0.5 to 4 ms
 * for a CPU in about half the launches, with the supervisor blocked on
 * its report.
 *
 * It runs in the supervisor's memory (CLONE_VM) on a stack of its own,
 * alongside it: no copy of the supervisor's memory at the clone, no
 * copy-on-write faults on either side afterwards, no copy to tear down
 * at its exit (0.14 to 0.21 ms a launch: bench_exec, 300 interleaved
 * rounds, min, p10, p25 and median).  It shares the supervisor's thread
 * pointer too, so it touches no thread state: its system calls are
 * made directly (init_syscall(): no errno written, no cancellation
 * point), and it calls no libc function, no stdio, no malloc.  Where
 * vmseal has no such primitive (neither x86_64 nor aarch64) the init
 * gets a copy of the memory, as a fork, and uses syscall().
 */
#define INIT_STACK (64 * 1024)
#define INIT_GUARD 4096

#if defined(__x86_64__)
#define INIT_CLONE_VM CLONE_VM
static long init_syscall(long n, long a, long b, long c, long d, long e)
{
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	long ret;

	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return ret;
}
#elif defined(__aarch64__)
#define INIT_CLONE_VM CLONE_VM
static long init_syscall(long n, long a, long b, long c, long d, long e)
{
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	register long x3 __asm__("x3") = d;
	register long x4 __asm__("x4") = e;

	__asm__ volatile("svc 0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4)
			 : "memory");
	return x0;
}
#else
#define INIT_CLONE_VM 0
static long init_syscall(long n, long a, long b, long c, long d, long e)
{
	return syscall(n, a, b, c, d, e);
}
#endif

struct ksigaction {		/* the kernel's, as rt_sigaction takes it */
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	unsigned long mask;
};

/* Not instrumented: a sanitizer's runtime keeps thread state. */
__attribute__((no_sanitize("address", "undefined")))
static int init_main(void *arg)
{
	int sock = (int)(intptr_t)arg;
	struct pollfd p = { .fd = sock, .events = POLLIN };
	struct timespec now = { 0, 0 };
	struct ksigaction dfl = { .handler = SIG_DFL };
	struct ksigaction ign = { .handler = SIG_IGN };
	unsigned long none = 0;
	char c;

	init_syscall(SYS_prctl, PR_SET_NAME, (long)"vmseal-jail", 0, 0, 0);
	/*
	 * Dies with the thread that forked it; if that already happened,
	 * the socket says so (its other end is closed).
	 */
	if (init_syscall(SYS_prctl, PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		init_syscall(SYS_exit, 127, 0, 0, 0, 0);
	if (init_syscall(SYS_ppoll, (long)&p, 1, (long)&now, 0, 0) == 1 &&
	    (p.revents & (POLLHUP | POLLERR)))
		init_syscall(SYS_exit, 127, 0, 0, 0, 0);
	/* Orphans of the namespace are reaped at once; the rest default. */
	for (int sig = 1; sig <= 64; sig++) {
		if (sig != SIGKILL && sig != SIGSTOP)
			init_syscall(SYS_rt_sigaction, sig,
				     (long)(sig == SIGCHLD ? &ign : &dfl), 0,
				     sizeof(none), 0);
	}
	init_syscall(SYS_rt_sigprocmask, SIG_SETMASK, (long)&none, 0,
		     sizeof(none), 0);
	if (sock > 0)
		init_syscall(SYS_close_range, 0, sock - 1, 0, 0, 0);
	init_syscall(SYS_close_range, sock + 1, ~0U, 0, 0, 0);
	/*
	 * Until the supervisor closes its end, or dies (nothing is
	 * handled, so no EINTR).
	 */
	while (init_syscall(SYS_read, sock, (long)&c, 1, 0, 0) > 0)
		;
	init_syscall(SYS_exit, 0, 0, 0, 0, 0);
	return 0;
}

int jail_create(const struct jail_spec *s, struct jail *j, struct vs_err *err)
{
	int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS |
		    INIT_CLONE_VM;
	size_t sz = INIT_STACK + INIT_GUARD;
	int sv[2];
	char *stack;
	pid_t pid;

	if (s->new_net)
		flags |= CLONE_NEWNET;
	stack = mmap(NULL, sz, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		return vs_errnof(err, errno, "a stack for the jail's init");
	if (mprotect(stack, INIT_GUARD, PROT_NONE) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		vs_errnof(err, errno, "socketpair");
		munmap(stack, sz);
		return -err->code;
	}
	fflush(NULL);
	pid = clone(init_main, stack + sz, flags | SIGCHLD,
		    (void *)(intptr_t)sv[1]);
	if (pid < 0) {
		vs_errnof(err, errno, "creating the jail's namespaces");
		close(sv[0]);
		close(sv[1]);
		munmap(stack, sz);
		return -err->code;
	}
	close(sv[1]);
	j->spec = *s;
	j->init = pid;
	j->stack = stack;
	j->ctl = sv[0];
	j->ns_flags = flags & ~(CLONE_NEWPID | CLONE_VM);
	j->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (j->pidfd < 0) {
		vs_errnof(err, errno, "pidfd_open of the jail's init");
		jail_destroy(j);
		return -err->code;
	}
	return 0;
}

int jail_pid_ns_enter(const struct jail *j, int *saved, struct vs_err *err)
{
	*saved = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
	if (*saved < 0)
		return vs_errnof(err, errno, "opening our PID namespace");
	if (setns(j->pidfd, CLONE_NEWPID) < 0) {
		vs_errnof(err, errno, "entering the jail's PID namespace");
		close(*saved);
		*saved = -1;
		return -err->code;
	}
	return 0;
}

int jail_pid_ns_leave(int *saved)
{
	int rc = 0;

	if (*saved < 0)
		return 0;
	if (setns(*saved, CLONE_NEWPID) < 0)
		rc = -errno;
	close(*saved);
	*saved = -1;
	return rc;
}

int jail_enter(const struct jail *j, struct vs_err *err)
{
	if (setns(j->pidfd, j->ns_flags) < 0)
		return vs_errnof(err, errno, "joining the jail's namespaces");
	if (build(&j->spec, err) < 0) {
		vs_err_prefix(err, "building the jail");
		return -err->code;
	}
	return 0;
}

void jail_destroy(struct jail *j)
{
	bool reaped = false;
	int status;

	if (j->ctl >= 0)
		close(j->ctl);
	if (j->init > 0) {
		/*
		 * The init's exit waits until every process of the namespace
		 * is reaped, the emulator too, which is our child: reaped
		 * already on every path of run.c, else not waited for here
		 * for more than a second (it is reaped later or by init(1)).
		 * Its pidfd turns readable when it has exited: no polling
		 * step (a 10 ms sleep cost most launches 10 ms, since the
		 * init has rarely run yet right after the kill).
		 */
		kill(j->init, SIGKILL);
		for (int i = 0; i < 100; i++) {
			struct pollfd p = { .fd = j->pidfd, .events = POLLIN };
			pid_t r = waitpid(j->init, &status, WNOHANG);

			if (r == j->init || (r < 0 && errno != EINTR)) {
				reaped = r == j->init;
				break;
			}
			if (j->pidfd < 0 || poll(&p, 1, 1000 - 10 * i) < 0)
				usleep(10 * 1000);
			else if (p.revents == 0)
				break; /* a second gone */
		}
	}
	if (j->pidfd >= 0)
		close(j->pidfd);
	/* Its stack goes once it cannot run any more (else it is leaked). */
	if (j->stack && (j->init <= 0 || reaped))
		munmap(j->stack, INIT_STACK + INIT_GUARD);
	j->stack = NULL;
	j->ctl = j->pidfd = -1;
	j->init = -1;
}

int jail_supported(struct vs_err *err)
{
	if (geteuid() != 0)
		return vs_errf(err, EPERM, "vmseal is not root");
	if (access("/proc/self/ns/pid", F_OK) < 0 ||
	    access("/proc/self/ns/mnt", F_OK) < 0)
		return vs_errf(err, ENOSYS, "the kernel has no PID or mount namespaces");
	return 0;
}
