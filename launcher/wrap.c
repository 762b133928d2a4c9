/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/path.h"
#include "common/xalloc.h"
#include "launcher/argv.h"
#include "launcher/exitcode.h"
#include "launcher/keyval.h"
#include "launcher/wrap.h"

/* One -drive or -blockdev value, as QEMU will read it. */
struct blockarg {
	size_t arg;		/* index in args */
	bool drive;		/* -drive (else -blockdev) */
	bool json;		/* JSON -blockdev (else key=value) */
	struct keyval kv;	/* key=value items, when !json */
	struct json_object *obj; /* the value as an object, either way */
	bool dirty;		/* rewritten: serialise again */
};

/* A file some node opens, and how. */
struct unit {
	size_t block;		/* the blockarg holding the file's name */
	bool inline_file;	/* named as "file": {...} of a format node */
	const char *path;
	enum vs_format fmt;	/* from the format node above it; raw if none */
	size_t fmt_block;	/* that format node's blockarg, or SIZE_MAX */
	bool follow;		/* the format node names no backing: we do */
	bool readonly;
	bool dual;		/* auto-read-only: read-only and read-write fds */
	bool blockdev;		/* host_device / host_cdrom */
	/* -drive file=fd:N,backing=fd:M,...: the caller's chain, top first. */
	int *fds;
	enum vs_format *fmts;	/* backing[.backing...].format=, or NONE */
	size_t n_fds;
};

struct scan {
	struct blockarg *b;
	size_t n_b;
	struct unit *u;
	size_t n_u;
	bool *drop;		/* args vmseal takes over (-pidfile, -daemonize) */
	bool has_sandbox;
	int max_set;
	char **repl;		/* an argument rewritten as a whole, or NULL */
	struct strv mon_ids;	/* -mon chardev=ID,mode=control */
};

static const char *const file_drivers[] = { "file", "host_device",
					    "host_cdrom", NULL };

static bool in_list(const char *s, const char *const *list)
{
	for (; s && *list; list++) {
		if (!strcmp(s, *list))
			return true;
	}
	return false;
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool jhas(struct json_object *o, const char *key)
{
	return o && json_object_object_get_ex(o, key, NULL);
}

/* QEMU's booleans: JSON true, or on/true/yes/y in key=value. */
static bool jtrue(struct json_object *o, const char *key)
{
	struct json_object *v;
	const char *s;

	if (!o || !json_object_object_get_ex(o, key, &v))
		return false;
	if (json_object_is_type(v, json_type_boolean))
		return json_object_get_boolean(v);
	s = json_object_get_string(v);
	return s && (!strcmp(s, "on") || !strcmp(s, "true") ||
		     !strcmp(s, "yes") || !strcmp(s, "y"));
}

static struct json_object *jobj(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}

/* A format vmseal decodes, or VS_FMT_NONE. */
static enum vs_format decoded(const char *driver)
{
	enum vs_format f = VS_FMT_NONE;

	if (driver)
		vs_format_from_name(driver, &f);
	return f;
}

static void add_unit(struct scan *sc, struct unit u)
{
	sc->u = xreallocarray(sc->u, sc->n_u + 1, sizeof(*sc->u));
	sc->u[sc->n_u++] = u;
}

static void note_fd(int **keep, size_t *n, int fd)
{
	*keep = xreallocarray(*keep, *n + 1, sizeof(int));
	(*keep)[(*n)++] = fd;
}

/* Keeps every descriptor a value names: fd=N, fds=N:M, vhostfd(s)=. */
static void note_fds_text(const char *s, int **keep, size_t *n)
{
	static const char *const keys[] = { "fd=", "fds=", "vhostfd=",
					    "vhostfds=", NULL };

	for (const char *p = s; *p; p++) {
		if (p != s && p[-1] != ',')
			continue;
		for (const char *const *k = keys; *k; k++) {
			const char *v;

			if (strncmp(p, *k, strlen(*k)))
				continue;
			for (v = p + strlen(*k); isdigit((unsigned char)*v);) {
				*keep = xreallocarray(*keep, *n + 1, sizeof(int));
				(*keep)[(*n)++] = (int)strtol(v, (char **)&v, 10);
				if (*v == ':')
					v++;
			}
		}
	}
}

static void note_fds_json(struct json_object *o, int **keep, size_t *n)
{
	if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++)
			note_fds_json(json_object_array_get_idx(o, i), keep, n);
		return;
	}
	if (!json_object_is_type(o, json_type_object))
		return;
	json_object_object_foreach(o, key, val) {
		if (!strcmp(key, "fd") || !strcmp(key, "fds") ||
		    !strcmp(key, "vhostfd") || !strcmp(key, "vhostfds")) {
			char buf[64];

			snprintf(buf, sizeof(buf), "%s=%s", key,
				 json_object_get_string(val));
			note_fds_text(buf, keep, n);
		} else {
			note_fds_json(val, keep, n);
		}
	}
}

