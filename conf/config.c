/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/fd.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "conf/internal.h"

#define DEFAULT_BINARY "/usr/bin/qemu-system-x86_64"
#define DEFAULT_DEVICE "virtio-blk-pci"
#define MAX_KEYS 16

enum kind { K_NONE, K_VMSEAL, K_EMULATOR, K_SANDBOX, K_CHAIN, K_SELINUX,
	     K_MONITOR, K_DISK, K_N };

struct conf_parse {
	struct ini_reader rd;
	struct guest_config *cfg;
	enum kind kind;			/* of the section being read */
	unsigned sect_line[K_N];	/* header line of each section kind */
	unsigned seen[K_N][MAX_KEYS];	/* line each key was set on */
	struct strv args;
	struct conf_where where;
	bool no_record;			/* [chain] record = none */
};

struct key {
	const char *name;
	/* Takes the value (and may steal it); 0 or -EINVAL recorded. */
	int (*set)(struct conf_parse *p, char **val);
	bool repeats;
};

static struct disk_config *cur_disk(struct conf_parse *p)
{
	return &p->cfg->disks[p->cfg->n_disks - 1];
}

static void set_str(char **field, char **val)
{
	free(*field);
	*field = steal_ptr(val);
}

static int set_version(struct conf_parse *p, char **val)
{
	unsigned v;

	if (conf_uint(*val, ~0U, &v) < 0 || v != VS_CONFIG_VERSION)
		return ini_fail(&p->rd, p->rd.line,
				"unsupported version %s (this vmseal reads version %d)",
				*val, VS_CONFIG_VERSION);
	p->cfg->version = (int)v;
	p->where.version = p->rd.line;
	return 0;
}

static int set_name(struct conf_parse *p, char **val)
{
	if (!conf_guest_name_ok(*val))
		return ini_fail(&p->rd, p->rd.line,
				"invalid guest name '%s': must match [A-Za-z0-9][A-Za-z0-9_.-]{0,63}",
				*val);
	set_str(&p->cfg->name, val);
	p->where.name = p->rd.line;
	return 0;
}

static int set_binary(struct conf_parse *p, char **val)
{
	if (conf_path(&p->rd, "binary", *val) < 0)
		return -EINVAL;
	set_str(&p->cfg->binary, val);
	p->cfg->binary_given = true;
	return 0;
}

static int set_dialect(struct conf_parse *p, char **val)
{
	if (strcmp(*val, "fdset") == 0)
		p->cfg->dialect = VS_DIALECT_FDSET;
	else if (strcmp(*val, "drive-fd") == 0)
		p->cfg->dialect = VS_DIALECT_DRIVE_FD;
	else
		return ini_fail(&p->rd, p->rd.line,
				"unknown dialect '%s' (fdset or drive-fd)",
				*val);
	return 0;
}

static int set_args(struct conf_parse *p, char **val)
{
	struct vs_err e = { 0 };
	size_t first = p->args.n;

	if (shell_split(*val, &p->args, &e) < 0)
		return ini_fail(&p->rd, p->rd.line, "'args': %s", e.msg);
	for (size_t i = first; i < p->args.n && !p->where.sandbox_arg; i++) {
		if (strcmp(p->args.v[i], "-sandbox") == 0)
			p->where.sandbox_arg = p->rd.line;
	}
	return 0;
}

/* Where the emulator's output files may also be (besides run and log dirs). */
static int set_output_dir(struct conf_parse *p, char **val)
{
	if (conf_path(&p->rd, "output-dir", *val) < 0)
		return -EINVAL;
	set_str(&p->cfg->output_dir, val);
	return 0;
}

static int set_kernel(struct conf_parse *p, char **val)
{
	if (conf_path(&p->rd, "kernel", *val) < 0)
		return -EINVAL;
	set_str(&p->cfg->kernel, val);
	return 0;
}

static int set_initrd(struct conf_parse *p, char **val)
{
	if (conf_path(&p->rd, "initrd", *val) < 0)
		return -EINVAL;
	set_str(&p->cfg->initrd, val);
	p->where.initrd = p->rd.line;
	return 0;
}

