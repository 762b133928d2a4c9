/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_CLI_H
#define VS_LAUNCHER_CLI_H

#include <stdbool.h>
#include <stdio.h>

enum cli_command {
	CMD_NONE,
	CMD_CHECK,
	CMD_ARGV,
	CMD_RUN,
	CMD_FILTER,
	CMD_LOCK,
	CMD_STATUS,
	CMD_SELFTEST,
	CMD_CHAIN,
	CMD_STOP,
	CMD_WRAP,
	CMD_RESTORE_LABELS,
	/* Over a running guest's monitor gate (gate_cmd.c). */
	CMD_QMP,
	CMD_SNAPSHOT,
	CMD_COMMIT,
	CMD_STREAM,
	CMD_COPY,
	CMD_ATTACH,
	CMD_DETACH,
	CMD_MEDIA,
};

/* Most --root options `vmseal chain` takes. */
#define CLI_ROOTS_MAX 16

struct cli {
	enum cli_command cmd;
	const char *arg;	/* the positional argument: FILE or NAME */
	bool verbose;		/* run -v */
	bool json;		/* selftest --json */
	bool bpf, pfc;		/* filter --bpf / --pfc */
	const char *policy;	/* filter --policy */
	const char *emulator;	/* selftest --emulator */
	const char *guest;	/* selftest --guest */
	/* chain IMAGE --format F [--root DIR]... */
	const char *format;
	const char *roots[CLI_ROOTS_MAX];
	size_t n_roots;
	const char *max_depth;
	const char *backing_format;
	bool data_file, block_device;
	bool accept;		/* chain --accept FILE */
	/* run --daemon [--pidfile FILE] [--log FILE]; stop --timeout S */
	bool daemon;
	const char *pidfile;
	const char *log;
	const char *timeout;
	/* wrap [--config FILE] [--dry-run] -- EMULATOR ARGS... */
	const char *config;
	bool dry_run;
	char **rest;		/* EMULATOR ARGS..., NULL-terminated */
	/* gate commands: NAME and the rest in rest; their options */
	const char *base, *image, *device;
	bool pivot, readonly, eject;
	bool help;		/* help was asked for: printed, exit 0 */
	bool version;
};

/*
 * Parses argv.  Returns 0, or -EINVAL after printing what is wrong and a
 * pointer to --help (exit 64).
 */
int cli_parse(int argc, char **argv, struct cli *out);

void cli_usage(FILE *f, enum cli_command cmd);

#endif
