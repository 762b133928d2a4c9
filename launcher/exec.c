/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <selinux/selinux.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "launcher/exec.h"
#include "launcher/exitcode.h"
#include "sandbox/policy.h"

/* What a child that could not exec tells its parent. */
struct child_report {
	int step;
	int errnum;
	char msg[512];
};

static void __attribute__((noreturn))
child_fail(int sock, enum launch_step step, const struct vs_err *e)
{
	struct child_report r = { .step = step, .errnum = e->code };

	vs_err_str(e, r.msg, sizeof(r.msg));
	(void)!send(sock, &r, sizeof(r), MSG_NOSIGNAL);
	/* What the caller sees when this process was its own (in place). */
	_exit(step == LAUNCH_EXEC ? EXIT_NOEXEC : EXIT_SANDBOX);
}

/*
 * (Not in place, where the emulator is the caller's own process: parent
 * 0.)  SIGKILL when the supervisor's thread exits, read back; then whether
 * the supervisor is still there (it may have died before the call).  In
 * a jail the parent is outside our PID namespace (getppid() is 0), and
 * its death ends the namespace anyway.
 */
static int set_death_signal(pid_t parent, bool jailed, struct vs_err *err)
{
	int sig = 0;

	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return vs_errnof(err, errno, "setting the death signal");
	if (prctl(PR_GET_PDEATHSIG, &sig, 0, 0, 0) < 0 || sig != SIGKILL)
		return vs_errf(err, EPERM, "the death signal did not stay set");
	if (!jailed && getppid() != parent)
		return vs_errf(err, ESRCH, "the supervisor is gone");
	return 0;
}

static void __attribute__((noreturn))
child_main(const struct launch_spec *s, const sigset_t *sigmask, int sock,
	   pid_t parent)
{
	struct vs_err err = { 0 };
	int keep[s->n_fds + s->n_keep + 1];
	int top = 3, notify_fd, rc;

	/* Still root: the jail's mounts, IPC, hostname (and network). */
	if (s->jail && jail_enter(s->jail, &err) < 0)
		child_fail(sock, LAUNCH_SETUP, &err);
	/* Signals the parent handles stay default in the emulator. */
	for (int sig = 1; sig < NSIG; sig++)
		signal(sig, SIG_DFL);
	sigprocmask(SIG_SETMASK, sigmask, NULL);

	/* Keep the report socket clear of every number being placed. */
	for (size_t i = 0; i < s->n_fds; i++) {
		if (s->src_fds[i] >= top)
			top = s->src_fds[i] + 1;
		if (s->dst_fds[i] >= top)
			top = s->dst_fds[i] + 1;
	}
	for (size_t i = 0; i < s->n_keep; i++) {
		if (s->keep_fds[i] >= top)
			top = s->keep_fds[i] + 1;
	}
	rc = fcntl(sock, F_DUPFD_CLOEXEC, top);
	if (rc < 0) {
		vs_errnof(&err, errno, "moving the report socket");
		child_fail(sock, LAUNCH_SETUP, &err);
	}
	sock = rc;
	rc = fd_remap(s->src_fds, s->dst_fds, s->n_fds);
	if (rc < 0) {
		vs_errnof(&err, -rc, "placing the image descriptors");
		child_fail(sock, LAUNCH_SETUP, &err);
	}
	if (s->n_fds)
		memcpy(keep, s->dst_fds, s->n_fds * sizeof(int));
	/* What the caller passes (a monitor socket, a tap) stays as it is. */
	for (size_t i = 0; i < s->n_keep; i++) {
		keep[s->n_fds + i] = s->keep_fds[i];
		fd_set_cloexec(s->keep_fds[i], false);
	}
	keep[s->n_fds + s->n_keep] = sock;
	rc = fd_close_all_except(keep, s->n_fds + s->n_keep + 1);
	if (rc < 0) {
		vs_errnof(&err, -rc, "closing inherited descriptors");
		child_fail(sock, LAUNCH_SETUP, &err);
	}
	/* Opened (and labelled) as root; from here on the guest's user. */
	if (s->privs && privs_drop(s->privs, &err) < 0) {
		vs_err_prefix(&err, "dropping privileges");
		child_fail(sock, LAUNCH_SETUP, &err);
	}
	/*
	 * After the uid change, which clears it.  In a jail this is the
	 * second guard: the jail's init dies with us too, and its death
	 * ends the namespace, whatever the emulator does to its own
	 * death signal.
	 */
	if (parent && set_death_signal(parent, s->jail != NULL, &err) < 0)
		child_fail(sock, LAUNCH_SETUP, &err);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		vs_errnof(&err, errno, "setting NO_NEW_PRIVS");
		child_fail(sock, LAUNCH_SETUP, &err);
	}
	/*
	 * The last step that opens a file (/proc/thread-self/attr/exec):
	 * once the filter is in, opens wait for a broker that is not serving
	 * yet.  The context survives the uid change above and applies at
	 * the execve below.
	 */
	if (s->exec_context && setexeccon_raw(s->exec_context) < 0) {
		vs_errnof(&err, errno, "cannot set the exec context %s",
			  s->exec_context);
		child_fail(sock, LAUNCH_SETUP, &err);
	}
	/* After the exec context, which is written through /proc. */
	if (s->landlock) {
		int abi;

		if (landlock_apply(s->landlock, &abi, &err) < 0)
			child_fail(sock, LAUNCH_SETUP, &err);
	}
	rc = policy_load(s->filter, &notify_fd, &err);
	if (rc < 0)
		child_fail(sock, LAUNCH_SETUP, &err);
	/*
	 * From here on every open waits for the broker, which only starts
	 * serving once it has the listener: no open until exec.
	 */
	if (notify_fd >= 0) {
		rc = fd_send(sock, notify_fd);
		if (rc < 0) {
			vs_errnof(&err, -rc, "handing the listener to the broker");
			child_fail(sock, LAUNCH_SETUP, &err);
		}
		close(notify_fd);
	}
	execve(s->binary, s->argv, s->envp);
	/*
	 * With NO_NEW_PRIVS the kernel refuses a domain change the policy
	 * does not grant as nnp_transition (EPERM), and a transition the
	 * policy denies outright fails with EACCES: a sandbox setup error,
	 * not an emulator that cannot be executed.
	 */
	if (s->exec_context && (errno == EPERM || errno == EACCES)) {
		vs_errnof(&err, errno,
			  "the policy refused the transition to %s under NO_NEW_PRIVS: it needs nnp_transition (or a bounded domain)",
			  s->exec_context);
		child_fail(sock, LAUNCH_SETUP, &err);
	}
	vs_errnof(&err, errno, "cannot execute %s", s->binary);
	child_fail(sock, LAUNCH_EXEC, &err);
}

