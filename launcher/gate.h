/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_GATE_H
#define VS_LAUNCHER_GATE_H

#include <poll.h>
#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"

/*
 * The monitor gate: vmseal owns the emulator's QMP monitor.  QEMU gets a
 * private channel (one end of a socketpair, -chardev socket,fd=N -mon
 * mode=control), kept connected for the whole run, and vmseal serves
 * QMP to its clients on RUN/NAME/monitor.sock, rewriting every command
 * that names a file so that QEMU receives a descriptor (gate_json.c).
 */

#define GATE_SOCKET "monitor.sock"
#define GATE_CHARDEV "vmseal-gate"
/* Most clients at once; one more is answered and closed. */
#define GATE_CLIENTS_MAX 8
/* The pollfds gate_pollfds() may fill. */
#define GATE_POLLFDS (GATE_CLIENTS_MAX + 2)

struct gate;
struct plan;

/* What changed, for whoever keeps the chain record. */
struct gate_change {
	/* a config disk, a hot-plugged disk, or a removable device's id */
	const char *disk;
	const char *active;	/* its active layer's real path; NULL: gone */
	const char *format;	/* the active layer's block driver */
	bool medium;		/* disk is a removable device: its medium */
};
struct guest_config;

/* What the gate tells its owner; gate_setup's are the gate's for its life. */
struct gate_hooks {
	/*
	 * Called after a snapshot, a finished job, a hot-plug or detach
	 * with each disk's active layer, and after a media change with the
	 * device's medium: the chain record.
	 */
	void (*changed)(void *arg, const struct gate_change *c);
	void *changed_arg;
	/*
	 * SELinux labels (run mode): label_use() before QEMU gets a file the
	 * gate opened (writable: QEMU may write it), 0 or -errno with why
	 * (the command is then refused); label_drop() once QEMU let go of
	 * it (the last node on it deleted).  NULL: nothing is labelled.
	 */
	int (*label_use)(void *arg, int fd, const char *path, bool writable,
			 char *why, size_t n);
	void (*label_drop)(void *arg, int fd, const char *path);
	void *label_arg;
};

struct gate_setup {
	const struct guest_config *cfg;
	const struct plan *plan;
	const char *name;
	int run_dir_fd;		/* RUN/NAME, O_DIRECTORY */
	const char *run_dir;	/* its path */
	gid_t group;		/* [monitor] group: socket mode 0660; or -1 */
	int qemu_fd;		/* the number QEMU's end gets */
	const char *run_base;	/* RUN; NULL: rundir_base() */
	/* RUN/.chains/NAME (record_use.c), where new writable images go */
	int live_fd;
	struct gate_hooks hooks;
	/*
	 * Wrap mode (vmseal wrap under libvirt): the caller's listening
	 * socket (its monitor) instead of RUN/NAME/monitor.sock, files opened
	 * with the caller's own rights (no roots: the names come from the
	 * caller, not from QEMU), and the emulator's argv, whose -blockdev
	 * nodes the gate learns.  listen_fd -1: run mode.
	 */
	int listen_fd;
	char *const *argv;
};

/*
 * Before the fork: the socketpair and the listening socket.  *peer is
 * QEMU's end (close-on-exec; the launch places it at setup->qemu_fd).
 */
int gate_open(const struct gate_setup *setup, struct gate **out, int *peer,
	      struct vs_err *err);

/* The emulator's arguments that connect its monitor to the gate. */
void gate_argv(const struct gate *g, char ***argv);

/* Whether QEMU answered the gate: its monitor is up, every device made. */
bool gate_ready(const struct gate *g);

/* The supervisor's hooks: fill up to GATE_POLLFDS, then handle them. */
size_t gate_pollfds(struct gate *g, struct pollfd *p);
void gate_handle(struct gate *g, const struct pollfd *p, size_t n);

void gate_close(struct gate *g);

/*
 * gate_hooks.changed for `run`: pins the disk's new chain in the config's
 * chain record (arg: the guest_config), so the next start begins at the
 * active layer; a hot-plugged disk or a medium joins the record while it
 * is there (gate_record.c).
 */
void gate_record_pin(void *arg, const struct gate_change *c);

#endif
