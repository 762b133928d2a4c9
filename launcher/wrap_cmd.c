/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `vmseal wrap`, and vmseal run through a symlink named like the
 * emulator: the config (if any), which emulator, then run_wrapped().
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "launcher/commands.h"
#include "launcher/exitcode.h"
#include "launcher/identity.h"
#include "launcher/interp.h"
#include "launcher/log.h"
#include "launcher/run.h"
#include "launcher/rundir.h"
#include "launcher/wrap.h"

#define WRAP_CONFIG "/etc/vmseal/wrap.ini"
#define WRAP_EMULATOR_DIR "/usr/bin"

/* With no wrap.ini: the defaults of a guest config. */
static const char default_config[] = "[vmseal]\nversion = 1\nname = wrap\n";

static int load_config(const char *path, struct guest_config **cfg)
{
	struct vs_err err = { 0 };

	if (!path && access(WRAP_CONFIG, F_OK) == 0)
		path = WRAP_CONFIG;
	if (path ? config_load(path, cfg, &err) < 0 :
		   config_parse("(defaults)", default_config,
				sizeof(default_config) - 1, cfg, &err) < 0)
		return run_fail(&err, EXIT_CONFIG);
	if ((*cfg)->n_disks || (*cfg)->n_args || (*cfg)->kernel) {
		vs_err_ctx(&err, "%s", path);
		vs_errf(&err, EINVAL,
			"a wrapper's config takes no [disk], args or kernel: "
			"those come from the emulator's command line");
		return run_fail(&err, EXIT_CONFIG);
	}
	return 0;
}

/* The same file as vmseal itself: a symlink loop, or a mistake. */
static bool is_ourselves(const char *emulator)
{
	_cleanup_free_ char *a = realpath(emulator, NULL);
	_cleanup_free_ char *b = realpath("/proc/self/exe", NULL);

	return a && b && !strcmp(a, b);
}

static int wrap(struct guest_config *cfg, const char *emulator,
		char **args, bool dry_run, const char *config)
{
	struct vs_err err = { 0 };
	struct wrap w;
	int rc;

	if (emulator[0] != '/') {
		fprintf(stderr, "vmseal: the emulator must be an absolute path, "
				"not '%s' (no PATH search)\n", emulator);
		return EXIT_USAGE;
	}
	if (is_ourselves(emulator)) {
		fprintf(stderr, "vmseal: %s is vmseal itself: set [emulator] "
				"binary in %s\n", emulator,
			config ? config : WRAP_CONFIG);
		return EXIT_USAGE;
	}
	if (access(emulator, X_OK) < 0) {
		fprintf(stderr, "vmseal: emulator %s cannot be executed: %m\n",
			emulator);
		return EXIT_NOEXEC;
	}
	if (interp_check(cfg->policy, emulator, &err) < 0)
		return run_fail(&err, EXIT_NOEXEC);
	free(cfg->binary);
	cfg->binary = xstrdup(emulator);
	rc = wrap_build(cfg, emulator, args, &w, &err);
	if (rc)
		return run_fail(&err, rc);
	if (dry_run) {
		struct identity id;
		struct privs privs;

		/* Who the emulator would run as: refused as the run refuses. */
		rc = run_privs(cfg, w.name, false, &privs, &id);
		if (!rc) {
			privs_free(&privs);
			for (char **a = w.argv; *a; a++)
				printf("%s\n", *a);
		}
	} else {
		/* Root's guests in RUN, another user's in RUN/wrap/UID. */
		_cleanup_free_ char *base = rundir_wrap_base();
		struct run_opts o = {
			.daemon = w.daemonize,
			.pidfile = w.pidfile,
			.run_dir = base,
		};

		rc = run_wrapped(cfg, &w, &o);
	}
	wrap_free(&w);
	return rc;
}

int cmd_wrap(const struct cli *cli)
{
	struct guest_config *cfg = NULL;
	int rc = load_config(cli->config, &cfg);

	if (!rc)
		rc = wrap(cfg, cli->rest[0], cli->rest + 1, cli->dry_run,
			  cli->config);
	config_free(cfg);
	return rc;
}

int cmd_wrap_symlink(const char *self, char **args)
{
	const char *env = getenv("VMSEAL_WRAP_CONFIG");
	const char *base = strrchr(self, '/');
	_cleanup_free_ char *emulator = NULL;
	struct guest_config *cfg = NULL;
	int rc;

	base = base ? base + 1 : self;
	rc = load_config(env && *env ? env : NULL, &cfg);
	if (rc)
		return rc;
	/* Never a PATH search: it could find this very symlink. */
	emulator = cfg->binary_given ? xstrdup(cfg->binary) :
				       xasprintf("%s/%s", WRAP_EMULATOR_DIR, base);
	/*
	 * We are /usr/bin/NAME ourselves (vmseal-qemu-divert): dpkg-divert
	 * moved the real emulator to NAME.real.
	 */
	if (!cfg->binary_given && is_ourselves(emulator)) {
		char *real = xasprintf("%s.real", emulator);

		if (access(real, X_OK) == 0 && !is_ourselves(real)) {
			free(emulator);
			emulator = real;
		} else {
			free(real);
		}
	}
	rc = wrap(cfg, emulator, args, false, env && *env ? env : NULL);
	config_free(cfg);
	return rc;
}
