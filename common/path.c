/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/path.h"
#include "common/xalloc.h"

char *path_combine(const char *image, const char *name)
{
	const char *slash;

	if (name[0] == '/')
		return xstrdup(name);
	slash = strrchr(image, '/');
	if (!slash)
		return xstrdup(name);
	{
		/* A deep chain combines a name per member: no printf here. */
		size_t dir = (size_t)(slash - image + 1), n = strlen(name);
		char *out = xmalloc(dir + n + 1);

		memcpy(out, image, dir);
		memcpy(out + dir, name, n + 1);
		return out;
	}
}

char *path_normalize(const char *path)
{
	size_t len = strlen(path);
	char *out;
	size_t o = 0;
	const char *p = path;

	if (path[0] != '/')
		return NULL;
	out = xmalloc(len + 2);
	while (*p) {
		const char *start;
		size_t n;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		start = p;
		while (*p && *p != '/')
			p++;
		n = (size_t)(p - start);
		if (n == 1 && start[0] == '.')
			continue;
		if (n == 2 && start[0] == '.' && start[1] == '.') {
			if (o == 0) {
				free(out);
				return NULL;
			}
			while (o > 0 && out[o - 1] != '/')
				o--;
			o--; /* the slash itself */
			continue;
		}
		out[o++] = '/';
		memcpy(out + o, start, n);
		o += n;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
	return out;
}

typedef unsigned char path_v16 __attribute__((vector_size(16)));

/*
 * Whether some '/' of the n bytes at p is followed by '/' or '.', 16
 * pairs at a time (p[n] is the NUL, never looked at as a follower).
 */
static bool slash_then_odd(const unsigned char *p, size_t n)
{
	path_v16 a, b, hit = { 0 };
	uint64_t half[2];

	if (n < 17) {
		for (size_t i = 0; i + 1 < n; i++)
			if (p[i] == '/' && (p[i + 1] == '/' || p[i + 1] == '.'))
				return true;
		return false;
	}
	/* Pairs (i, i + 1) for i < n - 1; the last chunk overlaps. */
	for (size_t i = 0;; i += 16) {
		if (i + 17 > n)
			i = n - 17;
		memcpy(&a, p + i, 16);
		memcpy(&b, p + i + 1, 16);
		hit |= (path_v16)(a == '/') &
		       ((path_v16)(b == '/') | (path_v16)(b == '.'));
		if (i + 17 == n)
			break;
	}
	memcpy(half, &hit, 16);
	return half[0] | half[1];
}

bool path_is_normal(const char *path)
{
	size_t n = strlen(path);
	const char *p = path;

	if (p[0] != '/')
		return false;
	if (n == 1)
		return true;
	if (p[n - 1] == '/')
		return false;
	/*
	 * The common case, checked a vector at a time: no "//" and no
	 * component that begins with '.'.  Otherwise component by
	 * component (".hidden" is a normal name).
	 */
	if (!slash_then_odd((const unsigned char *)p, n))
		return true;
	/* p is at a slash; the component after it must be a real name. */
	while (*p) {
		const char *c = ++p;

		while (*p && *p != '/')
			p++;
		if (p == c || (c[0] == '.' && (p - c == 1 ||
						(p - c == 2 && c[1] == '.'))))
			return false;
	}
	return true;
}

bool path_is_beneath(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1 && dir[0] == '/')
		return path[0] == '/';
	if (strncmp(path, dir, n) != 0)
		return false;
	return path[n] == '\0' || path[n] == '/';
}

const char *path_rest(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1 && dir[0] == '/')
		n = 0;
	path += n;
	while (*path == '/')
		path++;
	return path;
}

bool path_has_protocol(const char *path)
{
	return path[strcspn(path, ":/")] == ':';
}

bool path_has_dotdot(const char *path)
{
	const char *p = path;

	while (*p) {
		const char *start = p;

		while (*p && *p != '/')
			p++;
		if (p - start == 2 && start[0] == '.' && start[1] == '.')
			return true;
		while (*p == '/')
			p++;
	}
	return false;
}

char *path_dirname(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (!slash)
		return xstrdup(".");
	while (slash > path && slash[-1] == '/')
		slash--;
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* Empty directory fd, which lies on dev; -errno of the first failure. */
static int remove_entries(int fd, dev_t dev)
{
	DIR *d = fdopendir(fd);
	struct dirent *e;
	int first = 0;

	if (!d) {
		close(fd);
		return -errno;
	}
	while ((e = readdir(d))) {
		struct stat st;
		int rc = 0;

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			rc = -errno;
		} else if (S_ISDIR(st.st_mode)) {
			int sub;

			if (st.st_dev != dev)
				rc = -EXDEV;	/* a mount left behind: never into it */
			else if ((sub = openat(dirfd(d), e->d_name, O_RDONLY |
					       O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
				rc = -errno;
			else
				rc = remove_entries(sub, dev);
			if (rc == 0 && unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR) < 0)
				rc = -errno;
		} else if (unlinkat(dirfd(d), e->d_name, 0) < 0) {
			rc = -errno;
		}
		if (rc < 0 && rc != -ENOENT && !first)
			first = rc;
	}
	closedir(d);
	return first;
}

int path_remove_tree(const char *dir)
{
	struct stat st;
	int fd, rc;

	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	rc = remove_entries(fd, st.st_dev);
	if (rmdir(dir) < 0 && errno != ENOENT && rc == 0)
		rc = -errno;
	return rc;
}
