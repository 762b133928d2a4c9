/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The monitor gate's JSON: framing, reply members, and the command
 * rewriter.  A client's command reaches QEMU only as json-c re-serialised
 * it after a strict parse, so QEMU never parses anything the rewriter did
 * not see (no duplicate keys, no single quotes, no odd escapes).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "common/cleanup.h"
#include "common/xalloc.h"
#include "launcher/gate_json.h"

#define FDSET_PREFIX "/dev/fdset/"
/* json-c's nesting limit for a command (QEMU allows more; none need it). */
#define GATE_DEPTH 64

/* ---- framing ---------------------------------------------------------- */

void gate_framer_init(struct gate_framer *f)
{
	memset(f, 0, sizeof(*f));
}

void gate_framer_free(struct gate_framer *f)
{
	free(f->buf);
	memset(f, 0, sizeof(*f));
}

int gate_framer_feed(struct gate_framer *f, const char *data, size_t len)
{
	if (f->len + len > GATE_MSG_MAX + 4096 && f->depth)
		return -EMSGSIZE;
	if (f->len + len + 1 > f->cap) {
		f->cap = (f->len + len + 1) * 2;
		f->buf = xrealloc(f->buf, f->cap);
	}
	memcpy(f->buf + f->len, data, len);
	f->len += len;
	return 0;
}

/* Forgets the first n bytes of the buffer. */
static void framer_drop(struct gate_framer *f, size_t n)
{
	memmove(f->buf, f->buf + n, f->len - n);
	f->len -= n;
	f->scan -= n;
	f->start -= n > f->start ? f->start : n;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

int gate_framer_next(struct gate_framer *f, const char **obj, size_t *len)
{
	/* What the last call returned is consumed now. */
	if (f->start && !f->depth) {
		framer_drop(f, f->start);
		f->start = 0;
	}
	while (f->scan < f->len) {
		char c = f->buf[f->scan++];

		if (!f->depth) {
			if (blank(c))
				continue;
			if (c != '{') {
				/* Not an object: drop everything seen. */
				framer_drop(f, f->scan);
				f->start = 0;
				return -EPROTO;
			}
			f->depth = 1;
			f->start = f->scan - 1;
			f->in_string = f->escape = false;
			continue;
		}
		if (f->in_string) {
			if (f->escape)
				f->escape = false;
			else if (c == '\\')
				f->escape = true;
			else if (c == '"')
				f->in_string = false;
			continue;
		}
		if (c == '"') {
			f->in_string = true;
		} else if (c == '{' || c == '[') {
			f->depth++;
		} else if (c == '}' || c == ']') {
			if (--f->depth == 0) {
				*obj = f->buf + f->start;
				*len = f->scan - f->start;
				/* Dropped at the next call. */
				f->start = f->scan;
				return 1;
			}
		}
		if (f->scan - f->start > GATE_MSG_MAX) {
			framer_drop(f, f->scan);
			f->depth = 0;
			f->start = 0;
			return -EPROTO;
		}
	}
	/* Blanks before an object need not be kept. */
	if (!f->depth && f->scan) {
		framer_drop(f, f->scan);
		f->start = 0;
	}
	return 0;
}

/* ---- reply members ------------------------------------------------------ */

static size_t skip_blank(const char *s, size_t i, size_t len)
{
	while (i < len && blank(s[i]))
		i++;
	return i;
}

/* The end of the string starting at s[i] == '"', or 0. */
static size_t skip_string(const char *s, size_t i, size_t len)
{
	for (i++; i < len; i++) {
		if (s[i] == '\\')
			i++;
		else if (s[i] == '"')
			return i + 1;
	}
	return 0;
}

/* The end of the value starting at s[i], or 0. */
static size_t skip_value(const char *s, size_t i, size_t len)
{
	int depth = 0;

	if (i >= len)
		return 0;
	if (s[i] == '"')
		return skip_string(s, i, len);
	if (s[i] != '{' && s[i] != '[') {
		while (i < len && s[i] != ',' && s[i] != '}' && s[i] != ']' &&
		       !blank(s[i]))
			i++;
		return i;
	}
	for (; i < len; i++) {
		if (s[i] == '"') {
			i = skip_string(s, i, len);
			if (!i)
				return 0;
			i--;
		} else if (s[i] == '{' || s[i] == '[') {
			depth++;
		} else if (s[i] == '}' || s[i] == ']') {
			if (--depth == 0)
				return i + 1;
		}
	}
	return 0;
}

int gate_member(const char *s, size_t len, const char *key, size_t *vstart,
		size_t *vend, size_t *mstart, size_t *mend)
{
	size_t klen = strlen(key), i = skip_blank(s, 0, len), prev_end;

	if (i >= len || s[i] != '{')
		return -EPROTO;
	prev_end = i + 1;
	i = skip_blank(s, i + 1, len);
	if (i < len && s[i] == '}')
		return 0;
	for (;;) {
		size_t ks = i, ke, vs, ve, after;

		if (i >= len || s[i] != '"')
			return -EPROTO;
		ke = skip_string(s, i, len);
		if (!ke)
			return -EPROTO;
		i = skip_blank(s, ke, len);
		if (i >= len || s[i] != ':')
			return -EPROTO;
		vs = skip_blank(s, i + 1, len);
		ve = skip_value(s, vs, len);
		if (!ve || ve == vs)
			return -EPROTO;
		after = skip_blank(s, ve, len);
		if (after >= len || (s[after] != ',' && s[after] != '}'))
			return -EPROTO;
		if (ke - ks - 2 == klen && !memcmp(s + ks + 1, key, klen)) {
			*vstart = vs;
			*vend = ve;
			if (s[after] == ',') {
				/* "k": v, -> up to the next member */
				*mstart = ks;
				*mend = skip_blank(s, after + 1, len);
			} else {
				/* , "k": v} -> from the comma before */
				*mstart = prev_end;
				*mend = ve;
			}
			return 1;
		}
		if (s[after] == '}')
			return 0;
		prev_end = ve;
		i = skip_blank(s, after + 1, len);
	}
}

int gate_reply_unwrap(const char *line, size_t len, uint64_t *tag, char **out,
		      size_t *out_len)
{
	size_t vs, ve, ms, me, i, xs, xe;
	uint64_t t = 0;
	char *o;
	int rc = gate_member(line, len, "id", &vs, &ve, &ms, &me);

	if (rc <= 0)
		return rc;
	i = skip_blank(line, vs + 1, ve);
	if (line[vs] != '[' || i >= ve || line[i] < '0' || line[i] > '9')
		return 0;
	for (; i < ve && line[i] >= '0' && line[i] <= '9'; i++) {
		if (t > (UINT64_MAX - 9) / 10)
			return 0;
		t = t * 10 + (uint64_t)(line[i] - '0');
	}
	i = skip_blank(line, i, ve);
	*tag = t;
	if (line[i] == ']') {
		/* The command had no id: neither has its reply. */
		o = xmalloc(len - (me - ms) + 1);
		memcpy(o, line, ms);
		memcpy(o + ms, line + me, len - me);
		*out_len = len - (me - ms);
	} else {
		if (line[i] != ',')
			return 0;
		xs = skip_blank(line, i + 1, ve);
		xe = ve - 1; /* the closing bracket */
		while (xe > xs && blank(line[xe - 1]))
			xe--;
		if (xe <= xs)
			return 0;
		o = xmalloc(len - (ve - vs) + (xe - xs) + 1);
		memcpy(o, line, vs);
		memcpy(o + vs, line + xs, xe - xs);
		memcpy(o + vs + (xe - xs), line + ve, len - ve);
		*out_len = len - (ve - vs) + (xe - xs);
	}
	o[*out_len] = '\0';
	*out = o;
	return 1;
}

/* ---- replies the gate writes -------------------------------------------- */

static const char *to_text(struct json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
						       JSON_C_TO_STRING_NOSLASHESCAPE);
}

