/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/reboot.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

#include "sandbox/policy.h"
#include "sandbox/probe.h"

#define X32_BIT 0x40000000L

/* A file every Linux host has; probes only ever read it. */
#define SOME_FILE "/etc/passwd"
/*
 * A path that does not exist: a path-changing call that slipped through
 * would fail with ENOENT and change nothing, so EPERM means the filter.
 */
#define NOWHERE "/nonexistent-vmseal-probe/x"

static long p_getpid(void) { return syscall(SYS_getpid); }
static long p_open(void) { return syscall(SYS_open, SOME_FILE, O_RDONLY | O_CLOEXEC); }
static long p_openat(void)
{
	return syscall(SYS_openat, AT_FDCWD, SOME_FILE, O_RDONLY | O_CLOEXEC);
}
static long p_creat(void) { return syscall(SYS_creat, NOWHERE, 0600); }

static long p_openat2(void)
{
	struct open_how how = { .flags = O_RDONLY | O_CLOEXEC };

	return syscall(SYS_openat2, AT_FDCWD, SOME_FILE, &how, sizeof(how));
}

static long p_name_to_handle_at(void)
{
	char buf[sizeof(struct file_handle) + 128];
	struct file_handle *fh = (struct file_handle *)buf;
	int mount_id;

	fh->handle_bytes = 128;
	return syscall(SYS_name_to_handle_at, AT_FDCWD, SOME_FILE, fh,
		       &mount_id, 0);
}

static long p_open_by_handle_at(void)
{
	char buf[sizeof(struct file_handle) + 128] = { 0 };

	return syscall(SYS_open_by_handle_at, AT_FDCWD, buf, O_RDONLY);
}

static long p_io_uring_setup(void)
{
	char params[120] = { 0 };

	return syscall(SYS_io_uring_setup, 4, params);
}

static long p_io_uring_enter(void) { return syscall(SYS_io_uring_enter, -1, 0, 0, 0, NULL, 0); }
static long p_io_uring_register(void) { return syscall(SYS_io_uring_register, -1, 0, NULL, 0); }

static long p_i386_open(void)
{
	long ret;

	/* i386 open is 5 (x86_64's fstat); ebx 0 makes it EFAULT if run. */
	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(5L), "b"(0L), "c"(0L)
			 : "memory");
	if (ret < 0) {
		errno = (int)-ret;
		return -1;
	}
	return ret;
}

static long p_i386_getpid(void)
{
	long ret;

	__asm__ volatile("int $0x80" : "=a"(ret) : "a"(20L) : "memory");
	return ret;
}

static long p_x32_open(void)
{
	return syscall(X32_BIT | SYS_open, SOME_FILE, O_RDONLY | O_CLOEXEC);
}

static long p_x32_getpid(void) { return syscall(X32_BIT | SYS_getpid); }

/*
 * The filter survives exec: a dynamically linked program's loader cannot
 * open libc (/bin/true from coreutils; the probe's own binary may be
 * static).
 */
static long p_execve(void)
{
	char *const argv[] = { "true", NULL };
	char *const envp[] = { NULL };

	return syscall(SYS_execve, "/bin/true", argv, envp);
}

static long p_ptrace(void) { return syscall(SYS_ptrace, PTRACE_TRACEME, 0, NULL, NULL); }

static long p_process_vm_readv(void)
{
	return syscall(SYS_process_vm_readv, getppid(), NULL, 0, NULL, 0, 0);
}

static long p_process_vm_writev(void)
{
	return syscall(SYS_process_vm_writev, getppid(), NULL, 0, NULL, 0, 0);
}

static long p_pidfd_getfd(void) { return syscall(SYS_pidfd_getfd, -1, 0, 0); }
static long p_kcmp(void) { return syscall(SYS_kcmp, getpid(), getppid(), 0, 0, 0); }
static long p_pidfd_open(void) { return syscall(SYS_pidfd_open, getppid(), 0); }
static long p_link(void) { return syscall(SYS_link, SOME_FILE, NOWHERE); }

/* An inherited descriptor (stdin here, an image under vmseal). */
static long p_linkat_fd(void)
{
	return syscall(SYS_linkat, 0, "", AT_FDCWD, NOWHERE, AT_EMPTY_PATH);
}

static long p_linkat_proc(void)
{
	return syscall(SYS_linkat, AT_FDCWD, "/proc/self/fd/0", AT_FDCWD,
		       NOWHERE, AT_SYMLINK_FOLLOW);
}

