/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The chain record follows the monitor gate: when a snapshot, a finished
 * block job or a pivot moves a disk's active layer or changes its chain,
 * the new chain (resolved from the active layer under the disk's rules,
 * headers hashed) is pinned in the record, with the config's image kept
 * as the disk's "image".  The next `run` or `check` of the same config
 * starts from that active layer (plan.c, plan_start_layer()).
 */
#include <errno.h>
#include <string.h>

#include "chain/chain.h"
#include "chain/record.h"
#include "common/format.h"
#include "common/strv.h"
#include "conf/config.h"
#include "launcher/gate.h"
#include "launcher/log.h"
#include "launcher/plan.h"

void gate_record_pin(void *arg, const char *disk, const char *active,
		     const char *format)
{
	const struct guest_config *cfg = arg;
	const struct disk_config *dc = NULL;
	struct vs_err err = { 0 };
	enum vs_format fmt;
	struct chain_opts opts;
	struct chain c;
	char **roots, buf[2200];
	size_t n_roots;

	for (size_t k = 0; k < cfg->n_disks; k++)
		if (!strcmp(cfg->disks[k].name, disk))
			dc = &cfg->disks[k];
	/* Hot-plugged disks are not the config's: nothing to keep. */
	if (!dc || !cfg->record)
		return;
	if (vs_format_from_name(format, &fmt) < 0 || fmt == VS_FMT_NONE) {
		vlog(LOG_WARNING, "disk %s: the chain record keeps its old chain: "
				  "the active layer's format %s is not vmseal's",
		     disk, format);
		return;
	}
	roots = plan_disk_roots(cfg, dc, &n_roots);
	opts = plan_chain_opts(cfg, dc, false, roots, n_roots);
	opts.hash_headers = true;
	if (chain_resolve(active, fmt, &opts, &c, &err) < 0) {
		vlog(LOG_WARNING, "disk %s: the chain record keeps its old chain: %s",
		     disk, vs_err_str(&err, buf, sizeof(buf)));
		strv_free_array(roots);
		return;
	}
	strv_free_array(roots);
	if (record_pin_disk(cfg->record, cfg->name,
			    &(struct record_disk){ dc->name, dc->image,
						   vs_format_name(dc->format), &c },
			    &err) < 0)
		vlog(LOG_WARNING, "disk %s: %s", disk,
		     vs_err_str(&err, buf, sizeof(buf)));
	else
		vlog(LOG_NOTICE, "disk %s: chain record follows the live change: "
				 "active layer %s, %zu member%s",
		     disk, c.m[0].path, c.n, c.n == 1 ? "" : "s");
	chain_free(&c);
}
