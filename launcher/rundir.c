/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "common/path.h"
#include "common/xalloc.h"
#include "launcher/rundir.h"

const char *rundir_base(void)
{
	const char *env = getenv("VMSEAL_RUN_DIR");

	return env && env[0] == '/' ? env : RUNDIR_DEFAULT;
}

char *rundir_path(const char *name)
{
	return xasprintf("%s/%s", rundir_base(), name);
}

char *rundir_wrap_base(void)
{
	if (geteuid() == 0)
		return xstrdup(rundir_base());
	return xasprintf("%s/%s/%u", rundir_base(), RUNDIR_WRAP,
			 (unsigned)geteuid());
}

char *rundir_find(const char *name)
{
	_cleanup_free_ char *wrap = xasprintf("%s/%s", rundir_base(),
					      RUNDIR_WRAP);
	_cleanup_free_ char *own = rundir_path(name);
	DIR *d;
	struct dirent *e;
	char *found = NULL;

	if (access(own, F_OK) == 0 || !(d = opendir(wrap)))
		return xstrdup(rundir_base());
	while (!found && (e = readdir(d))) {
		_cleanup_free_ char *dir = NULL;
		struct stat st;
		char *end;
		unsigned long uid = strtoul(e->d_name, &end, 10);

		if (e->d_name[0] == '.' || *end)
			continue;
		dir = xasprintf("%s/%s", wrap, e->d_name);
		/* Only BASE/wrap/UID owned by UID: the user's own. */
		if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) ||
		    st.st_uid != uid)
			continue;
		_cleanup_free_ char *sub = xasprintf("%s/%s", dir, name);

		if (access(sub, F_OK) == 0)
			found = steal_ptr(&dir);
	}
	closedir(d);
	return found ? found : xstrdup(rundir_base());
}

/*
 * A directory vmseal trusts: really a directory (no symlink), owned by
 * us (or by owner, the guest's user), writable by nobody else.
 */
static int open_trusted_dir(int at, const char *name, uid_t owner,
			    mode_t mode, struct vs_err *err)
{
	struct stat st;
	int fd;

	if (mkdirat(at, name, mode) < 0 && errno != EEXIST)
		return vs_errnof(err, errno, "cannot create %s", name);
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return vs_errnof(err, errno, "cannot open %s", name);
	if (fstat(fd, &st) < 0 ||
	    (st.st_uid != geteuid() && st.st_uid != owner) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		close(fd);
		return vs_errf(err, EPERM,
			       "%s must be a directory owned by uid %u and "
			       "writable by nobody else",
			       name, (unsigned)owner);
	}
	return fd;
}

/*
 * "NAME" of a registration file ".NAME.id" into buf; false for any other
 * entry of the base directory.
 */
static bool id_file_name(const char *entry, char *buf, size_t len)
{
	size_t n = strlen(entry);

	if (entry[0] != '.' || n < 5 || strcmp(entry + n - 3, ".id") ||
	    n - 4 >= len)
		return false;
	snprintf(buf, len, "%.*s", (int)(n - 4), entry + 1);
	return true;
}

/*
 * Under the base directory's identity lock: -EUSERS when a running guest
 * other than name has o->uid and not both share it.  A registration
 * nobody holds locked is left over from a crash and removed.
 */
static int uid_in_use(int base_fd, const char *name,
		      const struct rundir_owner *o, struct vs_err *err)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *e;
	int dfd = dup(base_fd);

	if (dfd < 0 || !(d = fdopendir(dfd))) {
		if (dfd >= 0)
			close(dfd);
		return vs_errnof(err, errno, "cannot list the runtime directories");
	}
	while ((e = readdir(d))) {
		char other[NAME_MAX + 1], buf[64];
		unsigned uid = 0, gid = 0;
		int share = 0, fd;
		ssize_t n;

		if (!id_file_name(e->d_name, other, sizeof(other)) ||
		    !strcmp(other, name))
			continue;
		fd = openat(base_fd, e->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
			unlinkat(base_fd, e->d_name, 0);
			close(fd);
			continue;
		}
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		if (sscanf(buf, "%u %u %d", &uid, &gid, &share) != 3 ||
		    uid != (unsigned)o->uid || (share && o->share))
			continue;
		return vs_errf(err, EUSERS,
			       "uid %u is already the emulator's uid of running guest "
			       "%s: two running guests never share a uid unless both "
			       "configs say share-user = yes (or leave out 'user' and "
			       "each guest gets a uid of its own)",
			       (unsigned)o->uid, other);
	}
	return 0;
}

