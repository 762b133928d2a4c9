/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The monitor gate's event loop: QEMU's private QMP channel on one side,
 * vmseal's clients on RUN/NAME/monitor.sock on the other.  Commands go
 * to QEMU one at a time (QEMU runs them one at a time anyway), each
 * tagged with id [tag, client id]; a command that names a file is
 * preceded by the add-fd commands that give QEMU its descriptors, sent
 * with SCM_RIGHTS in the same message.  Replies are routed back by tag
 * with the client's id restored in QEMU's own spelling; events go to
 * every client.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <json-c/json.h>

#include "chain/chain.h"
#include "common/cleanup.h"
#include "common/escape.h"
#include "common/fd.h"
#include "common/path.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "conf/config.h"
#include "launcher/gate.h"
#include "launcher/gate_json.h"
#include "launcher/log.h"
#include "launcher/plan.h"
#include "launcher/rundir.h"

#include "launcher/gate_priv.h"

/* ---- bookkeeping -------------------------------------------------------- */

struct node *gate_node_find(struct gate *g, const char *name)
{
	for (size_t i = 0; i < g->nnodes; i++)
		if (!strcmp(g->nodes[i].name, name))
			return &g->nodes[i];
	return NULL;
}

struct node *gate_node_put(struct gate *g, const char *name)
{
	struct node *n = gate_node_find(g, name);

	if (n)
		return n;
	g->nodes = xrealloc(g->nodes, (g->nnodes + 1) * sizeof(*g->nodes));
	n = &g->nodes[g->nnodes++];
	memset(n, 0, sizeof(*n));
	n->name = xstrdup(name);
	return n;
}

static void node_drop(struct gate *g, const char *name)
{
	struct node *n = gate_node_find(g, name);

	if (!n)
		return;
	free(n->name);
	free(n->file);
	free(n->backing);
	free(n->driver);
	*n = g->nodes[--g->nnodes];
}

struct fdset *gate_set_find(struct gate *g, int id)
{
	for (size_t i = 0; i < g->nsets; i++)
		if (g->sets[i].id == id)
			return &g->sets[i];
	return NULL;
}

static struct fdset *set_add(struct gate *g, int id, const char *path, int opath,
			     bool ours)
{
	struct fdset *s;

	g->sets = xrealloc(g->sets, (g->nsets + 1) * sizeof(*g->sets));
	s = &g->sets[g->nsets++];
	memset(s, 0, sizeof(*s));
	s->id = id;
	s->path = xstrdup(path);
	s->opath = opath;
	s->ours = ours;
	s->rw_number = -1;
	return s;
}

static void set_free(struct fdset *s)
{
	free(s->path);
	if (s->opath >= 0)
		close(s->opath);
}

static void set_drop(struct gate *g, int id)
{
	struct fdset *s = gate_set_find(g, id);

	if (!s)
		return;
	set_free(s);
	*s = g->sets[--g->nsets];
}

/* The set behind a format or file node, following the file child. */
struct fdset *gate_node_set(struct gate *g, const char *name)
{
	struct node *n = gate_node_find(g, name);

	for (int hops = 0; n && hops < 4; hops++) {
		if (n->set)
			return gate_set_find(g, n->set);
		n = n->file ? gate_node_find(g, n->file) : NULL;
	}
	return NULL;
}

/* ---- the queue to QEMU --------------------------------------------------- */

static struct qitem *queue(struct gate *g, char *data, int fd,
			   const struct pending *p)
{
	struct qitem *it;

	if (g->nq == g->capq) {
		g->capq = g->capq ? g->capq * 2 : 16;
		g->q = xrealloc(g->q, g->capq * sizeof(*g->q));
	}
	it = &g->q[g->nq++];
	memset(it, 0, sizeof(*it));
	it->data = data;
	it->len = strlen(data);
	it->fds[0] = fd;
	it->nfds = fd >= 0;
	it->p = *p;
	it->p.tag = g->next_tag++;
	return it;
}

static void qitem_free(struct qitem *it)
{
	free(it->data);
	free(it->p.id);
	if (it->nfds && it->fds[0] >= 0)
		close(it->fds[0]);
	it->nfds = 0;
}

static void queue_pop(struct gate *g)
{
	qitem_free(&g->q[0]);
	memmove(g->q, g->q + 1, (g->nq - 1) * sizeof(*g->q));
	g->nq--;
	g->in_flight = false;
}

/* An internal command; text is the part after {"execute": ...  */
static struct qitem *internal(struct gate *g, const char *cmd, const char *args,
			      int fd, int set, const char *job)
{
	struct pending p = { .client = -1, .set = set };
	char *data;
	struct qitem *it;

	if (job)
		snprintf(p.job, sizeof(p.job), "%s", job);
	it = queue(g, xstrdup(""), fd, &p);
	free(it->data);
	data = xasprintf("{\"execute\": \"%s\"%s%s, \"id\": [%" PRIu64 "]}\n",
			 cmd, args ? ", \"arguments\": " : "", args ? args : "",
			 it->p.tag);
	it->data = data;
	it->len = strlen(data);
	return it;
}

/* Sends what it can of the head; the caller polls for POLLOUT otherwise. */
static void qemu_flush(struct gate *g)
{
	while (g->nq && g->qemu >= 0) {
		struct qitem *it = &g->q[0];
		char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
		struct iovec iov = { it->data + it->off, it->len - it->off };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t n;

		if (g->in_flight && it->off == it->len)
			return; /* waiting for its answer */
		if (it->nfds && it->off == 0) {
			struct cmsghdr *c;

			mh.msg_control = cbuf;
			mh.msg_controllen = sizeof(cbuf);
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &it->fds[0], sizeof(int));
		}
		n = sendmsg(g->qemu, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				vlog(LOG_ERR, "gate: to the emulator: %m");
			return;
		}
		if (it->nfds && it->off == 0) {
			/* QEMU holds its copy now; vmseal keeps none. */
			close(it->fds[0]);
			it->nfds = 0;
		}
		it->off += (size_t)n;
		g->in_flight = true;
		if (it->off < it->len)
			return;
	}
}

/* ---- clients ------------------------------------------------------------ */

static void client_close(struct client *c)
{
	if (c->fd < 0)
		return;
	close(c->fd);
	c->fd = -1;
	gate_framer_free(&c->in);
	free(c->out);
	c->out = NULL;
	c->out_len = c->out_cap = 0;
	for (int i = 0; i < c->nfds; i++)
		close(c->fds[i]);
	c->nfds = 0;
}

static void client_flush(struct client *c)
{
	while (c->fd >= 0 && c->out_len) {
		ssize_t n = send(c->fd, c->out, c->out_len,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				client_close(c);
			return;
		}
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len -= (size_t)n;
	}
}

static void client_send(struct client *c, const char *s, size_t len)
{
	if (c->fd < 0)
		return;
	if (c->out_len + len > CLIENT_OUT_MAX) {
		vlog(LOG_WARNING, "gate: a client does not read its replies; "
				  "closed");
		client_close(c);
		return;
	}
	if (c->out_len + len > c->out_cap) {
		c->out_cap = (c->out_len + len) * 2;
		c->out = xrealloc(c->out, c->out_cap);
	}
	memcpy(c->out + c->out_len, s, len);
	c->out_len += len;
	client_flush(c);
}

static void client_sends(struct client *c, const char *s)
{
	client_send(c, s, strlen(s));
}

/* ---- opening files under the walker's rules ----------------------------- */

/*
 * Whether another running guest may write (dev, ino): its supervisor
 * holds RUN/.chains/NAME (record_use.c) and lists it there.
 */
