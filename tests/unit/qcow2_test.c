/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 and raw decoders against headers built byte by byte: valid ones,
 * every truncation, lying offsets and flags, and a byte-flip sweep that
 * ASan watches.  Every decode gets an exact-size heap copy so a read one
 * byte past the buffer is caught.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/image.h"
#include "tests/lib/tap.h"

#define EXT_END 0U
#define EXT_BACKING_FORMAT 0xe2792acaU
#define EXT_FEATURE_TABLE 0x6803f857U
#define EXT_CRYPTO_HEADER 0x0537be77U
#define EXT_BITMAPS 0x23852875U

/* A file's first bytes, as a test builds them. */
struct img {
	uint8_t *b;		/* VS_HEADER_MAX bytes, zeroed */
	size_t len;		/* bytes written so far */
	size_t ext_off;		/* where the next extension goes */
	uint64_t file_size;
};

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)(v >> 32));
	put32(p + 4, (uint32_t)v);
}

static void grow(struct img *im, size_t end)
{
	if (end > im->len)
		im->len = end;
}

/* Geometry like qemu-img's: header, refcount table, block, L1. */
static void img_common(struct img *im, uint32_t version, unsigned cbits)
{
	uint64_t cs = 1ULL << cbits;

	if (!im->b)
		im->b = malloc(VS_HEADER_MAX);
	memset(im->b, 0, VS_HEADER_MAX);
	put32(im->b + 0, 0x514649fbU);
	put32(im->b + 4, version);
	put32(im->b + 20, cbits);
	put64(im->b + 24, 1 << 20);	/* 1 MiB virtual */
	put32(im->b + 36, 1);		/* l1_size */
	put64(im->b + 40, 3 * cs);	/* l1_table_offset */
	put64(im->b + 48, cs);		/* refcount_table_offset */
	put32(im->b + 56, 1);		/* refcount_table_clusters */
	im->file_size = 4 * cs;
}

static void img_v2(struct img *im)
{
	img_common(im, 2, 16);
	im->len = im->ext_off = 72;
}

static void img_v3_bits(struct img *im, unsigned cbits)
{
	img_common(im, 3, cbits);
	put32(im->b + 96, 4);			/* refcount_order */
	put32(im->b + 100, 112);		/* header_length */
	im->len = im->ext_off = 112;
}

static void img_v3(struct img *im)
{
	img_v3_bits(im, 16);
}

static void add_ext(struct img *im, uint32_t type, const void *data,
		    uint32_t len)
{
	put32(im->b + im->ext_off, type);
	put32(im->b + im->ext_off + 4, len);
	if (len)
		memcpy(im->b + im->ext_off + 8, data, len);
	im->ext_off += 8 + ((len + 7) & ~7U);
	grow(im, im->ext_off);
}

static void end_ext(struct img *im)
{
	add_ext(im, EXT_END, NULL, 0);
}

static void add_fmt(struct img *im, const char *fmt)
{
	add_ext(im, EXT_BACKING_FORMAT, fmt, (uint32_t)strlen(fmt));
}

/* Writes name at off and points the header at it. */
static void name_at(struct img *im, uint64_t off, const char *name,
		    size_t len)
{
	memcpy(im->b + off, name, len);
	put64(im->b + 8, off);
	put32(im->b + 16, (uint32_t)len);
	grow(im, off + len);
}

/* The usual layout: format extension, end marker, then the name. */
static void set_backing(struct img *im, const char *name, const char *fmt)
{
	if (fmt)
		add_fmt(im, fmt);
	end_ext(im);
	name_at(im, im->ext_off, name, strlen(name));
}

static int dec_n(const struct img *im, size_t len, uint64_t fsize,
		 struct image_info *info, size_t *need, struct vs_err *err)
{
	uint8_t *copy = malloc(len ? len : 1);
	int r;

