/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_GATE_PRIV_H
#define VS_LAUNCHER_GATE_PRIV_H

/*
 * The gate's state, shared by its event loop (gate.c) and the files that
 * each keep one part of its bookkeeping (gate_live.c: disks and media
 * that come and go).  Not for anything outside the gate.
 */
#include <stdbool.h>
#include <stdint.h>

#include "common/strv.h"
#include "common/format.h"
#include "launcher/gate.h"
#include "launcher/gate_json.h"

/* The gate's own fd sets start here, far above the plan's. */
#define GATE_FIRST_SET 1000
/* A client that does not read its replies is dropped past this. */
#define CLIENT_OUT_MAX (64 * 1024 * 1024)
#define JOB_FDS_MAX 16

struct client {
	int fd;
	unsigned gen;		/* tells a reconnected slot from the old one */
	struct gate_framer in;
	bool greeted, caps;
	char *out;
	size_t out_len, out_cap;
	int fds[4];		/* received with SCM_RIGHTS, for getfd/add-fd */
	int nfds;
};

/* Where an answer goes and what follows it. */
struct pending {
	uint64_t tag;
	int client;		/* -1: the gate's own command */
	unsigned gen;
	char *id;
	enum gate_after after;
	char node[128], node2[128];
	/* add-fd of a job's O_RDWR descriptor: remember its number. */
	int set;
	char job[128];
	bool add_nodes;		/* blockdev-add: record its nodes */
};

struct qitem {
	char *data;
	size_t len, off;
	int fds[1];
	int nfds;
	struct pending p;
};

struct fdset {
	int id;
	char *path;		/* real path of the image */
	int opath;		/* O_PATH of the inode: reopened, never looked up */
	bool ours;		/* added by the gate (removed on blockdev-del) */
	bool has_rw;		/* an O_RDWR descriptor is in the set for good */
	/*
	 * That descriptor's number in QEMU when vmseal passed it at launch
	 * beside a read-only twin (auto-read-only), else -1: removed once
	 * the node is only read (a backing member), so that its image locks
	 * go with it and each job gets a fresh one.
	 */
	int rw_number;
	bool rw_known;		/* rw_number is QEMU's (query-fdsets) */
	bool drop_rw;		/* read-only at launch: dropped once running */
	struct {
		char job[128];
		int fd;		/* QEMU's number, -1 until add-fd answered */
	} jobfd[JOB_FDS_MAX];
	size_t n_jobfd;
};

struct node {
	char *name;
	int set;		/* file node: its set; 0 for a format node */
	char *file;		/* format node: its file child's node */
	char *backing;		/* format node: its backing node or NULL */
	char *driver;		/* its block driver (qcow2, raw, file, ...) */
};

struct gate {
	int qemu;		/* our end of the private channel */
	int qemu_number;	/* QEMU's end, as numbered in the emulator */
	int listen;
	bool own_socket;	/* listen is RUN/NAME/monitor.sock */
	char *sock_path;
	char *name;
	char *run_dir;
	char *run_base;		/* RUN: other guests' RUN/.chains/NAME */
	int run_dir_fd;
	struct strv roots;
	unsigned max_depth;
	bool allow_blockdev;
	enum vs_format backing_format;
	char *greeting;
	bool caps_sent;
	/*
	 * QEMU answered the gate's qmp_capabilities: its main loop runs,
	 * so every -device on the command line was created.
	 */
	bool caps_done;
	bool running;		/* QEMU said RESUME: removed fds are closed */
	struct client c[GATE_CLIENTS_MAX];
	unsigned gen;
	/* To QEMU, head first; in_flight is the head while it waits. */
	struct qitem *q;
	size_t nq, capq;
	bool in_flight;
	char rbuf[GATE_MSG_MAX];
	size_t rlen;
	uint64_t next_tag;
	struct fdset *sets;
	size_t nsets;
	int next_set;
	struct node *nodes;
	size_t nnodes;
	/* Sets whose descriptors the current command queued. */
	size_t mark_q, mark_sets;
	int writable_fd;	/* RUN/NAME/writable */
	/* Each disk's active (top) format node, as jobs move it. */
	struct strv disk_names, disk_active;
	/* Of those, the disks a client's device_add made (named by its id). */
	struct strv dev_disks;
	/* Removable devices' media the record holds, and their real paths. */
	struct strv media_dev, media_path;
	struct job *jobs;
	size_t njobs;
	/* The chain record and SELinux labels: gate_setup's. */
	struct gate_hooks hooks;
};

/* A block job the gate saw start: what its end changes in the graph. */
struct job {
	char *id;
	char *cmd;		/* block-stream, block-commit, blockdev-mirror */
	char *device, *top, *base, *target;
	bool complete;		/* job-complete was asked: a pivot */
};

/* gate.c */
/* A copy of o's string member key; NULL when o has none. */
char *gate_dup_member(struct json_object *o, const char *key);
struct node *gate_node_find(struct gate *g, const char *name);
struct node *gate_node_put(struct gate *g, const char *name);
struct fdset *gate_set_find(struct gate *g, int id);
/* A node's fd set, through its file child. */
struct fdset *gate_node_set(struct gate *g, const char *name);
/* The disk whose active node is node, or -1. */
int gate_disk_of_active(struct gate *g, const char *node);
void gate_set_active(struct gate *g, int disk, const char *node);

/* gate_live.c */
/* Every disk's active layer, to whoever keeps the chain record. */
void gate_chain_changed(struct gate *g);
/*
 * x-vmseal-disk-add {"disk": D[, "node": N]}: a hot-plugged disk whose
 * active node is N (default D) joins the chain record; -del forgets it.
 * desc: "" or why not.
 */
void gate_disk_cmd(struct gate *g, const char *cmd, const char *json,
		   char *desc, size_t n);
/* A command with GATE_AFTER_MEDIUM or _DEVICE succeeded. */
void gate_live_after(struct gate *g, const struct pending *p);
/* DEVICE_DELETED: a disk device_add made left with its device. */
void gate_live_device_deleted(struct gate *g, const char *dev);
/* The answer to the query-block GATE_AFTER_MEDIUM asked. */
void gate_live_media(struct gate *g, const char *line);

/* gate_labels.c */
/* Before QEMU gets fd (path): its label; 0 or -errno with why. */
int gate_label_use(struct gate *g, int fd, const char *path, bool writable,
		   char *why, size_t n);
/* Node is being deleted: a file no other node is on gets its label back. */
void gate_label_node_gone(struct gate *g, const char *node);

#endif