char *gate_error_reply(const char *id, const char *cls, const char *desc)
{
	struct json_object *d = json_object_new_string(desc);
	char *s;

	if (id)
		s = xasprintf("{\"id\": %s, \"error\": {\"class\": \"%s\", "
			      "\"desc\": %s}}\r\n",
			      id, cls, to_text(d));
	else
		s = xasprintf("{\"error\": {\"class\": \"%s\", \"desc\": %s}}\r\n",
			      cls, to_text(d));
	json_object_put(d);
	return s;
}

/* ---- the rewriter ------------------------------------------------------- */

struct rw {
	const struct gate_ops *ops;
	struct gate_result *r;
};

static int __attribute__((format(printf, 2, 3)))
refuse(struct rw *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(w->r->desc, sizeof(w->r->desc), "vmseal: ");
	va_start(ap, fmt);
	vsnprintf(w->r->desc + n, sizeof(w->r->desc) - (size_t)n, fmt, ap);
	va_end(ap);
	w->r->kind = GATE_REFUSE;
	return -EPERM;
}

/* A callback's refusal: "vmseal: " and its reason. */
static int refuse_why(struct rw *w, const char *why)
{
	return refuse(w, "%s", why);
}

const char *gate_json_str(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

static bool bool_member(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) &&
	       json_object_is_type(v, json_type_boolean) &&
	       json_object_get_boolean(v);
}

/* Whether any string in o holds a NUL byte (QEMU refuses \u0000). */
static bool has_nul(struct json_object *o, int depth)
{
	if (depth > GATE_DEPTH)
		return true;
	switch (json_object_get_type(o)) {
	case json_type_string:
		return strlen(json_object_get_string(o)) !=
		       (size_t)json_object_get_string_len(o);
	case json_type_array:
		for (size_t i = 0; i < json_object_array_length(o); i++)
			if (has_nul(json_object_array_get_idx(o, i), depth + 1))
				return true;
		return false;
	case json_type_object: {
		json_object_object_foreach(o, k, v) {
			(void)k;
			if (has_nul(v, depth + 1))
				return true;
		}
		return false;
	}
	default:
		return false;
	}
}