	memcpy(copy, im->b, len);
	*need = 0;
	vs_err_clear(err);
	r = qcow2_decode(copy, len, fsize, info, need, err);
	free(copy);
	return r;
}

/* Decodes like the walker: what was written, then once more if asked. */
static int dec(const struct img *im, struct image_info *info,
	       struct vs_err *err)
{
	size_t need;
	int r;

	r = dec_n(im, im->len, im->file_size, info, &need, err);
	if (r == -EAGAIN)
		r = dec_n(im, need, im->file_size, info, &need, err);
	return r;
}

static struct img im;
static struct image_info info;
static struct vs_err err;

static void expect_refused(int r, const char *ctx, const char *msg,
			   const char *what)
{
	ok(r < 0 && r != -EAGAIN, "%s: refused", what);
	if (ctx)
		is_str(err.context, ctx, "%s: context", what);
	has_str(err.msg, msg, "%s: message", what);
}

static void test_valid(void)
{
	int r;

	img_v2(&im);
	end_ext(&im);
	r = dec(&im, &info, &err);
	is_int(r, 0, "v2 without backing decodes");
	is_int(info.format, VS_FMT_QCOW2, "v2: format qcow2");
	is_int(info.version, 2, "v2: version");
	is_int(info.cluster_bits, 16, "v2: cluster bits");
	is_int(info.virtual_size, 1 << 20, "v2: virtual size");
	ok(!info.has_backing, "v2: no backing");

	img_v2(&im);
	set_backing(&im, "base.qcow2", "qcow2");
	r = dec(&im, &info, &err);
	is_int(r, 0, "v2 with backing and format extension decodes");
	ok(info.has_backing, "v2: has backing");
	is_str(info.backing_name, "base.qcow2", "v2: backing name");
	is_int(info.backing_name_offset, 72 + 16 + 8, "v2: name offset");
	is_int(info.backing_format, VS_FMT_QCOW2, "v2: backing format");

	img_v3(&im);
	end_ext(&im);
	r = dec(&im, &info, &err);
	is_int(r, 0, "v3 without backing decodes");
	is_int(info.version, 3, "v3: version");
	ok(!info.has_backing, "v3: no backing");

	img_v3(&im);
	r = dec(&im, &info, &err);
	is_int(r, 0, "v3 without any extension (not even the end) decodes");

	img_v3(&im);
	set_backing(&im, "/img/base.raw", "raw");
	r = dec(&im, &info, &err);
	is_int(r, 0, "v3 with backing and format extension decodes");
	is_str(info.backing_name, "/img/base.raw", "v3: backing name");
	is_int(info.backing_format, VS_FMT_RAW, "v3: backing format raw");
	is_str(info.backing_format_name, "raw", "v3: format name recorded");

	img_v3(&im);
	set_backing(&im, "base.vhd", "vpc");
	r = dec(&im, &info, &err);
	is_int(r, 0, "unknown backing format name still decodes");
	is_int(info.backing_format, VS_FMT_NONE, "unknown format -> NONE");
	is_str(info.backing_format_name, "vpc", "unknown format recorded");

	img_v3(&im);
	set_backing(&im, "base.qcow2", NULL);
	r = dec(&im, &info, &err);
	is_int(r, 0, "backing without format extension decodes");
	is_int(info.backing_format, VS_FMT_NONE, "no extension -> NONE");
	is_str(info.backing_format_name, "", "no format name");

	img_v3(&im);
	{
		uint8_t table[2 * 48] = { 0 };

		table[0] = 0;	/* incompatible */
		table[1] = 0;	/* bit 0 */
		memcpy(table + 2, "dirty bit", 9);
		table[48] = 1;	/* compatible */
		memcpy(table + 50, "lazy refcounts", 14);
		add_ext(&im, EXT_FEATURE_TABLE, table, sizeof(table));
	}
	set_backing(&im, "b.qcow2", "qcow2");
	r = dec(&im, &info, &err);
	is_int(r, 0, "feature name table accepted");
	is_str(info.backing_name, "b.qcow2", "feature table: backing name");

	img_v3(&im);
	add_ext(&im, 0x12345678, "whatever", 8);
	add_ext(&im, EXT_BITMAPS, "0123456789abcdef01234567", 24);
	set_backing(&im, "b.qcow2", "qcow2");
	r = dec(&im, &info, &err);
	is_int(r, 0, "unknown and bitmap extensions skipped");

	img_v3(&im);
	put64(im.b + 72, 1ULL << 3);
	im.b[104] = 1;
	end_ext(&im);
	r = dec(&im, &info, &err);
	is_int(r, 0, "zstd compression type with bit 3 decodes");
	is_int(info.incompatible_features, 8, "features recorded");

	img_v3(&im);
	put64(im.b + 72, 1ULL << 4);
	end_ext(&im);
	r = dec(&im, &info, &err);
	is_int(r, 0, "extended L2 decodes");

	img_v3(&im);
	put64(im.b + 72, 1ULL << 0);
	end_ext(&im);
	r = dec(&im, &info, &err);
	is_int(r, 0, "dirty bit accepted");

	/* Size 0 with an offset: QEMU reads that as no backing file. */
	img_v3(&im);
	end_ext(&im);
	put64(im.b + 8, im.ext_off);
	r = dec(&im, &info, &err);
	is_int(r, 0, "backing size 0 decodes");
	ok(!info.has_backing, "backing size 0 means no backing");

	/* A name of exactly 1023 bytes, the cap. */
	img_v3(&im);
	{
		char name[1024];

		memset(name, 'n', 1023);
		name[1023] = '\0';
		set_backing(&im, name, "qcow2");
	}
	r = dec(&im, &info, &err);
	is_int(r, 0, "1023-byte backing name accepted");
	is_int(strlen(info.backing_name), 1023, "1023-byte name copied");

	/* qemu-img's 0-byte image: L1 offset at EOF, size 0. */
	img_v3(&im);
	put64(im.b + 24, 0);
	put32(im.b + 36, 0);
	im.file_size = 3 << 16;
	end_ext(&im);
	r = dec(&im, &info, &err);
	is_int(r, 0, "empty L1 table at end of file accepted");
}

