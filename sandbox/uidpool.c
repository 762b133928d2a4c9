/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "common/xalloc.h"
#include "sandbox/uidpool.h"

#define RECORD "uids"
#define RECORD_TMP ".uids.tmp"
#define RECORD_LOCK "uids.lock"

struct entry {
	char name[80];
	uid_t uid;
};

struct record {
	struct entry *v;
	size_t n;
};

static void record_free(struct record *r)
{
	free(r->v);
	r->v = NULL;
	r->n = 0;
}

/* The state directory: ours, writable by nobody else; created if missing. */
static int open_state_dir(const char *dir, bool create, struct vs_err *err)
{
	struct stat st;
	int fd;

	if (dir[0] != '/')
		return vs_errf(err, EINVAL, "state directory %s is not absolute",
			       dir);
	if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
		return vs_errnof(err, errno, "cannot create %s", dir);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return vs_errnof(err, errno, "cannot open %s", dir);
	if (fstat(fd, &st) < 0 || st.st_uid != geteuid() ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		close(fd);
		return vs_errf(err, EPERM,
			       "%s must be a directory owned by uid %u and writable "
			       "by nobody else",
			       dir, (unsigned)geteuid());
	}
	return fd;
}

static bool name_ok(const char *s)
{
	if (!*s || strlen(s) >= sizeof(((struct entry *)0)->name))
		return false;
	for (; *s; s++) {
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return false;
	}
	return true;
}

/* STATE/uids into r; a missing file is an empty record. */
static int record_read(int dfd, const char *dir, struct record *r,
		       struct vs_err *err)
{
	_cleanup_fclose_ FILE *f = NULL;
	char line[256];
	unsigned lineno = 0;
	int fd;

	memset(r, 0, sizeof(*r));
	fd = openat(dfd, RECORD, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 :
			vs_errnof(err, errno, "cannot read %s/%s", dir, RECORD);
	f = fdopen(fd, "re");
	if (!f) {
		close(fd);
		return vs_errnof(err, errno, "cannot read %s/%s", dir, RECORD);
	}
	while (fgets(line, sizeof(line), f)) {
		char name[sizeof(line)];
		unsigned long uid;
		char *end;

		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		if (sscanf(line, "%255s", name) != 1 || !name_ok(name))
			goto bad;
		errno = 0;
		uid = strtoul(line + strlen(name) + strspn(line + strlen(name), " \t"),
			      &end, 10);
		if (errno || uid == 0 || uid >= 0xffffffffUL ||
		    (*end != '\n' && *end != '\0'))
			goto bad;
		r->v = xreallocarray(r->v, r->n + 1, sizeof(*r->v));
		snprintf(r->v[r->n].name, sizeof(r->v[r->n].name), "%s", name);
		r->v[r->n++].uid = (uid_t)uid;
	}
	return 0;
bad:
	record_free(r);
	return vs_errf(err, EINVAL, "%s/%s:%u: not a 'NAME UID' line", dir, RECORD,
		       lineno);
}

static int record_write(int dfd, const char *dir, const struct record *r,
			struct vs_err *err)
{
	_cleanup_fd_ int fd = -1;
	int rc = 0;

	fd = openat(dfd, RECORD_TMP, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
					     O_CLOEXEC, 0600);
	if (fd < 0)
		return vs_errnof(err, errno, "cannot write %s/%s", dir, RECORD_TMP);
	rc = dprintf(fd, "# vmseal: the uid (and gid) of each guest without "
			 "[sandbox] user\n") < 0 ? -EIO : 0;
	for (size_t i = 0; rc == 0 && i < r->n; i++)
		rc = dprintf(fd, "%s %u\n", r->v[i].name, (unsigned)r->v[i].uid) < 0 ?
			     -EIO : 0;
	if (rc == 0 && fsync(fd) < 0)
		rc = -errno;
	if (rc == 0 && renameat(dfd, RECORD_TMP, dfd, RECORD) < 0)
		rc = -errno;
	if (rc < 0) {
		unlinkat(dfd, RECORD_TMP, 0);
		return vs_errnof(err, -rc, "cannot write %s/%s", dir, RECORD);
	}
	return 0;
}

static bool field_has(const char *line, const char *key, uid_t id)
{
	size_t n = strlen(key);
	unsigned long v[4];

	if (strncmp(line, key, n))
		return false;
	if (sscanf(line + n, "%lu %lu %lu %lu", &v[0], &v[1], &v[2], &v[3]) != 4)
		return false;
	for (int i = 0; i < 4; i++) {
		if (v[i] == id)
			return true;
	}
	return false;
}

/* The pid of a process with id among its uids or gids, or 0. */
static pid_t process_with(uid_t id)
{
	_cleanup_closedir_ DIR *d = opendir("/proc");
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char path[300], line[256];
		_cleanup_fclose_ FILE *f = NULL;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/status", e->d_name);
		f = fopen(path, "re");
		while (f && fgets(line, sizeof(line), f)) {
			if (field_has(line, "Uid:", id) || field_has(line, "Gid:", id))
				return (pid_t)atoi(e->d_name);
		}
	}
	return 0;
}