static bool written_by_other(struct gate *g, const struct stat *st,
			     char *who, size_t n)
{
	_cleanup_free_ char *dir = xasprintf("%s/.chains", g->run_base);
	_cleanup_closedir_ DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		_cleanup_fd_ int fd = -1;
		_cleanup_fclose_ FILE *f = NULL;
		unsigned long long dev, ino;
		struct stat fst;
		char line[PATH_MAX + 64];

		if (e->d_name[0] == '.' || !strcmp(e->d_name, g->name))
			continue;
		fd = openat(dirfd(d), e->d_name,
			    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &fst) < 0 || !S_ISREG(fst.st_mode) ||
		    fst.st_uid != geteuid())
			continue;
		/* Not held: that guest is gone. */
		if (flock(fd, LOCK_SH | LOCK_NB) == 0)
			continue;
		f = fdopen(steal_fd(&fd), "re");
		while (f && fgets(line, sizeof(line), f)) {
			if (sscanf(line, "%llu %llu", &dev, &ino) == 2 &&
			    dev == (unsigned long long)st->st_dev &&
			    ino == (unsigned long long)st->st_ino) {
				snprintf(who, n, "%s", e->d_name);
				return true;
			}
		}
	}
	return false;
}

/*
 * QEMU's image locks (block/file-posix.c, raw_check_lock_bytes): a node
 * holding permission bit i locks byte 100 + i shared, one that does not
 * share bit i locks byte 200 + i; a new node fails on 200 + i for each
 * bit it wants and on 100 + i for each bit it does not share.  Bit 0 is
 * CONSISTENT_READ, bit 1 WRITE.  A node the gate adds reads consistently
 * and, like a qcow2 file child or a device without share-rw, does not
 * share WRITE; a writable one also wants WRITE.
 */
#define QLOCK_PERM_WRITE 101
#define QLOCK_SHARED_READ 200

/* Whether another open file description holds a lock on [start, +len). */
static int lock_held(int fd, off_t start, off_t len)
{
	struct flock fl = {
		.l_type = F_WRLCK,
		.l_whence = SEEK_SET,
		.l_start = start,
		.l_len = len,
	};

	if (fcntl(fd, F_OFD_GETLK, &fl) < 0)
		return -errno;
	return fl.l_type != F_UNLCK;
}

/* A launch member: its node keeps QEMU's locks, this guest's own. */
static bool launch_file(struct gate *g, const struct stat *st)
{
	for (size_t i = 0; i < g->nsets; i++) {
		const struct fdset *s = &g->sets[i];
		struct stat o;

		if (!s->ours && s->opath >= 0 && fstat(s->opath, &o) == 0 &&
		    o.st_dev == st->st_dev && o.st_ino == st->st_ino)
			return true;
	}
	return false;
}

/*
 * Run mode: the gate's nodes have locking off, so QEMU no longer refuses
 * an image another process's QEMU (a wrapped domain, qemu-io, a guest
 * vmseal does not know) holds; the gate refuses what QEMU with its locks
 * on would.  Any lock on a file the gate opened is another process's,
 * except on a launch member, whose node this guest's QEMU locks itself:
 * for those the RUN/.chains rule alone holds.  Wrap mode leaves the
 * locks to QEMU.  0, or -EBUSY (-errno) with why.
 */
static int locked_by_other(struct gate *g, int fd, const struct stat *st,
			   bool rw, const char *path, char *why, size_t n)
{
	int w, r;

	if (!g->own_socket || launch_file(g, st))
		return 0;
	w = lock_held(fd, QLOCK_PERM_WRITE, 1);
	r = w ? 0 : lock_held(fd, QLOCK_SHARED_READ, rw ? 2 : 1);
	if (w < 0 || r < 0) {
		snprintf(why, n, "%s: testing QEMU's image locks: %s", path,
			 strerror(-(w < 0 ? w : r)));
		return w < 0 ? w : r;
	}
	if (w || r) {
		snprintf(why, n, "%s: the image is %s another process "
				 "(QEMU image lock)",
			 path, w ? "written by" : "in use, unshared, by");
		return -EBUSY;
	}
	return 0;
}

/* This guest may write it now: other launches refuse it. */
static void note_writable(struct gate *g, const struct stat *st,
			  const char *path)
{
	_cleanup_free_ char *line = xasprintf("%llu %llu %s\n",
					      (unsigned long long)st->st_dev,
					      (unsigned long long)st->st_ino,
					      path);

	if (g->writable_fd >= 0 && lseek(g->writable_fd, 0, SEEK_END) >= 0)
		(void)!write(g->writable_fd, line, strlen(line));
}

/*
 * Opens path as the chain walker would open a top image: beneath the
 * guest's roots, no symlink, a regular file (or an allowed block device).
 * 0 with *fd and *st, or -errno with why.
 */
static int open_ruled(struct gate *g, const char *path, bool rw, int *fd,
		      struct stat *st, char **real, char *why, size_t n)
{
	struct chain_opts opts = {
		.roots = g->roots.v,
		.n_roots = g->roots.n,
		.top_writable = rw,
		.keep_fds = true,
		.top_only = true,
		.allow_blockdev = g->allow_blockdev,
		.backing_format = VS_FMT_NONE,
	};
	struct vs_err err = { 0 };
	struct chain c;
	char who[256];

	if (chain_resolve(path, VS_FMT_RAW, &opts, &c, &err) < 0) {
		vs_err_str(&err, why, n);
		return -(err.code ? err.code : EACCES);
	}
	if (written_by_other(g, &c.m[0].st, who, sizeof(who))) {
		snprintf(why, n, "%s: the image is written by the running guest "
				 "%s",
			 c.m[0].real_path, who);
		chain_free(&c);
		return -EBUSY;
	}
	*fd = steal_fd(&c.m[0].fd);
	*st = c.m[0].st;
	*real = xstrdup(c.m[0].real_path);
	chain_free(&c);
	return 0;
}

/* Reopens an O_PATH handle's inode with mode. */
static int reopen(int opath, int mode)
{
	char p[40];

	snprintf(p, sizeof(p), "/proc/self/fd/%d", opath);
	return open(p, mode | O_CLOEXEC | O_NOCTTY);
}

static int add_fd_cmd(struct gate *g, int set, int fd, const char *job)
{
	char args[64];

	snprintf(args, sizeof(args), "{\"fdset-id\": %d}", set);
	internal(g, "add-fd", args, fd, set, job);
	return 0;
}

static int op_file(void *ctx, const char *path, enum gate_access acc,
		   char *why, size_t n)
{
	struct gate *g = ctx;
	_cleanup_free_ char *real = NULL;
	struct stat st;
	int fd, opath, ro, rc, set;

	rc = open_ruled(g, path, acc != GATE_RO, &fd, &st, &real, why, n);
	if (rc == 0) {
		rc = locked_by_other(g, fd, &st, acc != GATE_RO, real, why, n);
		if (rc < 0) {
			close(fd);
			free(real);
			real = NULL;
		}
	}
	/*
	 * auto-read-only: read-only where QEMU could not open it to write,
	 * or (a node no writable parent holds) where another process's lock
	 * refuses writers, as QEMU only asks to write once a parent does.
	 */
	if (rc < 0 && (acc == GATE_AUTO || acc == GATE_AUTO_W) &&
	    (rc == -EACCES || rc == -EROFS ||
	     (rc == -EBUSY && acc == GATE_AUTO))) {
		acc = GATE_RO;
		rc = open_ruled(g, path, false, &fd, &st, &real, why, n);
		if (rc == 0) {
			rc = locked_by_other(g, fd, &st, false, real, why, n);
			if (rc < 0)
				close(fd);
		}
	}
	if (rc < 0)
		return rc;
	rc = gate_label_use(g, fd, real, acc != GATE_RO, why, n);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	opath = reopen(fd, O_PATH);
	set = g->next_set++;
	set_add(g, set, real, opath, true)->has_rw = acc != GATE_RO;
	if (acc == GATE_AUTO || acc == GATE_AUTO_W) {
		ro = reopen(fd, O_RDONLY);
		if (ro < 0) {
			snprintf(why, n, "%s: reopening read-only: %s", real,
				 strerror(errno));
			close(fd);
			return -EACCES;
		}
		/* QEMU takes the first descriptor whose mode matches. */
		add_fd_cmd(g, set, ro, NULL);
	}
	if (acc != GATE_RO)
		note_writable(g, &st, real);
	add_fd_cmd(g, set, fd, NULL);
	return set;
}

