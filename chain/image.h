/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_CHAIN_IMAGE_H
#define VS_CHAIN_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/err.h"
#include "common/format.h"

/*
 * What a decoder learns from an image's first bytes.  Decoders are pure:
 * they take a buffer, its length and the file's size and never open,
 * read or guess anything.
 */

#define VS_BACKING_NAME_MAX 1023	/* QEMU's own cap */
/* A VMDK extent line's file name: QEMU scans it with %511[^"]. */
#define VS_EXTENT_NAME_MAX 511
/* More extents than any real descriptor has (twoGbMax of 2 TiB: 1024). */
#define VS_EXTENTS_MAX 4096

/* One extent line of a VMDK descriptor. */
struct image_extent {
	char type[16];			/* FLAT, SPARSE, VMFS, VMFSSPARSE, ... */
	uint64_t sectors;
	uint64_t flat_offset;		/* FLAT: start in the extent file */
	uint64_t line_offset;		/* where the line lies, for messages */
	char name[VS_EXTENT_NAME_MAX + 1];
};

struct image_info {
	enum vs_format format;
	uint64_t virtual_size;
	uint32_t version;		/* qcow2 2 or 3; 0 for raw */
	uint32_t cluster_bits;
	uint64_t incompatible_features;

	bool has_backing;
	uint64_t backing_name_offset;	/* where the name lies, for messages */
	/* The recorded backing format; VS_FMT_NONE when the header has none. */
	enum vs_format backing_format;
	/* The recorded name as written, also when vmseal cannot decode it. */
	char backing_format_name[32];

	/* qcow2 external data file (incompatible bit 2 + extension). */
	bool has_data_file;
	uint64_t data_file_name_offset;

	/* VMDK: createType, and the extents of a descriptor file. */
	char create_type[32];
	struct image_extent *extents;	/* allocated; image_info_free() */
	size_t n_extents;
	bool needs_read_only;		/* QEMU opens it read-only only */

	/*
	 * What `qemu-img info` shows besides (for `chain --json`'s keys of
	 * the same names): cluster-size (0: the format has none), dirty-flag,
	 * and the qcow2 and VMDK "format-specific" data.
	 */
	uint64_t cluster_size;
	bool dirty;
	bool lazy_refcounts;		/* qcow2 v3 compatible bit 0 */
	bool extended_l2;		/* qcow2 v3 incompatible bit 4 */
	bool data_file_raw;		/* qcow2 autoclear bit 1 */
	uint32_t refcount_bits;		/* qcow2 */
	uint32_t compression_type;	/* qcow2: 0 zlib, 1 zstd */
	bool has_cid;			/* VMDK descriptor CID and parentCID */
	uint32_t cid, parent_cid;
	bool compressed;		/* VMDK streamOptimized */

	/*
	 * How many of the first bytes the decoder's answer rests on: what
	 * the chain record's header digest covers.  0 for raw.
	 */
	size_t header_used;

	/*
	 * The names last, so that image_info_clear() zeroes everything but
	 * their 2 KiB: the backing file name, and the qcow2 external data
	 * file name (incompatible bit 2 + extension).
	 */
	char backing_name[VS_BACKING_NAME_MAX + 1];
	char data_file_name[VS_BACKING_NAME_MAX + 1];
};

/* An empty answer: every field zero, both names "". */
static inline void image_info_clear(struct image_info *info)
{
	memset(info, 0, offsetof(struct image_info, backing_name));
	info->backing_name[0] = '\0';
	info->data_file_name[0] = '\0';
}

/*
 * Bytes a walker reads first from the top image (the others start from
 * what the member above used, at most this): 640, enough for the
 * header, extensions and a backing name of up to about 100 bytes as
 * qemu-img writes them into a qcow2 (536 bytes with a short name) or QED
 * image; a longer name, or a VMDK's embedded descriptor (it ends at
 * 10.5 KiB), takes a second read of the bytes still missing.  Each member's header is a cold page-cache
 * page, so the copy costs by the cache line: 16 KiB per member was a
 * quarter of a deep chain's time in the kernel, 1 KiB still 7%
 * (bench/chain.sh measures against the floor).  A decoder
 * whose metadata lies beyond the buffer returns -EAGAIN with *need set to
 * the length it needs (never more than VS_HEADER_MAX and never past the
 * file's end), and is called again.
 */
#define VS_HEADER_READ 640
#define VS_HEADER_MAX (2 * 1024 * 1024)

/*
 * Each returns 0, -EAGAIN (see above) or -EINVAL/-ENOTSUP with err->msg
 * saying what is wrong and err->context "offset 0x..." when a field is to
 * blame (the caller prefixes the image's path).
 */
int qcow2_decode(const uint8_t *buf, size_t len, uint64_t file_size,
		 struct image_info *out, size_t *need, struct vs_err *err);
int raw_decode(const uint8_t *buf, size_t len, uint64_t file_size,
	       struct image_info *out, size_t *need, struct vs_err *err);
int qed_decode(const uint8_t *buf, size_t len, uint64_t file_size,
	       struct image_info *out, size_t *need, struct vs_err *err);
/*
 * Only a successful vmdk_decode() allocates (out->extents); -EAGAIN and
 * errors leave nothing to free.
 */
int vmdk_decode(const uint8_t *buf, size_t len, uint64_t file_size,
		struct image_info *out, size_t *need, struct vs_err *err);

/* Dispatches on fmt; a format without decoder is -ENOTSUP. */
int image_decode(enum vs_format fmt, const uint8_t *buf, size_t len,
		 uint64_t file_size, struct image_info *out, size_t *need,
		 struct vs_err *err);

/* Frees what a decoder allocated; the rest of *info stays readable. */
void image_info_free(struct image_info *info);

#endif
