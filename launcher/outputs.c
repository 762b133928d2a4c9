/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "common/path.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "launcher/log.h"
#include "launcher/outputs.h"
#include "launcher/rundir.h"

char *outputs_log_dir(const char *name)
{
	const char *dir = getenv("VMSEAL_LOG_DIR");

	if (!dir || dir[0] != '/')
		dir = LOG_FALLBACK_DIR;
	return xasprintf("%s/%s", dir, name);
}

/* The chardev shorthands that take file:PATH. */
static bool compat_option(const char *opt)
{
	static const char *const names[] = { "serial", "parallel", "monitor",
					     "qmp", "qmp-pretty", "debugcon" };

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (!strcmp(opt, names[i]))
			return true;
	}
	return false;
}

/*
 * The next item of a QEMU option string (",," is a literal comma): its
 * unescaped text in a new string; *s moves past it and its comma.
 */
static char *next_item(const char **s)
{
	const char *p = *s;
	char *out = xmalloc(strlen(p) + 1), *o = out;

	while (*p) {
		if (*p == ',' && p[1] == ',') {
			*o++ = ',';
			p += 2;
			continue;
		}
		if (*p == ',') {
			p++;
			break;
		}
		*o++ = *p++;
	}
	*o = '\0';
	*s = p;
	return out;
}

/* -chardev file,...: its path (new string) and append; NULL if no file. */
static char *chardev_file_path(const char *val, bool *append)
{
	const char *s = val;
	char *path = NULL;
	bool first = true, file = false;

	*append = false;
	while (*s) {
		_cleanup_free_ char *item = next_item(&s);

		if (first && (!strcmp(item, "file") ||
			      !strcmp(item, "backend=file")))
			file = true;
		else if (!strncmp(item, "backend=", 8) && strcmp(item + 8, "file"))
			file = false;
		else if (!strncmp(item, "path=", 5)) {
			free(path);
			path = xstrdup(item + 5);
		} else if (!strncmp(item, "append=", 7))
			*append = !strcmp(item + 7, "on") ||
				  !strcmp(item + 7, "yes") ||
				  !strcmp(item + 7, "true");
		first = false;
	}
	if (!file) {
		free(path);
		return NULL;
	}
	return path;
}

/* Which root path is beneath (not the root itself); -1 for none. */
static int root_of(const struct outputs *o, const char *path)
{
	for (size_t i = 0; i < o->n_roots; i++) {
		if (strcmp(path, o->roots[i]) && path_is_beneath(path, o->roots[i]))
			return (int)i;
	}
	return -1;
}

static int add(const struct guest_config *cfg, struct outputs *o,
	       enum output_kind kind, size_t opt, const char *path,
	       bool append, struct vs_err *err)
{
	_cleanup_free_ char *norm = NULL;
	struct output *out;
	int root;

	vs_err_ctx(err, "%s: args", cfg->path);
	if (path[0] != '/')
		return vs_errf(err, EBADR,
			       "'%s %s': an output file needs an absolute path",
			       cfg->args[opt], cfg->args[opt + 1]);
	norm = path_normalize(path);
	root = norm ? root_of(o, norm) : -1;
	if (root < 0)
		return vs_errf(err, EBADR,
			       "'%s %s': the emulator writes only files vmseal "
			       "opens for it, beneath the guest's runtime "
			       "directory %s, its log directory %s%s%s",
			       cfg->args[opt], cfg->args[opt + 1], o->roots[0],
			       o->roots[1],
			       o->n_roots > 2 ? " or [emulator] output-dir " :
						" or an [emulator] output-dir",
			       o->n_roots > 2 ? o->roots[2] : "");
	for (size_t i = 0; i < o->n; i++) {
		if (!strcmp(o->v[i].path, norm))
			return vs_errf(err, EBADR,
				       "'%s %s': %s is already an output of '%s'",
				       cfg->args[opt], cfg->args[opt + 1], norm,
				       cfg->args[o->v[i].opt]);
	}
	o->v = xrealloc(o->v, (o->n + 1) * sizeof(*o->v));
	out = &o->v[o->n++];
	*out = (struct output){ .kind = kind, .opt = opt, .arg = opt + 1,
				.path = steal_ptr(&norm), .root = (size_t)root,
				.append = append, .fd = -1 };
	return 0;
}

int outputs_find(const struct guest_config *cfg, struct outputs *o,
		 struct vs_err *err)
{
	int rc = 0;

