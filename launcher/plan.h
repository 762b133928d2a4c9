/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_PLAN_H
#define VS_LAUNCHER_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "chain/chain.h"
#include "common/err.h"
#include "conf/config.h"
#include "launcher/outputs.h"

/*
 * A launch plan: the config, every disk's resolved chain, and for each
 * chain member the descriptor number it will have in the emulator, its
 * fd set and its block node names.  argv_build() turns it into the
 * emulator's arguments without touching anything else.
 */

#define PLAN_FIRST_FD 3
#define PLAN_FIRST_SET 1
#define NODE_NAME_MAX 32

struct plan_node {
	int fd;			/* number in the emulator */
	int set;		/* fd set id (fdset dialect) */
	bool readonly;
	char file_node[NODE_NAME_MAX];
	char fmt_node[NODE_NAME_MAX];
	/*
	 * A second descriptor in the top's set, read-only, for a node QEMU
	 * opens read-only and may reopen read-write (auto-read-only): 0
	 * for none.
	 */
	int ro_fd;
	/* The member's qcow2 data file, when it has one (data_fd > 0). */
	int data_fd;
	int data_set;
	char data_node[NODE_NAME_MAX];
};

/* One descriptor the emulator inherits. */
struct plan_fd {
	int src;		/* vmseal's descriptor (-1 when not kept open) */
	int dst;		/* its number in the emulator */
	const struct stat *st;	/* the file's identity */
};

struct plan_disk {
	const struct disk_config *cfg;
	struct chain chain;
	struct plan_node *nodes;	/* nodes[i] belongs to chain.m[i] */
	/* The top also passes ro_src, its read-only twin, as ro_fd. */
	bool dual;
	int ro_src;
	/*
	 * [disk] copy-on-read: QEMU's copy-on-read filter, named like the
	 * disk, sits on the top's format node (then named vsKt); "" if none.
	 */
	char cor_node[NODE_NAME_MAX];
};

struct plan {
	const struct guest_config *cfg;
	struct plan_disk *disks;
	size_t n_disks;
	int n_fds;		/* fds first_fd .. first_fd + n_fds - 1 */
	/* 0: PLAN_FIRST_FD and PLAN_FIRST_SET (a wrapper picks others). */
	int first_fd;
	int first_set;
	/* The files the emulator writes, passed after the disks' fds. */
	struct outputs out;
};

/*
 * plan_build()'s answer for an output file it refuses: a config error
 * (exit 65), where anything else is an image's (66).
 */
#define PLAN_EOUTPUT EBADR

/*
 * Resolves every disk's chain (for_run: top opened read-write unless the
 * disk is read-only, and every member kept open to be passed) and assigns
 * fds, sets and node names.  err's context names the image on failure.
 */
int plan_build(const struct guest_config *cfg, bool for_run, struct plan *out,
	       struct vs_err *err);

/* Assigns fds, sets and node names to chains already in p->disks. */
void plan_assign(struct plan *p);

/*
 * Every descriptor the emulator inherits, in the order of their numbers:
 * out has room for p->n_fds entries; returns how many were filled.
 */
size_t plan_fds(const struct plan *p, struct plan_fd *out);

/* The chain options a disk's chain is resolved with. */
struct chain_opts plan_chain_opts(const struct guest_config *cfg,
				  const struct disk_config *d, bool for_run,
				  char **roots, size_t n_roots);

/*
 * Refuses what a resolved chain holds that the emulator cannot be given
 * as descriptors (VMDK extents, for QEMU 7.2).  0 or -errno with err.
 */
int plan_check_passable(const struct chain *c, struct vs_err *err);

/* Closes every descriptor the plan holds (once they are passed). */
void plan_close_fds(struct plan *p);

void plan_free(struct plan *p);

/* The roots a disk's chain must stay beneath. */
char **plan_disk_roots(const struct guest_config *cfg,
		       const struct disk_config *d, size_t *n);

/*
 * Every disk's roots, each once (the config's [chain] roots when it has
 * no disk): where the monitor gate opens what its clients name.
 */
char **plan_guest_roots(const struct guest_config *cfg, size_t *n);

#endif
