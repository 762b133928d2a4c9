/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"

static void mark_truncated(char *buf, size_t size)
{
	memcpy(buf + size - 4, "...", 4);
}

static void __attribute__((format(printf, 3, 0)))
set_msg(struct vs_err *e, int errnum, const char *fmt, va_list ap)
{
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	e->code = errnum > 0 ? errnum : EINVAL;
}

int vs_errf(struct vs_err *e, int errnum, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	set_msg(e, errnum, fmt, ap);
	va_end(ap);
	return -e->code;
}

int vs_errnof(struct vs_err *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	set_msg(e, errnum, fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	if (snprintf(e->msg + n, sizeof(e->msg) - n, ": %s",
		     strerror(e->code)) >= (int)(sizeof(e->msg) - n))
		mark_truncated(e->msg, sizeof(e->msg));
	return -e->code;
}

void vs_err_ctx(struct vs_err *e, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(e->context, sizeof(e->context), fmt, ap);
	va_end(ap);
}

void vs_err_prefix(struct vs_err *e, const char *fmt, ...)
{
	char head[sizeof(e->context)];
	char old[sizeof(e->context)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(head, sizeof(head), fmt, ap);
	va_end(ap);
	memcpy(old, e->context, sizeof(old));
	if (snprintf(e->context, sizeof(e->context), old[0] ? "%s: %s" : "%s",
		     head, old) >= (int)sizeof(e->context))
		mark_truncated(e->context, sizeof(e->context));
}

void vs_err_clear(struct vs_err *e)
{
	e->code = 0;
	e->context[0] = '\0';
	e->msg[0] = '\0';
}

const char *vs_err_str(const struct vs_err *e, char *buf, unsigned long len)
{
	if (snprintf(buf, len, e->context[0] ? "%s: %s" : "%s%s", e->context,
		     e->msg) >= (int)len && len >= 4)
		mark_truncated(buf, len);
	return buf;
}
