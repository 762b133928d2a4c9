/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "chain/record.h"
#include "common/cleanup.h"
#include "common/escape.h"
#include "common/fd.h"
#include "common/path.h"
#include "common/xalloc.h"

/* Records are small; a bigger file is not one of ours. */
#define RECORD_MAX (64 << 20)
/* Names from headers, escaped and cut short in messages. */
#define QUOTE_MAX 256

/*
 * The serializer writes JSON text straight into one buffer: a json-c
 * tree per member cost `vmseal chain --json` a tenth of its time on a
 * deep chain, and pretty-printing another tenth.  So the text is compact,
 * one object of an array per line (a member, a disk, an extent), and
 * json-c only parses records.  Strings are escaped as JSON requires, and
 * bytes that are not UTF-8 become U+FFFD, so that no name from a header
 * can break the document or a terminal.
 */
struct jw {
	char *buf;
	size_t len, cap;
	bool first;	/* nothing written yet in the open object or array */
	bool in_array;	/* the innermost open container is an array */
	/*
	 * Streamed to fd (record_chain_write) instead of kept whole: the
	 * buffer stays one small, warm block however deep the chain.
	 */
	int fd;
	int err;	/* the first write error, -errno */
};

#define JW_STREAM (64 * 1024)

static void jw_flush(struct jw *w)
{
	int r;

	if (w->fd < 0 || !w->len)
		return;
	r = write_full(w->fd, w->buf, w->len);
	if (r < 0 && !w->err)
		w->err = r;
	w->len = 0;
}

static void __attribute__((noinline)) jw_more(struct jw *w, size_t n)
{
	if (w->fd >= 0) {
		jw_flush(w);
		if (n + 1 <= w->cap)
			return;
	}
	w->cap = w->cap ? w->cap : 4096;
	while (w->len + n + 1 > w->cap)
		w->cap *= 2;
	w->buf = xrealloc(w->buf, w->cap);
}

/* Room for n more bytes and a NUL. */
static inline void jw_grow(struct jw *w, size_t n)
{
	if (__builtin_expect(w->len + n + 1 > w->cap, 0))
		jw_more(w, n);
}

static inline void jw_raw(struct jw *w, const char *s, size_t n)
{
	jw_grow(w, n);
	memcpy(w->buf + w->len, s, n);
	w->len += n;
}

static inline void jw_lit(struct jw *w, const char *s)
{
	jw_raw(w, s, strlen(s));
}

/* The text so far as a C string (the buffer always has room for it). */
static char *jw_text(struct jw *w)
{
	jw_grow(w, 0);
	w->buf[w->len] = '\0';
	return w->buf;
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t k;
	uint32_t c;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		k = 2, c = p[0] & 0x1f;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		k = 3, c = p[0] & 0x0f;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		k = 4, c = p[0] & 0x07;
	else
		return 0;
	if (k > n)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (p[i] & 0x3f);
	}
	if ((k == 3 && (c < 0x800 || (c >= 0xd800 && c <= 0xdfff))) ||
	    (k == 4 && (c < 0x10000 || c > 0x10ffff)))
		return 0;
	return k;
}

/* Bytes written as they are: printable ASCII but '"' and '\\'. */
static const bool plain[256] = {
	[0x20 ... 0x21] = true, [0x23 ... 0x5b] = true, [0x5d ... 0x7e] = true,
};

typedef unsigned char jw_v16 __attribute__((vector_size(16)));

/*
 * Whether n bytes are all plain, 16 at a time (GCC's and clang's vector
 * types, on any architecture): paths are 30 to 100 bytes, and a byte at a
 * time through the table was a third of the JSON's time on a deep chain.
 */