/*
 * The child runs on a stack of its own, in our memory (CLONE_VM, as
 * posix_spawn's child does) or in a copy of it.  Copying the
 * supervisor's memory, and the copy-on-write faults on both sides until
 * the exec, cost 0.2 to 0.3 ms a launch (bench_exec, 250 interleaved
 * rounds, min, p10, p25 and median alike).  Shared memory is safe here
 * because the parent sleeps until the exec (CLONE_VFORK), and the child
 * changes nothing the parent relies on: its descriptors, signal
 * dispositions, namespaces and credentials are its own (no CLONE_FILES,
 * CLONE_SIGHAND, CLONE_FS), what it allocates stays allocated (the
 * jail's lists, about a kilobyte), every argument it is given is const,
 * and it leaves with execve() or _exit(), never exit() (no atexit
 * handlers, no stdio flush in our memory; xalloc's abort() kills only
 * the child).  Landlock, seccomp and NO_NEW_PRIVS are per thread.
 */
#if defined(__SANITIZE_ADDRESS__)
#define VS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define VS_ASAN 1
#endif
#endif
#ifdef VS_ASAN
#include <sanitizer/asan_interface.h>
#define asan_unpoison(p, n) __asan_unpoison_memory_region((p), (n))
#else
#define asan_unpoison(p, n) ((void)(p), (void)(n))
#endif

#define CHILD_STACK (512 * 1024)
#define CHILD_GUARD 4096

struct child_args {
	const struct launch_spec *s;
	const sigset_t *sigmask;
	int sock, parent_end;
	pid_t parent;
};

static int child_entry(void *arg)
{
	const struct child_args *a = arg;

	close(a->parent_end);
	child_main(a->s, a->sigmask, a->sock, a->parent);
}

/*
 * Whether the child may share our memory.  Its uid change sets the
 * memory's dumpable flag to fs.suid_dumpable: at 1 ("debug"), processes
 * of the guest's uid could ptrace the child, or write /proc/PID/mem,
 * between that change and the exec, and with shared memory that would
 * be the supervisor's (root's) memory.  At 0 and 2 only CAP_SYS_PTRACE
 * can.  Unreadable or anything else: a copy.
 */
static bool share_memory(void)
{
	char buf[8] = "";
	int fd = open("/proc/sys/fs/suid_dumpable", O_RDONLY | O_CLOEXEC);
	ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;

	if (fd >= 0)
		close(fd);
	return n == 2 && (buf[0] == '0' || buf[0] == '2') && buf[1] == '\n';
}

