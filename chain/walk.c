/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The backing chain walker.  Every name it follows comes from a header a
 * guest could have written, and it runs as root, so it decides everything
 * on the name before touching the file system: protocol prefixes, depth,
 * recorded format, and the allowed roots are all checked on the string,
 * and only then is the file reached, beneath its root's directory fd with
 * openat2(O_PATH, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS), so the kernel
 * enforces what the lexical check assumed.  That O_PATH handle opens
 * nothing (no FIFO blocks, no device driver runs); only once fstat() says
 * it is a regular file (or an allowed block device) is that same inode
 * opened, through /proc/self/fd.  One path resolution and one header read
 * per member, so a deep chain costs linear time.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <linux/openat2.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "chain/chain.h"
#include "common/cleanup.h"
#include "common/escape.h"
#include "common/fd.h"
#include "common/path.h"
#include "common/xalloc.h"

/* Header names are the guest's bytes: shown escaped and cut short. */
#define QUOTE_MAX 256
/* openat2() says EAGAIN on a racing rename or a lease; retry a little. */
#define OPEN_RETRIES 8

struct root {
	char *path;	/* as configured, normalised */
	char *real;	/* realpath(): members may be named either way */
	int fd;		/* O_PATH, what openat2() resolves beneath */
};

/*
 * Who names the file being opened: for error messages only, so nothing
 * here is formatted until a message is (a deep chain's walk is mostly
 * the kernel's time; the rest should not be building strings).
 */
struct ref {
	const char *name;	/* the name as the header writes it; NULL: top */
	const char *by;		/* real path of the image naming it */
	uint64_t off;		/* where the name lies in it */
	const char *what;	/* "backing file", "data file", "extent file" */
};

struct walk {
	const struct chain_opts *opts;
	struct vs_err *err;
	struct root *roots;
	size_t n_roots;
	char *roots_str;	/* "(/img, /data)" */
	uint8_t *buf;
	size_t buf_size;
	/*
	 * How much of the next header to read first: what the member
	 * before used, rounded up (see read_header()).
	 */
	size_t first_read;
	struct image_info scratch;	/* what the decoder fills */
	struct chain *c;
	size_t cap;
	/*
	 * Every (dev, ino) in the chain so far, with the path it was reached
	 * by: an open-addressing hash, so the loop check stays linear in
	 * depth.  Sized to a power of two at least twice the entries.
	 */
	struct seen *seen;
	size_t seen_cap, n_seen;
};

struct seen {
	dev_t dev;
	ino_t ino;
	const char *path;	/* owned by the chain */
};

/*
 * The chain's strings, bump-allocated from blocks that chain_free()
 * releases together: a member's path, its normalised path when that
 * differs, and its header's names.
 */
struct chain_strings {
	struct chain_strings *next;
	size_t used, cap;
	char data[];
};

#define STRINGS_FIRST (4096 - sizeof(struct chain_strings) - 16)
#define STRINGS_MAX (256 * 1024)

static char *str_alloc(struct chain *c, size_t n)
{
	struct chain_strings *b = c->strings;
	char *p;

	if (!b || b->cap - b->used < n) {
		size_t cap = b ? b->cap * 2 : STRINGS_FIRST;

		if (cap > STRINGS_MAX)
			cap = STRINGS_MAX;
		if (cap < n)
			cap = n;
		b = xmalloc(sizeof(*b) + cap);
		b->next = c->strings;
		b->used = 0;
		b->cap = cap;
		c->strings = b;
	}
	p = b->data + b->used;
	b->used += n;
	return p;
}

static char *str_dup(struct chain *c, const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(str_alloc(c, n), s, n);
}

/* path_combine() into the chain's strings. */
static char *str_combine(struct chain *c, const char *image, const char *name)
{
	const char *slash = strrchr(image, '/');
	size_t dir, n;
	char *out;

	if (name[0] == '/' || !slash)
		return str_dup(c, name);
	dir = (size_t)(slash - image + 1);
	n = strlen(name) + 1;
	out = str_alloc(c, dir + n);
	memcpy(out, image, dir);
	memcpy(out + dir, name, n);
	return out;
}

static void strings_free(struct chain *c)
{
	while (c->strings) {
		struct chain_strings *b = c->strings;

		c->strings = b->next;
		free(b);
	}
}

static const char *file_type(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFIFO:
		return "fifo";
	case S_IFSOCK:
		return "socket";
	case S_IFBLK:
		return "block device";
	case S_IFCHR:
		return "char device";
	case S_IFDIR:
		return "directory";
	case S_IFLNK:
		return "symlink";
	}
	return "unknown type";
}

/* Sets err->context from ref: "IMAGE: offset 0x..", or the top's path. */
static void ref_ctx(struct walk *w, const struct ref *ref, const char *top)
{
	char q[QUOTE_MAX];

	if (!ref->name)
		vs_err_ctx(w->err, "%s", vs_quote_ascii(q, sizeof(q), top));
	else
		vs_err_ctx(w->err, "%s: offset 0x%llx",
			   vs_quote_ascii(q, sizeof(q), ref->by),
			   (unsigned long long)ref->off);
}

