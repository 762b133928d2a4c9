/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The chain record's pins in `check`, `run` and `chain --accept`, and the
 * live list of running guests' writable images (see record_use.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "chain/record.h"
#include "common/cleanup.h"
#include "common/fd.h"
#include "common/xalloc.h"
#include "conf/config.h"
#include "launcher/cli.h"
#include "launcher/commands.h"
#include "launcher/exitcode.h"
#include "launcher/log.h"
#include "launcher/record_use.h"
#include "launcher/run.h"
#include "launcher/rundir.h"

#define LIVE_DIR ".chains"
#define LIVE_LOCK ".chains.lock"

/* The files a disk lets its emulator write: the top and its data file. */
static size_t writable_files(const struct plan_disk *pd,
			     const struct stat **st, const char **path)
{
	const struct chain_member *top = &pd->chain.m[0];
	size_t n = 0;

	if (pd->cfg->readonly || !pd->chain.n)
		return 0;
	st[n] = &top->st;
	path[n++] = top->path;
	if (top->data_file) {
		st[n] = &top->data_file->st;
		path[n++] = top->data_file->path;
	}
	return n;
}

/* BASE/.chains (BASE NULL: RUN), created 0755 when create; -errno. */
static int live_dir(const char *base, bool create)
{
	_cleanup_free_ char *dir = xasprintf("%s/%s", base ?: rundir_base(),
					     LIVE_DIR);
	struct stat st;
	int fd;

	if (create && mkdir(dir, 0755) < 0 && errno != EEXIST)
		return -errno;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || (st.st_uid != geteuid() && st.st_uid != 0) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH))) {
		close(fd);
		return -EPERM;
	}
	return fd;
}

/*
 * 1 with err set when a member of p (any disk, any depth, data files
 * too) is a file another running guest may write; 0 when none.
 */
static int other_running(const char *base, const struct plan *p,
			 struct vs_err *err)
{
	_cleanup_fd_ int dfd = live_dir(base, false);
	DIR *d;
	struct dirent *e;
	int found = 0;

	if (dfd < 0)
		return 0;
	d = fdopendir(dfd);
	if (!d)
		return 0;
	dfd = -1;
	while (!found && (e = readdir(d))) {
		_cleanup_fd_ int fd = -1;
		char buf[8192], *line, *save = NULL;
		struct stat st;
		ssize_t n;

		if (e->d_name[0] == '.' || !strcmp(e->d_name, p->cfg->name))
			continue;
		fd = openat(dirfd(d), e->d_name,
			    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
		    (st.st_uid != geteuid() && st.st_uid != 0))
			continue;
		/* Not held: that guest stopped (or died) and left it. */
		if (flock(fd, LOCK_SH | LOCK_NB) == 0)
			continue;
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		for (line = strtok_r(buf, "\n", &save); line && !found;
		     line = strtok_r(NULL, "\n", &save)) {
			unsigned long long dev, ino;

			if (sscanf(line, "%llu %llu", &dev, &ino) != 2)
				continue;
			for (size_t k = 0; k < p->n_disks && !found; k++) {
				const struct chain *c = &p->disks[k].chain;

				for (size_t i = 0; i < c->n && !found; i++) {
					const struct chain_member *m = &c->m[i];
					const struct stat *s = &m->st;
					const char *path = m->path;

					if (m->data_file &&
					    m->data_file->st.st_ino == ino &&
					    m->data_file->st.st_dev == dev) {
						s = &m->data_file->st;
						path = m->data_file->path;
					}
					if (s->st_dev != dev || s->st_ino != ino)
						continue;
					vs_err_ctx(err, "disk %s",
						   p->disks[k].cfg->name);
					vs_errf(err, EBUSY,
						"%s is an image the running guest '%s' may write (its writable top or data file): it is never accepted into another guest's chain",
						path, e->d_name);
					found = 1;
				}
			}
		}
	}
	closedir(d);
	return found;
}

static void warn_raw(const struct plan *p)
{
	for (size_t k = 0; k < p->n_disks; k++) {
		const struct chain *c = &p->disks[k].chain;

		for (size_t i = 0; i < c->n; i++)
			if (c->m[i].raw_magic)
				vlog(LOG_WARNING,
				     "warning: disk %s: %s is configured as raw but begins with a %s header; it stays raw (vmseal never probes): the guest sees those bytes as data. If it is a %s image, say so in the config",
				     p->disks[k].cfg->name, c->m[i].path,
				     c->m[i].raw_magic, c->m[i].raw_magic);
	}
}

/*
 * Compares every disk with rec (NULL: none yet).  0 when every pin
 * holds (logging what changed when verbose), else the exit code after
 * logging the refusal.
 */