static bool jw_plain(const unsigned char *p, size_t n)
{
	jw_v16 bad = { 0 }, c;
	uint64_t half[2];

	if (n < 16) {
		for (size_t i = 0; i < n; i++)
			if (!plain[p[i]])
				return false;
		return true;
	}
	/* The last 16 bytes overlap the chunk before: no byte-wise tail. */
	for (size_t i = 0;; i += 16) {
		if (i + 16 > n)
			i = n - 16;
		memcpy(&c, p + i, 16);
		/* Below 0x20 or from 0x7f: c - 0x20 wraps to 0x5f or more. */
		bad |= (jw_v16)((jw_v16)(c - 0x20) >= 0x5f) | (jw_v16)(c == '"') |
		       (jw_v16)(c == '\\');
		if (i + 16 == n)
			break;
	}
	memcpy(half, &bad, 16);
	return !(half[0] | half[1]);
}

static void jw_str(struct jw *w, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k, n = strlen(s);

	if (jw_plain(p, n)) {
		jw_grow(w, n + 2);
		w->buf[w->len] = '"';
		memcpy(w->buf + w->len + 1, s, n);
		w->buf[w->len + n + 1] = '"';
		w->len += n + 2;
		return;
	}
	jw_raw(w, "\"", 1);
	for (;;) {
		size_t run = i;

		/* The common case: a run of plain printable ASCII. */
		while (plain[p[run]])
			run++;
		if (run > i)
			jw_raw(w, s + i, run - i);
		i = run;
		if (!p[i])
			break;
		if (p[i] == '"' || p[i] == '\\') {
			char e[2] = { '\\', (char)p[i] };

			jw_raw(w, e, 2);
			i++;
		} else if (p[i] < 0x20 || p[i] == 0x7f) {
			static const char hex[] = "0123456789abcdef";
			char e[6] = { '\\', 'u', '0', '0', hex[p[i] >> 4],
				      hex[p[i] & 15] };

			jw_raw(w, e, 6);
			i++;
		} else if ((k = utf8_len(p + i, strlen(s + i))) > 0) {
			jw_raw(w, s + i, k);
			i += k;
		} else {
			jw_lit(w, "\\ufffd");
			i++;
		}
	}
	jw_raw(w, "\"", 1);
}

/*
 * A key with its quotes, colon and space, as one literal and its length:
 * the writer copies it with a constant length, which the compiler turns
 * into a few stores (a member has about 35 keys; strlen() and a memcpy()
 * call per key were a fifth of the JSON's time on a deep chain).
 */
#define JW_K(k) ("\"" k "\": "), (sizeof("\"" k "\": ") - 1)
/* No key: an element of an array, or the document itself. */
#define JW_NOKEY NULL, 0

/* The separator before a value, and its key (kn 0: none). */
static inline __attribute__((always_inline)) void
jw_key(struct jw *w, const char *k, size_t kn)
{
	char *p;

	jw_grow(w, kn + 2);
	p = w->buf + w->len;
	if (!w->first) {
		memcpy(p, ", ", 2);
		p += 2;
	}
	w->first = false;
	if (kn)
		memcpy(p, k, kn);
	w->len = (size_t)(p + kn - w->buf);
}

/* Opens an object or array; an object in an array starts a line. */
static inline __attribute__((always_inline)) void
jw_open(struct jw *w, const char *k, size_t kn, char c)
{
	if (w->in_array && c == '{') {
		jw_grow(w, 2);
		if (!w->first)
			w->buf[w->len++] = ',';
		w->buf[w->len++] = '\n';
	} else if (w->len || kn) {
		jw_key(w, k, kn);
	}
	jw_grow(w, 1);
	w->buf[w->len++] = c;
	w->in_array = c == '[';
	w->first = true;
}

/* in_array: whether the container around the one closed is an array. */
static inline void jw_close(struct jw *w, char c, bool in_array)
{
	jw_grow(w, 2);
	if (c == ']' && !w->first)
		w->buf[w->len++] = '\n';
	w->buf[w->len++] = c;
	w->first = false;
	w->in_array = in_array;
}

#define put_str(w, k, v) jw_put_str(w, JW_K(k), v)
static inline __attribute__((always_inline)) void
jw_put_str(struct jw *w, const char *k, size_t kn, const char *v)
{
	jw_key(w, k, kn);
	jw_str(w, v);
}

