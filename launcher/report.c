/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <inttypes.h>
#include <string.h>

#include "common/strv.h"
#include "launcher/labels.h"
#include "launcher/report.h"
#include "sandbox/privs.h"

static const char *human_size(uint64_t n, char *buf, size_t len)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB",
					    "PiB", "EiB" };
	double v = (double)n;
	unsigned u = 0;

	while (v >= 1024 && u + 1 < sizeof(unit) / sizeof(unit[0])) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%" PRIu64 " B", n);
	else
		snprintf(buf, len, "%.1f %s", v, unit[u]);
	return buf;
}

static void report_disk(FILE *f, const struct plan *p, size_t k)
{
	const struct plan_disk *d = &p->disks[k];
	size_t n_roots;
	char **roots = plan_disk_roots(p->cfg, d->cfg, &n_roots);
	char size[32], line[2200];

	fprintf(f, "disk %s: %s%s, device %s, chain of %zu beneath",
		d->cfg->name, vs_format_name(d->cfg->format),
		d->cfg->readonly ? ", read-only" : "",
		d->cfg->device ? d->cfg->device : "none", d->chain.n);
	for (size_t i = 0; i < n_roots; i++)
		fprintf(f, "%s%s", i ? ":" : " ", roots[i]);
	fputc('\n', f);
	strv_free_array(roots);
	for (size_t i = 0; i < d->chain.n; i++) {
		const struct chain_member *m = &d->chain.m[i];
		const struct plan_node *nd = &d->nodes[i];

		fprintf(f, "  %zu %s\n", i, m->path);
		fprintf(f, "      format %s, virtual size %s, %s, fd %d",
			vs_format_name(m->info.format),
			human_size(m->info.virtual_size, size, sizeof(size)),
			nd->readonly ? "read-only" : "read-write", nd->fd);
		if (p->cfg->dialect == VS_DIALECT_FDSET)
			fprintf(f, " in fd set %d, node %s", nd->set,
				nd->fmt_node);
		fputc('\n', f);
		/* A data file gets its member's label. */
		fprintf(f, "      %s\n", labels_describe(p->cfg, !nd->readonly,
						      line, sizeof(line)));
		if (m->blockdev)
			fprintf(f, "      block device (block-device = allow)\n");
		if (m->format_from_config)
			fprintf(f, "      format from backing-format (the header records none)\n");
		if (m->info.has_backing)
			fprintf(f, "      backing '%s' (%s)\n",
				m->info.backing_name,
				i + 1 < d->chain.n ?
					vs_format_name(d->chain.m[i + 1].info.format) :
					vs_format_name(m->info.backing_format));
		if (m->data_file) {
			fprintf(f, "      data file '%s' -> %s, %s, fd %d",
				m->data_file->name, m->data_file->path,
				nd->readonly ? "read-only" : "read-write",
				nd->data_fd);
			if (p->cfg->dialect == VS_DIALECT_FDSET)
				fprintf(f, " in fd set %d, node %s",
					nd->data_set, nd->data_node);
			fputc('\n', f);
		}
	}
}

void report_plan(FILE *f, const struct plan *p, const struct allowlist *al)
{
	const struct guest_config *cfg = p->cfg;

	fprintf(f, "guest %s (%s)\n", cfg->name, cfg->path);
	fprintf(f, "emulator %s, dialect %s, policy %s\n", cfg->binary,
		vs_dialect_name(cfg->dialect), vs_policy_name(cfg->policy));
	if (cfg->kernel)
		fprintf(f, "kernel %s%s%s\n", cfg->kernel,
			cfg->initrd ? ", initrd " : "",
			cfg->initrd ? cfg->initrd : "");
	labels_report(f, cfg);
	if (!p->n_disks)
		fprintf(f, "no disks\n");
	for (size_t k = 0; k < p->n_disks; k++)
		report_disk(f, p, k);
	for (size_t i = 0; i < p->out.n; i++) {
		const struct output *o = &p->out.v[i];

		fprintf(f, "output %s (%s): ", o->path, cfg->args[o->opt]);
		if (o->set)
			fprintf(f, "opened by vmseal, fd %d in fd set %d%s\n",
				o->dst, o->set, o->append ? ", appended" : "");
		else if (o->kind == OUT_LOG)
			fprintf(f, "opened by vmseal, served by the broker\n");
		else
			fprintf(f, "the emulator's pid, written by vmseal\n");
	}
	fprintf(f, "descriptors passed: %d (fds %d..%d), every other fd closed\n",
		p->n_fds, p->first_fd ? p->first_fd : PLAN_FIRST_FD,
		(p->first_fd ? p->first_fd : PLAN_FIRST_FD) + p->n_fds - 1);
	if (cfg->policy != VS_POLICY_BROKER) {
		fprintf(f, "opens: %s\n", cfg->policy == VS_POLICY_DENY ?
			"every open fails with EACCES" :
			"any open kills the emulator");
		return;
	}
	fprintf(f, "broker serves read-only (every chain image refused):\n");
	for (size_t i = 0; i < al->n; i++) {
		const struct allow_entry *e = &al->e[i];

		if (!e->real && e->kind != ALLOW_PROC_SELF)
			continue; /* not on this host */
		fprintf(f, "  %-6s %s", allow_kind_name(e->kind), e->path);
		if (e->kind == ALLOW_DEV && e->rw)
			fprintf(f, ", read-write");
		if (e->real && e->kind != ALLOW_DEV && strcmp(e->real, e->path))
			fprintf(f, " -> %s", e->real);
		fprintf(f, " (%s)\n", e->why);
	}
}

void report_privs(FILE *f, const struct privs *p)
{
	char caps[512];

	fprintf(f, "emulator runs as user %s (uid %u), group %s (gid %u), ",
		p->user_name, (unsigned)p->uid, p->group_name, (unsigned)p->gid);
	if (!p->n_groups)
		fprintf(f, "no supplementary groups");
	for (size_t i = 0; i < p->n_groups; i++)
		fprintf(f, "%s%u", i ? "," : "supplementary groups ",
			(unsigned)p->groups[i]);
	fprintf(f, ", capabilities %s, NO_NEW_PRIVS%s\n",
		privs_caps_str(p->caps, caps, sizeof(caps)),
		p->change ? "" : " (vmseal is not root: no switch)");
}