/* The message from fmt, with err->context from ref. */
static int __attribute__((format(printf, 5, 6)))
ref_err(struct walk *w, const struct ref *ref, const char *top, int errnum,
	const char *fmt, ...)
{
	char msg[sizeof(w->err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ref_ctx(w, ref, top);
	return vs_errf(w->err, errnum, "%s", msg);
}

/*
 * An error about reaching a file: "backing file 'NAME' (REAL): WHAT",
 * or "WHAT" for the top image, whose path is the context.  With
 * subject_form, "SUBJECT WHAT" ("image lies outside ...").
 */
static int __attribute__((format(printf, 7, 8)))
file_err(struct walk *w, const struct ref *ref, const char *path,
	 const char *real, bool subject_form, int errnum, const char *fmt, ...)
{
	char msg[sizeof(w->err->msg)], subject[QUOTE_MAX * 2 + 48];
	char qname[QUOTE_MAX], qreal[QUOTE_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vs_quote_ascii(qreal, sizeof(qreal), real ? real : path);
	if (!ref->name) {
		snprintf(subject, sizeof(subject), "image");
	} else {
		vs_quote_ascii(qname, sizeof(qname), ref->name);
		if (strcmp(qname, qreal) == 0)
			snprintf(subject, sizeof(subject), "%s '%s'", ref->what,
				 qname);
		else
			snprintf(subject, sizeof(subject), "%s '%s' (%s)",
				 ref->what, qname, qreal);
	}
	return ref_err(w, ref, path, errnum, "%s%s%s",
		       subject_form || ref->name ? subject : "",
		       subject_form ? " " : ref->name ? ": " : "", msg);
}

static void roots_close(struct walk *w)
{
	for (size_t i = 0; i < w->n_roots; i++) {
		if (w->roots[i].fd >= 0)
			close(w->roots[i].fd);
		free(w->roots[i].path);
		free(w->roots[i].real);
	}
	free(w->roots);
	free(w->roots_str);
	w->roots = NULL;
	w->n_roots = 0;
}

/* Roots are the admin's config: opened as written, symlinks and all. */
static int roots_open(struct walk *w)
{
	const struct chain_opts *o = w->opts;
	size_t len = 3;
	char *p;

	if (!o->n_roots || !o->roots)
		return vs_errf(w->err, EINVAL, "no image roots configured");
	w->roots = xcalloc(o->n_roots, sizeof(*w->roots));
	w->n_roots = o->n_roots;
	for (size_t i = 0; i < w->n_roots; i++)
		w->roots[i].fd = -1;

	for (size_t i = 0; i < w->n_roots; i++) {
		const char *dir = o->roots[i];
		struct root *rt = &w->roots[i];
		int e;

		vs_err_ctx(w->err, "%s", dir);
		rt->path = path_normalize(dir);
		if (!rt->path)
			return vs_errf(w->err, EINVAL,
				       "image root is not an absolute path");
		rt->fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (rt->fd < 0)
			return vs_errnof(w->err, errno,
					 "cannot open image root");
		rt->real = realpath(dir, NULL);
		if (!rt->real) {
			e = errno;
			return vs_errnof(w->err, e,
					 "cannot resolve image root");
		}
		len += strlen(dir) + 2;
	}
	vs_err_clear(w->err);

	w->roots_str = p = xmalloc(len);
	*p++ = '(';
	for (size_t i = 0; i < w->n_roots; i++) {
		size_t n = strlen(o->roots[i]);

		if (i) {
			memcpy(p, ", ", 2);
			p += 2;
		}
		memcpy(p, o->roots[i], n);
		p += n;
	}
	memcpy(p, ")", 2);
	return 0;
}

/* The root path lies beneath, by name as configured or as resolved. */
static const struct root *find_root(const struct walk *w, const char *path,
				    const char **rest)
{
	for (size_t i = 0; i < w->n_roots; i++) {
		const struct root *rt = &w->roots[i];

		if (path_is_beneath(path, rt->path)) {
			*rest = path_rest(path, rt->path);
			return rt;
		}
		if (path_is_beneath(path, rt->real)) {
			*rest = path_rest(path, rt->real);
			return rt;
		}
	}
	return NULL;
}

static int open_beneath(int dirfd, const char *rest, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)flags,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
			   RESOLVE_NO_MAGICLINKS,
	};

	for (int tries = 0;; tries++) {
		long fd = syscall(SYS_openat2, dirfd, rest, &how, sizeof(how));

		if (fd >= 0)
			return (int)fd;
		if ((errno != EAGAIN && errno != EINTR) ||
		    tries >= OPEN_RETRIES)
			return -errno;
	}
}

static size_t seen_slot(const struct walk *w, dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)dev * 0x9e3779b97f4a7c15ULL ^ (uint64_t)ino;

	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return (size_t)h & (w->seen_cap - 1);
}

