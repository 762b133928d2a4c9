/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/cleanup.h"
#include "common/strv.h"
#include "common/xalloc.h"
#include "launcher/control.h"
#include "launcher/gate.h"
#include "launcher/log.h"
#include "launcher/ready.h"
#include "launcher/supervise.h"

/* A refused open of a disk image: what would work instead. */
#define IMAGE_HINT                                                             \
	"images reach the emulator only as descriptors; add it to the "        \
	"config or use the monitor gate"
/* Denials are reported once per path, and at most this many paths. */
#define DENIAL_PATHS_MAX 512

enum { P_SIG, P_BROKER, P_CONTROL, P_LOCK, P_READY, P_OUTPUT, P_EMU, P_N };

/* Passed on to the emulator. */
static bool forwarded(int sig)
{
	return sig == SIGINT || sig == SIGTERM || sig == SIGHUP ||
	       sig == SIGQUIT || sig == SIGWINCH;
}

void supervise_sigset(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGCHLD);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	sigaddset(set, SIGQUIT);
	sigaddset(set, SIGWINCH);
	/*
	 * Whose default would end the supervisor and leave the emulator
	 * without its broker: taken and dropped.
	 */
	sigaddset(set, SIGUSR1);
	sigaddset(set, SIGUSR2);
	sigaddset(set, SIGALRM);
	sigaddset(set, SIGPIPE);
}

/* Whether a chardev option string's items make it listen (server=on). */
static bool listens(const char *opts)
{
	static const char *const on[] = { "server", "server=on", "server=yes",
					  "server=true" };

	while (*opts) {
		size_t n = strcspn(opts, ",");

		for (size_t k = 0; k < ARRAY_SIZE(on); k++) {
			if (n == strlen(on[k]) && !strncmp(opts, on[k], n))
				return true;
		}
		opts += n;
		if (*opts)
			opts++;
	}
	return false;
}

char *supervise_qmp_path(char *const *argv)
{
	for (size_t i = 1; argv[i] && argv[i + 1]; i++) {
		const char *v = argv[i + 1];
		size_t n;

		if (strcmp(argv[i], "-qmp") && strcmp(argv[i], "-qmp-pretty"))
			continue;
		if (strncmp(v, "unix:", 5) != 0)
			continue;
		v += 5;
		if (!strncmp(v, "path=", 5))
			v += 5;
		n = strcspn(v, ",");
		/* A client socket is someone else's server: never asked. */
		if (v[n] && listens(v + n + 1))
			return xstrndup(v, n);
	}
	return NULL;
}

/*
 * Denials are shown once per path, for the first DENIAL_PATHS_MAX
 * paths; past that they are counted, and the count is said at exit.
 */
struct denials {
	struct strv seen;
	unsigned long hidden;	/* denials not shown because of the cap */
	struct strv routine;	/* routine probes refused, not yet summarised */
};

/*
 * What QEMU asks for on every start and does without when refused: not
 * failures, so never reported as denials; -v summarises them in one line.
 */
static const struct routine_probe {
	bool is_unlink;
	const char *pattern;	/* fnmatch(3), '*' crossing no '/' */
	const char *why;
} routine_probes[] = {
	{ false, "/etc/libnl/classid", "libnl's class names" },
	{ false, "/sys/bus/nd/devices", "NVDIMM probe" },
	{ false, "/sys/devices/system/node", "NUMA probe" },
	{ false, "/dev/sgx_vepc", "SGX probe" },
	{ false, "/dev/urandom", "entropy; getrandom(2) serves" },
	{ false, "/proc/[0-9]*/cmdline", "the name of a signal's sender" },
	{ false, ".", "the current directory" },
	/* libvirt's monitor socket, which libvirt removes itself. */
	{ true, "/*/monitor.sock", "libvirt's monitor socket" },
};

static const char *routine_probe(const struct broker_event *ev)
{
	const char *path = ev->norm[0] ? ev->norm : ev->path;

	for (size_t i = 0; i < ARRAY_SIZE(routine_probes); i++) {
		const struct routine_probe *r = &routine_probes[i];

		if (r->is_unlink == ev->is_unlink &&
		    fnmatch(r->pattern, r->is_unlink ? path : ev->path,
			    r->is_unlink ? 0 : FNM_PATHNAME) == 0)
			return r->why;
	}
	return NULL;
}

