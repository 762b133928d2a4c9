/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * bench_seal_floor UID GID BPF_FILE PROGRAM
 * bench_seal_floor --exit
 *
 * The floor of what sealing one emulator costs, as `make bench` compares
 * vmseal against it: no config, no chain, no runtime directory, no
 * checks, no error reports; only the steps vmseal's `deny` launch cannot
 * leave out, each done once, the cheapest way this file knows:
 *
 *   - being a program linked against the distribution's shared
 *     libraries vmseal needs (the Makefile links this one against the
 *     same set, kept with --no-as-needed, and calls none of them);
 *   - one child in new mount, PID, IPC and UTS namespaces, sharing our
 *     memory until its exec (CLONE_VM | CLONE_VFORK), as PID 1 of its
 *     namespace (no separate init);
 *   - an empty read-only tmpfs as its root (pivot_root, the host's root
 *     detached), a hostname of its own;
 *   - no supplementary groups, the given gid and uid, an empty bounding
 *     set, NO_NEW_PRIVS;
 *   - Landlock handling every filesystem right, with one rule: PROGRAM
 *     may be read and executed, which its exec needs (nothing else
 *     reachable), where the kernel has it;
 *   - the precompiled seccomp program of BPF_FILE (`vmseal filter --bpf`)
 *     loaded with seccomp();
 *   - PROGRAM executed through a descriptor opened beforehand (it is not
 *     in the empty root), then waited for.
 *
 * A step that fails makes the run fail (exit 1, a message on stderr):
 * the floor must do all of them to count.  With --exit it does nothing
 * and exits 0: what being such a program costs (loading, exit) alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <grp.h>

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

extern char **environ;

struct floor {
	uid_t uid;
	gid_t gid;
	struct sock_fprog prog;
	int exe;
	char *argv[2];
};

static void __attribute__((noreturn)) fail(const char *what)
{
	/* In our memory until the exec: write() and _exit() only. */
	char msg[128];
	int n = snprintf(msg, sizeof(msg), "bench_seal_floor: %s: %s\n", what,
			 strerror(errno));

	if (write(2, msg, (size_t)n) < 0)
		_exit(1);
	_exit(1);
}

static int child(void *arg)
{
	const struct floor *f = arg;
	struct {
		uint64_t handled_access_fs;
	} ll = { (1ULL << 13) - 1 }; /* ABI 1's rights: every fs access */
	int rs;

	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		fail("private mounts");
	if (mount("floor", "/tmp", "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV |
					   MS_NOEXEC, "size=4k,nr_inodes=8") < 0)
		fail("tmpfs root");
	if (chdir("/tmp") < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
	    umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		fail("pivot_root");
	if (sethostname("floor", 5) < 0)
		fail("sethostname");
	for (int cap = 0; cap <= 63; cap++) {
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno == EINVAL)
			break;
	}
	if (setgroups(0, NULL) < 0 || setresgid(f->gid, f->gid, f->gid) < 0 ||
	    setresuid(f->uid, f->uid, f->uid) < 0)
		fail("uid change");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		fail("NO_NEW_PRIVS");
	rs = (int)syscall(SYS_landlock_create_ruleset, &ll, sizeof(ll), 0);
	if (rs >= 0) {
		struct __attribute__((packed)) {
			uint64_t allowed_access;
			int32_t parent_fd;
		} exe = { (1ULL << 0) | (1ULL << 2), f->exe }; /* exec reads */

		if (syscall(SYS_landlock_add_rule, rs, 1 /* PATH_BENEATH */,
			    &exe, 0) < 0 ||
		    syscall(SYS_landlock_restrict_self, rs, 0) < 0)
			fail("landlock_restrict_self");
		close(rs);
	} else if (errno != ENOSYS && errno != EOPNOTSUPP) {
		fail("landlock_create_ruleset");
	}
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &f->prog) < 0)
		fail("seccomp");
	syscall(SYS_execveat, f->exe, "", f->argv, environ, AT_EMPTY_PATH);
	fail("execveat");
}

int main(int argc, char **argv)
{
	const size_t stack_size = 64 * 1024;
	struct floor f;
	struct stat st;
	char *stack;
	int fd, status;
	pid_t pid;

	if (argc == 2 && !strcmp(argv[1], "--exit"))
		return 0;
	if (argc != 5) {
		fprintf(stderr, "usage: bench_seal_floor UID GID BPF_FILE PROGRAM | --exit\n");
		return 2;
	}
	f.uid = (uid_t)strtoul(argv[1], NULL, 10);
	f.gid = (gid_t)strtoul(argv[2], NULL, 10);
	fd = open(argv[3], O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0 || st.st_size <= 0 ||
	    st.st_size % sizeof(struct sock_filter) ||
	    st.st_size / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		fprintf(stderr, "bench_seal_floor: %s: not a BPF program\n",
			argv[3]);
		return 1;
	}
	f.prog.len = (unsigned short)(st.st_size / sizeof(struct sock_filter));
	f.prog.filter = malloc((size_t)st.st_size);
	if (!f.prog.filter ||
	    read(fd, f.prog.filter, (size_t)st.st_size) != st.st_size) {
		fprintf(stderr, "bench_seal_floor: %s: short read\n", argv[3]);
		return 1;
	}
	close(fd);
	f.exe = open(argv[4], O_PATH | O_CLOEXEC);
	if (f.exe < 0) {
		perror(argv[4]);
		return 1;
	}
	f.argv[0] = argv[4];
	f.argv[1] = NULL;
	stack = mmap(NULL, stack_size, PROT_READ | PROT_WRITE,
		     MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	pid = clone(child, stack + stack_size,
		    CLONE_VM | CLONE_VFORK | CLONE_NEWNS | CLONE_NEWPID |
			    CLONE_NEWIPC | CLONE_NEWUTS | SIGCHLD,
		    &f);
	if (pid < 0) {
		perror("clone");
		return 1;
	}
	if (waitpid(pid, &status, 0) != pid) {
		perror("waitpid");
		return 1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