static int compare_all(const struct plan *p, struct json_object *rec,
		       bool say)
{
	const struct guest_config *cfg = p->cfg;

	for (size_t k = 0; k < p->n_disks; k++) {
		const struct plan_disk *pd = &p->disks[k];
		char why[1400];
		int r = rec ? record_compare(rec, pd->cfg->name, pd->cfg->image,
					     &pd->chain, why, sizeof(why)) :
			      -ENOENT;

		if (r == RECORD_REPOINTED) {
			struct vs_err err = { 0 };

			vs_err_ctx(&err, "disk %s", pd->cfg->name);
			vs_errf(&err, EPERM,
				"%s since the chain record %s; a guest can rewrite the header of an image it may write, so this is refused. If the change is yours, approve it with: vmseal chain --accept %s",
				why, cfg->record, cfg->path);
			return run_fail(&err, EXIT_IMAGE);
		}
		if (!say)
			continue;
		if (r == RECORD_SAME)
			vlog(LOG_NOTICE, "disk %s: chain record reused (unchanged)",
			     pd->cfg->name);
		else if (r == RECORD_CHANGED)
			vlog(LOG_NOTICE, "disk %s: chain re-resolved: %s",
			     pd->cfg->name, why);
		else
			vlog(LOG_NOTICE, "disk %s: chain resolved (no previous record)",
			     pd->cfg->name);
	}
	return 0;
}

/* Loads cfg's record: 0 (*rec may stay NULL), or the exit code. */
static int load(const struct guest_config *cfg, struct json_object **rec)
{
	struct vs_err err = { 0 };
	char buf[2200];
	int r = record_load(cfg->record, rec, &err);

	if (r == -ENOENT)
		return 0;
	if (r == -EACCES && geteuid() != 0) {
		/* `check` as a user who may not read root's record: say so. */
		vlog(LOG_WARNING, "warning: %s: backing references not checked against the chain record (run check as root)",
		     vs_err_str(&err, buf, sizeof(buf)));
		return 0;
	}
	if (r == -EINVAL) {
		/* Not a record of ours (or an older one): pins taken anew. */
		vlog(LOG_NOTICE, "%s", vs_err_str(&err, buf, sizeof(buf)));
		return 0;
	}
	return r < 0 ? run_fail(&err, EXIT_IMAGE) : 0;
}

static int check_locked(const char *base, const struct plan *p, bool say)
{
	struct json_object *rec = NULL;
	struct vs_err err = { 0 };
	int rc;

	warn_raw(p);
	if (other_running(base, p, &err))
		return run_fail(&err, EXIT_IMAGE);
	if (!p->cfg->record)
		return 0;
	rc = load(p->cfg, &rec);
	if (rc == 0)
		rc = compare_all(p, rec, say);
	json_object_put(rec);
	return rc;
}

int record_check(const struct plan *p)
{
	return check_locked(NULL, p, false);
}

static char *text_of(const struct plan *p)
{
	struct record_disk *d = xcalloc(p->n_disks + 1, sizeof(*d));
	char *text;

	for (size_t k = 0; k < p->n_disks; k++) {
		const struct plan_disk *pd = &p->disks[k];

		d[k] = (struct record_disk){ pd->cfg->name, pd->cfg->image,
					     vs_format_name(pd->cfg->format),
					     &pd->chain, NULL };
	}
	text = record_text(p->cfg->name, d, p->n_disks);
	free(d);
	return text;
}

/* Takes BASE/.chains.lock (check and register as one step); fd or -errno. */
static int live_lock(const char *base)
{
	_cleanup_free_ char *path = xasprintf("%s/%s", base ?: rundir_base(),
					      LIVE_LOCK);
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX) < 0) {
		close(fd);
		return -errno;
	}
	return fd;
}

static int live_register(const struct plan *p, struct record_live *live,
			 struct vs_err *err)
{
	const char *base = live->base ?: rundir_base();
	_cleanup_fd_ int dfd = live_dir(base, true);
	_cleanup_fd_ int fd = -1;
	char *text = xstrdup(""), *t;
	int r;

	if (dfd < 0)
		return vs_errnof(err, -dfd, "cannot use %s/%s", base, LIVE_DIR);
	fd = openat(dfd, p->cfg->name,
		    O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
		free(text);
		return vs_errnof(err, errno, "cannot take %s/%s/%s",
				 base, LIVE_DIR, p->cfg->name);
	}
	for (size_t k = 0; k < p->n_disks; k++) {
		const struct stat *st[2];
		const char *path[2];
		size_t n = writable_files(&p->disks[k], st, path);

		for (size_t i = 0; i < n; i++) {
			t = xasprintf("%s%llu %llu %s\n", text,
				      (unsigned long long)st[i]->st_dev,
				      (unsigned long long)st[i]->st_ino,
				      path[i]);
			free(text);
			text = t;
		}
	}
	/*
	 * Written over from the start, then cut to its length: truncating
	 * to 0 first would make ext4 flush the file at close (auto_da_alloc)
	 * and its removal at exit wait for that write and its discard
	 * (0.2 ms to 76 ms measured on an ext4 /run mounted with discard).
	 */
	r = write_full(fd, text, strlen(text));
	if (r >= 0 && ftruncate(fd, (off_t)strlen(text)) < 0)
		r = -errno;
	free(text);
	if (r < 0)
		return vs_errnof(err, -r, "cannot write %s/%s/%s",
				 base, LIVE_DIR, p->cfg->name);
	live->path = xasprintf("%s/%s/%s", base, LIVE_DIR,
			       p->cfg->name);
	live->fd = steal_fd(&fd);
	return 0;
}

