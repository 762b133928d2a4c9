/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QED decoder against headers built byte by byte: valid ones with and
 * without a backing file, the no-probe flag, every refusal QEMU makes,
 * names and tables that lie about the file, every truncation and a
 * byte-flip sweep (each decode gets an exact-size heap copy for ASan).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chain/image.h"
#include "tests/lib/tap.h"

#define CS 0x10000U

static uint8_t hdr[CS];
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

/* qemu-img's layout: 64 KiB clusters, 4-cluster tables, L1 at 64 KiB. */
static void base(void)
{
	memset(hdr, 0, sizeof(hdr));
	memcpy(hdr, "QED", 4);
	put32(hdr + 4, CS);
	put32(hdr + 8, 4);
	put32(hdr + 12, 1);
	put64(hdr + 40, CS);
	put64(hdr + 48, 1 << 20);
	fsize = 5 * CS;
}

static void backing(const char *name, bool raw)
{
	put64(hdr + 16, 1 | (raw ? 4 : 0));
	put32(hdr + 56, 64);
	put32(hdr + 60, (uint32_t)strlen(name));
	memcpy(hdr + 64, name, strlen(name));
}

static int dec_n(size_t len, uint64_t fs, size_t *need)
{
	uint8_t *copy = malloc(len ? len : 1);
	int r;

	memcpy(copy, hdr, len);
	vs_err_clear(&err);
	*need = 0;
	r = qed_decode(copy, len, fs, &info, need, &err);
	free(copy);
	return r;
}

static int dec(void)
{
	size_t need;
	int r = dec_n(4096, fsize, &need);

	if (r == -EAGAIN)
		r = dec_n(need, fsize, &need);
	return r;
}

static void refused(const char *ctx, const char *msg, const char *what)
{
	int r = dec();

	ok(r < 0 && r != -EAGAIN, "%s: refused", what);
	if (ctx)
		is_str(err.context, ctx, "%s: context", what);
	has_str(err.msg, msg, "%s: message", what);
}