static long p_userfaultfd(void) { return syscall(SYS_userfaultfd, 0); }
static long p_mount(void) { return syscall(SYS_mount, "none", NOWHERE, "tmpfs", 0, NULL); }
static long p_umount2(void) { return syscall(SYS_umount2, NOWHERE, 0); }
static long p_pivot_root(void) { return syscall(SYS_pivot_root, NOWHERE, NOWHERE); }
static long p_chroot(void) { return syscall(SYS_chroot, NOWHERE); }
static long p_fsopen(void) { return syscall(SYS_fsopen, "vmseal-nofs", 0); }
static long p_fsconfig(void) { return syscall(SYS_fsconfig, -1, 0, NULL, NULL, 0); }
static long p_fsmount(void) { return syscall(SYS_fsmount, -1, 0, 0); }
static long p_fspick(void) { return syscall(SYS_fspick, AT_FDCWD, NOWHERE, 0); }
static long p_open_tree(void) { return syscall(SYS_open_tree, AT_FDCWD, NOWHERE, 0); }
static long p_move_mount(void) { return syscall(SYS_move_mount, -1, "", -1, "", 0); }
static long p_mount_setattr(void) { return syscall(SYS_mount_setattr, -1, "", 0, NULL, 0); }
static long p_unshare(void) { return syscall(SYS_unshare, CLONE_NEWNS); }
static long p_setns(void) { return syscall(SYS_setns, -1, 0); }

static long p_clone_newuser(void)
{
	long r = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, NULL, NULL, NULL, 0);

	if (r == 0)
		_exit(0);
	if (r > 0)
		waitpid((pid_t)r, NULL, 0);
	return r;
}

static long p_clone3(void) { return syscall(SYS_clone3, NULL, 0); }

static long p_prctl_pdeathsig(void) { return syscall(SYS_prctl, PR_SET_PDEATHSIG, 0, 0, 0, 0); }

static long p_prctl_get_pdeathsig(void)
{
	int sig = -1;

	return syscall(SYS_prctl, PR_GET_PDEATHSIG, &sig, 0, 0, 0);
}

static long p_seccomp_listener(void)
{
	struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { .len = 1, .filter = &allow };

	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
		       SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
}

static long p_seccomp_plain(void)
{
	struct sock_filter allow = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	struct sock_fprog prog = { .len = 1, .filter = &allow };

	/* Stacking an ordinary filter is fine: QEMU's -sandbox does it. */
	return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
}

static long p_bpf(void) { return syscall(SYS_bpf, -1, NULL, 0); }
static long p_perf_event_open(void) { return syscall(SYS_perf_event_open, NULL, 0, -1, -1, 0); }
static long p_kexec_load(void) { return syscall(SYS_kexec_load, 0, 0, NULL, ~0UL); }
static long p_kexec_file_load(void) { return syscall(SYS_kexec_file_load, -1, -1, 0, NULL, ~0UL); }
static long p_init_module(void) { return syscall(SYS_init_module, NULL, 0, ""); }
static long p_finit_module(void) { return syscall(SYS_finit_module, -1, "", 0); }
static long p_delete_module(void) { return syscall(SYS_delete_module, "vmseal_no_such_module", O_NONBLOCK); }
static long p_quotactl(void) { return syscall(SYS_quotactl, 0, NOWHERE, 0, NULL); }
static long p_uselib(void) { return syscall(SYS_uselib, NOWHERE); }
static long p_acct(void) { return syscall(SYS_acct, NOWHERE); }
static long p_swapon(void) { return syscall(SYS_swapon, NOWHERE, 0); }
static long p_swapoff(void) { return syscall(SYS_swapoff, NOWHERE); }
static long p_fanotify_init(void) { return syscall(SYS_fanotify_init, ~0U, 0); }
static long p_keyctl(void) { return syscall(SYS_keyctl, -1, 0, 0, 0, 0); }
static long p_add_key(void) { return syscall(SYS_add_key, NULL, NULL, NULL, 0, 0); }
static long p_request_key(void) { return syscall(SYS_request_key, NULL, NULL, NULL, 0); }

static long p_reboot(void)
{
	/* Wrong magic: EINVAL if it were ever run. */
	return syscall(SYS_reboot, 0, 0, LINUX_REBOOT_CMD_POWER_OFF, NULL);
}

