/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_WRAP_H
#define VS_LAUNCHER_WRAP_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "common/strv.h"
#include "conf/config.h"
#include "launcher/plan.h"

/*
 * The drop-in wrapper: an emulator command line as a caller (an admin,
 * libvirt) wrote it, with every file-backed disk turned into descriptors.
 * -drive and -blockdev (key=value or JSON) naming a file get their file
 * opened by vmseal and replaced by /dev/fdset/N; a format node that does
 * not name its backing gets vmseal's backing nodes, as in the fdset
 * dialect.  Everything else passes byte for byte, and the descriptors the
 * caller passes (fd=N, -add-fd, -incoming fd:N, and with -incoming defer
 * an inherited stream: a read-only file, a pipe or a socket) stay open
 * with their numbers; every other inherited descriptor is closed.
 */

/* fd set ids of ours: far above the ones a caller (libvirt) counts up. */
#define WRAP_FIRST_SET 1000000

struct wrap {
	struct plan plan;	/* the disks found on the command line */
	struct disk_config *disks;	/* what plan.disks[].cfg point to */
	size_t n_disks;
	char **argv;		/* the emulator's new argv (binary first) */
	int *keep;		/* the caller's descriptors the emulator keeps */
	size_t n_keep;
	struct strv files;	/* files the emulator reads by path (-kernel...) */
	struct strv sockets;	/* unix sockets it creates (and may unlink) */
	char *pidfile;		/* -pidfile: vmseal writes it */
	bool daemonize;		/* -daemonize: vmseal detaches instead */
	bool incoming_defer;	/* -incoming defer: the stream comes later */
	char *name;		/* -name guest=NAME, or wrap-PID */
	/*
	 * The caller's QMP monitor handed over as a listening socket
	 * (libvirt: -chardev socket,id=charmonitor,fd=N,server=on with
	 * -mon chardev=charmonitor,mode=control): N, kept out of the
	 * emulator's descriptors for the monitor gate, which accepts on it;
	 * the -chardev now reads socket,id=ID,fd=N and N becomes QEMU's end
	 * of the gate's private channel.  -1 when there is none.
	 */
	int monitor_fd;
};

/*
 * Builds the wrapper's plan for binary and its arguments (args, NULL-
 * terminated, without the binary), opening every disk.  Returns 0, or the
 * exit code (64: the command line is refused, 66: an image) with err set.
 */
int wrap_build(const struct guest_config *cfg, const char *binary,
	       char *const *args, struct wrap *w, struct vs_err *err);

void wrap_free(struct wrap *w);

#endif
