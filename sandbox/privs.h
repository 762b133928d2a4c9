/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_SANDBOX_PRIVS_H
#define VS_SANDBOX_PRIVS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

/*
 * Who the emulator runs as.  vmseal runs as root to open (and label)
 * images; the emulator gets none of that: another user, no supplementary
 * groups unless listed, no capabilities unless listed in keep-caps,
 * NO_NEW_PRIVS.
 */
struct privs {
	bool change;		/* vmseal is root: switch ids, drop caps */
	uid_t uid;
	gid_t gid;
	gid_t *groups;
	size_t n_groups;
	uint64_t caps;		/* mask of capabilities kept (keep-caps) */
	char user_name[64];	/* for messages */
	char group_name[64];
};

/* What [sandbox] asks for, as plain values (the config's strings). */
struct privs_want {
	const char *source;	/* where it was said (the config), for messages */
	const char *user;	/* NAME or UID; NULL: none given */
	const char *group;	/* NAME or GID; NULL: the user's primary group */
	char *const *groups;	/* supplementary groups */
	size_t n_groups;
	char *const *keep_caps;	/* capability names */
	size_t n_keep_caps;
	bool allow_root;
	bool no_passwd;		/* user is a uid known to have no passwd entry
				 * (allocated from the pool): not looked up */
};

/*
 * Resolves user, group, groups and keep-caps for a process whose
 * effective uid is euid, and applies the rules: a user is required when
 * vmseal runs as root (launcher/identity.c gives a guest without one a
 * uid of its own first), and root itself only with allow-root = yes (then
 * *warn_root is set); an unprivileged vmseal can only run the emulator as
 * itself, with no capabilities.  -EINVAL with err saying which key.
 */
int privs_resolve(const struct privs_want *w, uid_t euid,
		  struct privs *out, bool *warn_root, struct vs_err *err);
void privs_free(struct privs *p);

/*
 * In the child before the filter: supplementary groups, gid, uid (all
 * three of each), capabilities (effective, permitted, inheritable,
 * ambient and the bounding set) down to p->caps, each step read back and
 * verified.  0 or -errno with err saying which step.
 */
int privs_drop(const struct privs *p, struct vs_err *err);

/*
 * What privs_drop() reads back after the drop and compares with p: the
 * real, effective and saved uids and gids, the supplementary groups
 * (n_groups -1: unreadable) and the five capability sets.  Each check is
 * a pure function of the values read, 0 or -EPERM with err naming what
 * differs; privs_verify() reads this process's and checks both.
 */
struct privs_ids {
	uid_t uid[3];
	gid_t gid[3];
	const gid_t *groups;
	int n_groups;
};

int privs_check_ids(const struct privs *p, const struct privs_ids *got,
		    struct vs_err *err);
int privs_check_caps(const struct privs *p, const uint64_t caps[5],
		     struct vs_err *err);
int privs_verify(const struct privs *p, struct vs_err *err);

/*
 * The capability masks of a process from /proc/PID/status (CapEff,
 * CapPrm, CapInh, CapBnd, CapAmb, in that order); 0 or -errno.
 */
int privs_read_caps(pid_t pid, uint64_t caps[5]);

/* "net_admin,sys_nice" for a mask ("none" for 0). */
const char *privs_caps_str(uint64_t caps, char *buf, size_t len);

#endif