/*
 * The services of the one "DB:" line of ROOT/etc/nsswitch.conf, copied
 * into out (len bytes); NULL when it is missing, there twice, or longer
 * than a line is read.
 */
static char *nss_services(const char *root, const char *db, char *out,
			  size_t len)
{
	char path[PATH_MAX], line[512];
	_cleanup_fclose_ FILE *f = NULL;
	size_t n = strlen(db);
	bool seen = false;

	snprintf(path, sizeof(path), "%s/etc/nsswitch.conf", root);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, db, n) || line[n] != ':')
			continue;
		if (seen || !strchr(line, '\n'))
			return NULL;
		seen = true;
		snprintf(out, len, "%s", line + n + 1);
	}
	return seen ? out : NULL;
}

/*
 * Whether the services line "DB:" of ROOT/etc/nsswitch.conf names only
 * files and systemd (an [ACTION] only ends a lookup sooner); *systemd
 * says whether systemd is one of them.  False for anything else, a
 * missing line included.
 */
static bool only_files(const char *root, const char *db, bool *systemd)
{
	char line[512], *save = NULL, *tok;
	char *svc = nss_services(root, db, line, sizeof(line));

	if (!svc)
		return false;
	for (tok = strtok_r(svc, " \t\n", &save); tok;
	     tok = strtok_r(NULL, " \t\n", &save)) {
		if (tok[0] == '#')
			break;
		if (tok[0] == '[')
			continue;
		if (!strcmp(tok, "systemd"))
			*systemd = true;
		else if (strcmp(tok, "files"))
			return false;
	}
	return true;
}

/*
 * Where nss-systemd finds users it does not synthesise itself: the
 * userdb services' sockets and the drop-in directories.
 */
static const char *const userdb_paths[] = {
	"/run/systemd/userdb", "/etc/userdb", "/run/userdb",
	"/run/host/userdb", "/usr/local/lib/userdb", "/usr/lib/userdb", NULL,
};

/*
 * Whether ROOT/FILE (passwd or group) has a line whose third field, the
 * uid or gid, is id, as glibc's files service parses it: 1 (why names
 * it), 0, -1 when it cannot be read.  fgetpwent() would do, but costs an
 * lseek() a line.
 */
static int file_has_id(const char *root, const char *file, uid_t id,
		       char *why, size_t len)
{
	char path[PATH_MAX], *line = NULL;
	size_t cap = 0;
	FILE *f;
	int rc = 0;

	snprintf(path, sizeof(path), "%s%s", root, file);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (rc == 0 && getline(&line, &cap, f) > 0) {
		char *p = line, *end;
		unsigned long v;
		size_t name;

		p += strspn(p, " \t");
		if (*p == '#' || *p == '\n' || !*p)
			continue;
		name = strcspn(p, ":\n");
		end = p[name] == ':' ? strchr(p + name + 1, ':') : NULL;
		if (!end)
			continue;
		errno = 0;
		v = strtoul(end + 1, &end, 10);
		if (errno || *end != ':' || v != id)
			continue;
		snprintf(why, len, "%s %u is %s %.*s",
			 strcmp(file, "/etc/group") ? "uid" : "gid", (unsigned)id,
			 strcmp(file, "/etc/group") ? "user" : "group", (int)name, p);
		rc = 1;
	}
	if (ferror(f))
		rc = -1;
	free(line);
	fclose(f);
	return rc;
}

int uidpool_named_files(const char *root, uid_t id, char *why, size_t len)
{
	char path[PATH_MAX];
	bool systemd = false;
	int rc;

	if (!only_files(root, "passwd", &systemd) ||
	    !only_files(root, "group", &systemd))
		return -1;
	if (systemd) {
		/*
		 * nss-systemd names root and nobody itself and, from
		 * systemd 258, the foreign range 0x7ffe0000-0x7ffeffff; any
		 * other user comes from a service or a drop-in.
		 */
		if (id == 0 || id == 65534 || id >= 0x7ffe0000u)
			return -1;
		for (const char *const *p = userdb_paths; *p; p++) {
			snprintf(path, sizeof(path), "%s%s", root, *p);
			if (access(path, F_OK) == 0 || errno != ENOENT)
				return -1;
		}
	}
	rc = file_has_id(root, "/etc/passwd", id, why, len);
	if (rc == 0)
		rc = file_has_id(root, "/etc/group", id, why, len);
	return rc;
}