static const char jw_digits[] =
	"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
	"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
	"8081828384858687888990919293949596979899";

/*
 * v in decimal at p (room for 20 bytes); its length.  The length from
 * the highest bit set (log10 2 is about 1233 / 4096) and one comparison,
 * then four digits per division by 10000, split in two pairs: a division
 * by a constant is a multiplication, but each waits for the one before,
 * and a member has about 80 digits.
 */
static inline size_t jw_dec(char *p, uint64_t v)
{
	static const uint64_t pow10[20] = {
		1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL,
		1000000ULL, 10000000ULL, 100000000ULL, 1000000000ULL,
		10000000000ULL, 100000000000ULL, 1000000000000ULL,
		10000000000000ULL, 100000000000000ULL, 1000000000000000ULL,
		10000000000000000ULL, 100000000000000000ULL,
		1000000000000000000ULL, 10000000000000000000ULL,
	};
	unsigned t = ((64U - (unsigned)__builtin_clzll(v | 1)) * 1233U) >> 12;
	size_t n = t + 1 - ((v | 1) < pow10[t]);	/* v | 1: 0 has one digit */
	char *q = p + n;

	while (v >= 10000) {
		uint64_t d = v / 10000;
		unsigned r = (unsigned)(v - d * 10000);

		v = d;
		q -= 4;
		memcpy(q, jw_digits + 2 * (r / 100), 2);
		memcpy(q + 2, jw_digits + 2 * (r % 100), 2);
	}
	if (v >= 100) {
		unsigned r = (unsigned)v % 100;

		v /= 100;
		q -= 2;
		memcpy(q, jw_digits + 2 * r, 2);
	}
	if (v >= 10) {
		q -= 2;
		memcpy(q, jw_digits + 2 * v, 2);
	} else {
		*--q = (char)('0' + v);
	}
	return n;
}

/*
 * A string of vmseal's own (a format or access name): nothing in it to
 * escape, so it is copied as it is.
 */
#define put_known(w, k, v) jw_put_known(w, JW_K(k), v)
static inline __attribute__((always_inline)) void
jw_put_known(struct jw *w, const char *k, size_t kn, const char *v)
{
	size_t n = strlen(v);

	jw_key(w, k, kn);
	jw_grow(w, n + 2);
	w->buf[w->len] = '"';
	memcpy(w->buf + w->len + 1, v, n);
	w->buf[w->len + n + 1] = '"';
	w->len += n + 2;
}

#define put_u64(w, k, v) jw_put_u64(w, JW_K(k), v)
static inline __attribute__((always_inline)) void
jw_put_u64(struct jw *w, const char *k, size_t kn, uint64_t v)
{
	jw_key(w, k, kn);
	jw_grow(w, 20);
	w->len += jw_dec(w->buf + w->len, v);
}

#define put_i64(w, k, v) jw_put_i64(w, JW_K(k), v)
static inline __attribute__((always_inline)) void
jw_put_i64(struct jw *w, const char *k, size_t kn, int64_t v)
{
	jw_key(w, k, kn);
	jw_grow(w, 21);
	if (v < 0) {
		w->buf[w->len++] = '-';
		/* -(v + 1) + 1: INT64_MIN too, without overflow. */
		w->len += jw_dec(w->buf + w->len, (uint64_t)-(v + 1) + 1);
	} else {
		w->len += jw_dec(w->buf + w->len, (uint64_t)v);
	}
}

#define put_bool(w, k, v) jw_put_bool(w, JW_K(k), v)
static inline __attribute__((always_inline)) void
jw_put_bool(struct jw *w, const char *k, size_t kn, bool v)
{
	jw_key(w, k, kn);
	if (v)
		jw_raw(w, "true", 4);
	else
		jw_raw(w, "false", 5);
}

static const char *access_name(int flags)
{
	return (flags & O_ACCMODE) == O_RDWR ? "read-write" : "read-only";
}

