/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_IDENTITY_H
#define VS_LAUNCHER_IDENTITY_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"
#include "conf/config.h"
#include "sandbox/privs.h"

/*
 * Who a guest's emulator runs as.  As root with no [sandbox] user, a uid
 * (and gid) of its own from [sandbox] uid-range, recorded per guest name
 * in $VMSEAL_STATE_DIR/uids (default /var/lib/vmseal/uids, see uidpool.h);
 * otherwise what [sandbox] user, group and groups say.
 */
struct identity {
	bool allocated;		/* the uid is the guest's own */
	bool fresh;		/* not recorded yet (check only) */
	uid_t first, last;	/* the range it came from */
	const char *state_dir;
	bool pool_failed;	/* the error is the pool's (71), not the config's */
};

/* $VMSEAL_STATE_DIR (absolute) or /var/lib/vmseal. */
const char *identity_state_dir(void);

/*
 * Fills p for guest name; with record an allocated uid is recorded (run),
 * without nothing is written (check: the uid it would get).  0 or -errno.
 */
int identity_resolve(const struct guest_config *cfg, const char *name,
		     bool record, struct privs *p, struct identity *id,
		     bool *warn_root, struct vs_err *err);

#endif
