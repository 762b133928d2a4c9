/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/fd.h"

ssize_t pread_full(int fd, void *buf, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t r = pread(fd, (char *)buf + done, len - done,
				  off + (off_t)done);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		done += (size_t)r;
	}
	return (ssize_t)done;
}

int write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t r = write(fd, p, len);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += r;
		len -= (size_t)r;
	}
	return 0;
}

int fd_set_cloexec(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl < 0)
		return -errno;
	fl = on ? (fl | FD_CLOEXEC) : (fl & ~FD_CLOEXEC);
	if (fcntl(fd, F_SETFD, fl) < 0)
		return -errno;
	return 0;
}

int fd_remap(const int *src, const int *dst, size_t n)
{
	int floor = 3;
	int tmp[n ? n : 1];

	for (size_t i = 0; i < n; i++) {
		if (dst[i] >= floor)
			floor = dst[i] + 1;
		if (src[i] >= floor)
			floor = src[i] + 1;
	}
	/* First lift every source above both sets, then place it. */
	for (size_t i = 0; i < n; i++) {
		tmp[i] = fcntl(src[i], F_DUPFD_CLOEXEC, floor);
		if (tmp[i] < 0)
			return -errno;
	}
	for (size_t i = 0; i < n; i++)
		close(src[i]);
	for (size_t i = 0; i < n; i++) {
		if (dup3(tmp[i], dst[i], 0) < 0)
			return -errno;
		close(tmp[i]);
	}
	return 0;
}

int fd_close_from(int first)
{
	if (syscall(SYS_close_range, (unsigned)first, ~0U, 0) == 0)
		return 0;
	if (errno != ENOSYS)
		return -errno;
	for (long fd = first, max = sysconf(_SC_OPEN_MAX); fd < max; fd++)
		close((int)fd);
	return 0;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

static int close_span(int from, int to)
{
	if (from > to)
		return 0;
	if (syscall(SYS_close_range, (unsigned)from, (unsigned)to, 0) == 0)
		return 0;
	if (errno != ENOSYS)
		return -errno;
	for (int fd = from; fd <= to; fd++)
		close(fd);
	return 0;
}

int fd_close_all_except(const int *keep, size_t n)
{
	int sorted[n ? n : 1];
	int next = 3, rc;

	memcpy(sorted, keep, n * sizeof(int));
	qsort(sorted, n, sizeof(int), cmp_int);
	for (size_t i = 0; i < n; i++) {
		if (sorted[i] < next)
			continue;
		rc = close_span(next, sorted[i] - 1);
		if (rc < 0)
			return rc;
		next = sorted[i] + 1;
	}
	return fd_close_from(next);
}

int fd_send(int sock, int fd)
{
	char data = 0;
	struct iovec iov = { .iov_base = &data, .iov_len = 1 };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c;

	memset(&u, 0, sizeof(u));
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	while (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

ssize_t fd_recv_msg(int sock, void *buf, size_t len, int *fd)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	union {
		char buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr msg = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = u.buf,
		.msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *c;
	ssize_t r;

	*fd = -1;
	do {
		r = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	} while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	c = CMSG_FIRSTHDR(&msg);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
	    c->cmsg_len == CMSG_LEN(sizeof(int)) && !(msg.msg_flags & MSG_CTRUNC))
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	return r;
}

int fd_recv(int sock, int *fd)
{
	char data;
	ssize_t r = fd_recv_msg(sock, &data, 1, fd);

	if (r < 0)
		return (int)r;
	if (r == 0)
		return -EPIPE;
	if (*fd < 0)
		return -EBADMSG;
	return 0;
}

int fd_unix_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}
