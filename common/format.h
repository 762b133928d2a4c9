/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_COMMON_FORMAT_H
#define VS_COMMON_FORMAT_H

/*
 * Image formats vmseal can decode.  Shared by conf/ (a disk names its
 * format) and chain/ (decoders, backing formats from headers); the names
 * are QEMU's driver names.
 */
enum vs_format {
	VS_FMT_NONE = 0,	/* not recorded anywhere: never guessed */
	VS_FMT_RAW,
	VS_FMT_QCOW2,
	VS_FMT_QED,
	VS_FMT_VMDK,
};

const char *vs_format_name(enum vs_format f);
/* 0 and *out set, or -EINVAL for a name vmseal does not decode. */
int vs_format_from_name(const char *name, enum vs_format *out);

#endif
