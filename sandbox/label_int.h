/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_SANDBOX_LABEL_INT_H
#define VS_SANDBOX_LABEL_INT_H

/* Private to label.c and mcs.c. */

#include <stdbool.h>

#include "common/err.h"

/*
 * A directory of vmseal's state at name under at (created 0755 when
 * create): really a directory, owned by our euid, writable by nobody
 * else.  The descriptor, or -errno with err.
 */
int label_open_dir(int at, const char *name, bool create, struct vs_err *err);

/*
 * Removes the pairs in the registry dir that name guest and that no
 * running vmseal holds (a crash's leftovers).  Under the global lock.
 */
void label_mcs_drop_stale(int mcs_dir, const char *guest);

#endif
