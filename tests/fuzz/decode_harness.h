/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_TESTS_FUZZ_DECODE_HARNESS_H
#define VS_TESTS_FUZZ_DECODE_HARNESS_H

/*
 * Drives a decoder the way chain/walk.c does, on fuzzer bytes.  The input
 * is the file's first bytes followed by 3 bytes (little-endian) saying by
 * how much the file is longer than that, so the fuzzer also explores
 * fields that point past the end of the file.  Every promise a decoder
 * makes is checked with __builtin_trap(): a -EAGAIN asks for more than it
 * has, within the file and VS_HEADER_MAX, only once; a decoded name is
 * NUL-terminated within its cap.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "chain/image.h"

typedef int (*decode_fn)(const uint8_t *buf, size_t len, uint64_t file_size,
			 struct image_info *out, size_t *need,
			 struct vs_err *err);

static void check_info(const struct image_info *i)
{
	if (memchr(i->backing_name, '\0', sizeof(i->backing_name)) == NULL ||
	    memchr(i->data_file_name, '\0', sizeof(i->data_file_name)) == NULL ||
	    memchr(i->backing_format_name, '\0',
		   sizeof(i->backing_format_name)) == NULL)
		__builtin_trap();
	if (i->has_backing && !i->backing_name[0])
		__builtin_trap();
	if (i->n_extents && !i->extents)
		__builtin_trap();
	for (size_t k = 0; k < i->n_extents; k++)
		if (!memchr(i->extents[k].name, '\0',
			    sizeof(i->extents[k].name)) || !i->extents[k].name[0])
			__builtin_trap();
}

/* The file's first n bytes: the input, then zeros as a sparse file reads. */
static uint8_t *file_head(const uint8_t *data, size_t len, size_t n)
{
	uint8_t *b = calloc(1, n ? n : 1);

	memcpy(b, data, len < n ? len : n);
	return b;
}

static int run_decoder(decode_fn fn, const uint8_t *data, size_t size)
{
	struct image_info info;
	struct vs_err err = { 0 };
	uint64_t file_size;
	size_t len, got, need = 0;
	uint8_t *buf;
	int r;

	if (size < 3)
		return 0;
	len = size - 3;
	file_size = (uint64_t)len + (data[len] | data[len + 1] << 8 |
				     (uint64_t)data[len + 2] << 16);
	/* As the walker reads: min(file, VS_HEADER_READ) first, exactly that big. */
	got = file_size < VS_HEADER_READ ? (size_t)file_size : VS_HEADER_READ;
	buf = file_head(data, len, got);
	r = fn(buf, got, file_size, &info, &need, &err);
	free(buf);
	if (r == -EAGAIN) {
		if (need <= got || need > VS_HEADER_MAX || need > file_size)
			__builtin_trap();
		buf = file_head(data, len, need);
		r = fn(buf, need, file_size, &info, &need, &err);
		free(buf);
		if (r == -EAGAIN)
			__builtin_trap();
	}
	if (r == 0) {
		check_info(&info);
		image_info_free(&info);
	} else if (!err.msg[0]) {
		__builtin_trap(); /* every refusal says why */
	}
	return 0;
}

#endif
