/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Every syscall rule of the emulator's filter, with its reason.
 *
 * The filter allows by default: QEMU needs hundreds of syscalls and a
 * list of them would break with every QEMU and glibc release.  What it
 * must never do is reach a file by its path, or escape the filter, so
 * those calls are listed here.  Newer glibc probes newer syscalls and
 * falls back only on ENOSYS, which is why openat2 and clone3 answer
 * ENOSYS rather than EPERM; rseq, close_range, faccessat2, statx and
 * newfstatat stay allowed because start-up breaks without them.
 *
 * Numbers are x86_64's; i386 and x32 callers never reach these rules
 * (the filter kills foreign-arch calls first).  Numbers above the highest
 * in syscalls_x86_64.c answer ENOSYS (the ceiling, policy.c): a syscall
 * a later kernel adds is refused until someone reviews it here.  Every
 * syscall of that list that names a file by path has a rule below, even
 * when the rule is to allow it (policy_test checks).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <sys/prctl.h>

#include "sandbox/policy.h"

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

#define NS_FLAGS                                                             \
	(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWUSER |         \
	 CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWCGROUP | CLONE_NEWTIME)

#define BROKER(n, num, e, why) { n, num, RULE_BROKER, e, 0, 0, -1, why, false, 0 }
/* An open whose flags are argument fa (the kernel read-only path). */
#define BROKER_OPEN(n, num, e, fa, why) { n, num, RULE_BROKER, e, 0, 0, fa, why, false, 0 }
#define NEVER(n, num, e, why) { n, num, RULE_NEVER, e, 0, 0, -1, why, false, 0 }
#define ERR(n, num, e, why) { n, num, RULE_ERRNO, e, 0, 0, -1, why, false, 0 }
#define KILL(n, num, why) { n, num, RULE_KILL, 0, 0, 0, -1, why, false, 0 }
#define ERR_IF(n, num, e, a, bits, why) { n, num, RULE_ERRNO, e, a, bits, -1, why, false, 0 }
#define ERR_EQ(n, num, e, a, val, why) { n, num, RULE_ERRNO, e, a, 0, -1, why, true, val }
#define ALLOW(n, num, why) { n, num, RULE_ALLOW, 0, 0, 0, -1, why, false, 0 }

