/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_RECORD_USE_H
#define VS_LAUNCHER_RECORD_USE_H

#include <stdio.h>

#include "launcher/plan.h"

/*
 * `vmseal run`'s use of the chain record (cfg->record; nothing when it is
 * NULL): compares each disk's freshly resolved chain with the record of
 * the last launch, logs whether it was "reused (unchanged)" or
 * "re-resolved: <member> changed (<what>)", and rewrites the record.  The
 * chains were resolved under the full rules either way: the record
 * decides nothing.  A record that cannot be written is reported and the
 * launch goes on (the record serves tools, not the sandbox).
 */
void record_use(const struct plan *p);

#endif
