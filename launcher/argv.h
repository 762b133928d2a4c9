/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_ARGV_H
#define VS_LAUNCHER_ARGV_H

#include <stddef.h>

#include "launcher/plan.h"

/*
 * The emulator's argv for a plan, in the plan's dialect: a pure function
 * of the plan (no file, no fd is touched).  NULL-terminated; free with
 * strv_free_array().
 */
char **argv_build(const struct plan *p);

/*
 * io_uring is refused by the filter, so a -drive or -blockdev that asks
 * for aio=io_uring (keyval, nested keys such as file.aio, or JSON) is
 * rewritten in place to aio=threads rather than left to fail at run time.
 * Returns how many were rewritten, for the caller's notice.
 */
size_t argv_rewrite_io_uring(char **argv);

/*
 * The fdset dialect's parts, for a wrapper that rewrites someone else's
 * top nodes: every member's -add-fd, and the -blockdev file and format
 * nodes of the members from depth `from` down, bottom-up.
 */
struct strv;
void argv_add_disk_fds(struct strv *a, const struct plan_disk *d);
void argv_add_disk_nodes(struct strv *a, const struct plan_disk *d,
			 size_t from);

#endif
