/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_CHAIN_BYTES_H
#define VS_CHAIN_BYTES_H

/*
 * Shared by the decoders: fixed-endian loads (the caller has checked the
 * bounds) and the two ways a decoder answers besides success.
 */
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

static inline uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline uint64_t be64(const uint8_t *p)
{
	return (uint64_t)be32(p) << 32 | be32(p + 4);
}

static inline uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static inline uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

/* The field at offset off is to blame: context "offset 0x...". */
int field_err(struct vs_err *err, int errnum, uint64_t off, const char *fmt,
	      ...) __attribute__((format(printf, 4, 5)));

/* -EAGAIN asking the walker for the first need bytes (no context). */
int need_more(struct vs_err *err, size_t *need, size_t want);

#endif
