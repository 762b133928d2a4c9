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
	int fd;			/* O_DIRECTORY, flocked: the run's lock */
	bool held;		/* the lock is ours: so are the files */
	/* RUN/.NAME.id, locked for the run (set only when id_fd is open). */
	char *id_path;
	int id_fd;
};

/*
 * Who gets RUN/NAME.  With exclusive (vmseal is root and switches users)
 * the uid is registered for the run in RUN/.NAME.id ("UID GID SHARE",
 * flocked while the guest runs: the base directory is root's, so no
 * emulator can forge or hide it), and refused while another running guest
 * has the same uid, unless both have share.
 */
struct rundir_owner {
	uid_t uid;
	gid_t gid;
	bool exclusive;
	bool share;		/* share-user = yes */
};

/* The base directory: $VMSEAL_RUN_DIR or /run/vmseal. */
const char *rundir_base(void);

/* RUN/NAME as a new string. */
char *rundir_path(const char *name);

/*
 * Where vmseal wrap keeps its guests: RUN for root, RUN/wrap/EUID for any
 * other user (libvirt's qemu user: /run/vmseal/wrap/64055), which root
 * creates for that user (the package's tmpfiles.d entry); a new string.
 */
#define RUNDIR_WRAP "wrap"
char *rundir_wrap_base(void);

/*
 * The base holding guest NAME for status, lock, stop and selftest
 * --guest: RUN when RUN/NAME exists, else the first RUN/wrap/UID (owned
 * by UID) holding NAME, else RUN; a new string.
 */
char *rundir_find(const char *name);

/*
 * Creates and takes BASE/NAME (BASE NULL: RUN) for this process; -EBUSY when another vmseal
 * holds it, with err naming its pid; -EUSERS when o->exclusive and a
 * running guest has o->uid (err names it).  RUN/NAME is then owned by
 * o->uid:o->gid (the emulator's user, who makes its sockets there and
 * nowhere else), mode 0700: nobody else reaches what is inside.
 */
int rundir_take(const char *base, const char *name,
		const struct rundir_owner *o, struct rundir *rd,
		struct vs_err *err);

/*
 * [monitor] group: RUN/NAME gets group gid and mode 0710, so the group's
 * members can reach RUN/NAME/monitor.sock (0660, root:gid) by name but
 * not list the directory or reach a file without group bits (control.sock
 * is 0600, the emulator's sockets follow its umask 022: no group write,
 * so no connect).  The owner stays the emulator's user, who gains
 * nothing; the caller refuses a group the emulator is in.
 */
int rundir_open_to_group(const struct rundir *rd, gid_t gid,
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
/* The same under BASE (NULL: RUN). */
int rundir_read_pid_in(const char *base, const char *name, const char *file,
		       pid_t *pid);

#endif