/* "unix:PATH,server=on" or "unix:path=PATH" (legacy chardev syntax). */
static void note_unix_socket(struct wrap *w, const char *v)
{
	if (strncmp(v, "unix:", 5))
		return;
	v += 5;
	if (!strncmp(v, "path=", 5))
		v += 5;
	strv_push_take(&w->sockets, xstrndup(v, strcspn(v, ",")));
}

static void note_object(struct wrap *w, const char *v)
{
	struct json_object *o = NULL;
	struct keyval kv;
	const char *type, *file;

	if (v[0] == '{') {
		o = json_tokener_parse(v);
		type = jstr(o, "qom-type");
		file = jstr(o, "file");
		/* A secret's file is read once, by path. */
		if (type && !strcmp(type, "secret") && file)
			strv_push(&w->files, file);
		json_object_put(o);
		return;
	}
	keyval_parse(v, &kv);
	type = keyval_get(&kv, "qom-type");
	if (!type && kv.n && !kv.it[0].key)
		type = kv.it[0].value;
	file = keyval_get(&kv, "file");
	if (type && !strcmp(type, "secret") && file)
		strv_push(&w->files, file);
	keyval_free(&kv);
}

static void note_chardev(struct wrap *w, const char *v)
{
	struct keyval kv;
	const char *path;

	keyval_parse(v, &kv);
	path = keyval_get(&kv, "path");
	if (kv.n && !kv.it[0].key && !strcmp(kv.it[0].value, "socket") && path)
		strv_push(&w->sockets, path);
	keyval_free(&kv);
}

static int refuse(struct vs_err *err, const char *what, const char *why)
{
	vs_err_ctx(err, "%s", what);
	return vs_errf(err, EINVAL, "%s", why);
}

static int add_block(struct scan *sc, char *const *args, size_t i, bool drive,
		     struct vs_err *err)
{
	struct blockarg b = { .arg = i, .drive = drive };

	if (!drive && args[i][0] == '{') {
		b.json = true;
		b.obj = json_tokener_parse(args[i]);
		if (!b.obj || !json_object_is_type(b.obj, json_type_object)) {
			json_object_put(b.obj);
			return refuse(err, args[i],
				      "-blockdev is not a JSON object QEMU would read");
		}
	} else {
		keyval_parse(args[i], &b.kv);
		b.obj = keyval_to_json(&b.kv);
	}
	sc->b = xreallocarray(sc->b, sc->n_b + 1, sizeof(*sc->b));
	sc->b[sc->n_b++] = b;
	return 0;
}

/* The first pass: what every option asks for. */
static int scan_args(char *const *args, struct scan *sc, struct wrap *w,
		     struct vs_err *err)
{
	static const char *const no_format[] = {
		"-hda", "-hdb", "-hdc", "-hdd", "-cdrom", "-fda", "-fdb",
		"-sd", "-mtdblock", "-pflash", NULL,
	};
	static const char *const read_files[] = { "-kernel", "-initrd", "-dtb",
						  "-bios", NULL };
	static const char *const unix_opts[] = { "-qmp", "-qmp-pretty",
						 "-monitor", "-serial",
						 "-parallel", NULL };
	size_t n = strv_array_len(args);

