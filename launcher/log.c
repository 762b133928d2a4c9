/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/escape.h"
#include "common/fd.h"
#include "common/xalloc.h"
#include "launcher/log.h"

enum sink { SINK_STDERR, SINK_FILE, SINK_SYSLOG };

static enum sink sink = SINK_STDERR;
/* -1 not yet known, 0 no, 1 stderr is the journal's stream. */
static int stderr_journal = -1;
static char *file_path;
static int file_fd = -1;
static pid_t emulator_pid;	/* in "emulator[PID]: "; 0 until known */

void log_use_stderr(void)
{
	sink = SINK_STDERR;
	stderr_journal = -1;
}

/*
 * Whether stderr is connected to journald: $JOURNAL_STREAM names the
 * stream's device and inode (systemd.exec(5)), and stderr still is it.
 */
static bool to_journal(void)
{
	const char *env;
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (stderr_journal >= 0)
		return stderr_journal;
	env = getenv("JOURNAL_STREAM");
	stderr_journal = env &&
			 sscanf(env, "%llu:%llu%c", &dev, &ino, &end) == 2 &&
			 fstat(STDERR_FILENO, &st) == 0 &&
			 (unsigned long long)st.st_dev == dev &&
			 (unsigned long long)st.st_ino == ino;
	return stderr_journal;
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

bool log_syslog_available(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, rc = -1;

	strcpy(sa.sun_path, LOG_SYSLOG_SOCKET);
	/* As syslog(3) tries it: a datagram socket, else a stream. */
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd >= 0) {
		rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
		close(fd);
	}
	if (rc < 0) {
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0) {
			rc = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
			close(fd);
		}
	}
	return rc == 0;
}

char *log_fallback_path(const char *name)
{
	const char *dir = getenv("VMSEAL_LOG_DIR");

	if (!dir || dir[0] != '/')
		dir = LOG_FALLBACK_DIR;
	if (mkdir(dir, 0750) < 0 && errno != EEXIST)
		return NULL;
	return xasprintf("%s/%s.log", dir, name);
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

void log_set_emulator_pid(pid_t pid)
{
	emulator_pid = pid;
}

static void to_file(const char *who, pid_t pid, const char *msg, size_t len)
{
	char stamp[40];
	time_t now = time(NULL);
	struct tm tm;
	char head[96];
	int n;

	localtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%S%z", &tm);
	n = snprintf(head, sizeof(head), "%s %s[%d]: ", stamp, who, (int)pid);
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
		to_file("vmseal", getpid(), msg, (size_t)n);
		break;
	case SINK_STDERR:
		/* journald takes "<N>" as the line's priority (sd-daemon(3)). */
		if (to_journal())
			fprintf(stderr, "<%d>vmseal: %s\n", prio & LOG_PRIMASK, msg);
		else
			fprintf(stderr, "vmseal: %s\n", msg);
		break;
	}
}

bool log_stderr_is_journal(void)
{
	return to_journal();
}

/*
 * QEMU's own messages (error_report()) start with its program name:
 * "qemu-system-x86_64: warning: ..." is a warning, "... terminating on
 * signal N" news, any other such line an error.  The rest (a serial
 * console, a monitor) is information.
 */
static int emulator_prio(const char *line)
{
	const char *colon = strstr(line, ": ");

	if (strncmp(line, "qemu-", 5) || !colon ||
	    memchr(line, ' ', (size_t)(colon - line)))
		return LOG_INFO;
	colon += 2;
	if (!strncmp(colon, "warning: ", 9))
		return LOG_WARNING;
	if (!strncmp(colon, "terminating on signal", 21))
		return LOG_INFO;
	return LOG_ERR;
}

void log_emulator_line(const char *raw, size_t raw_len)
{
	char line[VS_ESCAPE_SIZE(8192)], prio[8];
	size_t len;

	vs_escape_n(raw, raw_len, line, sizeof(line));
	len = strlen(line);
	switch (sink) {
	case SINK_SYSLOG:
		syslog(emulator_prio(line), "emulator[%d]: %s",
		       (int)(emulator_pid ? emulator_pid : getpid()), line);
		break;
	case SINK_FILE:
		to_file("emulator", emulator_pid ? emulator_pid : getpid(), line,
			len);
		break;
	case SINK_STDERR:
		if (to_journal()) {
			snprintf(prio, sizeof(prio), "<%d>", emulator_prio(line));
			(void)write_full(STDERR_FILENO, prio, strlen(prio));
		}
		(void)write_full(STDERR_FILENO, line, len);
		(void)write_full(STDERR_FILENO, "\n", 1);
		break;
	}
}
