/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * qcow2 header decoder (docs/interop/qcow2.txt).  The bytes come from a
 * file a guest may have written, and vmseal reads them as root: every
 * offset and length is checked against the buffer, the first cluster and
 * the file size before it is used, and whatever QEMU itself would refuse
 * in qcow2_do_open() is refused here too, so vmseal never accepts a chain
 * that QEMU reads differently.
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "chain/bytes.h"
#include "chain/image.h"

#define QCOW2_MAGIC 0x514649fbU
#define QCOW2_V2_HEADER_LEN 72
#define QCOW2_V3_HEADER_LEN 104
#define QCOW2_MIN_CLUSTER_BITS 9
#define QCOW2_MAX_CLUSTER_BITS 21
#define QCOW2_MAX_REFCOUNT_ORDER 6

/* QEMU's caps on metadata tables (block/qcow2.h). */
#define QCOW2_MAX_L1_BYTES (32ULL << 20)
#define QCOW2_MAX_REFTABLE_BYTES (8ULL << 20)
#define QCOW2_MAX_SNAPSHOTS 65536ULL
#define QCOW2_SNAPSHOT_HEADER_LEN 40ULL

/* Where each header field lives: also what error contexts point at. */
enum {
	OFF_MAGIC = 0,
	OFF_VERSION = 4,
	OFF_BACKING_OFFSET = 8,
	OFF_BACKING_SIZE = 16,
	OFF_CLUSTER_BITS = 20,
	OFF_SIZE = 24,
	OFF_CRYPT_METHOD = 32,
	OFF_L1_SIZE = 36,
	OFF_L1_OFFSET = 40,
	OFF_REFCOUNT_OFFSET = 48,
	OFF_REFCOUNT_CLUSTERS = 56,
	OFF_NB_SNAPSHOTS = 60,
	OFF_SNAPSHOTS_OFFSET = 64,
	OFF_INCOMPAT = 72,
	OFF_COMPAT = 80,
	OFF_AUTOCLEAR = 88,
	OFF_REFCOUNT_ORDER = 96,
	OFF_HEADER_LENGTH = 100,
	OFF_COMPRESSION_TYPE = 104,
};

#define INCOMPAT_DIRTY (1ULL << 0)
#define INCOMPAT_CORRUPT (1ULL << 1)
#define INCOMPAT_DATA_FILE (1ULL << 2)
#define INCOMPAT_COMPRESSION (1ULL << 3)
#define INCOMPAT_EXTL2 (1ULL << 4)
#define INCOMPAT_KNOWN                                                     \
	(INCOMPAT_DIRTY | INCOMPAT_CORRUPT | INCOMPAT_DATA_FILE |           \
	 INCOMPAT_COMPRESSION | INCOMPAT_EXTL2)

#define COMPAT_LAZY_REFCOUNTS (1ULL << 0)
#define AUTOCLEAR_DATA_FILE_RAW (1ULL << 1)

#define COMPRESSION_ZLIB 0
#define COMPRESSION_ZSTD 1

#define EXT_END 0U
#define EXT_BACKING_FORMAT 0xe2792acaU
#define EXT_FEATURE_TABLE 0x6803f857U
#define EXT_CRYPTO_HEADER 0x0537be77U
#define EXT_DATA_FILE 0x44415441U

/* Feature name table entries: type, bit number, 46 bytes of name. */
#define FEATURE_ENTRY_LEN 48
#define FEATURE_NAME_LEN 46
#define FEATURE_INCOMPATIBLE 0

struct qcow2_header {
	uint32_t version;
	uint64_t backing_offset;
	uint32_t backing_size;
	uint32_t cluster_bits;
	uint64_t cluster_size;
	uint64_t size;
	uint32_t crypt_method;
	uint32_t l1_size;
	uint64_t l1_offset;
	uint64_t refcount_offset;
	uint32_t refcount_clusters;
	uint32_t nb_snapshots;
	uint64_t snapshots_offset;
	uint64_t incompat;
	uint32_t refcount_order;
	uint32_t header_length;
	/* The feature name table extension, when there is one. */
	uint64_t ftable_off;
	uint32_t ftable_len;
	uint64_t ext_stop;	/* where reading the extensions stopped */
};

