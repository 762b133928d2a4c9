/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "common/path.h"
#include "sandbox/broker.h"

/* The bits that tell O_SYNC from O_DSYNC and O_TMPFILE from O_DIRECTORY. */
#define SYNC_BIT (O_SYNC & ~O_DSYNC)
#define TMPFILE_BIT (O_TMPFILE & ~O_DIRECTORY)

#define NR_OPEN 2
#define NR_UNLINK 87
#define NR_OPENAT 257
#define NR_UNLINKAT 263

/* Status flags a served descriptor may carry; anything else is dropped. */
#define PASS_STATUS_FLAGS (O_NONBLOCK | O_DIRECT | O_DSYNC | O_SYNC | O_LARGEFILE)

static long sys_openat2(int dirfd, const char *path, struct open_how *how)
{
	return syscall(SYS_openat2, dirfd, path, how, sizeof(*how));
}

/* Linux 6.6: wake the waiting task on our CPU when we answer (not in
 * the headers of every distribution yet). */
#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif
#ifndef SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
#define SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP (1UL << 0)
#endif

int broker_sync_wakeups(int notify_fd)
{
	/*
	 * The emulator waits for every answer: a synchronous wake-up spares
	 * a round trip through the scheduler.  Older kernels say EINVAL and
	 * keep the usual one.
	 */
	if (ioctl(notify_fd, SECCOMP_IOCTL_NOTIF_SET_FLAGS,
		  SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP) < 0)
		return -errno;
	return 0;
}

void broker_set_listener(struct broker *b, int notify_fd)
{
	b->notify_fd = notify_fd;
	if (notify_fd >= 0)
		(void)broker_sync_wakeups(notify_fd);
}

/*
 * The user-notification calls, straight to the kernel (vmseal does not
 * link libseccomp): each returns 0 or -errno.
 */
static int notif_recv(int fd, struct seccomp_notif *req)
{
	return ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, req) < 0 ? -errno : 0;
}

static int notif_send(int fd, struct seccomp_notif_resp *resp)
{
	return ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, resp) < 0 ? -errno : 0;
}

static int notif_id_valid(int fd, __u64 id)
{
	return ioctl(fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) < 0 ? -errno : 0;
}

/* Buffers as large as the running kernel's structures, zeroed. */
static int notif_alloc(struct broker *b)
{
	struct seccomp_notif_sizes sz = { 0 };

	if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sz) < 0)
		return -errno;
	b->req_size = sz.seccomp_notif > sizeof(struct seccomp_notif) ?
			      sz.seccomp_notif : sizeof(struct seccomp_notif);
	b->resp_size = sz.seccomp_notif_resp > sizeof(struct seccomp_notif_resp) ?
			       sz.seccomp_notif_resp :
			       sizeof(struct seccomp_notif_resp);
	b->req = calloc(1, b->req_size);
	b->resp = calloc(1, b->resp_size);
	if (!b->req || !b->resp) {
		free(b->req);
		free(b->resp);
		b->req = b->resp = NULL;
		return -ENOMEM;
	}
	return 0;
}