static long p_truncate(void) { return syscall(SYS_truncate, NOWHERE, 0); }
static long p_unlink(void) { return syscall(SYS_unlink, NOWHERE); }
static long p_unlinkat(void) { return syscall(SYS_unlinkat, AT_FDCWD, NOWHERE, 0); }
static long p_rename(void) { return syscall(SYS_rename, NOWHERE, NOWHERE "2"); }
static long p_renameat(void) { return syscall(SYS_renameat, AT_FDCWD, NOWHERE, AT_FDCWD, NOWHERE "2"); }
static long p_renameat2(void) { return syscall(SYS_renameat2, AT_FDCWD, NOWHERE, AT_FDCWD, NOWHERE "2", 0); }
static long p_symlink(void) { return syscall(SYS_symlink, SOME_FILE, NOWHERE); }
static long p_symlinkat(void) { return syscall(SYS_symlinkat, SOME_FILE, AT_FDCWD, NOWHERE); }
static long p_mknod(void) { return syscall(SYS_mknod, NOWHERE, 0600, 0); }
static long p_mknodat(void) { return syscall(SYS_mknodat, AT_FDCWD, NOWHERE, 0600, 0); }
static long p_mkdir(void) { return syscall(SYS_mkdir, NOWHERE, 0700); }
static long p_mkdirat(void) { return syscall(SYS_mkdirat, AT_FDCWD, NOWHERE, 0700); }
static long p_rmdir(void) { return syscall(SYS_rmdir, NOWHERE); }
static long p_chmod(void) { return syscall(SYS_chmod, NOWHERE, 0600); }
static long p_fchmodat(void) { return syscall(SYS_fchmodat, AT_FDCWD, NOWHERE, 0600); }
static long p_fchmodat2(void) { return syscall(452, AT_FDCWD, NOWHERE, 0600, 0); }
static long p_chown(void) { return syscall(SYS_chown, NOWHERE, 0, 0); }
static long p_lchown(void) { return syscall(SYS_lchown, NOWHERE, 0, 0); }
static long p_fchownat(void) { return syscall(SYS_fchownat, AT_FDCWD, NOWHERE, 0, 0, 0); }
static long p_utime(void) { return syscall(SYS_utime, NOWHERE, NULL); }
static long p_utimes(void) { return syscall(SYS_utimes, NOWHERE, NULL); }
static long p_futimesat(void) { return syscall(SYS_futimesat, AT_FDCWD, NOWHERE, NULL); }
static long p_utimensat(void) { return syscall(SYS_utimensat, AT_FDCWD, NOWHERE, NULL, 0); }
static long p_setxattr(void) { return syscall(SYS_setxattr, NOWHERE, "user.x", "", 0, 0); }
static long p_lsetxattr(void) { return syscall(SYS_lsetxattr, NOWHERE, "user.x", "", 0, 0); }
static long p_removexattr(void) { return syscall(SYS_removexattr, NOWHERE, "user.x"); }
static long p_lremovexattr(void) { return syscall(SYS_lremovexattr, NOWHERE, "user.x"); }

/*
 * Linux 6.8-6.17 additions.  Numbers, not SYS_ names: the build's
 * headers may predate them.
 */
#define NR_STATMOUNT 457
#define NR_LISTMOUNT 458
#define NR_LSM_SET_SELF_ATTR 460
#define NR_MSEAL 462
#define NR_SETXATTRAT 463
#define NR_GETXATTRAT 464
#define NR_LISTXATTRAT 465
#define NR_REMOVEXATTRAT 466
#define NR_OPEN_TREE_ATTR 467
#define NR_FILE_GETATTR 468
#define NR_FILE_SETATTR 469
#define OPEN_TREE_CLOEXEC_FLAG O_CLOEXEC

/* struct xattr_args and struct file_attr, zeroed. */
static unsigned long long zero_args[4];

/*
 * The attack of issue 12: no clone flag, and the kernel hands out an
 * O_PATH descriptor for any path (then closed with the child).
 */
static long p_open_tree_attr(void)
{
	return syscall(NR_OPEN_TREE_ATTR, AT_FDCWD, "/etc/shadow",
		       OPEN_TREE_CLOEXEC_FLAG, NULL, 0);
}

static long p_setxattrat(void)
{
	return syscall(NR_SETXATTRAT, AT_FDCWD, NOWHERE, 0, "user.x",
		       zero_args, 16);
}

static long p_removexattrat(void)
{
	return syscall(NR_REMOVEXATTRAT, AT_FDCWD, NOWHERE, 0, "user.x");
}

static long p_file_setattr(void)
{
	return syscall(NR_FILE_SETATTR, AT_FDCWD, NOWHERE, zero_args, 24, 0);
}