static void test_refusals(void)
{
	int r;

	img_v3(&im);
	im.b[0] = 'X';
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x0", "bad magic", "bad magic");

	for (uint32_t v = 0; v < 6; v++) {
		if (v == 2 || v == 3)
			continue;
		img_v3(&im);
		put32(im.b + 4, v);
		r = dec(&im, &info, &err);
		ok(r == -ENOTSUP && strstr(err.msg, "version"),
		   "version %u refused", v);
	}

	{
		const uint32_t bad[] = {
			0, 8, 22, 31, 32, 63, 64, 0xffffffffU,
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			img_v3(&im);
			put32(im.b + 20, bad[i]);
			r = dec(&im, &info, &err);
			ok(r == -EINVAL && !strcmp(err.context, "offset 0x14"),
			   "cluster_bits %u refused", bad[i]);
		}
	}

	img_v3(&im);
	put32(im.b + 100, 96);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x64", "shorter than", "header_length 96");
	img_v3(&im);
	put32(im.b + 100, 108);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x64", "multiple of 8", "header_length 108");
	img_v3(&im);
	put32(im.b + 100, 0x10008);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x64", "exceeds the cluster size",
		       "header_length past the cluster");
	img_v3(&im);
	put32(im.b + 100, 0xfffffff8U);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x64", "exceeds", "header_length 4G");

	img_v3(&im);
	put32(im.b + 32, 1);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x20", "encrypted images are not supported",
		       "AES encryption");
	is_int(r, -ENOTSUP, "encryption: ENOTSUP");
	img_v3(&im);
	put32(im.b + 32, 2);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x20", "encrypted images are not supported",
		       "LUKS encryption");
	img_v3(&im);
	add_ext(&im, EXT_CRYPTO_HEADER, "0123456789abcdef", 16);
	end_ext(&im);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x70", "not encrypted",
		       "crypto extension without encryption");

	img_v3(&im);
	put64(im.b + 72, 1ULL << 1);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x48", "corrupt", "corrupt bit");

	/* Bit 2 without a name: QEMU would need a data-file option. */
	img_v3(&im);
	put64(im.b + 72, 1ULL << 2);
	end_ext(&im);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x48", "names no data file",
		       "data file bit without the name extension");

	img_v3(&im);
	put64(im.b + 72, 0x20);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x48", "unknown incompatible features 0x20",
		       "unknown incompatible bit 5");
	img_v3(&im);
	put64(im.b + 72, (1ULL << 63) | 1);
	r = dec(&im, &info, &err);
	expect_refused(r, NULL, "unknown incompatible features 0x8000000000000000",
		       "unknown incompatible bit 63");

	img_v3(&im);
	im.b[104] = 1;
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x68", "without incompatible feature bit 3",
		       "zstd without bit 3");
	img_v3(&im);
	put64(im.b + 72, 1ULL << 3);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x48", "records zlib", "bit 3 with zlib");
	img_v3(&im);
	put64(im.b + 72, 1ULL << 3);
	im.b[104] = 2;
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x68", "unknown compression type 2",
		       "compression type 2");
	img_v3(&im);
	put32(im.b + 100, 104);
	put64(im.b + 72, 1ULL << 3);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x48", "no compression type",
		       "bit 3 with a 104-byte header");
	img_v3_bits(&im, 12);
	put64(im.b + 72, 1ULL << 4);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x14", "extended L2",
		       "extended L2 with 4 KiB clusters");

	img_v3(&im);
	put32(im.b + 96, 7);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x60", "refcount_order 7",
		       "refcount_order 7");
	img_v3(&im);
	put32(im.b + 56, 0);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x38", "no refcount table",
		       "no refcount table");
}

