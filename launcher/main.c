/* SPDX-License-Identifier: GPL-2.0-or-later */
/* vmseal: the command line, and the commands that need no supervisor. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/strv.h"
#include "conf/config.h"
#include "launcher/cli.h"
#include "launcher/confine.h"
#include "launcher/commands.h"
#include "launcher/control.h"
#include "launcher/exitcode.h"
#include "launcher/identity.h"
#include "launcher/interp.h"
#include "launcher/plan.h"
#include "launcher/record_use.h"
#include "launcher/report.h"
#include "launcher/run.h"
#include "launcher/rundir.h"
#include "sandbox/allowlist.h"
#include "sandbox/privs.h"

/* runs: check or run, which refuse what the policy cannot execute. */
static int load(const char *file, bool runs, struct guest_config **cfg)
{
	struct vs_err err = { 0 };

	if (config_load(file, cfg, &err) < 0)
		return run_fail(&err, EXIT_CONFIG);
	if (access((*cfg)->binary, X_OK) < 0) {
		vs_errnof(&err, errno, "emulator %s cannot be executed",
			  (*cfg)->binary);
		return run_fail(&err, EXIT_NOEXEC);
	}
	if (runs && interp_check((*cfg)->policy, (*cfg)->binary, &err) < 0)
		return run_fail(&err, EXIT_NOEXEC);
	return 0;
}

static int cmd_check(const struct guest_config *cfg)
{
	struct confine confine = CONFINE_INIT;
	struct vs_err err = { 0 };
	char *rundir, **argv;
	struct allowlist al;
	struct identity id;
	struct privs privs;
	struct plan plan;
	int rc;

	rc = run_privs(cfg, cfg->name, false, &privs, &id);
	if (rc)
		return rc;
	rc = plan_build(cfg, false, &plan, &err);
	if (rc < 0) {
		privs_free(&privs);
		return run_fail(&err, rc == -PLAN_EOUTPUT ? EXIT_CONFIG :
							    EXIT_IMAGE);
	}
	/* check refuses what run would: moved pins, others' images. */
	rc = record_check(&plan);
	if (rc) {
		privs_free(&privs);
		plan_free(&plan);
		return rc;
	}
	run_allowlist(cfg, &al);
	rundir = rundir_path(cfg->name);
	argv = run_argv(&plan);
	confine_plan(&confine, cfg, argv, cfg->binary, &al, rundir, false, NULL);
	strv_free_array(argv);
	free(rundir);
	if (confine_check_images(&confine, &plan, &err) < 0) {
		confine_release(&confine);
		allowlist_free(&al);
		plan_free(&plan);
		privs_free(&privs);
		return run_fail(&err, EXIT_IMAGE);
	}
	report_plan(stdout, &plan, &al);
	report_privs(stdout, &privs);
	if (id.allocated)
		printf("uid %u is guest %s's own, %s from uid-range %u-%u "
		       "(%s/uids); it needs no passwd entry\n",
		       (unsigned)privs.uid, cfg->name,
		       id.fresh ? "to be allocated at the first run" : "allocated",
		       (unsigned)id.first, (unsigned)id.last, id.state_dir);
	confine_report(stdout, &confine);
	confine_release(&confine);
	privs_free(&privs);
	printf("ok: %s is valid; no emulator was started\n", cfg->path);
	allowlist_free(&al);
	plan_free(&plan);
	return 0;
}

static int cmd_argv(const struct guest_config *cfg)
{
	struct vs_err err = { 0 };
	struct plan plan;
	char **argv;

	int rc = plan_build(cfg, false, &plan, &err);

	if (rc < 0)
		return run_fail(&err, rc == -PLAN_EOUTPUT ? EXIT_CONFIG :
							    EXIT_IMAGE);
	argv = run_argv(&plan);
	for (char **a = argv; *a; a++)
		printf("%s\n", *a);
	strv_free_array(argv);
	plan_free(&plan);
	return 0;
}

/* lock and status: one request to a running guest's supervisor. */
int cmd_control(const struct cli *cli)
{
	struct vs_err err = { 0 };
	char reply[CONTROL_MSG_MAX];

	if (control_request(cli->arg, cli->cmd == CMD_LOCK ? "lock" : "status",
			    reply, sizeof(reply), &err) < 0)
		return run_fail(&err, err.code == ENOENT ? EXIT_UNAVAILABLE : 1);
	if (strncmp(reply, "ok", 2) != 0) {
		fprintf(stderr, "vmseal: %s: %s\n", cli->arg, reply);
		return 1;
	}
	printf("%s: %s\n", cli->arg, reply[2] ? reply + 3 : "ok");
	return 0;
}

int main(int argc, char **argv)
{
	struct guest_config *cfg = NULL;
	struct cli cli;
	int rc = 0;

	/* A symlink named like the emulator: the drop-in wrapper. */
	{
		const char *base = strrchr(argv[0], '/');

		base = base ? base + 1 : argv[0];
		if (strncmp(base, "vmseal", 6) != 0)
			return cmd_wrap_symlink(argv[0], argv + 1);
	}
	/*
	 * What vmseal creates (runtime and state directories, the record,
	 * pid files) has the modes the documents give, whatever umask it
	 * was started with: files and directories meant to be private are
	 * created 0600 and 0700 explicitly.  The wrapper above keeps its
	 * caller's umask.
	 */
	umask(022);
	if (cli_parse(argc, argv, &cli) < 0)
		return EXIT_USAGE;
	if (cli.version) {
		printf("vmseal %s\n", VMSEAL_VERSION);
		return 0;
	}
	if (cli.help) {
		cli_usage(stdout, cli.cmd);
		return 0;
	}
	switch (cli.cmd) {
	case CMD_CHECK:
	case CMD_ARGV:
	case CMD_RUN:
		rc = load(cli.arg, cli.cmd != CMD_ARGV, &cfg);
		if (rc)
			break;
		if (cli.cmd == CMD_CHECK)
			rc = cmd_check(cfg);
		else if (cli.cmd == CMD_ARGV)
			rc = cmd_argv(cfg);
		else
			rc = run_guest(cfg, &(struct run_opts){
						    .verbose = cli.verbose,
						    .daemon = cli.daemon,
						    .pidfile = cli.pidfile,
						    .log = cli.log,
					    });
		break;
	case CMD_FILTER:
		if (cli.arg) {
			struct vs_err err = { 0 };

			if (config_load(cli.arg, &cfg, &err) < 0) {
				rc = run_fail(&err, EXIT_CONFIG);
				break;
			}
		}
		rc = cmd_filter(&cli, cfg);
		break;
	case CMD_LOCK:
	case CMD_STATUS:
		rc = cmd_control(&cli);
		break;
	case CMD_STOP:
		rc = cmd_stop(&cli);
		break;
	case CMD_WRAP:
		rc = cmd_wrap(&cli);
		break;
	case CMD_RESTORE_LABELS:
		rc = cmd_restore_labels(&cli);
		break;
	case CMD_SELFTEST:
		rc = cmd_selftest(&cli);
		break;
	case CMD_CHAIN:
		rc = cmd_chain(&cli);
		break;
	case CMD_QMP:
	case CMD_SNAPSHOT:
	case CMD_COMMIT:
	case CMD_STREAM:
	case CMD_COPY:
	case CMD_ATTACH:
	case CMD_DETACH:
	case CMD_MEDIA:
		rc = cmd_gate(&cli);
		break;
	case CMD_NONE:
		rc = EXIT_USAGE;
		break;
	}
	config_free(cfg);
	return rc;
}