static int set_append(struct conf_parse *p, char **val)
{
	set_str(&p->cfg->append, val);
	p->where.append = p->rd.line;
	return 0;
}

static int set_policy(struct conf_parse *p, char **val)
{
	if (strcmp(*val, "broker") == 0)
		p->cfg->policy = VS_POLICY_BROKER;
	else if (strcmp(*val, "deny") == 0)
		p->cfg->policy = VS_POLICY_DENY;
	else if (strcmp(*val, "kill") == 0)
		p->cfg->policy = VS_POLICY_KILL;
	else
		return ini_fail(&p->rd, p->rd.line,
				"unknown policy '%s' (broker, deny or kill)",
				*val);
	return 0;
}

static int set_allow(struct conf_parse *p, char **val)
{
	return conf_path_list(&p->rd, "allow", *val, &p->cfg->allow,
			      &p->cfg->n_allow);
}

static int set_kernel_opens(struct conf_parse *p, char **val)
{
	return conf_bool(&p->rd, "kernel-opens", *val, &p->cfg->kernel_opens);
}

static int set_qemu_sandbox(struct conf_parse *p, char **val)
{
	return conf_bool(&p->rd, "qemu-sandbox", *val, &p->cfg->qemu_sandbox);
}

static int set_network(struct conf_parse *p, char **val)
{
	if (strcmp(*val, "host") == 0)
		p->cfg->network = VS_NETWORK_HOST;
	else if (strcmp(*val, "none") == 0)
		p->cfg->network = VS_NETWORK_NONE;
	else
		return ini_fail(&p->rd, p->rd.line,
				"unknown network '%s' (host or none)", *val);
	return 0;
}

static int set_lock_after(struct conf_parse *p, char **val)
{
	if (conf_uint(*val, VS_LOCK_AFTER_MAX, &p->cfg->lock_after) < 0 ||
	    p->cfg->lock_after == 0)
		return ini_fail(&p->rd, p->rd.line,
				"'lock-after' must be a whole number of seconds from 1 to %d, not '%s'",
				VS_LOCK_AFTER_MAX, *val);
	return 0;
}

static int set_user(struct conf_parse *p, char **val)
{
	if (!conf_id_ok(*val))
		return ini_fail(&p->rd, p->rd.line,
				"'user' must be a user name or a number, not '%s'",
				*val);
	set_str(&p->cfg->user, val);
	return 0;
}

static int set_group(struct conf_parse *p, char **val)
{
	if (!conf_id_ok(*val))
		return ini_fail(&p->rd, p->rd.line,
				"'group' must be a group name or a number, not '%s'",
				*val);
	set_str(&p->cfg->group, val);
	return 0;
}

/*
 * Resolved here, not at launch: a group that does not exist is a mistake
 * in this file, and `check` should name its line.  A number is a gid
 * whether or not the group database names it.
 */
static int set_monitor_group(struct conf_parse *p, char **val)
{
	struct group gr, *res = NULL;
	char buf[4096], *end;
	unsigned long id;
	int rc;

	if (!conf_id_ok(*val))
		return ini_fail(&p->rd, p->rd.line,
				"'group' must be a group name or a number, not '%s'",
				*val);
	errno = 0;
	id = strtoul(*val, &end, 10);
	if (!*end) {
		if (errno || id >= (gid_t)-1)
			return ini_fail(&p->rd, p->rd.line,
					"group %s is out of range", *val);
		p->cfg->monitor_gid = (gid_t)id;
	} else {
		rc = getgrnam_r(*val, &gr, buf, sizeof(buf), &res);
		if (rc || !res)
			return ini_fail(&p->rd, p->rd.line,
					"unknown group '%s'%s%s", *val,
					rc ? ": " : "", rc ? strerror(rc) : "");
		p->cfg->monitor_gid = res->gr_gid;
	}
	set_str(&p->cfg->monitor_group, val);
	return 0;
}

static int set_groups(struct conf_parse *p, char **val)
{
	strv_free_array(p->cfg->groups);
	p->cfg->groups = NULL;
	return conf_id_list(&p->rd, "groups", *val, &p->cfg->groups,
			    &p->cfg->n_groups);
}

