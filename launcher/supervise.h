/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_SUPERVISE_H
#define VS_LAUNCHER_SUPERVISE_H

#include <signal.h>
#include <stdbool.h>
#include <sys/types.h>

#include "sandbox/broker.h"

/*
 * The signals the supervisor takes through a signalfd: those it forwards
 * to the emulator (SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGWINCH), SIGCHLD,
 * and those it drops (SIGUSR1, SIGUSR2, SIGALRM, SIGPIPE).
 */
void supervise_sigset(sigset_t *set);

struct supervisor {
	pid_t pid;		/* the emulator */
	/*
	 * The emulator is our parent (vmseal wrap, launch_in_place()): its
	 * exit is seen by the death signal, its status is its caller's.
	 */
	bool emu_is_parent;
	struct broker *broker;	/* NULL for the deny and kill policies */
	const char *policy;
	int sigfd;		/* signalfd for supervise_sigset() */
	int control_fd;		/* listening control socket, or -1 */
	unsigned lock_after;	/* seconds until the broker locks; 0: never */
	bool verbose;
	/*
	 * A daemon: SIGHUP reopens the log instead of reaching the
	 * emulator, whose stdout and stderr arrive on output_fd (-1: none)
	 * to be logged line by line.
	 */
	bool daemon;
	int output_fd;
	/*
	 * The guest is ready when this unix socket (its QMP monitor)
	 * answers, or at once when NULL; then on_ready(arg) runs, once.
	 */
	const char *ready_socket;
	void (*on_ready)(void *arg);
	void *ready_arg;
	/* The monitor gate (gate.h), or NULL; ready once QEMU greets it. */
	struct gate *gate;
};

/*
 * Serves the broker and the control socket, forwards signals, locks the
 * broker after lock_after seconds, and returns once the emulator has
 * exited: its exit status, or 128 + the signal that killed it.
 */
int supervise(struct supervisor *s);

/*
 * One line explaining a broker event, or "" when it is not worth saying
 * (served, without verbose).
 */
const char *supervise_explain(const struct broker_event *ev, bool verbose,
			      char *buf, size_t len);

/*
 * The unix socket path of the first "-qmp unix:PATH,server=on,..." in
 * argv (a socket the emulator listens on), or NULL.
 */
char *supervise_qmp_path(char *const *argv);

#endif
