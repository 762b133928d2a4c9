/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_COMMON_FD_H
#define VS_COMMON_FD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* pread() until len bytes or end of file; returns bytes read or -errno. */
ssize_t pread_full(int fd, void *buf, size_t len, off_t off);

/* write() all of buf, retrying on EINTR; 0 or -errno. */
int write_full(int fd, const void *buf, size_t len);

/* 0 or -errno. */
int fd_set_cloexec(int fd, bool on);

/*
 * Moves fds so that src[i] ends up as dst[i] with close-on-exec cleared,
 * whatever overlaps exist between the two sets (a plain dup2 loop would
 * clobber a source that is another entry's target).  Every src[i] that is
 * not some dst[j] is closed.  dst must hold distinct numbers > 2.
 * For use in a freshly forked child; 0 or -errno.
 */
int fd_remap(const int *src, const int *dst, size_t n);

/* close_range(first, ~0U), falling back to a loop on old kernels. */
int fd_close_from(int first);

/*
 * Closes every descriptor from 3 up except those in keep (any order,
 * duplicates allowed).  0 or -errno.
 */
int fd_close_all_except(const int *keep, size_t n);

/*
 * A unix socket address for path (zeroed first).  0, or -ENAMETOOLONG
 * when path does not fit sun_path with its NUL.
 */
struct sockaddr_un;
int fd_unix_addr(struct sockaddr_un *sa, const char *path);

/* Sends/receives one fd over a unix socket (SCM_RIGHTS). 0 or -errno. */
int fd_send(int sock, int fd);
int fd_recv(int sock, int *fd);

/*
 * One message of up to len bytes and, if it carried one, a descriptor
 * (*fd, else -1; close-on-exec).  Bytes received (0 at end of file) or
 * -errno.
 */
ssize_t fd_recv_msg(int sock, void *buf, size_t len, int *fd);

#endif