	memset(o, 0, sizeof(*o));
	o->roots[o->n_roots++] = rundir_path(cfg->name);
	o->roots[o->n_roots++] = outputs_log_dir(cfg->name);
	if (cfg->output_dir)
		o->roots[o->n_roots++] = path_normalize(cfg->output_dir);
	for (size_t i = 0; rc == 0 && i + 1 < cfg->n_args; i++) {
		const char *opt = cfg->args[i], *val = cfg->args[i + 1];
		_cleanup_free_ char *path = NULL;
		bool append = false;

		if (opt[0] != '-')
			continue;
		opt += opt[1] == '-' ? 2 : 1;
		if (compat_option(opt) && !strncmp(val, "file:", 5))
			rc = add(cfg, o, OUT_COMPAT, i, val + 5, false, err);
		else if (!strcmp(opt, "chardev") &&
			 (path = chardev_file_path(val, &append)))
			rc = add(cfg, o, OUT_CHARDEV, i, path, append, err);
		else if (!strcmp(opt, "D"))
			rc = add(cfg, o, OUT_LOG, i, val, false, err);
		else if (!strcmp(opt, "pidfile"))
			rc = add(cfg, o, OUT_PIDFILE, i, val, false, err);
		else
			continue;
		i++; /* the value is no option */
	}
	if (rc < 0)
		outputs_free(o);
	return rc;
}

void outputs_assign(struct outputs *o, int *next_fd, int *next_set)
{
	for (size_t i = 0; i < o->n; i++) {
		struct output *out = &o->v[i];

		/* -D is served by the broker, the pid file is vmseal's. */
		if (out->kind == OUT_PIDFILE || out->kind == OUT_LOG)
			continue;
		out->dst = (*next_fd)++;
		out->set = (*next_set)++;
	}
}

size_t outputs_passed(const struct outputs *o)
{
	size_t n = 0;

	for (size_t i = 0; i < o->n; i++)
		n += o->v[i].dst != 0;
	return n;
}

/* ",," for each comma: a path inside a QEMU option string. */
static char *escape_commas(const char *s)
{
	char *out = xmalloc(strlen(s) * 2 + 1), *o = out;

	for (; *s; s++) {
		*o++ = *s;
		if (*s == ',')
			*o++ = ',';
	}
	*o = '\0';
	return out;
}

/* -chardev's value with path= pointing to the fd set. */
static char *chardev_rewrite(const char *val, int set)
{
	struct strv items = STRV_INIT;
	const char *s = val;
	char *joined;
	size_t len = 0;

	while (*s) {
		_cleanup_free_ char *item = next_item(&s);

		if (!strncmp(item, "path=", 5))
			strv_pushf(&items, "path=/dev/fdset/%d", set);
		else
			strv_push_take(&items, escape_commas(item));
	}
	for (size_t i = 0; i < items.n; i++)
		len += strlen(items.v[i]) + 1;
	joined = xzalloc(len + 1);
	for (size_t i = 0; i < items.n; i++) {
		if (i)
			strcat(joined, ",");
		strcat(joined, items.v[i]);
	}
	strv_free(&items);
	return joined;
}

char *outputs_rewrite(const struct outputs *o, size_t i, const char *arg,
		      bool *skip)
{
	*skip = false;
	for (size_t k = 0; k < o->n; k++) {
		const struct output *out = &o->v[k];

		if (i != out->opt && i != out->arg)
			continue;
		if (out->kind == OUT_PIDFILE) {
			*skip = true;
			return NULL;
		}
		if (i == out->opt)
			return NULL;
		switch (out->kind) {
		case OUT_COMPAT:
			return xasprintf("file:/dev/fdset/%d", out->set);
		case OUT_CHARDEV:
			return chardev_rewrite(arg, out->set);
		default:
			return NULL; /* -D PATH: the broker serves PATH */
		}
	}
	return NULL;
}

/* A directory at path, made 0750 when missing (the log directories). */
static int make_dir(const char *path)
{
	_cleanup_free_ char *parent = path_dirname(path);

	if (mkdir(parent, 0750) < 0 && errno != EEXIST)
		return -errno;
	if (mkdir(path, 0750) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int openat2_beneath(int dirfd, const char *rel, int flags, mode_t mode)
{
	struct open_how how = {
		.flags = (unsigned)flags | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW,
		.mode = flags & O_CREAT ? mode : 0,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
			   RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV,
	};
	long fd = syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));

	return fd < 0 ? -errno : (int)fd;
}

