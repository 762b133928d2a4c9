/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_READY_H
#define VS_LAUNCHER_READY_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/*
 * Whether a guest is really up: its QMP monitor answered a command (QEMU
 * dispatches commands from its main loop, which runs only once every
 * device and disk of the command line is set up) and the emulator was
 * still alive after the answer.  A socket that merely accepts a
 * connection proves nothing: QEMU listens before it opens its disks, and
 * a locked image then ends it.
 *
 * The supervisor drives it from its poll loop and never blocks on it:
 * ready_fd() is what to poll (the connection, or a retry timer) and
 * ready_step() advances on each wake-up.
 *
 * The monitor asked is today the first "-qmp unix:PATH" of the command
 * line (ready_begin()); a channel vmseal owns can take its place through
 * ready_begin_fd() without the supervisor changing.
 */
struct ready {
	char *path;		/* the socket to connect to, or NULL */
	int conn;		/* the connection, or -1 between tries */
	int timer;		/* retry timer while not connected */
	int state;
	char buf[4096];
	size_t len;
	char status[32];	/* query-status's answer, once up */
};

/* Asks the unix socket path (a QMP server). */
int ready_begin(struct ready *r, const char *path);
/* Asks an already connected QMP channel; it is taken (closed at the end). */
int ready_begin_fd(struct ready *r, int fd);
void ready_end(struct ready *r);

/* The descriptor to poll for POLLIN, or -1 when nothing is pending. */
int ready_fd(const struct ready *r);

enum ready_result { READY_WAIT, READY_UP };

/*
 * Advances after ready_fd() polled readable.  READY_UP once the monitor
 * answered and emulator (not reaped) is still alive; READY_WAIT
 * otherwise, also when the emulator went away (its exit ends the
 * supervision, so the start is reported as failed).
 */
enum ready_result ready_step(struct ready *r, pid_t emulator);

/* Whether pid, a child, is still running (not reaped, not waited for). */
bool child_alive(pid_t pid);

#endif
