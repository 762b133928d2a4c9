/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_LOG_H
#define VS_LAUNCHER_LOG_H

#include <stddef.h>
#include <syslog.h>

/*
 * Where vmseal's messages go: stderr ("vmseal: ..."), a log file
 * (--log, reopened on SIGHUP for log rotation), or syslog/journald when
 * a daemon has no terminal.  Only launcher/ logs.
 */
void log_use_stderr(void);
int log_use_file(const char *path);	/* 0 or -errno */
void log_use_syslog(void);
/* Reopens the log file (SIGHUP); nothing for stderr and syslog. */
int log_reopen(void);

void vlog(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* A line the emulator wrote (daemon mode relays its stdout and stderr). */
void log_emulator_line(const char *line, size_t len);

#endif