	sc->drop = xcalloc(n + 1, sizeof(bool));
	sc->repl = xcalloc(n + 1, sizeof(char *));
	sc->max_set = -1;
	/* Any word may name a descriptor, whichever option it belongs to. */
	for (size_t i = 0; i < n; i++) {
		if (args[i][0] == '{') {
			struct json_object *o = json_tokener_parse(args[i]);

			note_fds_json(o, &w->keep, &w->n_keep);
			json_object_put(o);
		} else {
			note_fds_text(args[i], &w->keep, &w->n_keep);
		}
	}
	for (size_t i = 0; i < n; i++) {
		const char *opt = args[i], *v = i + 1 < n ? args[i + 1] : NULL;
		char buf[32];
		int rc;

		if (opt[0] != '-')
			continue;
		/* QEMU takes --opt for -opt. */
		if (opt[1] == '-')
			opt++;
		if (in_list(opt, no_format)) {
			snprintf(buf, sizeof(buf), "%s", opt);
			return refuse(err, buf,
				      "names a disk without a format, and vmseal "
				      "never probes: use -drive file=FILE,format=FMT "
				      "(or -blockdev) instead");
		}
		if (!strcmp(opt, "-snapshot"))
			return refuse(err, opt,
				      "makes QEMU create a temporary image by path, "
				      "which the sandbox refuses");
		if (!strcmp(opt, "-daemonize")) {
			w->daemonize = true;
			sc->drop[i] = true;
			continue;
		}
		if (!strcmp(opt, "-sandbox"))
			sc->has_sandbox = true;
		if (!v)
			continue;
		if (!strcmp(opt, "-blockdev") || !strcmp(opt, "-drive")) {
			rc = add_block(sc, args, i + 1, opt[1] == 'd', err);
			if (rc < 0)
				return rc;
		} else if (!strcmp(opt, "-pidfile")) {
			free(w->pidfile);
			w->pidfile = xstrdup(v);
			sc->drop[i] = sc->drop[i + 1] = true;
		} else if (!strcmp(opt, "-name")) {
			struct keyval kv;
			const char *g;

			keyval_parse(v, &kv);
			g = keyval_get(&kv, "guest");
			if (!g && kv.n && !kv.it[0].key)
				g = kv.it[0].value;
			if (g) {
				free(w->name);
				w->name = xstrdup(g);
			}
			keyval_free(&kv);
		} else if (in_list(opt, read_files)) {
			strv_push(&w->files, v);
		} else if (!strcmp(opt, "-object")) {
			note_object(w, v);
		} else if (!strcmp(opt, "-chardev")) {
			note_chardev(w, v);
		} else if (!strcmp(opt, "-mon")) {
			struct keyval kv;
			const char *mode, *dev;

			keyval_parse(v, &kv);
			mode = keyval_get(&kv, "mode");
			dev = keyval_get(&kv, "chardev");
			if (dev && mode && !strcmp(mode, "control"))
				strv_push(&sc->mon_ids, dev);
			keyval_free(&kv);
		} else if (in_list(opt, unix_opts)) {
			note_unix_socket(w, v);
		} else if (!strcmp(opt, "-incoming")) {
			/* "fd:N" names its stream; "defer" names it later. */
			if (!strcmp(v, "defer"))
				w->incoming_defer = true;
			else if (!strncmp(v, "fd:", 3) && isdigit((unsigned char)v[3]))
				note_fd(&w->keep, &w->n_keep, atoi(v + 3));
		} else if (!strcmp(opt, "-add-fd")) {
			struct keyval kv;
			const char *set;

			keyval_parse(v, &kv);
			set = keyval_get(&kv, "set");
			if (set && atoi(set) > sc->max_set)
				sc->max_set = atoi(set);
			keyval_free(&kv);
		} else {
			continue;
		}
		i++; /* the value, already looked at */
	}
	return 0;
}

