/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Relabelling a guest's images and putting their labels back, through
 * descriptors only.  Each file remembers its original context in
 * trusted.vmseal.label (only root can write trusted.*, so a guest cannot
 * forge what gets restored) and the guests using it in
 * trusted.vmseal.users; both are changed only under RUN/.labels.lock.  A
 * guest counts as running while its record RUN/.labels/NAME is flock'ed,
 * and every vmseal takes that lock under the global one, so a check never
 * races a start.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <selinux/selinux.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "common/xalloc.h"
#include "sandbox/label.h"
#include "sandbox/label_int.h"

/* A record longer than this is not ours. */
#define RECORD_MAX (4 << 20)
#define XATTR_MAX 65536

int label_open_dir(int at, const char *name, bool create, struct vs_err *err)
{
	struct stat st;
	int fd;

	if (create && mkdirat(at, name, 0755) < 0 && errno != EEXIST)
		return vs_errnof(err, errno, "cannot create %s", name);
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return vs_errnof(err, errno, "cannot open %s", name);
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		close(fd);
		return vs_errf(err, EPERM,
			       "%s must be a directory owned by uid %u and writable by nobody else",
			       name, (unsigned)geteuid());
	}
	return fd;
}

/* ---- extended attributes, through a descriptor ---- */

/* The value (NUL added) in *out; -ENODATA when there is none. */
static int xattr_get(int fd, const char *name, char **out, size_t *len)
{
	size_t cap = 256;

	for (;;) {
		char *buf = xmalloc(cap + 1);
		ssize_t n = fgetxattr(fd, name, buf, cap);

		if (n >= 0) {
			buf[n] = '\0';
			*out = buf;
			if (len)
				*len = (size_t)n;
			return 0;
		}
		free(buf);
		if (errno != ERANGE || cap >= XATTR_MAX)
			return -errno;
		cap *= 4;
	}
}

static int xattr_remove(int fd, const char *name)
{
	if (fremovexattr(fd, name) < 0 && errno != ENODATA)
		return -errno;
	return 0;
}

/* The file's context, NULL when it has none; 0 or -errno. */
static int context_get(int fd, char **out)
{
	char *con = NULL;

	*out = NULL;
	if (fgetfilecon_raw(fd, &con) < 0)
		return errno == ENODATA ? 0 : -errno;
	*out = xstrdup(con);
	freecon(con);
	return 0;
}

/* Sets con, or takes the context away for NULL and LABEL_NONE. */
static int context_set(int fd, const char *con)
{
	if (!con || strcmp(con, LABEL_NONE) == 0)
		return xattr_remove(fd, LABEL_XATTR_SELINUX);
	if (fsetfilecon_raw(fd, con) < 0)
		return -errno;
	return 0;
}

static bool same(const char *a, const char *b)
{
	return a && b ? strcmp(a, b) == 0 : a == b;
}

/* ---- who runs ---- */

/* Guest name's record is flock'ed: its vmseal is alive. */
static bool guest_running(void *arg, const char *name)
{
	int dir = *(int *)arg;
	_cleanup_fd_ int fd = -1;

	if (dir < 0 || !label_guest_name_ok(name))
		return false;
	fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return false;
	if (flock(fd, LOCK_SH | LOCK_NB) < 0)
		return errno == EWOULDBLOCK;
	flock(fd, LOCK_UN);
	return false;
}

static int users_read(int fd, struct strv *v)
{
	_cleanup_free_ char *val = NULL;
	size_t len;
	int rc = xattr_get(fd, LABEL_XATTR_USERS, &val, &len);

	if (rc == -ENODATA)
		return 0;
	if (rc < 0)
		return rc;
	/* Unreadable: nobody we could ask is listed. */
	if (label_users_parse(val, len, v) < 0)
		strv_free(v);
	return 0;
}

static int users_write(int fd, const struct strv *v)
{
	_cleanup_free_ char *val = NULL;

	if (!v->n)
		return xattr_remove(fd, LABEL_XATTR_USERS);
	val = label_users_join(v);
	if (fsetxattr(fd, LABEL_XATTR_USERS, val, strlen(val), 0) < 0)
		return -errno;
	return 0;
}