static void test_lying_offsets(void)
{
	int r;

	img_v3(&im);
	put64(im.b + 40, 0x50000);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x28", "beyond end of file (262144 bytes)",
		       "L1 table past EOF");
	img_v3(&im);
	put32(im.b + 36, 0x2001);	/* 64 KiB + 8 of L1 from 0x30000 */
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x28", "beyond end of file",
		       "L1 table running past EOF");
	img_v3(&im);
	put64(im.b + 40, 0x30008);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x28", "not aligned", "L1 table misaligned");
	img_v3(&im);
	put32(im.b + 36, 0x400001);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x24", "too large", "L1 table too large");
	img_v3(&im);
	put64(im.b + 24, 1ULL << 40);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x24", "too small",
		       "L1 table too small for the size");
	img_v3(&im);
	put64(im.b + 40, 0);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x28", "on top of the header",
		       "L1 table at offset 0");
	img_v3(&im);
	put64(im.b + 48, 0xffffffffffff0000ULL);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x30", "beyond end of file",
		       "refcount table past EOF");
	img_v3(&im);
	put32(im.b + 56, 0x100);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x38", "too large",
		       "refcount table too large");
	img_v3(&im);
	put32(im.b + 60, 1);
	put64(im.b + 64, 0x40000);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x40", "beyond end of file",
		       "snapshot table past EOF");
	img_v3(&im);
	put64(im.b + 64, 0x70000);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x40", "beyond end of file",
		       "empty snapshot table offset past EOF");
	img_v3(&im);
	put32(im.b + 60, 65537);
	put64(im.b + 64, 0x20000);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x3c", "too large", "too many snapshots");

	img_v3(&im);
	set_backing(&im, "base", "qcow2");
	put64(im.b + 8, 0x20000);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x8", "past the first cluster",
		       "backing name past the first cluster");
	img_v3(&im);
	set_backing(&im, "base", "qcow2");
	put64(im.b + 8, 0x50000);
	r = dec(&im, &info, &err);
	ok(r == -EINVAL && !strcmp(err.context, "offset 0x8"),
	   "backing name past EOF refused");
	img_v3(&im);
	name_at(&im, 0xfff0, "0123456789abcdef0123", 20);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x10", "runs past the first cluster",
		       "backing name running past the first cluster");
	img_v3(&im);
	set_backing(&im, "base", "qcow2");
	put32(im.b + 16, 1024);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x10", "at most 1023",
		       "backing name size 1024");
	img_v3(&im);
	set_backing(&im, "base", "qcow2");
	put32(im.b + 16, 0xffffffffU);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x10", "at most 1023",
		       "backing name size 4G");
	img_v3(&im);
	name_at(&im, 16, "base", 4);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x8", "inside the header",
		       "backing name inside the header");
	img_v3(&im);
	add_fmt(&im, "qcow2");
	end_ext(&im);
	name_at(&im, im.ext_off, "ba\0se", 5);
	r = dec(&im, &info, &err);
	expect_refused(r, NULL, "NUL", "NUL inside the backing name");

	img_v3(&im);
	add_ext(&im, 0x12345678, NULL, 0);
	put32(im.b + 112 + 4, 0x100000);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x70", "runs past the end",
		       "extension length past the cluster");
	img_v3(&im);
	set_backing(&im, "base", "qcow2");
	put32(im.b + 112 + 4, 17);	/* now overlaps the name */
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x70", "runs past the end",
		       "extension running into the backing name");
	img_v3(&im);
	name_at(&im, 116, "base", 4);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x70", "cut off",
		       "extension header cut off by the backing name");

	/* A small file ends the extension area before the cluster does. */
	img_v3_bits(&im, 9);
	put32(im.b + 36, 0);
	put64(im.b + 40, 0);
	put64(im.b + 24, 0);
	im.file_size = 0x400;
	r = dec(&im, &info, &err);
	is_int(r, 0, "512-byte clusters, tiny file: decodes");
	add_ext(&im, 0x12345678, NULL, 0);
	put32(im.b + 112 + 4, 0x200);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x70", "runs past the end",
		       "extension past a 512-byte cluster");

	img_v3(&im);
	add_fmt(&im, "qcow2");
	add_fmt(&im, "raw");
	set_backing(&im, "base", NULL);
	r = dec(&im, &info, &err);
	expect_refused(r, NULL, "second backing-format",
		       "two backing-format extensions");
	img_v3(&im);
	add_ext(&im, EXT_BACKING_FORMAT, "", 0);
	set_backing(&im, "base", NULL);
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x70", "empty", "empty backing format");
	img_v3(&im);
	set_backing(&im, "base", "0123456789abcdef0123456789abcdef");
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x70", "at most 31",
		       "32-byte backing format name");
	img_v3(&im);
	set_backing(&im, "base", "qco\x1b[2J");
	r = dec(&im, &info, &err);
	expect_refused(r, "offset 0x7b", "byte 0x1b",
		       "escape byte in the backing format name");
	img_v3(&im);
	add_ext(&im, EXT_BACKING_FORMAT, "raw\0", 4);
	set_backing(&im, "base", NULL);
	r = dec(&im, &info, &err);
	expect_refused(r, NULL, "byte 0x00", "NUL in the backing format name");
}