/* A name that is a path, not json: or a protocol: 0, else refused. */
static int check_name(struct rw *w, const char *what, const char *name,
		      bool absolute)
{
	const char *colon = strchr(name, ':'), *slash = strchr(name, '/');

	if (!strncmp(name, "json:", 5))
		return refuse(w, "%s: json: names are refused; name a file",
			      what);
	if (colon && (!slash || colon < slash))
		return refuse(w, "%s: protocol names (%.*s:) are refused; name "
				 "a file",
			      what, (int)(colon - name) > 32 ? 32 :
							       (int)(colon - name),
			      name);
	if (absolute && name[0] != '/')
		return refuse(w, "%s: not an absolute path", what);
	return 0;
}

static int check_path_name(struct rw *w, const char *what, const char *name)
{
	return check_name(w, what, name, true);
}

static void set_fdset(struct json_object *o, const char *key, int set)
{
	char v[32];

	snprintf(v, sizeof(v), FDSET_PREFIX "%d", set);
	json_object_object_add(o, key, json_object_new_string(v));
}

/* Block drivers a node may use through the gate. */
static const char *const drivers_file[] = { "file", "host_device",
					    "host_cdrom", NULL };
static const char *const drivers_other[] = {
	"raw", "qcow2", "qed", "vmdk", "luks", "copy-on-read", "throttle",
	"preallocate", "compress", "null-co", "null-aio", "quorum",
	"blkverify", NULL
};

static bool in_list(const char *const *l, const char *s)
{
	for (; *l; l++)
		if (!strcmp(*l, s))
			return true;
	return false;
}

static bool has_backing_field(const char *fmt)
{
	return !strcmp(fmt, "qcow2") || !strcmp(fmt, "qed") ||
	       !strcmp(fmt, "vmdk");
}

static int walk_node(struct rw *w, struct json_object *o, bool parent_ro,
		     bool parent_writes, int depth);

/*
 * A file node: its filename becomes an fd set.  written: the child of a
 * writable format or filter node, which opens it to write.
 */
static int file_node(struct rw *w, struct json_object *o, bool ro,
		     bool written)
{
	const char *name = gate_json_str(o, "filename"), *aio;
	char why[GATE_DESC_MAX - 16];
	enum gate_access acc;
	int set;

	if (!name)
		return refuse(w, "a file node without a filename");
	if (!strncmp(name, FDSET_PREFIX, strlen(FDSET_PREFIX)))
		return refuse(w, "%s: fd sets are vmseal's; name the file",
			      name);
	if (check_path_name(w, "filename", name) < 0)
		return -EPERM;
	if (bool_member(o, "read-only") || ro)
		acc = GATE_RO;
	else if (bool_member(o, "auto-read-only"))
		acc = GATE_AUTO;
	else
		acc = GATE_RW;
	/* Its writable parent opens it to write: judged as writable. */
	if (acc == GATE_AUTO && written)
		acc = GATE_AUTO_W;
	if (!w->ops || !w->ops->file)
		return refuse(w, "files cannot be opened here");
	why[0] = '\0';
	if (w->ops->keep_locks && acc != GATE_RO && acc != GATE_RW) {
		/*
		 * With QEMU's locks on, a node must keep one open file
		 * description: QEMU locks the description it uses and
		 * releases by closing its dup, but the set still holds the
		 * description, so an auto-read-only node switched from the
		 * set's O_RDONLY descriptor to its O_RDWR one leaves the
		 * first one's lock bytes behind (libvirt's blockdev-create
		 * then fails 'Failed to get shared "write" lock').  Where
		 * the file can be written, the node is opened read-write at
		 * once; else read-only, as auto-read-only would.
		 */
		set = w->ops->file(w->ops->ctx, name, GATE_RW, why, sizeof(why));
		if (set == -EACCES || set == -EROFS) {
			why[0] = '\0';
			set = w->ops->file(w->ops->ctx, name, GATE_RO, why,
					   sizeof(why));
		} else if (set >= 0) {
			json_object_object_del(o, "auto-read-only");
			json_object_object_add(o, "read-only",
					       json_object_new_boolean(false));
		}
	} else {
		set = w->ops->file(w->ops->ctx, name, acc, why, sizeof(why));
	}
	if (set < 0)
		return refuse_why(w, why);
	set_fdset(o, "filename", set);
	/*
	 * Run mode: no image another running guest writes is ever opened
	 * (RUN/.chains), so QEMU's locks only add a failure mode.  Wrap
	 * mode registers nothing there: QEMU's own locks are all that
	 * keeps a second domain's writer off an image, as without vmseal.
	 * They work on fd sets because a set's O_RDWR descriptor is
	 * rotated (remove-fd after each job, a fresh one before the next),
	 * so no stale lock byte outlives the job that took it.
	 */
	if (!w->ops->keep_locks)
		json_object_object_add(o, "locking",
				       json_object_new_string("off"));
	/* The filter refuses io_uring, which opens files past it. */
	aio = gate_json_str(o, "aio");
	if (aio && !strcmp(aio, "io_uring"))
		json_object_object_add(o, "aio", json_object_new_string("threads"));
	return 0;
}

