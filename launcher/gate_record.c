/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The chain record follows the monitor gate: when a snapshot, a finished
 * block job or a pivot moves a disk's active layer or changes its chain,
 * the new chain (resolved from the active layer under the disk's rules,
 * headers hashed) is pinned in the record, with the config's image kept
 * as the disk's "image".  The next `run` or `check` of the same config
 * starts from that active layer (plan.c, plan_start_layer()).
 *
 * A disk hot-plugged while the guest runs, and the medium in a removable
 * device, join the record as "live" entries (resolved under the roots the
 * gate opened them beneath) and leave it on detach or eject.  The next
 * `run` rewrites the record from the config, so they never outlive the
 * run that attached them by more than its stop.
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

/* A live disk's chain: under the gate's own rules for what it opens. */
static int resolve_live(const struct guest_config *cfg, const char *active,
			enum vs_format fmt, struct chain *c, struct vs_err *err)
{
	struct chain_opts opts = {
		.max_depth = cfg->max_depth ? cfg->max_depth :
					      VS_MAX_DEPTH_DEFAULT,
		.backing_format = VS_FMT_NONE,
		.hash_headers = true,
	};
	char **roots;
	size_t n;
	int rc;

	roots = plan_guest_roots(cfg, &n);
	opts.roots = roots;
	opts.n_roots = n;
	for (size_t k = 0; k < cfg->n_disks; k++)
		opts.allow_blockdev |= cfg->disks[k].allow_blockdev;
	rc = chain_resolve(active, fmt, &opts, c, err);
	strv_free_array(roots);
	return rc;
}

static void drop(const struct guest_config *cfg, const char *name,
		 const char *what)
{
	struct vs_err err = { 0 };
	char buf[2200];

	if (record_drop_disk(cfg->record, cfg->name, name, &err) < 0)
		vlog(LOG_WARNING, "%s %s: %s", what, name,
		     vs_err_str(&err, buf, sizeof(buf)));
	else
		vlog(LOG_NOTICE, "%s %s: left the chain record", what, name);
}

void gate_record_pin(void *arg, const struct gate_change *ch)
{
	const struct guest_config *cfg = arg;
	const struct disk_config *dc = NULL;
	const char *what = ch->medium ? "medium of" : "disk";
	struct vs_err err = { 0 };
	enum vs_format fmt;
	struct chain c;
	char **roots, buf[2200];
	size_t n_roots;
	int rc;

	for (size_t k = 0; k < cfg->n_disks; k++)
		if (!strcmp(cfg->disks[k].name, ch->disk))
			dc = &cfg->disks[k];
	if (!cfg->record)
		return;
	if (dc && ch->medium) {
		/* Its entry is the config disk's, which must not move. */
		vlog(LOG_WARNING, "device %s has a config disk's name: the chain "
				  "record does not follow its medium",
		     ch->disk);
		return;
	}
	if (!ch->active) {
		if (dc)
			vlog(LOG_NOTICE, "disk %s left the guest; the chain record "
					 "keeps it, as the config names it",
			     ch->disk);
		else
			drop(cfg, ch->disk, what);
		return;
	}
	if (vs_format_from_name(ch->format, &fmt) < 0 || fmt == VS_FMT_NONE) {
		vlog(LOG_WARNING, "%s %s: the chain record keeps its old chain: "
				  "the active layer's format %s is not vmseal's",
		     what, ch->disk, ch->format);
		return;
	}
	if (dc) {
		struct chain_opts opts;

		roots = plan_disk_roots(cfg, dc, &n_roots);
		opts = plan_chain_opts(cfg, dc, false, roots, n_roots);
		opts.hash_headers = true;
		rc = chain_resolve(ch->active, fmt, &opts, &c, &err);
		strv_free_array(roots);
	} else {
		rc = resolve_live(cfg, ch->active, fmt, &c, &err);
	}
	if (rc < 0) {
		vlog(LOG_WARNING, "%s %s: the chain record keeps its old chain: %s",
		     what, ch->disk, vs_err_str(&err, buf, sizeof(buf)));
		return;
	}
	if (record_pin_disk(cfg->record, cfg->name,
			    &(struct record_disk){
				    ch->disk, dc ? dc->image : NULL,
				    dc ? vs_format_name(dc->format) : NULL, &c,
				    dc ? NULL : ch->medium ? "medium" : "hot-plug" },
			    &err) < 0)
		vlog(LOG_WARNING, "%s %s: %s", what, ch->disk,
		     vs_err_str(&err, buf, sizeof(buf)));
	else
		vlog(LOG_NOTICE, "%s %s: chain record follows the live change: "
				 "active layer %s, %zu member%s",
		     what, ch->disk, c.m[0].path, c.n, c.n == 1 ? "" : "s");
	chain_free(&c);
}
