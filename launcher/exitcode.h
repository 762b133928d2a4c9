/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_EXITCODE_H
#define VS_LAUNCHER_EXITCODE_H

/* vmseal's exit codes (sysexits.h where one fits); see README and vmseal(1). */
enum {
	EXIT_USAGE = 64,	/* bad command line */
	EXIT_CONFIG = 65,	/* the guest config is invalid */
	EXIT_IMAGE = 66,	/* an image or its chain is refused */
	EXIT_UNAVAILABLE = 69,	/* the guest is not running / already running */
	EXIT_SANDBOX = 71,	/* a sandbox setup step failed */
	EXIT_NOEXEC = 126,	/* the emulator cannot be executed */
};

#endif
