/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * QED header decoder (QEMU block/qed.h, docs/interop/qed_spec.txt).  All
 * fields are little-endian.  What bdrv_qed_do_open() refuses is refused
 * here too, and every offset is also checked against the file: a name or
 * table past the end of the file is a lie, not a reason to read further.
 *
 * QED records a backing format in one bit only: QED_F_BACKING_FORMAT_NO_PROBE
 * says "raw".  Without it QEMU would probe the backing file, so the
 * decoder reports no recorded format and the walker refuses it unless the
 * disk's config names one.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "chain/bytes.h"
#include "chain/image.h"

#define QED_MAGIC 0x00444551U	/* "QED\0" */
#define QED_HEADER_LEN 64

#define QED_F_BACKING_FILE 0x01ULL
#define QED_F_NEED_CHECK 0x02ULL
#define QED_F_BACKING_FORMAT_NO_PROBE 0x04ULL
#define QED_FEATURE_MASK                                                   \
	(QED_F_BACKING_FILE | QED_F_NEED_CHECK | QED_F_BACKING_FORMAT_NO_PROBE)

#define QED_MIN_CLUSTER_SIZE (4U * 1024)
#define QED_MAX_CLUSTER_SIZE (64U * 1024 * 1024)
#define QED_MIN_TABLE_SIZE 1U
#define QED_MAX_TABLE_SIZE 16U
#define SECTOR_SIZE 512U

enum {
	OFF_MAGIC = 0,
	OFF_CLUSTER_SIZE = 4,
	OFF_TABLE_SIZE = 8,
	OFF_HEADER_SIZE = 12,
	OFF_FEATURES = 16,
	OFF_COMPAT = 24,
	OFF_AUTOCLEAR = 32,
	OFF_L1_OFFSET = 40,
	OFF_IMAGE_SIZE = 48,
	OFF_BACKING_OFFSET = 56,
	OFF_BACKING_SIZE = 60,
};

static bool pow2_in(uint64_t v, uint64_t lo, uint64_t hi)
{
	return v >= lo && v <= hi && (v & (v - 1)) == 0;
}

int qed_decode(const uint8_t *buf, size_t len, uint64_t file_size,
	       struct image_info *out, size_t *need, struct vs_err *err)
{
	uint64_t cluster, table, header_size, features, l1, size, entries;
	uint64_t name_off, name_len, max_size, header_bytes, file_clusters;

	image_info_clear(out);
	out->format = VS_FMT_QED;
	if (len > file_size)
		len = (size_t)file_size;
	if (file_size < QED_HEADER_LEN) {
		vs_err_ctx(err, "%s", "");
		return vs_errf(err, EINVAL,
			       "file is truncated: %llu bytes, but the QED header needs %d",
			       (unsigned long long)file_size, QED_HEADER_LEN);
	}
	if (len < QED_HEADER_LEN)
		return need_more(err, need, file_size < VS_HEADER_READ ?
						    (size_t)file_size :
						    VS_HEADER_READ);
	if (le32(buf + OFF_MAGIC) != QED_MAGIC)
		return field_err(err, EINVAL, OFF_MAGIC,
				 "not a QED image (bad magic 0x%08x)",
				 le32(buf + OFF_MAGIC));

	cluster = le32(buf + OFF_CLUSTER_SIZE);
	table = le32(buf + OFF_TABLE_SIZE);
	header_size = le32(buf + OFF_HEADER_SIZE);
	features = le64(buf + OFF_FEATURES);
	l1 = le64(buf + OFF_L1_OFFSET);
	size = le64(buf + OFF_IMAGE_SIZE);

	if (features & ~QED_FEATURE_MASK)
		return field_err(err, ENOTSUP, OFF_FEATURES,
				 "unsupported QED features 0x%llx",
				 (unsigned long long)(features &
						      ~QED_FEATURE_MASK));
	if (!pow2_in(cluster, QED_MIN_CLUSTER_SIZE, QED_MAX_CLUSTER_SIZE))
		return field_err(err, EINVAL, OFF_CLUSTER_SIZE,
				 "cluster size %llu is not a power of two from 4 KiB to 64 MiB",
				 (unsigned long long)cluster);
	if (!pow2_in(table, QED_MIN_TABLE_SIZE, QED_MAX_TABLE_SIZE))
		return field_err(err, EINVAL, OFF_TABLE_SIZE,
				 "table size %llu is not a power of two from 1 to 16",
				 (unsigned long long)table);
	/*
	 * QEMU's qed_max_image_size(): (entries per table)^2 clusters, in
	 * the same wrapping 64-bit arithmetic, so that vmseal never takes
	 * an image QEMU refuses.
	 */
	entries = cluster * table / 8;
	max_size = entries * (entries * cluster);
	if (size % SECTOR_SIZE || size > max_size)
		return field_err(err, EINVAL, OFF_IMAGE_SIZE,
				 "image size %llu is not a multiple of 512 or exceeds %llu",
				 (unsigned long long)size,
				 (unsigned long long)max_size);
	if (header_size == 0 || header_size > UINT32_MAX / cluster)
		return field_err(err, EINVAL, OFF_HEADER_SIZE,
				 "header size of %llu clusters is out of range",
				 (unsigned long long)header_size);
	header_bytes = header_size * cluster;