int main(void)
{
	size_t need;
	int r;

	base();
	r = dec();
	is_int(r, 0, "plain QED decodes");
	is_int(info.format, VS_FMT_QED, "format qed");
	is_int(info.virtual_size, 1 << 20, "virtual size");
	ok(!info.has_backing, "no backing");

	base();
	backing("base.raw", true);
	r = dec();
	is_int(r, 0, "QED with a raw backing file decodes");
	is_str(info.backing_name, "base.raw", "backing name");
	is_int(info.backing_name_offset, 64, "name offset");
	is_int(info.backing_format, VS_FMT_RAW, "no-probe flag: raw");
	is_str(info.backing_format_name, "raw", "format name raw");

	base();
	backing("base.qcow2", false);
	r = dec();
	is_int(r, 0, "QED with a backing file without the flag decodes");
	is_int(info.backing_format, VS_FMT_NONE, "no flag: no recorded format");
	is_str(info.backing_format_name, "", "no format name");

	base();
	put64(hdr + 16, 2);
	is_int(dec(), 0, "need-check flag accepted (QEMU checks the image)");

	base();
	hdr[0] = 'X';
	refused("offset 0x0", "not a QED image", "bad magic");
	base();
	put64(hdr + 16, 8);
	refused("offset 0x10", "unsupported QED features 0x8", "unknown feature bit");
	is_int(err.code, ENOTSUP, "unknown feature: ENOTSUP");
	base();
	put32(hdr + 4, 3 * 4096);
	refused("offset 0x4", "not a power of two", "cluster size 12 KiB");
	base();
	put32(hdr + 4, 2048);
	refused("offset 0x4", "from 4 KiB to 64 MiB", "cluster size 2 KiB");
	base();
	put32(hdr + 8, 32);
	refused("offset 0x8", "table size 32", "table size 32");
	base();
	put32(hdr + 8, 0);
	refused("offset 0x8", "table size 0", "table size 0");
	base();
	put64(hdr + 48, 1000);
	refused("offset 0x30", "not a multiple of 512", "image size 1000");
	base();
	put64(hdr + 48, 1ULL << 62);
	refused("offset 0x30", "exceeds", "image size beyond the table's reach");
	base();
	put32(hdr + 12, 0);
	refused("offset 0xc", "header size", "header size 0");
	base();
	put32(hdr + 12, 0x10000);
	refused("offset 0xc", "header size", "header size overflowing 32 bits");
	base();
	put64(hdr + 40, CS + 8);
	refused("offset 0x28", "not aligned", "L1 table misaligned");
	base();
	put64(hdr + 40, 0);
	refused("offset 0x28", "inside the header", "L1 table on the header");
	base();
	put64(hdr + 40, 64 * CS);
	refused("offset 0x28", "beyond end of file", "L1 table past EOF");
	base();
	fsize = 3 * CS;
	refused("offset 0x28", "beyond end of file",
		"L1 table running past EOF (4 clusters, file has 3)");

	base();
	backing("b", true);
	put32(hdr + 60, 1024);
	refused("offset 0x3c", "at most 1023", "name length 1024");
	base();
	backing("b", true);
	put32(hdr + 60, 0);
	refused("offset 0x3c", "empty", "empty name with the backing flag");
	base();
	backing("b", true);
	put32(hdr + 56, 8);
	refused("offset 0x38", "inside the header fields", "name inside the fields");
	base();
	backing("b", true);
	put32(hdr + 56, CS - 1);
	put32(hdr + 60, 2);
	refused("offset 0x38", "runs past the header", "name past the header cluster");
	base();
	backing("b", true);
	put32(hdr + 12, 4);
	put64(hdr + 40, 4 * CS);
	fsize = 8 * CS;
	put32(hdr + 56, 3 * CS);
	put32(hdr + 60, 10);
	hdr[0] = 'Q';
	r = dec_n(4096, 3 * CS + 5, &need);
	ok(r == -EINVAL && strstr(err.msg, "beyond"), "name past EOF refused");
	base();
	put32(hdr + 12, 2);
	put64(hdr + 40, 2 * CS);
	fsize = 7 * CS;
	put64(hdr + 16, 5);
	put32(hdr + 56, CS + 16);
	put32(hdr + 60, 4);
	r = dec_n(4096, fsize, &need);
	ok(r == -EAGAIN && need == CS + 20, "name in the second header cluster: asks for it");
	base();
	backing("ba\0se", true);
	put32(hdr + 60, 5);
	refused(NULL, "NUL", "NUL in the name");

	/* Every file shorter than its header: refused, never read past. */
	base();
	backing("base.raw", true);
	{
		bool good = true;

		for (size_t l = 0; l < 72 && good; l++) {
			r = dec_n(l, l, &need);
			good = r < 0 && r != -EAGAIN;
		}
		ok(good, "every truncation below 72 bytes refused");
	}
	/* Byte flips over the header fields: sane answers only. */
	{
		uint8_t orig[128];
		unsigned n = 0;
		bool good = true;

		base();
		backing("sub/base.raw", true);
		memcpy(orig, hdr, sizeof(orig));
		for (size_t i = 0; i < sizeof(orig) && good; i++) {
			for (unsigned m = 1; m < 256; m <<= 1) {
				hdr[i] = orig[i] ^ (uint8_t)m;
				r = dec();
				n++;
				if (r != 0 && r != -EINVAL && r != -ENOTSUP)
					good = false;
				if (r == 0 && info.has_backing &&
				    strlen(info.backing_name) > VS_BACKING_NAME_MAX)
					good = false;
			}
			hdr[i] = orig[i];
		}
		ok(good, "single-bit flips over the first 128 bytes: %u decodes, all sane", n);
	}
	return tap_done();
}