/* The image path of a format node's "file" child, before rewriting. */
static const char *file_path_of(struct rw *w, struct json_object *o)
{
	struct json_object *f;

	if (!json_object_object_get_ex(o, "file", &f))
		return NULL;
	if (json_object_is_type(f, json_type_string))
		return w->ops && w->ops->node_path ?
			       w->ops->node_path(w->ops->ctx,
						 json_object_get_string(f)) :
			       NULL;
	if (json_object_is_type(f, json_type_object))
		return gate_json_str(f, "filename");
	return NULL;
}

static int format_backing(struct rw *w, struct json_object *o, const char *drv)
{
	char why[GATE_DESC_MAX - 16];
	const char *path, *backing = NULL;
	_cleanup_free_ char *copy = NULL;

	if (!has_backing_field(drv) ||
	    json_object_object_get_ex(o, "backing", NULL))
		return 0;
	path = file_path_of(w, o);
	if (!path)
		return refuse(w, "a %s node whose image is unknown must name "
				 "its backing (a node or null)",
			      drv);
	if (!w->ops || !w->ops->resolve_backing)
		return refuse(w, "a %s node must name its backing", drv);
	copy = xstrdup(path);
	why[0] = '\0';
	if (w->ops->resolve_backing(w->ops->ctx, copy, drv, &backing, why,
				    sizeof(why)) < 0)
		return refuse_why(w, why);
	json_object_object_add(o, "backing",
			       backing ? json_object_new_string(backing) : NULL);
	return 0;
}

static int walk_children(struct rw *w, struct json_object *o, bool ro,
			 bool writes, int depth)
{
	json_object_object_foreach(o, key, val) {
		if (json_object_is_type(val, json_type_object)) {
			/* A writable node writes its file child, not its backing. */
			if (walk_node(w, val, ro, writes && !strcmp(key, "file"),
				      depth + 1) < 0)
				return -EPERM;
		} else if (json_object_is_type(val, json_type_array)) {
			for (size_t i = 0; i < json_object_array_length(val); i++) {
				struct json_object *e =
					json_object_array_get_idx(val, i);

				if (json_object_is_type(e, json_type_object) &&
				    walk_node(w, e, ro, false, depth + 1) < 0)
					return -EPERM;
			}
		}
	}
	return 0;
}

/*
 * One node of a blockdev-add tree (or any object inside it): its driver
 * must be one the gate knows, a file node's filename becomes an fd set,
 * and a format node that names no backing gets vmseal's.
 */
static int walk_node(struct rw *w, struct json_object *o, bool parent_ro,
		     bool parent_writes, int depth)
{
	const char *drv = gate_json_str(o, "driver");
	bool ro = parent_ro || bool_member(o, "read-only");

	if (depth > GATE_DEPTH)
		return refuse(w, "nodes nested too deeply");
	if (!drv) {
		if (json_object_object_get_ex(o, "filename", NULL))
			return refuse(w, "a filename without a driver is refused: "
					 "say driver file");
		return walk_children(w, o, ro, false, depth);
	}
	if (in_list(drivers_file, drv)) {
		if (file_node(w, o, ro, parent_writes) < 0)
			return -EPERM;
		/* QEMU takes no children here; none goes unseen either. */
		return walk_children(w, o, ro, false, depth);
	}
	if (!in_list(drivers_other, drv))
		return refuse(w, "block driver '%.40s' is refused through the "
				 "gate (it names files or hosts vmseal cannot check)",
			      drv);
	if (json_object_object_get_ex(o, "filename", NULL))
		return refuse(w, "a filename on a %s node is refused", drv);
	/* The backing of an inline file child is read before it changes. */
	if (format_backing(w, o, drv) < 0)
		return -EPERM;
	return walk_children(w, o, ro, !ro, depth);
}

static int do_blockdev_add(struct rw *w, struct json_object *args)
{
	return walk_node(w, args, false, false, 0);
}

/* Every node object at any depth of its arguments ("options": [...]). */
static int do_blockdev_reopen(struct rw *w, struct json_object *args)
{
	return walk_node(w, args, false, false, 0);
}