/* dev, ino, size, mtime: what says "the same file, unchanged". */
static void put_identity(struct jw *w, const struct stat *st, uint64_t size)
{
	put_u64(w, "dev", (uint64_t)st->st_dev);
	put_u64(w, "ino", (uint64_t)st->st_ino);
	put_u64(w, "size", size);
	put_i64(w, "mtime", (int64_t)st->st_mtim.tv_sec);
	put_i64(w, "mtime-nsec", (int64_t)st->st_mtim.tv_nsec);
}

static void put_file(struct jw *w, const char *k, size_t kn,
		     const struct chain_file *f)
{
	jw_open(w, k, kn, '{');
	put_str(w, "name", f->name);
	put_str(w, "filename", f->path);
	put_known(w, "access", access_name(f->open_flags));
	put_identity(w, &f->st, f->size);
	if (f->blockdev)
		put_bool(w, "block-device", true);
	jw_close(w, '}', false);
}

/* qemu-img's actual-size: the blocks allocated, for every file read. */
static uint64_t actual_size(const struct chain_member *m)
{
	uint64_t n = (uint64_t)m->st.st_blocks * 512;

	for (size_t k = 0; k < m->n_extents; k++)
		if (m->extents[k].st.st_ino != m->st.st_ino ||
		    m->extents[k].st.st_dev != m->st.st_dev)
			n += (uint64_t)m->extents[k].st.st_blocks * 512;
	return n;
}

static void qcow2_specific(struct jw *w, const struct chain_member *m)
{
	const struct member_info *in = &m->info;

	put_known(w, "compat", in->version == 2 ? "0.10" : "1.1");
	put_known(w, "compression-type",
		in->compression_type == 1 ? "zstd" : "zlib");
	if (in->version == 3)
		put_bool(w, "lazy-refcounts", in->lazy_refcounts);
	put_u64(w, "refcount-bits", in->refcount_bits);
	if (in->has_data_file) {
		put_str(w, "data-file", in->data_file_name);
		put_bool(w, "data-file-raw", in->data_file_raw);
	}
	if (in->version == 3) {
		put_bool(w, "corrupt", false);
		put_bool(w, "extended-l2", in->extended_l2);
	}
}

static void vmdk_specific(struct jw *w, const struct chain_member *m)
{
	const struct member_info *in = &m->info;

	if (in->has_cid) {
		put_u64(w, "cid", in->cid);
		put_u64(w, "parent-cid", in->parent_cid);
	}
	put_str(w, "create-type", in->create_type);
	jw_open(w, JW_K("extents"), '[');
	if (!in->n_extents) {
		/* A hosted sparse file is its own one extent. */
		jw_open(w, JW_NOKEY, '{');
		if (in->compressed)
			put_bool(w, "compressed", true);
		put_u64(w, "virtual-size", in->virtual_size);
		put_str(w, "filename", m->path);
		put_u64(w, "cluster-size", in->cluster_size);
		put_str(w, "format", "");
		jw_close(w, '}', true);
	}
	for (size_t k = 0; k < m->n_extents; k++) {
		const struct image_extent *e = &in->extents[k];

		jw_open(w, JW_NOKEY, '{');
		put_u64(w, "virtual-size", e->sectors * 512);
		put_str(w, "filename", m->extents[k].path);
		if (m->extents[k].cluster_size)
			put_u64(w, "cluster-size", m->extents[k].cluster_size);
		put_str(w, "format", e->type);
		jw_close(w, '}', true);
	}
	jw_close(w, ']', false);
}

/* The first extent's cluster size is the image's, as QEMU reports it. */
static uint64_t cluster_size(const struct chain_member *m)
{
	if (m->info.format == VS_FMT_VMDK && m->n_extents)
		return m->extents[0].cluster_size;
	return m->info.cluster_size;
}