/*
 * Whether "files" is the first service of the DB: line of
 * ROOT/etc/nsswitch.conf and a match there ends the lookup (no
 * [SUCCESS=...] action after it): then an entry found in the file is
 * what NSS answers, whatever services follow.
 */
static bool files_first(const char *root, const char *db)
{
	char line[512], *save = NULL, *tok, *next;
	char *svc = nss_services(root, db, line, sizeof(line));

	if (!svc)
		return false;
	tok = strtok_r(svc, " \t\n", &save);
	next = tok ? strtok_r(NULL, " \t\n", &save) : NULL;
	return tok && !strcmp(tok, "files") &&
	       !(next && next[0] == '[' && strcasestr(next, "success"));
}

/*
 * The first line of ROOT/FILE whose field key (0: the name, 2: the id)
 * is key (a name, or the id in decimal), as glibc's files service
 * matches it; NULL when there is none, the file cannot be read, or a
 * line before it starts with a blank.
 */
static char *file_entry(const char *root, const char *file, int field,
			const char *key)
{
	char path[PATH_MAX], *line = NULL;
	size_t cap = 0, klen = strlen(key);
	FILE *f;
	bool found = false;

	snprintf(path, sizeof(path), "%s%s", root, file);
	f = fopen(path, "re");
	if (!f)
		return NULL;
	while (!found && getline(&line, &cap, f) > 0) {
		char *p = line;

		/* glibc skips leading blanks: not worth matching its way. */
		if (*p == ' ' || *p == '\t')
			break;
		for (int i = 0; i < field && p; i++) {
			p = strchr(p, ':');
			p = p ? p + 1 : NULL;
		}
		found = p && !strncmp(p, key, klen) &&
			(p[klen] == ':' || (field && p[klen] == '\n'));
	}
	fclose(f);
	if (found)
		return line;
	free(line);
	return NULL;
}

/* Field i of a passwd or group line, as a number. */
static bool entry_id(const char *line, int i, unsigned long *v)
{
	char *end;

	for (; i > 0 && line; i--) {
		line = strchr(line, ':');
		line = line ? line + 1 : NULL;
	}
	if (!line || !isdigit((unsigned char)*line))
		return false;
	errno = 0;
	*v = strtoul(line, &end, 10);
	return !errno && *end == ':' && *v < UINT32_MAX;
}

int uidpool_user_files(const char *root, const char *name, uid_t *uid,
		       gid_t *gid, char *group, size_t glen)
{
	_cleanup_free_ char *pw = NULL, *gr = NULL;
	char key[32];
	unsigned long u, g;

	if (!*name || strchr(name, ':') || strchr(name, '\n') ||
	    name[0] == '+' || name[0] == '-' ||
	    !files_first(root, "passwd") || !files_first(root, "group"))
		return 0;
	pw = file_entry(root, "/etc/passwd", 0, name);
	if (!pw || !entry_id(pw, 2, &u) || !entry_id(pw, 3, &g))
		return 0;
	snprintf(key, sizeof(key), "%lu", g);
	gr = file_entry(root, "/etc/group", 2, key);
	if (!gr || !strchr(gr, ':') || gr[0] == '+' || gr[0] == '-')
		return 0;
	*uid = (uid_t)u;
	*gid = (gid_t)g;
	snprintf(group, glen, "%.*s", (int)strcspn(gr, ":"), gr);
	return 1;
}

/*
 * Whether id has a passwd or group entry (why says which).  Where the
 * files are the whole database, they are read directly: an NSS lookup
 * that finds nothing in them goes on to load nss-systemd and its
 * libraries and walk the userdb directories, about 0.4 ms a launch.
 */
static bool id_named(uid_t id, char *why, size_t len)
{
	struct passwd *pw;
	struct group *gr;
	int rc = uidpool_named_files("", id, why, len);

	if (rc >= 0)
		return rc;
	errno = 0;
	pw = getpwuid(id);
	if (pw) {
		snprintf(why, len, "uid %u is user %s", (unsigned)id, pw->pw_name);
		return true;
	}
	gr = getgrgid((gid_t)id);
	if (gr) {
		snprintf(why, len, "gid %u is group %s", (unsigned)id, gr->gr_name);
		return true;
	}
	return false;
}

