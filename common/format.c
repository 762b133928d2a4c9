/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <string.h>

#include "common/cleanup.h"
#include "common/format.h"

static const char *const names[] = {
	[VS_FMT_NONE] = "none",
	[VS_FMT_RAW] = "raw",
	[VS_FMT_QCOW2] = "qcow2",
	[VS_FMT_QED] = "qed",
	[VS_FMT_VMDK] = "vmdk",
};

const char *vs_format_name(enum vs_format f)
{
	if ((unsigned)f < ARRAY_SIZE(names) && names[f])
		return names[f];
	return "?";
}

int vs_format_from_name(const char *name, enum vs_format *out)
{
	for (unsigned i = VS_FMT_NONE + 1; i < ARRAY_SIZE(names); i++) {
		if (names[i] && strcmp(name, names[i]) == 0) {
			*out = (enum vs_format)i;
			return 0;
		}
	}
	return -EINVAL;
}