/* One line for the routine probes refused since the last one (-v). */
static void say_routine(struct denials *d, bool verbose)
{
	char line[2048];
	size_t n = 0;

	if (!d->routine.n)
		return;
	for (size_t i = 0; i < d->routine.n && n < sizeof(line); i++)
		n += (size_t)snprintf(line + n, sizeof(line) - n, "%s%s",
				      i ? ", " : "", d->routine.v[i]);
	if (verbose)
		vlog(LOG_INFO, "refused %zu routine probe%s the emulator does "
			       "without: %s",
		     d->routine.n, d->routine.n == 1 ? "" : "s", line);
	strv_free(&d->routine);
	d->routine = (struct strv)STRV_INIT;
}

static bool first_denial(struct denials *d, const struct broker_event *ev)
{
	char key[PATH_MAX + 16];

	if (d->seen.n > DENIAL_PATHS_MAX) {
		d->hidden++;
		return false;
	}
	snprintf(key, sizeof(key), "%s %s", ev->is_unlink ? "u" : "o",
		 ev->path);
	for (size_t i = 0; i < d->seen.n; i++) {
		if (strcmp(d->seen.v[i], key) == 0)
			return false;
	}
	if (d->seen.n == DENIAL_PATHS_MAX) {
		vlog(LOG_WARNING, "more than %d paths denied; further denials "
				  "are not shown (counted, and the count said at exit)",
		     DENIAL_PATHS_MAX);
		strv_push(&d->seen, "");
		d->hidden++;
		return false;
	}
	strv_push(&d->seen, key);
	return true;
}

/* The process a thread belongs to, from /proc; 0 if it is gone. */
static pid_t tgid_of(pid_t tid)
{
	char path[64], line[128];
	_cleanup_fclose_ FILE *f = NULL;
	int v;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)tid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "Tgid: %d", &v) == 1)
			return (pid_t)v;
	}
	return 0;
}

/*
 * Whether a refused open names a disk image: a chain member, or a regular
 * file with an image's header or name.  No allowlist entry can help then
 * (the broker serves no image, and nothing read-write), so the hint says
 * what does.
 */