static int set_keep_caps(struct conf_parse *p, char **val)
{
	strv_free_array(p->cfg->keep_caps);
	p->cfg->keep_caps = NULL;
	return conf_id_list(&p->rd, "keep-caps", *val, &p->cfg->keep_caps,
			    &p->cfg->n_keep_caps);
}

static int set_allow_root(struct conf_parse *p, char **val)
{
	return conf_bool(&p->rd, "allow-root", *val, &p->cfg->allow_root);
}

static int set_share_user(struct conf_parse *p, char **val)
{
	if (conf_bool(&p->rd, "share-user", *val, &p->cfg->share_user) < 0)
		return -1;
	if (p->cfg->share_user)
		p->where.share_user = p->rd.line;
	return 0;
}

/* FIRST-LAST, decimal, 1 <= FIRST <= LAST < 4294967295. */
static int set_uid_range(struct conf_parse *p, char **val)
{
	unsigned long a, b;
	char *end;

	errno = 0;
	a = strtoul(*val, &end, 10);
	if (!errno && end != *val && *end == '-' && isdigit((unsigned char)end[1]))
		b = strtoul(end + 1, &end, 10);
	else
		b = 0;
	if (errno || *end || !isdigit((unsigned char)**val) || a == 0 || b < a ||
	    b >= 0xffffffffUL)
		return ini_fail(&p->rd, p->rd.line,
				"'uid-range' must be FIRST-LAST, two uids with 1 <= FIRST <= LAST < 4294967295, not '%s'",
				*val);
	p->cfg->uid_first = (uid_t)a;
	p->cfg->uid_last = (uid_t)b;
	p->where.uid_range = p->rd.line;
	return 0;
}

static int set_roots(struct conf_parse *p, char **val)
{
	return conf_path_list(&p->rd, "roots", *val, &p->cfg->roots,
			      &p->cfg->n_roots);
}

static int set_max_depth(struct conf_parse *p, char **val)
{
	if (conf_uint(*val, VS_MAX_DEPTH_LIMIT, &p->cfg->max_depth) < 0 ||
	    p->cfg->max_depth == 0)
		return ini_fail(&p->rd, p->rd.line,
				"'max-depth' must be a whole number from 1 to %d, not '%s'",
				VS_MAX_DEPTH_LIMIT, *val);
	return 0;
}

/* [chain] record = /abs/path.json | none; the default comes with the name. */
static int set_record(struct conf_parse *p, char **val)
{
	if (strcmp(*val, "none") == 0) {
		p->no_record = true;
		return 0;
	}
	if (conf_path(&p->rd, "record", *val) < 0)
		return -EINVAL;
	set_str(&p->cfg->record, val);
	return 0;
}

static int set_selinux_mode(struct conf_parse *p, char **val)
{
	if (strcmp(*val, "auto") == 0)
		p->cfg->selinux_mode = VS_SELINUX_AUTO;
	else if (strcmp(*val, "required") == 0)
		p->cfg->selinux_mode = VS_SELINUX_REQUIRED;
	else if (strcmp(*val, "off") == 0)
		p->cfg->selinux_mode = VS_SELINUX_OFF;
	else
		return ini_fail(&p->rd, p->rd.line,
				"unknown SELinux mode '%s' (auto, required or off)",
				*val);
	return 0;
}

static int set_context(struct conf_parse *p, const char *key, char **field,
		       char **val)
{
	if (!conf_context_ok(*val))
		return ini_fail(&p->rd, p->rd.line,
				"'%s' must be an SELinux context user:role:type:level without blanks (at most %d bytes), not '%s'",
				key, VS_CONTEXT_MAX, *val);
	set_str(field, val);
	return 0;
}

static int set_selinux_label(struct conf_parse *p, char **val)
{
	return set_context(p, "label", &p->cfg->selinux_label, val);
}

static int set_image_label(struct conf_parse *p, char **val)
{
	return set_context(p, "image-label", &p->cfg->image_label, val);
}

