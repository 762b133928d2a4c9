/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_COMMON_SHA256_H
#define VS_COMMON_SHA256_H

#include <stddef.h>
#include <stdint.h>

/*
 * SHA-256 (FIPS 180-4), small and dependency-free: the chain record keeps
 * a digest of each member's header bytes to notice a header that changed
 * under the same (dev, ino, size, mtime).  Not used for anything secret.
 */
#define SHA256_LEN 32
#define SHA256_HEX_LEN (2 * SHA256_LEN)

struct sha256 {
	uint32_t h[8];
	uint64_t len;		/* bytes hashed so far */
	uint8_t block[64];
	size_t fill;		/* bytes waiting in block */
};

void sha256_init(struct sha256 *s);
void sha256_update(struct sha256 *s, const void *data, size_t len);
void sha256_final(struct sha256 *s, uint8_t out[SHA256_LEN]);

/* One call: digest of data. */
void sha256(const void *data, size_t len, uint8_t out[SHA256_LEN]);

/* Lower-case hex, NUL-terminated: buf holds SHA256_HEX_LEN + 1 bytes. */
char *sha256_hex(const uint8_t d[SHA256_LEN], char buf[SHA256_HEX_LEN + 1]);

#endif