bool uidpool_id_free(uid_t id, char *why, size_t len)
{
	pid_t pid;

	if (id_named(id, why, len))
		return false;
	pid = process_with(id);
	if (pid) {
		snprintf(why, len, "process %d runs with id %u", (int)pid,
			 (unsigned)id);
		return false;
	}
	snprintf(why, len, "free");
	return true;
}

static bool recorded(const struct record *r, uid_t id)
{
	for (size_t i = 0; i < r->n; i++) {
		if (r->v[i].uid == id)
			return true;
	}
	return false;
}

static int check_range(uid_t first, uid_t last, struct vs_err *err)
{
	if (first == 0 || last < first || last == (uid_t)-1)
		return vs_errf(err, EINVAL, "uid range %u-%u is empty or invalid",
			       (unsigned)first, (unsigned)last);
	return 0;
}

/* The recorded uid of name (0) or a free one (*fresh); r read already. */
static int pick(const struct record *r, const char *dir, const char *name,
		uid_t first, uid_t last, uid_t *uid, bool *fresh,
		struct vs_err *err)
{
	char why[128];

	*fresh = false;
	for (size_t i = 0; i < r->n; i++) {
		if (strcmp(r->v[i].name, name))
			continue;
		*uid = r->v[i].uid;
		/* A process with it is fine: that may be this guest. */
		if (id_named(*uid, why, sizeof(why)))
			return vs_errf(err, EEXIST,
				       "uid %u recorded for guest %s in %s/%s now has "
				       "a passwd or group entry (%s): remove the line "
				       "to allocate another",
				       (unsigned)*uid, name, dir, RECORD, why);
		return 0;
	}
	for (uid_t id = first;; id++) {
		if (!recorded(r, id) && uidpool_id_free(id, why, sizeof(why))) {
			*uid = id;
			*fresh = true;
			return 0;
		}
		if (id == last)
			break;
	}
	return vs_errf(err, ENOSPC,
		       "no free uid left in %u-%u for guest %s (%zu recorded in "
		       "%s/%s)",
		       (unsigned)first, (unsigned)last, name, r->n, dir, RECORD);
}

int uidpool_peek(const char *state_dir, const char *name, uid_t first,
		 uid_t last, uid_t *uid, bool *fresh, struct vs_err *err)
{
	struct record r = { 0 };
	_cleanup_fd_ int dfd = -1;
	int rc;

	if (check_range(first, last, err) < 0 || !name_ok(name))
		return -EINVAL;
	dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (dfd >= 0) {
		close(dfd);
		dfd = open_state_dir(state_dir, false, err);
		if (dfd < 0)
			return dfd;
		rc = record_read(dfd, state_dir, &r, err);
		if (rc < 0)
			return rc;
	} else if (errno != ENOENT) {
		return vs_errnof(err, errno, "cannot open %s", state_dir);
	}
	rc = pick(&r, state_dir, name, first, last, uid, fresh, err);
	record_free(&r);
	return rc;
}

int uidpool_assign(const char *state_dir, const char *name, uid_t first,
		   uid_t last, uid_t *uid, struct vs_err *err)
{
	struct record r = { 0 };
	_cleanup_fd_ int dfd = -1, lock = -1;
	bool fresh;
	int rc;

	if (check_range(first, last, err) < 0)
		return -EINVAL;
	if (!name_ok(name))
		return vs_errf(err, EINVAL, "guest name '%s' cannot be recorded",
			       name);
	dfd = open_state_dir(state_dir, true, err);
	if (dfd < 0)
		return dfd;
	lock = openat(dfd, RECORD_LOCK,
		      O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (lock < 0)
		return vs_errnof(err, errno, "cannot open %s/%s", state_dir,
				 RECORD_LOCK);
	if (flock(lock, LOCK_EX) < 0)
		return vs_errnof(err, errno, "cannot lock %s/%s", state_dir,
				 RECORD_LOCK);
	rc = record_read(dfd, state_dir, &r, err);
	if (rc == 0)
		rc = pick(&r, state_dir, name, first, last, uid, &fresh, err);
	if (rc == 0 && fresh) {
		r.v = xreallocarray(r.v, r.n + 1, sizeof(*r.v));
		snprintf(r.v[r.n].name, sizeof(r.v[r.n].name), "%s", name);
		r.v[r.n++].uid = *uid;
		rc = record_write(dfd, state_dir, &r, err);
	}
	record_free(&r);
	return rc;
}