/* The slot holding this inode, or the empty slot where it would go. */
static size_t seen_find(const struct walk *w, dev_t dev, ino_t ino)
{
	size_t i = seen_slot(w, dev, ino);

	while (w->seen[i].path &&
	       (w->seen[i].dev != dev || w->seen[i].ino != ino))
		i = (i + 1) & (w->seen_cap - 1);
	return i;
}

/*
 * Where this inode already is in the chain, or NULL; *slot is where
 * seen_put() puts it.  The table first makes room for it, so that the
 * one lookup serves both (nothing is put in between).
 */
static const char *already_in_chain(struct walk *w, const struct stat *st,
				    size_t *slot)
{
	if (2 * (w->n_seen + 1) > w->seen_cap) {
		struct seen *old = w->seen;
		size_t old_cap = w->seen_cap;

		w->seen_cap = w->seen_cap ? w->seen_cap * 2 : 64;
		w->seen = xcalloc(w->seen_cap, sizeof(*w->seen));
		for (size_t k = 0; k < old_cap; k++)
			if (old[k].path)
				w->seen[seen_find(w, old[k].dev, old[k].ino)] =
					old[k];
		free(old);
	}
	*slot = seen_find(w, st->st_dev, st->st_ino);
	return w->seen[*slot].path;
}

static void seen_put(struct walk *w, size_t slot, dev_t dev, ino_t ino,
		     const char *path)
{
	w->seen[slot] = (struct seen){ dev, ino, path };
	w->n_seen++;
}

/*
 * Opens the inode an O_PATH handle holds, with mode: the path is not
 * looked up again, so nothing can be swapped in between.
 */
static int reopen(int opath, int mode)
{
	char p[40] = "/proc/self/fd/", d[12], *q = d + sizeof(d);
	unsigned v = (unsigned)opath;
	int fd;

	/* Once per member: the digits by hand, not by snprintf(). */
	*--q = '\0';
	do {
		*--q = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	memcpy(p + 14, q, (size_t)(d + sizeof(d) - q));
	fd = open(p, mode | O_CLOEXEC | O_NOCTTY);
	return fd < 0 ? -errno : fd;
}

static int blockdev_size(int fd, uint64_t *size)
{
	return ioctl(fd, BLKGETSIZE64, size) < 0 ? -errno : 0;
}

/*
 * Reaches path (taking it), named as ref says, and opens it with mode:
 * the name's lexical checks, an O_PATH handle beneath its root, the type
 * and loop checks on that handle, and only then an open of the inode.
 * Each check in order; a message is formatted only when one fails.
 */
static int open_file(struct walk *w, char *path, int mode,
		     const struct ref *ref, struct chain_file *f)
{
	char *real;
	_cleanup_fd_ int opath = -1;
	_cleanup_fd_ int fd = -1;
	const struct root *rt;
	const char *rest = NULL, *seen;
	size_t slot;
	uint64_t size;
	struct stat st;
	int r;

	/* Usually the same string: kept once. */
	if (path_is_normal(path)) {
		real = path;
	} else {
		char *n = path_normalize(path);

		if (!n)
			return file_err(w, ref, path, NULL, true, EINVAL,
					"climbs above /");
		real = str_dup(w->c, n);
		free(n);
	}
	rt = find_root(w, real, &rest);
	if (!rt)
		return file_err(w, ref, path, real, true, EACCES,
				"lies outside the allowed roots %s",
				w->roots_str);
	if (!rest[0])
		return file_err(w, ref, path, real, false, EINVAL,
				"not a regular file (directory)");

	opath = open_beneath(rt->fd, rest, O_PATH | O_CLOEXEC);
	if (opath < 0) {
		switch (-opath) {
		case ELOOP:
			return file_err(w, ref, path, real, false, ELOOP,
					"symlink in path");
		case EXDEV:
			return file_err(w, ref, path, real, false, EXDEV,
					"path escapes the image root %s",
					rt->path);
		case ENOSYS:
			return file_err(w, ref, path, real, false, ENOSYS,
					"openat2() is not available; vmseal needs Linux 5.6 or later");
		}
		return file_err(w, ref, path, real, false, -opath,
				"cannot open: %s", strerror(-opath));
	}
	if (fstat(opath, &st) < 0)
		return file_err(w, ref, path, real, false, errno,
				"cannot stat: %s", strerror(errno));
	if (S_ISBLK(st.st_mode) && !w->opts->allow_blockdev)
		return file_err(w, ref, path, real, false, EINVAL,
				"not a regular file (block device); refused unless %s",
				w->opts->cli ? "--block-device is given" :
					       "the disk sets block-device = allow");
	if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode))
		return file_err(w, ref, path, real, false, EINVAL,
				"not a regular file (%s)",
				file_type(st.st_mode));
	seen = already_in_chain(w, &st, &slot);
	if (seen) {
		char qo[QUOTE_MAX], qreal[QUOTE_MAX];

		vs_quote_ascii(qo, sizeof(qo), seen);
		if (strcmp(seen, real) == 0)
			return ref_err(w, ref, path, ELOOP,
				       "loop: %s is already in the chain", qo);
		return ref_err(w, ref, path, ELOOP,
			       "loop: %s is already in the chain as %s",
			       vs_quote_ascii(qreal, sizeof(qreal), real), qo);
	}

	fd = reopen(opath, mode);
	if (fd < 0)
		return file_err(w, ref, path, real, false, -fd,
				"cannot open: %s", strerror(-fd));
	size = (uint64_t)st.st_size;
	if (S_ISBLK(st.st_mode)) {
		r = blockdev_size(fd, &size);
		if (r < 0)
			return file_err(w, ref, path, real, false, -r,
					"cannot read the block device's size: %s",
					strerror(-r));
	}

	memset(f, 0, sizeof(*f));
	f->real_path = real;
	f->path = path;
	f->fd = steal_fd(&fd);
	f->open_flags = mode;
	f->st = st;
	f->size = size;
	f->blockdev = S_ISBLK(st.st_mode);
	seen_put(w, slot, st.st_dev, st.st_ino, f->real_path);
	return 0;
}