static int do_blockdev_create(struct rw *w, struct json_object *args)
{
	struct json_object *opts, *child;
	const char *drv, *name, *bf;
	char why[GATE_DESC_MAX - 16];
	int set;

	/* QEMU takes nothing else; nothing else is looked at either. */
	json_object_object_foreach(args, key, val) {
		(void)val;
		if (strcmp(key, "job-id") && strcmp(key, "options"))
			return refuse(w, "blockdev-create: unexpected argument "
					 "'%.40s'",
				      key);
	}
	if (!json_object_object_get_ex(args, "options", &opts) ||
	    !json_object_is_type(opts, json_type_object))
		return 0;
	drv = gate_json_str(opts, "driver");
	if (!drv)
		return refuse(w, "blockdev-create without a driver");
	if (!strcmp(drv, "file")) {
		name = gate_json_str(opts, "filename");
		if (!name)
			return refuse(w, "blockdev-create of a file needs a "
					 "filename string");
		if (check_path_name(w, "filename", name) < 0)
			return -EPERM;
		if (!w->ops || !w->ops->create)
			return refuse(w, "files cannot be created here");
		why[0] = '\0';
		set = w->ops->create(w->ops->ctx, name, why, sizeof(why));
		if (set < 0)
			return refuse_why(w, why);
		set_fdset(opts, "filename", set);
		return 0;
	}
	if (!in_list(drivers_other, drv))
		return refuse(w, "blockdev-create of '%.40s' is refused through "
				 "the gate",
			      drv);
	if (json_object_object_get_ex(opts, "filename", NULL))
		return refuse(w, "blockdev-create: a filename on a %.40s image "
				 "is refused",
			      drv);
	bf = gate_json_str(opts, "backing-file");
	if (bf) {
		const char *img = NULL;

		if (json_object_object_get_ex(opts, "file", &child) &&
		    json_object_is_type(child, json_type_string) && w->ops &&
		    w->ops->node_path)
			img = w->ops->node_path(w->ops->ctx,
						json_object_get_string(child));
		if (check_name(w, "backing-file", bf, false) < 0)
			return -EPERM;
		if (!w->ops || !w->ops->backing_name)
			return refuse(w, "backing-file cannot be checked here");
		why[0] = '\0';
		if (w->ops->backing_name(w->ops->ctx, bf, img, why,
					 sizeof(why)) < 0)
			return refuse_why(w, why);
	}
	/* Inline children (BlockdevRef objects) follow blockdev-add's rules. */
	return walk_children(w, opts, false, false, 0);
}

/* The node a filename names (block-stream base, block-commit top/base). */
static int path_to_node(struct rw *w, struct json_object *args,
			const char *key, const char *node_key)
{
	const char *p = gate_json_str(args, key), *node;

	if (!p)
		return 0;
	node = w->ops && w->ops->path_node ? w->ops->path_node(w->ops->ctx, p) :
					     NULL;
	if (!node)
		return refuse(w, "%s: '%.200s' is not an image of this guest; "
				 "name the node (%s)",
			      key, p, node_key);
	json_object_object_add(args, node_key, json_object_new_string(node));
	json_object_object_del(args, key);
	return 0;
}

/* A missing backing-file is the base's real path, never /dev/fdset/N. */
static int fill_backing_file(struct rw *w, struct json_object *args,
			     const char *base)
{
	const char *bf = gate_json_str(args, "backing-file"), *path;
	char why[GATE_DESC_MAX - 16];

	if (bf) {
		if (check_name(w, "backing-file", bf, false) < 0)
			return -EPERM;
		why[0] = '\0';
		if (w->ops && w->ops->backing_name &&
		    w->ops->backing_name(w->ops->ctx, bf, NULL, why,
					 sizeof(why)) < 0)
			return refuse_why(w, why);
		return 0;
	}
	if (!base)
		return 0;
	path = w->ops && w->ops->node_path ? w->ops->node_path(w->ops->ctx, base) :
					     NULL;
	if (!path)
		return refuse(w, "the image of node '%.100s' is unknown, so the "
				 "backing-file to record cannot be named; give "
				 "backing-file",
			      base);
	json_object_object_add(args, "backing-file", json_object_new_string(path));
	return 0;
}

static int make_writable(struct rw *w, const char *node, const char *job)
{
	char why[GATE_DESC_MAX - 16];

	if (!node || !w->ops || !w->ops->writable)
		return 0;
	why[0] = '\0';
	if (w->ops->writable(w->ops->ctx, node, job, why, sizeof(why)) < 0)
		return refuse_why(w, why);
	return 0;
}

static const char *job_id(struct json_object *args)
{
	const char *j = gate_json_str(args, "job-id");

	return j ? j : gate_json_str(args, "device");
}

static int do_block_stream(struct rw *w, struct json_object *args)
{
	const char *dev = gate_json_str(args, "device");

	if (json_object_object_get_ex(args, "bottom", NULL))
		return refuse(w, "block-stream with bottom cannot record a real "
				 "backing-file on QEMU 7.2: use base-node");
	if (path_to_node(w, args, "base", "base-node") < 0)
		return -EPERM;
	if (fill_backing_file(w, args, gate_json_str(args, "base-node")) < 0)
		return -EPERM;
	snprintf(w->r->node, sizeof(w->r->node), "%s", job_id(args) ?: "");
	w->r->after = GATE_AFTER_JOB;
	return make_writable(w, dev, job_id(args));
}

