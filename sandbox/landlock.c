/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Landlock through its raw system calls, with the uapi constants spelled
 * here: the build host's headers may be older than the kernel the
 * emulator runs on, and the ABI is asked of the running kernel.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "sandbox/landlock.h"

#ifndef SYS_landlock_create_ruleset
#define SYS_landlock_create_ruleset 444
#define SYS_landlock_add_rule 445
#define SYS_landlock_restrict_self 446
#endif

/* include/uapi/linux/landlock.h */
#define LL_CREATE_RULESET_VERSION (1U << 0)
#define LL_RULE_PATH_BENEATH 1
#define LL_FS_EXECUTE (1ULL << 0)
#define LL_FS_WRITE_FILE (1ULL << 1)
#define LL_FS_READ_FILE (1ULL << 2)
#define LL_FS_READ_DIR (1ULL << 3)
#define LL_FS_REFER (1ULL << 13)	/* ABI 2 */
#define LL_FS_TRUNCATE (1ULL << 14)	/* ABI 3 */
#define LL_FS_IOCTL_DEV (1ULL << 15)	/* ABI 5 */
#define LL_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0)	/* ABI 6 */
#define LL_SCOPE_SIGNAL (1ULL << 1)			/* ABI 6 */

struct ll_ruleset_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net;	/* ABI 4 */
	uint64_t scoped;		/* ABI 6 */
};

struct ll_path_beneath_attr {
	uint64_t allowed_access;
	int32_t parent_fd;
} __attribute__((packed));

/* Rights a rule on a file (not a directory) may carry. */
#define LL_FILE_RIGHTS \
	(LL_FS_EXECUTE | LL_FS_WRITE_FILE | LL_FS_READ_FILE | LL_FS_TRUNCATE | \
	 LL_FS_IOCTL_DEV)

int landlock_abi(void)
{
	long v = syscall(SYS_landlock_create_ruleset, NULL, 0,
			 LL_CREATE_RULESET_VERSION);

	return v < 0 ? 0 : (int)v;
}

/* Every filesystem right the ABI knows. */
static uint64_t fs_rights(int abi)
{
	uint64_t r = (1ULL << 13) - 1;	/* ABI 1 */

	if (abi >= 2)
		r |= LL_FS_REFER;
	if (abi >= 3)
		r |= LL_FS_TRUNCATE;
	if (abi >= 5)
		r |= LL_FS_IOCTL_DEV;
	return r;
}

const char *landlock_describe(int abi, char *buf, unsigned long len)
{
	if (abi <= 0)
		snprintf(buf, len, "off: the kernel has no Landlock (or it is disabled)");
	else
		snprintf(buf, len, "ABI %d: files%s%s%s", abi,
			 abi >= 3 ? ", truncate" : "",
			 abi >= 5 ? ", device ioctls" : "",
			 abi >= 6 ? ", signal and abstract unix socket scoping" :
				    " (no signal or abstract socket scoping before ABI 6)");
	return buf;
}

static int add_rules(int ruleset, char *const *paths, uint64_t dir_rights,
		     uint64_t handled, struct vs_err *err)
{
	for (size_t i = 0; paths && paths[i]; i++) {
		struct ll_path_beneath_attr pb;
		_cleanup_fd_ int fd = open(paths[i], O_PATH | O_CLOEXEC);
		struct stat st;

		if (fd < 0 || fstat(fd, &st) < 0) {
			if (errno == ENOENT)
				continue;
			return vs_errnof(err, errno, "Landlock: opening %s",
					 paths[i]);
		}
		pb.parent_fd = fd;
		pb.allowed_access = dir_rights & handled;
		if (!S_ISDIR(st.st_mode))
			pb.allowed_access &= LL_FILE_RIGHTS;
		if (!pb.allowed_access)
			continue;
		if (syscall(SYS_landlock_add_rule, ruleset, LL_RULE_PATH_BENEATH,
			    &pb, 0) < 0)
			return vs_errnof(err, errno, "Landlock: a rule for %s",
					 paths[i]);
	}
	return 0;
}

int landlock_apply(const struct landlock_spec *s, int *abi, struct vs_err *err)
{
	struct ll_ruleset_attr attr = { 0 };
	_cleanup_fd_ int ruleset = -1;
	size_t size;
	uint64_t all;

	*abi = landlock_abi();
	if (*abi <= 0)
		return 0;
	all = fs_rights(*abi);
	attr.handled_access_fs = all;
	size = sizeof(attr.handled_access_fs);
	if (*abi >= 4)
		size += sizeof(attr.handled_access_net);
	if (*abi >= 6) {
		size = sizeof(attr);
		if (s->scope)
			attr.scoped = LL_SCOPE_ABSTRACT_UNIX_SOCKET |
				      LL_SCOPE_SIGNAL;
	}
	ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (ruleset < 0)
		return vs_errnof(err, errno, "Landlock: creating the ruleset (ABI %d)",
				 *abi);
	if (add_rules(ruleset, s->ro,
		      LL_FS_READ_FILE | LL_FS_READ_DIR | LL_FS_EXECUTE, all,
		      err) < 0 ||
	    add_rules(ruleset, s->devs,
		      LL_FS_READ_FILE | LL_FS_WRITE_FILE | LL_FS_READ_DIR |
			      LL_FS_IOCTL_DEV,
		      all, err) < 0 ||
	    add_rules(ruleset, s->rw, all & ~LL_FS_EXECUTE, all, err) < 0)
		return -err->code;
	if (syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
		return vs_errnof(err, errno, "Landlock: restricting the emulator");
	return 0;
}
