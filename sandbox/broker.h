/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_SANDBOX_BROKER_H
#define VS_SANDBOX_BROKER_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"
#include "sandbox/allowlist.h"

/*
 * The open broker: answers the emulator's open() and openat() calls,
 * which the seccomp filter turns into user notifications.  Read-only
 * requests for paths on the allowlist get a descriptor the broker opened
 * itself; everything else, and every image of a chain whatever its path,
 * is refused.  It also answers unlink() and unlinkat(), which QEMU calls
 * on a listening socket's path before bind(): only a socket directly in
 * the guest's runtime directory may go.
 */

#define BROKER_MEM_CACHE 16

struct devino {
	dev_t dev;
	ino_t ino;
};

struct broker {
	const struct allowlist *allow;
	const struct devino *deny;	/* chain members: never served */
	size_t n_deny;
	uid_t emu_uid;		/* 0: the emulator may read anything */
	gid_t emu_gid;
	const gid_t *emu_groups;	/* its supplementary groups */
	size_t n_emu_groups;
	int notify_fd;
	int proc_fd;		/* O_PATH /proc */
	/*
	 * O_PATH /proc/self/fd: the broker's own descriptors by number, so
	 * a reopen or readlink resolves one name, not four.
	 */
	int self_fd_dir;
	/*
	 * The guest's runtime directory (O_PATH, or -1 for none): where
	 * the emulator's sockets live, and the only place unlink works.
	 */
	int run_fd;
	char *run_path;
	/* Names there never removed (vmseal's sockets), NULL-terminated. */
	const char *const *keep;
	/*
	 * Sockets the command line names (a wrapped QEMU's -qmp unix:PATH):
	 * unlink may remove exactly these too, if they are sockets.
	 */
	char *const *sockets;
	size_t n_sockets;
	/*
	 * Output files vmseal opened for the emulator to write that it
	 * opens by path itself (QEMU's -D log): a write-only open of
	 * exactly out_paths[i] (normalised) gets a copy of out_fds[i].
	 */
	const char *const *out_paths;
	const int *out_fds;
	size_t n_out;
	bool locked;		/* every request refused from now on */
	/* /proc/TID/mem of recent callers (see mem_fd()). */
	struct {
		pid_t pid;
		int fd;
	} mem[BROKER_MEM_CACHE];
	int mem_next;
	long page;
	void *req;		/* struct seccomp_notif, sized by the kernel */
	void *resp;
	size_t req_size, resp_size;
	unsigned long served, denied;
	/*
	 * How the path argument is read: NULL is broker_read_path().  A
	 * test sets a wrapper that acts between the read and the check that
	 * the caller still waits (its caller gone, say).
	 */
	int (*read_path)(struct broker *b, pid_t pid, unsigned long addr,
			 char *out, size_t len);
};

/* What one request was and what the broker did with it. */
struct broker_event {
	pid_t pid;		/* requesting thread */
	const char *syscall;	/* "open", "openat", "unlink", "unlinkat" */
	bool is_unlink;
	char path[PATH_MAX];	/* as the emulator spelled it ("" if unread) */
	int flags;
	bool served;
	/*
	 * Not served because a rule refused it (refused) or because the
	 * allowed open itself failed, typically ENOENT (!refused).
	 */
	bool refused;
	int error;		/* errno answered when not served */
	const char *reason;	/* why not */
	/*
	 * A refused read-only open of an existing regular file that is no
	 * image: adding the path to [sandbox] allow would be safe.
	 */
	bool allowable;
	char norm[PATH_MAX];	/* the normalised path, when there is one */
};

int broker_init(struct broker *b, int notify_fd, const struct allowlist *al,
		const struct devino *deny, size_t n_deny, struct vs_err *err);
/*
 * After a fork: /proc/self/fd (opened by broker_init()) named the process
 * that opened it; this reopens it for the calling one.
 */
int broker_reopen_self(struct broker *b, struct vs_err *err);

void broker_fini(struct broker *b);

/*
 * Asks for synchronous wake-ups on a listener (Linux 6.6+): the broker
 * is woken on the CPU of the emulator that asks, and the emulator on the
 * broker's when a NOTIF_SEND answers it (an ADDFD answer wakes it as
 * usual).  -EINVAL on older kernels, which then wake as usual.
 */
int broker_sync_wakeups(int notify_fd);

/* The listener, once the emulator handed it over (broker_init() took -1). */
void broker_set_listener(struct broker *b, int notify_fd);

/*
 * Lets unlink() remove sockets directly in dir (the guest's runtime
 * directory), except those named in keep (NULL-terminated, kept by the
 * caller).  0 or -errno.
 */
int broker_set_run_dir(struct broker *b, const char *dir,
		       const char *const *keep, struct vs_err *err);

/*
 * Receives one notification (notify_fd is readable) and answers it.
 * Returns 1 with ev filled, 0 when there was nothing to answer (the
 * caller went away), or -errno when the listener is gone.
 */
int broker_handle(struct broker *b, struct broker_event *ev);

/*
 * Copies the path argument at addr out of thread pid's memory into out;
 * 0 or -errno.  The caller is trusted only once the notification is
 * known still valid, which broker_handle() checks after this read.
 */
int broker_read_path(struct broker *b, pid_t pid, unsigned long addr,
		     char *out, size_t len);

/*
 * The checks that need no file: path shape, flags, allowlist.  norm gets
 * the normalised path.  Returns the matching entry, or NULL with *error
 * and *reason set.
 */
const struct allow_entry *broker_check(const struct allowlist *al,
				       const char *path, int flags, char *norm,
				       size_t norm_len, int *error,
				       const char **reason);

/* "O_RDONLY|O_CLOEXEC" */
const char *open_flags_str(int flags, char *buf, size_t len);

#endif