static int do_block_commit(struct rw *w, struct json_object *args)
{
	const char *dev, *top, *base, *over;
	bool active;

	if (path_to_node(w, args, "top", "top-node") < 0 ||
	    path_to_node(w, args, "base", "base-node") < 0)
		return -EPERM;
	dev = gate_json_str(args, "device");
	top = gate_json_str(args, "top-node");
	base = gate_json_str(args, "base-node");
	over = top && w->ops && w->ops->overlay_of ?
		       w->ops->overlay_of(w->ops->ctx, top) :
		       NULL;
	active = !top || (dev && !strcmp(top, dev)) || !over;
	/* A backing-file given is checked whatever QEMU makes of it. */
	if ((!active || gate_json_str(args, "backing-file")) &&
	    fill_backing_file(w, args, active ? NULL : base) < 0)
		return -EPERM;
	snprintf(w->r->node, sizeof(w->r->node), "%s", job_id(args) ?: "");
	w->r->after = GATE_AFTER_JOB;
	if (make_writable(w, base, job_id(args)) < 0)
		return -EPERM;
	return active ? 0 : make_writable(w, over, job_id(args));
}

static int do_mirror(struct rw *w, struct json_object *args)
{
	(void)args;
	snprintf(w->r->node, sizeof(w->r->node), "%s", job_id(args) ?: "");
	w->r->after = GATE_AFTER_JOB;
	return 0;
}

static int do_change_medium(struct rw *w, struct json_object *args)
{
	const char *name = gate_json_str(args, "filename");
	char why[GATE_DESC_MAX - 16];
	int set;

	if (!name)
		return 0;
	if (check_path_name(w, "filename", name) < 0)
		return -EPERM;
	if (!w->ops || !w->ops->file)
		return refuse(w, "files cannot be opened here");
	why[0] = '\0';
	set = w->ops->file(w->ops->ctx, name, GATE_AUTO, why, sizeof(why));
	if (set < 0)
		return refuse_why(w, why);
	set_fdset(args, "filename", set);
	w->r->after = GATE_AFTER_MEDIUM;
	return 0;
}

/* Inserted, removed or ejected: the gate asks QEMU what is in the tray. */
static int do_medium(struct rw *w, struct json_object *args)
{
	(void)args;
	w->r->after = GATE_AFTER_MEDIUM;
	return 0;
}

/* A device on a node: a hot-plugged disk, named by the device's id. */
static int do_device_add(struct rw *w, struct json_object *args)
{
	const char *id = gate_json_str(args, "id"), *drive = gate_json_str(args, "drive");

	if (id && drive && strlen(id) < sizeof(w->r->node) &&
	    strlen(drive) < sizeof(w->r->node2)) {
		w->r->after = GATE_AFTER_DEVICE;
		snprintf(w->r->node, sizeof(w->r->node), "%s", id);
		snprintf(w->r->node2, sizeof(w->r->node2), "%s", drive);
	}
	return 0;
}

/* An output file a command writes (screendump, memsave, pmemsave). */
static int output_file(struct rw *w, struct json_object *args, const char *key,
		       const char *prefix)
{
	const char *v = gate_json_str(args, key), *name;
	size_t pl = prefix ? strlen(prefix) : 0;
	char why[GATE_DESC_MAX - 16], nv[64];
	int set;

	if (!v)
		return 0;
	if (prefix && !strncmp(v, "fd:", 3))
		return 0;
	if (prefix && strncmp(v, prefix, pl) != 0)
		return refuse(w, "%s: only %sPATH or fd:NAME", key, prefix);
	name = v + pl;
	if (check_path_name(w, key, name) < 0)
		return -EPERM;
	if (!w->ops || !w->ops->output)
		return refuse(w, "%s: output files cannot be opened here", key);
	why[0] = '\0';
	set = w->ops->output(w->ops->ctx, name, why, sizeof(why));
	if (set < 0)
		return refuse_why(w, why);
	snprintf(nv, sizeof(nv), "%s" FDSET_PREFIX "%d", prefix ? prefix : "",
		 set);
	json_object_object_add(args, key, json_object_new_string(nv));
	return 0;
}

static int do_migrate(struct rw *w, struct json_object *args)
{
	const char *uri = gate_json_str(args, "uri");

	if (!uri)
		return 0;
	if (!strncmp(uri, "fd:", 3) || !strncmp(uri, "tcp:", 4) ||
	    !strncmp(uri, "rdma:", 5) || !strcmp(uri, "defer"))
		return 0;
	if (!strncmp(uri, "exec:", 5))
		return refuse(w, "migration to exec: is refused: QEMU would run "
				 "a command; pass an fd (getfd, fd:NAME)");
	return refuse(w, "migration uri '%.40s' is refused: use fd:NAME or tcp:",
		      uri);
}

/* HMP commands that name no file and open nothing. */
static const char *const hmp_ok[] = {
	"info", "qemu-io", "help", "?", "stop", "c", "cont", "system_reset",
	"system_powerdown", "system_wakeup", "sendkey", "balloon", "nmi",
	"block_resize", "block_job_cancel", "block_job_complete",
	"block_job_pause", "block_job_resume", "block_job_set_speed",
	"device_del", "drive_del", "eject", "set_link", "quit", "q",
	"mouse_move", "mouse_button", "mouse_set", "boot_set", "sum", "x",
	"xp", "print", "p", "i", "o", "cpu", "watchdog_action", "trace-event",
	"announce_self", "stopcapture", "log", "singlestep", NULL
};