static int set_backing_label(struct conf_parse *p, char **val)
{
	return set_context(p, "backing-label", &p->cfg->backing_label, val);
}

static int set_image(struct conf_parse *p, char **val)
{
	if (conf_path(&p->rd, "image", *val) < 0)
		return -EINVAL;
	set_str(&cur_disk(p)->image, val);
	return 0;
}

static int set_format(struct conf_parse *p, char **val)
{
	char list[128];

	if (vs_format_from_name(*val, &cur_disk(p)->format) < 0)
		return ini_fail(&p->rd, p->rd.line,
				"unknown format '%s' for [disk %s] (%s)", *val,
				cur_disk(p)->name,
				conf_format_list(list, sizeof(list)));
	return 0;
}

static int set_readonly(struct conf_parse *p, char **val)
{
	return conf_bool(&p->rd, "readonly", *val, &cur_disk(p)->readonly);
}

static int set_copy_on_read(struct conf_parse *p, char **val)
{
	return conf_bool(&p->rd, "copy-on-read", *val,
			 &cur_disk(p)->copy_on_read);
}

static int set_data_file(struct conf_parse *p, char **val)
{
	return conf_allow(&p->rd, "data-file", *val,
			  &cur_disk(p)->allow_data_file);
}

static int set_block_device(struct conf_parse *p, char **val)
{
	return conf_allow(&p->rd, "block-device", *val,
			  &cur_disk(p)->allow_blockdev);
}

/* A statement about backing members' format, never a guess: no "auto". */
static int set_backing_format(struct conf_parse *p, char **val)
{
	char list[128];

	if (vs_format_from_name(*val, &cur_disk(p)->backing_format) < 0)
		return ini_fail(&p->rd, p->rd.line,
				"unknown backing-format '%s' for [disk %s] (%s)",
				*val, cur_disk(p)->name,
				conf_format_list(list, sizeof(list)));
	return 0;
}

static int set_device(struct conf_parse *p, char **val)
{
	struct disk_config *d = cur_disk(p);

	if (strcmp(*val, "none") == 0) {
		free(d->device);
		d->device = NULL;
		return 0;
	}
	if (!conf_device_ok(*val))
		return ini_fail(&p->rd, p->rd.line,
				"invalid device '%s': must be \"none\" or match [a-z][a-z0-9_.-]*",
				*val);
	set_str(&d->device, val);
	return 0;
}

static const struct key vmseal_keys[] = {
	{ "version", set_version, false },
	{ "name", set_name, false },
};

static const struct key emulator_keys[] = {
	{ "binary", set_binary, false },
	{ "dialect", set_dialect, false },
	{ "args", set_args, true },
	{ "kernel", set_kernel, false },
	{ "initrd", set_initrd, false },
	{ "append", set_append, false },
	{ "output-dir", set_output_dir, false },
};

static const struct key sandbox_keys[] = {
	{ "policy", set_policy, false },
	{ "allow", set_allow, false },
	{ "qemu-sandbox", set_qemu_sandbox, false },
	{ "lock-after", set_lock_after, false },
	{ "user", set_user, false },
	{ "group", set_group, false },
	{ "groups", set_groups, false },
	{ "keep-caps", set_keep_caps, false },
	{ "allow-root", set_allow_root, false },
	{ "share-user", set_share_user, false },
	{ "uid-range", set_uid_range, false },
	{ "network", set_network, false },
	{ "kernel-opens", set_kernel_opens, false },
};

static const struct key chain_keys[] = {
	{ "roots", set_roots, false },
	{ "max-depth", set_max_depth, false },
	{ "record", set_record, false },
};

static const struct key selinux_keys[] = {
	{ "mode", set_selinux_mode, false },
	{ "label", set_selinux_label, false },
	{ "image-label", set_image_label, false },
	{ "backing-label", set_backing_label, false },
};

static const struct key monitor_keys[] = {
	{ "group", set_monitor_group, false },
};

static const struct key disk_keys[] = {
	{ "image", set_image, false },
	{ "format", set_format, false },
	{ "readonly", set_readonly, false },
	{ "device", set_device, false },
	{ "data-file", set_data_file, false },
	{ "block-device", set_block_device, false },
	{ "backing-format", set_backing_format, false },
	{ "copy-on-read", set_copy_on_read, false },
};