static int truncated(struct vs_err *err, uint64_t file_size, uint64_t want)
{
	vs_err_ctx(err, "%s", "");
	return vs_errf(err, EINVAL,
		       "file is truncated: %llu bytes, but the qcow2 header needs %llu",
		       (unsigned long long)file_size,
		       (unsigned long long)want);
}

/*
 * Mirrors QEMU's qcow2_validate_table() and adds that the table must lie
 * inside the file: a header that points past the end is lying.
 */
static int check_table(const struct qcow2_header *h, uint64_t file_size,
		       const char *what, uint64_t off_field, uint64_t offset,
		       uint64_t count_field, uint64_t entries,
		       uint64_t entry_len, uint64_t max_bytes,
		       struct vs_err *err)
{
	uint64_t bytes;

	if (entries > max_bytes / entry_len)
		return field_err(err, EINVAL, count_field,
				 "%s too large (%llu entries, at most %llu bytes)",
				 what, (unsigned long long)entries,
				 (unsigned long long)max_bytes);
	bytes = entries * entry_len;
	if (offset & (h->cluster_size - 1))
		return field_err(err, EINVAL, off_field,
				 "%s offset 0x%llx is not aligned to the cluster size",
				 what, (unsigned long long)offset);
	if (entries && offset == 0)
		return field_err(err, EINVAL, off_field,
				 "%s lies on top of the header (offset 0)",
				 what);
	if (offset > file_size || bytes > file_size - offset)
		return field_err(err, EINVAL, off_field,
				 "header offset 0x%llx (%s, %llu bytes) lies beyond end of file (%llu bytes)",
				 (unsigned long long)offset, what,
				 (unsigned long long)bytes,
				 (unsigned long long)file_size);
	return 0;
}

/* Everything decided by bytes [0, 104): no extension is read yet. */
static int parse_fixed(const uint8_t *buf, size_t len, uint64_t file_size,
		       struct qcow2_header *h, size_t *need,
		       struct vs_err *err)
{
	if (file_size < QCOW2_V2_HEADER_LEN)
		return truncated(err, file_size, QCOW2_V2_HEADER_LEN);
	if (len < QCOW2_V2_HEADER_LEN)
		goto again;
	if (be32(buf + OFF_MAGIC) != QCOW2_MAGIC)
		return field_err(err, EINVAL, OFF_MAGIC,
				 "not a qcow2 image (bad magic 0x%08x)",
				 be32(buf + OFF_MAGIC));
	h->version = be32(buf + OFF_VERSION);
	if (h->version != 2 && h->version != 3)
		return field_err(err, ENOTSUP, OFF_VERSION,
				 "unsupported qcow2 version %u",
				 h->version);
	if (h->version == 3) {
		if (file_size < QCOW2_V3_HEADER_LEN)
			return truncated(err, file_size, QCOW2_V3_HEADER_LEN);
		if (len < QCOW2_V3_HEADER_LEN)
			goto again;
	}

	h->backing_offset = be64(buf + OFF_BACKING_OFFSET);
	h->backing_size = be32(buf + OFF_BACKING_SIZE);
	h->cluster_bits = be32(buf + OFF_CLUSTER_BITS);
	h->size = be64(buf + OFF_SIZE);
	h->crypt_method = be32(buf + OFF_CRYPT_METHOD);
	h->l1_size = be32(buf + OFF_L1_SIZE);
	h->l1_offset = be64(buf + OFF_L1_OFFSET);
	h->refcount_offset = be64(buf + OFF_REFCOUNT_OFFSET);
	h->refcount_clusters = be32(buf + OFF_REFCOUNT_CLUSTERS);
	h->nb_snapshots = be32(buf + OFF_NB_SNAPSHOTS);
	h->snapshots_offset = be64(buf + OFF_SNAPSHOTS_OFFSET);
	if (h->version == 2) {
		h->incompat = 0;
		h->refcount_order = 4;
		h->header_length = QCOW2_V2_HEADER_LEN;
	} else {
		h->incompat = be64(buf + OFF_INCOMPAT);
		h->refcount_order = be32(buf + OFF_REFCOUNT_ORDER);
		h->header_length = be32(buf + OFF_HEADER_LENGTH);
	}
	return 0;

again:
	/* Too little even for the fixed fields: ask for the usual read. */
	return need_more(err, need, file_size < VS_HEADER_READ ?
					    (size_t)file_size : VS_HEADER_READ);
}