static bool listening_socket(int fd)
{
	int v = 0;
	socklen_t l = sizeof(v);
	struct stat st;

	return fstat(fd, &st) == 0 && S_ISSOCK(st.st_mode) &&
	       getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &l) == 0 && v;
}

/*
 * The QMP monitor the caller hands over as a listening socket: the
 * -chardev socket,id=ID,fd=N,server=on that a -mon chardev=ID,mode=control
 * uses, with N an open listening socket.  Its -chardev is rewritten to
 * socket,id=ID,fd=N (a connected channel: the gate's) and N noted.
 */
static void find_monitor(char *const *args, struct scan *sc, struct wrap *w)
{
	for (size_t i = 0; args[i] && args[i + 1]; i++) {
		const char *opt = args[i];
		struct keyval kv;
		const char *id, *fd, *server;
		char *end;
		long n;

		if (opt[0] == '-' && opt[1] == '-')
			opt++;
		if (strcmp(opt, "-chardev"))
			continue;
		keyval_parse(args[i + 1], &kv);
		id = keyval_get(&kv, "id");
		fd = keyval_get(&kv, "fd");
		server = keyval_get(&kv, "server");
		if (kv.n && !kv.it[0].key && !strcmp(kv.it[0].value, "socket") &&
		    id && fd && isdigit((unsigned char)fd[0]) && server &&
		    (!strcmp(server, "on") || !strcmp(server, "true") ||
		     !strcmp(server, "yes")) &&
		    sc->mon_ids.n &&
		    in_list(id, (const char *const *)sc->mon_ids.v)) {
			n = strtol(fd, &end, 10);
			if (!*end && n > 2 && n < 1 << 20 &&
			    listening_socket((int)n) && w->monitor_fd < 0) {
				w->monitor_fd = (int)n;
				free(sc->repl[i + 1]);
				sc->repl[i + 1] = xasprintf("socket,id=%s,fd=%ld",
							    id, n);
			}
		}
		keyval_free(&kv);
	}
}

/* "fd:N" as N, or -1. */
static int fd_name(const char *v)
{
	char *end;
	long n;

	if (!v || strncmp(v, "fd:", 3) || !isdigit((unsigned char)v[3]))
		return -1;
	n = strtol(v + 3, &end, 10);
	return *end || n > 1 << 20 ? -1 : (int)n;
}

/* Drops key from kv (every occurrence). */
static void kv_drop(struct keyval *kv, const char *key)
{
	size_t n = 0;

	for (size_t i = 0; i < kv->n; i++) {
		if (kv->it[i].key && !strcmp(kv->it[i].key, key)) {
			free(kv->it[i].key);
			free(kv->it[i].value);
			continue;
		}
		kv->it[n++] = kv->it[i];
	}
	kv->n = n;
}

/*
 * The 2011 fd: form: file=fd:N, backing=fd:M, backing.backing=fd:K...,
 * each level's format from format=, backing.format=... or its overlay's
 * header.  Fills u and takes the backing keys out of the -drive.
 */
static int fd_chain(struct blockarg *b, struct unit *u, const char *fmt,
		    struct vs_err *err)
{
	char key[256] = "", fkey[300];