/* real_path may be path itself (open_file() keeps equal strings once). */
static void free_real(char *real_path, const char *path)
{
	if (real_path != path)
		free(real_path);
}

/* own_strings: the strings are the file's own, not the chain's blocks. */
static void file_free(struct chain_file *f, bool own_strings)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	if (own_strings) {
		free(f->name);
		free_real(f->real_path, f->path);
		free(f->path);
	}
}

/* The decoder's answer, kept compact in the member (taking extents). */
static void keep_info(struct chain *c, struct member_info *m,
		      struct image_info *in)
{
	size_t nb = strlen(in->backing_name), nd = strlen(in->data_file_name);
	char *names = str_alloc(c, nb + nd + 2);

	memcpy(names, in->backing_name, nb + 1);
	memcpy(names + nb + 1, in->data_file_name, nd + 1);
	*m = (struct member_info){
		.format = in->format,
		.virtual_size = in->virtual_size,
		.version = in->version,
		.cluster_bits = in->cluster_bits,
		.incompatible_features = in->incompatible_features,
		.has_backing = in->has_backing,
		.backing_name = names,
		.backing_name_offset = in->backing_name_offset,
		.backing_format = in->backing_format,
		.has_data_file = in->has_data_file,
		.data_file_name = names + nb + 1,
		.data_file_name_offset = in->data_file_name_offset,
		.extents = in->extents,
		.n_extents = in->n_extents,
		.needs_read_only = in->needs_read_only,
		.cluster_size = in->cluster_size,
		.dirty = in->dirty,
		.lazy_refcounts = in->lazy_refcounts,
		.extended_l2 = in->extended_l2,
		.data_file_raw = in->data_file_raw,
		.refcount_bits = in->refcount_bits,
		.compression_type = in->compression_type,
		.has_cid = in->has_cid,
		.cid = in->cid,
		.parent_cid = in->parent_cid,
		.compressed = in->compressed,
		.header_used = in->header_used,
	};
	memcpy(m->backing_format_name, in->backing_format_name,
	       sizeof(m->backing_format_name));
	memcpy(m->create_type, in->create_type, sizeof(m->create_type));
	in->extents = NULL;
	in->n_extents = 0;
}

static const char *raw_lookalike(int fd, uint64_t size)
{
	uint8_t b[4];

	if (size < sizeof(b) || pread_full(fd, b, sizeof(b), 0) != sizeof(b))
		return NULL;
	if (!memcmp(b, "QFI\xfb", 4))
		return "qcow2";
	if (!memcmp(b, "QED\0", 4))
		return "QED";
	if (!memcmp(b, "KDMV", 4) || !memcmp(b, "# Di", 4))
		return "VMDK";
	return NULL;
}

static int read_header(struct walk *w, struct chain_member *m,
		       enum vs_format fmt)
{
	uint64_t fsize = m->size;
	size_t first = w->first_read ? w->first_read : VS_HEADER_READ;
	size_t want = fsize < first ? (size_t)fsize : first;
	size_t need = 0;
	ssize_t got, more;
	int r;