static int check_fixed(struct qcow2_header *h, uint64_t file_size,
		       struct vs_err *err)
{
	uint64_t l2_bits, shift, l1_needed;
	int r;

	if (h->cluster_bits < QCOW2_MIN_CLUSTER_BITS ||
	    h->cluster_bits > QCOW2_MAX_CLUSTER_BITS)
		return field_err(err, EINVAL, OFF_CLUSTER_BITS,
				 "cluster_bits %u out of range (%d to %d)",
				 h->cluster_bits, QCOW2_MIN_CLUSTER_BITS,
				 QCOW2_MAX_CLUSTER_BITS);
	h->cluster_size = 1ULL << h->cluster_bits;
	if (h->version == 3) {
		if (h->header_length < QCOW2_V3_HEADER_LEN)
			return field_err(err, EINVAL, OFF_HEADER_LENGTH,
					 "header_length %u is shorter than the %d bytes of a version 3 header",
					 h->header_length,
					 QCOW2_V3_HEADER_LEN);
		if (h->header_length % 8)
			return field_err(err, EINVAL, OFF_HEADER_LENGTH,
					 "header_length %u is not a multiple of 8",
					 h->header_length);
		if (h->header_length > h->cluster_size)
			return field_err(err, EINVAL, OFF_HEADER_LENGTH,
					 "header_length %u exceeds the cluster size (%llu)",
					 h->header_length,
					 (unsigned long long)h->cluster_size);
	}
	if (h->header_length > file_size)
		return truncated(err, file_size, h->header_length);

	/*
	 * Unknown bits are refused once the extensions are read, so that
	 * the message can give the names the image's feature table has.
	 */
	if (h->incompat & INCOMPAT_CORRUPT)
		return field_err(err, EINVAL, OFF_INCOMPAT,
				 "image is marked corrupt (incompatible feature bit 1); check it with qemu-img check");
	/* Extended L2 splits a cluster in 32: QEMU needs 512-byte pieces. */
	if ((h->incompat & INCOMPAT_EXTL2) && h->cluster_bits < 14)
		return field_err(err, EINVAL, OFF_CLUSTER_BITS,
				 "cluster_bits %u too small for extended L2 entries",
				 h->cluster_bits);
	if (h->crypt_method != 0)
		return field_err(err, ENOTSUP, OFF_CRYPT_METHOD,
				 "encrypted images are not supported (crypt_method %u)",
				 h->crypt_method);
	if (h->refcount_order > QCOW2_MAX_REFCOUNT_ORDER)
		return field_err(err, EINVAL, OFF_REFCOUNT_ORDER,
				 "refcount_order %u too large (at most %d)",
				 h->refcount_order, QCOW2_MAX_REFCOUNT_ORDER);

	if (h->refcount_clusters == 0)
		return field_err(err, EINVAL, OFF_REFCOUNT_CLUSTERS,
				 "image has no refcount table");
	r = check_table(h, file_size, "refcount table", OFF_REFCOUNT_OFFSET,
			h->refcount_offset, OFF_REFCOUNT_CLUSTERS,
			h->refcount_clusters, h->cluster_size,
			QCOW2_MAX_REFTABLE_BYTES, err);
	if (r)
		return r;
	r = check_table(h, file_size, "snapshot table", OFF_SNAPSHOTS_OFFSET,
			h->snapshots_offset, OFF_NB_SNAPSHOTS, h->nb_snapshots,
			QCOW2_SNAPSHOT_HEADER_LEN,
			QCOW2_SNAPSHOT_HEADER_LEN * QCOW2_MAX_SNAPSHOTS, err);
	if (r)
		return r;
	r = check_table(h, file_size, "L1 table", OFF_L1_OFFSET, h->l1_offset,
			OFF_L1_SIZE, h->l1_size, 8, QCOW2_MAX_L1_BYTES, err);
	if (r)
		return r;

	/* The L1 table must be able to map the whole virtual size. */
	l2_bits = h->cluster_bits - ((h->incompat & INCOMPAT_EXTL2) ? 4 : 3);
	shift = h->cluster_bits + l2_bits;
	l1_needed = (h->size >> shift) +
		    ((h->size & ((1ULL << shift) - 1)) != 0);
	if (l1_needed > INT_MAX)
		return field_err(err, EFBIG, OFF_SIZE,
				 "virtual size %llu is too big",
				 (unsigned long long)h->size);
	if (h->l1_size < l1_needed)
		return field_err(err, EINVAL, OFF_L1_SIZE,
				 "L1 table (%u entries) too small for the virtual size %llu",
				 h->l1_size, (unsigned long long)h->size);