/* ---- one file ---- */

static int fail_file(struct vs_err *err, int rc, const char *path,
		     const char *what, const char *con)
{
	if (rc == -EOPNOTSUPP)
		vs_errf(err, EOPNOTSUPP,
			"cannot %s%s%s: the filesystem does not store SELinux labels or trusted.* attributes",
			what, con ? " " : "", con ? con : "");
	else
		vs_errnof(err, -rc, "cannot %s%s%s", what, con ? " " : "",
			  con ? con : "");
	vs_err_ctx(err, "%s", path);
	return rc;
}

/* Undoes apply_one() for one file, or lets it be for other users. */
enum { RESTORED = 0, KEPT = 1 };

static int restore_one(int fd, const char *path, const char *guest,
		       int dir_fd, struct vs_err *err)
{
	struct strv users = STRV_INIT;
	_cleanup_free_ char *orig = NULL;
	size_t others;
	int rc;

	rc = users_read(fd, &users);
	if (rc < 0)
		return fail_file(err, rc, path, "read " LABEL_XATTR_USERS, NULL);
	others = label_users_prune(&users, guest, guest_running, &dir_fd);
	if (others) {
		rc = users_write(fd, &users);
		strv_free(&users);
		if (rc < 0)
			return fail_file(err, rc, path,
					 "write " LABEL_XATTR_USERS, NULL);
		return KEPT;
	}
	strv_free(&users);
	rc = xattr_get(fd, LABEL_XATTR_ORIG, &orig, NULL);
	if (rc < 0 && rc != -ENODATA)
		return fail_file(err, rc, path, "read " LABEL_XATTR_ORIG, NULL);
	/* Context first: until it is back, the original stays written. */
	if (orig) {
		rc = context_set(fd, orig);
		if (rc < 0)
			return fail_file(err, rc, path,
					 strcmp(orig, LABEL_NONE) ?
						 "restore SELinux context" :
						 "remove the SELinux context",
					 strcmp(orig, LABEL_NONE) ? orig : NULL);
	}
	rc = xattr_remove(fd, LABEL_XATTR_ORIG);
	if (rc == 0)
		rc = xattr_remove(fd, LABEL_XATTR_USERS);
	if (rc < 0)
		return fail_file(err, rc, path, "remove vmseal's attributes",
				 NULL);
	return RESTORED;
}

static int apply_one(struct label_session *s, struct label_file *f,
		     struct vs_err *err)
{
	struct strv users = STRV_INIT;
	_cleanup_free_ char *orig = NULL;
	_cleanup_free_ char *cur = NULL;
	size_t others;
	int rc;

	rc = users_read(f->fd, &users);
	if (rc < 0)
		return fail_file(err, rc, f->path, "read " LABEL_XATTR_USERS,
				 NULL);
	others = label_users_prune(&users, s->guest, guest_running,
				   &s->dir_fd);
	rc = context_get(f->fd, &cur);
	if (rc < 0) {
		strv_free(&users);
		return fail_file(err, rc, f->path, "read the SELinux context",
				 NULL);
	}
	/* Relabelling would take the file away from the guest using it. */
	if (others && !same(cur, f->context)) {
		vs_errf(err, EBUSY,
			"in use by running guest %s with context %s; this guest would relabel it %s",
			users.v[0], cur ? cur : "(none)", f->context);
		vs_err_ctx(err, "%s", f->path);
		strv_free(&users);
		return -EBUSY;
	}
	rc = xattr_get(f->fd, LABEL_XATTR_ORIG, &orig, NULL);
	if (rc == -ENODATA) {
		const char *o = cur ? cur : LABEL_NONE;

		if (fsetxattr(f->fd, LABEL_XATTR_ORIG, o, strlen(o), 0) < 0)
			rc = -errno;
		else
			rc = 0;
	}
	if (rc < 0) {
		strv_free(&users);
		return fail_file(err, rc, f->path,
				 "remember the context in " LABEL_XATTR_ORIG,
				 NULL);
	}
	/* From here on the file is ours to restore, whatever fails next. */
	f->applied = true;
	label_users_add(&users, s->guest);
	rc = users_write(f->fd, &users);
	strv_free(&users);
	if (rc < 0)
		return fail_file(err, rc, f->path, "write " LABEL_XATTR_USERS,
				 NULL);
	if (!same(cur, f->context)) {
		rc = context_set(f->fd, f->context);
		if (rc < 0)
			return fail_file(err, rc, f->path,
					 "set SELinux context", f->context);
	}
	return 0;
}