static long p_getxattrat(void)
{
	return syscall(NR_GETXATTRAT, AT_FDCWD, SOME_FILE, 0, "user.x",
		       zero_args, 16);
}

static long p_listxattrat(void)
{
	return syscall(NR_LISTXATTRAT, AT_FDCWD, SOME_FILE, 0, NULL, 0);
}

static long p_file_getattr(void)
{
	return syscall(NR_FILE_GETATTR, AT_FDCWD, SOME_FILE, zero_args, 24, 0);
}

static long p_statmount(void) { return syscall(NR_STATMOUNT, NULL, NULL, 0, 0); }
static long p_listmount(void) { return syscall(NR_LISTMOUNT, NULL, NULL, 0, 0); }
static long p_lsm_set_self_attr(void) { return syscall(NR_LSM_SET_SELF_ATTR, 0, NULL, 0, 0); }
static long p_mq_open(void) { return syscall(SYS_mq_open, "vmseal-probe-none", O_RDONLY, 0, NULL); }
static long p_mq_unlink(void) { return syscall(SYS_mq_unlink, "vmseal-probe-none"); }
static long p_mseal(void) { return syscall(NR_MSEAL, 0, 0, 0); }

/* x32 numbers above the ceiling still kill (selftest's ceiling rows). */
static long p_nr_x32_470(void) { return syscall(X32_BIT | 470, 0, 0, 0, 0, 0, 0); }

/* Newer glibc needs these: they must stay allowed. */
static long p_close_range(void) { return syscall(SYS_close_range, ~0U - 1, ~0U, 0); }
static long p_faccessat2(void) { return syscall(SYS_faccessat2, AT_FDCWD, SOME_FILE, R_OK, 0); }

static long p_statx(void)
{
	char buf[256];

	return syscall(SYS_statx, AT_FDCWD, SOME_FILE, 0, 0x7ff, buf);
}

static long p_newfstatat(void)
{
	char buf[256];

	return syscall(SYS_newfstatat, AT_FDCWD, SOME_FILE, buf, 0);
}

static long p_rseq(void)
{
	/* Already registered by glibc: EBUSY/EINVAL, but not EPERM/ENOSYS. */
	long r = syscall(SYS_rseq, NULL, 0, 0, 0);

	return r < 0 && errno != EPERM && errno != ENOSYS ? 0 : r;
}

#define OK { EXPECT_SUCCESS, 0 }
#define E(e) { EXPECT_ERRNO, e }
#define KILL { EXPECT_KILL, 0 }
#define NOEXEC { EXPECT_FAILED_EXEC, 0 }
/* The same answer under all three policies. */
#define ALL(x) { x, x, x }