	u->n_fds = 0;
	for (int depth = 0;; depth++) {
		const char *v = depth ? keyval_get(&b->kv, key) : jstr(b->obj, "file");
		int fd = fd_name(v);

		if (!v)
			break;
		if (fd < 0)
			return refuse(err, v, depth ?
				      "in the fd: form a backing is fd:N, a descriptor this command passes" :
				      "not fd:N");
		u->fds = xreallocarray(u->fds, u->n_fds + 1, sizeof(int));
		u->fmts = xreallocarray(u->fmts, u->n_fds + 1, sizeof(*u->fmts));
		u->fds[u->n_fds] = fd;
		u->fmts[u->n_fds] = VS_FMT_NONE;
		if (depth == 0) {
			u->fmts[0] = decoded(fmt);
			if (u->fmts[0] == VS_FMT_NONE)
				return refuse(err, fmt, "in the fd: form the format must be one vmseal decodes");
		} else {
			snprintf(fkey, sizeof(fkey), "%s.format", key);
			if (keyval_get(&b->kv, fkey)) {
				u->fmts[u->n_fds] = decoded(keyval_get(&b->kv, fkey));
				if (u->fmts[u->n_fds] == VS_FMT_NONE)
					return refuse(err, keyval_get(&b->kv, fkey),
						      "not a format vmseal decodes");
				kv_drop(&b->kv, fkey);
			}
			kv_drop(&b->kv, key);
		}
		u->n_fds++;
		if (strlen(key) + 9 >= sizeof(key))
			break;
		strcat(key, depth ? ".backing" : "backing");
	}
	json_object_put(b->obj);
	b->obj = keyval_to_json(&b->kv);
	b->dirty = true;
	return 0;
}

/* The blockarg whose node-name is name, or SIZE_MAX. */
static size_t find_format_of(const struct scan *sc, const char *node)
{
	for (size_t k = 0; node && k < sc->n_b; k++) {
		const char *file = jstr(sc->b[k].obj, "file");

		if (!sc->b[k].drive && file && !strcmp(file, node))
			return k;
	}
	return SIZE_MAX;
}

/* The second pass: which files the block options name, and how. */
static int find_units(struct scan *sc, struct vs_err *err)
{
	for (size_t j = 0; j < sc->n_b; j++) {
		struct blockarg *b = &sc->b[j];
		struct json_object *o = b->obj, *f;
		const char *driver = jstr(o, "driver");
		struct unit u = { .block = j, .fmt = VS_FMT_RAW,
				  .fmt_block = SIZE_MAX };

		if (b->drive) {
			const char *fmt = jstr(o, "format");

			u.path = jstr(o, "file");
			if (!u.path)
				continue; /* an empty drive (a CD-ROM slot) */
			if (!fmt)
				fmt = driver;
			if (!fmt)
				return refuse(err, u.path,
					      "-drive has no format=, and vmseal never "
					      "probes: add format=FMT");
			if (fd_name(u.path) >= 0) {
				int rc = fd_chain(b, &u, fmt, err);

				if (rc < 0)
					return rc;
				u.path = jstr(b->obj, "file"); /* a new object */
				u.fmt = u.fmts[0];
				u.follow = true;
				u.readonly = jtrue(b->obj, "readonly");
				u.dual = !u.readonly;
				add_unit(sc, u);
				continue;
			}
			if (u.path[0] != '/' || path_has_protocol(u.path))
				return refuse(err, u.path,
					      "-drive file= must be an absolute path "
					      "(a protocol or json: name would bypass "
					      "vmseal's checks; use -blockdev)");
			if (jtrue(o, "snapshot"))
				return refuse(err, u.path,
					      "snapshot=on makes QEMU create a temporary "
					      "image by path, which the sandbox refuses");
			u.fmt = decoded(fmt);
			u.follow = u.fmt != VS_FMT_NONE && !jhas(o, "backing");
			if (u.fmt == VS_FMT_NONE)
				u.fmt = VS_FMT_RAW; /* not ours to read: pass as is */
			u.readonly = jtrue(o, "readonly");
			/* -drive opens its file auto-read-only: read-only first. */
			u.dual = !u.readonly;
			add_unit(sc, u);
			continue;
		}
		if (in_list(driver, file_drivers) && jstr(o, "filename")) {
			size_t k = find_format_of(sc, jstr(o, "node-name"));

			u.path = jstr(o, "filename");
			u.blockdev = strcmp(driver, "file") != 0;
			u.readonly = jtrue(o, "read-only");
			u.dual = !u.readonly && jtrue(o, "auto-read-only");
			if (k != SIZE_MAX && decoded(jstr(sc->b[k].obj, "driver"))) {
				u.fmt = decoded(jstr(sc->b[k].obj, "driver"));
				u.fmt_block = k;
				u.follow = !jhas(sc->b[k].obj, "backing");
			}
		} else if ((f = jobj(o, "file")) &&
			   in_list(jstr(f, "driver"), file_drivers) &&
			   jstr(f, "filename")) {
			u.inline_file = true;
			u.path = jstr(f, "filename");
			u.blockdev = strcmp(jstr(f, "driver"), "file") != 0;
			u.readonly = jtrue(o, "read-only") || jtrue(f, "read-only");
			u.dual = !u.readonly && (jtrue(f, "auto-read-only") ||
						 jtrue(o, "auto-read-only"));
			if (decoded(driver)) {
				u.fmt = decoded(driver);
				u.fmt_block = j;
				u.follow = !jhas(o, "backing");
			}
		} else {
			continue;
		}
		if (u.path[0] != '/')
			return refuse(err, u.path,
				      "a file node's filename must be absolute");
		add_unit(sc, u);
	}
	return 0;
}

