/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "chain/record.h"
#include "common/cleanup.h"
#include "common/fd.h"
#include "common/path.h"
#include "common/xalloc.h"

/* Records are small; a bigger file is not one of ours. */
#define RECORD_MAX (64 << 20)

static void put_str(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, json_object_new_string(v));
}

static void put_int(struct json_object *o, const char *k, int64_t v)
{
	json_object_object_add(o, k, json_object_new_int64(v));
}

static void put_u64(struct json_object *o, const char *k, uint64_t v)
{
	json_object_object_add(o, k, json_object_new_uint64(v));
}

static const char *access_name(int flags)
{
	return (flags & O_ACCMODE) == O_RDWR ? "read-write" : "read-only";
}

/* dev, ino, size, mtime: what says "the same file, unchanged". */
static void put_identity(struct json_object *o, const struct stat *st,
			 uint64_t size)
{
	put_u64(o, "dev", (uint64_t)st->st_dev);
	put_u64(o, "ino", (uint64_t)st->st_ino);
	put_u64(o, "size", size);
	put_int(o, "mtime", (int64_t)st->st_mtim.tv_sec);
	put_int(o, "mtime-nsec", (int64_t)st->st_mtim.tv_nsec);
}

static struct json_object *file_json(const struct chain_file *f)
{
	struct json_object *o = json_object_new_object();

	put_str(o, "name", f->name);
	put_str(o, "filename", f->path);
	put_str(o, "access", access_name(f->open_flags));
	put_identity(o, &f->st, f->size);
	if (f->blockdev)
		json_object_object_add(o, "block-device",
				       json_object_new_boolean(1));
	return o;
}

static struct json_object *member_json(const struct chain *c, size_t i)
{
	const struct chain_member *m = &c->m[i];
	struct json_object *o = json_object_new_object();
	char hex[SHA256_HEX_LEN + 1];

	put_str(o, "filename", m->path);
	put_str(o, "format", vs_format_name(m->info.format));
	put_u64(o, "virtual-size", m->info.virtual_size);
	if (m->info.has_backing) {
		put_str(o, "backing-filename", m->info.backing_name);
		if (i + 1 < c->n) {
			put_str(o, "full-backing-filename", c->m[i + 1].path);
			put_str(o, "backing-filename-format",
				vs_format_name(c->m[i + 1].info.format));
		}
	}
	put_int(o, "depth", m->depth);
	put_str(o, "access", access_name(m->open_flags));
	put_identity(o, &m->st, m->size);
	put_str(o, "header-sha256", sha256_hex(m->header_sha256, hex));
	put_u64(o, "header-bytes", m->header_len);
	if (m->blockdev)
		json_object_object_add(o, "block-device",
				       json_object_new_boolean(1));
	if (m->format_from_config)
		json_object_object_add(o, "format-from-config",
				       json_object_new_boolean(1));
	if (m->data_file)
		json_object_object_add(o, "data-file", file_json(m->data_file));
	if (m->n_extents) {
		struct json_object *a = json_object_new_array();

		for (size_t k = 0; k < m->n_extents; k++) {
			struct json_object *e = file_json(&m->extents[k]);

			put_str(e, "type", m->info.extents[k].type);
			put_u64(e, "sectors", m->info.extents[k].sectors);
			json_object_array_add(a, e);
		}
		json_object_object_add(o, "extents", a);
	}
	return o;
}

struct json_object *record_chain_json(const struct chain *c)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; i < c->n; i++)
		json_object_array_add(a, member_json(c, i));
	return a;
}

struct json_object *record_json(const char *guest,
				const struct record_disk *disks, size_t n)
{
	struct json_object *o = json_object_new_object();
	struct json_object *a = json_object_new_array();

	put_int(o, "version", RECORD_VERSION);
	put_str(o, "guest", guest);
	for (size_t i = 0; i < n; i++) {
		struct json_object *d = json_object_new_object();

		put_str(d, "name", disks[i].name);
		put_str(d, "image", disks[i].image);
		put_str(d, "format", disks[i].format);
		json_object_object_add(d, "chain",
				       record_chain_json(disks[i].chain));
		json_object_array_add(a, d);
	}
	json_object_object_add(o, "disks", a);
	return o;
}

/* mkdir -p with mode for what is missing; 0 or -errno. */
static int make_dirs(const char *dir)
{
	_cleanup_free_ char *d = xstrdup(dir);

	for (char *p = d + 1;; p++) {
		if (*p && *p != '/')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(d, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = c;
		if (!c)
			return 0;
	}
}

int record_write(const char *path, struct json_object *rec,
		 struct vs_err *err)
{
	_cleanup_free_ char *dir = path_dirname(path);
	_cleanup_free_ char *tmp = NULL;
	_cleanup_fd_ int fd = -1;
	const char *text;
	int r;

	vs_err_ctx(err, "%s", path);
	if (path[0] != '/')
		return vs_errf(err, EINVAL, "chain record path is not absolute");
	r = make_dirs(dir);
	if (r < 0)
		return vs_errnof(err, -r, "cannot create %s", dir);
	tmp = xasprintf("%s.tmp.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return vs_errnof(err, errno, "cannot create a temp file in %s",
				 dir);
	text = json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PRETTY |
						   JSON_C_TO_STRING_NOSLASHESCAPE);
	r = fchmod(fd, 0644) < 0 ? -errno : 0;
	if (r == 0)
		r = write_full(fd, text, strlen(text));
	if (r == 0)
		r = write_full(fd, "\n", 1);
	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		unlink(tmp);
		return vs_errnof(err, -r, "cannot write the chain record");
	}
	return 0;
}