/* ---- the session ---- */

static int lock_global(struct label_session *s, struct vs_err *err)
{
	int fd;

	if (s->lock_fd >= 0)
		return 0;
	fd = openat(s->base_fd, LABEL_LOCK,
		    O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		vs_errnof(err, errno, "cannot open %s", LABEL_LOCK);
		vs_err_ctx(err, "%s", s->base);
		return -err->code;
	}
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			vs_errnof(err, errno, "cannot lock %s", LABEL_LOCK);
			vs_err_ctx(err, "%s", s->base);
			close(fd);
			return -err->code;
		}
	}
	s->lock_fd = fd;
	return 0;
}

void label_session_unlock(struct label_session *s)
{
	if (s->lock_fd >= 0)
		close(s->lock_fd);
	s->lock_fd = -1;
}

static void session_free(struct label_session *s)
{
	for (size_t i = 0; i < s->n_files; i++) {
		if (s->files[i].fd >= 0)
			close(s->files[i].fd);
		free(s->files[i].path);
		free(s->files[i].context);
	}
	free(s->files);
	if (s->mcs_fd >= 0)
		close(s->mcs_fd);
	if (s->mcs_dir_fd >= 0)
		close(s->mcs_dir_fd);
	if (s->list_fd >= 0)
		close(s->list_fd);
	if (s->dir_fd >= 0)
		close(s->dir_fd);
	label_session_unlock(s);
	if (s->base_fd >= 0)
		close(s->base_fd);
	free(s->base);
	free(s->guest);
	*s = (struct label_session)LABEL_SESSION_INIT;
}

/* base, base/.labels and the global lock; -errno with err. */
static int open_state(struct label_session *s, const char *base,
		      const char *guest, bool create, struct vs_err *err)
{
	int fd;

	*s = (struct label_session)LABEL_SESSION_INIT;
	s->base = xstrdup(base);
	s->guest = xstrdup(guest);
	if (!label_guest_name_ok(guest))
		return vs_errf(err, EINVAL, "invalid guest name '%s'", guest);
	fd = label_open_dir(AT_FDCWD, base, false, err);
	if (fd < 0)
		return fd;
	s->base_fd = fd;
	fd = label_open_dir(s->base_fd, LABEL_DIR, create, err);
	if (fd < 0) {
		vs_err_prefix(err, "%s", base);
		return fd;
	}
	s->dir_fd = fd;
	return lock_global(s, err);
}

/*
 * The record of guest in dir: opened and flock'ed; -EBUSY when its
 * vmseal holds it, -ENOENT when there is none and !create.
 */
static int open_record(struct label_session *s, bool create,
		       struct vs_err *err)
{
	int fd = openat(s->dir_fd, s->guest,
			O_RDWR | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK |
				(create ? O_CREAT : 0),
			0600);
	struct stat st;

	if (fd < 0) {
		int e = errno;

		if (e != ENOENT)
			vs_errnof(err, e, "cannot open the labels record");
		vs_err_ctx(err, "%s/%s/%s", s->base, LABEL_DIR, s->guest);
		return -e;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		vs_errf(err, EINVAL, "the labels record is not a regular file");
		vs_err_ctx(err, "%s/%s/%s", s->base, LABEL_DIR, s->guest);
		return -EINVAL;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno == EWOULDBLOCK ? EBUSY : errno;

		close(fd);
		if (e == EBUSY)
			vs_errf(err, EBUSY,
				"guest %s is running: its labels are restored when it exits",
				s->guest);
		else
			vs_errnof(err, e, "cannot lock the labels record");
		vs_err_ctx(err, "%s/%s/%s", s->base, LABEL_DIR, s->guest);
		return -e;
	}
	s->list_fd = fd;
	return 0;
}