/* A second, read-only description of the top for QEMU's first open. */
static int reopen_ro(int fd)
{
	char self[64];

	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	return open(self, O_RDONLY | O_CLOEXEC);
}

static int open_units(const struct guest_config *cfg, struct scan *sc,
		      struct wrap *w, struct vs_err *err)
{
	w->disks = xcalloc(sc->n_u + 1, sizeof(*w->disks));
	w->plan.disks = xcalloc(sc->n_u + 1, sizeof(*w->plan.disks));
	w->plan.cfg = cfg;
	for (size_t k = 0; k < sc->n_u; k++) {
		struct unit *u = &sc->u[k];
		struct disk_config *dc = &w->disks[k];
		struct plan_disk *d = &w->plan.disks[k];
		size_t n_roots;
		char **roots;
		struct chain_opts opts;
		int rc;

		w->n_disks = k + 1;
		dc->name = xasprintf("w%zu", k);
		dc->image = xstrdup(u->path);
		dc->format = u->fmt;
		dc->readonly = u->readonly;
		dc->allow_blockdev = u->blockdev;
		roots = plan_disk_roots(cfg, dc, &n_roots);
		opts = plan_chain_opts(cfg, dc, true, roots, n_roots);
		opts.top_only = !u->follow;
		d->cfg = dc;
		d->ro_src = -1;
		if (u->n_fds) {
			/* The caller's descriptors: an -drive of its own mode. */
			u->dual = u->dual && opts.top_writable;
			rc = chain_from_fds(u->fds, u->fmts, u->n_fds,
					    opts.top_writable, u->blockdev,
					    &d->chain, err);
		} else {
			rc = chain_resolve(u->path, u->fmt, &opts, &d->chain, err);
		}
		if ((rc == -EACCES || rc == -EROFS) && u->dual && !u->n_fds) {
			/* auto-read-only: QEMU makes do with read-only too. */
			u->dual = false;
			dc->readonly = true;
			opts.top_writable = false;
			rc = chain_resolve(u->path, u->fmt, &opts, &d->chain, err);
		}
		strv_free_array(roots);
		if (rc == 0)
			rc = plan_check_passable(&d->chain, err);
		if (rc < 0)
			return rc;
		w->plan.n_disks = k + 1;
		if (u->dual) {
			d->ro_src = reopen_ro(d->chain.m[0].fd);
			if (d->ro_src < 0)
				return vs_errnof(err, errno, "%s: reopening read-only",
						 u->path);
			d->dual = true;
		}
	}
	return 0;
}

static void set_value(struct blockarg *b, bool inline_file, const char *key,
		      const char *value)
{
	char dotted[64];

	if (b->json) {
		struct json_object *o = inline_file ? jobj(b->obj, "file") : b->obj;

		json_object_object_add(o, key, json_object_new_string(value));
	} else {
		snprintf(dotted, sizeof(dotted), "%s%s",
			 inline_file ? "file." : "", key);
		keyval_set(&b->kv, dotted, value);
	}
	b->dirty = true;
}