static int op_create(void *ctx, const char *path, char *why, size_t n)
{
	struct gate *g = ctx;
	struct open_how how = {
		.flags = O_CREAT | O_RDWR | O_CLOEXEC | O_NOCTTY,
		.mode = 0600,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
			   RESOLVE_NO_MAGICLINKS,
	};
	_cleanup_free_ char *norm = path_normalize(path);

	for (size_t i = 0; norm && i < g->roots.n; i++) {
		_cleanup_fd_ int dir = -1;
		long fd;

		if (!path_is_beneath(norm, g->roots.v[i]))
			continue;
		dir = open(g->roots.v[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dir < 0)
			break;
		fd = syscall(SYS_openat2, dir, path_rest(norm, g->roots.v[i]),
			     &how, sizeof(how));
		if (fd < 0) {
			snprintf(why, n, "%s: cannot create: %s", path,
				 strerror(errno));
			return -errno;
		}
		close((int)fd);
		return op_file(ctx, norm, GATE_RW, why, n);
	}
	snprintf(why, n, "%s: not beneath the guest's roots", path);
	return -EACCES;
}

static int op_output(void *ctx, const char *path, char *why, size_t n)
{
	struct gate *g = ctx;
	struct open_how how = {
		.flags = O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY,
		.mode = 0600,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
			   RESOLVE_NO_MAGICLINKS,
	};
	_cleanup_free_ char *norm = path_normalize(path);
	struct stat st;
	long fd;
	int set;

	if (!norm || g->run_dir_fd < 0 || !path_is_beneath(norm, g->run_dir) ||
	    !strcmp(norm, g->run_dir)) {
		snprintf(why, n, "%s: output files go in the guest's runtime "
				 "directory %s",
			 path, g->run_dir ? g->run_dir : "(none)");
		return -EACCES;
	}
	fd = syscall(SYS_openat2, g->run_dir_fd, path_rest(norm, g->run_dir),
		     &how, sizeof(how));
	if (fd < 0) {
		snprintf(why, n, "%s: %s", path, strerror(errno));
		return -errno;
	}
	if (fstat((int)fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close((int)fd);
		snprintf(why, n, "%s: not a regular file", path);
		return -EACCES;
	}
	set = g->next_set++;
	set_add(g, set, norm, -1, true);
	add_fd_cmd(g, set, (int)fd, NULL);
	return set;
}

static const char *op_node_path(void *ctx, const char *node)
{
	struct fdset *s = gate_node_set(ctx, node);

	return s ? s->path : NULL;
}

static const char *op_path_node(void *ctx, const char *path)
{
	struct gate *g = ctx;
	_cleanup_free_ char *norm = path_normalize(path);

	for (size_t i = 0; norm && i < g->nnodes; i++) {
		struct fdset *s;

		if (g->nodes[i].set)
			continue; /* a format node is wanted */
		s = gate_node_set(g, g->nodes[i].name);
		if (s && !strcmp(s->path, norm))
			return g->nodes[i].name;
	}
	return NULL;
}

static const char *op_overlay_of(void *ctx, const char *node)
{
	struct gate *g = ctx;

	for (size_t i = 0; i < g->nnodes; i++)
		if (g->nodes[i].backing && !strcmp(g->nodes[i].backing, node))
			return g->nodes[i].name;
	return NULL;
}

static int op_backing_name(void *ctx, const char *name, const char *image,
			   char *why, size_t n)
{
	struct gate *g = ctx;
	_cleanup_free_ char *full = NULL, *real = NULL;
	struct stat st;
	int fd, rc;

	if (path_has_protocol(name)) {
		snprintf(why, n, "backing-file %s: protocol and json: names are "
				 "refused",
			 name);
		return -EINVAL;
	}
	if (name[0] != '/' && !image) {
		snprintf(why, n, "backing-file %s: a relative name needs its "
				 "image",
			 name);
		return -EINVAL;
	}
	full = name[0] == '/' ? xstrdup(name) : path_combine(image, name);
	rc = open_ruled(g, full, false, &fd, &st, &real, why, n);
	if (rc == 0)
		close(fd);
	return rc;
}

static int op_resolve_backing(void *ctx, const char *file_path, const char *fmt,
			      const char **backing, char *why, size_t n)
{
	struct gate *g = ctx;
	struct chain_opts opts = {
		.roots = g->roots.v,
		.n_roots = g->roots.n,
		.top_only = true,
		.backing_format = VS_FMT_NONE,
		.allow_blockdev = g->allow_blockdev,
	};
	struct vs_err err = { 0 };
	enum vs_format f = VS_FMT_NONE;
	char who[256];
	struct chain c;

	*backing = NULL;
	if (vs_format_from_name(fmt, &f) < 0 || f == VS_FMT_NONE) {
		snprintf(why, n, "%s: format %s is not known to vmseal", file_path,
			 fmt);
		return -EINVAL;
	}
	if (chain_resolve(file_path, f, &opts, &c, &err) < 0) {
		vs_err_str(&err, why, n);
		return -EACCES;
	}
	if (!c.m[0].info.has_backing) {
		chain_free(&c);
		return 0;
	}
	chain_free(&c);
	/* Its chain, resolved as at launch, becomes nodes of the gate's. */
	opts.top_only = false;
	opts.keep_fds = true;
	opts.max_depth = g->max_depth;
	opts.backing_format = g->backing_format;
	if (chain_resolve(file_path, f, &opts, &c, &err) < 0) {
		vs_err_str(&err, why, n);
		return -EACCES;
	}
	if (c.n > 1 && written_by_other(g, &c.m[1].st, who, sizeof(who))) {
		snprintf(why, n, "%s: the image is written by the running guest %s",
			 c.m[1].real_path, who);
		chain_free(&c);
		return -EBUSY;
	}
	for (size_t i = 1; i < c.n; i++) {
		int rc = locked_by_other(g, c.m[i].fd, &c.m[i].st, false,
					 c.m[i].real_path, why, n);

		if (rc < 0) {
			chain_free(&c);
			return rc;
		}
	}
	for (size_t i = 1; i < c.n; i++) {
		int rc = gate_label_use(g, c.m[i].fd, c.m[i].real_path, false,
					why, n);

		if (rc < 0) {
			chain_free(&c);
			return rc;
		}
	}
	for (size_t i = c.n; i-- > 1;) {
		const struct chain_member *m = &c.m[i];
		char fnode[40], fnm[40], args[512];
		struct node *nd;
		int set = g->next_set++;

		snprintf(fnode, sizeof(fnode), "vsgate-%d-f", set);
		snprintf(fnm, sizeof(fnm), "vsgate-%d", set);
		set_add(g, set, m->real_path, reopen(m->fd, O_PATH), true);
		add_fd_cmd(g, set, steal_fd(&c.m[i].fd), NULL);
		snprintf(args, sizeof(args),
			 "{\"driver\": \"%s\", \"node-name\": \"%s\", "
			 "\"filename\": \"/dev/fdset/%d\", \"read-only\": true%s}",
			 m->blockdev ? "host_device" : "file", fnode, set,
			 g->own_socket ? ", \"locking\": \"off\"" : "");
		internal(g, "blockdev-add", args, -1, 0, NULL);
		nd = gate_node_put(g, fnode);
		nd->set = set;
		if (i + 1 < c.n)
			snprintf(args, sizeof(args),
				 "{\"driver\": \"%s\", \"node-name\": \"%s\", "
				 "\"file\": \"%s\", \"read-only\": true, "
				 "\"backing\": \"vsgate-%d\"}",
				 vs_format_name(m->info.format), fnm, fnode, set - 1);
		else
			snprintf(args, sizeof(args),
				 "{\"driver\": \"%s\", \"node-name\": \"%s\", "
				 "\"file\": \"%s\", \"read-only\": true, "
				 "\"backing\": null}",
				 vs_format_name(m->info.format), fnm, fnode);
		internal(g, "blockdev-add", args, -1, 0, NULL);
		nd = gate_node_put(g, fnm);
		nd->file = xstrdup(fnode);
		nd->driver = xstrdup(vs_format_name(m->info.format));
		if (i + 1 < c.n) {
			char b[40];

			snprintf(b, sizeof(b), "vsgate-%d", set - 1);
			nd->backing = xstrdup(b);
		}
	}
	{
		static char top_backing[40];

		snprintf(top_backing, sizeof(top_backing), "vsgate-%d",
			 g->next_set - 1);
		*backing = top_backing;
	}
	chain_free(&c);
	return 0;
}

static int op_writable(void *ctx, const char *node, const char *job, char *why,
		       size_t n)
{
	struct gate *g = ctx;
	struct fdset *s = gate_node_set(g, node);
	struct stat st;
	char who[256];
	int fd, rc;

	if (!s || s->has_rw)
		return 0; /* QEMU answers for nodes vmseal does not know */
	if (s->n_jobfd == JOB_FDS_MAX) {
		snprintf(why, n, "too many jobs on %s", s->path);
		return -EBUSY;
	}
	fd = s->opath >= 0 ? reopen(s->opath, O_RDWR) : -1;
	if (fd < 0) {
		snprintf(why, n, "%s: cannot be opened for writing: %s", s->path,
			 strerror(errno));
		return -EACCES;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(why, n, "%s: %s", s->path, strerror(errno));
		close(fd);
		return -EACCES;
	}
	if (written_by_other(g, &st, who, sizeof(who))) {
		close(fd);
		snprintf(why, n, "%s: the image is written by the running guest "
				 "%s",
			 s->path, who);
		return -EBUSY;
	}
	/* Read-only until now: another process may have begun writing it. */
	rc = locked_by_other(g, fd, &st, true, s->path, why, n);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	note_writable(g, &st, s->path);
	rc = gate_label_use(g, fd, s->path, true, why, n);
	if (rc < 0) {
		close(fd);
		return rc;
	}
	snprintf(s->jobfd[s->n_jobfd].job, sizeof(s->jobfd[0].job), "%s",
		 job ? job : "");
	s->jobfd[s->n_jobfd++].fd = -1;
	add_fd_cmd(g, s->id, fd, job ? job : "");
	return 0;
}

static bool op_own_set(void *ctx, int64_t set)
{
	struct gate *g = ctx;

	return gate_set_find(g, (int)set) != NULL ||
	       (set >= GATE_FIRST_SET && set < g->next_set);
}

static struct gate_ops gate_ops_for(struct gate *g)
{
	return (struct gate_ops){
		.ctx = g,
		.file = op_file,
		.create = op_create,
		.output = op_output,
		.node_path = op_node_path,
		.path_node = op_path_node,
		.overlay_of = op_overlay_of,
		.backing_name = op_backing_name,
		.resolve_backing = op_resolve_backing,
		.writable = op_writable,
		.own_set = op_own_set,
		/* Wrapped guests are in no RUN/.chains: QEMU's locks judge. */
		.keep_locks = !g->own_socket,
	};
}

/* ---- what a reply or an event changes ----------------------------------- */

/* Records the nodes a successful blockdev-add created. */
static void register_nodes(struct gate *g, struct json_object *o)
{
	struct json_object *v;
	const char *name = NULL, *drv = NULL, *fn = NULL;

	if (!json_object_is_type(o, json_type_object))
		return;
	if (json_object_object_get_ex(o, "node-name", &v))
		name = json_object_get_string(v);
	if (json_object_object_get_ex(o, "driver", &v))
		drv = json_object_get_string(v);
	if (json_object_object_get_ex(o, "filename", &v))
		fn = json_object_get_string(v);
	if (name && drv) {
		struct node *n = gate_node_put(g, name);

		free(n->driver);
		n->driver = xstrdup(drv);
		if (fn && !strncmp(fn, "/dev/fdset/", 11))
			n->set = atoi(fn + 11);
		if (json_object_object_get_ex(o, "file", &v)) {
			free(n->file);
			n->file = NULL;
			if (json_object_is_type(v, json_type_string)) {
				n->file = xstrdup(json_object_get_string(v));
			} else if (json_object_is_type(v, json_type_object)) {
				struct json_object *f = v;

				if (json_object_object_get_ex(f, "node-name", &v))
					n->file = xstrdup(json_object_get_string(v));
				else if (json_object_object_get_ex(f, "filename", &v) &&
					 !strncmp(json_object_get_string(v),
						  "/dev/fdset/", 11))
					/* An unnamed child goes with its parent. */
					n->set = atoi(json_object_get_string(v) + 11);
			}
		}
		if (json_object_object_get_ex(o, "backing", &v)) {
			free(n->backing);
			n->backing = NULL;
			if (json_object_is_type(v, json_type_string))
				n->backing = xstrdup(json_object_get_string(v));
			else if (json_object_is_type(v, json_type_object) &&
				 json_object_object_get_ex(v, "node-name", &v))
				n->backing = xstrdup(json_object_get_string(v));
		}
	}
	json_object_object_foreach(o, key, val) {
		(void)key;
		if (json_object_is_type(val, json_type_object))
			register_nodes(g, val);
	}
}

/* A copy of o's string member key; NULL when o has none. */
char *gate_dup_member(struct json_object *o, const char *key)
{
	const char *s = gate_json_str(o, key);

	return s ? xstrdup(s) : NULL;
}

static void job_free(struct job *j)
{
	free(j->id);
	free(j->cmd);
	free(j->device);
	free(j->top);
	free(j->base);
	free(j->target);
}

static struct job *job_find(struct gate *g, const char *id)
{
	for (size_t i = 0; id && i < g->njobs; i++)
		if (!strcmp(g->jobs[i].id, id))
			return &g->jobs[i];
	return NULL;
}

static void job_drop(struct gate *g, struct job *j)
{
	job_free(j);
	*j = g->jobs[--g->njobs];
}

/* A job command QEMU accepted: remember what its end will change. */
static void job_started(struct gate *g, const char *sent)
{
	struct json_object *o = json_tokener_parse(sent), *a = NULL, *v;
	struct job j = { 0 };

	if (o)
		json_object_object_get_ex(o, "arguments", &a);
	if (!a) {
		json_object_put(o);
		return;
	}
	json_object_object_get_ex(o, "execute", &v);
	j.cmd = xstrdup(v ? json_object_get_string(v) : "");
	j.device = gate_dup_member(a, "device");
	j.id = gate_dup_member(a, "job-id");
	if (!j.id && j.device)
		j.id = xstrdup(j.device);
	j.top = gate_dup_member(a, "top-node");
	j.base = gate_dup_member(a, "base-node");
	j.target = gate_dup_member(a, "target");
	json_object_put(o);
	if (!j.id) {
		job_free(&j);
		return;
	}
	g->jobs = xrealloc(g->jobs, (g->njobs + 1) * sizeof(*g->jobs));
	g->jobs[g->njobs++] = j;
}

/* The disk whose active node is node, or -1. */
int gate_disk_of_active(struct gate *g, const char *node)
{
	for (size_t i = 0; node && i < g->disk_active.n; i++)
		if (!strcmp(g->disk_active.v[i], node))
			return (int)i;
	return -1;
}

void gate_set_active(struct gate *g, int disk, const char *node)
{
	free(g->disk_active.v[disk]);
	g->disk_active.v[disk] = xstrdup(node);
}

static void set_backing(struct gate *g, const char *node, const char *backing)
{
	struct node *n = node ? gate_node_find(g, node) : NULL;

	if (!n)
		return;
	free(n->backing);
	n->backing = backing ? xstrdup(backing) : NULL;
}

/* A job completed without error: the graph QEMU now has. */
static void job_completed(struct gate *g, struct job *j)
{
	const char *dev = j->device;
	int disk;

	if (!strcmp(j->cmd, "block-stream")) {
		set_backing(g, dev, j->base);
	} else if (!strcmp(j->cmd, "block-commit")) {
		bool active = !j->top || (dev && !strcmp(j->top, dev));

		if (active) {
			disk = gate_disk_of_active(g, dev);
			if (j->complete && disk >= 0 && j->base)
				gate_set_active(g, disk, j->base);
		} else {
			const char *over = op_overlay_of(g, j->top);

			if (over) {
				char *o = xstrdup(over);

				set_backing(g, o, j->base);
				free(o);
			}
		}
	} else if (!strcmp(j->cmd, "blockdev-mirror")) {
		disk = gate_disk_of_active(g, dev);
		if (j->complete && disk >= 0 && j->target)
			gate_set_active(g, disk, j->target);
	} else {
		return;
	}
	gate_chain_changed(g);
}

/* x-vmseal-query-disks: each disk's active node and its chain. */
static char *query_disks(struct gate *g)
{
	struct json_object *arr = json_object_new_array();
	char *s;

	for (size_t i = 0; i < g->disk_names.n; i++) {
		struct json_object *d = json_object_new_object(),
				   *ch = json_object_new_array();
		const char *n = g->disk_active.v[i];

		json_object_object_add(d, "disk",
				       json_object_new_string(g->disk_names.v[i]));
		json_object_object_add(d, "active", json_object_new_string(n));
		for (int hops = 0; n && hops < 4096; hops++) {
			struct json_object *m = json_object_new_object();
			struct node *nd = gate_node_find(g, n);
			struct fdset *st = gate_node_set(g, n);

			json_object_object_add(m, "node", json_object_new_string(n));
			if (nd && nd->file)
				json_object_object_add(m, "file-node",
						       json_object_new_string(nd->file));
			if (st)
				json_object_object_add(m, "filename",
						       json_object_new_string(st->path));
			json_object_array_add(ch, m);
			n = nd ? nd->backing : NULL;
		}
		json_object_object_add(d, "chain", ch);
		json_object_array_add(arr, d);
	}
	s = xstrdup(json_object_to_json_string_ext(arr, JSON_C_TO_STRING_SPACED |
								JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(arr);
	return s;
}

/*
 * The set's launch-time O_RDWR descriptor leaves QEMU: the node is only
 * read now, and a description that was written through keeps its image
 * locks while the set holds it (the next job would fail to lock).
 */
static void drop_rw(struct gate *g, struct fdset *s)
{
	char args[64];

	if (!s || s->rw_number < 0 || !s->rw_known)
		return;
	snprintf(args, sizeof(args), "{\"fdset-id\": %d, \"fd\": %d}", s->id,
		 s->rw_number);
	internal(g, "remove-fd", args, -1, 0, NULL);
	s->rw_number = -1;
	s->has_rw = false;
}

/*
 * Backing members' launch-time O_RDWR descriptors, once QEMU runs (QEMU
 * closes a removed descriptor only then) and their numbers are known.
 */
static void drop_launch_rw(struct gate *g)
{
	for (size_t i = 0; g->running && i < g->nsets; i++) {
		if (g->sets[i].drop_rw && g->sets[i].rw_known) {
			g->sets[i].drop_rw = false;
			drop_rw(g, &g->sets[i]);
		}
	}
}

/* query-fdsets: the number QEMU gave each launch-time O_RDWR descriptor. */
static void learn_fdsets(struct gate *g, const char *line)
{
	struct json_object *o = json_tokener_parse(line), *r;

	if (!o || !json_object_object_get_ex(o, "return", &r) ||
	    !json_object_is_type(r, json_type_array)) {
		json_object_put(o);
		return;
	}
	for (size_t i = 0; i < json_object_array_length(r); i++) {
		struct json_object *e = json_object_array_get_idx(r, i), *v, *fds;
		struct fdset *s;

		if (!json_object_object_get_ex(e, "fdset-id", &v) ||
		    !(s = gate_set_find(g, json_object_get_int(v))) ||
		    s->rw_number < 0 || !json_object_object_get_ex(e, "fds", &fds))
			continue;
		for (size_t k = 0; k < json_object_array_length(fds); k++) {
			struct json_object *f = json_object_array_get_idx(fds, k);
			const char *op = gate_json_str(f, "opaque");
			size_t n = op ? strlen(op) : 0;

			/* vmseal:DISK:I, not its :ro twin or :data-file. */
			if (!op || strncmp(op, "vmseal:", 7) ||
			    (n > 3 && !strcmp(op + n - 3, ":ro")) ||
			    (n > 10 && !strcmp(op + n - 10, ":data-file")) ||
			    !json_object_object_get_ex(f, "fd", &v))
				continue;
			s->rw_number = json_object_get_int(v);
			s->rw_known = true;
		}
	}
	json_object_put(o);
	drop_launch_rw(g);
}

/* overlay now sits on node: the disk whose active node was node moves up. */
static void snapshot_done(struct gate *g, const char *node, const char *overlay)
{
	struct node *n = gate_node_put(g, overlay);
	int disk = gate_disk_of_active(g, node);

	free(n->backing);
	n->backing = xstrdup(node);
	if (disk >= 0)
		gate_set_active(g, disk, overlay);
	drop_rw(g, gate_node_set(g, node));
}

static void after_success(struct gate *g, const struct qitem *it)
{
	const struct pending *p = &it->p;

	switch (p->after) {
	case GATE_AFTER_DEL: {
		struct node *n = gate_node_find(g, p->node);
		struct fdset *s = n && n->set ? gate_set_find(g, n->set) : NULL;

		gate_label_node_gone(g, p->node);
		if (s && s->ours) {
			char args[64];

			snprintf(args, sizeof(args), "{\"fdset-id\": %d}", s->id);
			internal(g, "remove-fd", args, -1, 0, NULL);
			set_drop(g, s->id);
		}
		node_drop(g, p->node);
		break;
	}
	case GATE_AFTER_SNAPSHOT:
		if (p->node[0]) {
			snapshot_done(g, p->node, p->node2);
		} else {
			/* A transaction: each of its blockdev-snapshot actions. */
			struct json_object *o = json_tokener_parse(it->data), *a,
					   *acts;

			if (o && json_object_object_get_ex(o, "arguments", &a) &&
			    json_object_object_get_ex(a, "actions", &acts)) {
				for (size_t i = 0;
				     i < json_object_array_length(acts); i++) {
					struct json_object *e =
						json_object_array_get_idx(acts, i),
							   *d;
					const char *t = gate_json_str(e, "type");

					if (!t || strcmp(t, "blockdev-snapshot") ||
					    !json_object_object_get_ex(e, "data", &d) ||
					    !gate_json_str(d, "node") || !gate_json_str(d, "overlay"))
						continue;
					snapshot_done(g, gate_json_str(d, "node"),
						      gate_json_str(d, "overlay"));
				}
			}
			json_object_put(o);
		}
		gate_chain_changed(g);
		break;
	case GATE_AFTER_JOB:
		job_started(g, it->data);
		break;
	case GATE_AFTER_MEDIUM:
		internal(g, "query-block", NULL, -1, 0, NULL)->p.after =
			GATE_AFTER_MEDIUM;
		break;
	case GATE_AFTER_DEVICE:
		gate_live_after(g, p);
		break;
	default:
		break;
	}
}

/* A job ended: its O_RDWR descriptors leave their sets (image locks). */
static void job_ended(struct gate *g, const char *job)
{
	for (size_t i = 0; i < g->nsets; i++) {
		struct fdset *s = &g->sets[i];

		for (size_t k = 0; k < s->n_jobfd;) {
			char args[96];

			if (strcmp(s->jobfd[k].job, job) != 0) {
				k++;
				continue;
			}
			if (s->jobfd[k].fd >= 0) {
				snprintf(args, sizeof(args),
					 "{\"fdset-id\": %d, \"fd\": %d}", s->id,
					 s->jobfd[k].fd);
				internal(g, "remove-fd", args, -1, 0, NULL);
			}
			s->jobfd[k] = s->jobfd[--s->n_jobfd];
		}
	}
}

static void on_event(struct gate *g, const char *line, size_t len)
{
	struct json_object *o = json_tokener_parse(line), *d, *v;
	const char *ev;

	(void)len;
	if (!o)
		return;
	if (json_object_object_get_ex(o, "event", &v) &&
	    (ev = json_object_get_string(v)) && !strcmp(ev, "RESUME")) {
		g->running = true;
		drop_launch_rw(g);
	}
	if (json_object_object_get_ex(o, "event", &v) &&
	    (ev = json_object_get_string(v)) && !strcmp(ev, "DEVICE_DELETED") &&
	    json_object_object_get_ex(o, "data", &d)) {
		if (json_object_object_get_ex(d, "device", &v))
			gate_live_device_deleted(g, json_object_get_string(v));
		/* A removable device may have taken its medium along. */
		if (g->media_dev.n)
			internal(g, "query-block", NULL, -1, 0, NULL)->p.after =
				GATE_AFTER_MEDIUM;
	}
	if (json_object_object_get_ex(o, "event", &v) &&
	    (ev = json_object_get_string(v)) &&
	    !strcmp(ev, "JOB_STATUS_CHANGE") &&
	    json_object_object_get_ex(o, "data", &d) &&
	    json_object_object_get_ex(d, "status", &v)) {
		const char *st = json_object_get_string(v);

		if (st && (!strcmp(st, "concluded") || !strcmp(st, "null")) &&
		    json_object_object_get_ex(d, "id", &v))
			job_ended(g, json_object_get_string(v));
	}
	if (json_object_object_get_ex(o, "event", &v) &&
	    (ev = json_object_get_string(v)) &&
	    (!strcmp(ev, "BLOCK_JOB_COMPLETED") ||
	     !strcmp(ev, "BLOCK_JOB_CANCELLED")) &&
	    json_object_object_get_ex(o, "data", &d) &&
	    json_object_object_get_ex(d, "device", &v)) {
		struct job *j = job_find(g, json_object_get_string(v));

		if (j && !strcmp(ev, "BLOCK_JOB_COMPLETED") &&
		    !json_object_object_get_ex(d, "error", NULL))
			job_completed(g, j);
		if (j)
			job_drop(g, j);
	}
	json_object_put(o);
}

/* An internal command's answer. */
static void internal_reply(struct gate *g, const struct qitem *it,
			   const char *line)
{
	struct json_object *o, *r, *v;

	if (strstr(it->data, "\"qmp_capabilities\""))
		g->caps_done = true;
	if (it->p.after == GATE_AFTER_MEDIUM && !strstr(line, "\"error\"")) {
		gate_live_media(g, line);
		return;
	}
	if (strstr(it->data, "\"query-fdsets\"") && !strstr(line, "\"error\"")) {
		learn_fdsets(g, line);
		return;
	}

	if (strstr(line, "\"error\"")) {
		_cleanup_free_ char *e = vs_escape_dup(line);

		vlog(LOG_WARNING, "gate: the emulator refused vmseal's %.*s: %s",
		     (int)strcspn(it->data + 14, "\""), it->data + 14, e);
		return;
	}
	if (!it->p.job[0] || !it->p.set)
		return;
	/* add-fd of a job's descriptor: keep QEMU's number to remove it. */
	o = json_tokener_parse(line);
	if (o && json_object_object_get_ex(o, "return", &r) &&
	    json_object_object_get_ex(r, "fd", &v)) {
		struct fdset *s = gate_set_find(g, it->p.set);

		for (size_t k = 0; s && k < s->n_jobfd; k++) {
			if (s->jobfd[k].fd < 0 &&
			    !strcmp(s->jobfd[k].job, it->p.job)) {
				s->jobfd[k].fd = json_object_get_int(v);
				break;
			}
		}
	}
	json_object_put(o);
}

static void broadcast(struct gate *g, const char *line, size_t len)
{
	for (int i = 0; i < GATE_CLIENTS_MAX; i++)
		if (g->c[i].fd >= 0 && g->c[i].caps)
			client_send(&g->c[i], line, len);
}

static void greet(struct gate *g, struct client *c)
{
	if (!g->greeting || c->greeted)
		return;
	c->greeted = true;
	client_sends(c, g->greeting);
}

/* One line from QEMU, its newline included. */
static void qemu_line(struct gate *g, const char *line, size_t len)
{
	size_t vs, ve, ms, me, out_len;
	_cleanup_free_ char *out = NULL;
	uint64_t tag;
	int rc;

	if (gate_member(line, len, "QMP", &vs, &ve, &ms, &me) == 1) {
		free(g->greeting);
		g->greeting = xstrndup(line, len);
		if (!g->caps_sent) {
			g->caps_sent = true;
			internal(g, "qmp_capabilities", NULL, -1, 0, NULL);
			/* -add-fd dups: QEMU's numbers of the launch's fds. */
			internal(g, "query-fdsets", NULL, -1, 0, NULL);
		}
		for (int i = 0; i < GATE_CLIENTS_MAX; i++)
			if (g->c[i].fd >= 0)
				greet(g, &g->c[i]);
		return;
	}
	if (gate_member(line, len, "event", &vs, &ve, &ms, &me) == 1) {
		broadcast(g, line, len);
		on_event(g, line, len);
		return;
	}
	rc = gate_reply_unwrap(line, len, &tag, &out, &out_len);
	if (rc != 1 || !g->nq || !g->in_flight || g->q[0].p.tag != tag) {
		_cleanup_free_ char *e = vs_escape_dup(line);

		vlog(LOG_WARNING, "gate: an answer the gate did not ask for: %s",
		     e);
		return;
	}
	{
		struct qitem it = g->q[0];
		bool ok = gate_member(line, len, "error", &vs, &ve, &ms, &me) != 1;

		/* The head is answered: the next command may go. */
		memmove(g->q, g->q + 1, (g->nq - 1) * sizeof(*g->q));
		g->nq--;
		g->in_flight = false;
		if (it.p.client < 0) {
			_cleanup_free_ char *l = xstrndup(line, len);

			/* line is the head of a buffer: one line alone. */
			internal_reply(g, &it, l);
		} else {
			struct client *c = &g->c[it.p.client];

			if (c->fd >= 0 && c->gen == it.p.gen)
				client_send(c, out, out_len);
			if (ok)
				after_success(g, &it);
		}
		if (ok && it.p.add_nodes) {
			struct json_object *o = json_tokener_parse(it.data), *a;

			if (o && json_object_object_get_ex(o, "arguments", &a))
				register_nodes(g, a);
			json_object_put(o);
		}
		qitem_free(&it);
	}
}

static void qemu_read(struct gate *g)
{
	ssize_t n = read(g->qemu, g->rbuf + g->rlen, sizeof(g->rbuf) - g->rlen);
	char *nl;

	if (n <= 0) {
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		close(g->qemu);
		g->qemu = -1;
		return;
	}
	g->rlen += (size_t)n;
	while ((nl = memchr(g->rbuf, '\n', g->rlen))) {
		size_t l = (size_t)(nl - g->rbuf) + 1;

		qemu_line(g, g->rbuf, l);
		memmove(g->rbuf, g->rbuf + l, g->rlen - l);
		g->rlen -= l;
	}
	if (g->rlen == sizeof(g->rbuf)) {
		vlog(LOG_WARNING, "gate: the emulator sent a line longer than "
				  "%d bytes; dropped",
		     GATE_MSG_MAX);
		g->rlen = 0;
	}
}

/* ---- a client's command ------------------------------------------------- */

static void refuse_log(const char *cmd, const char *desc)
{
	_cleanup_free_ char *c = vs_escape_dup(cmd);
	_cleanup_free_ char *d = vs_escape_dup(desc);

	vlog(LOG_WARNING, "gate: refused %s: %s", c, d);
}

/* Undoes what a refused command queued (add-fd of its files). */
static void rollback(struct gate *g)
{
	while (g->nq > g->mark_q) {
		qitem_free(&g->q[g->nq - 1]);
		g->nq--;
	}
	while (g->nsets > g->mark_sets) {
		set_free(&g->sets[g->nsets - 1]);
		g->nsets--;
	}
}

static void client_command(struct gate *g, int ci, const char *text, size_t len)
{
	struct client *c = &g->c[ci];
	struct gate_ops ops = gate_ops_for(g);
	struct gate_result r;
	struct pending p = { .client = ci, .gen = c->gen };
	_cleanup_free_ char *reply = NULL;
	uint64_t tag = g->next_tag++;
	struct qitem *it;
	int fd = -1;

	/* What a refused command queued is taken back. */
	g->mark_q = g->nq;
	g->mark_sets = g->nsets;
	if (gate_rewrite(text, len, tag, c->caps ? &ops : NULL, &r) < 0) {
		rollback(g);
		return;
	}
	switch (r.kind) {
	case GATE_BAD:
		rollback(g);
		reply = gate_error_reply(r.id, "GenericError", r.desc);
		client_sends(c, reply);
		break;
	case GATE_REFUSE:
		rollback(g);
		if (!c->caps)
			goto no_caps;
		refuse_log(r.cmd, r.desc);
		reply = gate_error_reply(r.id, "GenericError", r.desc);
		client_sends(c, reply);
		break;
	case GATE_CAPS:
		if (c->caps) {
			reply = gate_error_reply(r.id, "CommandNotFound",
						 "Capabilities negotiation is "
						 "already complete, command "
						 "ignored");
		} else {
			c->caps = true;
			reply = r.id ? xasprintf("{\"return\": {}, \"id\": %s}\r\n",
						 r.id) :
				       xstrdup("{\"return\": {}}\r\n");
		}
		client_sends(c, reply);
		break;
	case GATE_SEND:
		if (!c->caps) {
no_caps:
			rollback(g);
			reply = gate_error_reply(r.id, "CommandNotFound",
						 "Expecting capabilities "
						 "negotiation with "
						 "'qmp_capabilities'");
			client_sends(c, reply);
			break;
		}
		if ((!strcmp(r.cmd, "getfd") || !strcmp(r.cmd, "add-fd")) &&
		    c->nfds) {
			fd = c->fds[0];
			memmove(c->fds, c->fds + 1,
				(size_t)(c->nfds - 1) * sizeof(int));
			c->nfds--;
		}
		if (!strcmp(r.cmd, "x-vmseal-query-disks")) {
			/* The gate's own: QEMU never sees it. */
			_cleanup_free_ char *d = query_disks(g);

			rollback(g);
			reply = r.id ? xasprintf("{\"return\": %s, \"id\": %s}\r\n",
						 d, r.id) :
				       xasprintf("{\"return\": %s}\r\n", d);
			client_sends(c, reply);
			break;
		}
		if (!strcmp(r.cmd, "x-vmseal-disk-add") ||
		    !strcmp(r.cmd, "x-vmseal-disk-del")) {
			rollback(g);
			gate_disk_cmd(g, r.cmd, r.json, r.desc, sizeof(r.desc));
			reply = r.desc[0] ?
					gate_error_reply(r.id, "GenericError", r.desc) :
				r.id ? xasprintf("{\"return\": {}, \"id\": %s}\r\n",
						 r.id) :
				       xstrdup("{\"return\": {}}\r\n");
			client_sends(c, reply);
			break;
		}
		if (!strcmp(r.cmd, "job-complete") ||
		    !strcmp(r.cmd, "block-job-complete")) {
			struct json_object *o = json_tokener_parse(r.json), *a;
			_cleanup_free_ char *id = NULL;
			struct job *j;

			if (o && json_object_object_get_ex(o, "arguments", &a)) {
				id = gate_dup_member(a, "id");
				if (!id)
					id = gate_dup_member(a, "device");
			}
			json_object_put(o);
			j = job_find(g, id);
			if (j)
				j->complete = true;
		}
		p.id = steal_ptr(&r.id);
		p.after = r.after;
		p.add_nodes = !strcmp(r.cmd, "blockdev-add");
		snprintf(p.node, sizeof(p.node), "%s", r.node);
		snprintf(p.node2, sizeof(p.node2), "%s", r.node2);
		it = queue(g, steal_ptr(&r.json), fd, &p);
		it->p.tag = tag;
		break;
	}
	gate_result_free(&r);
	/* Descriptors that came with a command that takes none. */
	while (c->fd >= 0 && c->nfds)
		close(c->fds[--c->nfds]);
	qemu_flush(g);
}

static void client_read(struct gate *g, int ci)
{
	struct client *c = &g->c[ci];
	char buf[65536];
	char cbuf[CMSG_SPACE(4 * sizeof(int))];
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	const char *obj;
	size_t olen;
	ssize_t n;
	int rc;

	n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
	if (n <= 0) {
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			return;
		client_close(c);
		return;
	}
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm;
	     cm = CMSG_NXTHDR(&mh, cm)) {
		size_t k;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			if (c->nfds < (int)(sizeof(c->fds) / sizeof(c->fds[0])))
				c->fds[c->nfds++] = fd;
			else
				close(fd);
		}
	}
	if (gate_framer_feed(&c->in, buf, (size_t)n) < 0) {
		client_close(c);
		return;
	}
	while (c->fd >= 0 && (rc = gate_framer_next(&c->in, &obj, &olen)) != 0) {
		if (rc < 0) {
			_cleanup_free_ char *e = gate_error_reply(
				NULL, "GenericError",
				"JSON parse error, expecting value");

			client_sends(c, e);
			continue;
		}
		client_command(g, ci, obj, olen);
	}
}

static void client_accept(struct gate *g)
{
	int fd = accept4(g->listen, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

	if (fd < 0)
		return;
	for (int i = 0; i < GATE_CLIENTS_MAX; i++) {
		struct client *c = &g->c[i];

		if (c->fd >= 0)
			continue;
		memset(c, 0, sizeof(*c));
		c->fd = fd;
		c->gen = ++g->gen;
		gate_framer_init(&c->in);
		greet(g, c);
		return;
	}
	{
		static const char busy[] =
			"{\"error\": {\"class\": \"GenericError\", \"desc\": "
			"\"vmseal: too many monitor clients\"}}\r\n";

		(void)!send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT);
		close(fd);
	}
}

/* ---- setup and the supervisor's hooks ------------------------------------ */

static void add_plan(struct gate *g, const struct plan *plan)
{
	for (size_t k = 0; k < plan->n_disks; k++) {
		const struct plan_disk *d = &plan->disks[k];

		for (size_t i = 0; i < d->chain.n; i++) {
			const struct chain_member *m = &d->chain.m[i];
			const struct plan_node *nd = &d->nodes[i];
			struct fdset *s;
			struct node *n;
			int opath = -1;

			if (m->fd >= 0)
				opath = reopen(m->fd, O_PATH);
			s = set_add(g, nd->set, m->real_path, opath, false);
			s->has_rw = !nd->readonly;
			if (nd->ro_fd && !nd->readonly)
				s->rw_number = nd->fd;
			n = gate_node_put(g, nd->file_node);
			n->set = nd->set;
			n = gate_node_put(g, nd->fmt_node);
			n->file = xstrdup(nd->file_node);
			n->driver = xstrdup(vs_format_name(m->info.format));
			if (i + 1 < d->chain.n)
				n->backing = xstrdup(d->nodes[i + 1].fmt_node);
		}
		if (d->cor_node[0]) {
			/* The copy-on-read filter above the active layer. */
			struct node *n = gate_node_put(g, d->cor_node);

			n->file = xstrdup(d->nodes[0].fmt_node);
			n->driver = xstrdup("copy-on-read");
		}
		strv_push(&g->disk_names, d->cfg->name);
		strv_push(&g->disk_active, d->nodes[0].fmt_node);
	}
}

/* The nodes of the emulator's -blockdev JSON options (wrap mode). */
static void add_argv_nodes(struct gate *g, char *const *argv)
{
	for (size_t i = 0; argv && argv[i] && argv[i + 1]; i++) {
		struct json_object *o;

		if (strcmp(argv[i], "-blockdev") || argv[i + 1][0] != '{')
			continue;
		o = json_tokener_parse(argv[i + 1]);
		if (o) {
			struct json_object *v;
			const char *file;

			register_nodes(g, o);
			/* A format node read-only from the start: a backing member. */
			if (json_object_object_get_ex(o, "read-only", &v) &&
			    json_object_get_boolean(v) &&
			    (file = gate_json_str(o, "file"))) {
				struct fdset *s = gate_node_set(g, file);

				if (s)
					s->drop_rw = true;
			}
		}
		json_object_put(o);
	}
}

/* Wrap mode: the caller's listening socket, accepted on by the gate. */
static int open_wrapped(struct gate *g, const struct gate_setup *st, int *peer,
			struct vs_err *err)
{
	int sp[2];

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0)
		return vs_errnof(err, errno, "gate: socketpair");
	g->qemu = sp[0];
	fcntl(g->qemu, F_SETFL, O_NONBLOCK);
	g->listen = fcntl(st->listen_fd, F_DUPFD_CLOEXEC, 3);
	if (g->listen < 0 || fcntl(g->listen, F_SETFL, O_NONBLOCK) < 0) {
		int e = errno;

		close(sp[1]);
		return vs_errnof(err, e, "gate: the caller's monitor socket %d",
				 st->listen_fd);
	}
	*peer = sp[1];
	return 0;
}

int gate_open(const struct gate_setup *st, struct gate **out, int *peer,
	      struct vs_err *err)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct gate *g = xzalloc(sizeof(*g));
	int sp[2];

	g->qemu = g->listen = g->writable_fd = -1;
	for (int i = 0; i < GATE_CLIENTS_MAX; i++)
		g->c[i].fd = -1;
	g->name = xstrdup(st->name);
	g->run_dir = st->run_dir ? xstrdup(st->run_dir) : NULL;
	g->run_dir_fd = st->run_dir_fd;
	g->qemu_number = st->qemu_fd;
	g->next_set = GATE_FIRST_SET;
	g->next_tag = 1;
	{
		size_t n;
		char **roots = plan_guest_roots(st->cfg, &n);

		for (size_t i = 0; i < n; i++)
			strv_push(&g->roots, roots[i]);
		strv_free_array(roots);
	}
	for (size_t k = 0; k < st->cfg->n_disks; k++)
		g->allow_blockdev |= st->cfg->disks[k].allow_blockdev;
	g->max_depth = st->cfg->max_depth ? st->cfg->max_depth :
					    VS_MAX_DEPTH_DEFAULT;
	g->backing_format = VS_FMT_NONE;
	if (st->listen_fd >= 0 && !st->cfg->n_roots) {
		/*
		 * Wrapped: the caller (libvirt) names the files with its own
		 * rights, which the helper has; the walker's other rules stay
		 * (no symlink, no protocol or json: name, a regular file or a
		 * block device, never another running guest's writable image).
		 */
		strv_free(&g->roots);
		strv_push(&g->roots, "/");
		g->allow_blockdev = true;
	}
	g->run_base = xstrdup(st->run_base ? st->run_base : rundir_base());
	g->hooks = st->hooks;
	g->writable_fd = st->live_fd >= 0 ?
				 fcntl(st->live_fd, F_DUPFD_CLOEXEC, 3) :
				 -1;
	add_plan(g, st->plan);
	add_argv_nodes(g, st->argv);
	if (st->listen_fd >= 0) {
		int rc = open_wrapped(g, st, peer, err);

		if (rc < 0) {
			gate_close(g);
			return rc;
		}
		*out = g;
		return 0;
	}
	g->own_socket = true;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) < 0) {
		gate_close(g);
		return vs_errnof(err, errno, "gate: socketpair");
	}
	g->qemu = sp[0];
	fcntl(g->qemu, F_SETFL, O_NONBLOCK);
	g->sock_path = xasprintf("%s/%s", st->run_dir, GATE_SOCKET);
	if (fd_unix_addr(&sa, g->sock_path) < 0) {
		close(sp[1]);
		gate_close(g);
		return vs_errf(err, ENAMETOOLONG, "%s/%s: path too long",
			       st->run_dir, GATE_SOCKET);
	}
	g->listen = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	unlinkat(st->run_dir_fd, GATE_SOCKET, 0);
	if (g->listen < 0 ||
	    bind(g->listen, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    /* The group before the bits: 0660 only ever for that group. */
	    fchownat(st->run_dir_fd, GATE_SOCKET, (uid_t)-1, st->group,
		     AT_SYMLINK_NOFOLLOW) < 0 ||
	    fchmodat(st->run_dir_fd, GATE_SOCKET,
		     st->group != (gid_t)-1 ? 0660 : 0600, 0) < 0 ||
	    listen(g->listen, 16) < 0) {
		int e = errno;

		close(sp[1]);
		gate_close(g);
		return vs_errnof(err, e, "%s/%s", st->run_dir, GATE_SOCKET);
	}
	*peer = sp[1];
	*out = g;
	return 0;
}

