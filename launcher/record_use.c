/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>

#include <json-c/json.h>

#include "chain/record.h"
#include "common/xalloc.h"
#include "launcher/log.h"
#include "launcher/record_use.h"

void record_use(const struct plan *p)
{
	const struct guest_config *cfg = p->cfg;
	struct json_object *old = NULL, *rec;
	struct record_disk *d;
	struct vs_err err = { 0 };
	char buf[2200];
	int r;

	if (!cfg->record)
		return;
	r = record_load(cfg->record, &old, &err);
	if (r < 0 && r != -ENOENT)
		vlog(LOG_NOTICE, "%s (ignored: the chain is resolved anew)",
			vs_err_str(&err, buf, sizeof(buf)));
	d = xcalloc(p->n_disks + 1, sizeof(*d));
	for (size_t k = 0; k < p->n_disks; k++) {
		const struct plan_disk *pd = &p->disks[k];
		char why[1024];

		d[k] = (struct record_disk){ pd->cfg->name, pd->cfg->image,
					     vs_format_name(pd->cfg->format),
					     &pd->chain };
		r = old ? record_compare(old, pd->cfg->name, &pd->chain, why,
					 sizeof(why)) :
			  -ENOENT;
		if (r == 0)
			vlog(LOG_NOTICE, "disk %s: chain record reused (unchanged)",
				pd->cfg->name);
		else if (r > 0)
			vlog(LOG_NOTICE, "disk %s: chain re-resolved: %s",
				pd->cfg->name, why);
		else
			vlog(LOG_NOTICE, "disk %s: chain resolved (no previous record)",
				pd->cfg->name);
	}
	rec = record_json(cfg->name, d, p->n_disks);
	if (record_write(cfg->record, rec, &err) < 0)
		vlog(LOG_NOTICE, "%s (the guest starts anyway)",
			vs_err_str(&err, buf, sizeof(buf)));
	json_object_put(rec);
	json_object_put(old);
	free(d);
}
