/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * VMDK decoder against files built byte by byte: hosted sparse headers
 * with embedded descriptors (parent hints), text descriptors with FLAT
 * and SPARSE extents, every refusal, truncations and byte flips, each
 * decode on an exact-size heap copy so ASan sees any overread.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chain/image.h"
#include "tests/lib/tap.h"

#define SZ 0x4000

static uint8_t f[SZ];
static size_t flen;
static uint64_t fsize;
static struct image_info info;
static struct vs_err err;

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* qemu-img's monolithicSparse of 1 MiB, descriptor text at 0x200. */
static void sparse(const char *desc)
{
	memset(f, 0, sizeof(f));
	memcpy(f, "KDMV", 4);
	put32(f + 4, 1);		/* version */
	put32(f + 8, 3);		/* flags */
	put64(f + 12, 2048);		/* capacity, sectors */
	put64(f + 20, 128);		/* granularity */
	put64(f + 28, 1);		/* desc_offset */
	put64(f + 36, 20);		/* desc_size */
	put32(f + 44, 512);		/* gtes per gt */
	put64(f + 48, 21);		/* rgd */
	put64(f + 56, 25);		/* gd */
	put64(f + 64, 30);		/* grain offset */
	strcpy((char *)f + 0x200, desc);
	flen = 0x200 + 20 * 512;
	fsize = SZ;
}

static void text(const char *desc)
{
	memset(f, 0, sizeof(f));
	strcpy((char *)f, desc);
	flen = fsize = strlen(desc);
}

static int dec(void)
{
	size_t need = 0, len = flen;
	uint8_t *copy;
	int r;

	for (int round = 0; round < 2; round++) {
		copy = malloc(len ? len : 1);
		memcpy(copy, f, len);
		vs_err_clear(&err);
		r = vmdk_decode(copy, len, fsize, &info, &need, &err);
		free(copy);
		if (r != -EAGAIN)
			return r;
		if (need <= len || need > sizeof(f))
			return -999;
		len = need;
	}
	return -998;
}

static void refused(const char *ctx, const char *msg, const char *what)
{
	int r = dec();

	ok(r < 0 && r != -EAGAIN && r > -900, "%s: refused", what);
	if (ctx)
		is_str(err.context, ctx, "%s: context", what);
	has_str(err.msg, msg, "%s: message", what);
}

static const char DESC[] =
	"# Disk DescriptorFile\nversion=1\nCID=1\nparentCID=ffffffff\n"
	"createType=\"monolithicSparse\"\n\n# Extent description\n"
	"RW 2048 SPARSE \"t.vmdk\"\n";