static int do_hmp(struct rw *w, struct json_object *args)
{
	const char *line = gate_json_str(args, "command-line");
	char word[32];
	size_t n;

	if (!line)
		return 0;
	line += strspn(line, " \t");
	n = strcspn(line, " \t");
	if (n >= sizeof(word))
		n = sizeof(word) - 1;
	memcpy(word, line, n);
	word[n] = '\0';
	if (in_list(hmp_ok, word)) {
		if (!strcmp(word, "eject"))
			w->r->after = GATE_AFTER_MEDIUM;
		return 0;
	}
	if (!strcmp(word, "drive_add"))
		return refuse(w, "HMP drive_add opens files by name: use "
				 "blockdev-add through the gate");
	return refuse(w, "HMP command '%s' may name a file; it is refused "
			 "through the gate (use its QMP form)",
		      word);
}

static int do_fdset_cmd(struct rw *w, struct json_object *args)
{
	struct json_object *v;

	if (json_object_object_get_ex(args, "fdset-id", &v) && w->ops &&
	    w->ops->own_set && w->ops->own_set(w->ops->ctx, json_object_get_int64(v)))
		return refuse(w, "fd set %" PRId64 " holds vmseal's images",
			      json_object_get_int64(v));
	return 0;
}

static int do_transaction(struct rw *w, struct json_object *args)
{
	struct json_object *acts;

	if (!json_object_object_get_ex(args, "actions", &acts) ||
	    !json_object_is_type(acts, json_type_array))
		return 0;
	for (size_t i = 0; i < json_object_array_length(acts); i++) {
		struct json_object *a = json_object_array_get_idx(acts, i);
		const char *t = a ? gate_json_str(a, "type") : NULL;

		if (!t)
			continue;
		/* The gate follows the overlays once QEMU accepts them. */
		if (!strcmp(t, "blockdev-snapshot"))
			w->r->after = GATE_AFTER_SNAPSHOT;
		if (!strcmp(t, "blockdev-snapshot-sync") ||
		    !strcmp(t, "drive-backup"))
			return refuse(w, "%s creates an image by path: use "
					 "blockdev-add and %s",
				      t, !strcmp(t, "drive-backup") ?
						 "blockdev-backup" :
						 "blockdev-snapshot");
	}
	return 0;
}

typedef int (*handler)(struct rw *w, struct json_object *args);

static int do_screendump(struct rw *w, struct json_object *a)
{
	return output_file(w, a, "filename", NULL);
}

static int do_dump(struct rw *w, struct json_object *a)
{
	return output_file(w, a, "protocol", "file:");
}

static int do_memsave(struct rw *w, struct json_object *a)
{
	return output_file(w, a, "filename", NULL);
}

static int refuse_by_path(struct rw *w, struct json_object *a)
{
	(void)a;
	if (!strcmp(w->r->cmd, "drive-mirror"))
		return refuse(w, "drive-mirror creates its target by path: "
				 "blockdev-add the target, then blockdev-mirror");
	if (!strcmp(w->r->cmd, "drive-backup"))
		return refuse(w, "drive-backup creates its target by path: "
				 "blockdev-add the target, then blockdev-backup");
	if (!strcmp(w->r->cmd, "blockdev-snapshot-sync"))
		return refuse(w, "blockdev-snapshot-sync creates the overlay by "
				 "path: blockdev-add it with backing null, then "
				 "blockdev-snapshot");
	return refuse(w, "%s names a file on the host and is refused through "
			 "the gate",
		      w->r->cmd);
}

static int do_blockdev_del(struct rw *w, struct json_object *a)
{
	const char *n = gate_json_str(a, "node-name");

	if (n) {
		w->r->after = GATE_AFTER_DEL;
		snprintf(w->r->node, sizeof(w->r->node), "%s", n);
	}
	return 0;
}

static int do_snapshot(struct rw *w, struct json_object *a)
{
	const char *n = gate_json_str(a, "node"), *o = gate_json_str(a, "overlay");

	if (n && o) {
		w->r->after = GATE_AFTER_SNAPSHOT;
		snprintf(w->r->node, sizeof(w->r->node), "%s", n);
		snprintf(w->r->node2, sizeof(w->r->node2), "%s", o);
	}
	return 0;
}