/*        name                       run                 broker     deny       kill */
const struct probe probes[] = {
	{ "getpid", p_getpid, ALL(OK), "an ordinary call still works" },
	{ "open", p_open, { E(ENOSYS), E(EACCES), KILL },
	  "the open family (broker: no listener, fails closed)" },
	{ "openat", p_openat, { E(ENOSYS), E(EACCES), KILL },
	  "the open family (broker: no listener, fails closed)" },
	{ "creat", p_creat, { E(EACCES), E(EACCES), KILL }, "never served" },
	{ "openat2", p_openat2, ALL(E(ENOSYS)), "glibc falls back to openat" },
	{ "open_by_handle_at", p_open_by_handle_at, ALL(KILL), "handles bypass paths" },
	{ "name_to_handle_at", p_name_to_handle_at, ALL(KILL), "handles bypass paths" },
	{ "io_uring_setup", p_io_uring_setup, ALL(E(ENOSYS)), "IORING_OP_OPENAT bypasses seccomp" },
	{ "io_uring_enter", p_io_uring_enter, ALL(E(ENOSYS)), "IORING_OP_OPENAT bypasses seccomp" },
	{ "io_uring_register", p_io_uring_register, ALL(E(ENOSYS)), "IORING_OP_OPENAT bypasses seccomp" },
	{ "i386 int 0x80 open", p_i386_open, ALL(KILL), "foreign arch kills" },
	{ "i386 int 0x80 getpid", p_i386_getpid, ALL(KILL), "foreign arch kills" },
	{ "x32 open", p_x32_open, ALL(KILL), "x32 numbers kill" },
	{ "x32 getpid", p_x32_getpid, ALL(KILL), "x32 numbers kill" },
	{ "execve then open", p_execve, { NOEXEC, NOEXEC, KILL },
	  "the filter survives exec: the new program's loader cannot open" },
	{ "ptrace", p_ptrace, ALL(KILL), "no stealing the broker's fds or memory" },
	{ "process_vm_readv", p_process_vm_readv, ALL(KILL), "no cross-process memory" },
	{ "process_vm_writev", p_process_vm_writev, ALL(KILL), "no cross-process memory" },
	{ "pidfd_getfd", p_pidfd_getfd, ALL(KILL), "no descriptor theft" },
	{ "kcmp", p_kcmp, ALL(KILL), "no descriptor probing" },
	{ "pidfd_open", p_pidfd_open, ALL(KILL), "first step to pidfd_getfd" },
	{ "link", p_link, ALL(E(EPERM)), "no new names" },
	{ "linkat(fd, AT_EMPTY_PATH)", p_linkat_fd, ALL(E(EPERM)), "no new name for a passed file" },
	{ "linkat(/proc/self/fd/0)", p_linkat_proc, ALL(E(EPERM)), "no new name for a passed file" },
	{ "userfaultfd", p_userfaultfd, ALL(E(EPERM)), "no widened races" },
	{ "mount", p_mount, ALL(KILL), "no other trees" },
	{ "umount2", p_umount2, ALL(KILL), "no other trees" },
	{ "pivot_root", p_pivot_root, ALL(KILL), "no other trees" },
	{ "chroot", p_chroot, ALL(KILL), "no other trees" },
	{ "fsopen", p_fsopen, ALL(KILL), "no other trees" },
	{ "fsconfig", p_fsconfig, ALL(KILL), "no other trees" },
	{ "fsmount", p_fsmount, ALL(KILL), "no other trees" },
	{ "fspick", p_fspick, ALL(KILL), "no other trees" },
	{ "open_tree", p_open_tree, ALL(KILL), "no other trees" },
	{ "move_mount", p_move_mount, ALL(KILL), "no other trees" },
	{ "mount_setattr", p_mount_setattr, ALL(KILL), "no other trees" },
	{ "unshare(CLONE_NEWNS)", p_unshare, ALL(E(EPERM)), "no namespaces" },
	{ "setns", p_setns, ALL(E(EPERM)), "no namespaces" },
	{ "clone(CLONE_NEWUSER)", p_clone_newuser, ALL(E(EPERM)), "no namespaces" },
	{ "clone3", p_clone3, ALL(E(ENOSYS)), "glibc falls back to clone" },
	{ "prctl(PR_SET_PDEATHSIG, 0)", p_prctl_pdeathsig, ALL(E(EPERM)), "the death signal stays" },
	{ "prctl(PR_GET_PDEATHSIG)", p_prctl_get_pdeathsig, ALL(OK), "other prctl options still work" },
	{ "seccomp(NEW_LISTENER)", p_seccomp_listener, ALL(E(EPERM)), "no second broker" },
	{ "seccomp(plain filter)", p_seccomp_plain, ALL(OK), "stacking (QEMU -sandbox) works" },
	{ "bpf", p_bpf, ALL(E(EPERM)), "kernel attack surface" },
	{ "perf_event_open", p_perf_event_open, ALL(E(EPERM)), "kernel attack surface" },
	{ "kexec_load", p_kexec_load, ALL(KILL), "kernel attack surface" },
	{ "kexec_file_load", p_kexec_file_load, ALL(KILL), "kernel attack surface" },
	{ "init_module", p_init_module, ALL(KILL), "kernel attack surface" },
	{ "finit_module", p_finit_module, ALL(KILL), "kernel attack surface" },
	{ "delete_module", p_delete_module, ALL(KILL), "kernel attack surface" },
	{ "quotactl", p_quotactl, ALL(E(EPERM)), "kernel attack surface" },
	{ "uselib", p_uselib, ALL(KILL), "maps by path" },
	{ "acct", p_acct, ALL(E(EPERM)), "writes by path" },
	{ "swapon", p_swapon, ALL(E(EPERM)), "kernel attack surface" },
	{ "swapoff", p_swapoff, ALL(E(EPERM)), "kernel attack surface" },
	{ "fanotify_init", p_fanotify_init, ALL(E(EPERM)), "kernel attack surface" },
	{ "keyctl", p_keyctl, ALL(E(EPERM)), "kernel attack surface" },
	{ "add_key", p_add_key, ALL(E(EPERM)), "kernel attack surface" },
	{ "request_key", p_request_key, ALL(E(EPERM)), "kernel attack surface" },
	{ "reboot", p_reboot, ALL(KILL), "kernel attack surface" },
	{ "truncate", p_truncate, ALL(E(EPERM)), "changes by path" },
	{ "unlink", p_unlink, { E(ENOSYS), E(EPERM), KILL },
	  "removes by path (broker: no listener, fails closed)" },
	{ "unlinkat", p_unlinkat, { E(ENOSYS), E(EPERM), KILL },
	  "removes by path (broker: no listener, fails closed)" },
	{ "rename", p_rename, ALL(E(EPERM)), "changes by path" },
	{ "renameat", p_renameat, ALL(E(EPERM)), "changes by path" },
	{ "renameat2", p_renameat2, ALL(E(EPERM)), "changes by path" },
	{ "symlink", p_symlink, ALL(E(EPERM)), "changes by path" },
	{ "symlinkat", p_symlinkat, ALL(E(EPERM)), "changes by path" },
	{ "mknod", p_mknod, ALL(E(EPERM)), "changes by path" },
	{ "mknodat", p_mknodat, ALL(E(EPERM)), "changes by path" },
	{ "mkdir", p_mkdir, ALL(E(EPERM)), "changes by path" },
	{ "mkdirat", p_mkdirat, ALL(E(EPERM)), "changes by path" },
	{ "rmdir", p_rmdir, ALL(E(EPERM)), "changes by path" },
	{ "chmod", p_chmod, ALL(E(EPERM)), "changes by path" },
	{ "fchmodat", p_fchmodat, ALL(E(EPERM)), "changes by path" },
	{ "fchmodat2", p_fchmodat2, ALL(E(EPERM)), "changes by path (Linux 6.6)" },
	{ "chown", p_chown, ALL(E(EPERM)), "changes by path" },
	{ "lchown", p_lchown, ALL(E(EPERM)), "changes by path" },
	{ "fchownat", p_fchownat, ALL(E(EPERM)), "changes by path" },
	{ "utime", p_utime, ALL(E(EPERM)), "changes by path" },
	{ "utimes", p_utimes, ALL(E(EPERM)), "changes by path" },
	{ "futimesat", p_futimesat, ALL(E(EPERM)), "changes by path" },
	{ "utimensat", p_utimensat, ALL(E(EPERM)), "changes by path" },
	{ "setxattr", p_setxattr, ALL(E(EPERM)), "changes by path" },
	{ "lsetxattr", p_lsetxattr, ALL(E(EPERM)), "changes by path" },
	{ "removexattr", p_removexattr, ALL(E(EPERM)), "changes by path" },
	{ "lremovexattr", p_lremovexattr, ALL(E(EPERM)), "changes by path" },
	{ "open_tree_attr(/etc/shadow)", p_open_tree_attr, ALL(KILL),
	  "no O_PATH descriptor for any path (Linux 6.15)" },
	{ "setxattrat", p_setxattrat, ALL(E(EPERM)), "changes by path (Linux 6.13)" },
	{ "removexattrat", p_removexattrat, ALL(E(EPERM)), "changes by path (Linux 6.13)" },
	{ "file_setattr", p_file_setattr, ALL(E(EPERM)), "changes by path (Linux 6.17)" },
	{ "getxattrat", p_getxattrat, ALL(E(ENOSYS)), "falls back to getxattr (Linux 6.13)" },
	{ "listxattrat", p_listxattrat, ALL(E(ENOSYS)), "falls back to listxattr (Linux 6.13)" },
	{ "file_getattr", p_file_getattr, ALL(E(ENOSYS)), "falls back to the ioctl (Linux 6.17)" },
	{ "statmount", p_statmount, ALL(E(ENOSYS)), "no view of the mount tree (Linux 6.8)" },
	{ "listmount", p_listmount, ALL(E(ENOSYS)), "no view of the mount tree (Linux 6.8)" },
	{ "lsm_set_self_attr", p_lsm_set_self_attr, ALL(E(EPERM)),
	  "no exec context set past /proc/self/attr (Linux 6.8)" },
	{ "mq_open", p_mq_open, ALL(E(EPERM)), "no objects by name" },
	{ "mq_unlink", p_mq_unlink, ALL(E(EPERM)), "no objects by name" },
	{ "mseal (len 0)", p_mseal, ALL(OK), "reviewed and allowed (Linux 6.10)" },
	{ "x32 syscall 470", p_nr_x32_470, ALL(KILL), "x32 numbers still kill" },
	{ "rseq", p_rseq, ALL(OK), "newer glibc needs it" },
	{ "close_range", p_close_range, ALL(OK), "newer glibc needs it" },
	{ "faccessat2", p_faccessat2, ALL(OK), "newer glibc needs it" },
	{ "statx", p_statx, ALL(OK), "newer glibc needs it" },
	{ "newfstatat", p_newfstatat, ALL(OK), "newer glibc needs it" },
};