/* The record's text, NUL-terminated. */
static int read_record(int fd, char **out)
{
	struct stat st;
	char *buf;
	ssize_t n;

	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size > RECORD_MAX)
		return -EFBIG;
	buf = xmalloc((size_t)st.st_size + 1);
	n = pread_full(fd, buf, (size_t)st.st_size, 0);
	if (n < 0) {
		free(buf);
		return (int)n;
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
}

/*
 * Reaches a recorded path without side effects (O_PATH, no symlink at the
 * end), checks it is still the recorded inode, then opens it read-only.
 */
static int reopen_recorded(const char *path, dev_t dev, ino_t ino)
{
	_cleanup_fd_ int opath = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	char self[40];
	struct stat st;
	int fd;

	if (opath < 0)
		return -errno;
	if (fstat(opath, &st) < 0)
		return -errno;
	if (st.st_dev != dev || st.st_ino != ino)
		return -ESTALE;
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return -ESTALE;
	snprintf(self, sizeof(self), "/proc/self/fd/%d", opath);
	fd = open(self, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	return fd < 0 ? -errno : fd;
}

/* Restores every file a record lists; the first error is kept in err. */
static int restore_record(struct label_session *s, const char *text,
			  struct label_restore_stats *st, struct strv *notes,
			  struct vs_err *err)
{
	_cleanup_free_ char *copy = xstrdup(text);
	char *save = NULL;
	int first = 0;

	for (char *line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		_cleanup_free_ char *path = NULL;
		_cleanup_fd_ int fd = -1;
		struct vs_err e = { 0 };
		dev_t dev;
		ino_t ino;
		int rc;

		if (label_list_parse(line, &dev, &ino, &path) < 0) {
			strv_pushf(notes, "%s/%s/%s: skipped a malformed line",
				   s->base, LABEL_DIR, s->guest);
			st->skipped++;
			continue;
		}
		fd = reopen_recorded(path, dev, ino);
		if (fd < 0) {
			strv_pushf(notes, "%s: skipped: %s", path,
				   fd == -ESTALE ?
					   "no longer the file that was relabelled" :
					   strerror(-fd));
			st->skipped++;
			continue;
		}
		rc = restore_one(fd, path, s->guest, s->dir_fd, &e);
		if (rc == KEPT) {
			strv_pushf(notes, "%s: kept: still used by a running guest",
				   path);
			st->kept++;
		} else if (rc == RESTORED) {
			st->restored++;
		} else if (!first) {
			*err = e;
			first = rc;
		}
	}
	return first;
}

int label_session_start(struct label_session *s, const char *base,
			const char *guest, struct strv *notes,
			struct vs_err *err)
{
	struct label_restore_stats st = { 0 };
	_cleanup_free_ char *old = NULL;
	int rc;

	rc = open_state(s, base, guest, true, err);
	if (rc == 0)
		rc = open_record(s, true, err);
	if (rc == 0)
		rc = read_record(s->list_fd, &old);
	if (rc == 0 && old[0]) {
		/* This guest's vmseal died with labels applied. */
		rc = restore_record(s, old, &st, notes, err);
		if (rc == 0)
			strv_pushf(notes,
				   "restored the labels an earlier run of %s left: %zu restored, %zu still used by other guests, %zu skipped",
				   guest, st.restored, st.kept, st.skipped);
		else
			vs_err_prefix(err,
				      "labels left by an earlier run of %s (vmseal restore-labels %s)",
				      guest, guest);
	}
	if (rc == 0 && ftruncate(s->list_fd, 0) < 0)
		rc = vs_errnof(err, errno, "cannot truncate the labels record");
	if (rc == 0) {
		int fd = label_open_dir(s->base_fd, LABEL_MCS_DIR, true, err);

		if (fd < 0) {
			vs_err_prefix(err, "%s", base);
			rc = fd;
		} else {
			s->mcs_dir_fd = fd;
			label_mcs_drop_stale(fd, guest);
		}
	}
	if (rc < 0)
		session_free(s);
	return rc;
}

static int write_record(struct label_session *s, struct vs_err *err)
{
	struct strv lines = STRV_INIT;
	_cleanup_free_ char *text = NULL;
	size_t len = 0;
	int rc;

	for (size_t i = 0; i < s->n_files; i++) {
		strv_push_take(&lines, label_list_line(s->files[i].dev,
						       s->files[i].ino,
						       s->files[i].path));
		len += strlen(lines.v[i]);
	}
	text = xmalloc(len + 1);
	text[0] = '\0';
	for (size_t i = 0; i < lines.n; i++)
		strcat(text, lines.v[i]);
	strv_free(&lines);
	rc = ftruncate(s->list_fd, 0) < 0 ? -errno : 0;
	if (rc == 0 && len) {
		ssize_t n = pwrite(s->list_fd, text, len, 0);

		rc = n == (ssize_t)len ? 0 : n < 0 ? -errno : -EIO;
	}
	/* On disk before any label changes, for a crash right after. */
	if (rc == 0 && fdatasync(s->list_fd) < 0)
		rc = -errno;
	if (rc < 0) {
		vs_errnof(err, -rc, "cannot write the labels record");
		vs_err_ctx(err, "%s/%s/%s", s->base, LABEL_DIR, s->guest);
	}
	return rc;
}

/* Adds t to the session's files (one entry per inode). */
static int add_file(struct label_session *s, const struct label_target *t,
		    struct vs_err *err)
{
	char self[40];
	struct label_file *f;
	struct stat st;
	int fd;

	if (fstat(t->fd, &st) < 0) {
		vs_errnof(err, errno, "fstat");
		vs_err_ctx(err, "%s", t->path);
		return -err->code;
	}
	for (size_t i = 0; i < s->n_files; i++) {
		f = &s->files[i];
		if (f->dev != st.st_dev || f->ino != st.st_ino)
			continue;
		if (strcmp(f->context, t->context) != 0) {
			vs_errf(err, EINVAL,
				"the same file would get two labels, %s (as %s) and %s (as %s)",
				f->context, f->path, t->context, t->path);
			vs_err_ctx(err, "%s", t->path);
			return -EINVAL;
		}
		f->writable |= t->writable;
		return 0;
	}
	/* Our own open file description, read-only, kept until restored. */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", t->fd);
	fd = open(self, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		vs_errnof(err, errno, "cannot reopen read-only");
		vs_err_ctx(err, "%s", t->path);
		return -err->code;
	}
	s->files = xreallocarray(s->files, s->n_files + 1, sizeof(*s->files));
	s->files[s->n_files++] = (struct label_file){
		.dev = st.st_dev,
		.ino = st.st_ino,
		.mode = st.st_mode,
		.path = xstrdup(t->path),
		.context = xstrdup(t->context),
		.writable = t->writable,
		.fd = fd,
	};
	return 0;
}

/* Restores every applied file; the first error in err. */
static int restore_applied(struct label_session *s, struct vs_err *err)
{
	int first = 0;

	for (size_t i = 0; i < s->n_files; i++) {
		struct label_file *f = &s->files[i];
		struct vs_err e = { 0 };
		int rc;

		if (!f->applied)
			continue;
		rc = restore_one(f->fd, f->path, s->guest, s->dir_fd, &e);
		if (rc < 0 && !first) {
			first = rc;
			*err = e;
		}
		if (rc >= 0)
			f->applied = false;
	}
	return first;
}

int label_apply(struct label_session *s, const struct label_target *t,
		size_t n, struct vs_err *err)
{
	struct vs_err undo = { 0 };
	int rc = 0;

	if (s->lock_fd < 0)
		return vs_errf(err, ENOLCK, "labels applied without the lock");
	for (size_t i = 0; i < n && rc == 0; i++)
		rc = add_file(s, &t[i], err);
	if (rc == 0)
		rc = write_record(s, err);
	for (size_t i = 0; i < s->n_files && rc == 0; i++)
		rc = apply_one(s, &s->files[i], err);
	if (rc < 0 && restore_applied(s, &undo) == 0)
		(void)!ftruncate(s->list_fd, 0);
	return rc;
}

static struct label_file *file_of(struct label_session *s,
				  const struct stat *st)
{
	for (size_t i = 0; i < s->n_files; i++)
		if (s->files[i].dev == st->st_dev && s->files[i].ino == st->st_ino)
			return &s->files[i];
	return NULL;
}

/* Takes file i out of the session (its label already dealt with). */
static void forget_file(struct label_session *s, size_t i)
{
	struct label_file *f = &s->files[i];

	if (f->fd >= 0)
		close(f->fd);
	free(f->path);
	free(f->context);
	*f = s->files[--s->n_files];
}

int label_add(struct label_session *s, const struct label_target *t,
	      struct vs_err *err)
{
	struct label_file *f;
	struct stat st;
	int rc;

	if (s->base_fd < 0)
		return 0;
	if (fstat(t->fd, &st) < 0) {
		vs_errnof(err, errno, "fstat");
		vs_err_ctx(err, "%s", t->path);
		return -err->code;
	}
	rc = lock_global(s, err);
	if (rc < 0)
		return rc;
	f = file_of(s, &st);
	if (f && (!t->writable || !strcmp(f->context, t->context))) {
		f->writable |= t->writable;
	} else if (f) {
		char *was = f->context;

		f->context = xstrdup(t->context);
		rc = apply_one(s, f, err);
		if (rc < 0) {
			free(f->context);
			f->context = was;
		} else {
			free(was);
			f->writable = true;
		}
	} else {
		rc = add_file(s, t, err);
		if (rc == 0)
			rc = write_record(s, err);
		if (rc == 0)
			rc = apply_one(s, &s->files[s->n_files - 1], err);
		if (rc < 0 && s->n_files && file_of(s, &st)) {
			struct vs_err undo = { 0 };

			f = &s->files[s->n_files - 1];
			if (!f->applied ||
			    restore_one(f->fd, f->path, s->guest, s->dir_fd,
					&undo) >= 0) {
				forget_file(s, s->n_files - 1);
				write_record(s, &undo);
			}
		}
	}
	label_session_unlock(s);
	return rc;
}

int label_drop(struct label_session *s, int fd, struct vs_err *err)
{
	struct label_file *f;
	struct stat st;
	int rc = 0;

	if (s->base_fd < 0 || fstat(fd, &st) < 0 || !file_of(s, &st))
		return 0;
	rc = lock_global(s, err);
	if (rc < 0)
		return rc;
	f = file_of(s, &st);
	if (f && f->applied)
		rc = restore_one(f->fd, f->path, s->guest, s->dir_fd, err);
	if (f && rc >= 0) {
		forget_file(s, (size_t)(f - s->files));
		rc = write_record(s, err);
	}
	label_session_unlock(s);
	return rc < 0 ? rc : 0;
}

int label_session_end(struct label_session *s, struct strv *notes,
		      struct vs_err *err)
{
	int rc = 0;

	if (s->base_fd < 0) {
		session_free(s);
		return 0;
	}
	rc = lock_global(s, err);
	if (rc == 0)
		rc = restore_applied(s, err);
	if (rc == 0) {
		if (s->list_fd >= 0)
			unlinkat(s->dir_fd, s->guest, 0);
		if (s->mcs_fd >= 0)
			unlinkat(s->mcs_dir_fd, s->mcs_entry, 0);
	} else {
		strv_pushf(notes,
			   "labels of %s not all restored: run vmseal restore-labels %s",
			   s->guest, s->guest);
	}
	session_free(s);
	return rc;
}

int label_restore_guest(const char *base, const char *guest,
			struct label_restore_stats *st, struct strv *notes,
			struct vs_err *err)
{
	struct label_session s;
	_cleanup_free_ char *text = NULL;
	int rc;

	memset(st, 0, sizeof(*st));
	rc = open_state(&s, base, guest, false, err);
	if (rc == -ENOENT)
		vs_errf(err, ENOENT, "no labels are recorded for guest %s",
			guest);
	if (rc == 0)
		rc = open_record(&s, false, err);
	if (rc == -ENOENT)
		vs_errf(err, ENOENT, "no labels are recorded for guest %s",
			guest);
	if (rc == 0)
		rc = read_record(s.list_fd, &text);
	if (rc == 0)
		rc = restore_record(&s, text, st, notes, err);
	if (rc == 0) {
		int fd;

		unlinkat(s.dir_fd, guest, 0);
		fd = openat(s.base_fd, LABEL_MCS_DIR,
			    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd >= 0) {
			label_mcs_drop_stale(fd, guest);
			close(fd);
		}
	}
	session_free(&s);
	return rc;
}

/* ---- the kernel's view ---- */

static int read_small(const char *path, char **out, struct vs_err *err)
{
	_cleanup_fd_ int fd = -1;
	char *buf;
	ssize_t n;

	if (!path)
		return vs_errf(err, ENOENT, "no SELinux policy is configured");
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		vs_errnof(err, errno, "cannot read");
		vs_err_ctx(err, "%s", path);
		return -err->code;
	}
	buf = xmalloc(4097);
	n = pread_full(fd, buf, 4096, 0);
	if (n < 0) {
		free(buf);
		vs_errnof(err, (int)-n, "cannot read");
		vs_err_ctx(err, "%s", path);
		return (int)n;
	}
	buf[n] = '\0';
	*out = buf;
	return 0;
}