/* Opens one output beneath dirfd; 0 or -errno with err. */
static int open_one(struct output *out, int dirfd, const char *root,
		    struct vs_err *err)
{
	const char *rel = path_rest(out->path, root);
	int fd;

	vs_err_ctx(err, "%s", out->path);
	/* O_NONBLOCK: a FIFO or device planted there cannot hang us. */
	fd = openat2_beneath(dirfd, rel, O_WRONLY | O_NONBLOCK, 0);
	if (fd == -ENOENT)
		fd = openat2_beneath(dirfd, rel,
				     O_WRONLY | O_NONBLOCK | O_CREAT | O_EXCL,
				     0640);
	if (fd < 0)
		return vs_errnof(err, -fd, "cannot open the output file");
	out->fd = fd;
	if (fstat(fd, &out->st) < 0)
		return vs_errnof(err, errno, "cannot examine the output file");
	if (!S_ISREG(out->st.st_mode) || out->st.st_nlink != 1 ||
	    out->st.st_uid != geteuid())
		return vs_errf(err, EPERM,
			       "an output file must be a regular file with one "
			       "link that uid %u owns (remove it and vmseal "
			       "creates it)",
			       (unsigned)geteuid());
	/* As QEMU would open it: truncated unless append=on. */
	if (fcntl(fd, F_SETFL, out->append ? O_APPEND : 0) < 0 ||
	    (!out->append && ftruncate(fd, 0) < 0))
		return vs_errnof(err, errno, "cannot prepare the output file");
	return 0;
}

int outputs_open(struct outputs *o, int run_fd, struct vs_err *err)
{
	int dirs[3] = { run_fd, -1, -1 };
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < o->n; i++) {
		struct output *out = &o->v[i];
		size_t r = out->root;

		if (dirs[r] < 0 && r > 0) {
			if (r == 1 && (rc = make_dir(o->roots[1])) < 0) {
				vs_errnof(err, -rc, "cannot create %s", o->roots[1]);
				break;
			}
			dirs[r] = open(o->roots[r],
				       O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (dirs[r] < 0) {
				rc = vs_errnof(err, errno, "cannot open %s",
					       o->roots[r]);
				break;
			}
		}
		if (dirs[r] < 0) {
			rc = vs_errf(err, ENOENT, "%s: no runtime directory",
				     out->path);
			break;
		}
		rc = open_one(out, dirs[r], o->roots[r], err);
	}
	for (size_t r = 1; r < 3; r++) {
		if (dirs[r] >= 0)
			close(dirs[r]);
	}
	return rc;
}

int outputs_write_pid(struct outputs *o, pid_t pid, struct vs_err *err)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%d\n", (int)pid);

	for (size_t i = 0; i < o->n; i++) {
		struct output *out = &o->v[i];

		if (out->kind != OUT_PIDFILE || out->fd < 0)
			continue;
		if (ftruncate(out->fd, 0) < 0 ||
		    pwrite(out->fd, buf, (size_t)n, 0) != n)
			return vs_errnof(err, errno, "writing %s", out->path);
	}
	return 0;
}

void outputs_close_fds(struct outputs *o)
{
	for (size_t i = 0; i < o->n; i++) {
		struct output *out = &o->v[i];

		/* The broker serves -D from it; the pid file is ours. */
		if (out->fd >= 0 && out->kind != OUT_LOG &&
		    out->kind != OUT_PIDFILE) {
			close(out->fd);
			out->fd = -1;
		}
	}
}

void outputs_remove_pidfile(struct outputs *o)
{
	struct stat st;

	for (size_t i = 0; i < o->n; i++) {
		struct output *out = &o->v[i];

		if (out->kind != OUT_PIDFILE || out->fd < 0)
			continue;
		if (stat(out->path, &st) == 0 && st.st_dev == out->st.st_dev &&
		    st.st_ino == out->st.st_ino)
			unlink(out->path);
	}
}

void outputs_free(struct outputs *o)
{
	for (size_t i = 0; i < o->n; i++) {
		if (o->v[i].fd >= 0)
			close(o->v[i].fd);
		free(o->v[i].path);
	}
	for (size_t r = 0; r < o->n_roots; r++)
		free(o->roots[r]);
	free(o->v);
	memset(o, 0, sizeof(*o));
}
