/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/path.h"
#include "common/xalloc.h"
#include "launcher/confine.h"
#include "launcher/log.h"
#include "launcher/run.h"

/* Always in the jail: what any program may read or write. */
static const char *const base_devs[] = {
	"/dev/null", "/dev/zero", "/dev/full", "/dev/random", "/dev/urandom",
	"/dev/ptmx", "/dev/pts", NULL,
};

static bool has_opt(char *const *argv, const char *const *opts,
		    const char *needle)
{
	for (size_t i = 1; argv && argv[i] && argv[i + 1]; i++) {
		for (size_t k = 0; opts[k]; k++) {
			if (!strcmp(argv[i], opts[k]) && strstr(argv[i + 1], needle))
				return true;
		}
	}
	return false;
}

/* The devices the command line asks for. */
static void devices_used(struct strv *devs, char *const *argv)
{
	static const char *const accel[] = { "-accel", "-machine", "-M", NULL };
	static const char *const net[] = { "-netdev", "-net", "-nic", NULL };
	bool kvm = has_opt(argv, accel, "kvm");

	for (size_t i = 1; argv && argv[i]; i++) {
		if (!strcmp(argv[i], "-enable-kvm"))
			kvm = true;
	}
	for (size_t i = 0; base_devs[i]; i++)
		strv_push(devs, base_devs[i]);
	if (kvm)
		strv_push(devs, "/dev/kvm");
	if (has_opt(argv, net, "tap") || has_opt(argv, net, "bridge"))
		strv_push(devs, "/dev/net/tun");
	if (has_opt(argv, net, "vhost=on"))
		strv_push(devs, "/dev/vhost-net");
}

void confine_plan(struct confine *c, const struct guest_config *cfg,
		  char *const *argv, const char *binary,
		  const struct allowlist *al, const char *rundir, bool wrapped,
		  char *const *wrapped_sockets)
{
	struct allowlist own = { 0 };
	_cleanup_free_ char *real_bin = realpath(binary, NULL);
	/*
	 * Under deny and kill every open fails, so libraries, firmware, the
	 * allowlist and devices would only be there to stat, to execute
	 * (a static program) or to connect to: such a jail holds the
	 * emulator's binary, /proc and the runtime directory, nothing else.
	 */
	bool opens = cfg->policy == VS_POLICY_BROKER;

	if (!opens) {
		al = NULL;
	} else if (!al) {
		run_allowlist(cfg, &own);
		al = &own;
	}
	c->new_net = cfg->network == VS_NETWORK_NONE;
	c->policy = cfg->policy;
	/* lock-after promises every later open refused: the broker's alone. */
	c->kernel_opens = cfg->kernel_opens && !cfg->lock_after;
	if (geteuid() != 0)
		c->no_jail = "vmseal is not root";
	else if (wrapped)
		c->no_jail = "a wrapped command line keeps the caller's view of the files";
	else
		c->jailed = true;
	/* Libraries and QEMU's data: /usr whole, as a merged-/usr host has them. */
	/*
	 * Each tree resolved once (the allowlist did its entries): the
	 * image check and the jail's init read ro_real instead of resolving
	 * every tree again per chain member (270 readlink calls a launch of
	 * a 3-member chain).
	 */
	c->ro_real = xcalloc((al ? al->n : 0) + 3, sizeof(char *));
	c->system_links = opens;
	if (opens) {
		c->ro_real[c->ro.n] = realpath("/usr", NULL);
		strv_push(&c->ro, "/usr");
	}
	/*
	 * The binary as spelled, resolved: the jail binds the file at its
	 * real path and, where the spelling is a link, at the spelling too,
	 * which is what the child executes (a link outside the jail's trees
	 * would be missing there).
	 */
	c->ro_real[c->ro.n] = real_bin ? xstrdup(real_bin) : NULL;
	strv_push(&c->ro, binary);
	for (size_t i = 0; al && i < al->n; i++) {
		const struct allow_entry *e = &al->e[i];

		if ((e->kind != ALLOW_DIR && e->kind != ALLOW_FILE) || !e->real)
			continue;
		if (path_is_beneath(e->path, "/proc") ||
		    path_is_beneath(e->path, "/dev"))
			continue;
		c->ro_real[c->ro.n] = xstrdup(e->real);
		strv_push(&c->ro, e->path);
	}
	if (opens)
		devices_used(&c->devs, argv);
	if (rundir)
		strv_push(&c->rw, rundir);
	for (size_t i = 0; wrapped_sockets && wrapped_sockets[i]; i++)
		strv_push_take(&c->rw, path_dirname(wrapped_sockets[i]));
	for (size_t i = 0; i < c->ro.n; i++)
		strv_push(&c->ll_ro, c->ro.v[i]);
	/* The jail's own /proc: its PID namespace only, hidepid. */
	if (c->jailed)
		strv_push(&c->ll_ro, "/proc");
	c->landlock_abi = landlock_abi();
	c->ll = (struct landlock_spec){
		.ro = c->ll_ro.v,
		.devs = c->devs.v,
		.rw = c->rw.v,
		.scope = true,
	};
	allowlist_free(&own);
}