	/*
	 * A raw image's bytes are the guest's: never decoded.  Four of them
	 * are looked at only to warn that a raw disk begins like an image
	 * of another format; that decides nothing.
	 */
	if (fmt == VS_FMT_RAW) {
		want = 0;
		m->raw_magic = raw_lookalike(m->fd, fsize);
	}
	got = pread_full(m->fd, w->buf, want, 0);
	if (got < 0)
		return vs_errnof(w->err, (int)-got, "cannot read the header");
	r = image_decode(fmt, w->buf, (size_t)got, fsize, &w->scratch, &need,
			 w->err);
	if (r == -EAGAIN) {
		/* The decoder asks once for all it needs; only a lie asks twice. */
		if (need <= (size_t)got || need > VS_HEADER_MAX || need > fsize)
			return vs_errf(w->err, EINVAL,
				       "internal error: decoder asked for %zu bytes",
				       need);
		if (need > w->buf_size) {
			w->buf = xrealloc(w->buf, need);
			w->buf_size = need;
		}
		/* Only the bytes not read yet. */
		more = pread_full(m->fd, w->buf + got, need - (size_t)got, got);
		if (more < 0)
			return vs_errnof(w->err, (int)-more,
					 "cannot read the header");
		got += more;
		r = image_decode(fmt, w->buf, (size_t)got, fsize, &w->scratch,
				 &need, w->err);
		if (r == -EAGAIN) {
			vs_err_ctx(w->err, "%s", "");
			return vs_errf(w->err, EIO,
				       "header changed while vmseal was reading it");
		}
	}
	if (r == 0)
		keep_info(w->c, &m->info, &w->scratch);
	if (r == 0) {
		/* What the record compares: the bytes this decision rests on. */
		m->header_len = m->info.header_used < (size_t)got ?
					m->info.header_used : (size_t)got;
		/*
		 * The members of a chain are mostly made by one tool, their
		 * headers alike: the next first read is what this one used,
		 * rounded up to whole 64-byte lines with 16 bytes to spare
		 * (a longer name), at least 128 and at most VS_HEADER_READ.
		 * Each header is a cold page-cache page, copied by the cache
		 * line; when a guess is short, the decoder asks for the rest
		 * and only that is read.
		 */
		if (fmt != VS_FMT_RAW) {
			size_t next = (m->info.header_used + 16 + 63) & ~(size_t)63;

			w->first_read = next < 128 ? 128 :
					next > VS_HEADER_READ ? VS_HEADER_READ :
								next;
		}
		/* Hashed only for a record, which is all that reads it. */
		if (w->opts->hash_headers) {
			sha256(w->buf, m->header_len, m->header_sha256);
			m->header_hashed = true;
		}
	}
	return r;
}

/* Header names that are no local file name are refused as strings. */
static int check_name(struct walk *w, const struct ref *ref, const char *name)
{
	char q[QUOTE_MAX];

	if (!name[0])
		return ref_err(w, ref, NULL, EINVAL, "empty %s name",
			       ref->what);
	if (strncmp(name, "json:", 5) == 0 || path_has_protocol(name))
		return ref_err(w, ref, NULL, EINVAL,
			       "%s name '%s' uses a protocol or json: prefix; vmseal only follows local file names",
			       ref->what, vs_quote_ascii(q, sizeof(q), name));
	return 0;
}

/* ref for a name at offset off in member p's header. */
static void set_ref(struct ref *ref, const struct chain_member *p,
		    const char *name, uint64_t off, const char *what)
{
	ref->name = name;
	ref->by = p->real_path;
	ref->off = off;
	ref->what = what;
}

/*
 * A qcow2 external data file: its name is resolved like a backing name
 * (relative to the image's directory), beneath the roots, and opened with
 * the image's own access mode; refused unless the disk allows data files.
 */
static int add_data_file(struct walk *w, size_t idx)
{
	const struct chain_member *m = &w->c->m[idx];
	struct chain_file f;
	struct ref ref;
	char q[QUOTE_MAX];
	int r;

	if (!m->info.has_data_file)
		return 0;
	set_ref(&ref, m, m->info.data_file_name, m->info.data_file_name_offset,
		"data file");
	if (!w->opts->allow_data_file)
		return ref_err(w, &ref, NULL, EACCES,
			       "image has an external data file '%s' (qcow2 incompatible feature bit 2); refused unless %s",
			       vs_quote_ascii(q, sizeof(q), ref.name),
			       w->opts->cli ? "--data-file is given" :
					      "the disk sets data-file = allow");
	r = check_name(w, &ref, m->info.data_file_name);
	if (r)
		return r;
	r = open_file(w, str_combine(w->c, m->path, m->info.data_file_name),
		      m->open_flags, &ref, &f);
	if (r)
		return r;
	f.name = m->info.data_file_name;
	w->c->m[idx].data_file = xmalloc(sizeof(f));
	*w->c->m[idx].data_file = f;
	return 0;
}

/*
 * A sparse extent's grain size, for qemu-img's cluster-size only: its
 * hosted sparse header, read through the descriptor just opened.
 */
static void sparse_grain(struct chain_file *f)
{
	uint8_t h[28];

	if (f->fd < 0 || pread_full(f->fd, h, sizeof(h), 0) != sizeof(h) ||
	    memcmp(h, "KDMV", 4) != 0)
		return;
	f->cluster_size = ((uint64_t)h[20] | (uint64_t)h[21] << 8 |
			   (uint64_t)h[22] << 16 | (uint64_t)h[23] << 24 |
			   (uint64_t)h[24] << 32 | (uint64_t)h[25] << 40 |
			   (uint64_t)h[26] << 48 | (uint64_t)h[27] << 56) *
			  512;
}