void launch_exec_here(const struct launch_spec *s, const sigset_t *sigmask,
		      int sock)
{
	child_main(s, sigmask, sock, 0);
}

int launch_await(int sock, int *notify_fd, enum launch_step *step,
		 struct vs_err *err)
{
	_cleanup_fd_ int listener = -1;
	struct child_report r;
	int fd, n;

	*notify_fd = -1;
	*step = LAUNCH_SETUP;
	for (;;) {
		memset(&r, 0, sizeof(r));
		/*
		 * One message from the child: the listener (1 byte and
		 * SCM_RIGHTS), a report, or end of file when the exec
		 * closed the socket.
		 */
		n = (int)fd_recv_msg(sock, &r, sizeof(r), &fd);
		if (n < 0 || n == (int)sizeof(r))
			break;
		if (n == 0) {
			/* The exec closed the socket: the emulator runs. */
			*notify_fd = steal_fd(&listener);
			*step = LAUNCH_OK;
			return 0;
		}
		if (fd >= 0) {
			if (listener >= 0)
				close(listener);
			listener = fd;
		}
	}
	if (n < 0)
		return vs_errnof(err, -n, "reading the child's report");
	*step = r.step == LAUNCH_EXEC ? LAUNCH_EXEC : LAUNCH_SETUP;
	r.msg[sizeof(r.msg) - 1] = '\0';
	return vs_errf(err, r.errnum ? r.errnum : EIO, "%s", r.msg);
}

int launch_start(const struct launch_spec *s, const sigset_t *sigmask,
		 pid_t *pid, int *notify_fd, enum launch_step *step,
		 struct vs_err *err)
{
	int sv[2], rc, status, saved_ns = -1, dumpable = -1;
	pid_t child, parent = getpid();
	char *stack;
	bool vm;

	*pid = -1;
	*notify_fd = -1;
	*step = LAUNCH_SETUP;
	fflush(NULL);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return vs_errnof(err, errno, "socketpair");
	if (s->jail && jail_pid_ns_enter(s->jail, &saved_ns, err) < 0) {
		close(sv[0]);
		close(sv[1]);
		return -err->code;
	}
	/*
	 * The parent sleeps until the child has exec'd or exited
	 * (CLONE_VFORK): a new task that must compete with a running parent
	 * for a CPU waited 1 to 4 ms in about half the launches on a busy
	 * 2-vCPU machine.  The child needs nothing from us before the exec:
	 * its listener and its report wait in the socket.  See
	 * share_memory() for the child running in our memory.
	 */
	vm = share_memory();
	if (vm)
		dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
	stack = mmap(NULL, CHILD_STACK + CHILD_GUARD, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED ||
	    mprotect(stack, CHILD_GUARD, PROT_NONE) < 0) {
		child = -1;
	} else {
		struct child_args a = {
			.s = s, .sigmask = sigmask, .sock = sv[1],
			.parent_end = sv[0], .parent = parent,
		};

		child = clone(child_entry, stack + CHILD_GUARD + CHILD_STACK,
			      (vm ? CLONE_VM : 0) | CLONE_VFORK | SIGCHLD, &a);
	}
	if (stack != MAP_FAILED) {
		/* ASan: the child's frames never returned to unpoison. */
		asan_unpoison(stack + CHILD_GUARD, CHILD_STACK);
		munmap(stack, CHILD_STACK + CHILD_GUARD);
	}
	/*
	 * The child's uid change set the shared memory's dumpable flag to
	 * fs.suid_dumpable (0 or 2 here); it has its own memory now.
	 */
	if (vm && dumpable >= 0)
		prctl(PR_SET_DUMPABLE, dumpable, 0, 0, 0);
	if (child < 0) {
		vs_errnof(err, errno, "fork");
		jail_pid_ns_leave(&saved_ns);
		close(sv[0]);
		close(sv[1]);
		return -err->code;
	}
	close(sv[1]);
	/* Later children of ours are born in our own namespace again. */
	rc = jail_pid_ns_leave(&saved_ns);
	if (rc < 0) {
		kill(child, SIGKILL);
		while (waitpid(child, &status, 0) < 0 && errno == EINTR)
			;
		close(sv[0]);
		return vs_errnof(err, -rc, "leaving the jail's PID namespace");
	}
	rc = launch_await(sv[0], notify_fd, step, err);
	close(sv[0]);
	if (rc < 0) {
		while (waitpid(child, &status, 0) < 0 && errno == EINTR)
			;
		return rc;
	}
	*pid = child;
	return 0;
}
