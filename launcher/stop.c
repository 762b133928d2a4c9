/* SPDX-License-Identifier: GPL-2.0-or-later */
/* `vmseal stop NAME`: SIGTERM to the supervisor, and wait for it. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "launcher/commands.h"
#include "launcher/exitcode.h"
#include "launcher/rundir.h"

#define STOP_TIMEOUT_DEFAULT 60

/* Waits up to seconds for the guest's supervisor to let go; true if it did. */
static bool wait_stopped(const char *name, unsigned seconds)
{
	struct timespec pause = { 0, 100 * 1000 * 1000 };

	for (unsigned i = 0; i < seconds * 10; i++) {
		if (rundir_running(name) == 0)
			return true;
		nanosleep(&pause, NULL);
	}
	return rundir_running(name) == 0;
}

int cmd_stop(const struct cli *cli)
{
	unsigned timeout = STOP_TIMEOUT_DEFAULT;
	pid_t sup, emu;
	char *end;

	if (cli->timeout) {
		unsigned long t = strtoul(cli->timeout, &end, 10);

		if (*end || !*cli->timeout || t > 86400) {
			fprintf(stderr, "vmseal: --timeout takes seconds, 0 to 86400\n");
			return EXIT_USAGE;
		}
		timeout = (unsigned)t;
	}
	if (rundir_running(cli->arg) <= 0 ||
	    rundir_read_pid(cli->arg, RUNDIR_PID, &sup) < 0) {
		fprintf(stderr, "vmseal: guest %s is not running\n", cli->arg);
		return EXIT_UNAVAILABLE;
	}
	/* The supervisor passes it on and cleans up after the emulator. */
	if (kill(sup, SIGTERM) < 0 && errno != ESRCH) {
		fprintf(stderr, "vmseal: %s: cannot signal pid %d: %m\n", cli->arg,
			(int)sup);
		return 1;
	}
	if (wait_stopped(cli->arg, timeout)) {
		printf("%s: stopped\n", cli->arg);
		return 0;
	}
	if (rundir_read_pid(cli->arg, RUNDIR_EMU_PID, &emu) == 0) {
		fprintf(stderr, "vmseal: %s: still running after %u s: killing "
				"the emulator (pid %d)\n",
			cli->arg, timeout, (int)emu);
		kill(emu, SIGKILL);
	}
	if (wait_stopped(cli->arg, 10)) {
		printf("%s: stopped (emulator killed)\n", cli->arg);
		return 0;
	}
	fprintf(stderr, "vmseal: %s: would not stop\n", cli->arg);
	return 1;
}