static void put_member(struct jw *w, const struct chain *c, size_t i)
{
	const struct chain_member *m = &c->m[i];
	const struct member_info *in = &m->info;
	char hex[SHA256_HEX_LEN + 1];

	jw_open(w, JW_NOKEY, '{');
	put_u64(w, "virtual-size", in->virtual_size);
	put_str(w, "filename", m->path);
	if (cluster_size(m))
		put_u64(w, "cluster-size", cluster_size(m));
	put_known(w, "format", vs_format_name(in->format));
	put_u64(w, "actual-size", actual_size(m));
	if (in->format == VS_FMT_QCOW2 || in->format == VS_FMT_VMDK) {
		jw_open(w, JW_K("format-specific"), '{');
		put_known(w, "type", vs_format_name(in->format));
		jw_open(w, JW_K("data"), '{');
		if (in->format == VS_FMT_QCOW2)
			qcow2_specific(w, m);
		else
			vmdk_specific(w, m);
		jw_close(w, '}', false);
		jw_close(w, '}', false);
	}
	if (in->has_backing) {
		if (i + 1 < c->n)
			put_str(w, "full-backing-filename", c->m[i + 1].path);
		put_str(w, "backing-filename", in->backing_name);
		/* As the header records it, like qemu-img; none: absent. */
		if (in->backing_format_name[0])
			put_str(w, "backing-filename-format",
				in->backing_format_name);
	}
	put_bool(w, "dirty-flag", in->dirty);

	jw_open(w, JW_K("vmseal"), '{');
	put_u64(w, "depth", m->depth);
	put_known(w, "access", access_name(m->open_flags));
	put_identity(w, &m->st, m->size);
	if (m->header_hashed)
		put_str(w, "header-sha256", sha256_hex(m->header_sha256, hex));
	put_u64(w, "header-bytes", m->header_len);
	if (in->has_backing) {
		jw_open(w, JW_K("backing"), '{');
		put_str(w, "name", in->backing_name);
		put_str(w, "format", in->backing_format_name);
		jw_close(w, '}', false);
	}
	if (in->has_data_file)
		put_str(w, "data-file-name", in->data_file_name);
	if (m->blockdev)
		put_bool(w, "block-device", true);
	if (m->format_from_config)
		put_bool(w, "format-from-config", true);
	if (m->data_file)
		put_file(w, JW_K("data-file"), m->data_file);
	if (m->n_extents) {
		jw_open(w, JW_K("extents"), '[');
		for (size_t k = 0; k < m->n_extents; k++) {
			const struct chain_file *f = &m->extents[k];

			jw_open(w, JW_NOKEY, '{');
			put_str(w, "name", f->name);
			put_str(w, "filename", f->path);
			put_str(w, "type", in->extents[k].type);
			put_u64(w, "sectors", in->extents[k].sectors);
			put_known(w, "access", access_name(f->open_flags));
			put_identity(w, &f->st, f->size);
			if (f->blockdev)
				put_bool(w, "block-device", true);
			jw_close(w, '}', true);
		}
		jw_close(w, ']', false);
	}
	jw_close(w, '}', false);
	jw_close(w, '}', true);
}

static void put_chain(struct jw *w, const char *k, size_t kn,
		      const struct chain *c)
{
	jw_open(w, k, kn, '[');
	for (size_t i = 0; i < c->n; i++)
		put_member(w, c, i);
	jw_close(w, ']', false);
}

char *record_chain_text(const struct chain *c)
{
	struct jw w = { .fd = -1 };

	put_chain(&w, JW_NOKEY, c);
	return jw_text(&w);
}

int record_chain_write(int fd, const struct chain *c)
{
	struct jw w = { .fd = fd };

	jw_grow(&w, JW_STREAM - 1);
	put_chain(&w, JW_NOKEY, c);
	jw_raw(&w, "\n", 1);
	jw_flush(&w);
	free(w.buf);
	return w.err;
}

static void put_disk(struct jw *w, const struct record_disk *d)
{
	jw_open(w, JW_NOKEY, '{');
	put_str(w, "name", d->name);
	put_str(w, "image", d->image);
	put_str(w, "format", d->format);
	if (d->live)
		put_str(w, "live", d->live);
	put_chain(w, JW_K("chain"), d->chain);
	jw_close(w, '}', true);
}