static const struct {
	const char *name;
	const struct key *keys;
	size_t n_keys;
} kinds[K_N] = {
	[K_VMSEAL] = { "vmseal", vmseal_keys, ARRAY_SIZE(vmseal_keys) },
	[K_EMULATOR] = { "emulator", emulator_keys, ARRAY_SIZE(emulator_keys) },
	[K_SANDBOX] = { "sandbox", sandbox_keys, ARRAY_SIZE(sandbox_keys) },
	[K_CHAIN] = { "chain", chain_keys, ARRAY_SIZE(chain_keys) },
	[K_SELINUX] = { "selinux", selinux_keys, ARRAY_SIZE(selinux_keys) },
	[K_MONITOR] = { "monitor", monitor_keys, ARRAY_SIZE(monitor_keys) },
	[K_DISK] = { "disk", disk_keys, ARRAY_SIZE(disk_keys) },
};

_Static_assert(ARRAY_SIZE(emulator_keys) <= MAX_KEYS, "seen[] too small");
_Static_assert(ARRAY_SIZE(sandbox_keys) <= MAX_KEYS, "seen[] too small");
_Static_assert(ARRAY_SIZE(disk_keys) <= MAX_KEYS, "seen[] too small");

/* "[emulator]", or "[disk root]" however many blanks the header had. */
static const char *label(struct conf_parse *p, char *buf, size_t len)
{
	if (p->kind == K_DISK)
		snprintf(buf, len, "[disk %s]", cur_disk(p)->name);
	else
		snprintf(buf, len, "[%s]", kinds[p->kind].name);
	return buf;
}

static int add_disk(struct conf_parse *p, const char *name, unsigned line)
{
	struct guest_config *cfg = p->cfg;
	struct disk_config *d;

	if (!*name)
		return ini_fail(&p->rd, line,
				"disk section without a name: use [disk NAME]");
	if (!conf_disk_name_ok(name))
		return ini_fail(&p->rd, line,
				"invalid disk name '%s': use 1 to %d of [a-z0-9_-], starting with a letter (QEMU node names must start with a letter)",
				name, VS_DISK_NAME_MAX);
	for (size_t i = 0; i < cfg->n_disks; i++)
		if (strcmp(cfg->disks[i].name, name) == 0)
			return ini_fail(&p->rd, line,
					"duplicate disk '%s' (first defined on line %u)",
					name, cfg->disks[i].line);

	cfg->disks = xreallocarray(cfg->disks, cfg->n_disks + 1,
				   sizeof(*cfg->disks));
	d = &cfg->disks[cfg->n_disks++];
	memset(d, 0, sizeof(*d));
	d->name = xstrdup(name);
	d->device = xstrdup(DEFAULT_DEVICE);
	d->line = line;
	memset(p->seen[K_DISK], 0, sizeof(p->seen[K_DISK]));
	return 0;
}

static int on_section(void *user, const char *name, unsigned line)
{
	struct conf_parse *p = user;

	if (strncmp(name, "disk", 4) == 0 &&
	    (name[4] == '\0' || name[4] == ' ' || name[4] == '\t')) {
		name += 4;
		name += strspn(name, " \t");
		p->kind = K_DISK;
		return add_disk(p, name, line);
	}
	for (int k = K_VMSEAL; k < K_DISK; k++) {
		if (strcmp(name, kinds[k].name) != 0)
			continue;
		if (p->sect_line[k])
			return ini_fail(&p->rd, line,
					"duplicate section [%s] (first on line %u)",
					name, p->sect_line[k]);
		p->sect_line[k] = line;
		p->kind = (enum kind)k;
		return 0;
	}
	return ini_fail(&p->rd, line, "unknown section [%s]", name);
}