/* The new argv: binary, our fds and backing nodes, the caller's args. */
static void rewrite(const struct guest_config *cfg, const char *binary,
		    char *const *args, struct scan *sc, struct wrap *w)
{
	struct strv a = STRV_INIT;

	strv_push(&a, binary);
	for (size_t k = 0; k < w->plan.n_disks; k++) {
		const struct plan_disk *d = &w->plan.disks[k];
		const struct unit *u = &sc->u[k];
		struct blockarg *b = &sc->b[u->block];
		char set[32];

		argv_add_disk_fds(&a, d);
		snprintf(set, sizeof(set), "/dev/fdset/%d", d->nodes[0].set);
		set_value(b, u->inline_file, b->drive ? "file" : "filename", set);
		if (!u->follow || d->chain.n < 2)
			continue;
		argv_add_disk_nodes(&a, d, 1);
		if (b->drive)
			set_value(b, false, "backing", d->nodes[1].fmt_node);
		else
			set_value(&sc->b[u->fmt_block], false, "backing",
				  d->nodes[1].fmt_node);
	}
	/* QEMU's own layer, unless the caller (libvirt) asked for its own. */
	if (cfg->qemu_sandbox && !sc->has_sandbox && config_emulator_is_qemu(cfg)) {
		strv_push(&a, "-sandbox");
		strv_push(&a, "on,obsolete=deny,elevateprivileges=deny,"
			      "spawn=deny,resourcecontrol=deny");
	}
	for (size_t i = 0; args[i]; i++) {
		struct blockarg *b = NULL;

		if (sc->drop[i])
			continue;
		for (size_t j = 0; j < sc->n_b; j++) {
			if (sc->b[j].arg == i && sc->b[j].dirty)
				b = &sc->b[j];
		}
		if (sc->repl[i])
			strv_push(&a, sc->repl[i]);
		else if (!b)
			strv_push(&a, args[i]);
		else if (b->json)
			strv_push(&a, json_object_to_json_string_ext(
					      b->obj, JSON_C_TO_STRING_PLAIN |
						      JSON_C_TO_STRING_NOSLASHESCAPE));
		else
			strv_push_take(&a, keyval_str(&b->kv));
	}
	w->argv = strv_steal(&a);
}

/* A guest name vmseal can use for its runtime directory. */
static bool name_ok(const char *s)
{
	size_t n = strlen(s);

	if (!n || n > 64 || !isalnum((unsigned char)s[0]))
		return false;
	for (; *s; s++) {
		if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
			return false;
	}
	return true;
}

/*
 * A descriptor the caller passed across its exec (no FD_CLOEXEC) that can
 * be an incoming migration stream: read-only on a regular file (libvirt's
 * restore and managedsave: the save image, past libvirt's header), a
 * pipe (a decompressor, libvirt's iohelper) or a socket (a tunnel).
 * Never a directory, an O_PATH, a device, or a file open for writing.
 */
static bool stream_fd(int fd)
{
	int fdfl = fcntl(fd, F_GETFD), fl = fcntl(fd, F_GETFL);
	struct stat st;

	if (fdfl < 0 || (fdfl & FD_CLOEXEC) || fl < 0 || (fl & O_PATH) ||
	    fstat(fd, &st) < 0)
		return false;
	if (S_ISSOCK(st.st_mode))
		return true;
	return (S_ISREG(st.st_mode) || S_ISFIFO(st.st_mode)) &&
	       (fl & O_ACCMODE) == O_RDONLY;
}

static bool kept(const int *keep, size_t n, int fd)
{
	for (size_t i = 0; i < n; i++) {
		if (keep[i] == fd)
			return true;
	}
	return false;
}

