/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_SANDBOX_LABEL_H
#define VS_SANDBOX_LABEL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"
#include "common/strv.h"

/*
 * SELinux labels for a guest, as sVirt gives them: the emulator runs in
 * the virtual domain context with a random category pair (s0:cX,cY) no
 * other running guest has, its writable images get the image context with
 * the same pair, read-only and backing images the shared content context.
 * Files are relabelled through the descriptors vmseal opened (never by
 * path), each remembering its previous context and the guests using it in
 * trusted.* extended attributes, and get it back when the last running
 * guest using them is done.
 *
 * Under RUN (/run/vmseal, or $VMSEAL_RUN_DIR), owned by vmseal's user:
 *   .labels.lock   flock'ed around every change of labels or pairs
 *   .labels/NAME   what guest NAME relabelled ("dev ino path" lines),
 *                  written before relabelling; flock'ed while NAME runs,
 *                  so a file left there unlocked is a crash's leftover
 *   .mcs/cX,cY     the pair guest NAME holds (the file says NAME);
 *                  flock'ed while it runs, reclaimed when it is not
 * Neither is in the guest's runtime directory, which its emulator's user
 * owns.  Core module: nothing printed, notes go to a caller's strv.
 */

#define LABEL_XATTR_ORIG "trusted.vmseal.label"
#define LABEL_XATTR_USERS "trusted.vmseal.users"
#define LABEL_XATTR_SELINUX "security.selinux"
/* Remembered for a file that had no context: restoring removes it. */
#define LABEL_NONE "<none>"
/* Categories c0..c1023, as in the default MCS policy. */
#define LABEL_CAT_MAX 1023
#define LABEL_DIR ".labels"
#define LABEL_LOCK ".labels.lock"
#define LABEL_MCS_DIR ".mcs"

/* ---- pure: strings in, strings out (label_ctx.c) ---- */

/*
 * base (user:role:type[:level]) with its level replaced by level, or
 * level appended when base has none.  NULL when base is not a context.
 */
char *label_with_mcs(const char *base, const char *level);

/* "s0:cX,cY" and the registry's file name "cX,cY" (x < y). */
void label_mcs_level(unsigned x, unsigned y, char *buf, size_t len);
void label_mcs_entry(unsigned x, unsigned y, char *buf, size_t len);

/* "cX,cY" with X < Y <= LABEL_CAT_MAX, no leading zeros; 0 or -EINVAL. */
int label_mcs_parse(const char *entry, unsigned *x, unsigned *y);

/*
 * The virtual domain context file's text: its first line.  The virtual
 * image context file's: first line the image context, second line the
 * content context (as libvirt reads them).  0 or -EINVAL.
 */
int label_parse_domain(const char *text, char **domain);
int label_parse_image(const char *text, char **image, char **content);

/* Guest names as [vmseal] name allows them: [A-Za-z0-9][A-Za-z0-9_.-]{0,63}. */
bool label_guest_name_ok(const char *s);

/* ---- pure: the users list of trusted.vmseal.users (label_users.c) ---- */

/*
 * "g1,g2" (len bytes, no NUL needed) into names; an empty value is an
 * empty list.  -EINVAL for anything that is not a guest name.
 */
int label_users_parse(const char *s, size_t len, struct strv *out);

/* "g1,g2" (new string; "" for none). */
char *label_users_join(const struct strv *v);

/* Whether name is listed; adds it when not. */
bool label_users_has(const struct strv *v, const char *name);
void label_users_add(struct strv *v, const char *name);

/*
 * Drops self and every guest that running() says is gone; returns how
 * many running others remain.
 */
typedef bool (*label_running_fn)(void *arg, const char *name);
size_t label_users_prune(struct strv *v, const char *self,
			 label_running_fn running, void *arg);

/* ---- pure: lines of RUN/.labels/NAME (label_ctx.c) ---- */

/* "DEV INO PATH\n", PATH with blanks, '\\' and controls as \ooo. */
char *label_list_line(dev_t dev, ino_t ino, const char *path);
/* One line (without '\n'); 0 or -EINVAL. */
int label_list_parse(const char *line, dev_t *dev, ino_t *ino, char **path);

/* ---- the host ---- */

/*
 * Reads the policy's virtual domain and image context files
 * (selinux_virtual_*_context_path()).  0 or -errno, err naming the file.
 */
int label_virtual_contexts(char **domain, char **image, char **content,
			   struct vs_err *err);