/* The record, with other (already serialized) disks kept as they were. */
static char *record_text_with(const char *guest, const struct record_disk *disks,
			      size_t n, struct json_object *keep,
			      const char *except)
{
	struct jw w = { .fd = -1 };

	jw_open(&w, JW_NOKEY, '{');
	put_u64(&w, "version", RECORD_VERSION);
	put_str(&w, "guest", guest);
	jw_open(&w, JW_K("disks"), '[');
	for (size_t i = 0; keep && i < json_object_array_length(keep); i++) {
		struct json_object *d = json_object_array_get_idx(keep, i), *v;

		if (json_object_object_get_ex(d, "name", &v) &&
		    strcmp(json_object_get_string(v), except) == 0)
			continue;
		jw_raw(&w, w.first ? "\n" : ",\n", w.first ? 1 : 2);
		w.first = false;
		jw_lit(&w, json_object_to_json_string_ext(
				   d, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE));
	}
	for (size_t i = 0; i < n; i++)
		put_disk(&w, &disks[i]);
	jw_close(&w, ']', false);
	jw_close(&w, '}', false);
	jw_raw(&w, "\n", 1);
	return jw_text(&w);
}

char *record_text(const char *guest, const struct record_disk *disks, size_t n)
{
	return record_text_with(guest, disks, n, NULL, NULL);
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

int record_write(const char *path, const char *text, struct vs_err *err)
{
	_cleanup_free_ char *dir = path_dirname(path);
	_cleanup_free_ char *tmp = NULL;
	_cleanup_fd_ int fd = -1;
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
	r = fchmod(fd, 0644) < 0 ? -errno : 0;
	if (r == 0)
		r = write_full(fd, text, strlen(text));
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

static struct json_object *get(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, k, &v))
		return NULL;
	return v;
}

static const char *get_str(struct json_object *o, const char *k)
{
	struct json_object *v = get(o, k);

	return v && json_object_is_type(v, json_type_string) ?
		       json_object_get_string(v) :
		       NULL;
}

static bool same_i64(struct json_object *o, const char *k, int64_t want)
{
	struct json_object *v = get(o, k);

	return v && json_object_is_type(v, json_type_int) &&
	       json_object_get_int64(v) == want;
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
	/* Root's (vmseal run's) or ours: `check` may run as anyone. */
	if ((st.st_uid != geteuid() && st.st_uid != 0) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)))
		return vs_errf(err, EPERM,
			       "chain record is owned by uid %u, mode %04o: its pins are only trusted from a file owned by root or uid %u and writable by nobody else",
			       (unsigned)st.st_uid,
			       (unsigned)(st.st_mode & 07777),
			       (unsigned)geteuid());
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
	if (!same_i64(*out, "version", RECORD_VERSION)) {
		json_object_put(*out);
		*out = NULL;
		return vs_errf(err, EINVAL,
			       "chain record is not of version %d (pins are taken anew)",
			       RECORD_VERSION);
	}
	return 0;
}

/*
 * A name as JSON keeps it: what a recorded string compares with (names
 * that are not UTF-8 went through U+FFFD on the way in).
 */
static bool same_name(const char *recorded, const char *name)
{
	struct jw w = { .fd = -1 };
	bool same;

	if (!recorded)
		return false;
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p >= 0x80)
			goto slow;
	return strcmp(recorded, name) == 0;
slow:
	jw_str(&w, name);
	jw_text(&w);
	{
		struct json_object *o = json_tokener_parse(w.buf);

		same = o && strcmp(json_object_get_string(o), recorded) == 0;
		json_object_put(o);
	}
	free(w.buf);
	return same;
}

static bool same_u64(struct json_object *o, const char *k, uint64_t want)
{
	struct json_object *v = get(o, k);

	return v && json_object_is_type(v, json_type_int) &&
	       json_object_get_uint64(v) == want;
}

static void add_what(char *what, size_t len, const char *s)
{
	size_t u = strlen(what);

	snprintf(what + u, len - u, "%s%s", u ? ", " : "", s);
}

