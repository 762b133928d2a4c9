/* SPDX-License-Identifier: GPL-2.0-or-later */
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

/*
 * A directory vmseal trusts: really a directory (no symlink), owned by
 * us (or by owner, the guest's user), writable by nobody else.
 */
static int open_trusted_dir(int at, const char *name, uid_t owner,
			    struct vs_err *err)
{
	struct stat st;
	int fd;

	if (mkdirat(at, name, 0755) < 0 && errno != EEXIST)
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

int rundir_take(const char *name, uid_t owner, gid_t group, struct rundir *rd,
		struct vs_err *err)
{
	const char *base = rundir_base();
	_cleanup_fd_ int base_fd = -1;
	pid_t other;
	int rc;

	memset(rd, 0, sizeof(*rd));
	rd->fd = rd->lock_fd = -1;
	rd->path = rundir_path(name);
	vs_err_ctx(err, "%s", rd->path);
	base_fd = open_trusted_dir(AT_FDCWD, base, geteuid(), err);
	if (base_fd < 0)
		goto fail;
	rc = open_trusted_dir(base_fd, name, owner, err);
	if (rc < 0)
		goto fail;
	rd->fd = rc;
	rd->lock_fd = openat(rd->fd, "vmseal.lock",
			     O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (rd->lock_fd < 0) {
		vs_errnof(err, errno, "cannot create the lock file");
		goto fail;
	}
	if (flock(rd->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		if (errno == EWOULDBLOCK &&
		    rundir_read_pid(name, RUNDIR_PID, &other) == 0)
			vs_errf(err, EBUSY, "guest %s is already running (vmseal pid %d)",
				name, (int)other);
		else
			vs_errnof(err, errno == EWOULDBLOCK ? EBUSY : errno,
				  "guest %s is already running", name);
		goto fail;
	}
	rd->held = true;
	/* The emulator makes its sockets here, and nowhere else. */
	if (fchown(rd->fd, owner, group) < 0 || fchmod(rd->fd, 0750) < 0) {
		vs_errnof(err, errno, "cannot give the directory to uid %u",
			  (unsigned)owner);
		goto fail;
	}
	return 0;
fail:
	rc = -err->code;
	rundir_release(rd);
	return rc;
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

/*
 * The sockets the emulator left (QEMU removes its -qmp socket when it
 * shuts down cleanly, not when it fails or is killed).  Only sockets, and
 * unlinkat() does not follow links: the directory is the emulator's.
 */
static void remove_sockets(int dirfd)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;
	struct stat st;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d))) {
		if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISSOCK(st.st_mode))
			unlinkat(dirfd, e->d_name, 0);
	}
	closedir(d);
}

void rundir_release(struct rundir *rd)
{
	static const char *const ours[] = { RUNDIR_CONTROL, RUNDIR_EMU_PID,
					    RUNDIR_PID, NULL };

	if (rd->held) {
		for (const char *const *f = ours; *f; f++)
			unlinkat(rd->fd, *f, 0);
		remove_sockets(rd->fd);
	}
	if (rd->lock_fd >= 0)
		close(rd->lock_fd);
	if (rd->fd >= 0)
		close(rd->fd);
	free(rd->path);
	memset(rd, 0, sizeof(*rd));
	rd->fd = rd->lock_fd = -1;
}

int rundir_read_pid(const char *name, const char *file, pid_t *pid)
{
	_cleanup_free_ char *path = xasprintf("%s/%s/%s", rundir_base(), name,
					      file);
	_cleanup_fclose_ FILE *f = fopen(path, "re");
	int v;

	if (!f)
		return -errno;
	if (fscanf(f, "%d", &v) != 1 || v <= 0)
		return -EINVAL;
	*pid = (pid_t)v;
	return 0;
}

int rundir_running(const char *name)
{
	_cleanup_free_ char *path = xasprintf("%s/%s/vmseal.lock", rundir_base(),
					      name);
	_cleanup_fd_ int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0)
		return 0;
	return errno == EWOULDBLOCK ? 1 : -errno;
}