/* The tree among ro that real lies beneath, or NULL. */
static const char *readable_tree(const struct confine *c, const char *real)
{
	for (size_t i = 0; i < c->ro.n; i++) {
		if (c->ro_real[i] && path_is_beneath(real, c->ro_real[i]))
			return c->ro.v[i];
	}
	for (size_t i = 0; i < c->rw.n; i++) {
		if (path_is_beneath(real, c->rw.v[i]))
			return c->rw.v[i];
	}
	return NULL;
}

static int check_one(const struct confine *c, const char *disk,
		     const char *path, struct vs_err *err)
{
	_cleanup_free_ char *real = realpath(path, NULL);
	const char *tree = real ? readable_tree(c, real) : NULL;

	if (!tree)
		return 0;
	return vs_errf(err, EPERM,
		       "disk %s: %s lies beneath %s, which the emulator can read by path: move the image out of it",
		       disk, path, tree);
}

int confine_check_images(const struct confine *c, const struct plan *p,
			 struct vs_err *err)
{
	for (size_t k = 0; k < p->n_disks; k++) {
		const struct plan_disk *d = &p->disks[k];

		for (size_t i = 0; i < d->chain.n; i++) {
			const struct chain_member *m = &d->chain.m[i];

			if (check_one(c, d->cfg->name, m->real_path ? m->real_path : m->path, err) < 0 ||
			    (m->data_file &&
			     check_one(c, d->cfg->name, m->data_file->path, err) < 0))
				return -err->code;
		}
	}
	return 0;
}

bool confine_kernel_ro_opens(const struct confine *c, enum vs_policy p)
{
	return p == VS_POLICY_BROKER && c->kernel_opens && c->jailed &&
	       c->landlock_abi > 0;
}

int confine_start(struct confine *c, const char *hostname, struct vs_err *err)
{
	struct jail_spec s = {
		.ro = c->ro.v,
		.ro_real = c->ro_real,
		.devs = c->devs.v,
		.rw_dir = c->rw.n ? c->rw.v[0] : NULL,
		.system_links = c->system_links,
		.hostname = hostname,
		.new_net = c->new_net,
	};

	if (!c->jailed)
		return 0;
	return jail_create(&s, &c->jail, err);
}

void confine_release(struct confine *c)
{
	jail_destroy(&c->jail);
	for (size_t i = 0; c->ro_real && i < c->ro.n; i++)
		free(c->ro_real[i]);
	free(c->ro_real);
	c->ro_real = NULL;
	strv_free(&c->ro);
	strv_free(&c->devs);
	strv_free(&c->rw);
	strv_free(&c->ll_ro);
}

void confine_report(FILE *f, const struct confine *c)
{
	char ll[160];

	if (c->jailed && c->policy != VS_POLICY_BROKER)
		fprintf(f, "jail: on: mount, PID, IPC and UTS namespaces, network %s; "
			   "root of the emulator binary, the runtime directory and its own /proc, nothing else (policy %s: no open succeeds)\n",
			c->new_net ? "none (a namespace of its own)" : "host",
			vs_policy_name(c->policy));
	else if (c->jailed)
		fprintf(f, "jail: on: mount, PID, IPC and UTS namespaces, network %s; "
			   "root of %zu read-only trees, %zu devices, the runtime directory, its own /proc\n",
			c->new_net ? "none (a namespace of its own)" : "host",
			c->ro.n, c->devs.n);
	else
		fprintf(f, "jail: off (%s)%s\n", c->no_jail,
			c->new_net ? "; network = none needs the jail" : "");
	fprintf(f, "landlock: %s\n",
		landlock_describe(c->landlock_abi, ll, sizeof(ll)));
	if (confine_kernel_ro_opens(c, c->policy))
		fprintf(f, "read-only opens: answered by the kernel (the jail and Landlock confine them); every other open goes to the broker\n");
	else if (c->policy == VS_POLICY_BROKER)
		fprintf(f, "read-only opens: every open goes to the broker (%s)\n",
			!c->kernel_opens ? "kernel-opens = no, or lock-after" :
					   "needs the jail and Landlock");
	fprintf(f, "death signal: the emulator is killed when its supervisor dies%s\n",
		c->jailed ? " (death signal, and the jail's init ends the PID namespace)" :
			    " (death signal)");
}

void confine_log(const struct confine *c)
{
	char *buf = NULL, *line, *save = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return;
	confine_report(f, c);
	fclose(f);
	for (line = strtok_r(buf, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save))
		vlog(LOG_INFO, "%s", line);
	free(buf);
}