/* What differs in a file's identity, appended to what. */
static void identity_diff(struct json_object *o, const struct stat *st,
			  uint64_t size, char *what, size_t len)
{
	if (!same_u64(o, "dev", (uint64_t)st->st_dev))
		add_what(what, len, "dev");
	if (!same_u64(o, "ino", (uint64_t)st->st_ino))
		add_what(what, len, "ino");
	if (!same_u64(o, "size", size))
		add_what(what, len, "size");
	if (!same_i64(o, "mtime", (int64_t)st->st_mtim.tv_sec) ||
	    !same_i64(o, "mtime-nsec", (int64_t)st->st_mtim.tv_nsec))
		add_what(what, len, "mtime");
}

static void describe_ref(char *dst, size_t size, const char *name,
			 const char *fmt)
{
	char qn[QUOTE_MAX], qf[64];

	if (!name) {
		snprintf(dst, size, "no backing file");
		return;
	}
	snprintf(dst, size, "'%s' (%s)", vs_quote_ascii(qn, sizeof(qn), name),
		 fmt && fmt[0] ? vs_quote_ascii(qf, sizeof(qf), fmt) :
				 "no format recorded");
}

/* 1 with why when member m's pinned references differ from o's. */
static int pins_differ(struct json_object *o, const struct chain_member *m,
		       char *why, size_t len)
{
	struct json_object *vs = get(o, "vmseal"), *b = get(vs, "backing");
	const struct member_info *in = &m->info;
	const char *oname = get_str(b, "name"), *ofmt = get_str(b, "format");
	const char *odf = get_str(vs, "data-file-name");
	char was[QUOTE_MAX + 96], now[QUOTE_MAX + 96], qp[QUOTE_MAX];

	if (!!oname != in->has_backing ||
	    (oname && (!same_name(oname, in->backing_name) ||
		       strcmp(ofmt ? ofmt : "", in->backing_format_name)))) {
		describe_ref(was, sizeof(was), oname, ofmt);
		describe_ref(now, sizeof(now),
			     in->has_backing ? in->backing_name : NULL,
			     in->backing_format_name);
		snprintf(why, len,
			 "%s: backing reference changed: was %s, now %s",
			 vs_quote_ascii(qp, sizeof(qp), m->path), was, now);
		return 1;
	}
	if (!!odf != in->has_data_file ||
	    (odf && !same_name(odf, in->data_file_name))) {
		vs_quote_ascii(was, sizeof(was), odf ? odf : "(none)");
		vs_quote_ascii(now, sizeof(now),
		      in->has_data_file ? in->data_file_name : "(none)");
		snprintf(why, len,
			 "%s: data file reference changed: was '%s', now '%s'",
			 vs_quote_ascii(qp, sizeof(qp), m->path), was, now);
		return 1;
	}
	return 0;
}

static struct json_object *find_disk(struct json_object *rec, const char *disk)
{
	struct json_object *disks = get(rec, "disks");

	if (!disks || !json_object_is_type(disks, json_type_array))
		return NULL;
	for (size_t i = 0; i < json_object_array_length(disks); i++) {
		struct json_object *d = json_object_array_get_idx(disks, i);
		const char *name = get_str(d, "name");

		if (name && strcmp(name, disk) == 0)
			return d;
	}
	return NULL;
}

