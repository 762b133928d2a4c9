/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The category pair registry, RUN/.mcs/: one file per pair in use, named
 * "cX,cY", holding the guest's name and flock'ed by its vmseal for the
 * whole run.  A file nobody holds is a crash's leftover and may be taken
 * over.  Every change happens under the global labels lock, so choosing
 * and registering are one step for everybody else.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "sandbox/label.h"
#include "sandbox/label_int.h"

/*
 * Random tries before giving up: with 1024 categories there are 523776
 * pairs, so failing this many times means the registry is nearly full.
 */
#define MCS_TRIES 4096

/* Whether fd's file names guest (first line). */
static bool entry_names(int fd, const char *guest)
{
	char buf[80];
	ssize_t n = pread_full(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return false;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return strcmp(buf, guest) == 0;
}

void label_mcs_drop_stale(int mcs_dir, const char *guest)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *e;
	int dfd = fcntl(mcs_dir, F_DUPFD_CLOEXEC, 3);
	unsigned x, y;

	if (dfd < 0)
		return;
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	while ((e = readdir(d))) {
		_cleanup_fd_ int fd = -1;

		if (label_mcs_parse(e->d_name, &x, &y) < 0)
			continue;
		fd = openat(mcs_dir, e->d_name, O_RDONLY | O_NOFOLLOW |
						 O_CLOEXEC | O_NONBLOCK);
		if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
			continue; /* held: a running guest's */
		if (entry_names(fd, guest))
			unlinkat(mcs_dir, e->d_name, 0);
	}
}

/* Claims entry for guest: fd flock'ed and the name written; or -errno. */
static int claim(int mcs_dir, const char *entry, const char *guest)
{
	_cleanup_fd_ int fd = -1;
	char line[80];
	int n, rc;

	fd = openat(mcs_dir, entry, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW |
					    O_CLOEXEC, 0644);
	if (fd < 0 && errno == EEXIST)
		fd = openat(mcs_dir, entry, O_RDWR | O_NOFOLLOW | O_CLOEXEC |
						    O_NONBLOCK);
	if (fd < 0)
		return -errno;
	/* Held: another running guest's pair. */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EEXIST : -errno;
	n = snprintf(line, sizeof(line), "%s\n", guest);
	if (ftruncate(fd, 0) < 0)
		return -errno;
	rc = write_full(fd, line, (size_t)n);
	if (rc < 0)
		return rc;
	return steal_fd(&fd);
}

int label_mcs_reserve(struct label_session *s, char *level, size_t len,
		      struct vs_err *err)
{
	if (s->mcs_fd >= 0)
		return vs_errf(err, EALREADY, "a category pair is already held");
	if (s->mcs_dir_fd < 0) {
		int fd = label_open_dir(s->base_fd, LABEL_MCS_DIR, true, err);

		if (fd < 0) {
			vs_err_prefix(err, "%s", s->base);
			return fd;
		}
		s->mcs_dir_fd = fd;
	}
	for (int i = 0; i < MCS_TRIES; i++) {
		uint16_t r[2];
		unsigned x, y;
		int fd;

		if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r))
			return vs_errnof(err, errno ? errno : EIO,
					 "no random numbers for a category pair");
		/* 65536 is a multiple of 1024: no bias. */
		x = r[0] % (LABEL_CAT_MAX + 1);
		y = r[1] % (LABEL_CAT_MAX + 1);
		if (x == y)
			continue;
		if (x > y) {
			unsigned t = x;

			x = y;
			y = t;
		}
		label_mcs_entry(x, y, s->mcs_entry, sizeof(s->mcs_entry));
		fd = claim(s->mcs_dir_fd, s->mcs_entry, s->guest);
		if (fd == -EEXIST)
			continue;
		if (fd < 0) {
			vs_errnof(err, -fd, "cannot register category pair %s",
				  s->mcs_entry);
			vs_err_ctx(err, "%s/%s", s->base, LABEL_MCS_DIR);
			s->mcs_entry[0] = '\0';
			return fd;
		}
		s->mcs_fd = fd;
		label_mcs_level(x, y, level, len);
		return 0;
	}
	s->mcs_entry[0] = '\0';
	vs_err_ctx(err, "%s/%s", s->base, LABEL_MCS_DIR);
	return vs_errf(err, ENOSPC,
		       "no free category pair found in %d tries", MCS_TRIES);
}
