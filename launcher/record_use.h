/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_RECORD_USE_H
#define VS_LAUNCHER_RECORD_USE_H

#include <stdbool.h>

#include "launcher/plan.h"

/*
 * The chain record in `check` and `run` (cfg->record; no pins when it is
 * NULL), and the live view of running guests' writable images.
 *
 * Pins: a member whose backing (or data file) reference differs from the
 * record is refused (66) with the member, the old and the new reference
 * and how to approve it (`vmseal chain --accept FILE`).  A guest with no
 * record yet is recorded at its first `run`.
 *
 * Running guests: while a guest runs, RUN/.chains/NAME (root's, beneath
 * RUN/.chains, flock'ed by its supervisor for the run) lists the device
 * and inode of every file it may write ("dev ino path" lines).  No chain
 * member of another launch may be one of them (66, naming the guest).
 */
struct record_live {
	int fd;		/* RUN/.chains/NAME, flock'ed LOCK_EX; -1 */
	char *path;
	const char *base;	/* RUN for this run; NULL: rundir_base() */
};
#define RECORD_LIVE_INIT { .fd = -1, .path = NULL, .base = NULL }

/*
 * `check`: compares every disk with the record and refuses moved
 * references and other running guests' writable images; warns about raw
 * disks that begin like another format.  0, or the exit code (66) after
 * logging why.
 */
int record_check(const struct plan *p);

/*
 * `run`, under the run lock: record_check(), then rewrites the record
 * and registers the guest's writable images in live (held until
 * record_live_release()).  0 or the exit code; a record that cannot be
 * written is reported and the launch goes on.
 */
int record_use(const struct plan *p, struct record_live *live);

void record_live_release(struct record_live *live);

#endif