const size_t probes_count = sizeof(probes) / sizeof(probes[0]);

/*
 * The kernel read-only path: which opens the kernel answers alone, and
 * which still reach the broker (ENOSYS here: nobody serves), EACCES or
 * the kill.  A refused open names a path that does not exist (or asks
 * for O_PATH only), so one that slipped through would change nothing.
 */
static long ro_openat(const char *path, long flags)
{
	return syscall(SYS_openat, AT_FDCWD, path, flags | O_CLOEXEC, 0600);
}

static long ro_rdonly(void) { return ro_openat(SOME_FILE, O_RDONLY); }
static long ro_append(void) { return ro_openat(SOME_FILE, O_RDONLY | O_APPEND); }
static long ro_dir(void) { return ro_openat("/etc", O_RDONLY | O_DIRECTORY); }
static long ro_nofollow(void) { return ro_openat(SOME_FILE, O_RDONLY | O_NOFOLLOW | O_NONBLOCK); }
static long ro_open(void) { return syscall(SYS_open, SOME_FILE, O_RDONLY | O_CLOEXEC); }
static long ro_high(void) { return ro_openat(SOME_FILE, (long)0x100000000 | O_RDONLY); }
static long ro_wronly(void) { return ro_openat(NOWHERE, O_WRONLY); }
static long ro_rdwr(void) { return ro_openat(NOWHERE, O_RDWR); }
static long ro_accmode3(void) { return ro_openat(NOWHERE, O_WRONLY | O_RDWR); }
static long ro_creat_flag(void) { return ro_openat(NOWHERE, O_RDONLY | O_CREAT); }
static long ro_trunc(void) { return ro_openat(NOWHERE, O_RDONLY | O_TRUNC); }
static long ro_path(void) { return ro_openat(SOME_FILE, O_PATH); }
static long ro_tmpfile(void) { return ro_openat("/nonexistent-vmseal-probe", O_TMPFILE | O_RDONLY); }
static long ro_wronly_high(void) { return ro_openat(NOWHERE, (long)0xffffffff00000000 | O_WRONLY); }
static long ro_open_wronly(void) { return syscall(SYS_open, NOWHERE, O_WRONLY | O_CLOEXEC); }
static long ro_open_creat(void) { return syscall(SYS_open, NOWHERE, O_RDONLY | O_CREAT | O_CLOEXEC, 0600); }

