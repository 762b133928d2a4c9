/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_RUNDIR_H
#define VS_LAUNCHER_RUNDIR_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/err.h"

/*
 * A guest's runtime directory, RUN/NAME (RUN is /run/vmseal, or
 * $VMSEAL_RUN_DIR): the emulator's sockets, vmseal's control socket, the
 * pid files.  A lock file held for the whole run keeps a second vmseal
 * from starting the same guest.
 */

#define RUNDIR_DEFAULT "/run/vmseal"
#define RUNDIR_CONTROL "control.sock"
#define RUNDIR_PID "vmseal.pid"
#define RUNDIR_EMU_PID "emulator.pid"

struct rundir {
	char *path;		/* RUN/NAME */
	int fd;			/* O_DIRECTORY */
	int lock_fd;
	bool held;		/* the lock is ours: so are the files */
};

/* The base directory: $VMSEAL_RUN_DIR or /run/vmseal. */
const char *rundir_base(void);

/* RUN/NAME as a new string. */
char *rundir_path(const char *name);

/*
 * Creates and takes RUN/NAME for this process; -EBUSY when another vmseal
 * holds it, with err naming its pid.  RUN/NAME is owned by owner:group
 * (the emulator's user, who makes its sockets there and nowhere else),
 * mode 0750.
 */
int rundir_take(const char *name, uid_t owner, gid_t group, struct rundir *rd,
		struct vs_err *err);

/* Writes "PID\n" to RUN/NAME/file, atomically. */
int rundir_write_pid(const struct rundir *rd, const char *file, pid_t pid,
		     struct vs_err *err);

/* The same for any path (--pidfile), through its directory. */
int pidfile_write(const char *path, pid_t pid, struct vs_err *err);

/*
 * Removes what the run created there (pid files, vmseal's control socket
 * and every socket the emulator left) and lets go.  Call it once the
 * emulator is gone.
 */
void rundir_release(struct rundir *rd);

/* 1 when a vmseal holds RUN/NAME (the guest runs), 0 when not, -errno. */
int rundir_running(const char *name);

/* Reads RUN/NAME/file's pid; -ENOENT when there is none. */
int rundir_read_pid(const char *name, const char *file, pid_t *pid);

#endif