/* Refuses a uid another running guest has; else registers ours. */
static int register_uid(const char *base, int base_fd, const char *name,
			const struct rundir_owner *o, struct rundir *rd,
			struct vs_err *err)
{
	_cleanup_fd_ int lock = -1;
	char file[NAME_MAX + 1], line[64];
	int rc, n;

	lock = openat(base_fd, ".identity.lock",
		      O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lock < 0 || flock(lock, LOCK_EX) < 0)
		return vs_errnof(err, errno, "cannot lock %s/.identity.lock",
				 base);
	rc = uid_in_use(base_fd, name, o, err);
	if (rc < 0)
		return rc;
	snprintf(file, sizeof(file), ".%s.id", name);
	rd->id_fd = openat(base_fd, file, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
			   0600);
	if (rd->id_fd < 0)
		return vs_errnof(err, errno, "cannot create %s/%s", base, file);
	rd->id_path = xasprintf("%s/%s", base, file);
	/*
	 * We hold RUN/NAME's lock: nobody else registers this name.  Written
	 * over, then cut to its length: a truncation to 0 would make ext4
	 * flush the file at close (auto_da_alloc), and the removal at exit
	 * then wait for that write and its discard (0.3-12 ms measured).
	 */
	n = snprintf(line, sizeof(line), "%u %u %d\n", (unsigned)o->uid,
		     (unsigned)o->gid, o->share ? 1 : 0);
	if (flock(rd->id_fd, LOCK_EX | LOCK_NB) < 0 ||
	    pwrite(rd->id_fd, line, (size_t)n, 0) != n ||
	    ftruncate(rd->id_fd, n) < 0)
		return vs_errnof(err, errno ? errno : EIO,
				 "cannot register uid %u in %s",
				 (unsigned)o->uid, rd->id_path);
	return 0;
}

/*
 * The sockets the emulator left (QEMU removes its -qmp socket when it
 * shuts down cleanly, not when it fails or is killed).  Only sockets, and
 * unlinkat() does not follow links: the directory is the emulator's.
 */
static bool remove_sockets(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	bool only_lock = true;
	struct dirent *e;
	struct stat st;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    !strcmp(e->d_name, "vmseal.lock"))
			continue;
		if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISSOCK(st.st_mode) && unlinkat(dirfd, e->d_name, 0) == 0)
			continue;
		only_lock = false;
	}
	closedir(d);
	return only_lock;
}

/*
 * Whether the directory just locked is still RUN/NAME: a run that ends
 * removes an empty RUN/NAME while it holds the lock, and a start that
 * opened it before must then try again.
 */