static bool is_image(const struct broker_event *ev)
{
	static const char *const suffixes[] = { ".qcow2", ".qcow", ".qed",
						".vmdk", ".vdi", ".vhd",
						".vhdx", ".img", ".raw" };
	static const struct {
		const char *magic;
		size_t len;
	} magics[] = {
		{ "QFI\xfb", 4 }, { "QED\0", 4 }, { "KDMV", 4 },
		{ "# Disk DescriptorFile", 21 }, { "conectix", 8 },
		{ "vhdxfile", 8 },
	};
	const char *path = ev->norm;
	size_t plen = strlen(path);
	char head[32] = { 0 };
	struct stat st;
	ssize_t got;
	int fd;

	if (ev->reason && !strcmp(ev->reason, "an image of the chain"))
		return true;
	if (path[0] != '/' || fstatat(AT_FDCWD, path, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
	    !S_ISREG(st.st_mode))
		return false;
	for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
		size_t sl = strlen(suffixes[i]);

		if (plen > sl && !strcasecmp(path + plen - sl, suffixes[i]))
			return true;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return false;
	got = read(fd, head, sizeof(head));
	close(fd);
	for (size_t i = 0; got > 0 && i < ARRAY_SIZE(magics); i++) {
		if ((size_t)got >= magics[i].len &&
		    !memcmp(head, magics[i].magic, magics[i].len))
			return true;
	}
	return false;
}

const char *supervise_explain(const struct broker_event *ev, bool verbose,
			      char *buf, size_t len)
{
	const char *path = ev->path[0] ? ev->path : "(unreadable)";
	char flags[256], who[64];
	pid_t tgid;
	int n;

	buf[0] = '\0';
	if ((ev->served || !ev->refused) && !verbose)
		return buf;
	open_flags_str(ev->flags, flags, sizeof(flags));
	if (ev->is_unlink)
		snprintf(flags, sizeof(flags), "flags 0x%x", ev->flags);
	if (ev->served) {
		snprintf(buf, len, "served %s %s (%s)", ev->syscall, path, flags);
		return buf;
	}
	if (!ev->refused) {
		snprintf(buf, len, "%s %s (%s) failed: %s", ev->syscall, path,
			 flags, ev->reason);
		return buf;
	}
	tgid = tgid_of(ev->pid);
	if (tgid && tgid != ev->pid)
		snprintf(who, sizeof(who), "pid %d thread %d", (int)tgid,
			 (int)ev->pid);
	else
		snprintf(who, sizeof(who), "pid %d", (int)ev->pid);
	n = snprintf(buf, len, "denied %s %s (%s): %s [%s, %s]",
		     ev->is_unlink ? "unlink" : "open", path, flags, ev->reason,
		     who, ev->syscall);
	if (n <= 0 || (size_t)n >= len)
		return buf;
	if (!ev->is_unlink && is_image(ev))
		snprintf(buf + n, len - (size_t)n, "; %s", IMAGE_HINT);
	else if (ev->allowable)
		snprintf(buf + n, len - (size_t)n,
			 "; to allow it: 'allow = %s' in [sandbox]", ev->norm);
	return buf;
}

static int exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

static void lock_broker(struct control_ctx *ctx, const char *by)
{
	if (ctx->locked || !ctx->broker)
		return;
	ctx->broker->locked = true;
	ctx->locked = true;
	ctx->locked_by = by;
}

static int timer(time_t sec, long nsec, bool repeat)
{
	struct itimerspec its = { .it_value = { sec, nsec } };
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);

	if (repeat)
		its.it_interval = its.it_value;
	if (fd >= 0 && timerfd_settime(fd, 0, &its, NULL) < 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Emulator output, relayed whole lines at a time. */
struct relay {
	char buf[8192];
	size_t len;
};

static bool relay_read(struct relay *r, int fd)
{
	ssize_t n = read(fd, r->buf + r->len, sizeof(r->buf) - r->len);
	char *nl;

	if (n <= 0) {
		if (r->len)
			log_emulator_line(r->buf, r->len);
		r->len = 0;
		return n < 0 && errno == EINTR;
	}
	r->len += (size_t)n;
	while ((nl = memchr(r->buf, '\n', r->len))) {
		size_t l = (size_t)(nl - r->buf);

		log_emulator_line(r->buf, l);
		memmove(r->buf, nl + 1, r->len - l - 1);
		r->len -= l + 1;
	}
	if (r->len == sizeof(r->buf)) {
		log_emulator_line(r->buf, r->len);
		r->len = 0;
	}
	return true;
}

static void handle_broker(struct supervisor *s, struct pollfd *p,
			  struct denials *seen)
{
	char line[PATH_MAX + 512];
	struct broker_event ev;
	const char *why;
	int rc;

	if (p->revents & POLLIN) {
		rc = broker_handle(s->broker, &ev);
		if (rc < 0) {
			p->fd = -1;
			return;
		}
		if (rc == 0 || (ev.refused && !first_denial(seen, &ev)))
			return;
		if (ev.refused && (why = routine_probe(&ev))) {
			char item[PATH_MAX + 64];

			snprintf(item, sizeof(item), "%s%s (%s)",
				 ev.is_unlink ? "unlink " : "",
				 ev.path, why);
			strv_push(&seen->routine, item);
			return;
		}
		if (supervise_explain(&ev, s->verbose, line, sizeof(line))[0])
			vlog(ev.refused ? LOG_WARNING : LOG_INFO, "%s", line);
	} else if (p->revents & (POLLHUP | POLLERR | POLLNVAL)) {
		/* Every task under the filter is gone. */
		p->fd = -1;
	}
}

/* A signal for us: true when the emulator has exited (status set). */
static bool handle_signal(struct supervisor *s, int *status)
{
	struct signalfd_siginfo si;

	if (read(s->sigfd, &si, sizeof(si)) != sizeof(si))
		return false;
	/* In place: the emulator, our parent, is gone (PR_SET_PDEATHSIG). */
	if (s->emu_is_parent && getppid() != s->pid) {
		*status = 0;
		return true;
	}
	if (si.ssi_signo == SIGCHLD)
		return waitpid(s->pid, status, WNOHANG) == s->pid;
	if (si.ssi_signo == SIGHUP && s->daemon) {
		if (log_reopen() < 0)
			vlog(LOG_ERR, "reopening the log: %m");
		return false;
	}
	if (forwarded((int)si.ssi_signo))
		kill(s->pid, (int)si.ssi_signo);
	return false;
}

int supervise(struct supervisor *s)
{
	struct control_ctx ctx = {
		.emu_pid = s->pid,
		.policy = s->policy,
		.broker = s->broker,
	};
	struct denials seen = { .seen = STRV_INIT, .routine = STRV_INIT };
	struct relay *relay = xzalloc(sizeof(*relay));
	struct pollfd pfd[P_N + GATE_POLLFDS] = {
		[P_SIG] = { .fd = s->sigfd, .events = POLLIN },
		[P_BROKER] = { .fd = s->broker ? s->broker->notify_fd : -1,
			       .events = POLLIN },
		[P_CONTROL] = { .fd = s->control_fd, .events = POLLIN },
		[P_LOCK] = { .fd = s->broker && s->lock_after ?
					   timer(s->lock_after, 0, false) :
					   -1,
			     .events = POLLIN },
		[P_READY] = { .fd = -1, .events = POLLIN },
		[P_OUTPUT] = { .fd = s->output_fd, .events = POLLIN },
		/* In place: readable once the emulator, our parent, ended. */
		[P_EMU] = { .fd = s->emu_is_parent ?
					(int)syscall(SYS_pidfd_open, s->pid, 0) :
					-1,
			    .events = POLLIN },
	};
	struct ready rdy;
	bool ready = false;
	int status = 0;
	size_t ng = 0;

	if (s->ready_socket && ready_begin(&rdy, s->ready_socket) == 0) {
		pfd[P_READY].fd = ready_fd(&rdy);
	} else {
		if (s->ready_socket)
			ready_end(&rdy);
		/* With the gate, ready is when QEMU greets it. */
		if (!s->gate) {
			ready = true;
			if (s->on_ready)
				s->on_ready(s->ready_arg);
		}
	}
	for (;;) {
		if (s->emu_is_parent && pfd[P_EMU].fd < 0) {
			/* Gone already (ESRCH), or cannot watch: stop. */
			vlog(LOG_ERR, "watching the emulator (pid %d): %m",
			     (int)s->pid);
			break;
		}
		ng = s->gate ? gate_pollfds(s->gate, pfd + P_N) : 0;
		if (poll(pfd, P_N + ng, -1) < 0) {
			if (errno == EINTR)
				continue;
			/* Cannot watch: wait for the emulator instead. */
			vlog(LOG_ERR, "poll: %m");
			while (waitpid(s->pid, &status, 0) < 0 && errno == EINTR)
				;
			break;
		}
		handle_broker(s, &pfd[P_BROKER], &seen);
		if (s->gate) {
			gate_handle(s->gate, pfd + P_N, ng);
			/*
			 * Up: QEMU answered the gate's qmp_capabilities (from
			 * its main loop, past its disks and devices) and is
			 * still alive after the answer, as ready.c asks a
			 * -qmp socket.
			 */
			if (!ready && gate_ready(s->gate) && child_alive(s->pid)) {
				ready = true;
				if (s->ready_socket)
					ready_end(&rdy);
				pfd[P_READY].fd = -1;
				if (s->on_ready)
					s->on_ready(s->ready_arg);
				say_routine(&seen, s->verbose);
			}
		}
		if ((pfd[P_CONTROL].revents & POLLIN) &&
		    control_serve(s->control_fd, &ctx) && ctx.locked)
			vlog(LOG_NOTICE, "broker locked on request: every further "
					 "open is refused");
		if (pfd[P_LOCK].revents & POLLIN) {
			close(pfd[P_LOCK].fd);
			pfd[P_LOCK].fd = -1;
			if (!ctx.locked) {
				lock_broker(&ctx, "lock-after");
				vlog(LOG_NOTICE, "broker locked after %u s "
						 "(lock-after): every further open is refused",
				     s->lock_after);
			}
		}
		if ((pfd[P_READY].revents & (POLLIN | POLLHUP | POLLERR)) &&
		    !ready) {
			ready = ready_step(&rdy, s->pid) == READY_UP;
			pfd[P_READY].fd = ready ? -1 : ready_fd(&rdy);
			if (ready && s->on_ready)
				s->on_ready(s->ready_arg);
			if (ready)
				say_routine(&seen, s->verbose);
		}
		if ((pfd[P_OUTPUT].revents & (POLLIN | POLLHUP)) &&
		    !relay_read(relay, pfd[P_OUTPUT].fd))
			pfd[P_OUTPUT].fd = -1;
		if ((pfd[P_SIG].revents & POLLIN) && handle_signal(s, &status))
			break;
		if (pfd[P_EMU].revents & (POLLIN | POLLHUP | POLLERR))
			break;
	}
	if (pfd[P_EMU].fd >= 0)
		close(pfd[P_EMU].fd);
	/* What the emulator wrote last is still in the pipe. */
	while (pfd[P_OUTPUT].fd >= 0 && relay_read(relay, pfd[P_OUTPUT].fd))
		;
	if (pfd[P_LOCK].fd >= 0)
		close(pfd[P_LOCK].fd);
	if (s->ready_socket)
		ready_end(&rdy);
	say_routine(&seen, s->verbose);
	if (s->verbose && s->broker)
		vlog(LOG_INFO, "broker served %lu requests, denied %lu",
		     s->broker->served, s->broker->denied);
	if (seen.hidden)
		vlog(LOG_WARNING, "%lu denial%s not shown (after the first %d "
				  "distinct paths); %lu denied in all",
		     seen.hidden, seen.hidden == 1 ? "" : "s", DENIAL_PATHS_MAX,
		     s->broker ? s->broker->denied : 0);
	strv_free(&seen.seen);
	strv_free(&seen.routine);
	free(relay);
	return exit_code(status);
}
