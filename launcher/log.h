/* SPDX-License-Identifier: GPL-2.0-or-later */
#ifndef VS_LAUNCHER_LOG_H
#define VS_LAUNCHER_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <syslog.h>

/*
 * Where vmseal's messages go: stderr ("vmseal: ...", each line led by
 * its syslog priority "<N>" when stderr is journald's stream), a log file
 * (--log, reopened on SIGHUP for log rotation), or syslog/journald when
 * a daemon has no terminal.  Only launcher/ logs.
 */
void log_use_stderr(void);
int log_use_file(const char *path);	/* 0 or -errno */
void log_use_syslog(void);

/* Where syslog(3) sends, and where a daemon logs when nothing listens. */
#define LOG_SYSLOG_SOCKET "/dev/log"
#define LOG_FALLBACK_DIR "/var/log/vmseal"
/* Whether something listens on the syslog socket. */
bool log_syslog_available(void);
/*
 * A daemon's log file when there is no syslog: $VMSEAL_LOG_DIR/NAME.log
 * (default /var/log/vmseal, created 0750); NULL when the directory
 * cannot be made.
 */
char *log_fallback_path(const char *name);
/* Reopens the log file (SIGHUP); nothing for stderr and syslog. */
int log_reopen(void);

void vlog(int prio, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The emulator's pid, for "emulator[PID]: " on the lines it wrote. */
void log_set_emulator_pid(pid_t pid);

/* Whether stderr is journald's stream ($JOURNAL_STREAM names it). */
bool log_stderr_is_journal(void);

/*
 * A line the emulator wrote (relayed from its stdout and stderr by a
 * daemon, and when stderr is the journal), with a priority: QEMU's own
 * warnings and errors as such, everything else as information.
 */
void log_emulator_line(const char *line, size_t len);

#endif
