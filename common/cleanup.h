/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_COMMON_CLEANUP_H
#define VS_COMMON_CLEANUP_H

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/*
 * Scope-bound resources, as bubblewrap and systemd do it: a variable
 * declared _cleanup_fd_ is closed when it goes out of scope unless its
 * value was taken with steal_fd().
 */

static inline void vs_freep(void *p)
{
	free(*(void **)p);
}

static inline void vs_closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;

		close(*fd);
		errno = saved;
	}
}

static inline void vs_fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}

static inline void vs_closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

#define _cleanup_free_ __attribute__((cleanup(vs_freep)))
#define _cleanup_fd_ __attribute__((cleanup(vs_closep)))
#define _cleanup_fclose_ __attribute__((cleanup(vs_fclosep)))
#define _cleanup_closedir_ __attribute__((cleanup(vs_closedirp)))

static inline int steal_fd(int *fd)
{
	int r = *fd;

	*fd = -1;
	return r;
}

static inline void *steal_ptr(void *pp)
{
	void **p = pp;
	void *r = *p;

	*p = NULL;
	return r;
}

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