const struct filter_rule policy_rules[] = {
	/*
	 * The open family: the only way the emulator gets a new file, and
	 * the one removal QEMU needs (a stale listening socket before bind).
	 */
	BROKER_OPEN("open", 2, EACCES, 1,
		    "opens by path: served by the broker or refused"),
	BROKER_OPEN("openat", 257, EACCES, 2,
		    "opens by path: served by the broker or refused"),
	NEVER("creat", 85, EACCES, "creates by path: never served, even by the broker"),
	BROKER("unlink", 87, EPERM,
	       "removes by path: the broker allows sockets in the guest's runtime directory only"),
	BROKER("unlinkat", 263, EPERM,
	       "removes by path: the broker allows sockets in the guest's runtime directory only"),
	ERR("openat2", 437, ENOSYS,
	    "its how-struct is out of the filter's reach; ENOSYS makes glibc fall back to openat"),
	KILL("open_by_handle_at", 304,
	     "opens any inode of a filesystem from a handle, bypassing paths"),
	KILL("name_to_handle_at", 303,
	     "produces the handles open_by_handle_at takes"),

	/* io_uring's IORING_OP_OPENAT never passes through seccomp. */
	ERR("io_uring_setup", 425, ENOSYS, "IORING_OP_OPENAT bypasses seccomp"),
	ERR("io_uring_enter", 426, ENOSYS, "IORING_OP_OPENAT bypasses seccomp"),
	ERR("io_uring_register", 427, ENOSYS, "IORING_OP_OPENAT bypasses seccomp"),

	/* Reaching the broker's memory or descriptors. */
	KILL("ptrace", 101, "could steal the broker's descriptors or memory"),
	KILL("process_vm_readv", 310, "reads another process's memory"),
	KILL("process_vm_writev", 311, "writes another process's memory"),
	KILL("pidfd_getfd", 438, "copies a descriptor out of another process"),
	KILL("kcmp", 312, "probes other processes' descriptors"),
	KILL("pidfd_open", 434, "first step to pidfd_getfd"),

	/* Giving a passed image another name, or widening races. */
	ERR("link", 86, EPERM, "would give an inherited file a new name"),
	ERR("linkat", 265, EPERM,
	    "with AT_EMPTY_PATH or /proc/self/fd gives a passed image a new name"),
	ERR("userfaultfd", 323, EPERM, "widens time-of-check windows in the broker"),

	/* Changing files by path without opening them. */
	ERR("truncate", 76, EPERM, "changes a file by path"),
	ERR("rename", 82, EPERM, "moves files by path"),
	ERR("renameat", 264, EPERM, "moves files by path"),
	ERR("renameat2", 316, EPERM, "moves files by path"),
	ERR("symlink", 88, EPERM, "plants names that lead elsewhere"),
	ERR("symlinkat", 266, EPERM, "plants names that lead elsewhere"),
	ERR("mknod", 133, EPERM, "creates files and device nodes by path"),
	ERR("mknodat", 259, EPERM, "creates files and device nodes by path"),
	ERR("mkdir", 83, EPERM, "creates directories by path"),
	ERR("mkdirat", 258, EPERM, "creates directories by path"),
	ERR("rmdir", 84, EPERM, "removes directories by path"),
	ERR("chmod", 90, EPERM, "changes modes by path"),
	ERR("fchmodat", 268, EPERM, "changes modes by path"),
	ERR("fchmodat2", 452, EPERM,
	    "changes modes by path (Linux 6.6); libseccomp 2.5 lacks its name"),
	ERR("chown", 92, EPERM, "changes owners by path"),
	ERR("lchown", 94, EPERM, "changes owners by path"),
	ERR("fchownat", 260, EPERM, "changes owners by path"),
	ERR("utime", 132, EPERM, "changes times by path"),
	ERR("utimes", 235, EPERM, "changes times by path"),
	ERR("futimesat", 261, EPERM, "changes times by path"),
	ERR("utimensat", 280, EPERM, "changes times by path"),
	ERR("setxattr", 188, EPERM, "changes attributes (labels) by path"),
	ERR("lsetxattr", 189, EPERM, "changes attributes (labels) by path"),
	ERR("removexattr", 197, EPERM, "changes attributes (labels) by path"),
	ERR("lremovexattr", 198, EPERM, "changes attributes (labels) by path"),
	ERR("setxattrat", 463, EPERM,
	    "changes attributes (labels) by path (Linux 6.13), like setxattr"),
	ERR("removexattrat", 466, EPERM,
	    "removes attributes (labels) by path (Linux 6.13), like removexattr"),
	ERR("file_setattr", 469, EPERM,
	    "changes inode flags (immutable, append-only, project) by path (Linux 6.17)"),
	/*
	 * Read-only, but new: ENOSYS (what a kernel before them says) sends
	 * a caller back to getxattr, listxattr and ioctl(FS_IOC_FSGETXATTR),
	 * which this table already decides on.
	 */
	ERR("getxattrat", 464, ENOSYS,
	    "reads attributes by path (Linux 6.13): ENOSYS falls back to getxattr"),
	ERR("listxattrat", 465, ENOSYS,
	    "lists attributes by path (Linux 6.13): ENOSYS falls back to listxattr"),
	ERR("file_getattr", 468, ENOSYS,
	    "reads inode flags by path (Linux 6.17): ENOSYS falls back to the ioctl"),
	ERR("mq_open", 240, EPERM,
	    "named message queues are objects reached by name, shared by every process of the IPC namespace"),
	ERR("mq_unlink", 241, EPERM, "removes a named message queue"),
	ERR("lsm_set_self_attr", 460, EPERM,
	    "sets the caller's LSM attributes (an exec context) without opening /proc/self/attr (Linux 6.8)"),

	/*
	 * Calls that name a file by path, allowed on purpose: they read no
	 * content and change nothing, and glibc or QEMU needs them (or
	 * what they could reach is closed elsewhere, as said).
	 */
	ALLOW("stat", 4, "metadata by path; no content"),
	ALLOW("lstat", 6, "metadata by path; no content"),
	ALLOW("newfstatat", 262, "metadata by path; glibc's stat"),
	ALLOW("statx", 332, "metadata by path; newer glibc's stat"),
	ALLOW("access", 21, "permission check by path; no content"),
	ALLOW("faccessat", 269, "permission check by path; no content"),
	ALLOW("faccessat2", 439, "permission check by path; newer glibc's access"),
	ALLOW("readlink", 89, "reads a link's text (QEMU reads /proc/self/exe)"),
	ALLOW("readlinkat", 267, "reads a link's text"),
	ALLOW("getxattr", 191, "reads attributes by path; no content"),
	ALLOW("lgetxattr", 192, "reads attributes by path; no content"),
	ALLOW("listxattr", 194, "lists attributes by path; no content"),
	ALLOW("llistxattr", 195, "lists attributes by path; no content"),
	ALLOW("statfs", 137, "filesystem metadata by path; no content"),
	ALLOW("chdir", 80, "moves the working directory; opens nothing"),
	ALLOW("inotify_add_watch", 254, "watches a path for events; no content"),
	ALLOW("fanotify_mark", 301, "needs a descriptor from fanotify_init, refused below"),
	ALLOW("execve", 59,
	      "runs a program by path: the filter and NO_NEW_PRIVS stay, so its loader opens through the broker like the emulator"),
	ALLOW("execveat", 322, "as execve"),
	ALLOW("connect", 42,
	      "a unix socket's path is in a sockaddr the filter cannot read: which sockets exist is the jail's (mount namespace) to decide"),
	ALLOW("bind", 49, "as connect: creates a socket by path, in the emulator's own runtime directory"),
	ALLOW("sendto", 44, "as connect, for datagram sockets"),
	ALLOW("sendmsg", 46, "as connect, for datagram sockets"),
	ALLOW("sendmmsg", 307, "as connect, for datagram sockets"),

	/* Other trees: mounts and namespaces. */
	KILL("mount", 165, "remounts or reaches other trees"),
	KILL("umount2", 166, "changes the mount tree"),
	KILL("pivot_root", 155, "changes the root"),
	KILL("chroot", 161, "changes the root"),
	KILL("open_tree", 428, "new mount API: reaches other trees"),
	KILL("move_mount", 429, "new mount API: reaches other trees"),
	KILL("fsopen", 430, "new mount API: reaches other trees"),
	KILL("fsconfig", 431, "new mount API: reaches other trees"),
	KILL("fsmount", 432, "new mount API: reaches other trees"),
	KILL("fspick", 433, "new mount API: reaches other trees"),
	KILL("mount_setattr", 442, "new mount API: changes mount attributes"),
	KILL("open_tree_attr", 467,
	     "open_tree with attributes (Linux 6.15): without a clone flag an O_PATH descriptor for any path"),
	ERR("statmount", 457, ENOSYS,
	    "describes the mount tree, paths included (Linux 6.8); QEMU has no use for it"),
	ERR("listmount", 458, ENOSYS,
	    "lists the mount tree (Linux 6.8); QEMU has no use for it"),
	ERR("unshare", 272, EPERM, "new namespaces"),
	ERR("setns", 308, EPERM, "joins other namespaces"),
	ERR_IF("clone", 56, EPERM, 0, NS_FLAGS,
	       "with CLONE_NEW* flags creates namespaces; threads and forks stay allowed"),
	ERR("clone3", 435, ENOSYS,
	    "its flags are in memory the filter cannot read; ENOSYS makes glibc fall back to clone"),

	/*
	 * The death signal ties the emulator to its supervisor where no
	 * PID namespace does (wrap mode, no jail): it must not clear it.
	 */
	ERR_EQ("prctl", 157, EPERM, 0, PR_SET_PDEATHSIG,
	       "PR_SET_PDEATHSIG: clearing the death signal would let the emulator outlive its supervisor"),

	/* A newer user-notification filter would take the broker's role. */
	ERR_IF("seccomp", 317, EPERM, 1, SECCOMP_FILTER_FLAG_NEW_LISTENER,
	       "a stacked listener would answer opens instead of the broker"),

	/* Kernel attack surface the emulator has no use for. */
	ERR("bpf", 321, EPERM, "kernel attack surface"),
	ERR("perf_event_open", 298, EPERM, "kernel attack surface"),
	ERR("fanotify_init", 300, EPERM, "watches other files"),
	ERR("keyctl", 250, EPERM, "kernel keyrings"),
	ERR("add_key", 248, EPERM, "kernel keyrings"),
	ERR("request_key", 249, EPERM, "kernel keyrings"),
	ERR("quotactl", 179, EPERM, "filesystem quotas by path"),
	ERR("acct", 163, EPERM, "writes accounting to a path"),
	ERR("swapon", 167, EPERM, "swap by path"),
	ERR("swapoff", 168, EPERM, "swap by path"),
	KILL("kexec_load", 246, "replaces the kernel"),
	KILL("kexec_file_load", 320, "replaces the kernel"),
	KILL("init_module", 175, "loads kernel code"),
	KILL("finit_module", 313, "loads kernel code"),
	KILL("delete_module", 176, "unloads kernel code"),
	KILL("uselib", 134, "maps a library by path"),
	KILL("reboot", 169, "reboots the host"),

	/* The rest of Linux 6.5-6.18's additions, reviewed: allowed. */
	ALLOW("cachestat", 451, "page-cache state of a file the caller holds a descriptor of"),
	ALLOW("map_shadow_stack", 453, "glibc's shadow stacks (CET)"),
	ALLOW("futex_wake", 454, "futexes in the caller's own memory"),
	ALLOW("futex_wait", 455, "futexes in the caller's own memory"),
	ALLOW("futex_requeue", 456, "futexes in the caller's own memory"),
	ALLOW("lsm_get_self_attr", 459, "reads the caller's own LSM attributes"),
	ALLOW("lsm_list_modules", 461, "lists the active LSMs"),
	ALLOW("mseal", 462, "seals the caller's own mappings"),
};

const size_t policy_rules_count = sizeof(policy_rules) / sizeof(policy_rules[0]);
