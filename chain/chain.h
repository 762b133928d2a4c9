/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_CHAIN_CHAIN_H
#define VS_CHAIN_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "chain/image.h"
#include "common/err.h"
#include "common/sha256.h"

/*
 * A file a member names besides its backing file: a qcow2 external data
 * file or a VMDK extent.  Reached under the same rules as a member.
 */
struct chain_file {
	char *name;		/* as the header writes it */
	char *path;		/* path_combine() result, as QEMU names it */
	char *real_path;	/* normalised path that was opened */
	int fd;			/* O_CLOEXEC; -1 when not kept open */
	int open_flags;		/* O_RDONLY or O_RDWR */
	struct stat st;
	uint64_t size;		/* st_size, or a block device's size */
	bool blockdev;
	/* A VMDK sparse extent's grain size in bytes (0: not one). */
	uint64_t cluster_size;
};

/*
 * A member's decoded header: struct image_info with its two names
 * allocated to fit (one block; never NULL, "" when absent).  A deep
 * chain keeps thousands of members, and image_info's fixed 1 KiB name
 * buffers made each one 2.5 KiB of fresh pages to fault in.
 */
struct member_info {
	enum vs_format format;
	uint64_t virtual_size;
	uint32_t version;
	uint32_t cluster_bits;
	uint64_t incompatible_features;
	bool has_backing;
	char *backing_name;
	uint64_t backing_name_offset;
	enum vs_format backing_format;
	char backing_format_name[32];
	bool has_data_file;
	char *data_file_name;
	uint64_t data_file_name_offset;
	char create_type[32];
	struct image_extent *extents;
	size_t n_extents;
	bool needs_read_only;
	uint64_t cluster_size;
	bool dirty, lazy_refcounts, extended_l2, data_file_raw;
	uint32_t refcount_bits, compression_type;
	bool has_cid;
	uint32_t cid, parent_cid;
	bool compressed;
	size_t header_used;
};

/* One image of a backing chain, as vmseal opened and decoded it. */
struct chain_member {
	char *path;		/* as QEMU names it: path_combine() result */
	char *real_path;	/* normalised path that was opened */
	struct member_info info;	/* info.format is this member's format */
	int fd;			/* O_CLOEXEC; -1 when not kept open */
	int open_flags;		/* O_RDONLY or O_RDWR */
	struct stat st;
	unsigned depth;		/* 0 for the top image */
	uint64_t size;		/* st_size, or a block device's size */
	bool blockdev;		/* a block device (allowed by the disk) */
	/* The format came from the disk's backing-format, not a header. */
	bool format_from_config;
	/*
	 * How many header bytes the decoder's answer rests on, and their
	 * SHA-256 when the walk was asked to hash (header_hashed).
	 */
	size_t header_len;
	bool header_hashed;
	uint8_t header_sha256[SHA256_LEN];
	/*
	 * A raw member whose first bytes carry another format's magic
	 * ("qcow2", "QED", "VMDK"): it stays raw (never probed); the
	 * launcher warns.  NULL otherwise.
	 */
	const char *raw_magic;
	struct chain_file *data_file;	/* qcow2 data file, or NULL */
	struct chain_file *extents;	/* VMDK descriptor extents */
	size_t n_extents;
};

struct chain_strings;

struct chain {
	struct chain_member *m;	/* m[0] is the top, m[n-1] the base */
	size_t n;
	/*
	 * The blocks a walk carves its members' strings from (paths, header
	 * names), freed with the chain: one allocation per member and name
	 * was a tenth of a deep chain's walk.  NULL: every string is its own
	 * allocation (a chain put together by hand).
	 */
	struct chain_strings *strings;
};

struct chain_opts {
	/* Absolute directories every member must lie beneath. */
	char *const *roots;
	size_t n_roots;
	unsigned max_depth;	/* members below the top, at most */
	bool top_writable;	/* open the top O_RDWR, others O_RDONLY */
	bool keep_fds;		/* keep members open in chain_member.fd */
	/*
	 * Decode the top but follow no backing name: the caller names
	 * every backing member itself (a wrapped emulator's explicit graph).
	 */
	bool top_only;
	bool allow_data_file;	/* follow a qcow2 external data file */
	bool allow_blockdev;	/* a member may be a block device */
	/*
	 * Hash the header bytes each decision rests on (the chain record
	 * compares them); off, the walk does no hashing at all.
	 */
	bool hash_headers;
	/* Hints name `vmseal chain`'s options, not the config's keys. */
	bool cli;
	/*
	 * The user's statement of the format of a backing member whose
	 * naming image records none; VS_FMT_NONE: refuse such a member.
	 */
	enum vs_format backing_format;
};

/*
 * Opens image (absolute path) and every backing member it names, never
 * following a symlink and never leaving opts->roots, decodes each header
 * with the format recorded for it (the top's from fmt) and refuses
 * anything not recorded, loops, depth over max_depth and non-regular
 * files (block devices only when allowed).  Data files (when allowed) and
 * VMDK extents are opened under the same rules.  On failure returns -errno with err's context naming the image
 * (and offset) and nothing left open.
 */
int chain_resolve(const char *image, enum vs_format fmt,
		  const struct chain_opts *opts, struct chain *out,
		  struct vs_err *err);

/*
 * The same for a chain the caller hands over as open descriptors (vmseal
 * wrap's -drive file=fd:N,backing=fd:M): fds[0] the top, fds[i + 1] the
 * backing of fds[i].  Each is checked (open, not O_PATH, a regular file
 * or an allowed block device, read-write for a writable top, readable
 * otherwise) and duplicated, a backing member read-only; each header is
 * decoded with fmts[i], or when that is VS_FMT_NONE with the format its
 * overlay records (never probed).  A member whose header names a backing
 * file must be followed by one and the last must name none; data files
 * and extents are refused.  Member paths are "fd:N".
 */
int chain_from_fds(const int *fds, const enum vs_format *fmts, size_t n,
		   bool top_writable, bool allow_blockdev, struct chain *out,
		   struct vs_err *err);

void chain_free(struct chain *c);

/* Closes the fds a chain holds, keeping everything else. */
void chain_close_fds(struct chain *c);

#endif