/* Every file shorter than its own header must be refused, never read. */
static void truncate_sweep(const char *what)
{
	bool good = true;
	size_t full = im.len;

	for (size_t l = 0; l < full; l++) {
		size_t need;
		int r = dec_n(&im, l, l, &info, &need, &err);

		if (r >= 0 || r == -EAGAIN) {
			tap_diag("%s: length %zu gave %d", what, l, r);
			good = false;
			break;
		}
	}
	ok(good, "%s: every truncation below %zu bytes refused", what, full);
}

/*
 * Every short buffer of a long file must ask for more, once, within the
 * file and the first cluster, and decode from what it asked for.
 */
static void again_sweep(const char *what)
{
	bool good = true;
	size_t full = im.len;

	for (size_t l = 0; l < full && good; l++) {
		size_t need;
		int r = dec_n(&im, l, im.file_size, &info, &need, &err);

		if (r == 0)
			continue;
		if (r != -EAGAIN || need <= l || need > VS_HEADER_MAX ||
		    need > im.file_size) {
			tap_diag("%s: length %zu gave %d need %zu (%s)", what,
				 l, r, need, err.msg);
			good = false;
			break;
		}
		r = dec_n(&im, need, im.file_size, &info, &need, &err);
		if (r != 0) {
			tap_diag("%s: length %zu, then %zu gave %d (%s)", what,
				 l, need, r, err.msg);
			good = false;
		}
	}
	ok(good, "%s: every buffer shorter than %zu asks once for enough",
	   what, full);
}

