/* SPDX-License-Identifier: GPL-2.0-or-later */
/* SHA-256 against the FIPS 180-4 / NIST example vectors. */
#include <stdlib.h>
#include <string.h>

#include "common/sha256.h"
#include "tests/lib/tap.h"

static void vec(const char *what, const void *data, size_t len,
		const char *want)
{
	uint8_t d[SHA256_LEN];
	char hex[SHA256_HEX_LEN + 1];

	sha256(data, len, d);
	is_str(sha256_hex(d, hex), want, "%s", what);
}

int main(void)
{
	static const char two_block[] =
		"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
	static const char four_block[] =
		"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
		"hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
	char *million = malloc(1000000);
	uint8_t a[SHA256_LEN], b[SHA256_LEN];
	struct sha256 s;

	vec("empty string", "", 0,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	vec("\"abc\" (one block)", "abc", 3,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	vec("448-bit message (two blocks)", two_block, strlen(two_block),
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
	vec("896-bit message", four_block, strlen(four_block),
	    "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
	memset(million, 'a', 1000000);
	vec("one million 'a'", million, 1000000,
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");

	/* Fed in odd pieces, the digest is the same. */
	sha256_init(&s);
	for (size_t off = 0, step = 1; off < 1000000; off += step, step = step * 3 % 127 + 1)
		sha256_update(&s, million + off,
			      off + step > 1000000 ? 1000000 - off : step);
	sha256_final(&s, a);
	sha256(million, 1000000, b);
	ok(memcmp(a, b, SHA256_LEN) == 0, "incremental updates agree");
	/* Lengths around the padding boundary (55, 56, 63, 64 bytes). */
	vec("55 bytes", million, 55,
	    "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910f734318");
	vec("56 bytes", million, 56,
	    "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686ec6738a");
	vec("64 bytes", million, 64,
	    "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb");
	free(million);
	return tap_done();
}