	/*
	 * QEMU's qed_check_table_offset(): the L1 table's first and last
	 * clusters are aligned, after the header and inside the file (whose
	 * size QEMU rounds down to a cluster).
	 */
	file_clusters = file_size & ~(cluster - 1);
	if (l1 & (cluster - 1))
		return field_err(err, EINVAL, OFF_L1_OFFSET,
				 "L1 table offset 0x%llx is not aligned to the cluster size",
				 (unsigned long long)l1);
	if (l1 < header_bytes)
		return field_err(err, EINVAL, OFF_L1_OFFSET,
				 "L1 table offset 0x%llx lies inside the header (%llu bytes)",
				 (unsigned long long)l1,
				 (unsigned long long)header_bytes);
	if (l1 >= file_clusters ||
	    (table - 1) * cluster >= file_clusters - l1)
		return field_err(err, EINVAL, OFF_L1_OFFSET,
				 "header offset 0x%llx (L1 table, %llu clusters) lies beyond end of file (%llu bytes)",
				 (unsigned long long)l1,
				 (unsigned long long)table,
				 (unsigned long long)file_size);

	out->virtual_size = size;
	out->cluster_bits = (uint32_t)__builtin_ctzll(cluster);
	out->cluster_size = cluster;
	/*
	 * dirty-flag keeps qemu-img's meaning, and QEMU (7.2) reports a QED
	 * image with its need-check flag set as not dirty: so does vmseal.
	 */
	out->dirty = false;
	out->header_used = QED_HEADER_LEN;
	if (!(features & QED_F_BACKING_FILE))
		return 0;

	name_off = le32(buf + OFF_BACKING_OFFSET);
	name_len = le32(buf + OFF_BACKING_SIZE);
	if (name_len == 0)
		return field_err(err, EINVAL, OFF_BACKING_SIZE,
				 "backing file flag set, but the name is empty");
	if (name_len > VS_BACKING_NAME_MAX)
		return field_err(err, EINVAL, OFF_BACKING_SIZE,
				 "backing file name is %llu bytes long (at most %d)",
				 (unsigned long long)name_len,
				 VS_BACKING_NAME_MAX);
	if (name_off < QED_HEADER_LEN)
		return field_err(err, EINVAL, OFF_BACKING_OFFSET,
				 "backing file name offset 0x%llx lies inside the header fields (%d bytes)",
				 (unsigned long long)name_off, QED_HEADER_LEN);
	/*
	 * Inside the header is inside the file too: the L1 checks above put
	 * the header's end at or before the L1 table, which lies in the file.
	 */
	if (name_off + name_len > header_bytes)
		return field_err(err, EINVAL, OFF_BACKING_OFFSET,
				 "backing file name at 0x%llx (%llu bytes) runs past the header (%llu bytes)",
				 (unsigned long long)name_off,
				 (unsigned long long)name_len,
				 (unsigned long long)header_bytes);
	if (name_off + name_len > len) {
		if (name_off + name_len > VS_HEADER_MAX)
			return field_err(err, EINVAL, OFF_BACKING_OFFSET,
					 "backing file name at 0x%llx lies past the %d bytes vmseal reads",
					 (unsigned long long)name_off,
					 VS_HEADER_MAX);
		return need_more(err, need, (size_t)(name_off + name_len));
	}
	if (memchr(buf + name_off, '\0', name_len))
		return field_err(err, EINVAL, name_off,
				 "backing file name contains a NUL byte");
	memcpy(out->backing_name, buf + name_off, name_len);
	out->backing_name[name_len] = '\0';
	out->backing_name_offset = name_off;
	out->has_backing = true;
	out->header_used = (size_t)(name_off + name_len);
	if (features & QED_F_BACKING_FORMAT_NO_PROBE) {
		out->backing_format = VS_FMT_RAW;
		strcpy(out->backing_format_name, "raw");
	}
	return 0;
}