static bool still_linked(int base_fd, const char *name, const struct rundir *rd)
{
	struct stat a, b;

	return fstat(rd->fd, &a) == 0 &&
	       fstatat(base_fd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
	       a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int rundir_take(const char *base, const char *name,
		const struct rundir_owner *o, struct rundir *rd,
		struct vs_err *err)
{
	_cleanup_fd_ int base_fd = -1;
	int tries = 0;
	pid_t other;
	int rc;

	if (!base)
		base = rundir_base();
	memset(rd, 0, sizeof(*rd));
	rd->fd = rd->id_fd = -1;
	rd->path = xasprintf("%s/%s", base, name);
	vs_err_ctx(err, "%s", rd->path);
	base_fd = open_trusted_dir(AT_FDCWD, base, geteuid(), 0755, err);
	if (base_fd < 0)
		goto fail;
again:
	rc = open_trusted_dir(base_fd, name, o->uid, 0700, err);
	if (rc < 0)
		goto fail;
	rd->fd = rc;
	/*
	 * The lock is the directory itself: the emulator's uid owns it and
	 * could remove a lock file in it (then a second run would take a
	 * fresh one and start the guest twice), but not the directory, in
	 * RUN, which is root's.  And one file less to create a launch
	 * (0.1 ms on ext4).
	 */
	if (flock(rd->fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		if (e == EWOULDBLOCK &&
		    rundir_read_pid_in(base, name, RUNDIR_PID, &other) == 0)
			vs_errf(err, EBUSY, "guest %s is already running (vmseal pid %d)",
				name, (int)other);
		else if (e == EWOULDBLOCK)
			vs_errf(err, EBUSY, "guest %s is already running", name);
		else
			vs_errnof(err, e, "cannot lock %s", rd->path);
		goto fail;
	}
	if (!still_linked(base_fd, name, rd)) {
		/* Removed by the run that just ended: start over. */
		close(rd->fd);
		rd->fd = -1;
		if (++tries < 10)
			goto again;
		vs_errf(err, EAGAIN, "the runtime directory keeps vanishing");
		goto fail;
	}
	rd->held = true;
	if (o->exclusive && register_uid(base, base_fd, name, o, rd, err) < 0)
		goto fail;
	/*
	 * The emulator makes its sockets here, and nowhere else; no group or
	 * other bits, so no other guest reaches them (or binds here).
	 */
	if (fchown(rd->fd, o->uid, o->gid) < 0 || fchmod(rd->fd, 0700) < 0) {
		vs_errnof(err, errno, "cannot give the directory to uid %u",
			  (unsigned)o->uid);
		goto fail;
	}
	return 0;
fail:
	rc = -err->code;
	rundir_release(rd);
	return rc;
}

int rundir_open_to_group(const struct rundir *rd, gid_t gid,
			 struct vs_err *err)
{
	/* The group first: 0710 must never apply to the emulator's gid. */
	if (fchown(rd->fd, (uid_t)-1, gid) < 0 || fchmod(rd->fd, 0710) < 0)
		return vs_errnof(err, errno, "%s: cannot open it to group %u",
				 rd->path, (unsigned)gid);
	return 0;
}

/* "PID\n" into dirfd/file through a temporary and a rename. */
static int write_pid_at(int dirfd, const char *file, pid_t pid)
{
	char tmp[PATH_MAX], buf[32];
	int fd, n, rc;

	if (snprintf(tmp, sizeof(tmp), ".%s.tmp", file) >= (int)sizeof(tmp))
		return -ENAMETOOLONG;
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
					O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	n = snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	rc = write_full(fd, buf, (size_t)n);
	if (close(fd) < 0 && rc == 0)
		rc = -errno;
	if (rc == 0 && renameat(dirfd, tmp, dirfd, file) < 0)
		rc = -errno;
	if (rc < 0)
		unlinkat(dirfd, tmp, 0);
	return rc;
}

int rundir_write_pid(const struct rundir *rd, const char *file, pid_t pid,
		     struct vs_err *err)
{
	int rc = write_pid_at(rd->fd, file, pid);

	if (rc < 0)
		return vs_errnof(err, -rc, "writing %s/%s", rd->path, file);
	return 0;
}

int pidfile_write(const char *path, pid_t pid, struct vs_err *err)
{
	_cleanup_free_ char *dir = path_dirname(path);
	const char *base = strrchr(path, '/');
	_cleanup_fd_ int dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (dirfd < 0)
		return vs_errnof(err, errno, "pid file %s", path);
	rc = write_pid_at(dirfd, base ? base + 1 : path, pid);
	if (rc < 0)
		return vs_errnof(err, -rc, "writing the pid file %s", path);
	return 0;
}

void rundir_release(struct rundir *rd)
{
	static const char *const ours[] = { RUNDIR_CONTROL, RUNDIR_EMU_PID,
					    RUNDIR_PID, NULL };

	bool empty = false;

	if (rd->held) {
		for (const char *const *f = ours; *f; f++)
			unlinkat(rd->fd, *f, 0);
		empty = remove_sockets(rd->fd);
		/*
		 * Nothing left (but an older vmseal's lock file): the
		 * directory goes too, while it is still locked.
		 */
		if (empty) {
			unlinkat(rd->fd, "vmseal.lock", 0);
			rmdir(rd->path);
		}
	}
	/* Unregistered before RUN/NAME's lock lets another run start. */
	if (rd->id_path) {
		unlink(rd->id_path);
		close(rd->id_fd);
		free(rd->id_path);
	}
	if (rd->fd >= 0)
		close(rd->fd);
	free(rd->path);
	memset(rd, 0, sizeof(*rd));
	rd->fd = rd->id_fd = -1;
}

int rundir_read_pid_in(const char *base, const char *name, const char *file,
		       pid_t *pid)
{
	_cleanup_free_ char *found = base ? NULL : rundir_find(name);
	_cleanup_free_ char *path = xasprintf("%s/%s/%s", base ?: found,
					      name, file);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	int v;

	if (!f)
		return -errno;
	if (fscanf(f, "%d", &v) != 1 || v <= 0)
		return -EINVAL;
	*pid = (pid_t)v;
	return 0;
}

int rundir_read_pid(const char *name, const char *file, pid_t *pid)
{
	return rundir_read_pid_in(NULL, name, file, pid);
}

int rundir_running(const char *name)
{
	_cleanup_free_ char *base = rundir_find(name);
	_cleanup_free_ char *path = xasprintf("%s/%s", base, name);
	_cleanup_fd_ int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					       O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0)
		return 0;
	return errno == EWOULDBLOCK ? 1 : -errno;
}
