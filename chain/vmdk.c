/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * VMDK decoder, after QEMU's block/vmdk.c: a file is either a hosted
 * sparse extent (magic "KDMV") with its descriptor embedded at sector 1,
 * or a text descriptor whose extent lines name other files.  Both may name
 * a parent (parentFileNameHint, a delta link; the parent is VMDK too).
 *
 * The decoder reads what QEMU reads, the way QEMU reads it: the parent
 * hint from the first 20 sectors of the descriptor (at 0x200 in a sparse
 * file, at 0 in a text one), the first occurrence of the key as strstr()
 * finds it; extent lines as vmdk_parse_extents() scans them.  Whatever
 * QEMU would read differently from the plain reading (a hint not followed
 * by '="', a name longer than QEMU's buffer) is refused rather than
 * guessed at.  A streamOptimized image with its grain directory in a
 * footer, and VMDK3 ("COWD") files, are refused.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/bytes.h"
#include "chain/image.h"
#include "common/xalloc.h"

#define VMDK4_MAGIC 0x4b444d56U	/* "KDMV" read big-endian */
#define VMDK3_MAGIC 0x434f5744U	/* "COWD" */
#define VMDK4_GD_AT_END 0xffffffffffffffffULL
#define VMDK4_COMPRESSION_DEFLATE 1
#define SECTOR 512ULL
#define DESC_SIZE (20 * SECTOR)		/* QEMU reads the hint from this */
#define SPARSE_DESC_AT 0x200ULL		/* ... at this offset in a sparse file */
#define DESC_READ_MAX ((1ULL << 20) - 1)	/* vmdk_read_desc()'s cap */
#define MAX_GTES 512
#define MAX_GRAIN_SECTORS 0x200000ULL
#define MAX_L1_SIZE (512ULL * 1024 * 1024)

enum {
	OFF_VERSION = 4,
	OFF_FLAGS = 8,
	OFF_CAPACITY = 12,
	OFF_GRANULARITY = 20,
	OFF_DESC_OFFSET = 28,
	OFF_DESC_SIZE = 36,
	OFF_NUM_GTES = 44,
	OFF_RGD_OFFSET = 48,
	OFF_GD_OFFSET = 56,
	OFF_GRAIN_OFFSET = 64,
	OFF_COMPRESS = 77,
	SPARSE_HEADER_LEN = 79,
};

static const char HINT[] = "parentFileNameHint";

static uint64_t min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

/* Length of the C string QEMU would see in [off, off + max). */
static size_t text_len(const uint8_t *buf, size_t len, uint64_t off,
		       uint64_t max)
{
	const uint8_t *nul;
	size_t n;

	if (off >= len)
		return 0;
	n = (size_t)min64(max, len - off);
	nul = memchr(buf + off, '\0', n);
	return nul ? (size_t)(nul - (buf + off)) : n;
}

/* strstr() over a region that is not NUL-terminated. */
static const char *find(const char *s, size_t n, const char *key)
{
	size_t k = strlen(key);

	for (size_t i = 0; i + k <= n; i++)
		if (memcmp(s + i, key, k) == 0)
			return s + i;
	return NULL;
}

/*
 * parentFileNameHint="NAME" in desc[0, n): QEMU takes the name from two
 * bytes after the key up to the next '"'.
 */
static int read_hint(const char *desc, size_t n, uint64_t base,
		     struct image_info *out, struct vs_err *err)
{
	const char *p = find(desc, n, HINT), *name, *end;
	uint64_t at;
	size_t left;

	if (!p)
		return 0;
	at = base + (uint64_t)(p - desc);
	left = n - (size_t)(p - desc) - (sizeof(HINT) - 1);
	if (left < 2 || p[sizeof(HINT) - 1] != '=' || p[sizeof(HINT)] != '"')
		return field_err(err, EINVAL, at,
				 "parentFileNameHint is not followed by =\"");
	name = p + sizeof(HINT) + 1;
	end = memchr(name, '"', left - 2);
	if (!end)
		return field_err(err, EINVAL, at,
				 "parentFileNameHint has no closing quote");
	if (end == name)
		return 0; /* QEMU: an empty hint is no parent */
	if ((size_t)(end - name) > VS_BACKING_NAME_MAX)
		return field_err(err, EINVAL, at,
				 "parent file name is %zu bytes long (at most %d)",
				 (size_t)(end - name), VS_BACKING_NAME_MAX);
	memcpy(out->backing_name, name, (size_t)(end - name));
	out->backing_name[end - name] = '\0';
	out->backing_name_offset = base + (uint64_t)(name - desc);
	out->has_backing = true;
	/* A delta link's parent is a VMDK by definition. */
	out->backing_format = VS_FMT_VMDK;
	strcpy(out->backing_format_name, "vmdk");
	return 0;
}

/* KEY=hex as QEMU's vmdk_read_cid() reads it: the first KEY, one byte on. */
static bool read_hex(const char *desc, size_t n, const char *key,
		     uint32_t *out)
{
	const char *p = find(desc, n, key);
	size_t i, k = strlen(key) + 1;
	uint32_t v = 0;

	if (!p || (size_t)(p - desc) + k > n)
		return false;
	i = (size_t)(p - desc) + k;
	while (i < n && (desc[i] == ' ' || desc[i] == '\t'))
		i++;
	if (i + 1 < n && desc[i] == '0' && (desc[i + 1] | 0x20) == 'x')
		i += 2;
	for (; i < n; i++) {
		char c = desc[i];
		unsigned d;

		if (c >= '0' && c <= '9')
			d = (unsigned)(c - '0');
		else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
			d = (unsigned)((c | 0x20) - 'a' + 10);
		else
			break;
		v = v << 4 | d;
	}
	*out = v;
	return true;
}

/* createType="X" as vmdk_parse_description() finds it. */
static int read_create_type(const char *desc, size_t n, uint64_t base,
			    struct image_info *out, struct vs_err *err)
{
	static const char *const ok_types[] = {
		"monolithicFlat", "vmfs", "vmfsSparse", "seSparse",
		"twoGbMaxExtentSparse", "twoGbMaxExtentFlat",
	};
	const char *p = find(desc, n, "createType"), *v, *end;
	size_t left;

	if (!p)
		return field_err(err, EINVAL, base,
				 "not a VMDK image: neither sparse magic nor a descriptor with createType");
	left = n - (size_t)(p - desc) - 10;
	if (left < 2)
		return field_err(err, EINVAL, base + (uint64_t)(p - desc),
				 "createType has no value");
	v = p + 12;
	end = memchr(v, '"', left - 2);
	if (!end || (size_t)(end - v) >= sizeof(out->create_type))
		return field_err(err, EINVAL, base + (uint64_t)(p - desc),
				 "createType value is unterminated or too long");
	memcpy(out->create_type, v, (size_t)(end - v));
	out->create_type[end - v] = '\0';
	for (size_t i = 0; i < sizeof(ok_types) / sizeof(ok_types[0]); i++)
		if (strcmp(out->create_type, ok_types[i]) == 0)
			return 0;
	for (char *c = out->create_type; *c; c++)
		if (*c < 0x20 || *c >= 0x7f)
			*c = '?';
	return field_err(err, ENOTSUP, base + (uint64_t)(p - desc),
			 "unsupported VMDK descriptor type '%s'",
			 out->create_type);
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	       c == '\f';
}

/* A word of at most max bytes, as sscanf's %Ns with a short word. */
static size_t word(const char *p, const char *end, char *out, size_t max)
{
	size_t n = 0;

	while (p + n < end && !blank(p[n]) && p[n])
		n++;
	if (n > max)
		return 0;
	memcpy(out, p, n);
	out[n] = '\0';
	return n;
}

static const char *skip_blank(const char *p, const char *end)
{
	while (p < end && blank(*p))
		p++;
	return p;
}

/* A signed decimal as %SCNd64 reads it; false when there is none. */
static bool number(const char **pp, const char *end, int64_t *v)
{
	const char *p = skip_blank(*pp, end);
	bool neg = false;
	uint64_t x = 0;

	if (p < end && (*p == '-' || *p == '+'))
		neg = *p++ == '-';
	if (p >= end || *p < '0' || *p > '9')
		return false;
	for (; p < end && *p >= '0' && *p <= '9'; p++) {
		if (x > (uint64_t)INT64_MAX / 10)
			x = (uint64_t)INT64_MAX; /* saturates; refused later */
		else
			x = x * 10 + (uint64_t)(*p - '0');
	}
	if (x > (uint64_t)INT64_MAX)
		x = (uint64_t)INT64_MAX;
	*v = neg ? -(int64_t)x : (int64_t)x;
	*pp = p;
	return true;
}

/*
 * One line, as vmdk_parse_extents() scans it with
 * "%10s %ld %10s \"%511[^\n\r\"]\" %ld".  Returns 1 for an extent, 0 for
 * a line QEMU skips, -errno for a line QEMU refuses.
 */
static int parse_line(const char *p, const char *end, uint64_t at,
		      struct image_extent *e, struct vs_err *err)
{
	char access[11];
	const char *name, *q;
	int64_t sectors, flat = -1;
	bool has_flat;
	size_t n;

	memset(e, 0, sizeof(*e));
	p = skip_blank(p, end);
	n = word(p, end, access, 10);
	if (!n)
		return 0;
	if (strcmp(access, "RW") && strcmp(access, "RDONLY") &&
	    strcmp(access, "NOACCESS"))
		return 0;
	p += n;
	if (!number(&p, end, &sectors))
		return 0;
	p = skip_blank(p, end);
	n = word(p, end, e->type, 10);
	if (!n)
		return 0;
	p = skip_blank(p + n, end);
	if (p >= end || *p != '"')
		return 0;
	name = ++p;
	while (p < end && *p != '"' && *p != '\n' && *p != '\r')
		p++;
	if (p == name)
		return 0;
	if ((size_t)(p - name) > VS_EXTENT_NAME_MAX)
		return field_err(err, EINVAL, at,
				 "extent file name is longer than %d bytes",
				 VS_EXTENT_NAME_MAX);
	memcpy(e->name, name, (size_t)(p - name));
	e->name[p - name] = '\0';
	q = p < end && *p == '"' ? p + 1 : NULL;
	has_flat = q && number(&q, end, &flat);

	if (strcmp(e->type, "FLAT") == 0) {
		if (!has_flat || flat < 0)
			return field_err(err, EINVAL, at,
					 "FLAT extent line without a valid offset");
	} else if (has_flat) {
		return field_err(err, EINVAL, at,
				 "invalid extent line (offset on a %s extent)",
				 e->type);
	}
	if (sectors <= 0 ||
	    (strcmp(e->type, "FLAT") && strcmp(e->type, "SPARSE") &&
	     strcmp(e->type, "VMFS") && strcmp(e->type, "VMFSSPARSE") &&
	     strcmp(e->type, "SESPARSE")))
		return 0;
	e->sectors = (uint64_t)sectors;
	e->flat_offset = flat > 0 ? (uint64_t)flat : 0;
	e->line_offset = at;
	return 1;
}

static int parse_extents(const char *desc, size_t n, uint64_t base,
			 struct image_info *out, struct vs_err *err)
{
	struct image_extent *v = NULL, e;
	size_t cnt = 0, cap = 0;
	uint64_t total = 0;

	for (const char *p = desc, *end = desc + n; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl ? nl + 1 : end;
		int r = parse_line(p, end, base + (uint64_t)(p - desc), &e,
				   err);

		if (r < 0) {
			free(v);
			return r;
		}
		if (r > 0) {
			if (cnt == VS_EXTENTS_MAX || e.sectors > UINT64_MAX / SECTOR ||
			    e.sectors * SECTOR > UINT64_MAX - total) {
				free(v);
				return field_err(err, EINVAL, e.line_offset,
						 "too many extents, or extents too large");
			}
			total += e.sectors * SECTOR;
			if (cnt == cap) {
				cap = cap ? cap * 2 : 4;
				v = xreallocarray(v, cap, sizeof(*v));
			}
			v[cnt++] = e;
		}
		p = eol;
	}
	out->extents = v;
	out->n_extents = cnt;
	out->virtual_size = total;
	return 0;
}

/* The hosted sparse header, as vmdk_open_vmdk4() checks it. */
static int check_sparse(const uint8_t *buf, uint64_t file_size,
			struct image_info *out, struct vs_err *err)
{
	uint32_t version = le32(buf + OFF_VERSION);
	uint64_t capacity = le64(buf + OFF_CAPACITY);
	uint64_t gran = le64(buf + OFF_GRANULARITY);
	uint32_t gtes = le32(buf + OFF_NUM_GTES);
	uint64_t gd = le64(buf + OFF_GD_OFFSET);
	uint64_t grain = le64(buf + OFF_GRAIN_OFFSET);
	unsigned compress = buf[OFF_COMPRESS] | buf[OFF_COMPRESS + 1] << 8;
	uint32_t l1_entry;
	uint64_t l1_size;

	if (gd == VMDK4_GD_AT_END)
		return field_err(err, ENOTSUP, OFF_GD_OFFSET,
				 "grain directory at the end of the file (streamOptimized footer) is not supported");
	if (version > 3)
		return field_err(err, ENOTSUP, OFF_VERSION,
				 "unsupported VMDK version %u", version);
	if (version == 3 && compress != VMDK4_COMPRESSION_DEFLATE)
		out->needs_read_only = true;
	if (gtes > MAX_GTES)
		return field_err(err, EINVAL, OFF_NUM_GTES,
				 "grain table size %u too big (at most %d)",
				 gtes, MAX_GTES);
	/* QEMU keeps this product in 32 bits; so does the check. */
	l1_entry = (uint32_t)(gtes * gran);
	if (l1_entry == 0)
		return field_err(err, EINVAL, OFF_GRANULARITY,
				 "grain table covers no sectors (granularity %llu, %u entries)",
				 (unsigned long long)gran, gtes);
	if (gran > MAX_GRAIN_SECTORS)
		return field_err(err, EFBIG, OFF_GRANULARITY,
				 "granularity of %llu sectors is too big",
				 (unsigned long long)gran);
	if (capacity > UINT64_MAX / SECTOR)
		return field_err(err, EFBIG, OFF_CAPACITY,
				 "capacity of %llu sectors is too big",
				 (unsigned long long)capacity);
	l1_size = capacity / l1_entry + (capacity % l1_entry != 0);
	if (l1_size > MAX_L1_SIZE)
		return field_err(err, EFBIG, OFF_CAPACITY,
				 "grain directory too big for the capacity");
	if (grain > file_size / SECTOR)
		return field_err(err, EINVAL, OFF_GRAIN_OFFSET,
				 "file is truncated: grains start at sector %llu, beyond end of file (%llu bytes)",
				 (unsigned long long)grain,
				 (unsigned long long)file_size);
	if (gd > file_size / SECTOR || l1_size * 4 > file_size - gd * SECTOR)
		return field_err(err, EINVAL, OFF_GD_OFFSET,
				 "header offset 0x%llx (grain directory, %llu entries) lies beyond end of file (%llu bytes)",
				 (unsigned long long)(gd * SECTOR),
				 (unsigned long long)l1_size,
				 (unsigned long long)file_size);
	out->virtual_size = capacity * SECTOR;
	out->cluster_size = gran * SECTOR;
	out->compressed = compress == VMDK4_COMPRESSION_DEFLATE;
	strcpy(out->create_type, compress == VMDK4_COMPRESSION_DEFLATE ?
	       "streamOptimized" : "monolithicSparse");
	return 0;
}

static int again(size_t *need, uint64_t want, struct vs_err *err)
{
	if (want > VS_HEADER_MAX)
		return vs_errf(err, EINVAL,
			       "VMDK descriptor lies past the %d bytes vmseal reads",
			       VS_HEADER_MAX);
	return need_more(err, need, (size_t)want);
}

int vmdk_decode(const uint8_t *buf, size_t len, uint64_t file_size,
		struct image_info *out, size_t *need, struct vs_err *err)
{
	uint64_t want, desc_at = 0;
	bool sparse = false;
	size_t n;
	int r;

	image_info_clear(out);
	out->format = VS_FMT_VMDK;
	if (len > file_size)
		len = (size_t)file_size;
	if (file_size < 4) {
		vs_err_ctx(err, "%s", "");
		return vs_errf(err, EINVAL,
			       "file is too small (%llu bytes) to be a VMDK image",
			       (unsigned long long)file_size);
	}
	if (len < 4)
		return again(need, min64(file_size, VS_HEADER_READ), err);
	if (be32(buf) == VMDK3_MAGIC)
		return field_err(err, ENOTSUP, 0,
				 "VMDK3 (COWD) sparse images are not supported");

	if (be32(buf) == VMDK4_MAGIC) {
		if (file_size < SPARSE_HEADER_LEN) {
			vs_err_ctx(err, "%s", "");
			return vs_errf(err, EINVAL,
				       "file is truncated: %llu bytes, but the VMDK header needs %d",
				       (unsigned long long)file_size,
				       SPARSE_HEADER_LEN);
		}
		sparse = true;
		want = min64(file_size, SPARSE_DESC_AT + DESC_SIZE);
		/* An ESX-style descriptor embedded in a sparse header. */
		if (len >= SPARSE_HEADER_LEN && le64(buf + OFF_CAPACITY) == 0 &&
		    le64(buf + OFF_DESC_OFFSET)) {
			uint64_t d = le64(buf + OFF_DESC_OFFSET);

			if (d > file_size / SECTOR)
				return field_err(err, EINVAL, OFF_DESC_OFFSET,
						 "descriptor at sector %llu lies beyond end of file",
						 (unsigned long long)d);
			desc_at = d * SECTOR;
			want = min64(file_size, desc_at + DESC_READ_MAX);
			if (want < SPARSE_DESC_AT + DESC_SIZE)
				want = min64(file_size,
					     SPARSE_DESC_AT + DESC_SIZE);
			sparse = false;
		}
	} else {
		want = min64(file_size, DESC_READ_MAX);
	}
	if (len < want || len < SPARSE_HEADER_LEN * sparse)
		return again(need, want, err);

	if (sparse) {
		r = check_sparse(buf, file_size, out, err);
		if (r)
			return r;
		out->header_used = SPARSE_HEADER_LEN;
	} else {
		n = text_len(buf, len, desc_at, DESC_READ_MAX);
		out->header_used = (size_t)desc_at + n;
		r = read_create_type((const char *)buf + desc_at, n, desc_at,
				     out, err);
		if (r == 0)
			r = parse_extents((const char *)buf + desc_at, n,
					  desc_at, out, err);
		if (r)
			return r;
	}

	/* QEMU reads the hint at 0x200 in any file with the sparse magic. */
	desc_at = be32(buf) == VMDK4_MAGIC ? SPARSE_DESC_AT : 0;
	n = text_len(buf, len, desc_at, DESC_SIZE);
	if (desc_at + n > out->header_used)
		out->header_used = (size_t)(desc_at + n);
	r = read_hint((const char *)buf + desc_at, n, desc_at, out, err);
	/* For qemu-img's keys only: decides nothing. */
	out->has_cid = read_hex((const char *)buf + desc_at, n, "CID",
				&out->cid);
	if (!read_hex((const char *)buf + desc_at, n, "parentCID",
		      &out->parent_cid))
		out->parent_cid = 0;
	if (r)
		image_info_free(out);
	return r;
}