	/*
	 * QEMU only bounds the name by the first cluster; the file, the
	 * header and the 1023-byte cap are vmseal's additions.
	 */
	if (h->backing_offset) {
		uint64_t off = h->backing_offset;
		uint64_t size = h->backing_size;

		if (off < h->header_length)
			return field_err(err, EINVAL, OFF_BACKING_OFFSET,
					 "backing file name offset 0x%llx lies inside the header (%u bytes)",
					 (unsigned long long)off,
					 h->header_length);
		if (off > h->cluster_size)
			return field_err(err, EINVAL, OFF_BACKING_OFFSET,
					 "backing file name offset 0x%llx lies past the first cluster (%llu bytes)",
					 (unsigned long long)off,
					 (unsigned long long)h->cluster_size);
		if (size > VS_BACKING_NAME_MAX)
			return field_err(err, EINVAL, OFF_BACKING_SIZE,
					 "backing file name is %llu bytes long (at most %d)",
					 (unsigned long long)size,
					 VS_BACKING_NAME_MAX);
		if (size > h->cluster_size - off)
			return field_err(err, EINVAL, OFF_BACKING_SIZE,
					 "backing file name at 0x%llx (%llu bytes) runs past the first cluster (%llu bytes)",
					 (unsigned long long)off,
					 (unsigned long long)size,
					 (unsigned long long)h->cluster_size);
		if (off > file_size || size > file_size - off)
			return field_err(err, EINVAL, OFF_BACKING_OFFSET,
					 "backing file name at 0x%llx (%llu bytes) lies beyond end of file (%llu bytes)",
					 (unsigned long long)off,
					 (unsigned long long)size,
					 (unsigned long long)file_size);
	}
	return 0;
}

static int check_compression(const uint8_t *buf, const struct qcow2_header *h,
			     struct vs_err *err)
{
	unsigned type = COMPRESSION_ZLIB;

	if (h->header_length > OFF_COMPRESSION_TYPE)
		type = buf[OFF_COMPRESSION_TYPE];
	if (type != COMPRESSION_ZLIB && type != COMPRESSION_ZSTD)
		return field_err(err, ENOTSUP, OFF_COMPRESSION_TYPE,
				 "unknown compression type %u", type);
	/* QEMU insists the bit and the type agree, either way round. */
	if (type == COMPRESSION_ZLIB && (h->incompat & INCOMPAT_COMPRESSION))
		return field_err(err, EINVAL, OFF_INCOMPAT,
				 "compression type bit (incompatible feature bit 3) set, but the header records %s",
				 h->header_length > OFF_COMPRESSION_TYPE ?
					 "zlib" : "no compression type");
	if (type != COMPRESSION_ZLIB && !(h->incompat & INCOMPAT_COMPRESSION))
		return field_err(err, EINVAL, OFF_COMPRESSION_TYPE,
				 "compression type %u without incompatible feature bit 3",
				 type);
	return 0;
}

/*
 * The data file name is a host path like a backing name: bytes as
 * written, no NUL, within vmseal's name cap.  QEMU reads the extension
 * even when bit 2 is clear and then ignores it; so does the caller.
 */
static int read_data_file(const uint8_t *data, uint32_t len, uint64_t ext_off,
			  struct image_info *out, struct vs_err *err)
{
	if (out->data_file_name_offset)
		return field_err(err, EINVAL, ext_off,
				 "second data file name extension");
	if (len == 0)
		return field_err(err, EINVAL, ext_off,
				 "data file name extension is empty");
	if (len > VS_BACKING_NAME_MAX)
		return field_err(err, EINVAL, ext_off,
				 "data file name is %u bytes long (at most %d)",
				 len, VS_BACKING_NAME_MAX);
	if (memchr(data, '\0', len))
		return field_err(err, EINVAL, ext_off + 8,
				 "data file name contains a NUL byte");
	memcpy(out->data_file_name, data, len);
	out->data_file_name[len] = '\0';
	out->data_file_name_offset = ext_off + 8;
	out->has_data_file = true;
	return 0;
}

