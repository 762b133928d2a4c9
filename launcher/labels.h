/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_LABELS_H
#define VS_LAUNCHER_LABELS_H

#include <stdbool.h>
#include <stdio.h>

#include "conf/config.h"
#include "launcher/cli.h"
#include "launcher/plan.h"
#include "sandbox/label.h"

/*
 * [selinux] in a launch: which label each chain member gets and the
 * emulator's exec context, applied before the fork and restored when the
 * run ends, whichever way it ends.
 *
 *   off                nothing, explicit labels neither
 *   auto, enabled      derived labels (sVirt's), explicit ones override;
 *                      exec transition; access checked before exec
 *   auto, disabled     a note; explicit image-label and backing-label
 *                      still applied (shared storage), label not
 *   required           auto, or refuse to start without SELinux (71)
 */
struct labels {
	struct label_session s;
	bool active;		/* a session holds labels to restore */
	char *exec;		/* the emulator's exec context, or NULL */
	/* What writable and read-only files get; NULL: left as they are. */
	char *image, *backing;
};

#define LABELS_INIT { .s = LABEL_SESSION_INIT }

/*
 * In prepare(), with the chains open and the run lock held: labels every
 * member through its descriptor.  0, or the exit code (71) after logging
 * why; l must be released either way.  run_dir: the runtime base (NULL:
 * rundir_base()).
 */
int labels_prepare(struct labels *l, const struct guest_config *cfg,
		   const struct plan *p, const char *run_dir);

/*
 * The monitor gate's gate_hooks.label_use and label_drop (arg: the
 * struct labels): a file QEMU takes up while it runs gets the label a
 * member with the same access got at launch; one it let go of gets its
 * previous label back.  Nothing while no session is active.
 */
int labels_gate_use(void *arg, int fd, const char *path, bool writable,
		    char *why, size_t n);
void labels_gate_drop(void *arg, int fd, const char *path);

/* Restores what labels_prepare() applied; logs what it could not. */
void labels_release(struct labels *l);

/* `vmseal check`: the SELinux line, and each member's label. */
void labels_report(FILE *f, const struct guest_config *cfg);
const char *labels_describe(const struct guest_config *cfg, bool writable,
			    char *buf, size_t len);

/* `vmseal restore-labels NAME`: 0, 69 nothing recorded or running, 71. */
int cmd_restore_labels(const struct cli *cli);

#endif
