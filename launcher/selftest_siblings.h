/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_SELFTEST_SIBLINGS_H
#define VS_LAUNCHER_SELFTEST_SIBLINGS_H

#include <stdbool.h>
#include <stddef.h>

#include "sandbox/sibling.h"

/*
 * `vmseal selftest` rows for two concurrent guests: two children under
 * the deny filter, each under a uid allocated from the default range (in a
 * scratch copy of the real record, so neither was given to a guest), one listening on a socket in its 0700
 * runtime directory, the other making every attack of sandbox/sibling.h
 * on it.  The control makes the same attacks under the target's own uid:
 * an attack that fails there too proves nothing (skip).
 */
enum sibling_verdict { SIBLING_PASS, SIBLING_FAIL, SIBLING_SKIP };

struct sibling_row {
	char name[96];
	enum sibling_verdict verdict;
	char got[96];
	char note[160];
};

/*
 * Fills rows[SIB_COUNT]; -1 with why when the rows cannot run (not root,
 * a set-up step failed: *skip says whether that is a skip).
 */
int selftest_siblings(struct sibling_row rows[SIB_COUNT], bool *skip,
		      char *why, size_t len);

#endif