static void test_truncation(void)
{
	size_t need;
	int r;

	img_v2(&im);
	set_backing(&im, "base.qcow2", "qcow2");
	truncate_sweep("v2 with backing");
	again_sweep("v2 with backing");

	img_v3(&im);
	{
		uint8_t table[48 * 3] = { 0 };

		add_ext(&im, EXT_FEATURE_TABLE, table, sizeof(table));
	}
	set_backing(&im, "../dir/base.qcow2", "qcow2");
	truncate_sweep("v3 with extensions and backing");
	again_sweep("v3 with extensions and backing");

	/* Small clusters, so the whole file is short and the tables fit. */
	img_v3_bits(&im, 9);
	put32(im.b + 36, 0);
	put64(im.b + 40, 0);
	put64(im.b + 24, 0);
	set_backing(&im, "b", "raw");
	im.file_size = 0x400;
	r = dec(&im, &info, &err);
	is_int(r, 0, "512-byte clusters with backing decode");
	truncate_sweep("512-byte clusters");
	again_sweep("512-byte clusters");

	img_v3(&im);
	set_backing(&im, "base", "qcow2");
	r = dec_n(&im, 40, im.file_size, &info, &need, &err);
	ok(r == -EAGAIN && need == VS_HEADER_READ,
	   "40 bytes of a big file: asks for the usual read");

	/* Extensions and name beyond the first 64 KiB of a 128 KiB cluster. */
	img_v3_bits(&im, 17);
	add_ext(&im, 0x12345678, NULL, 0);
	put32(im.b + 112 + 4, 0x10000);
	im.ext_off += 0x10000;
	set_backing(&im, "far.qcow2", "qcow2");
	r = dec_n(&im, VS_HEADER_READ, im.file_size, &info, &need, &err);
	ok(r == -EAGAIN, "extensions past 64 KiB: -EAGAIN");
	is_int(need, im.len, "need covers the extensions and the name");
	r = dec_n(&im, need, im.file_size, &info, &need, &err);
	is_int(r, 0, "decodes from what it asked for");
	is_str(info.backing_name, "far.qcow2", "far backing name read");

	img_v3(&im);
	add_fmt(&im, "qcow2");
	end_ext(&im);
	name_at(&im, 0x9000, "late.qcow2", 10);
	r = dec_n(&im, 0x8000, im.file_size, &info, &need, &err);
	ok(r == -EAGAIN && need == 0x9000 + 10,
	   "name past the buffer: need is its end (%zu)", need);
	r = dec_n(&im, need, im.file_size, &info, &need, &err);
	ok(r == 0 && !strcmp(info.backing_name, "late.qcow2"),
	   "late name decoded");

	/* Past the first cluster is a lie, not a reason to read more. */
	img_v3(&im);
	name_at(&im, 0x11000, "x", 1);
	r = dec_n(&im, 0x1000, im.file_size, &info, &need, &err);
	ok(r == -EINVAL, "name past the cluster: refused, not -EAGAIN");
}

