/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <cap-ng.h>
#include <ctype.h>
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "sandbox/privs.h"
#include "sandbox/uidpool.h"

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++) {
		if (!isdigit((unsigned char)*s))
			return false;
	}
	return true;
}

static int resolve_group(const char *name, gid_t *gid, struct vs_err *err)
{
	struct group *g;

	if (all_digits(name)) {
		*gid = (gid_t)strtoul(name, NULL, 10);
		return 0;
	}
	g = getgrnam(name);
	if (!g)
		return vs_errf(err, EINVAL, "[sandbox] no such group '%s'", name);
	*gid = g->gr_gid;
	return 0;
}

/* "CAP_NET_ADMIN", "cap_net_admin" and "net_admin" all name one. */
static int cap_number(const char *name)
{
	char buf[64];
	size_t i;

	if (!strncasecmp(name, "cap_", 4))
		name += 4;
	for (i = 0; name[i] && i + 1 < sizeof(buf); i++)
		buf[i] = (char)tolower((unsigned char)name[i]);
	buf[i] = '\0';
	return capng_name_to_capability(buf);
}

int privs_resolve(const struct privs_want *w, uid_t euid,
		  struct privs *out, bool *warn_root, struct vs_err *err)
{
	struct passwd *pw = NULL;
	bool files = false;

	memset(out, 0, sizeof(*out));
	*warn_root = false;
	vs_err_ctx(err, "%s", w->source);
	if (euid != 0) {
		/* Without root nothing can be switched or granted. */
		if (w->user && !(all_digits(w->user) ?
				   (uid_t)strtoul(w->user, NULL, 10) == euid :
				   ((pw = getpwnam(w->user)) && pw->pw_uid == euid)))
			return vs_errf(err, EINVAL,
				       "[sandbox] user = %s: vmseal runs as uid %u "
				       "and can only switch users as root",
				       w->user, (unsigned)euid);
		if (w->n_keep_caps || w->group || w->n_groups)
			return vs_errf(err, EINVAL,
				       "[sandbox] %s needs vmseal to run as root",
				       w->n_keep_caps ? "keep-caps" :
				       w->group ? "group" : "groups");
		out->uid = euid;
		out->gid = getegid();
		snprintf(out->user_name, sizeof(out->user_name), "%u", (unsigned)euid);
		snprintf(out->group_name, sizeof(out->group_name), "%u",
			 (unsigned)out->gid);
		return 0;
	}
	if (!w->user)
		return vs_errf(err, EINVAL,
			       "[sandbox] user is required when vmseal runs as root: "
			       "name the unprivileged user the emulator runs as");
	out->change = true;
	if (all_digits(w->user)) {
		out->uid = (uid_t)strtoul(w->user, NULL, 10);
		if (!w->no_passwd)
			pw = getpwuid(out->uid);
	} else if (!w->group &&
		   uidpool_user_files("", w->user, &out->uid, &out->gid,
				      out->group_name,
				      sizeof(out->group_name)) == 1) {
		/* Without NSS where the files are its answer. */
		files = true;
	} else {
		pw = getpwnam(w->user);
		if (!pw)
			return vs_errf(err, EINVAL, "[sandbox] no such user '%s'",
				       w->user);
		out->uid = pw->pw_uid;
	}
	if (out->uid == 0) {
		if (!w->allow_root)
			return vs_errf(err, EINVAL,
				       "[sandbox] user = %s is root: the emulator would keep "
				       "root's access to every file; set allow-root = yes "
				       "to accept that",
				       w->user);
		*warn_root = true;
	}
	if (w->group) {
		if (resolve_group(w->group, &out->gid, err) < 0)
			return -EINVAL;
	} else if (files) {
		/* out->gid and out->group_name are the files' */
	} else if (pw) {
		out->gid = pw->pw_gid;
	} else {
		return vs_errf(err, EINVAL,
			       "[sandbox] uid %s has no passwd entry: set group",
			       w->user);
	}
	snprintf(out->user_name, sizeof(out->user_name), "%s",
		 pw ? pw->pw_name : w->user);
	if (!files)
		snprintf(out->group_name, sizeof(out->group_name), "%s",
			 w->group ? w->group : "");
	if (!w->group && !files) {
		struct group *g = getgrgid(out->gid);

		snprintf(out->group_name, sizeof(out->group_name), "%s",
			 g ? g->gr_name : "");
		if (!g)
			snprintf(out->group_name, sizeof(out->group_name), "%u",
				 (unsigned)out->gid);
	}
	out->groups = xcalloc(w->n_groups + 1, sizeof(gid_t));
	for (size_t i = 0; i < w->n_groups; i++) {
		if (resolve_group(w->groups[i], &out->groups[i], err) < 0) {
			privs_free(out);
			return -EINVAL;
		}
		out->n_groups++;
	}
	for (size_t i = 0; i < w->n_keep_caps; i++) {
		int c = cap_number(w->keep_caps[i]);

		if (c < 0 || c > 63) {
			privs_free(out);
			return vs_errf(err, EINVAL,
				       "[sandbox] keep-caps: unknown capability '%s'",
				       w->keep_caps[i]);
		}
		out->caps |= (uint64_t)1 << c;
	}
	vs_err_clear(err);
	return 0;
}