int broker_init(struct broker *b, int notify_fd, const struct allowlist *al,
		const struct devino *deny, size_t n_deny, struct vs_err *err)
{
	int rc;

	memset(b, 0, sizeof(*b));
	broker_set_listener(b, notify_fd);
	b->run_fd = -1;
	b->self_fd_dir = -1;
	b->page = sysconf(_SC_PAGESIZE);
	for (int i = 0; i < BROKER_MEM_CACHE; i++)
		b->mem[i].fd = -1;
	b->allow = al;
	b->deny = deny;
	b->n_deny = n_deny;
	b->proc_fd = open("/proc", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (b->proc_fd < 0)
		return vs_errnof(err, errno, "opening /proc");
	b->self_fd_dir = openat(b->proc_fd, "self/fd",
				O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (b->self_fd_dir < 0) {
		rc = -errno;
		close(b->proc_fd);
		b->proc_fd = -1;
		return vs_errnof(err, -rc, "opening /proc/self/fd");
	}
	rc = notif_alloc(b);
	if (rc < 0) {
		close(b->proc_fd);
		close(b->self_fd_dir);
		b->proc_fd = b->self_fd_dir = -1;
		return vs_errnof(err, -rc, "allocating notification buffers");
	}
	return 0;
}

int broker_reopen_self(struct broker *b, struct vs_err *err)
{
	int fd = openat(b->proc_fd, "self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (fd < 0)
		return vs_errnof(err, errno, "opening /proc/self/fd");
	close(b->self_fd_dir);
	b->self_fd_dir = fd;
	return 0;
}

void broker_fini(struct broker *b)
{
	free(b->req);
	free(b->resp);
	/*
	 * Descriptors exist once broker_init() ran (page is set then); a
	 * zeroed broker that never served (policy deny) holds none, not 0.
	 */
	if (b->page && b->proc_fd >= 0)
		close(b->proc_fd);
	if (b->page && b->self_fd_dir >= 0)
		close(b->self_fd_dir);
	if (b->page && b->run_fd >= 0)
		close(b->run_fd);
	for (int i = 0; b->page && i < BROKER_MEM_CACHE; i++) {
		if (b->mem[i].fd >= 0)
			close(b->mem[i].fd);
		b->mem[i].fd = -1;
	}
	free(b->run_path);
	b->run_path = NULL;
	b->req = b->resp = NULL;
	b->proc_fd = b->run_fd = b->self_fd_dir = -1;
}

/* A name in the runtime directory that vmseal keeps (its own sockets). */
static bool kept(const struct broker *b, const char *name)
{
	for (const char *const *k = b->keep; k && *k; k++)
		if (!strcmp(name, *k))
			return true;
	return false;
}

int broker_set_run_dir(struct broker *b, const char *dir,
		       const char *const *keep, struct vs_err *err)
{
	b->run_path = path_normalize(dir);
	if (!b->run_path)
		return vs_errf(err, EINVAL, "runtime directory %s is not absolute",
			       dir);
	b->run_fd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (b->run_fd < 0)
		return vs_errnof(err, errno, "opening %s", dir);
	b->keep = keep;
	return 0;
}

const char *open_flags_str(int flags, char *buf, size_t len)
{
	static const struct {
		int bit;
		const char *name;
	} names[] = {
		{ O_CREAT, "O_CREAT" }, { O_EXCL, "O_EXCL" },
		{ O_NOCTTY, "O_NOCTTY" }, { O_TRUNC, "O_TRUNC" },
		{ O_APPEND, "O_APPEND" }, { O_NONBLOCK, "O_NONBLOCK" },
		{ O_DSYNC, "O_DSYNC" }, { O_DIRECT, "O_DIRECT" },
		{ O_LARGEFILE, "O_LARGEFILE" }, { O_DIRECTORY, "O_DIRECTORY" },
		{ O_NOFOLLOW, "O_NOFOLLOW" }, { O_NOATIME, "O_NOATIME" },
		{ O_CLOEXEC, "O_CLOEXEC" }, { O_PATH, "O_PATH" },
		{ SYNC_BIT, "O_SYNC" }, { TMPFILE_BIT, "O_TMPFILE" },
	};
	const char *acc[] = { "O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE" };
	size_t o;
	int rest = flags & ~O_ACCMODE;

	o = (size_t)snprintf(buf, len, "%s", acc[flags & O_ACCMODE]);
	for (size_t i = 0; i < ARRAY_SIZE(names) && o < len; i++) {
		if (!(rest & names[i].bit))
			continue;
		rest &= ~names[i].bit;
		o += (size_t)snprintf(buf + o, len - o, "|%s", names[i].name);
	}
	if (rest && o < len)
		snprintf(buf + o, len - o, "|0x%x", (unsigned)rest);
	return buf;
}

/* /proc/PID/{fd,root,...} reach other files or trees whatever the path. */
static bool is_magic_proc_path(const char *norm)
{
	static const char *const bad[] = { "fd", "fdinfo", "root", "cwd", "exe",
					   "map_files", "mem", NULL };
	const char *p;

	if (path_is_beneath(norm, "/dev/fd") || !strcmp(norm, "/dev/stdin") ||
	    !strcmp(norm, "/dev/stdout") || !strcmp(norm, "/dev/stderr"))
		return true;
	if (!path_is_beneath(norm, "/proc"))
		return false;
	for (p = norm; *p; p++) {
		if (*p != '/')
			continue;
		for (const char *const *b = bad; *b; b++) {
			size_t n = strlen(*b);

			if (!strncmp(p + 1, *b, n) && (p[1 + n] == '/' || !p[1 + n]))
				return true;
		}
	}
	return false;
}

static const struct allow_entry *refuse(int e, const char *why, int *error,
					const char **reason)
{
	*error = e;
	*reason = why;
	return NULL;
}

const struct allow_entry *broker_check(const struct allowlist *al,
				       const char *path, int flags, char *norm,
				       size_t norm_len, int *error,
				       const char **reason)
{
	_cleanup_free_ char *n = NULL;
	const struct allow_entry *e;
	bool proc_self = false;

	if (path[0] != '/')
		return refuse(EACCES, "relative path", error, reason);
	n = path_normalize(path);
	if (!n || strlen(n) >= norm_len)
		return refuse(EACCES, "path climbs above /", error, reason);
	/* The broker's /proc/self is not the emulator's. */
	if (path_is_beneath(n, "/proc/thread-self")) {
		snprintf(norm, norm_len, "/proc/self%s",
			 n + strlen("/proc/thread-self"));
		proc_self = true;
	} else {
		snprintf(norm, norm_len, "%s", n);
		proc_self = path_is_beneath(n, "/proc/self");
	}
	if (is_magic_proc_path(norm))
		return refuse(EACCES, "descriptor or root link of a process",
			      error, reason);
	if ((flags & (O_PATH | TMPFILE_BIT)) ||
	    (flags & (O_CREAT | O_TRUNC | O_APPEND)))
		return refuse(EACCES, "write, create or path-only flags", error,
			      reason);
	/* The broker runs as root: /proc/PID of anybody is not served. */
	if (!strncmp(norm, "/proc/", 6) && norm[6] >= '0' && norm[6] <= '9')
		return refuse(EACCES, "a process's /proc entry", error, reason);
	e = allowlist_match(al, norm);
	if (proc_self && (!e || e->kind != ALLOW_PROC_SELF))
		return refuse(EACCES, "not an allowed /proc/self file", error,
			      reason);
	if (!e)
		return refuse(EACCES, "not on the allowlist", error, reason);
	if ((flags & O_ACCMODE) != O_RDONLY &&
	    !(e->kind == ALLOW_DEV && e->rw && (flags & O_ACCMODE) == O_RDWR))
		return refuse(EACCES, "not a read-only open", error, reason);
	return e;
}

static bool may_read(const struct broker *b, const struct stat *st)
{
	if (b->emu_uid == 0)
		return true;
	/* The kernel's order: owner bits, then group bits, then other's. */
	if (st->st_uid == b->emu_uid)
		return st->st_mode & S_IRUSR;
	if (st->st_gid == b->emu_gid)
		return st->st_mode & S_IRGRP;
	for (size_t i = 0; i < b->n_emu_groups; i++) {
		if (st->st_gid == b->emu_groups[i])
			return st->st_mode & S_IRGRP;
	}
	return st->st_mode & S_IROTH;
}

static bool in_chain(const struct broker *b, const struct stat *st)
{
	for (size_t i = 0; i < b->n_deny; i++) {
		if (b->deny[i].dev == st->st_dev && b->deny[i].ino == st->st_ino)
			return true;
	}
	return false;
}

/*
 * Opens what a request names, on the broker's side.  First an O_PATH
 * descriptor (no side effects, even on a FIFO or device), then every check
 * on the inode it reached, then the real open through that descriptor, so
 * the file checked is the file served.
 */
static int open_served(struct broker *b, const struct allow_entry *e,
		       const char *norm, int flags, pid_t pid,
		       const char **reason)
{
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC | (flags & O_NOFOLLOW),
		.resolve = RESOLVE_NO_MAGICLINKS,
	};
	_cleanup_fd_ int pfd = -1;
	char buf[PATH_MAX], self[64];
	const char *p = norm;
	int dirfd = AT_FDCWD;
	bool beneath = false;
	struct stat st;
	int fd;

	if (e->kind == ALLOW_PROC_SELF) {
		snprintf(buf, sizeof(buf), "%d/%s", pid,
			 norm + strlen("/proc/self/"));
		p = buf;
		dirfd = b->proc_fd;
		how.resolve |= RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
	} else if (e->kind == ALLOW_DEV) {
		how.resolve |= RESOLVE_NO_SYMLINKS;
	}
	/*
	 * Beneath the entry's own directory first: a symlink that stays
	 * inside it (a library's soname) is fine, and where the open ends
	 * up needs no second look.  One leading out (EXDEV) or a spelled
	 * path the directory does not answer gets the full resolution and
	 * the location check below.
	 */
	if ((e->kind == ALLOW_DIR || e->kind == ALLOW_FILE) && e->fd >= 0) {
		struct open_how bh = {
			.flags = how.flags,
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS |
				   (e->kind == ALLOW_FILE ? RESOLVE_NO_SYMLINKS : 0),
		};
		const char *rest = e->kind == ALLOW_FILE ? e->base :
				   path_is_beneath(norm, e->path) ?
					   path_rest(norm, e->path) :
					   path_rest(norm, e->real);

		pfd = (int)sys_openat2(e->fd, *rest ? rest : ".", &bh);
		if (pfd < 0 && errno != EXDEV && errno != ELOOP) {
			*reason = NULL; /* not a refusal: the file cannot be had */
			return -errno;
		}
		beneath = pfd >= 0;
	}
	if (pfd < 0)
		pfd = (int)sys_openat2(dirfd, p, &how);
	if (pfd < 0) {
		*reason = NULL; /* not a refusal: the file cannot be had */
		return -errno;
	}
	if (fstat(pfd, &st) < 0) {
		*reason = "cannot be examined";
		return -errno;
	}
	if (e->kind == ALLOW_DEV) {
		if (!S_ISCHR(st.st_mode) || st.st_rdev != e->rdev) {
			*reason = "not the expected device";
			return -EACCES;
		}
	} else if (!S_ISREG(st.st_mode)) {
		*reason = S_ISDIR(st.st_mode) ? "a directory" :
						"not a regular file";
		return -EACCES;
	}
	if ((e->kind == ALLOW_DIR || e->kind == ALLOW_FILE) && !beneath) {
		ssize_t n;

		/* Where a symlink led counts, not how the path was spelled. */
		snprintf(self, sizeof(self), "%d", pfd);
		n = readlinkat(b->self_fd_dir, self, buf, sizeof(buf) - 1);
		if (n < 0) {
			*reason = "cannot be located";
			return -EACCES;
		}
		buf[n] = '\0';
		if (!allowlist_covers(b->allow, buf)) {
			*reason = "leads outside the allowlist";
			return -EACCES;
		}
	}
	if (in_chain(b, &st)) {
		*reason = "an image of the chain";
		return -EACCES;
	}
	if (e->kind != ALLOW_DEV && e->kind != ALLOW_PROC_SELF &&
	    !may_read(b, &st)) {
		*reason = "not readable by the emulator's user";
		return -EACCES;
	}
	/* The same inode, opened for real: its number in /proc/self/fd. */
	snprintf(self, sizeof(self), "%d", pfd);
	fd = openat(b->self_fd_dir, self,
		    (flags & (O_ACCMODE | PASS_STATUS_FLAGS)) | O_CLOEXEC |
			    O_NOCTTY);
	if (fd < 0) {
		*reason = NULL;
		return -errno;
	}
	return fd;
}

/*
 * Copies the path argument out of the caller's memory.  Reads stop at a
 * page end so an unmapped next page cannot fail a short path.
 */
static int read_path_from(struct broker *b, int mem, unsigned long addr,
			  char *out, size_t len);

/*
 * The caller's memory, kept open per thread: a descriptor left from an
 * earlier task of that number (or from before an exec) reads nothing,
 * never another process's bytes, and is then opened afresh.
 */
static int mem_fd(struct broker *b, pid_t pid, bool fresh)
{
	char name[32];
	int slot = -1, fd;

	for (int i = 0; i < BROKER_MEM_CACHE; i++) {
		if (b->mem[i].fd >= 0 && b->mem[i].pid == pid) {
			if (!fresh)
				return b->mem[i].fd;
			slot = i;
			break;
		}
	}
	if (slot < 0) {
		slot = b->mem_next;
		b->mem_next = (b->mem_next + 1) % BROKER_MEM_CACHE;
	}
	if (b->mem[slot].fd >= 0)
		close(b->mem[slot].fd);
	b->mem[slot].fd = -1;
	snprintf(name, sizeof(name), "%d/mem", pid);
	fd = openat(b->proc_fd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	b->mem[slot].fd = fd;
	b->mem[slot].pid = pid;
	return fd;
}

int broker_read_path(struct broker *b, pid_t pid, unsigned long addr,
		     char *out, size_t len)
{
	int rc = read_path_from(b, mem_fd(b, pid, false), addr, out, len);

	if (rc == -EFAULT || rc == -EIO || rc == -ESRCH || rc == -EBADF)
		rc = read_path_from(b, mem_fd(b, pid, true), addr, out, len);
	return rc;
}

static int read_path_from(struct broker *b, int mem, unsigned long addr,
			  char *out, size_t len)
{
	size_t got = 0;
	long page = b->page;

	if (mem < 0)
		return mem;
	while (got < len) {
		unsigned long at = addr + got;
		size_t chunk = (size_t)(page - (long)(at % (unsigned long)page));
		ssize_t r;

		if (chunk > len - got)
			chunk = len - got;
		r = pread(mem, out + got, chunk, (off_t)at);
		if (r <= 0)
			return r < 0 && errno != EIO ? -errno : -EFAULT;
		if (memchr(out + got, '\0', (size_t)r))
			return 0;
		got += (size_t)r;
	}
	return -ENAMETOOLONG;
}

static void respond_error(struct broker *b, int error)
{
	struct seccomp_notif *req = b->req;
	struct seccomp_notif_resp *resp = b->resp;

	memset(resp, 0, b->resp_size);
	resp->id = req->id;
	resp->error = -error;
	/* ENOENT: the caller died meanwhile; nothing to answer. */
	(void)notif_send(b->notify_fd, resp);
}

/* Whether allowing a refused read-only open would be safe to suggest. */
static bool allowable(const struct broker *b, const char *norm, int flags)
{
	struct stat st;

	if ((flags & O_ACCMODE) != O_RDONLY || path_is_beneath(norm, "/proc") ||
	    path_is_beneath(norm, "/sys") || path_is_beneath(norm, "/dev"))
		return false;
	if (fstatat(AT_FDCWD, norm, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return false;
	return S_ISREG(st.st_mode) && !in_chain(b, &st);
}

/*
 * One of the output files vmseal opened for the emulator, asked for by
 * its exact path: a copy of vmseal's descriptor for a write-only open,
 * a refusal for anything else.  false when path names none of them.
 */
static bool served_output(struct broker *b, struct broker_event *ev, int *fd)
{
	_cleanup_free_ char *n = NULL;

	if (!b->n_out || ev->path[0] != '/')
		return false;
	n = path_normalize(ev->path);
	for (size_t i = 0; n && i < b->n_out; i++) {
		if (strcmp(n, b->out_paths[i]))
			continue;
		snprintf(ev->norm, sizeof(ev->norm), "%s", n);
		if ((ev->flags & O_ACCMODE) != O_WRONLY ||
		    (ev->flags & (O_DIRECTORY | O_PATH))) {
			ev->error = EACCES;
			ev->reason = "an output file: opened write-only, never read";
			*fd = -EACCES;
			return true;
		}
		*fd = fcntl(b->out_fds[i], F_DUPFD_CLOEXEC, 0);
		if (*fd < 0) {
			ev->error = errno;
			ev->reason = NULL;
			*fd = -ev->error;
		}
		return true;
	}
	return false;
}

/* Returns the fd to pass, or -errno with ev's reason set (NULL: a failure). */
static int decide_open(struct broker *b, struct broker_event *ev)
{
	const struct allow_entry *e;
	int fd;

	if (served_output(b, ev, &fd))
		return fd;

	e = broker_check(b->allow, ev->path, ev->flags, ev->norm,
			 sizeof(ev->norm), &ev->error, &ev->reason);
	if (!e) {
		ev->allowable = ev->norm[0] && allowable(b, ev->norm, ev->flags) &&
				!strcmp(ev->reason, "not on the allowlist");
		return -ev->error;
	}
	fd = open_served(b, e, ev->norm, ev->flags, ev->pid, &ev->reason);
	if (fd < 0)
		ev->error = -fd;
	return fd;
}

/* Removes dir/name if it is a socket; 0, -errno (ENOENT when absent). */
static int unlink_socket(int dirfd, const char *name, struct broker_event *ev)
{
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		ev->reason = NULL;
		return -errno;
	}
	if (!S_ISSOCK(st.st_mode))
		return -EPERM;
	if (unlinkat(dirfd, name, 0) < 0) {
		ev->reason = NULL;
		return -errno;
	}
	return 0;
}

/* One of the socket paths the command line names, exactly. */
static int unlink_named(struct broker *b, struct broker_event *ev,
			const char *n)
{
	_cleanup_free_ char *dir = path_dirname(n);
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	_cleanup_fd_ int dirfd = -1;

	dirfd = (int)sys_openat2(AT_FDCWD, dir, &how);
	if (dirfd < 0) {
		ev->reason = NULL;
		return -errno;
	}
	return unlink_socket(dirfd, strrchr(n, '/') + 1, ev);
}

/*
 * unlink of a socket directly in the runtime directory, or of a socket
 * path the command line names; a missing name is ENOENT there, as it
 * would be.  Returns 0 or -errno, reason set on a refusal.
 */
static int do_unlink(struct broker *b, struct broker_event *ev)
{
	const char *rest;
	_cleanup_free_ char *n = NULL;

	ev->reason = "not a socket in the guest's runtime directory";
	if (ev->flags) {
		ev->reason = ev->flags & AT_REMOVEDIR ? "removing a directory" :
							"unknown unlinkat flags";
		return -EPERM;
	}
	n = ev->path[0] == '/' ? path_normalize(ev->path) : NULL;
	if (!n)
		return -EPERM;
	snprintf(ev->norm, sizeof(ev->norm), "%s", n);
	for (size_t i = 0; i < b->n_sockets; i++) {
		_cleanup_free_ char *s = path_normalize(b->sockets[i]);

		if (s && !strcmp(s, n) && strcmp(n, "/"))
			return unlink_named(b, ev, n);
	}
	if (b->run_fd < 0 || !path_is_beneath(n, b->run_path))
		return -EPERM;
	rest = path_rest(n, b->run_path);
	if (!*rest || strchr(rest, '/') || kept(b, rest))
		return -EPERM;
	return unlink_socket(b->run_fd, rest, ev);
}

static void respond_ok(struct broker *b)
{
	struct seccomp_notif *req = b->req;
	struct seccomp_notif_resp *resp = b->resp;

	memset(resp, 0, b->resp_size);
	resp->id = req->id;
	(void)notif_send(b->notify_fd, resp);
}

/* Hands fd to the caller as its syscall's result; 0, or -ENOENT if gone. */
static int send_fd(struct broker *b, int fd, int flags)
{
	struct seccomp_notif *req = b->req;
	struct seccomp_notif_addfd add = {
		.id = req->id,
		.flags = SECCOMP_ADDFD_FLAG_SEND,
		.srcfd = (__u32)fd,
		.newfd_flags = (__u32)(flags & O_CLOEXEC),
	};
	int rc = ioctl(b->notify_fd, SECCOMP_IOCTL_NOTIF_ADDFD, &add);

	return rc < 0 ? -errno : 0;
}

int broker_handle(struct broker *b, struct broker_event *ev)
{
	struct seccomp_notif *req = b->req;
	unsigned long path_addr;
	int rc;

	/* The kernel refuses a buffer that is not zeroed. */
	memset(req, 0, b->req_size);
	rc = notif_recv(b->notify_fd, req);
	if (rc < 0)
		return rc == -ENOENT || rc == -EINTR ? 0 : rc;

	memset(ev, 0, sizeof(*ev));
	ev->pid = (pid_t)req->pid;
	switch (req->data.nr) {
	case NR_OPEN:
		ev->syscall = "open";
		path_addr = req->data.args[0];
		ev->flags = (int)req->data.args[1];
		break;
	case NR_OPENAT:
		ev->syscall = "openat";
		path_addr = req->data.args[1];
		ev->flags = (int)req->data.args[2];
		break;
	case NR_UNLINK:
		ev->syscall = "unlink";
		ev->is_unlink = true;
		path_addr = req->data.args[0];
		break;
	case NR_UNLINKAT:
		ev->syscall = "unlinkat";
		ev->is_unlink = true;
		path_addr = req->data.args[1];
		ev->flags = (int)req->data.args[2];
		break;
	default:
		ev->syscall = "?";
		ev->error = ENOSYS;
		ev->reason = "not a call the broker serves";
		goto deny;
	}
	rc = (b->read_path ?: broker_read_path)(b, ev->pid, path_addr, ev->path,
						sizeof(ev->path));
	/* The path is only trusted once the caller is known still waiting. */
	if (notif_id_valid(b->notify_fd, req->id) < 0)
		return 0;
	if (rc < 0) {
		ev->error = rc == -ENAMETOOLONG ? ENAMETOOLONG : EFAULT;
		ev->reason = "unreadable path";
		ev->path[0] = '\0';
		goto deny;
	}
	if (b->locked) {
		ev->error = ev->is_unlink ? EPERM : EACCES;
		ev->reason = "the broker is locked";
		goto deny;
	}
	if (ev->is_unlink) {
		rc = do_unlink(b, ev);
		if (rc == 0) {
			respond_ok(b);
			ev->served = true;
			b->served++;
			return 1;
		}
		ev->error = -rc;
		if (!ev->reason) {
			ev->reason = strerror(ev->error);
			goto fail;
		}
		goto deny;
	}
	rc = decide_open(b, ev);
	if (rc < 0) {
		if (!ev->reason) {
			ev->reason = strerror(ev->error);
			goto fail;
		}
		goto deny;
	}
	{
		int fd = rc;

		rc = send_fd(b, fd, ev->flags);
		close(fd);
	}
	if (rc == -ENOENT)
		return 0;
	if (rc < 0) {
		ev->error = -rc;
		ev->reason = "descriptor could not be passed";
		goto deny;
	}
	ev->served = true;
	b->served++;
	return 1;
deny:
	ev->refused = true;
	b->denied++;
fail:
	respond_error(b, ev->error);
	return 1;
}