static void test_raw(void)
{
	size_t need = 0;
	int r;

	img_v3(&im);
	set_backing(&im, "/etc/shadow", "raw");
	vs_err_clear(&err);
	r = raw_decode(im.b, im.len, 12345, &info, &need, &err);
	is_int(r, 0, "raw with a qcow2 header decodes");
	is_int(info.format, VS_FMT_RAW, "raw stays raw");
	ok(!info.has_backing, "raw has no backing");
	is_int(info.virtual_size, 12345, "raw virtual size is the file size");
	r = image_decode(VS_FMT_RAW, im.b, im.len, 777, &info, &need, &err);
	ok(r == 0 && info.format == VS_FMT_RAW && !info.has_backing,
	   "image_decode(raw) on a qcow2 header stays raw");
	r = image_decode(VS_FMT_RAW, NULL, 0, 0, &info, &need, &err);
	ok(r == 0 && info.virtual_size == 0, "empty raw file");
	r = image_decode(VS_FMT_QCOW2, im.b, im.len, im.file_size, &info,
			 &need, &err);
	ok(r == 0 && info.has_backing, "image_decode(qcow2) dispatches");
	r = image_decode(VS_FMT_NONE, im.b, im.len, im.file_size, &info,
			 &need, &err);
	ok(r == -EINVAL && strstr(err.msg, "no format recorded"),
	   "image_decode(none) refused");
	r = image_decode((enum vs_format)42, im.b, im.len, im.file_size,
			 &info, &need, &err);
	is_int(r, -ENOTSUP, "image_decode(unknown enum) refused");
}

/* Results a decoder may give a hostile header. */
static bool sane(int r, const struct image_info *i)
{
	if (r == 0)
		return !i->has_backing ||
		       (strlen(i->backing_name) <= VS_BACKING_NAME_MAX &&
			strlen(i->backing_name) > 0);
	return r == -EINVAL || r == -ENOTSUP || r == -EFBIG;
}

static void test_flips(void)
{
	static const uint8_t masks[] = { 0x01, 0x80, 0xff, 0x7f };
	struct img base = { 0 };
	unsigned n = 0, accepted = 0;
	bool good = true;

	img_v3(&base);
	{
		uint8_t table[48 * 2] = { 0 };

		add_ext(&base, EXT_FEATURE_TABLE, table, sizeof(table));
	}
	set_backing(&base, "sub/base.qcow2", "qcow2");
	memcpy(im.b, base.b, VS_HEADER_MAX);
	im.len = 512;
	im.file_size = base.file_size;

	for (size_t i = 0; i < 512 && good; i++) {
		for (size_t k = 0; k < sizeof(masks); k++) {
			size_t need;
			int r;

			im.b[i] = base.b[i] ^ masks[k];
			r = dec_n(&im, im.len, im.file_size, &info, &need,
				  &err);
			if (r == -EAGAIN) {
				if (need <= im.len || need > VS_HEADER_MAX ||
				    need > im.file_size) {
					good = false;
					break;
				}
				r = dec_n(&im, need, im.file_size, &info,
					  &need, &err);
			}
			n++;
			accepted += r == 0;
			if (!sane(r, &info)) {
				tap_diag("flip 0x%02x at %zu: %d (%s)",
					 masks[k], i, r, err.msg);
				good = false;
				break;
			}
		}
		im.b[i] = base.b[i];
	}
	ok(good, "byte flips over the first 512 bytes: %u decodes, %u accepted",
	   n, accepted);
	free(base.b);
}

int main(void)
{
	test_valid();
	test_refusals();
	test_lying_offsets();
	test_truncation();
	test_raw();
	test_flips();
	free(im.b);
	return tap_done();
}