void gate_argv(const struct gate *g, char ***argv)
{
	struct strv a = STRV_INIT;

	for (char **p = *argv; *p; p++)
		strv_push(&a, *p);
	strv_push(&a, "-chardev");
	strv_pushf(&a, "socket,id=%s,fd=%d", GATE_CHARDEV, g->qemu_number);
	strv_push(&a, "-mon");
	strv_pushf(&a, "chardev=%s,mode=control", GATE_CHARDEV);
	strv_free_array(*argv);
	*argv = strv_steal(&a);
}

bool gate_ready(const struct gate *g)
{
	return g->caps_done;
}

size_t gate_pollfds(struct gate *g, struct pollfd *p)
{
	size_t n = 0;

	p[n++] = (struct pollfd){
		.fd = g->qemu,
		.events = POLLIN | (g->nq && (!g->in_flight ||
					      g->q[0].off < g->q[0].len) ?
					    POLLOUT :
					    0),
	};
	p[n++] = (struct pollfd){ .fd = g->listen, .events = POLLIN };
	for (int i = 0; i < GATE_CLIENTS_MAX; i++)
		p[n++] = (struct pollfd){
			.fd = g->c[i].fd,
			.events = POLLIN | (g->c[i].out_len ? POLLOUT : 0),
		};
	return n;
}