int main(void)
{
	int r;

	sparse(DESC);
	r = dec();
	is_int(r, 0, "monolithicSparse decodes");
	is_int(info.virtual_size, 2048 * 512, "virtual size from capacity");
	is_str(info.create_type, "monolithicSparse", "create type");
	ok(!info.has_backing && info.n_extents == 0,
	   "no parent, and the embedded extent line is not followed");

	sparse("# Disk DescriptorFile\ncreateType=\"monolithicSparse\"\n"
	       "parentFileNameHint=\"base.vmdk\"\nRW 2048 SPARSE \"t.vmdk\"\n");
	r = dec();
	is_int(r, 0, "delta link decodes");
	is_str(info.backing_name, "base.vmdk", "parent hint");
	is_int(info.backing_format, VS_FMT_VMDK, "parent format vmdk");
	ok(info.backing_name_offset > 0x200, "hint offset recorded (0x%llx)",
	   (unsigned long long)info.backing_name_offset);

	sparse("parentFileNameHint=\"\"\n");
	is_int(dec(), 0, "empty hint decodes");
	ok(!info.has_backing, "empty hint: no parent (as QEMU)");

	sparse(DESC);
	f[77] = 1; /* deflate */
	is_int(dec(), 0, "streamOptimized decodes");
	is_str(info.create_type, "streamOptimized", "streamOptimized named");
	sparse(DESC);
	put32(f + 4, 3);
	is_int(dec(), 0, "version 3 decodes");
	ok(info.needs_read_only, "version 3 uncompressed: read-only only");

	text("# Disk DescriptorFile\nversion=1\ncreateType=\"monolithicFlat\"\n"
	     "RW 2048 FLAT \"t-flat.vmdk\" 0\n");
	r = dec();
	is_int(r, 0, "monolithicFlat descriptor decodes");
	is_int(info.n_extents, 1, "one extent");
	if (info.n_extents == 1) {
		is_str(info.extents[0].name, "t-flat.vmdk", "extent name");
		is_str(info.extents[0].type, "FLAT", "extent type");
		is_int(info.extents[0].sectors, 2048, "extent sectors");
		is_int(info.extents[0].line_offset,
		       strstr((char *)f, "RW") - (char *)f, "extent line offset");
	}
	is_int(info.virtual_size, 2048 * 512, "size: sum of extents");
	image_info_free(&info);

	text("createType=\"twoGbMaxExtentSparse\"\n"
	     "RW 4192256 SPARSE \"t-s001.vmdk\"\n"
	     "RW 100 SPARSE \"t-s002.vmdk\"\n"
	     "RDONLY 8 FLAT \"ro.vmdk\" 16\n"
	     "# RW 8 FLAT \"comment.vmdk\" 0\n"
	     "RW 8 ZERO \"zero.vmdk\"\n"
	     "RW 0 SPARSE \"empty.vmdk\"\n"
	     "parentFileNameHint=\"/img/p.vmdk\"\n");
	r = dec();
	is_int(r, 0, "twoGbMaxExtentSparse with a parent decodes");
	is_int(info.n_extents, 3, "three extents (RW, RW, RDONLY; comment, ZERO, 0 sectors skipped)");
	if (info.n_extents == 3) {
		is_str(info.extents[1].name, "t-s002.vmdk", "second extent");
		is_int(info.extents[2].flat_offset, 16, "flat offset");
	}
	is_str(info.backing_name, "/img/p.vmdk", "descriptor parent hint");
	image_info_free(&info);

	/* Refusals. */
	sparse(DESC);
	memcpy(f, "COWD", 4);
	refused("offset 0x0", "VMDK3", "VMDK3 sparse");
	sparse(DESC);
	put64(f + 56, ~0ULL);
	refused("offset 0x38", "streamOptimized footer", "grain directory at end");
	sparse(DESC);
	put32(f + 4, 4);
	refused("offset 0x4", "version 4", "version 4");
	sparse(DESC);
	put32(f + 44, 513);
	refused("offset 0x2c", "too big", "513 grain table entries");
	sparse(DESC);
	put64(f + 20, 0);
	refused("offset 0x14", "covers no sectors", "granularity 0");
	sparse(DESC);
	put64(f + 20, 0x200001);
	put32(f + 44, 1);
	refused("offset 0x14", "too big", "granularity over 1 GiB");
	sparse(DESC);
	put64(f + 64, 1 << 20);
	refused("offset 0x40", "truncated", "grains past EOF");
	sparse(DESC);
	put64(f + 56, 1 << 20);
	refused("offset 0x38", "beyond end of file", "grain directory past EOF");
	/* Its start inside the file, its 1000 entries (4000 bytes) not. */
	sparse(DESC);
	put64(f + 12, 65536ULL * 1000);
	put64(f + 56, SZ / 512 - 1);
	refused("offset 0x38", "1000 entries", "grain directory running past EOF");
	sparse(DESC);
	put64(f + 12, ~0ULL);
	refused("offset 0xc", "too big", "capacity overflow");
	sparse("parentFileNameHint \"x\"\n");
	refused(NULL, "not followed by =\"", "hint without =\"");
	sparse("parentFileNameHint=\"unterminated\n");
	refused(NULL, "no closing quote", "hint without closing quote");
	{
		char d[1200] = "parentFileNameHint=\"";

		memset(d + 20, 'a', 1024);
		strcpy(d + 1044, "\"\n");
		sparse(d);
		refused(NULL, "at most 1023", "1024-byte parent name");
	}
	text("just some bytes of a raw disk\n");
	refused("offset 0x0", "createType", "no createType");
	text("createType=\"monolithicSparse\"\n");
	refused("offset 0x0", "unsupported VMDK descriptor type 'monolithicSparse'",
		"text descriptor claiming monolithicSparse");
	text("createType=\"monolithicFlat\"\nRW 8 FLAT \"x.vmdk\"\n");
	refused("offset 0x1c", "FLAT extent line without a valid offset", "FLAT without offset");
	text("createType=\"monolithicFlat\"\nRW 8 FLAT \"x.vmdk\" -1\n");
	refused(NULL, "FLAT extent line without a valid offset", "FLAT with offset -1");
	text("createType=\"monolithicFlat\"\nRW 8 SPARSE \"x.vmdk\" 5\n");
	refused(NULL, "invalid extent line", "offset on a SPARSE extent");
	{
		char d[800] = "createType=\"monolithicFlat\"\nRW 8 FLAT \"";
		size_t n = strlen(d);

		memset(d + n, 'e', 600);
		strcpy(d + n + 600, "\" 0\n");
		text(d);
		refused(NULL, "longer than 511", "600-byte extent name");
	}
	fsize = 3;
	flen = 3;
	refused(NULL, "too small", "3-byte file");

	/* Truncations of a sparse file: refused or decoded, never overread. */
	{
		bool good = true;

		for (size_t l = 0; l < 80 && good; l++) {
			sparse(DESC);
			flen = fsize = l;
			r = dec();
			good = r < 0 && r > -900;
		}
		ok(good, "every sparse file shorter than its header is refused");
	}
	/* Flips over the sparse header and the descriptor's start. */
	{
		static uint8_t orig[0x260];
		unsigned n = 0, accepted = 0;
		bool good = true;

		sparse("createType=\"monolithicSparse\"\nparentFileNameHint=\"b.vmdk\"\n");
		memcpy(orig, f, sizeof(orig));
		for (size_t i = 0; i < sizeof(orig) && good; i++) {
			if (i >= 80 && i < 0x200)
				continue;
			for (unsigned m = 1; m < 256; m <<= 1) {
				f[i] = orig[i] ^ (uint8_t)m;
				r = dec();
				n++;
				if (r == 0) {
					accepted++;
					if (info.has_backing &&
					    strlen(info.backing_name) > VS_BACKING_NAME_MAX)
						good = false;
					image_info_free(&info);
				} else if (r != -EINVAL && r != -ENOTSUP && r != -EFBIG) {
					good = false;
				}
			}
			f[i] = orig[i];
		}
		ok(good, "bit flips over header and descriptor: %u decodes, %u accepted, all sane",
		   n, accepted);
	}
	return tap_done();
}