/* A file to label: one chain member or data file, by its descriptor. */
struct label_target {
	const char *path;	/* for messages and the record */
	int fd;			/* the member's descriptor (any access mode) */
	const char *context;	/* what it gets */
	bool writable;		/* the emulator writes it */
};

/* A file a session relabelled, held open until it is restored. */
struct label_file {
	dev_t dev;
	ino_t ino;
	mode_t mode;
	char *path;
	char *context;
	bool writable;
	int fd;			/* O_RDONLY, our own open file description */
	bool applied;
};

/* One guest's labels, from its launch to its end. */
struct label_session {
	char *base;		/* RUN */
	char *guest;
	int base_fd;
	int lock_fd;		/* RUN/.labels.lock, while held */
	int dir_fd;		/* RUN/.labels */
	int list_fd;		/* RUN/.labels/NAME, flock'ed for the run */
	int mcs_dir_fd;		/* RUN/.mcs, once a pair is wanted */
	int mcs_fd;		/* RUN/.mcs/cX,cY, flock'ed; -1: no pair */
	char mcs_entry[24];
	struct label_file *files;
	size_t n_files;
};

#define LABEL_SESSION_INIT \
	{ .base_fd = -1, .lock_fd = -1, .dir_fd = -1, .list_fd = -1, \
	  .mcs_dir_fd = -1, .mcs_fd = -1 }

/*
 * Takes the global lock (kept until label_session_unlock()), restores
 * what an earlier run of guest left recorded (a note says so) and starts
 * its record, flock'ed: from here on guest counts as running for others.
 * -EBUSY when guest's record is held by a running vmseal.
 */
int label_session_start(struct label_session *s, const char *base,
			const char *guest, struct strv *notes,
			struct vs_err *err);

/*
 * A category pair no running guest holds, registered for this session;
 * level gets "s0:cX,cY".  Under the global lock.
 */
int label_mcs_reserve(struct label_session *s, char *level, size_t len,
		      struct vs_err *err);

/*
 * Records every target, then relabels each: previous context remembered
 * in trusted.vmseal.label unless one already is (an earlier crash's
 * original wins), this guest added to trusted.vmseal.users.  A file a
 * running guest uses with another context is refused (-EBUSY).  On
 * failure what was done is undone.  Under the global lock.
 */
int label_apply(struct label_session *s, const struct label_target *t,
		size_t n, struct vs_err *err);

/*
 * While the guest runs, a file it takes up (the monitor gate hands it
 * over): under the global lock, taken and let go here, recorded and
 * relabelled as label_apply() does.  A file the session holds already
 * keeps its entry, except that a writable use of a file labelled for
 * reading moves it to t->context (a job writes into a backing member).
 * On failure only this file is undone.  0 with no session.
 */
int label_add(struct label_session *s, const struct label_target *t,
	      struct vs_err *err);

/*
 * The guest let go of the file fd refers to (any descriptor, O_PATH
 * too): its previous label is back unless another running guest uses it,
 * and it leaves the session and its record.  0 when the session does not
 * hold it; on failure it stays for label_session_end().
 */
int label_drop(struct label_session *s, int fd, struct vs_err *err);

/* Lets go of the global lock (the record stays flock'ed). */
void label_session_unlock(struct label_session *s);

/*
 * Restores every file of the session whose last running user this guest
 * was, removes the record and the pair, and frees s.  0, or -errno with
 * err for the first file that could not be restored (the record is then
 * kept for label_restore_guest()).
 */
int label_session_end(struct label_session *s, struct strv *notes,
		      struct vs_err *err);

/* What label_restore_guest() did. */
struct label_restore_stats {
	size_t restored;	/* original context back */
	size_t kept;		/* still used by another running guest */
	size_t skipped;		/* the path no longer names that file */
};

/*
 * After a crash of vmseal itself: restores what RUN/.labels/guest lists,
 * reopening each path (O_NOFOLLOW) and checking device and inode (a note
 * for each that no longer matches), then removes the record and guest's
 * stale pair.  -ENOENT when nothing is recorded, -EBUSY when guest runs.
 */
int label_restore_guest(const char *base, const char *guest,
			struct label_restore_stats *st, struct strv *notes,
			struct vs_err *err);

/*
 * With SELinux enabled: whether a process in exec may use descriptors
 * vmseal opened (fd use), read every target and write the writable ones;
 * -EACCES with err naming the first refused, as the kernel would at
 * exec by swapping the descriptor for /dev/null.
 */
int label_check_access(const char *exec, const struct label_target *t,
		       size_t n, struct vs_err *err);

#endif
