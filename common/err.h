/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_COMMON_ERR_H
#define VS_COMMON_ERR_H

#include <stdarg.h>

/*
 * The error record every core function fills and its caller owns and
 * prints.  Core code never prints or exits: it returns -errno and leaves
 * here what failed (message) and where (context: "guest.ini:12",
 * "/img/base.qcow2: offset 0x200").  Only launcher/ turns this into
 * "vmseal: <context>: <message>" and an exit code.
 */
struct vs_err {
	int code;		/* positive errno value, 0 when unset */
	char context[1024];
	char msg[1024];
};

/* Sets message and code (errnum > 0) and returns -errnum. */
int vs_errf(struct vs_err *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Same, message followed by ": strerror(errnum)". */
int vs_errnof(struct vs_err *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Replaces the context. */
void vs_err_ctx(struct vs_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Prepends to the context, so an inner layer can say "offset 0x48" and the
 * layer that knows the file makes it "/img/a.qcow2: offset 0x48".
 */
void vs_err_prefix(struct vs_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

void vs_err_clear(struct vs_err *e);

/* "context: message", or just "message" when there is no context. */
const char *vs_err_str(const struct vs_err *e, char *buf, unsigned long len);

#endif
