/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_REPORT_H
#define VS_LAUNCHER_REPORT_H

#include <stdio.h>

#include "launcher/plan.h"
#include "sandbox/allowlist.h"

/* What `vmseal check` prints: the guest, every chain, the allowlist. */
void report_plan(FILE *f, const struct plan *p, const struct allowlist *al);

/* Who the emulator will run as (user, groups, capabilities). */
struct privs;
void report_privs(FILE *f, const struct privs *p);

#endif
