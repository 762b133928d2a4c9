/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_GATE_JSON_H
#define VS_LAUNCHER_GATE_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

/* o's string member key, or NULL (no o, no such member, not a string). */
const char *gate_json_str(struct json_object *o, const char *key);

/*
 * The monitor gate's pure half: framing QMP input into JSON objects,
 * finding members of QEMU's reply lines without re-serialising them, and
 * rewriting a client's command so that every file it names reaches QEMU
 * as /dev/fdset/N.  Opening files is not done here: the gate (gate.c)
 * hands in callbacks, and the fuzz target hands in fakes.
 */

/* The longest command or reply line the gate accepts. */
#define GATE_MSG_MAX (1024 * 1024)
#define GATE_DESC_MAX 512

/*
 * A streaming framer for client input: QEMU's parser takes JSON objects
 * back to back, with or without newlines, so the gate splits the same way.
 */
struct gate_framer {
	char *buf;
	size_t len, cap;
	size_t scan;		/* bytes of buf already scanned */
	int depth;
	bool in_string, escape;
	size_t start;		/* where the current object began */
	bool bad;		/* a byte outside any object that is not blank */
};

void gate_framer_init(struct gate_framer *f);
void gate_framer_free(struct gate_framer *f);
/* Appends input; -EMSGSIZE when an object grows past GATE_MSG_MAX. */
int gate_framer_feed(struct gate_framer *f, const char *data, size_t len);
/*
 * The next complete object: 1 with *obj and *len pointing into the framer
 * (valid until the next call), 0 when none is complete yet, -EPROTO for
 * input that is not an object (the gate answers with an error and
 * drops what it had).
 */
int gate_framer_next(struct gate_framer *f, const char **obj, size_t *len);

/*
 * The value of top-level member key in one JSON object text (a QEMU
 * reply or event line): 1 with [*vstart, *vend) its bytes and
 * [*mstart, *mend) the member with one adjacent comma (so that removing
 * it leaves valid JSON), 0 when absent, -EPROTO when the text is not an
 * object.  Nothing is decoded; QEMU's spelling is kept.
 */
int gate_member(const char *s, size_t len, const char *key, size_t *vstart,
		size_t *vend, size_t *mstart, size_t *mend);

/* What the rewriter may ask of the gate. */
enum gate_access {
	GATE_RO,		/* an O_RDONLY descriptor */
	GATE_RW,		/* an O_RDWR descriptor */
	GATE_AUTO,		/* both: auto-read-only, reopened by jobs */
	GATE_AUTO_W,		/* both, under a writable node that writes it */
};

struct gate_ops {
	void *ctx;
	/*
	 * A file node's filename (absolute): opened under the chain
	 * walker's rules, its descriptors queued for add-fd; the fd set
	 * id, or -errno with why (without the "vmseal: " prefix).
	 */
	int (*file)(void *ctx, const char *path, enum gate_access acc,
		    char *why, size_t n);
	/* The same for a file blockdev-create makes (created by vmseal). */
	int (*create)(void *ctx, const char *path, char *why, size_t n);
	/* An output file (screendump, dump, memsave): in the run dir only. */
	int (*output)(void *ctx, const char *path, char *why, size_t n);
	/* The real path of a format or file node's image, or NULL. */
	const char *(*node_path)(void *ctx, const char *node);
	/* The format node whose image is path, or NULL. */
	const char *(*path_node)(void *ctx, const char *path);
	/* The format node whose backing node is node, or NULL. */
	const char *(*overlay_of)(void *ctx, const char *node);
	/*
	 * A backing-file string an image header will record, for the
	 * image at path image: 0 when the walker's rules accept it.
	 */
	int (*backing_name)(void *ctx, const char *name, const char *image,
			    char *why, size_t n);
	/*
	 * A format node (file_path: its image) of format fmt that names no
	 * backing: 0 with *backing NULL when its header names none (the
	 * rewriter adds "backing": null), 0 with *backing a node name the
	 * gate added for its resolved chain, or -errno with why.
	 */
	int (*resolve_backing)(void *ctx, const char *file_path,
			       const char *fmt, const char **backing,
			       char *why, size_t n);
	/* A node a job will write: its set gets an O_RDWR descriptor. */
	int (*writable)(void *ctx, const char *node, const char *job,
			char *why, size_t n);
	/* A client's add-fd/remove-fd names this set: true if vmseal's. */
	bool (*own_set)(void *ctx, int64_t set);
	/*
	 * QEMU's image locks stay on for the files opened here (wrap
	 * mode: nothing else keeps another guest's writer off them);
	 * false: file nodes get "locking": "off" (run mode, where the
	 * gate refuses another running guest's images itself).
	 */
	bool keep_locks;
};

enum gate_kind {
	GATE_SEND,		/* json goes to QEMU */
	GATE_REFUSE,		/* answer desc as a GenericError */
	GATE_CAPS,		/* qmp_capabilities: the gate answers */
	GATE_BAD,		/* not a command: desc, class GenericError */
};

/* What the gate must remember to do once QEMU answers. */
enum gate_after {
	GATE_AFTER_NONE,
	GATE_AFTER_DEL,		/* blockdev-del node: drop its fd set */
	GATE_AFTER_JOB,		/* a job started: rotate fds at its end */
	GATE_AFTER_SNAPSHOT,	/* blockdev-snapshot: the graph changed */
	GATE_AFTER_MEDIUM,	/* a medium may have changed: query-block */
	GATE_AFTER_DEVICE,	/* device_add: node id, node2 its drive */
};

struct gate_result {
	enum gate_kind kind;
	char *json;		/* GATE_SEND: the command, id included */
	char *id;		/* the client's id as JSON text, or NULL */
	char cmd[64];		/* the command's name, "" when none */
	char desc[GATE_DESC_MAX];
	enum gate_after after;
	char node[128];		/* GATE_AFTER_DEL: the node; _JOB: job id */
	char node2[128];	/* _SNAPSHOT: overlay (node: the old top) */
	bool oob;
};

/*
 * Rewrites one client command (a complete object from the framer) for
 * QEMU, tagging it with id [tag, <client id>] so that QEMU's reply can be
 * routed back and the client's id restored in QEMU's own spelling.
 * ops may be NULL (every file is refused).  0, or -ENOMEM.
 */
int gate_rewrite(const char *text, size_t len, uint64_t tag,
		 const struct gate_ops *ops, struct gate_result *out);
void gate_result_free(struct gate_result *r);

/*
 * A reply line's id [tag, X]: 1 with *tag and the line rebuilt with X
 * as its id (or without an id when the command had none) in *out
 * (malloc'd, newline-terminated as QEMU's), 0 when the line has no id
 * of the gate's form, -EPROTO when it is not an object.
 */
int gate_reply_unwrap(const char *line, size_t len, uint64_t *tag, char **out,
		      size_t *out_len);

/* An error reply in QEMU's form for id (JSON text or NULL). */
char *gate_error_reply(const char *id, const char *cls, const char *desc);

#endif
