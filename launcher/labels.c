/* SPDX-License-Identifier: GPL-2.0-or-later */
/* [selinux] in `run`, `check` and `restore-labels`; see labels.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <selinux/selinux.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "launcher/exitcode.h"
#include "launcher/labels.h"
#include "launcher/log.h"
#include "launcher/run.h"
#include "launcher/rundir.h"

/* What a guest's files and emulator get; NULL: left as they are. */
struct chosen {
	char *exec, *image, *backing;
	const char *exec_from, *image_from, *backing_from;
};

static void chosen_free(struct chosen *c)
{
	free(c->exec);
	free(c->image);
	free(c->backing);
	memset(c, 0, sizeof(*c));
}

/* Whether anything derived from the policy is wanted. */
static bool wants_derived(const struct guest_config *cfg)
{
	return !cfg->selinux_label || !cfg->image_label || !cfg->backing_label;
}

/*
 * Explicit labels as given; with SELinux enabled the rest as sVirt
 * derives them: domain and image context with the guest's pair, the
 * content context as it is (shared by every guest, so s0 alone).
 */
static int choose(const struct guest_config *cfg, bool enabled,
		  const char *level, struct chosen *c, struct vs_err *err)
{
	char *domain = NULL, *image = NULL, *content = NULL;
	int rc = 0;

	memset(c, 0, sizeof(*c));
	if (enabled && wants_derived(cfg))
		rc = label_virtual_contexts(&domain, &image, &content, err);
	if (rc < 0)
		return rc;
	if (cfg->selinux_label) {
		c->exec = enabled ? xstrdup(cfg->selinux_label) : NULL;
		c->exec_from = "label";
	} else if (enabled) {
		c->exec = label_with_mcs(domain, level);
		c->exec_from = "virtual_domain_context";
	}
	if (cfg->image_label) {
		c->image = xstrdup(cfg->image_label);
		c->image_from = "image-label";
	} else if (enabled) {
		c->image = label_with_mcs(image, level);
		c->image_from = "virtual_image_context";
	}
	if (cfg->backing_label) {
		c->backing = xstrdup(cfg->backing_label);
		c->backing_from = "backing-label";
	} else if (enabled) {
		c->backing = xstrdup(content);
		c->backing_from = "virtual_image_context, content";
	}
	free(domain);
	free(image);
	free(content);
	return 0;
}

/* One target per chain member and data file that gets a label. */
static size_t targets(const struct plan *p, const struct chosen *c,
		      struct label_target *t)
{
	size_t n = 0;

	for (size_t k = 0; k < p->n_disks; k++) {
		const struct plan_disk *d = &p->disks[k];

		for (size_t i = 0; i < d->chain.n; i++) {
			const struct chain_member *m = &d->chain.m[i];
			bool w = !d->nodes[i].readonly;
			const char *ctx = w ? c->image : c->backing;

			if (!ctx)
				continue;
			t[n++] = (struct label_target){
				m->real_path ? m->real_path : m->path, m->fd,
				ctx, w
			};
			if (m->data_file)
				t[n++] = (struct label_target){
					m->data_file->real_path ?
						m->data_file->real_path :
						m->data_file->path,
					m->data_file->fd, ctx, w
				};
		}
	}
	return n;
}

static void log_notes(struct strv *notes)
{
	for (size_t i = 0; i < notes->n; i++)
		vlog(LOG_NOTICE, "note: %s", notes->v[i]);
	strv_free(notes);
}

int labels_prepare(struct labels *l, const struct guest_config *cfg,
		   const struct plan *p, const char *run_dir)
{
	struct strv notes = STRV_INIT;
	struct vs_err err = { 0 };
	struct label_target *t;
	struct chosen c;
	char level[32] = "s0";
	bool enabled;
	size_t n;
	int rc;

	if (cfg->selinux_mode == VS_SELINUX_OFF)
		return 0;
	enabled = is_selinux_enabled() > 0;
	if (!enabled && cfg->selinux_mode == VS_SELINUX_REQUIRED) {
		vs_errf(&err, ENOTSUP,
			"SELinux is disabled on this host and [selinux] mode = required: not starting");
		vs_err_ctx(&err, "%s", cfg->path);
		return run_fail(&err, EXIT_SANDBOX);
	}
	if (!enabled) {
		vlog(LOG_NOTICE, "note: SELinux is disabled: derived labels skipped");
		if (cfg->selinux_label)
			vlog(LOG_NOTICE,
			     "note: [selinux] label = %s not applied: no exec transition without SELinux",
			     cfg->selinux_label);
		if (!cfg->image_label && !cfg->backing_label)
			return 0;
	}
	rc = label_session_start(&l->s, run_dir ?: rundir_base(), cfg->name,
				 &notes, &err);
	log_notes(&notes);
	if (rc < 0)
		return run_fail(&err, EXIT_SANDBOX);
	l->active = true;
	if (enabled && (!cfg->selinux_label || !cfg->image_label) &&
	    label_mcs_reserve(&l->s, level, sizeof(level), &err) < 0)
		return run_fail(&err, EXIT_SANDBOX);
	if (choose(cfg, enabled, level, &c, &err) < 0)
		return run_fail(&err, EXIT_SANDBOX);
	t = xcalloc((size_t)p->n_fds + 1, sizeof(*t));
	n = targets(p, &c, t);
	rc = label_apply(&l->s, t, n, &err);
	if (rc == 0 && enabled)
		rc = label_check_access(c.exec, t, n, &err);
	label_session_unlock(&l->s);
	free(t);
	if (rc < 0) {
		chosen_free(&c);
		return run_fail(&err, EXIT_SANDBOX);
	}
	if (enabled)
		vlog(LOG_INFO, "SELinux: emulator context %s (from %s)", c.exec,
		     c.exec_from);
	l->exec = steal_ptr(&c.exec);
	l->image = steal_ptr(&c.image);
	l->backing = steal_ptr(&c.backing);
	chosen_free(&c);
	return 0;
}