/* Answered as without the fast path. */
#define REFUSED { E(ENOSYS), E(EACCES), KILL }

const struct probe ro_probes[] = {
	{ "openat O_RDONLY", ro_rdonly, ALL(OK), "the kernel answers" },
	{ "openat O_RDONLY|O_APPEND", ro_append, ALL(OK), "no write access: harmless" },
	{ "openat O_RDONLY|O_DIRECTORY", ro_dir, ALL(OK), "the kernel answers" },
	{ "openat O_RDONLY|O_NOFOLLOW|O_NONBLOCK", ro_nofollow, ALL(OK), "the kernel answers" },
	{ "open O_RDONLY", ro_open, ALL(OK), "the kernel answers" },
	{ "openat O_RDONLY, upper 32 bits set", ro_high, ALL(OK),
	  "the kernel reads an int: the same plain read" },
	{ "openat O_WRONLY", ro_wronly, REFUSED, "write access" },
	{ "openat O_RDWR", ro_rdwr, REFUSED, "write access" },
	{ "openat access mode 3", ro_accmode3, REFUSED, "write access" },
	{ "openat O_CREAT", ro_creat_flag, REFUSED, "creates" },
	{ "openat O_TRUNC", ro_trunc, REFUSED, "truncates" },
	{ "openat O_PATH", ro_path, REFUSED, "path-only descriptors stay with the broker" },
	{ "openat O_TMPFILE", ro_tmpfile, REFUSED, "creates" },
	{ "openat O_WRONLY, upper 32 bits set", ro_wronly_high, REFUSED, "write access" },
	{ "open O_WRONLY", ro_open_wronly, REFUSED, "write access" },
	{ "open O_CREAT", ro_open_creat, REFUSED, "creates" },
	{ "creat", p_creat, { E(EACCES), E(EACCES), KILL }, "always creates: never served" },
	{ "openat2", p_openat2, ALL(E(ENOSYS)), "still ENOSYS" },
};

const size_t ro_probes_count = sizeof(ro_probes) / sizeof(ro_probes[0]);