void privs_free(struct privs *p)
{
	free(p->groups);
	p->groups = NULL;
	p->n_groups = 0;
}

int privs_read_caps(pid_t pid, uint64_t caps[5])
{
	static const char *const keys[5] = { "CapEff:", "CapPrm:", "CapInh:",
					     "CapBnd:", "CapAmb:" };
	char path[64], line[256];
	_cleanup_fclose_ FILE *f = NULL;
	unsigned found = 0;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		for (int i = 0; i < 5; i++) {
			size_t n = strlen(keys[i]);

			if (!strncmp(line, keys[i], n)) {
				caps[i] = strtoull(line + n, NULL, 16);
				found |= 1U << i;
			}
		}
	}
	return found == 0x1f ? 0 : -EIO;
}

const char *privs_caps_str(uint64_t caps, char *buf, size_t len)
{
	size_t o = 0;

	buf[0] = '\0';
	if (!caps) {
		snprintf(buf, len, "none");
		return buf;
	}
	for (int c = 0; c < 64 && o < len; c++) {
		const char *name;

		if (!(caps & ((uint64_t)1 << c)))
			continue;
		name = capng_capability_to_name((unsigned)c);
		if (name)
			o += (size_t)snprintf(buf + o, len - o, "%s%s",
					      o ? "," : "", name);
		else
			o += (size_t)snprintf(buf + o, len - o, "%s%d",
					      o ? "," : "", c);
	}
	return buf;
}

int privs_check_ids(const struct privs *p, const struct privs_ids *got,
		    struct vs_err *err)
{
	const uid_t *u = got->uid;
	const gid_t *g = got->gid;

	if (u[0] != p->uid || u[1] != p->uid || u[2] != p->uid)
		return vs_errf(err, EPERM, "uids read back as %u %u %u, not %u",
			       (unsigned)u[0], (unsigned)u[1], (unsigned)u[2],
			       (unsigned)p->uid);
	if (g[0] != p->gid || g[1] != p->gid || g[2] != p->gid)
		return vs_errf(err, EPERM, "gids read back as %u %u %u, not %u",
			       (unsigned)g[0], (unsigned)g[1], (unsigned)g[2],
			       (unsigned)p->gid);
	if (got->n_groups < 0 || (size_t)got->n_groups != p->n_groups)
		return vs_errf(err, EPERM,
			       "%d supplementary groups read back, not %zu",
			       got->n_groups, p->n_groups);
	for (int i = 0; i < got->n_groups; i++) {
		bool listed = false;

		for (size_t j = 0; j < p->n_groups; j++)
			listed |= got->groups[i] == p->groups[j];
		if (!listed)
			return vs_errf(err, EPERM,
				       "supplementary group %u was not asked for",
				       (unsigned)got->groups[i]);
	}
	return 0;
}

