/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "chain/record.h"
#include "common/path.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "launcher/log.h"
#include "launcher/plan.h"

char **plan_disk_roots(const struct guest_config *cfg,
		       const struct disk_config *d, size_t *n)
{
	struct strv roots = STRV_INIT;

	if (cfg->n_roots) {
		for (size_t i = 0; i < cfg->n_roots; i++)
			strv_push(&roots, cfg->roots[i]);
	} else {
		strv_push_take(&roots, path_dirname(d->image));
	}
	*n = roots.n;
	return strv_steal(&roots);
}

char **plan_guest_roots(const struct guest_config *cfg, size_t *n)
{
	struct strv all = STRV_INIT;

	for (size_t k = 0; k < cfg->n_disks; k++) {
		size_t nr;
		char **roots = plan_disk_roots(cfg, &cfg->disks[k], &nr);

		for (size_t i = 0; i < nr; i++) {
			bool dup = false;

			for (size_t j = 0; j < all.n; j++)
				dup |= !strcmp(all.v[j], roots[i]);
			if (!dup)
				strv_push(&all, roots[i]);
		}
		strv_free_array(roots);
	}
	for (size_t i = 0; !cfg->n_disks && i < cfg->n_roots; i++)
		strv_push(&all, cfg->roots[i]);
	*n = all.n;
	return strv_steal(&all);
}

/* Disk names are at most 31 characters and indexes stay far below 10^6. */
static void __attribute__((format(printf, 2, 3)))
node_name(char buf[NODE_NAME_MAX], const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, NODE_NAME_MAX, fmt, ap);
	va_end(ap);
}

void plan_assign(struct plan *p)
{
	int first = p->first_fd ? p->first_fd : PLAN_FIRST_FD;
	int fd = first, set = p->first_set ? p->first_set : PLAN_FIRST_SET;

	for (size_t k = 0; k < p->n_disks; k++) {
		struct plan_disk *d = &p->disks[k];

		free(d->nodes);
		d->nodes = xcalloc(d->chain.n, sizeof(*d->nodes));
		for (size_t i = 0; i < d->chain.n; i++) {
			struct plan_node *nd = &d->nodes[i];

			nd->fd = fd++;
			nd->set = set++;
			nd->readonly = i > 0 || d->cfg->readonly;
			/*
			 * QEMU node names are at most 31 characters and a
			 * disk name may use them all, so only the top
			 * format node carries it.
			 */
			node_name(nd->file_node, "vs%zuf%zu", k, i);
			if (i == 0 && d->cfg->copy_on_read) {
				/* The filter carries the disk's name. */
				node_name(nd->fmt_node, "vs%zut", k);
				node_name(d->cor_node, "%s", d->cfg->name);
			} else if (i == 0)
				node_name(nd->fmt_node, "%s", d->cfg->name);
			else
				node_name(nd->fmt_node, "vs%zub%zu", k, i);
			if (i == 0 && d->dual)
				nd->ro_fd = fd++;
			if (d->chain.m[i].data_file) {
				nd->data_fd = fd++;
				nd->data_set = set++;
				node_name(nd->data_node, "vs%zud%zu", k, i);
			}
		}
	}
	outputs_assign(&p->out, &fd, &set);
	p->n_fds = fd - first;
}

size_t plan_fds(const struct plan *p, struct plan_fd *out)
{
	size_t k = 0;

	for (size_t i = 0; i < p->n_disks; i++) {
		const struct plan_disk *d = &p->disks[i];

		for (size_t j = 0; j < d->chain.n; j++) {
			const struct chain_member *m = &d->chain.m[j];

			out[k++] = (struct plan_fd){ m->fd, d->nodes[j].fd,
						     &m->st };
			if (d->nodes[j].ro_fd)
				out[k++] = (struct plan_fd){ d->ro_src,
							     d->nodes[j].ro_fd,
							     &m->st };
			if (m->data_file)
				out[k++] = (struct plan_fd){
					m->data_file->fd, d->nodes[j].data_fd,
					&m->data_file->st
				};
		}
	}
	for (size_t i = 0; i < p->out.n; i++) {
		const struct output *o = &p->out.v[i];

		if (o->dst)
			out[k++] = (struct plan_fd){ o->fd, o->dst, &o->st };
	}
	return k;
}

struct chain_opts plan_chain_opts(const struct guest_config *cfg,
				  const struct disk_config *d, bool for_run,
				  char **roots, size_t n_roots)
{
	return (struct chain_opts){
		.roots = roots,
		.n_roots = n_roots,
		.max_depth = cfg->max_depth,
		.top_writable = for_run && !d->readonly,
		.keep_fds = for_run,
		.allow_data_file = d->allow_data_file,
		.allow_blockdev = d->allow_blockdev,
		.backing_format = d->backing_format,
		/* Only `run` writes a record, which is all that reads them. */
		.hash_headers = for_run && cfg->record,
	};
}

/*
 * QEMU 7.2 opens VMDK extents itself: -blockdev has no "extents" option,
 * and -drive's extents.N can name neither an existing node nor a
 * filename of ours (bdrv_open_child() always passes the extent's path
 * from the descriptor), so an extent could only be reached by path.
 */