int labels_gate_use(void *arg, int fd, const char *path, bool writable,
		    char *why, size_t n)
{
	struct labels *l = arg;
	const char *ctx = writable ? l->image : l->backing;
	struct vs_err err = { 0 };
	int rc;

	if (!l->active || !ctx)
		return 0;
	rc = label_add(&l->s,
		       &(struct label_target){ path, fd, ctx, writable }, &err);
	if (rc < 0) {
		vs_err_str(&err, why, n);
		return rc;
	}
	vlog(LOG_INFO, "SELinux: %s labelled %s (taken up through the monitor "
		       "gate)",
	     path, ctx);
	return 0;
}

void labels_gate_drop(void *arg, int fd, const char *path)
{
	struct labels *l = arg;
	struct vs_err err = { 0 };
	char buf[2200];

	if (!l->active)
		return;
	if (label_drop(&l->s, fd, &err) < 0)
		vlog(LOG_WARNING, "SELinux: %s keeps its label until the guest "
				  "ends: %s",
		     path, vs_err_str(&err, buf, sizeof(buf)));
	else
		vlog(LOG_INFO, "SELinux: %s let go of through the monitor gate: "
			       "its label is restored unless another guest uses it",
		     path);
}

void labels_release(struct labels *l)
{
	struct strv notes = STRV_INIT;
	struct vs_err err = { 0 };
	int rc;

	free(l->exec);
	free(l->image);
	free(l->backing);
	l->exec = l->image = l->backing = NULL;
	if (!l->active)
		return;
	l->active = false;
	rc = label_session_end(&l->s, &notes, &err);
	if (rc < 0)
		run_fail(&err, 0);
	log_notes(&notes);
}

/* Why nothing is labelled, or NULL when something may be. */
static const char *off_reason(const struct guest_config *cfg, bool enabled)
{
	if (cfg->selinux_mode == VS_SELINUX_OFF)
		return "SELinux off";
	if (enabled)
		return NULL;
	return cfg->selinux_mode == VS_SELINUX_REQUIRED ?
		       "SELinux disabled: mode = required refuses to run" :
		       "SELinux disabled";
}

const char *labels_describe(const struct guest_config *cfg, bool writable,
			    char *buf, size_t len)
{
	bool enabled = is_selinux_enabled() > 0;
	const char *why = off_reason(cfg, enabled);
	struct vs_err err = { 0 };
	const char *from, *ctx;
	struct chosen c;

	if (cfg->selinux_mode == VS_SELINUX_OFF ||
	    (why && !(writable ? cfg->image_label : cfg->backing_label))) {
		snprintf(buf, len, "label unchanged (%s)", why);
		return buf;
	}
	/* The pair is chosen at run; check shows its place. */
	if (choose(cfg, enabled, "s0:cX,cY", &c, &err) < 0) {
		snprintf(buf, len, "label unknown: %s: %s", err.context,
			 err.msg);
		return buf;
	}
	ctx = writable ? c.image : c.backing;
	from = writable ? c.image_from : c.backing_from;
	snprintf(buf, len, "label %s (from %s%s)", ctx ? ctx : "?",
		 from ? from : "?",
		 writable && !cfg->image_label ? "; X,Y chosen at run" : "");
	chosen_free(&c);
	return buf;
}

void labels_report(FILE *f, const struct guest_config *cfg)
{
	bool enabled = is_selinux_enabled() > 0;
	const char *why = off_reason(cfg, enabled);
	struct vs_err err = { 0 };
	struct chosen c;

	fprintf(f, "selinux mode %s: ", vs_selinux_mode_name(cfg->selinux_mode));
	if (why) {
		fprintf(f, "%s%s", why,
			cfg->selinux_mode == VS_SELINUX_OFF ?
				", nothing labelled" :
				": derived labels skipped, emulator context unchanged");
		if (cfg->selinux_mode != VS_SELINUX_OFF && cfg->selinux_label)
			fprintf(f, " (label = %s needs SELinux)",
				cfg->selinux_label);
		fputc('\n', f);
		return;
	}
	if (choose(cfg, enabled, "s0:cX,cY", &c, &err) < 0) {
		fprintf(f, "emulator context unknown: %s: %s\n", err.context,
			err.msg);
		return;
	}
	fprintf(f, "emulator context %s (from %s)\n", c.exec, c.exec_from);
	chosen_free(&c);
}

int cmd_restore_labels(const struct cli *cli)
{
	struct label_restore_stats st;
	struct strv notes = STRV_INIT;
	struct vs_err err = { 0 };
	int rc;

	if (!label_guest_name_ok(cli->arg)) {
		fprintf(stderr, "vmseal: invalid guest name '%s'\n", cli->arg);
		return EXIT_USAGE;
	}
	rc = label_restore_guest(rundir_base(), cli->arg, &st, &notes, &err);
	log_notes(&notes);
	if (rc == -ENOENT || rc == -EBUSY)
		return run_fail(&err, EXIT_UNAVAILABLE);
	if (rc < 0)
		return run_fail(&err, EXIT_SANDBOX);
	printf("%s: %zu label%s restored, %zu kept (still used by running guests), %zu skipped\n",
	       cli->arg, st.restored, st.restored == 1 ? "" : "s", st.kept,
	       st.skipped);
	return 0;
}
