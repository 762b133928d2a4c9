/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_SANDBOX_UIDPOOL_H
#define VS_SANDBOX_UIDPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

/*
 * Each guest's own uid (and a gid of the same number), allocated from a
 * range when its config names no user, as systemd's DynamicUser and
 * Firecracker's jailer do: stable for a guest name across restarts (the
 * assignment is recorded in STATE/uids, one "NAME UID" line each, under
 * an flock of STATE/uids.lock) and never given to two names.  A new uid
 * has no passwd and no group entry and no process runs with it (every
 * id of every /proc/PID/status); it needs no passwd entry.
 *
 * The default range, 1879048192-1879113727 (0x70000000, 65536 ids), lies
 * above systemd's container range (524288-1879048191), far from normal
 * users (1000-60000), DynamicUser (61184-65519) and the usual subuid
 * blocks, and below 2^31 (which some tools read as negative).
 */

#define UIDPOOL_FIRST 1879048192u
#define UIDPOOL_LAST 1879113727u
#define UIDPOOL_STATE_DIR "/var/lib/vmseal"

/*
 * The uid recorded for name in state_dir, or, when there is none, the one
 * uidpool_assign would pick now (*fresh set): nothing is written.
 * 0 or -errno (err says why).
 */
int uidpool_peek(const char *state_dir, const char *name, uid_t first,
		 uid_t last, uid_t *uid, bool *fresh, struct vs_err *err);

/*
 * The uid of guest name: the recorded one, else the lowest free id of
 * first..last, recorded before it is returned.  state_dir is created
 * (0700) when missing and must be a directory of this uid that nobody
 * else may write.  A recorded uid that has meanwhile gained a passwd or
 * group entry is refused (-EEXIST), as is a full range (-ENOSPC).
 */
int uidpool_assign(const char *state_dir, const char *name, uid_t first,
		   uid_t last, uid_t *uid, struct vs_err *err);

/*
 * Whether id is free for a guest: no passwd entry with that uid, no group
 * with that gid, no process with it as any of its uids or gids.  The
 * reason when not, in why.
 */
bool uidpool_id_free(uid_t id, char *why, size_t len);

/*
 * Whether id has a passwd or group entry, answered from ROOT/etc/passwd
 * and ROOT/etc/group alone where they are the whole database: 1 (why
 * says which entry), 0, or -1 when they may not be (nsswitch.conf names
 * another service for passwd or group, or systemd with a userdb service
 * or drop-in directory present, or an id nss-systemd makes up itself):
 * then only an NSS lookup can tell.  root is "" for the host.
 */
int uidpool_named_files(const char *root, uid_t id, char *why, size_t len);

/*
 * The user name's uid and gid and the gid's group name, read from
 * ROOT/etc/passwd and ROOT/etc/group where "files" is the first service
 * of both in nsswitch.conf (an entry found there is then NSS's answer,
 * whatever follows): 1, or 0 when the files cannot answer (another
 * first service, no entry, a line glibc would not match the same way):
 * then ask NSS.  A first getpwnam() and getgrgid() cost 120 to 170 us
 * in a fresh process (nscd's socket tried, nsswitch.conf parsed), the
 * files 10 to 15.  root is "" for the host.
 */
int uidpool_user_files(const char *root, const char *name, uid_t *uid,
		       gid_t *gid, char *group, size_t glen);

#endif