static const struct {
	const char *name;
	handler fn;
} handlers[] = {
	{ "blockdev-add", do_blockdev_add },
	{ "blockdev-reopen", do_blockdev_reopen },
	{ "blockdev-create", do_blockdev_create },
	{ "blockdev-change-medium", do_change_medium },
	{ "blockdev-insert-medium", do_medium },
	{ "blockdev-remove-medium", do_medium },
	{ "eject", do_medium },
	{ "device_add", do_device_add },
	{ "blockdev-del", do_blockdev_del },
	{ "blockdev-snapshot", do_snapshot },
	{ "block-stream", do_block_stream },
	{ "block-commit", do_block_commit },
	{ "blockdev-mirror", do_mirror },
	{ "blockdev-backup", do_mirror },
	{ "drive-mirror", refuse_by_path },
	{ "drive-backup", refuse_by_path },
	{ "blockdev-snapshot-sync", refuse_by_path },
	{ "transaction", do_transaction },
	{ "migrate", do_migrate },
	{ "migrate-incoming", do_migrate },
	{ "migrate-recover", do_migrate },
	{ "screendump", do_screendump },
	{ "dump-guest-memory", do_dump },
	{ "pmemsave", do_memsave },
	{ "memsave", do_memsave },
	{ "human-monitor-command", do_hmp },
	{ "add-fd", do_fdset_cmd },
	{ "remove-fd", do_fdset_cmd },
	{ "xen-save-devices-state", refuse_by_path },
	{ "xen-load-devices-state", refuse_by_path },
	{ "dump-skeys", refuse_by_path },
	{ "block-export-add", refuse_by_path },
	{ "nbd-server-start", refuse_by_path },
	{ "change", refuse_by_path },
};

static int bad(struct gate_result *r, const char *desc)
{
	r->kind = GATE_BAD;
	snprintf(r->desc, sizeof(r->desc), "%s", desc);
	return 0;
}

int gate_rewrite(const char *text, size_t len, uint64_t tag,
		 const struct gate_ops *ops, struct gate_result *out)
{
	struct json_tokener *tok = json_tokener_new_ex(GATE_DEPTH);
	struct json_object *o = NULL, *args = NULL, *id = NULL, *ex = NULL,
			   *oob = NULL, *tagged;
	struct rw w = { ops, out };
	const char *name;

	memset(out, 0, sizeof(*out));
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	if (len <= INT32_MAX)
		o = json_tokener_parse_ex(tok, text, (int)len);
	if (o && json_tokener_get_parse_end(tok) != len) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	if (!o)
		return bad(out, "JSON parse error, invalid or unsupported input");
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return bad(out, "QMP input must be a JSON object");
	}
	if (json_object_object_get_ex(o, "id", &id))
		out->id = xstrdup(to_text(id));
	if (has_nul(o, 0)) {
		json_object_put(o);
		return bad(out, "vmseal: a string holds a NUL byte");
	}
	json_object_object_foreach(o, key, val) {
		(void)val;
		if (strcmp(key, "execute") && strcmp(key, "exec-oob") &&
		    strcmp(key, "arguments") && strcmp(key, "id")) {
			snprintf(out->desc, sizeof(out->desc),
				 "QMP input member '%.64s' is unexpected", key);
			out->kind = GATE_BAD;
			json_object_put(o);
			return 0;
		}
	}
	json_object_object_get_ex(o, "execute", &ex);
	json_object_object_get_ex(o, "exec-oob", &oob);
	if (ex && oob) {
		json_object_put(o);
		return bad(out, "QMP input must not have both 'execute' and "
				"'exec-oob'");
	}
	if (!ex && !oob) {
		json_object_put(o);
		return bad(out, "QMP input lacks member 'execute'");
	}
	if (!json_object_is_type(ex ? ex : oob, json_type_string)) {
		json_object_put(o);
		return bad(out, "QMP input member 'execute' must be a string");
	}
	out->oob = oob != NULL;
	name = json_object_get_string(ex ? ex : oob);
	snprintf(out->cmd, sizeof(out->cmd), "%s", name);
	if (json_object_object_get_ex(o, "arguments", &args) &&
	    !json_object_is_type(args, json_type_object)) {
		json_object_put(o);
		return bad(out, "QMP input member 'arguments' must be an object");
	}
	if (!strcmp(name, "qmp_capabilities")) {
		out->kind = GATE_CAPS;
		json_object_put(o);
		return 0;
	}
	out->kind = GATE_SEND;
	for (size_t i = 0; args && i < sizeof(handlers) / sizeof(handlers[0]);
	     i++) {
		if (strcmp(handlers[i].name, name) != 0)
			continue;
		if (handlers[i].fn(&w, args) < 0 || out->kind == GATE_REFUSE) {
			out->kind = GATE_REFUSE;
			json_object_put(o);
			return 0;
		}
		break;
	}
	if (!args && (!strcmp(name, "drive-mirror") ||
		      !strcmp(name, "drive-backup") ||
		      !strcmp(name, "blockdev-snapshot-sync"))) {
		refuse_by_path(&w, NULL);
		json_object_put(o);
		return 0;
	}
	tagged = json_object_new_array();
	json_object_array_add(tagged, json_object_new_uint64(tag));
	if (id)
		json_object_array_add(tagged, json_object_get(id));
	json_object_object_add(o, "id", tagged);
	out->json = xasprintf("%s\n", to_text(o));
	json_object_put(o);
	return 0;
}

void gate_result_free(struct gate_result *r)
{
	free(r->json);
	free(r->id);
	r->json = r->id = NULL;
}