/*
 * The extents a VMDK descriptor names, under the same rules.  QEMU 7.2
 * cannot take them as descriptors (the plan says so); `vmseal chain`
 * shows them.
 */
static int add_extents(struct walk *w, size_t idx)
{
	struct chain_member *m = &w->c->m[idx];

	if (!m->info.n_extents)
		return 0;
	m->extents = xcalloc(m->info.n_extents, sizeof(*m->extents));
	for (size_t k = 0; k < m->info.n_extents; k++) {
		const struct image_extent *e = &m->info.extents[k];
		struct ref ref;
		int r;

		set_ref(&ref, m, e->name, e->line_offset, "extent file");
		r = check_name(w, &ref, e->name);
		if (r == 0)
			r = open_file(w, str_combine(w->c, m->path, e->name),
				      m->open_flags, &ref, &m->extents[k]);
		if (r)
			return r;
		m->extents[k].name = str_dup(w->c, e->name);
		m->n_extents = k + 1;
		if (strstr(e->type, "SPARSE"))
			sparse_grain(&m->extents[k]);
	}
	return 0;
}

static void close_member_fds(struct chain_member *m)
{
	if (m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	if (m->data_file && m->data_file->fd >= 0) {
		close(m->data_file->fd);
		m->data_file->fd = -1;
	}
	for (size_t k = 0; k < m->n_extents; k++) {
		if (m->extents[k].fd >= 0)
			close(m->extents[k].fd);
		m->extents[k].fd = -1;
	}
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23	/* Linux 5.14 */
#endif
#define PREFAULT_MEMBERS 64

/*
 * A deep chain's members fill fresh pages, and a page fault costs twice
 * what making the same page present in one madvise() call does (1.4
 * against 0.7 us on a 2-vCPU VM; 30 KiB per 64 members): from member 64
 * on, each 64th makes the whole pages of the next 64 present.  Only a
 * speed-up, for the array's own space: a kernel without
 * MADV_POPULATE_WRITE says EINVAL, and the pages then come as before.
 */
static void members_prefault(struct walk *w, size_t idx)
{
	uintptr_t page = (uintptr_t)getpagesize(), from, to;
	size_t end = idx + PREFAULT_MEMBERS;

	if (idx < PREFAULT_MEMBERS || idx % PREFAULT_MEMBERS)
		return;
	if (end > w->cap)
		end = w->cap;
	from = ((uintptr_t)&w->c->m[idx] + page - 1) & ~(page - 1);
	to = (uintptr_t)&w->c->m[end] & ~(page - 1);
	if (to > from)
		(void)madvise((void *)from, to - from, MADV_POPULATE_WRITE);
}

/*
 * Opens path (taking it) as member number c->n, checks it and decodes its
 * header, then reaches the files it names besides its backing file.
 * Errors about reaching a file name its ref; errors in its bytes name the
 * file itself.
 */
static int add_member(struct walk *w, char *path, enum vs_format fmt,
		      unsigned depth, bool fmt_from_config,
		      const struct ref *ref)
{
	struct chain_member *m;
	struct chain_file f;
	char qreal[QUOTE_MAX];
	size_t idx;
	int mode, r;

	mode = depth == 0 && w->opts->top_writable ? O_RDWR : O_RDONLY;
	r = open_file(w, path, mode, ref, &f);
	if (r)
		return r;

	if (w->c->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 4;
		w->c->m = xreallocarray(w->c->m, w->cap, sizeof(*w->c->m));
	}
	idx = w->c->n++;
	members_prefault(w, idx);
	m = &w->c->m[idx];
	memset(m, 0, sizeof(*m));
	m->path = f.path;
	m->real_path = f.real_path;
	m->fd = f.fd;
	m->open_flags = f.open_flags;
	m->st = f.st;
	m->size = f.size;
	m->blockdev = f.blockdev;
	m->depth = depth;
	m->format_from_config = fmt_from_config;

	r = read_header(w, m, fmt);
	if (r < 0) {
		vs_err_prefix(w->err, "%s",
			      vs_quote_ascii(qreal, sizeof(qreal), m->real_path));
		return r;
	}
	if (m->info.needs_read_only && m->open_flags == O_RDWR) {
		vs_err_ctx(w->err, "%s: offset 0x4",
			   vs_quote_ascii(qreal, sizeof(qreal), m->real_path));
		return vs_errf(w->err, EINVAL,
			       "VMDK version 3 images can only be opened read-only; set readonly = yes for this disk");
	}
	r = add_data_file(w, idx);
	if (r == 0)
		r = add_extents(w, idx);
	if (r)
		return r;
	if (!w->opts->keep_fds)
		close_member_fds(&w->c->m[idx]);
	return 0;
}

/* Checks the last member's backing name as a string, then opens it. */
static int follow_backing(struct walk *w)
{
	const struct chain_member *p = &w->c->m[w->c->n - 1];
	const char *name = p->info.backing_name;
	enum vs_format fmt = p->info.backing_format;
	unsigned depth = p->depth + 1;
	bool from_config = false;
	char q[QUOTE_MAX];
	struct ref ref;
	int r;

	set_ref(&ref, p, name, p->info.backing_name_offset, "backing file");
	r = check_name(w, &ref, name);
	if (r)
		return r;
	if (depth > w->opts->max_depth)
		return ref_err(w, &ref, NULL, E2BIG,
			       "chain deeper than max-depth %u (backing file '%s' would be member %u below the top)",
			       w->opts->max_depth, vs_quote_ascii(q, sizeof(q), name),
			       depth);
	if (fmt == VS_FMT_NONE && p->info.backing_format_name[0]) {
		char qf[QUOTE_MAX];

		return ref_err(w, &ref, NULL, ENOTSUP,
			       "backing file '%s' has format '%s', which vmseal does not decode",
			       vs_quote_ascii(q, sizeof(q), name),
			       vs_quote_ascii(qf, sizeof(qf),
				     p->info.backing_format_name));
	}
	if (fmt == VS_FMT_NONE && w->opts->backing_format == VS_FMT_NONE)
		return ref_err(w, &ref, NULL, EINVAL,
			       "backing file '%s' has no recorded format (%s); vmseal never probes formats: %s if you know it",
			       vs_quote_ascii(q, sizeof(q), name),
			       p->info.format == VS_FMT_QED ?
				       "QED records only raw, with its backing-format-no-probe flag" :
				       "qcow2 backing-format extension missing",
			       w->opts->cli ?
				       "pass --backing-format F" :
				       "set backing-format = F for this disk");
	if (fmt == VS_FMT_NONE) {
		/* The user's statement, never a guess from the bytes. */
		fmt = w->opts->backing_format;
		from_config = true;
	}
	/* QEMU's rule: relative to the directory of the naming image. */
	return add_member(w, str_combine(w->c, p->path, name), fmt, depth,
			  from_config, &ref);
}

int chain_resolve(const char *image, enum vs_format fmt,
		  const struct chain_opts *opts, struct chain *out,
		  struct vs_err *err)
{
	struct walk w = {
		.opts = opts,
		.err = err,
		.c = out,
	};
	struct ref ref = { .name = NULL, .what = "image" };
	int r;

	vs_err_clear(err);
	out->m = NULL;
	out->n = 0;
	out->strings = NULL;
	if (image[0] != '/')
		return ref_err(&w, &ref, image, EINVAL,
			       "image path is not absolute");
	if (fmt == VS_FMT_NONE)
		return ref_err(&w, &ref, image, EINVAL,
			       "no format recorded for the image; vmseal never probes formats");

	r = roots_open(&w);
	if (r == 0) {
		/*
		 * Room for the deepest chain allowed, at once: growing the
		 * array copied a deep chain's members into fresh pages over
		 * and over (realloc), and the space not used is never touched
		 * (a large block is mapped, and pages come as they are
		 * written).
		 */
		w.cap = (size_t)opts->max_depth + 1;
		if (opts->top_only)
			w.cap = 1;
		out->m = xreallocarray(NULL, w.cap, sizeof(*out->m));
		w.buf_size = VS_HEADER_READ;
		w.buf = xmalloc(w.buf_size);
		r = add_member(&w, str_dup(out, image), fmt, 0, false, &ref);
		while (r == 0 && !opts->top_only &&
		       out->m[out->n - 1].info.has_backing)
			r = follow_backing(&w);
	}
	roots_close(&w);
	free(w.seen);
	free(w.buf);
	if (r < 0)
		chain_free(out);
	return r;
}

/* A caller's descriptor as member i of a chain given by descriptors. */
static int fd_member(struct walk *w, int fd, size_t i, enum vs_format fmt,
		     bool writable, bool allow_blockdev)
{
	int fl = fcntl(fd, F_GETFL), own;
	struct chain_member *m;
	struct stat st;
	size_t slot;
	char *name;
	int r;

	vs_err_ctx(w->err, "fd:%d", fd);
	if (fl < 0 || (fl & O_PATH))
		return vs_errf(w->err, EBADF, "not an open descriptor of this process");
	if ((fl & O_ACCMODE) == O_WRONLY ||
	    (writable && (fl & O_ACCMODE) != O_RDWR))
		return vs_errf(w->err, EACCES,
			       "open %s, but this node needs %s",
			       (fl & O_ACCMODE) == O_WRONLY ? "write-only" : "read-only",
			       writable ? "read-write (or readonly=on)" : "read");
	if (fstat(fd, &st) < 0 ||
	    !(S_ISREG(st.st_mode) || (allow_blockdev && S_ISBLK(st.st_mode))))
		return vs_errf(w->err, EINVAL, "not a regular file (%s)",
			       file_type(st.st_mode));
	if (already_in_chain(w, &st, &slot))
		return vs_errf(w->err, ELOOP, "the same file twice in one chain");
	/* A backing member read-only even when handed over read-write. */
	if (writable || (fl & O_ACCMODE) == O_RDONLY) {
		own = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	} else {
		char self[32];

		snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
		own = open(self, O_RDONLY | O_NOCTTY | O_CLOEXEC);
	}
	if (own < 0)
		return vs_errnof(w->err, errno, "cannot take the descriptor");
	{
		char n[24];

		snprintf(n, sizeof(n), "fd:%d", fd);
		name = str_dup(w->c, n);
	}
	if (w->c->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 4;
		w->c->m = xreallocarray(w->c->m, w->cap, sizeof(*w->c->m));
	}
	m = &w->c->m[w->c->n++];
	memset(m, 0, sizeof(*m));
	m->path = name;
	m->real_path = name;
	m->fd = own;
	m->open_flags = writable ? O_RDWR : O_RDONLY;
	m->st = st;
	m->size = (uint64_t)st.st_size;
	m->blockdev = S_ISBLK(st.st_mode);
	m->depth = (unsigned)i;
	if (m->blockdev && blockdev_size(own, &m->size) < 0)
		return vs_errnof(w->err, errno, "cannot size the block device");
	seen_put(w, slot, st.st_dev, st.st_ino, name);
	r = read_header(w, m, fmt);
	if (r < 0)
		return r;
	vs_err_ctx(w->err, "%s", name);
	if (m->info.needs_read_only && writable)
		return vs_errf(w->err, EINVAL,
			       "VMDK version 3 images can only be opened read-only: readonly=on");
	if (m->info.has_data_file || m->info.n_extents)
		return vs_errf(w->err, ENOTSUP,
			       "names %s, which no fd: can be given for",
			       m->info.has_data_file ? "an external data file" :
						       "VMDK extent files");
	return 0;
}

int chain_from_fds(const int *fds, const enum vs_format *fmts, size_t n,
		   bool top_writable, bool allow_blockdev, struct chain *out,
		   struct vs_err *err)
{
	struct chain_opts opts = { 0 };
	struct walk w = { .opts = &opts, .err = err, .c = out };
	enum vs_format fmt = fmts[0];
	int r = 0;

	vs_err_clear(err);
	out->m = NULL;
	out->n = 0;
	out->strings = NULL;
	w.cap = n;
	out->m = xreallocarray(NULL, n, sizeof(*out->m));
	w.buf_size = VS_HEADER_READ;
	w.buf = xmalloc(w.buf_size);
	for (size_t i = 0; r == 0 && i < n; i++) {
		const struct member_info *info;

		if (fmt == VS_FMT_NONE) {
			vs_err_ctx(err, "fd:%d", fds[i]);
			r = vs_errf(err, EINVAL,
				    "no format for this backing member: its overlay records none, and vmseal never probes; add backing.format=FMT");
			break;
		}
		r = fd_member(&w, fds[i], i, fmt, i == 0 && top_writable,
			      allow_blockdev);
		if (r < 0)
			break;
		info = &out->m[i].info;
		vs_err_ctx(err, "fd:%d", fds[i]);
		if (info->has_backing && i + 1 == n)
			r = vs_errf(err, EINVAL,
				    "its header names a backing file ('%s'), but no backing=fd:N gives it: QEMU would open it by name",
				    info->backing_name);
		else if (!info->has_backing && i + 1 < n)
			r = vs_errf(err, EINVAL,
				    "its header names no backing file, yet backing=fd:%d is given",
				    fds[i + 1]);
		fmt = i + 1 < n && fmts[i + 1] != VS_FMT_NONE ? fmts[i + 1] :
								info->backing_format;
	}
	free(w.seen);
	free(w.buf);
	if (r < 0)
		chain_free(out);
	return r;
}

void chain_close_fds(struct chain *c)
{
	for (size_t i = 0; i < c->n; i++)
		close_member_fds(&c->m[i]);
}

void chain_free(struct chain *c)
{
	bool own = !c->strings;

	chain_close_fds(c);
	for (size_t i = 0; i < c->n; i++) {
		struct chain_member *m = &c->m[i];

		if (own) {
			free_real(m->real_path, m->path);
			free(m->path);
			/* One block holds both names. */
			free(m->info.backing_name);
		}
		if (m->data_file)
			file_free(m->data_file, own);
		free(m->data_file);
		for (size_t k = 0; k < m->n_extents; k++)
			file_free(&m->extents[k], own);
		free(m->extents);
		free(m->info.extents);
	}
	free(c->m);
	strings_free(c);
	c->m = NULL;
	c->n = 0;
}