/* inih's handler: nonzero to go on. */
static int on_key(void *user, const char *section, const char *name,
		  const char *value)
{
	struct conf_parse *p = user;
	unsigned line = p->rd.line;
	_cleanup_free_ char *val = NULL;
	const struct key *k = NULL;
	char where[64];
	size_t i;

	val = ini_reader_take(&p->rd, section, name, value);
	if (!val)
		return 0;
	if (!*name) {
		ini_fail(&p->rd, line, "missing key name before '='");
		return 0;
	}
	if (p->kind == K_NONE) {
		ini_fail(&p->rd, line,
			 "key '%s' before the first section header", name);
		return 0;
	}
	for (i = 0; i < kinds[p->kind].n_keys; i++) {
		if (strcmp(name, kinds[p->kind].keys[i].name) == 0) {
			k = &kinds[p->kind].keys[i];
			break;
		}
	}
	if (!k) {
		ini_fail(&p->rd, line, "unknown key '%s' in %s", name,
			 label(p, where, sizeof(where)));
		return 0;
	}
	if (p->seen[p->kind][i] && !k->repeats) {
		ini_fail(&p->rd, line,
			 "duplicate key '%s' in %s (first set on line %u)",
			 name, label(p, where, sizeof(where)),
			 p->seen[p->kind][i]);
		return 0;
	}
	if (!*val) {
		ini_fail(&p->rd, line, "empty value for '%s' in %s", name,
			 label(p, where, sizeof(where)));
		return 0;
	}
	if (!p->seen[p->kind][i])
		p->seen[p->kind][i] = line;
	return k->set(p, &val) < 0 ? 0 : 1;
}

/* The file's base name without ".ini": a guest is usually named by its file. */
static char *name_from_file(const char *file)
{
	const char *base = strrchr(file, '/');
	size_t n;

	base = base ? base + 1 : file;
	n = strlen(base);
	if (n >= 4 && strcmp(base + n - 4, ".ini") == 0)
		n -= 4;
	return xstrndup(base, n);
}

void config_free(struct guest_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->path);
	free(cfg->name);
	free(cfg->output_dir);
	free(cfg->binary);
	strv_free_array(cfg->args);
	free(cfg->kernel);
	free(cfg->initrd);
	free(cfg->append);
	strv_free_array(cfg->allow);
	free(cfg->user);
	free(cfg->group);
	free(cfg->monitor_group);
	strv_free_array(cfg->groups);
	strv_free_array(cfg->keep_caps);
	strv_free_array(cfg->roots);
	free(cfg->record);
	free(cfg->selinux_label);
	free(cfg->image_label);
	free(cfg->backing_label);
	for (size_t i = 0; i < cfg->n_disks; i++) {
		free(cfg->disks[i].name);
		free(cfg->disks[i].image);
		free(cfg->disks[i].device);
	}
	free(cfg->disks);
	free(cfg);
}

int config_parse(const char *name, const char *buf, size_t len,
		 struct guest_config **out, struct vs_err *err)
{
	struct conf_parse p = { 0 };
	struct guest_config *cfg;
	int r;

	*out = NULL;
	vs_err_clear(err);
	ini_reader_init(&p.rd, name, buf, len, err, on_section, &p);
	if (len > VS_CONFIG_MAX_SIZE)
		return ini_fail(&p.rd, 0,
				"config is larger than %d bytes (1 MiB)",
				VS_CONFIG_MAX_SIZE);

	cfg = p.cfg = xzalloc(sizeof(*cfg));
	cfg->path = xstrdup(name);
	cfg->binary = xstrdup(DEFAULT_BINARY);
	cfg->dialect = VS_DIALECT_FDSET;
	cfg->policy = VS_POLICY_BROKER;
	cfg->qemu_sandbox = true;
	cfg->kernel_opens = true;
	cfg->max_depth = VS_MAX_DEPTH_DEFAULT;

