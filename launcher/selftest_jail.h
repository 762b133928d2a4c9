/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_SELFTEST_JAIL_H
#define VS_LAUNCHER_SELFTEST_JAIL_H

#include <stddef.h>

/*
 * `vmseal selftest` rows for the layers around the filter, each made for
 * real with vmseal's own code (sandbox/jail.c, sandbox/landlock.c, the
 * death signal as launcher/exec.c sets it):
 *   the jail's view   a child in a jail built like a guest's stats /run,
 *                     an image directory and another runtime directory
 *                     (ENOENT) and its own runtime directory (there)
 *   Landlock scoping  a child under the emulator's ruleset signals a
 *                     process outside and connects to an abstract socket
 *                     made outside (EPERM); the same without Landlock is
 *                     the control
 *   death             a supervisor SIGKILLed: its emulator dies, with the
 *                     death signal set after the uid change, and in a
 *                     jail even with the emulator's own signal cleared
 * A layer the host lacks is a SKIP with the reason.
 */
enum jail_verdict { JAIL_PASS, JAIL_FAIL, JAIL_SKIP };

struct jail_row {
	const char *group;
	char name[96];
	enum jail_verdict verdict;
	char got[128];
};

#define JAIL_ROWS_MAX 12

/* Fills rows; returns how many. */
size_t selftest_jail(struct jail_row rows[JAIL_ROWS_MAX]);

#endif
