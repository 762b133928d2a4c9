/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_SANDBOX_BROKERTEST_H
#define VS_SANDBOX_BROKERTEST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "sandbox/allowlist.h"
#include "sandbox/broker.h"

/*
 * The broker's half of the hardening tests: scenarios a child under the
 * broker policy plays against a live broker, on a scratch directory with
 * an allowed file, a secret outside the allowlist, a fake image the
 * broker must refuse by identity (and that the child holds as a passed
 * descriptor), a FIFO, symlinks and a runtime directory with a socket.
 */
/* vmseal's own socket in the runtime directory: unlink never removes it. */
#define BT_KEEP "control.sock"

struct bt_fixture {
	char *dir;		/* the scratch directory */
	char *allowed;		/* dir/allowed: on the allowlist */
	char *data;		/* dir/allowed/data: "vmseal-allowed\n" */
	char *image;		/* dir/allowed/image.qcow2: refused by dev/ino */
	char *secret;		/* dir/secret: "vmseal-secret\n", not allowed */
	char *run;		/* dir/run: the runtime directory */
	int image_fd;		/* the image, as a passed descriptor */
	struct allowlist al;
	struct devino deny;
};

int bt_fixture_make(struct bt_fixture *f, struct vs_err *err);
void bt_fixture_remove(struct bt_fixture *f);

struct bt_scenario {
	const char *name;
	void (*child)(struct bt_fixture *f, int out);
	/* What the child must print ("EACCES", "ok vmseal-allowed"), or
	 * "killed" for death by SIGSYS. */
	const char *expect;
	void (*helper)(void *f, pid_t child, atomic_bool *stop);
	bool killable_broker;
	bool race;		/* long-running: skipped by --quick */
};

extern const struct bt_scenario bt_scenarios[];
extern const size_t bt_scenarios_count;

/*
 * Runs one scenario; got receives what happened (the child's line, or
 * "killed (SIGSYS)"), *pass whether it was expected.
 */
int bt_run(const struct bt_scenario *sc, struct bt_fixture *f, char *got,
	   size_t len, bool *pass, struct vs_err *err);

/*
 * Opens path through io_uring's IORING_OP_OPENAT, which seccomp never
 * sees: the fd, or -errno (-ENOSYS under vmseal's filter).  Unfiltered,
 * it shows the bypass the filter closes is real on this kernel.
 */
int bt_io_uring_openat(const char *path);

#endif