static int read_backing_format(const uint8_t *data, uint32_t len,
			       uint64_t ext_off, struct image_info *out,
			       struct vs_err *err)
{
	if (out->backing_format_name[0])
		return field_err(err, EINVAL, ext_off,
				 "second backing-format extension");
	if (len == 0)
		return field_err(err, EINVAL, ext_off,
				 "backing-format extension is empty");
	if (len >= sizeof(out->backing_format_name))
		return field_err(err, EINVAL, ext_off,
				 "backing format name is %u bytes long (at most %zu)",
				 len, sizeof(out->backing_format_name) - 1);
	/* Driver names are plain words; anything else is not a format. */
	for (uint32_t i = 0; i < len; i++) {
		if (data[i] <= 0x20 || data[i] >= 0x7f)
			return field_err(err, EINVAL, ext_off + 8 + i,
					 "backing format name has byte 0x%02x, which no format name has",
					 data[i]);
	}
	memcpy(out->backing_format_name, data, len);
	out->backing_format_name[len] = '\0';
	if (vs_format_from_name(out->backing_format_name,
				&out->backing_format) < 0)
		out->backing_format = VS_FMT_NONE;
	return 0;
}

/*
 * QEMU's qcow2_read_extensions(): records of (type, length, data padded
 * to 8) from the end of the header up to end, stopping at type 0.
 * Returns 1 when the records go on beyond the buffer.
 */
static int read_extensions(const uint8_t *buf, size_t len, uint64_t start,
			   uint64_t end, struct qcow2_header *h,
			   struct image_info *out, struct vs_err *err)
{
	uint64_t off = start;

	while (off < end) {
		uint64_t data;
		uint32_t type, elen;
		int r;

		if (end - off < 8)
			return field_err(err, EINVAL, off,
					 "header extension at 0x%llx is cut off at 0x%llx",
					 (unsigned long long)off,
					 (unsigned long long)end);
		if (off + 8 > len)
			return 1;
		type = be32(buf + off);
		elen = be32(buf + off + 4);
		data = off + 8;
		if (elen > end - data)
			return field_err(err, EINVAL, off,
					 "header extension 0x%08x (%u bytes) runs past the end of the extension area (0x%llx)",
					 type, elen, (unsigned long long)end);
		if (type == EXT_END) {
			h->ext_stop = data;
			return 0;
		}
		if (data + elen > len)
			return 1;

		switch (type) {
		case EXT_BACKING_FORMAT:
			r = read_backing_format(buf + data, elen, off, out,
						err);
			if (r)
				return r;
			break;
		case EXT_CRYPTO_HEADER:
			return field_err(err, EINVAL, off,
					 "encryption header extension in an image that is not encrypted");
		case EXT_FEATURE_TABLE:
			/* Names for feature bits: for messages only. */
			h->ftable_off = data;
			h->ftable_len = elen;
			break;
		case EXT_DATA_FILE:
			r = read_data_file(buf + data, elen, off, out, err);
			if (r)
				return r;
			break;
		default:
			/* Bitmaps, future extensions: QEMU skips them. */
			break;
		}
		off = data + (((uint64_t)elen + 7) & ~7ULL);
	}
	h->ext_stop = off < end ? off : end;
	return 0;
}

/*
 * "unknown incompatible features 0x20 (bit 5 'foo')": names from the
 * image's own table, shown as printable ASCII only.
 */
static int unknown_features(const uint8_t *buf, const struct qcow2_header *h,
			    struct vs_err *err)
{
	uint64_t bits = h->incompat & ~INCOMPAT_KNOWN;
	char names[512] = "";
	size_t used = 0;

	for (uint32_t e = 0; e + FEATURE_ENTRY_LEN <= h->ftable_len;
	     e += FEATURE_ENTRY_LEN) {
		const uint8_t *p = buf + h->ftable_off + e;
		char name[FEATURE_NAME_LEN + 1];
		size_t n = 0;
		int w;

		if (p[0] != FEATURE_INCOMPATIBLE || p[1] > 63 ||
		    !(bits & (1ULL << p[1])))
			continue;
		for (; n < FEATURE_NAME_LEN && p[2 + n]; n++)
			name[n] = p[2 + n] >= 0x20 && p[2 + n] < 0x7f ?
				  (char)p[2 + n] : '?';
		name[n] = '\0';
		w = snprintf(names + used, sizeof(names) - used, "%sbit %u '%s'",
			     used ? ", " : " (", p[1], name);
		if (w < 0 || (size_t)w >= sizeof(names) - used)
			break;
		used += (size_t)w;
	}
	return field_err(err, ENOTSUP, OFF_INCOMPAT,
			 "unknown incompatible features 0x%llx%s%s",
			 (unsigned long long)bits, names, used ? ")" : "");
}

