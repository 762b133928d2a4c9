/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A raw image has no header, so there is nothing to decode: the guest owns
 * every byte, including any that look like another format's header
 * (CVE-2008-2004).  The buffer is deliberately never looked at.
 */
#include <string.h>

#include "chain/image.h"

int raw_decode(const uint8_t *buf, size_t len, uint64_t file_size,
	       struct image_info *out, size_t *need, struct vs_err *err)
{
	image_info_clear(out);
	out->format = VS_FMT_RAW;
	out->virtual_size = file_size;
	return 0;
}