void gate_handle(struct gate *g, const struct pollfd *p, size_t n)
{
	if (n < GATE_POLLFDS)
		return;
	if (p[0].fd >= 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
		qemu_read(g);
	if (p[0].fd >= 0 && g->qemu >= 0 && (p[0].revents & POLLOUT))
		qemu_flush(g);
	if (p[1].revents & POLLIN)
		client_accept(g);
	for (int i = 0; i < GATE_CLIENTS_MAX; i++) {
		const struct pollfd *q = &p[2 + i];

		if (q->fd < 0 || q->fd != g->c[i].fd)
			continue;
		if (q->revents & POLLOUT)
			client_flush(&g->c[i]);
		if (q->revents & (POLLIN | POLLHUP | POLLERR))
			client_read(g, i);
	}
	qemu_flush(g);
}

void gate_close(struct gate *g)
{
	if (!g)
		return;
	for (int i = 0; i < GATE_CLIENTS_MAX; i++)
		client_close(&g->c[i]);
	if (g->listen >= 0)
		close(g->listen);
	if (g->run_dir_fd >= 0 && g->own_socket)
		unlinkat(g->run_dir_fd, GATE_SOCKET, 0);
	if (g->qemu >= 0)
		close(g->qemu);
	if (g->writable_fd >= 0)
		close(g->writable_fd);
	while (g->nq)
		queue_pop(g);
	free(g->q);
	for (size_t i = 0; i < g->nsets; i++)
		set_free(&g->sets[i]);
	free(g->sets);
	while (g->nnodes)
		node_drop(g, g->nodes[0].name);
	free(g->nodes);
	strv_free(&g->roots);
	strv_free(&g->disk_names);
	strv_free(&g->disk_active);
	strv_free(&g->dev_disks);
	strv_free(&g->media_dev);
	strv_free(&g->media_path);
	while (g->njobs)
		job_drop(g, &g->jobs[0]);
	free(g->jobs);
	free(g->greeting);
	free(g->sock_path);
	free(g->name);
	free(g->run_dir);
	free(g->run_base);
	free(g);
}
