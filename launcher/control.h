/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_CONTROL_H
#define VS_LAUNCHER_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

/*
 * The control socket of a running guest, RUN/NAME/control.sock: a unix
 * SOCK_SEQPACKET socket, mode 0600, answering only its own uid and root.
 *
 * Protocol 1: one request per message, "VERB [ARG ...]" in at most
 * CONTROL_MSG_MAX bytes (later verbs, such as a disk hot-plug, will add
 * descriptors with SCM_RIGHTS; none of today's does); one reply per
 * request, "ok[ TEXT]" or
 * "error ERRNAME[ TEXT]".  A connection may carry several requests.
 * Verbs: "hello" (the protocol version), "status", "lock".
 */

#define CONTROL_PROTOCOL 1
#define CONTROL_MSG_MAX 4096

struct broker;

/* What the handlers act on: the supervisor's state. */
struct control_ctx {
	pid_t emu_pid;
	const char *policy;
	struct broker *broker;	/* NULL unless policy broker */
	bool locked;
	const char *locked_by;	/* "request", "lock-after" */
};

/*
 * Answers one request into reply (NUL-terminated, < len); pure apart
 * from what the verb does to ctx.  Returns true when the request changed
 * the state (for the caller to log).
 */
bool control_dispatch(struct control_ctx *ctx, const char *request,
		      char *reply, size_t len);

/* Binds RUN/NAME/control.sock (dirfd is RUN/NAME); the listening fd. */
int control_listen(int dirfd, struct vs_err *err);

/*
 * Accepts one client (listen_fd is readable), checks its uid, and serves
 * its requests until it hangs up or is silent for a second.  Returns
 * true when a request changed ctx.
 */
bool control_serve(int listen_fd, struct control_ctx *ctx);

/*
 * Client side: sends request to the guest NAME's control socket after
 * checking the server is root or our uid, and puts its reply in reply.
 * 0, or -errno with err saying what went wrong (-ENOENT: not running).
 */
int control_request(const char *name, const char *request, char *reply,
		    size_t len, struct vs_err *err);

#endif