/*
 * The caller's descriptors the emulator keeps, with their numbers: those
 * the command line names (fd=, fds=, -add-fd, -incoming fd:N) that are
 * really open and, with "-incoming defer", every inherited stream_fd(),
 * which the caller names later (libvirt: migrate-incoming "fd:24" on the
 * monitor).  Every other descriptor is closed before the exec.
 */
static void keep_open_fds(struct wrap *w)
{
	size_t n = 0;

	for (size_t i = 0; i < w->n_keep; i++) {
		if (w->keep[i] > 2 && fcntl(w->keep[i], F_GETFD) >= 0 &&
		    !kept(w->keep, n, w->keep[i]))
			w->keep[n++] = w->keep[i];
	}
	w->n_keep = n;
	if (w->incoming_defer) {
		DIR *d = opendir("/proc/self/fd");
		struct dirent *e;

		while (d && (e = readdir(d))) {
			int fd = atoi(e->d_name);

			if (e->d_name[0] == '.' || fd <= 2 || fd == dirfd(d) ||
			    kept(w->keep, w->n_keep, fd) || !stream_fd(fd))
				continue;
			note_fd(&w->keep, &w->n_keep, fd);
		}
		if (d)
			closedir(d);
	}
}

int wrap_build(const struct guest_config *cfg, const char *binary,
	       char *const *args, struct wrap *w, struct vs_err *err)
{
	struct scan sc = { 0 };
	int first = 3, rc;

	memset(w, 0, sizeof(*w));
	w->monitor_fd = -1;
	rc = scan_args(args, &sc, w, err);
	if (rc == 0)
		rc = find_units(&sc, err);
	if (rc < 0) {
		rc = EXIT_USAGE;
		goto out;
	}
	keep_open_fds(w);
	if (config_emulator_is_qemu(cfg))
		find_monitor(args, &sc, w);
	if (w->monitor_fd >= 0) {
		/* The gate's, not the emulator's. */
		size_t n = 0;

		for (size_t i = 0; i < w->n_keep; i++)
			if (w->keep[i] != w->monitor_fd)
				w->keep[n++] = w->keep[i];
		w->n_keep = n;
		if (w->monitor_fd >= first)
			first = w->monitor_fd + 1;
	}
	if (!w->name || !name_ok(w->name)) {
		free(w->name);
		w->name = xasprintf("wrap-%d", (int)getpid());
	}
	rc = open_units(cfg, &sc, w, err);
	if (rc < 0) {
		rc = EXIT_IMAGE;
		goto out;
	}
	/* Our descriptors go above every one the caller passes. */
	for (size_t i = 0; i < w->n_keep; i++) {
		if (w->keep[i] >= first)
			first = w->keep[i] + 1;
	}
	w->plan.first_fd = first;
	w->plan.first_set = sc.max_set >= WRAP_FIRST_SET ? sc.max_set + 1 :
							  WRAP_FIRST_SET;
	plan_assign(&w->plan);
	rewrite(cfg, binary, args, &sc, w);
out:
	for (size_t j = 0; j < sc.n_b; j++) {
		json_object_put(sc.b[j].obj);
		keyval_free(&sc.b[j].kv);
	}
	free(sc.b);
	for (size_t k = 0; k < sc.n_u; k++) {
		free(sc.u[k].fds);
		free(sc.u[k].fmts);
	}
	free(sc.u);
	free(sc.drop);
	for (size_t i = 0; sc.repl && args[i]; i++)
		free(sc.repl[i]);
	free(sc.repl);
	strv_free(&sc.mon_ids);
	return rc;
}

void wrap_free(struct wrap *w)
{
	size_t n = w->n_disks;

	plan_free(&w->plan);
	for (size_t k = 0; w->disks && k < n; k++) {
		free(w->disks[k].name);
		free(w->disks[k].image);
	}
	free(w->disks);
	strv_free_array(w->argv);
	free(w->keep);
	strv_free(&w->files);
	strv_free(&w->sockets);
	free(w->pidfile);
	free(w->name);
	memset(w, 0, sizeof(*w));
	w->monitor_fd = -1;
}
