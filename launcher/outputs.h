/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_OUTPUTS_H
#define VS_LAUNCHER_OUTPUTS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "common/err.h"
#include "conf/config.h"

/*
 * The files an emulator command line writes: -serial/-monitor/-parallel/
 * -debugcon/-qmp file:PATH, -chardev file,path=PATH, -D PATH and, in run
 * mode, -pidfile PATH.  The filter refuses the emulator every open for
 * writing, so vmseal opens each itself, beneath one of the guest's output
 * roots (its runtime directory, its log directory LOG/NAME, [emulator]
 * output-dir), and passes it:
 *
 *   file:PATH, path=PATH   as a descriptor in an fd set: /dev/fdset/N
 *   -D PATH                served by the broker for exactly PATH (QEMU
 *                          opens its log with fopen(), which knows no
 *                          fd sets)
 *   -pidfile PATH          not passed: vmseal writes the emulator's pid
 *                          there itself and removes it at the end
 *
 * Opening never follows a symbolic link, stays beneath its root
 * (openat2 RESOLVE_BENEATH), creates with O_EXCL, and takes an existing
 * file only when it is a regular file with one link that vmseal's user
 * owns: a file the emulator's user planted cannot make root truncate
 * another.  The same path rules are checked by `check` and `argv`.
 */

enum output_kind {
	OUT_COMPAT,		/* file:PATH of a chardev shorthand */
	OUT_CHARDEV,		/* -chardev file,...,path=PATH */
	OUT_LOG,		/* -D PATH */
	OUT_PIDFILE,		/* -pidfile PATH */
};

struct output {
	enum output_kind kind;
	size_t opt;		/* index in cfg->args of the option */
	size_t arg;		/* ... and of its value */
	char *path;		/* normalised absolute path */
	size_t root;		/* its root, an index into outputs.roots */
	bool append;		/* chardev append=on */
	int dst, set;		/* number and fd set in the emulator (0: none) */
	int fd;			/* vmseal's descriptor, -1 until opened */
	struct stat st;
};

struct outputs {
	struct output *v;
	size_t n;
	char *roots[3];
	size_t n_roots;
};

/* The emulator's log directory for a guest: $VMSEAL_LOG_DIR/NAME or
 * /var/log/vmseal/NAME. */
char *outputs_log_dir(const char *name);

/*
 * Finds the output files in cfg's args and checks each is beneath a root;
 * 0, or -errno with err naming the argument.
 */
int outputs_find(const struct guest_config *cfg, struct outputs *o,
		 struct vs_err *err);

/* Gives each passed output an emulator fd number and fd set. */
void outputs_assign(struct outputs *o, int *next_fd, int *next_set);

/*
 * The argument to put in place of cfg->args[i]: a rewritten copy (free
 * it), NULL with *skip false to keep it, or *skip true to leave it out.
 */
char *outputs_rewrite(const struct outputs *o, size_t i, const char *arg,
		      bool *skip);

/* How many outputs the emulator inherits as descriptors. */
size_t outputs_passed(const struct outputs *o);

/*
 * Opens every output (run mode); run_fd is the guest's runtime directory,
 * already taken.  0, or -errno with err.
 */
int outputs_open(struct outputs *o, int run_fd, struct vs_err *err);

/* Writes pid to the -pidfile output, if any; 0 or -errno with err. */
int outputs_write_pid(struct outputs *o, pid_t pid, struct vs_err *err);

/* Closes the descriptors (once passed), keeping what the end needs. */
void outputs_close_fds(struct outputs *o);

/* Removes the -pidfile output vmseal wrote, if it is still that file. */
void outputs_remove_pidfile(struct outputs *o);

void outputs_free(struct outputs *o);

#endif