int qcow2_decode(const uint8_t *buf, size_t len, uint64_t file_size,
		 struct image_info *out, size_t *need, struct vs_err *err)
{
	struct qcow2_header h = { 0 };
	uint64_t ext_end, backing_end = 0, want;
	int r;

	image_info_clear(out);
	out->format = VS_FMT_QCOW2;
	/* Bytes past the file's end are not the file's. */
	if (len > file_size)
		len = (size_t)file_size;

	r = parse_fixed(buf, len, file_size, &h, need, err);
	if (r)
		return r;
	r = check_fixed(&h, file_size, err);
	if (r)
		return r;

	ext_end = h.backing_offset ? h.backing_offset : h.cluster_size;
	if (ext_end > file_size)
		ext_end = file_size;
	if (h.backing_size)
		backing_end = h.backing_offset + h.backing_size;
	/*
	 * Everything left lies in [0, want), inside the first cluster and
	 * the file (checked above), so one read of want bytes is enough.
	 */
	want = ext_end > backing_end ? ext_end : backing_end;
	if (len < h.header_length)
		goto again;

	r = check_compression(buf, &h, err);
	if (r)
		return r;
	r = read_extensions(buf, len, h.header_length, ext_end, &h, out, err);
	if (r < 0)
		return r;
	if (r > 0)
		goto again;
	if (h.incompat & ~INCOMPAT_KNOWN)
		return unknown_features(buf, &h, err);
	if (!(h.incompat & INCOMPAT_DATA_FILE)) {
		out->has_data_file = false;
		out->data_file_name[0] = '\0';
		out->data_file_name_offset = 0;
	} else if (!out->has_data_file) {
		return field_err(err, EINVAL, OFF_INCOMPAT,
				 "external data file bit (incompatible feature bit 2) set, but the image names no data file (extension 0x44415441)");
	}

	if (h.backing_size) {
		if (len < backing_end) {
			want = backing_end;
			goto again;
		}
		if (memchr(buf + h.backing_offset, '\0', h.backing_size))
			return field_err(err, EINVAL, h.backing_offset,
					 "backing file name contains a NUL byte");
		memcpy(out->backing_name, buf + h.backing_offset,
		       h.backing_size);
		out->backing_name[h.backing_size] = '\0';
		out->backing_name_offset = h.backing_offset;
		out->has_backing = true;
	}

	/* The bytes every decision above rests on. */
	out->header_used = h.ext_stop > h.header_length ? h.ext_stop :
							 h.header_length;
	if (h.backing_size && backing_end > out->header_used)
		out->header_used = backing_end;
	out->virtual_size = h.size;
	out->version = h.version;
	out->cluster_bits = h.cluster_bits;
	out->incompatible_features = h.incompat;
	/* What qemu-img info shows (the corrupt bit was refused above). */
	out->cluster_size = h.cluster_size;
	out->refcount_bits = 1U << h.refcount_order;
	if (h.version == 3) {
		out->dirty = h.incompat & INCOMPAT_DIRTY;
		out->extended_l2 = h.incompat & INCOMPAT_EXTL2;
		out->lazy_refcounts = be64(buf + OFF_COMPAT) &
				      COMPAT_LAZY_REFCOUNTS;
		out->data_file_raw = out->has_data_file &&
				     (be64(buf + OFF_AUTOCLEAR) &
				      AUTOCLEAR_DATA_FILE_RAW);
		if (h.header_length > OFF_COMPRESSION_TYPE)
			out->compression_type = buf[OFF_COMPRESSION_TYPE];
	}
	return 0;

again:
	if (want <= len || want > VS_HEADER_MAX || want > file_size)
		return vs_errf(err, EINVAL,
			       "internal error: qcow2 decoder wants %llu bytes with %zu at hand",
			       (unsigned long long)want, len);
	return need_more(err, need, (size_t)want);
}
