/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_CONF_CONFIG_H
#define VS_CONF_CONFIG_H

#include <stdbool.h>
#include <sys/types.h>
#include <stddef.h>

#include "common/err.h"
#include "common/format.h"

/*
 * A guest's configuration, validated.  conf/ is the only module that knows
 * INI; everybody else gets this struct, read-only, from config_load().
 */

#define VS_CONFIG_VERSION 1
#define VS_DISK_NAME_MAX 31
#define VS_MAX_DEPTH_DEFAULT 64
#define VS_MAX_DEPTH_LIMIT 4096
#define VS_LOCK_AFTER_MAX (365 * 24 * 3600)
/* Larger configs are refused before anything is parsed. */
#define VS_CONFIG_MAX_SIZE (1 << 20)

enum vs_dialect {
	VS_DIALECT_FDSET = 0,	/* -add-fd + /dev/fdset/N + -blockdev graph */
	VS_DIALECT_DRIVE_FD,	/* -drive file=fd:N,backing=fd:M */
};

enum vs_policy {
	VS_POLICY_BROKER = 0,	/* opens go to the supervisor */
	VS_POLICY_DENY,		/* every open fails with EACCES */
	VS_POLICY_KILL,		/* any open kills the emulator */
};

/* [sandbox] network: the emulator's network namespace (in the jail). */
enum vs_network {
	VS_NETWORK_HOST = 0,	/* the host's: user-mode networking works */
	VS_NETWORK_NONE,	/* an empty one: taps come in as descriptors */
};

enum vs_selinux_mode {
	VS_SELINUX_AUTO = 0,	/* derived labels when SELinux is enabled */
	VS_SELINUX_REQUIRED,	/* refuse to start without SELinux */
	VS_SELINUX_OFF,		/* never label, not even explicit labels */
};

/* A context's longest accepted length (libvirt's MAX_CONTEXT less one). */
#define VS_CONTEXT_MAX 1023

struct disk_config {
	char *name;		/* [a-z][a-z0-9_-]{0,30}: the top node-name */
	char *image;		/* absolute path of the top image */
	enum vs_format format;	/* never probed */
	bool readonly;
	char *device;		/* guest device driver, NULL for "none" */
	unsigned line;		/* line of the [disk NAME] header */
	bool allow_data_file;	/* data-file = allow: follow qcow2 data files */
	bool allow_blockdev;	/* block-device = allow: members may be devices */
	/* backing-format: for backing members whose header records none. */
	enum vs_format backing_format;
	/* copy-on-read = yes: QEMU's copy-on-read filter on top of the disk */
	bool copy_on_read;
};

struct guest_config {
	char *path;		/* the file as given on the command line */
	char *name;		/* guest name: file name without ".ini" */
	int version;

	/* [emulator] */
	char *binary;
	bool binary_given;	/* set in the file, not the default */
	enum vs_dialect dialect;
	char **args;		/* NULL-terminated, never NULL; shell-split */
	size_t n_args;
	char *kernel;		/* NULL when unset */
	/*
	 * [emulator] output-dir: a directory the emulator's output files
	 * (-serial file:, -chardev file, -D, -pidfile) may be beneath, besides
	 * its runtime and log directories; NULL when unset.
	 */
	char *output_dir;
	char *initrd;
	char *append;

	/* [sandbox] */
	enum vs_policy policy;
	bool qemu_sandbox;	/* add QEMU's own -sandbox (QEMU only) */
	unsigned lock_after;	/* seconds until the broker locks; 0: never */
	char *user;		/* NAME or UID the emulator runs as; NULL unset */
	char *group;		/* NAME or GID; NULL: the user's primary group */
	char **groups;		/* supplementary groups, never NULL */
	size_t n_groups;
	char **keep_caps;	/* capability names kept, never NULL */
	size_t n_keep_caps;
	bool allow_root;	/* user = root is accepted (with a warning) */
	bool share_user;	/* share-user: another running guest may share user */
	/* uid-range for a guest without user (as root); 0-0: the default. */
	uid_t uid_first, uid_last;
	char **allow;		/* NULL-terminated absolute paths, never NULL */
	size_t n_allow;
	enum vs_network network;
	/*
	 * Read-only opens answered by the kernel where the jail and Landlock
	 * confine them (default yes; off with lock-after).
	 */
	bool kernel_opens;

	/* [chain] */
	char **roots;		/* NULL-terminated; default: top image's dir */
	size_t n_roots;		/* 0 when defaulted per disk */
	unsigned max_depth;
	/* Where `run` keeps the resolved chains; NULL for record = none. */
	char *record;

	/* [selinux]: explicit labels (NULL unless given) are used verbatim. */
	enum vs_selinux_mode selinux_mode;
	char *selinux_label;	/* the emulator's exec context */
	char *image_label;	/* writable top images and their data files */
	char *backing_label;	/* read-only and backing members */

	/*
	 * [monitor] group: the group (resolved when the config is read) that
	 * may reach RUN/NAME/monitor.sock besides root; NULL: nobody else.
	 */
	char *monitor_group;
	gid_t monitor_gid;

	struct disk_config *disks;
	size_t n_disks;
};

/*
 * Reads and validates a guest config.  On failure returns -errno and err
 * carries "FILE:LINE" (or "FILE") as context and what is wrong.
 */
int config_load(const char *path, struct guest_config **out,
		struct vs_err *err);

/* The same from a buffer; name stands for the file in messages. */
int config_parse(const char *name, const char *buf, size_t len,
		 struct guest_config **out, struct vs_err *err);

void config_free(struct guest_config *cfg);

/* Whether the emulator is QEMU, by its file name (qemu-system-*, qemu-kvm). */
bool config_emulator_is_qemu(const struct guest_config *cfg);

const char *vs_dialect_name(enum vs_dialect d);
const char *vs_policy_name(enum vs_policy p);
const char *vs_selinux_mode_name(enum vs_selinux_mode m);

/*
 * Splits s into words the way a shell splits quoted words: blanks separate,
 * '...' is literal, "..." is literal except \" \\ \$ \` and \newline, a
 * backslash outside quotes escapes the next character.  No expansion of
 * any kind.  Returns the number of words appended to *words, or -EINVAL
 * with err naming the problem (unterminated quote).
 */
struct strv;
int shell_split(const char *s, struct strv *words, struct vs_err *err);

#endif