int probe_run(const struct probe *pr, enum vs_policy p, bool unfiltered,
	      struct probe_result *r, struct vs_err *err)
{
	const struct policy_opts o = { .policy = p };
	struct vs_filter *f = NULL;
	int rc;

	memset(r, 0, sizeof(*r));
	if (!unfiltered) {
		rc = policy_build(&o, &f, err);
		if (rc < 0)
			return rc;
	}
	rc = probe_run_filter(pr, f, r, err);
	policy_free(f);
	return rc;
}

int probe_run_opts(const struct probe *pr, const struct policy_opts *o,
		   struct probe_result *r, struct vs_err *err)
{
	struct vs_filter *f = NULL;
	int rc;

	memset(r, 0, sizeof(*r));
	rc = policy_build(o, &f, err);
	if (rc < 0)
		return rc;
	rc = probe_run_filter(pr, f, r, err);
	policy_free(f);
	return rc;
}

int probe_run_filter(const struct probe *pr, const struct vs_filter *ctx,
		     struct probe_result *r, struct vs_err *err)
{
	int pipefd[2], status;
	pid_t pid;
	ssize_t n;

	memset(r, 0, sizeof(*r));
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return vs_errnof(err, errno, "pipe");
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		close(pipefd[0]);
		close(pipefd[1]);
		return vs_errnof(err, errno, "fork");
	}
	if (pid == 0) {
		struct probe_result cr = { .outcome = PROBE_RETURNED };
		struct vs_err e = { 0 };
		int nfd = -1;

		close(pipefd[0]);
		/* What an exec'd probe says is not for the user's terminal. */
		nfd = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (nfd >= 0) {
			dup2(nfd, STDOUT_FILENO);
			dup2(nfd, STDERR_FILENO);
			close(nfd);
		}
		nfd = -1;
		if (ctx && policy_load(ctx, &nfd, &e) < 0)
			_exit(120);
		if (nfd >= 0)
			close(nfd);
		errno = 0;
		cr.ret = pr->run();
		cr.err = cr.ret < 0 ? errno : 0;
		if (write(pipefd[1], &cr, sizeof(cr)) != sizeof(cr))
			_exit(121);
		/*
		 * The parent ends us once it has the result: a filter with a
		 * low ceiling refuses exit_group and exit, and a sanitizer's
		 * runtime, which asks for sigaltstack before a call that does
		 * not return, would spin on its failed check.
		 */
		for (;;)
			pause();
	}
	close(pipefd[1]);
	n = read(pipefd[0], r, sizeof(*r));
	close(pipefd[0]);
	if (n == (ssize_t)sizeof(*r))
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof(*r))
		return 0;
	if (WIFSIGNALED(status)) {
		r->outcome = PROBE_KILLED;
		r->sig = WTERMSIG(status);
		return 0;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) != 120 &&
	    WEXITSTATUS(status) != 121) {
		/* An exec'd program ended before reporting. */
		r->outcome = PROBE_EXITED;
		r->status = WEXITSTATUS(status);
		return 0;
	}
	return vs_errf(err, EIO, "probe %s: child exited %d without a result",
		       pr->name, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

const char *probe_describe(const struct probe_result *r, char *buf,
			   size_t len)
{
	switch (r->outcome) {
	case PROBE_KILLED:
		snprintf(buf, len, "killed (SIG%s)",
			 sigabbrev_np(r->sig) ? sigabbrev_np(r->sig) : "?");
		break;
	case PROBE_EXITED:
		snprintf(buf, len, "exited %d", r->status);
		break;
	case PROBE_RETURNED:
		if (r->ret < 0)
			snprintf(buf, len, "%s", strerrorname_np(r->err) ?
				 strerrorname_np(r->err) : "error");
		else
			snprintf(buf, len, "returned %ld", r->ret);
		break;
	}
	return buf;
}

bool probe_check(const struct probe *pr, enum vs_policy p,
		 const struct probe_result *r)
{
	const struct expect *x = &pr->expect[p];

	switch (x->kind) {
	case EXPECT_KILL:
		return r->outcome == PROBE_KILLED && r->sig == SIGSYS;
	case EXPECT_FAILED_EXEC:
		return r->outcome == PROBE_EXITED && r->status == 127;
	case EXPECT_SUCCESS:
		return r->outcome == PROBE_RETURNED && r->ret >= 0;
	case EXPECT_ERRNO:
		return r->outcome == PROBE_RETURNED && r->ret < 0 &&
		       r->err == x->err;
	}
	return false;
}