	r = ini_reader_run(&p.rd, on_key, &p);
	cfg->n_args = p.args.n;
	cfg->args = strv_steal(&p.args);
	if (!cfg->allow)
		cfg->allow = xcalloc(1, sizeof(*cfg->allow));
	if (!cfg->groups)
		cfg->groups = xcalloc(1, sizeof(*cfg->groups));
	if (!cfg->keep_caps)
		cfg->keep_caps = xcalloc(1, sizeof(*cfg->keep_caps));
	if (!cfg->name)
		cfg->name = name_from_file(name);
	if (!cfg->record && !p.no_record) {
		/*
		 * The record pins backing references, so it lives where the
		 * emulator can write nothing (not its runtime directory, which
		 * it owns) and survives a reboot: $VMSEAL_STATE_DIR or
		 * /var/lib/vmseal.
		 */
		const char *state = getenv("VMSEAL_STATE_DIR");

		cfg->record = xasprintf("%s/chains/%s.json",
					state && state[0] == '/' ?
						state :
						"/var/lib/vmseal",
					cfg->name);
	}
	if (r == 0)
		r = conf_validate(&p.rd, cfg, &p.where);
	if (r < 0) {
		config_free(cfg);
		return r;
	}
	*out = cfg;
	return 0;
}

static const char *file_type(mode_t m)
{
	switch (m & S_IFMT) {
	case S_IFDIR:
		return "a directory";
	case S_IFIFO:
		return "a FIFO";
	case S_IFSOCK:
		return "a socket";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	default:
		return "of an unknown type";
	}
}

int config_load(const char *path, struct guest_config **out,
		struct vs_err *err)
{
	_cleanup_fd_ int fd = -1;
	_cleanup_free_ char *buf = NULL;
	struct stat st;
	ssize_t n;
	int r;

	*out = NULL;
	vs_err_clear(err);
	/*
	 * O_NONBLOCK so that a FIFO cannot hang us in open() waiting for a
	 * writer; it changes nothing for the regular file we then insist on.
	 */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		r = vs_errnof(err, errno, "cannot open config");
		vs_err_ctx(err, "%s", path);
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = vs_errnof(err, errno, "cannot stat config");
		vs_err_ctx(err, "%s", path);
		return r;
	}
	if (!S_ISREG(st.st_mode)) {
		r = vs_errf(err, EINVAL, "config is not a regular file but %s",
			    file_type(st.st_mode));
		vs_err_ctx(err, "%s", path);
		return r;
	}
	if (st.st_size > VS_CONFIG_MAX_SIZE) {
		r = vs_errf(err, EFBIG,
			    "config is larger than 1 MiB (%lld bytes)",
			    (long long)st.st_size);
		vs_err_ctx(err, "%s", path);
		return r;
	}
	/* One byte more than allowed, to notice a file that grew meanwhile. */
	buf = xmalloc(VS_CONFIG_MAX_SIZE + 1);
	n = pread_full(fd, buf, VS_CONFIG_MAX_SIZE + 1, 0);
	if (n < 0) {
		r = vs_errnof(err, (int)-n, "cannot read config");
		vs_err_ctx(err, "%s", path);
		return r;
	}
	if (n > VS_CONFIG_MAX_SIZE) {
		r = vs_errf(err, EFBIG, "config is larger than 1 MiB");
		vs_err_ctx(err, "%s", path);
		return r;
	}
	return config_parse(path, buf, (size_t)n, out, err);
}

const char *vs_dialect_name(enum vs_dialect d)
{
	switch (d) {
	case VS_DIALECT_FDSET:
		return "fdset";
	case VS_DIALECT_DRIVE_FD:
		return "drive-fd";
	}
	return "?";
}

bool config_emulator_is_qemu(const struct guest_config *cfg)
{
	const char *base = strrchr(cfg->binary, '/');

	base = base ? base + 1 : cfg->binary;
	return strncmp(base, "qemu-system-", 12) == 0 ||
	       strcmp(base, "qemu-kvm") == 0;
}

const char *vs_policy_name(enum vs_policy p)
{
	switch (p) {
	case VS_POLICY_BROKER:
		return "broker";
	case VS_POLICY_DENY:
		return "deny";
	case VS_POLICY_KILL:
		return "kill";
	}
	return "?";
}

const char *vs_selinux_mode_name(enum vs_selinux_mode m)
{
	switch (m) {
	case VS_SELINUX_AUTO:
		return "auto";
	case VS_SELINUX_REQUIRED:
		return "required";
	case VS_SELINUX_OFF:
		return "off";
	}
	return "?";
}