int record_load(const char *path, struct json_object **out,
		struct vs_err *err)
{
	_cleanup_fd_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct json_tokener *tok;
	struct stat st;
	ssize_t n;

	*out = NULL;
	vs_err_ctx(err, "%s", path);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return errno == ENOENT ? -ENOENT :
			vs_errnof(err, errno, "cannot open the chain record");
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) ||
	    st.st_size > RECORD_MAX)
		return vs_errf(err, EINVAL,
			       "chain record is not a regular file of at most 64 MiB");
	buf = xmalloc((size_t)st.st_size + 1);
	n = pread_full(fd, buf, (size_t)st.st_size, 0);
	if (n < 0)
		return vs_errnof(err, (int)-n, "cannot read the chain record");
	tok = json_tokener_new();
	*out = json_tokener_parse_ex(tok, buf, (int)n);
	if (!*out || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(*out, json_type_object)) {
		json_object_put(*out);
		*out = NULL;
		json_tokener_free(tok);
		return vs_errf(err, EINVAL, "chain record is not valid JSON");
	}
	json_tokener_free(tok);
	return 0;
}

static struct json_object *get(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, k, &v))
		return NULL;
	return v;
}

static bool same_str(struct json_object *o, const char *k, const char *want)
{
	struct json_object *v = get(o, k);

	return v && json_object_is_type(v, json_type_string) &&
	       strcmp(json_object_get_string(v), want) == 0;
}

static bool same_u64(struct json_object *o, const char *k, uint64_t want)
{
	struct json_object *v = get(o, k);

	return v && json_object_is_type(v, json_type_int) &&
	       json_object_get_uint64(v) == want;
}

static bool same_i64(struct json_object *o, const char *k, int64_t want)
{
	struct json_object *v = get(o, k);

	return v && json_object_is_type(v, json_type_int) &&
	       json_object_get_int64(v) == want;
}

/* "dev, mtime" for what differs in a file's identity; "" when nothing. */
static void identity_diff(struct json_object *o, const struct stat *st,
			  uint64_t size, char *buf, size_t len)
{
	size_t u = 0;

	buf[0] = '\0';
#define DIFF(cond, name)                                                   \
	do {                                                               \
		if (!(cond) && u < len)                                    \
			u += (size_t)snprintf(buf + u, len - u, "%s%s",    \
					      u ? ", " : "", name);        \
	} while (0)
	DIFF(same_u64(o, "dev", (uint64_t)st->st_dev), "dev");
	DIFF(same_u64(o, "ino", (uint64_t)st->st_ino), "ino");
	DIFF(same_u64(o, "size", size), "size");
	DIFF(same_i64(o, "mtime", (int64_t)st->st_mtim.tv_sec) &&
		     same_i64(o, "mtime-nsec", (int64_t)st->st_mtim.tv_nsec),
	     "mtime");
#undef DIFF
}

int record_compare(struct json_object *rec, const char *disk,
		   const struct chain *c, char *why, size_t len)
{
	struct json_object *disks = get(rec, "disks"), *chain = NULL;
	char hex[SHA256_HEX_LEN + 1], what[128];
	size_t n;

	if (!same_i64(rec, "version", RECORD_VERSION) || !disks ||
	    !json_object_is_type(disks, json_type_array))
		return -ENOENT;
	for (size_t i = 0; i < json_object_array_length(disks); i++) {
		struct json_object *d = json_object_array_get_idx(disks, i);

		if (same_str(d, "name", disk)) {
			chain = get(d, "chain");
			break;
		}
	}
	if (!chain || !json_object_is_type(chain, json_type_array))
		return -ENOENT;
	n = json_object_array_length(chain);
	for (size_t i = 0; i < c->n; i++) {
		const struct chain_member *m = &c->m[i];
		struct json_object *o = i < n ?
			json_object_array_get_idx(chain, i) : NULL;
		struct json_object *df;

		if (!o || !same_str(o, "filename", m->path)) {
			snprintf(why, len, "%s is new at depth %zu", m->path, i);
			return 1;
		}
		identity_diff(o, &m->st, m->size, what, sizeof(what));
		if (!same_str(o, "header-sha256",
			      sha256_hex(m->header_sha256, hex)))
			snprintf(what + strlen(what),
				 sizeof(what) - strlen(what), "%sheader",
				 what[0] ? ", " : "");
		df = get(o, "data-file");
		if (!m->data_file != !df ||
		    (df && !same_str(df, "filename", m->data_file->path)))
			snprintf(what + strlen(what),
				 sizeof(what) - strlen(what), "%sdata file",
				 what[0] ? ", " : "");
		else if (df) {
			char dw[64];

			identity_diff(df, &m->data_file->st, m->data_file->size,
				      dw, sizeof(dw));
			if (dw[0])
				snprintf(what + strlen(what),
					 sizeof(what) - strlen(what),
					 "%sdata file %s", what[0] ? ", " : "",
					 dw);
		}
		if (what[0]) {
			snprintf(why, len, "%s changed (%s)", m->path, what);
			return 1;
		}
	}
	if (n != c->n) {
		snprintf(why, len, "the chain is %zu member%s long, was %zu",
			 c->n, c->n == 1 ? "" : "s", n);
		return 1;
	}
	return 0;
}
