/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * `vmseal chain IMAGE --format F`: one image's chain, resolved under the
 * rules `run` uses (read-only, nothing kept open), printed as text or as
 * the JSON array `qemu-img info --backing-chain --output=json` prints,
 * with vmseal's fields under "vmseal".  The JSON is the chain record's
 * own serializer (chain/record.c).  `vmseal chain --accept FILE` approves
 * a guest's changed backing references (record_use.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "chain/record.h"
#include "common/path.h"
#include "common/xalloc.h"
#include "conf/config.h"
#include "launcher/commands.h"
#include "launcher/exitcode.h"

static int usage(const char *what, const char *arg)
{
	fprintf(stderr, "vmseal: %s '%s'\nTry 'vmseal chain --help'.\n", what,
		arg);
	return EXIT_USAGE;
}

static int parse_format(const char *name, const char *opt,
			enum vs_format *out)
{
	if (vs_format_from_name(name, out) < 0) {
		char msg[64];

		snprintf(msg, sizeof(msg), "%s: unknown format", opt);
		return usage(msg, name);
	}
	return 0;
}

static void print_file(const char *what, const struct chain_file *f)
{
	printf("    %s '%s' -> %s, %s, dev %u:%u ino %llu, size %llu%s\n", what,
	       f->name, f->path,
	       f->open_flags == O_RDONLY ? "read-only" : "read-write",
	       major(f->st.st_dev), minor(f->st.st_dev),
	       (unsigned long long)f->st.st_ino, (unsigned long long)f->size,
	       f->blockdev ? ", block device" : "");
}

static void print_text(const struct chain *c)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct chain_member *m = &c->m[i];
		char hex[SHA256_HEX_LEN + 1], when[64];
		struct tm tm;

		gmtime_r(&m->st.st_mtim.tv_sec, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S", &tm);
		printf("%zu %s\n", i, m->path);
		printf("    format %s%s, virtual size %llu, %s%s\n",
		       vs_format_name(m->info.format),
		       m->format_from_config ? " (from --backing-format)" : "",
		       (unsigned long long)m->info.virtual_size,
		       m->open_flags == O_RDONLY ? "read-only" : "read-write",
		       m->blockdev ? ", block device" : "");
		printf("    dev %u:%u ino %llu, size %llu, mtime %s.%09ldZ\n",
		       major(m->st.st_dev), minor(m->st.st_dev),
		       (unsigned long long)m->st.st_ino,
		       (unsigned long long)m->size, when,
		       m->st.st_mtim.tv_nsec);
		printf("    header sha256 %s (%zu bytes read)\n",
		       sha256_hex(m->header_sha256, hex), m->header_len);
		if (m->raw_magic)
			printf("    note: begins with a %s header; read as raw (never probed)\n",
			       m->raw_magic);
		if (m->info.has_backing)
			printf("    backing '%s'%s%s\n", m->info.backing_name,
			       i + 1 < c->n ? " -> " : "",
			       i + 1 < c->n ? c->m[i + 1].path : "");
		if (m->data_file)
			print_file("data file", m->data_file);
		for (size_t k = 0; k < m->n_extents; k++)
			print_file("extent", &m->extents[k]);
	}
}

int cmd_chain(const struct cli *cli)
{
	char *image = NULL, *dir = NULL, *roots[CLI_ROOTS_MAX];
	struct chain_opts opts = { .max_depth = VS_MAX_DEPTH_DEFAULT };
	enum vs_format fmt;
	struct chain c = { 0 };
	struct vs_err err = { 0 };
	char buf[2200];
	int rc;

	if (cli->accept)
		return cmd_chain_accept(cli);
	if (!cli->format)
		return usage("--format is required; vmseal never probes",
			     cli->arg);
	if (parse_format(cli->format, "--format", &fmt))
		return EXIT_USAGE;
	if (cli->backing_format &&
	    parse_format(cli->backing_format, "--backing-format",
			 &opts.backing_format))
		return EXIT_USAGE;
	if (cli->max_depth) {
		char *end;
		unsigned long v = strtoul(cli->max_depth, &end, 10);

		if (!*cli->max_depth || *end || cli->max_depth[0] == '-' ||
		    v < 1 || v > VS_MAX_DEPTH_LIMIT)
			return usage("--max-depth must be from 1 to 4096, not",
				     cli->max_depth);
		opts.max_depth = (unsigned)v;
	}
	/* A relative IMAGE is taken against the cwd, as written. */
	if (cli->arg[0] == '/') {
		image = xstrdup(cli->arg);
	} else {
		char *cwd = getcwd(NULL, 0);

		if (!cwd) {
			perror("vmseal: getcwd");
			return EXIT_IMAGE;
		}
		image = xasprintf("%s/%s", cwd, cli->arg);
		free(cwd);
	}
	for (size_t i = 0; i < cli->n_roots; i++)
		roots[i] = (char *)cli->roots[i];
	opts.n_roots = cli->n_roots;
	if (!opts.n_roots) {
		dir = path_dirname(image);
		roots[0] = dir;
		opts.n_roots = 1;
	}
	opts.roots = roots;
	opts.allow_data_file = cli->data_file;
	opts.allow_blockdev = cli->block_device;
	opts.cli = true;
	/* The text shows each header's digest; --json hashes nothing. */
	opts.hash_headers = !cli->json;

	rc = chain_resolve(image, fmt, &opts, &c, &err);
	if (rc < 0) {
		fprintf(stderr, "vmseal: %s\n", vs_err_str(&err, buf, sizeof(buf)));
		rc = EXIT_IMAGE;
	} else if (cli->json) {
		int r = record_chain_write(STDOUT_FILENO, &c);

		if (r < 0) {
			fprintf(stderr, "vmseal: writing the chain: %s\n",
				strerror(-r));
			rc = EXIT_IMAGE;
		}
	} else {
		print_text(&c);
	}
	chain_free(&c);
	free(image);
	free(dir);
	return rc;
}
