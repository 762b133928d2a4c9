/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/escape.h"
#include "common/fd.h"
#include "launcher/log.h"

enum sink { SINK_STDERR, SINK_FILE, SINK_SYSLOG };

static enum sink sink = SINK_STDERR;
static char *file_path;
static int file_fd = -1;

void log_use_stderr(void)
{
	sink = SINK_STDERR;
}

static int open_log(const char *path)
{
	return open(path, O_WRONLY | O_APPEND | O_CREAT | O_NOCTTY | O_CLOEXEC,
		    0640);
}

int log_use_file(const char *path)
{
	int fd = open_log(path);

	if (fd < 0)
		return -errno;
	if (file_fd >= 0)
		close(file_fd);
	file_fd = fd;
	free(file_path);
	file_path = strdup(path);
	sink = SINK_FILE;
	return 0;
}

void log_use_syslog(void)
{
	openlog("vmseal", LOG_PID, LOG_DAEMON);
	sink = SINK_SYSLOG;
}

int log_reopen(void)
{
	int fd;

	if (sink != SINK_FILE || !file_path)
		return 0;
	fd = open_log(file_path);
	if (fd < 0)
		return -errno;
	dup3(fd, file_fd, O_CLOEXEC);
	close(fd);
	return 0;
}

static void to_file(const char *who, const char *msg, size_t len)
{
	char stamp[40];
	time_t now = time(NULL);
	struct tm tm;
	char head[96];
	int n;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S%z", &tm);
	n = snprintf(head, sizeof(head), "%s %s[%d]: ", stamp, who,
		     (int)getpid());
	(void)write_full(file_fd, head, (size_t)n);
	(void)write_full(file_fd, msg, len);
	(void)write_full(file_fd, "\n", 1);
}

/*
 * Every line is escaped (common/escape.h) as it leaves: a path or name
 * from the emulator or an image inside a message cannot end the line,
 * move the cursor or pass for a line of vmseal's own.
 */
void vlog(int prio, const char *fmt, ...)
{
	char raw[4096], msg[VS_ESCAPE_SIZE(4096)];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(raw))
		n = sizeof(raw) - 1;
	vs_escape_n(raw, (size_t)n, msg, sizeof(msg));
	n = (int)strlen(msg);
	switch (sink) {
	case SINK_SYSLOG:
		syslog(prio, "%s", msg);
		break;
	case SINK_FILE:
		to_file("vmseal", msg, (size_t)n);
		break;
	case SINK_STDERR:
		fprintf(stderr, "vmseal: %s\n", msg);
		break;
	}
}

void log_emulator_line(const char *raw, size_t raw_len)
{
	char line[VS_ESCAPE_SIZE(8192)];
	size_t len;

	vs_escape_n(raw, raw_len, line, sizeof(line));
	len = strlen(line);
	switch (sink) {
	case SINK_SYSLOG:
		syslog(LOG_INFO, "emulator: %s", line);
		break;
	case SINK_FILE:
		to_file("emulator", line, len);
		break;
	case SINK_STDERR:
		(void)write_full(STDERR_FILENO, line, len);
		(void)write_full(STDERR_FILENO, "\n", 1);
		break;
	}
}
