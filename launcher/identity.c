/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "launcher/identity.h"
#include "sandbox/uidpool.h"

const char *identity_state_dir(void)
{
	const char *env = getenv("VMSEAL_STATE_DIR");

	return env && env[0] == '/' ? env : UIDPOOL_STATE_DIR;
}

int identity_resolve(const struct guest_config *cfg, const char *name,
		     bool record, struct privs *p, struct identity *id,
		     bool *warn_root, struct vs_err *err)
{
	struct privs_want w = {
		.source = cfg->path,
		.user = cfg->user,
		.group = cfg->group,
		.groups = cfg->groups,
		.n_groups = cfg->n_groups,
		.keep_caps = cfg->keep_caps,
		.n_keep_caps = cfg->n_keep_caps,
		.allow_root = cfg->allow_root,
	};
	char uid_str[16], gid_str[16];
	uid_t uid;
	int rc;

	memset(id, 0, sizeof(*id));
	if (geteuid() != 0 || cfg->user)
		return privs_resolve(&w, geteuid(), p, warn_root, err);
	id->allocated = true;
	id->state_dir = identity_state_dir();
	id->first = cfg->uid_first ? cfg->uid_first : UIDPOOL_FIRST;
	id->last = cfg->uid_first ? cfg->uid_last : UIDPOOL_LAST;
	vs_err_ctx(err, "%s", cfg->path);
	rc = record ? uidpool_assign(id->state_dir, name, id->first, id->last,
				     &uid, err) :
		      uidpool_peek(id->state_dir, name, id->first, id->last, &uid,
				   &id->fresh, err);
	if (rc < 0) {
		id->pool_failed = true;
		return rc;
	}
	/*
	 * The same rules as for a numeric user without a passwd entry:
	 * its own gid unless group says otherwise, groups and keep-caps
	 * as configured.
	 */
	snprintf(uid_str, sizeof(uid_str), "%u", (unsigned)uid);
	snprintf(gid_str, sizeof(gid_str), "%u", (unsigned)uid);
	w.user = uid_str;
	/* The pool checked it has no passwd entry: no second lookup. */
	w.no_passwd = true;
	if (!w.group)
		w.group = gid_str;
	return privs_resolve(&w, geteuid(), p, warn_root, err);
}
