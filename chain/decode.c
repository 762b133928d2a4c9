/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one place that maps a recorded format to its decoder.  The format
 * always comes from the config or from the image that names this one,
 * never from the bytes: there is no probing path to take by mistake.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <stdarg.h>
#include <stdio.h>

#include "chain/bytes.h"
#include "chain/image.h"

int image_decode(enum vs_format fmt, const uint8_t *buf, size_t len,
		 uint64_t file_size, struct image_info *out, size_t *need,
		 struct vs_err *err)
{
	/* Each decoder clears out itself first. */
	switch (fmt) {
	case VS_FMT_RAW:
		return raw_decode(buf, len, file_size, out, need, err);
	case VS_FMT_QCOW2:
		return qcow2_decode(buf, len, file_size, out, need, err);
	case VS_FMT_QED:
		return qed_decode(buf, len, file_size, out, need, err);
	case VS_FMT_VMDK:
		return vmdk_decode(buf, len, file_size, out, need, err);
	case VS_FMT_NONE:
		image_info_clear(out);
		return vs_errf(err, EINVAL,
			       "no format recorded; vmseal never probes formats");
	}
	image_info_clear(out);
	return vs_errf(err, ENOTSUP, "no decoder for format %d", (int)fmt);
}

void image_info_free(struct image_info *info)
{
	free(info->extents);
	info->extents = NULL;
	info->n_extents = 0;
}

int field_err(struct vs_err *err, int errnum, uint64_t off, const char *fmt,
	      ...)
{
	char msg[sizeof(err->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	vs_err_ctx(err, "offset 0x%llx", (unsigned long long)off);
	return vs_errf(err, errnum, "%s", msg);
}

int need_more(struct vs_err *err, size_t *need, size_t want)
{
	*need = want;
	vs_err_ctx(err, "%s", "");
	return vs_errf(err, EAGAIN, "need %zu bytes of header", want);
}
