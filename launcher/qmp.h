/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_QMP_H
#define VS_LAUNCHER_QMP_H

#include <stddef.h>

#include "common/err.h"

/* A QMP client, for the selftest's look at a real emulator. */
struct qmp {
	int fd;
	char buf[65536];
	size_t len;
};

/* Connects (retrying up to wait_s seconds) and negotiates capabilities. */
int qmp_open(struct qmp *q, const char *path, int wait_s, struct vs_err *err);
void qmp_close(struct qmp *q);

/*
 * Runs one command (a JSON object text) and puts the reply line (events
 * skipped) in reply.  0, or -errno when the connection fails.
 */
int qmp_exec(struct qmp *q, const char *json, char *reply, size_t len);

#endif
