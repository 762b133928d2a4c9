/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * libFuzzer target: the guest config parser (our line reader in front of
 * inih, every key handler, the cross-key checks).  A refusal must say
 * where and why; an accepted config must hold what validation promises.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct guest_config *cfg = NULL;
	struct vs_err err = { 0 };
	char *copy = malloc(size ? size : 1);
	int r;

	memcpy(copy, data, size);
	r = config_parse("fuzz.ini", copy, size, &cfg, &err);
	if (r == 0) {
		if (!cfg || !cfg->binary || !cfg->args || !cfg->name)
			__builtin_trap();
		for (size_t i = 0; i < cfg->n_disks; i++)
			if (!cfg->disks[i].image ||
			    cfg->disks[i].image[0] != '/' ||
			    cfg->disks[i].format == VS_FMT_NONE)
				__builtin_trap();
	} else if (cfg || !err.msg[0] || !err.context[0]) {
		__builtin_trap();
	}
	config_free(cfg);
	free(copy);
	return 0;
}