int record_use(const struct plan *p, struct record_live *live)
{
	const struct guest_config *cfg = p->cfg;
	struct vs_err err = { 0 };
	_cleanup_fd_ int lock = live_lock(live->base);
	char buf[2200], *text;
	int rc;

	if (lock < 0) {
		vs_errnof(&err, -lock, "cannot lock %s/%s",
			  live->base ?: rundir_base(), LIVE_LOCK);
		return run_fail(&err, EXIT_SANDBOX);
	}
	rc = check_locked(live->base, p, true);
	if (rc)
		return rc;
	if (live_register(p, live, &err) < 0)
		return run_fail(&err, EXIT_SANDBOX);
	if (!cfg->record)
		return 0;
	text = text_of(p);
	if (record_write(cfg->record, text, &err) < 0)
		vlog(LOG_NOTICE, "%s (the guest starts anyway)",
		     vs_err_str(&err, buf, sizeof(buf)));
	free(text);
	return 0;
}

void record_live_release(struct record_live *live)
{
	if (live->fd < 0)
		return;
	unlink(live->path);
	close(live->fd);
	live->fd = -1;
	free(live->path);
	live->path = NULL;
}

/*
 * vmseal chain --accept FILE: the admin's approval.  The chains are
 * resolved under the full rules, as `run` would open them; every moved
 * reference is shown, then the record is rewritten.  Refused while the
 * guest runs (its supervisor owns the record) and for an image another
 * running guest may write.
 */
int cmd_chain_accept(const struct cli *cli)
{
	struct guest_config *cfg = NULL;
	struct json_object *rec = NULL;
	struct vs_err err = { 0 };
	_cleanup_fd_ int lock = -1;
	struct plan plan;
	char why[1400], buf[2200], *text;
	int rc = 0, r;

	if (config_load(cli->arg, &cfg, &err) < 0)
		return run_fail(&err, EXIT_CONFIG);
	if (!cfg->record) {
		vs_err_ctx(&err, "%s", cfg->path);
		vs_errf(&err, EINVAL,
			"record = none: this guest keeps no chain record, so nothing is pinned or accepted");
		rc = run_fail(&err, EXIT_CONFIG);
		goto out;
	}
	if (rundir_running(cfg->name) > 0) {
		vs_errf(&err, EBUSY,
			"guest %s is running; stop it before accepting a change of its chain",
			cfg->name);
		rc = run_fail(&err, EXIT_UNAVAILABLE);
		goto out;
	}
	if (plan_build(cfg, true, &plan, &err) < 0) {
		rc = run_fail(&err, EXIT_IMAGE);
		goto out;
	}
	lock = live_lock(NULL);
	if (other_running(NULL, &plan, &err)) {
		rc = run_fail(&err, EXIT_IMAGE);
		goto out_plan;
	}
	rc = load(cfg, &rec);
	if (rc)
		goto out_plan;
	for (size_t k = 0; k < plan.n_disks; k++) {
		const struct plan_disk *pd = &plan.disks[k];

		r = rec ? record_compare(rec, pd->cfg->name, pd->cfg->image,
					 &pd->chain, why, sizeof(why)) :
			  -ENOENT;
		if (r == RECORD_REPOINTED)
			printf("disk %s: accepted: %s\n", pd->cfg->name, why);
		else if (r == RECORD_CHANGED)
			printf("disk %s: recorded anew: %s\n", pd->cfg->name, why);
		else if (r == RECORD_SAME)
			printf("disk %s: unchanged\n", pd->cfg->name);
		else
			printf("disk %s: recorded (no previous record)\n",
			       pd->cfg->name);
	}
	text = text_of(&plan);
	if (record_write(cfg->record, text, &err) < 0) {
		fprintf(stderr, "vmseal: %s\n", vs_err_str(&err, buf, sizeof(buf)));
		rc = EXIT_IMAGE;
	} else {
		printf("chain record written: %s\n", cfg->record);
	}
	free(text);
	json_object_put(rec);
out_plan:
	plan_free(&plan);
out:
	config_free(cfg);
	return rc;
}