int record_compare(struct json_object *rec, const char *disk,
		   const char *image, const struct chain *c, char *why,
		   size_t len)
{
	struct json_object *d = find_disk(rec, disk), *chain = get(d, "chain");
	char what[160], qp[QUOTE_MAX];
	size_t n;

	if (!chain || !json_object_is_type(chain, json_type_array) ||
	    !same_name(get_str(d, "image"), image))
		return -ENOENT;
	n = json_object_array_length(chain);
	/* The pins first: a moved reference decides, whatever else changed. */
	for (size_t i = 0; i < c->n && i < n; i++) {
		struct json_object *o = json_object_array_get_idx(chain, i);

		if (!same_name(get_str(o, "filename"), c->m[i].path))
			break;
		if (pins_differ(o, &c->m[i], why, len))
			return RECORD_REPOINTED;
	}
	for (size_t i = 0; i < c->n; i++) {
		const struct chain_member *m = &c->m[i];
		struct json_object *o = i < n ?
			json_object_array_get_idx(chain, i) : NULL;
		struct json_object *vs = get(o, "vmseal"), *df;
		char hex[SHA256_HEX_LEN + 1];

		vs_quote_ascii(qp, sizeof(qp), m->path);
		if (!o || !same_name(get_str(o, "filename"), m->path)) {
			snprintf(why, len, "%s is new at depth %zu", qp, i);
			return RECORD_CHANGED;
		}
		what[0] = '\0';
		identity_diff(vs, &m->st, m->size, what, sizeof(what));
		if (m->header_hashed &&
		    !same_name(get_str(vs, "header-sha256"),
			       sha256_hex(m->header_sha256, hex)))
			add_what(what, sizeof(what), "header");
		df = get(vs, "data-file");
		if (!m->data_file != !df ||
		    (df && !same_name(get_str(df, "filename"),
				      m->data_file->path))) {
			add_what(what, sizeof(what), "data file");
		} else if (df) {
			char dw[64] = "";

			identity_diff(df, &m->data_file->st, m->data_file->size,
				      dw, sizeof(dw));
			if (dw[0]) {
				char t[80];

				snprintf(t, sizeof(t), "data file %s", dw);
				add_what(what, sizeof(what), t);
			}
		}
		if (what[0]) {
			snprintf(why, len, "%s changed (%s)", qp, what);
			return RECORD_CHANGED;
		}
	}
	if (n != c->n) {
		snprintf(why, len, "the chain is %zu member%s long, was %zu",
			 c->n, c->n == 1 ? "" : "s", n);
		return RECORD_CHANGED;
	}
	return RECORD_SAME;
}

/* The record's entry for disk name, or NULL. */
static struct json_object *disk_entry(struct json_object *rec,
				      const char *name)
{
	struct json_object *disks = get(rec, "disks");

	for (size_t i = 0; disks && json_object_is_type(disks, json_type_array) &&
			   i < json_object_array_length(disks);
	     i++) {
		struct json_object *d = json_object_array_get_idx(disks, i);
		const char *n = get_str(d, "name");

		if (n && !strcmp(n, name))
			return d;
	}
	return NULL;
}

int record_pin_disk(const char *path, const char *guest,
		    const struct record_disk *d, struct vs_err *err)
{
	struct json_object *old = NULL, *was;
	struct record_disk nd = *d;
	char *text;
	int r;

	r = record_load(path, &old, err);
	if (r < 0 && r != -ENOENT && r != -EINVAL)
		return r;
	vs_err_clear(err);
	/* A live disk keeps the image it came with through its snapshots. */
	was = old ? disk_entry(old, d->name) : NULL;
	if (!nd.image && was && get_str(was, "live")) {
		nd.image = get_str(was, "image");
		nd.format = get_str(was, "format");
	}
	if (!nd.image && d->chain->n) {
		nd.image = d->chain->m[0].path;
		nd.format = vs_format_name(d->chain->m[0].info.format);
	}
	text = record_text_with(guest, &nd, 1, old ? get(old, "disks") : NULL,
				d->name);
	r = record_write(path, text, err);
	free(text);
	json_object_put(old);
	return r;
}

int record_drop_disk(const char *path, const char *guest, const char *name,
		     struct vs_err *err)
{
	struct json_object *old = NULL;
	char *text;
	int r;

	r = record_load(path, &old, err);
	if (r == -ENOENT || (r == 0 && !disk_entry(old, name))) {
		vs_err_clear(err);
		json_object_put(old);
		return 0;
	}
	if (r < 0)
		return r;
	text = record_text_with(guest, NULL, 0, get(old, "disks"), name);
	r = record_write(path, text, err);
	free(text);
	json_object_put(old);
	return r;
}