int plan_check_passable(const struct chain *c, struct vs_err *err)
{
	for (size_t i = 0; i < c->n; i++) {
		const struct chain_member *m = &c->m[i];

		if (!m->n_extents)
			continue;
		vs_err_ctx(err, "%s: offset 0x%llx", m->real_path,
			   (unsigned long long)m->info.extents[0].line_offset);
		return vs_errf(err, ENOTSUP,
			       "VMDK descriptor (createType %s) with %zu extent file%s: QEMU 7.2 cannot take extents as descriptors (-blockdev has no 'extents' option and -drive extents.N cannot name a passed file), so it would open '%s' by path; convert it with qemu-img convert -O vmdk -o subformat=monolithicSparse",
			       m->info.create_type, m->n_extents,
			       m->n_extents == 1 ? "" : "s", m->extents[0].name);
	}
	return 0;
}

/*
 * Where a disk starts: the config's image, or the active layer vmseal's
 * own live operations (the monitor gate) moved it to, as the chain record
 * pins it: the record's "image" is the config's and its first member is
 * another file (gate_record.c).  NULL: the config's image.
 */
static const char *start_layer(struct json_object *rec,
			       const struct disk_config *dc, enum vs_format *fmt)
{
	struct json_object *disks, *d, *v, *chain, *top;

	if (!rec || !json_object_object_get_ex(rec, "disks", &disks) ||
	    !json_object_is_type(disks, json_type_array))
		return NULL;
	for (size_t i = 0; i < json_object_array_length(disks); i++) {
		const char *f;

		d = json_object_array_get_idx(disks, i);
		if (!json_object_object_get_ex(d, "name", &v) ||
		    strcmp(json_object_get_string(v), dc->name) != 0)
			continue;
		if (!json_object_object_get_ex(d, "image", &v) ||
		    strcmp(json_object_get_string(v), dc->image) != 0 ||
		    !json_object_object_get_ex(d, "chain", &chain) ||
		    !json_object_is_type(chain, json_type_array) ||
		    !(top = json_object_array_get_idx(chain, 0)) ||
		    !json_object_object_get_ex(top, "filename", &v))
			return NULL;
		f = json_object_get_string(v);
		if (!f || f[0] != '/' || !strcmp(f, dc->image) ||
		    !json_object_object_get_ex(top, "format", &v) ||
		    vs_format_from_name(json_object_get_string(v), fmt) < 0 ||
		    *fmt == VS_FMT_NONE)
			return NULL;
		return f;
	}
	return NULL;
}

int plan_build(const struct guest_config *cfg, bool for_run, struct plan *out,
	       struct vs_err *err)
{
	struct json_object *rec = NULL;
	struct vs_err rerr = { 0 };

	memset(out, 0, sizeof(*out));
	out->cfg = cfg;
	if (outputs_find(cfg, &out->out, err) < 0)
		return -PLAN_EOUTPUT;
	out->disks = xcalloc(cfg->n_disks, sizeof(*out->disks));
	if (cfg->record && record_load(cfg->record, &rec, &rerr) < 0)
		rec = NULL;
	for (size_t k = 0; k < cfg->n_disks; k++) {
		const struct disk_config *dc = &cfg->disks[k];
		struct plan_disk *d = &out->disks[k];
		size_t n_roots;
		char **roots = plan_disk_roots(cfg, dc, &n_roots);
		struct chain_opts opts = plan_chain_opts(cfg, dc, for_run, roots,
							 n_roots);
		enum vs_format fmt = dc->format;
		const char *image = start_layer(rec, dc, &fmt);
		int rc;

		d->cfg = dc;
		if (image)
			vlog(LOG_NOTICE, "disk %s: starts from its active layer %s "
					 "(vmseal's live operations moved it there; "
					 "the config names %s)",
			     dc->name, image, dc->image);
		rc = chain_resolve(image ? image : dc->image, fmt, &opts,
				   &d->chain, err);
		strv_free_array(roots);
		if (rc == 0)
			rc = plan_check_passable(&d->chain, err);
		if (rc < 0) {
			out->n_disks = k + 1;
			plan_free(out);
			json_object_put(rec);
			return rc;
		}
		out->n_disks = k + 1;
	}
	json_object_put(rec);
	plan_assign(out);
	return 0;
}

void plan_close_fds(struct plan *p)
{
	for (size_t k = 0; k < p->n_disks; k++) {
		struct plan_disk *d = &p->disks[k];

		chain_close_fds(&d->chain);
		if (d->dual && d->ro_src >= 0)
			close(d->ro_src);
		d->ro_src = -1;
	}
	outputs_close_fds(&p->out);
}

void plan_free(struct plan *p)
{
	plan_close_fds(p);
	for (size_t k = 0; k < p->n_disks; k++) {
		chain_free(&p->disks[k].chain);
		free(p->disks[k].nodes);
	}
	free(p->disks);
	outputs_free(&p->out);
	memset(p, 0, sizeof(*p));
}