int privs_check_caps(const struct privs *p, const uint64_t caps[5],
		     struct vs_err *err)
{
	static const char *const names[5] = { "effective", "permitted",
					       "inheritable", "bounding",
					       "ambient" };

	for (int i = 0; i < 5; i++) {
		/* Bits above the kernel's last capability read as 0. */
		if (caps[i] != p->caps)
			return vs_errf(err, EPERM,
				       "%s capabilities read back as %016" PRIx64
				       ", not %016" PRIx64,
				       names[i], caps[i], p->caps);
	}
	return 0;
}

int privs_verify(const struct privs *p, struct vs_err *err)
{
	gid_t groups[64];
	struct privs_ids got = { .groups = groups };
	uint64_t caps[5];
	int rc;

	if (getresuid(&got.uid[0], &got.uid[1], &got.uid[2]) < 0 ||
	    getresgid(&got.gid[0], &got.gid[1], &got.gid[2]) < 0)
		return vs_errnof(err, errno, "reading back the ids");
	got.n_groups = getgroups(64, groups);
	rc = privs_check_ids(p, &got, err);
	if (rc < 0)
		return rc;
	rc = privs_read_caps(getpid(), caps);
	if (rc < 0)
		return vs_errnof(err, -rc, "reading back the capabilities");
	return privs_check_caps(p, caps, err);
}

/*
 * libcap-ng, called so that it touches /proc as little as it can: the
 * sets to end with are built in its state (capng_clear starts it empty,
 * without reading the process), then applied in the order the kernel
 * needs.  The bounding set first, while we still hold CAP_SETPCAP:
 * libcap-ng 0.8 reads /proc/PID/status three times there (the current
 * sets to check CAP_SETPCAP, then the bounding set after the drops), and
 * no call order avoids it.  Effective, permitted, inheritable and
 * ambient in one capng_apply() after the uid change: one capset, then
 * PR_CAP_AMBIENT_CLEAR_ALL and one raise per kept capability, no /proc.
 * Then our single read-back of /proc/PID/status checks all five sets.
 */
int privs_drop(const struct privs *p, struct vs_err *err)
{
	const capng_type_t every = CAPNG_EFFECTIVE | CAPNG_PERMITTED |
				   CAPNG_INHERITABLE | CAPNG_BOUNDING_SET |
				   CAPNG_AMBIENT;
	int rc;

	if (!p->change)
		return 0;
	capng_clear(CAPNG_SELECT_ALL);
	/* Its state belongs to this process (a fork resets it, but say so). */
	capng_setpid((int)getpid());
	for (int c = 0; c < 64; c++) {
		if ((p->caps & ((uint64_t)1 << c)) &&
		    capng_update(CAPNG_ADD, every, (unsigned)c) < 0)
			return vs_errf(err, EINVAL,
				       "libcap-ng does not know capability %d", c);
	}
	rc = capng_apply(CAPNG_SELECT_BOUNDS);
	if (rc < 0)
		return vs_errf(err, EPERM,
			       "dropping the bounding set (libcap-ng %d)", rc);
	if (setgroups(p->n_groups, p->groups) < 0)
		return vs_errnof(err, errno, "setgroups");
	if (p->caps && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return vs_errnof(err, errno, "PR_SET_KEEPCAPS");
	if (setresgid(p->gid, p->gid, p->gid) < 0)
		return vs_errnof(err, errno, "setresgid %u", (unsigned)p->gid);
	if (setresuid(p->uid, p->uid, p->uid) < 0)
		return vs_errnof(err, errno, "setresuid %u", (unsigned)p->uid);
	if (p->caps && prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) < 0)
		return vs_errnof(err, errno, "PR_SET_KEEPCAPS");
	/*
	 * Ambient last (libcap-ng orders it so): what survives exec for a
	 * non-root user needs the permitted and inheritable bits first.
	 */
	rc = capng_apply(CAPNG_SELECT_CAPS | CAPNG_SELECT_AMBIENT);
	if (rc < 0)
		return vs_errf(err, EPERM,
			       "setting the capabilities (libcap-ng %d)", rc);
	return privs_verify(p, err);
}