int label_virtual_contexts(char **domain, char **image, char **content,
			   struct vs_err *err)
{
	const char *dpath = selinux_virtual_domain_context_path();
	const char *ipath = selinux_virtual_image_context_path();
	_cleanup_free_ char *dtext = NULL;
	_cleanup_free_ char *itext = NULL;
	int rc;

	rc = read_small(dpath, &dtext, err);
	if (rc < 0)
		return rc;
	rc = read_small(ipath, &itext, err);
	if (rc < 0)
		return rc;
	if (label_parse_domain(dtext, domain) < 0) {
		vs_errf(err, EINVAL, "no context on the first line");
		vs_err_ctx(err, "%s", dpath);
		return -EINVAL;
	}
	if (label_parse_image(itext, image, content) < 0) {
		free(*domain);
		*domain = NULL;
		vs_errf(err, EINVAL,
			"want the image context on the first line and the content context on the second");
		vs_err_ctx(err, "%s", ipath);
		return -EINVAL;
	}
	return 0;
}

/* libselinux's AVC would print denials on stderr; core code never prints. */
static int quiet_log(int type, const char *fmt, ...)
{
	return 0;
}

static int check_one(const char *scon, const char *tcon, const char *class,
		     const char *perm, const char *what, struct vs_err *err)
{
	if (selinux_check_access(scon, tcon, class, perm, NULL) == 0)
		return 0;
	if (errno == EACCES)
		return vs_errf(err, EACCES,
			       "the policy does not let %s %s %s (%s %s): at exec the kernel would replace the descriptor with /dev/null",
			       scon, perm, what, class, tcon);
	return vs_errnof(err, errno, "cannot check %s %s access of %s to %s",
			 class, perm, scon, tcon);
}

int label_check_access(const char *exec, const struct label_target *t,
		       size_t n, struct vs_err *err)
{
	char *self = NULL;
	int rc;

	selinux_set_callback(SELINUX_CB_LOG,
			     (union selinux_callback){ .func_log = quiet_log });
	if (getcon_raw(&self) < 0)
		return vs_errnof(err, errno, "cannot read vmseal's own context");
	/* Every passed descriptor was opened by vmseal's domain. */
	rc = check_one(exec, self, "fd", "use", "descriptors opened by vmseal",
		       err);
	freecon(self);
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct stat st;
		const char *class;

		if (fstat(t[i].fd, &st) < 0) {
			rc = vs_errnof(err, errno, "fstat");
		} else {
			class = S_ISBLK(st.st_mode) ? "blk_file" : "file";
			rc = check_one(exec, t[i].context, class, "read",
				       t[i].path, err);
			if (rc == 0 && t[i].writable)
				rc = check_one(exec, t[i].context, class,
					       "write", t[i].path, err);
		}
		if (rc < 0)
			vs_err_ctx(err, "%s", t[i].path);
	}
	return rc;
}
